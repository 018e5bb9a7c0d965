"""The terminal table and the HTML page of `bondkd eval`.

Both are built from the same formatted rows (`side_rows`, `comparison_rows`), so the page
and the table show the same numbers as the JSON they come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bondkd.evaluate.result import EvalResult, EvalRow

NA = "n/a"


def _f(x: float | None, digits: int = 3) -> str:
    return NA if x is None else f"{x:.{digits}f}"


def _money(x: float | None) -> str:
    """Two decimals, except for amounts below 1 (a price per call): 4 significant digits."""
    if x is None:
        return NA
    return f"{x:,.2f}" if x == 0 or abs(x) >= 1 else f"{x:.4g}"


def _ratio(x: float | None, k: int, n: int) -> str:
    return f"{_f(x)} ({k}/{n})"


def side_rows(r: EvalResult) -> list[tuple[str, str, str]]:
    """(metric, student, teacher) rows."""
    s, t, c = r.student, r.teacher, r.cost
    return [
        ("answer accuracy", _ratio(s.accuracy, s.correct, s.n), _ratio(t.accuracy, t.correct, t.n)),
        (
            "format compliance",
            _ratio(s.format_compliance, s.compliant, s.n),
            _ratio(t.format_compliance, t.compliant, t.n),
        ),
        ("failed calls", str(s.errors), str(t.errors)),
        ("median latency (s)", _f(s.median_latency_s, 2), _f(t.median_latency_s, 2)),
        (
            "mean completion tokens",
            _f(s.mean_completion_tokens, 1),
            _f(t.mean_completion_tokens, 1),
        ),
        ("cost per call", _money(c.student_cost_per_call), _money(c.teacher_cost_per_call)),
        (
            f"monthly cost ({c.calls_per_month:,} calls)",
            _money(c.student_monthly),
            _money(c.teacher_monthly),
        ),
    ]


def comparison_rows(r: EvalResult) -> list[tuple[str, str]]:
    """(metric, value) rows of the student against the teacher."""
    o, c = r.outcomes, r.cost
    rows = [
        ("quality retention (student ÷ teacher accuracy)", _f(r.retention)),
        ("win / tie / loss", f"{o.win} / {o.tie} / {o.loss}"),
        ("win / tie / loss rate", f"{_f(o.win_rate)} / {_f(o.tie_rate)} / {_f(o.loss_rate)}"),
        ("monthly saving", _money(c.monthly_saving)),
        ("annual saving", _money(c.annual_saving)),
        ("distillation cost", _money(c.distill_cost)),
        ("break-even (months)", _f(c.break_even_months, 1)),
    ]
    st = r.structure
    if st is not None:
        rows.append(
            (
                f"traces analysed, {st.backend} backend (teacher, student)",
                f"{st.teacher_traces}, {st.student_traces}",
            )
        )
        cmp = st.comparison
        rows += [
            ("bond-type JS distance", _f(cmp.bond_type_js) if cmp else NA),
            ("role JS distance", _f(cmp.role_js) if cmp else NA),
            ("role-transition JS distance", _f(cmp.transition_js) if cmp else NA),
        ]
    return rows


def print_table(r: EvalResult, console: Console | None = None) -> None:
    console = console or Console(highlight=False, soft_wrap=True)
    for name, side in (("student", r.student), ("teacher", r.teacher)):
        console.print(f"{name}: {side.spec} ({side.id})", markup=False)
    a = Table(title=f"eval: {r.n} questions from {Path(r.questions_file).name}")
    a.add_column("metric")
    a.add_column("student", justify="right")
    a.add_column("teacher", justify="right")
    for name, s, t in side_rows(r):
        a.add_row(name, s, t)
    console.print(a)
    b = Table(title="student against teacher")
    b.add_column("metric")
    b.add_column("value", justify="right")
    for name, v in comparison_rows(r):
        b.add_row(name, v)
    console.print(b)
    console.print(f"{r.n} questions, {r.wall_s:.1f} s wall", markup=False)


def write_html(r: EvalResult, rows: Sequence[EvalRow], out: str | Path) -> None:
    """One self-contained page: the summary tables and every question with both replies.
    Reply text is untrusted: Jinja autoescapes it, and the page runs no script at all."""
    from bondkd.views.html import page

    html = page(
        "eval.html",
        scripts=[],
        data=r.model_dump(mode="json"),
        title=f"eval · {Path(r.questions_file).name}",
        result=r,
        side_rows=side_rows(r),
        comparison_rows=comparison_rows(r),
        rows=rows,
    )
    Path(out).write_text(html, encoding="utf-8")
