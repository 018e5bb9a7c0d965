"""Terminal and JSON output of `bondkd analyze`.

Rich tables on a terminal; plain text (no colour, no progress bar) when stdout
is not a TTY, so logs and pipes stay clean. JSON documents are written as they
are produced, so memory stays bounded on large files.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bondkd.molecule.molecule import Molecule

MAX_TABLE_ROWS = 200  # rows per terminal table (steps, bonds, traces); all are in --json


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


class Output:
    """`json_out`: where the user asked for the documents (``-``: stdout); `path`: the file
    to write them to, when not `json_out` itself (a temporary file renamed into place)."""

    def __init__(self, json_out: str | None, quiet: bool = False, path: str | None = None):
        self.json_out = json_out
        self.path = path or json_out
        # Documents to stdout: keep the human summary off it.
        # soft_wrap: lines are not cut at the terminal width (tables still fit it).
        self.console = Console(stderr=json_out == "-", highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.quiet = quiet
        self._fh: IO[str] | None = None
        self._rows: list[tuple[str, ...]] = []
        self._count = 0
        self._accepted = 0
        self._start = time.perf_counter()

    def __enter__(self) -> Output:
        if self.json_out == "-":
            self._fh = sys.stdout
        elif self.path:
            self._fh = open(self.path, "w", encoding="utf-8")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fh is not None and self._fh is not sys.stdout:
            self._fh.close()

    @property
    def count(self) -> int:
        """Molecules output so far."""
        return self._count

    def note(self, msg: str) -> None:
        if not self.quiet:
            self.console.print(msg, markup=False)

    def error(self, msg: str) -> None:
        self.err.print(f"bondkd: skipped: {msg}", markup=False)

    def progress(self, items: Iterable[Any]) -> Iterator[Any]:
        if self.quiet or not self.console.is_terminal:
            yield from items
            return
        cols = (
            TextColumn("analysing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} traces/s"),
            TimeElapsedColumn(),
        )
        with Progress(*cols, console=self.console, transient=True) as bar:
            task = bar.add_task("", total=None, rate="-")
            for item in items:
                yield item
                rate = self._count / max(time.perf_counter() - self._start, 1e-9)
                bar.update(task, advance=1, rate=f"{rate:.1f}")

    def molecule(self, mol: Molecule, detailed: bool) -> None:
        self._count += 1
        self._accepted += mol.accepted
        if self._fh is not None:
            indent = 2 if detailed and self._fh is not sys.stdout else None
            self._fh.write(mol.to_json(indent=indent) + "\n")
            self._fh.flush()
        if self.quiet:
            return
        if detailed:
            self._detail(mol)
        elif len(self._rows) < MAX_TABLE_ROWS:
            d = mol.doc
            counts = mol.bond_counts()
            self._rows.append(
                (
                    d.id,
                    str(len(d.steps)),
                    "/".join(str(counts[t]) for t in counts),
                    f"{d.stability:.3f}",
                    "accepted" if d.accepted else "rejected",
                    str(sum(c.resolved_by is None for c in d.conflicts)),
                    "-" if d.first_error is None else f"step {d.first_error.step}",
                )
            )

    def finish(self, errors: int) -> None:
        elapsed = time.perf_counter() - self._start
        if not self.quiet and self._rows:
            t = Table(title="molecules", show_lines=False)
            for col in ("id", "steps", "bonds S/R/E", "stability", "verdict", "conflicts",
                        "1st error"):  # fmt: skip
                t.add_column(col)
            for row in self._rows:
                t.add_row(*row)
            self.console.print(t)
            self._more(self._count, "rows")
        rate = self._count / max(elapsed, 1e-9)
        summary = (
            f"{self._count} traces analysed ({self._accepted} accepted, "
            f"{self._count - self._accepted} rejected), {errors} lines skipped, "
            f"{elapsed:.1f} s, {rate:.1f} traces/s"
        )
        if errors:
            self.err.print(summary, markup=False)
        elif not self.quiet:
            self.console.print(summary, markup=False)

    def _more(self, total: int, what: str) -> None:
        if total > MAX_TABLE_ROWS:
            hint = "in the --json output" if self._fh is not None else "with --json OUT"
            self.console.print(f"… {total - MAX_TABLE_ROWS} more {what} {hint}", markup=False)

    def _detail(self, mol: Molecule) -> None:
        d, c = mol.doc, self.console
        c.print(f"[bold]{d.id}[/bold]  {_short(d.question, 100)}", markup=True)
        for n in d.provenance.notes:
            c.print(f"note: {n}", markup=False)
        steps = Table(title=f"{len(d.steps)} steps")
        for col in ("#", "role", "text"):
            steps.add_column(col)
        for s in d.steps[:MAX_TABLE_ROWS]:
            role = f"{s.role} ({s.kind})" if s.kind else s.role
            if s.superseded_by is not None:
                role += f", superseded by {s.superseded_by}"
            steps.add_row(str(s.index), role, _short(s.text))
        c.print(steps)
        self._more(len(d.steps), "steps")
        bonds = Table(title=f"{len(d.bonds)} bonds (source builds on target)")
        for col in ("source→target", "type", "energy", "attention", "semantic", "coherence"):
            bonds.add_column(col)
        fmt = lambda x: "null" if x is None else f"{x:.3f}"  # noqa: E731
        for b in d.bonds[:MAX_TABLE_ROWS]:
            k = b.components
            bonds.add_row(
                f"{b.source}→{b.target}", b.type, f"{b.energy:.3f}",
                fmt(k.attention), fmt(k.semantic), fmt(k.coherence),
            )  # fmt: skip
        c.print(bonds)
        self._more(len(d.bonds), "bonds")
        verdict = "ACCEPTED" if d.accepted else "REJECTED"
        c.print(f"stability {d.stability:.3f}  verdict {verdict}", markup=False)
        for r in d.reasons:
            c.print(f"  - {r}", markup=False)
        if not d.arithmetic:
            c.print("dataflow: not checked (the reasoning does not compute with numbers)")
        e = d.first_error
        where = f"step {e.step} ({e.kind}): {e.description}" if e else "none"
        c.print(f"first unresolved error: {where}", markup=False)
        for w in d.weak_points:
            c.print(
                f"weak point: steps {w.start}-{w.end} ({w.length}): {w.suggestion}", markup=False
            )
        if self._fh is not None and self._fh is not sys.stdout:
            c.print(f"molecule document written to {self.json_out}", markup=False)


def comparison(result: Any) -> None:
    """`bondkd compare` output: one table of metrics (None shown as n/a)."""
    from bondkd.measure.compare import DatasetComparison

    console = Console(highlight=False, soft_wrap=True)
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)  # noqa: E731
    table = Table(title="structure comparison (b against a)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if isinstance(result, DatasetComparison):
        rows = [("molecules (a, b)", f"{result.a.molecules}, {result.b.molecules}"),
                ("bond-type JS distance", fmt(result.bond_type_js)),
                ("role JS distance", fmt(result.role_js)),
                ("role-transition JS distance", fmt(result.transition_js))]  # fmt: skip
        rows += [(f"  transitions from {r}", fmt(v)) for r, v in result.transition_row_js.items()]
        for side, name in ((result.a, "a"), (result.b, "b")):
            dist = ", ".join(f"{k} {v:.2f}" for k, v in side.bond_distribution.items())
            rows.append((f"bond types ({name})", dist))
    else:
        # Net of distance and type agreement lead: plain Spearman is mostly distance (any
        # reader leans on the steps just before), so its recency baseline stands beside it.
        keys = ("energy_spearman_net", "type_agreement", "kappa", "steps_a", "steps_b",
                "aligned_steps", "bonds_a", "bonds_b", "shared_bonds", "edge_precision",
                "edge_recall", "edge_f1", "typed_f1")  # fmt: skip
        rows = [(k, fmt(getattr(result, k))) for k in keys]
        rows.append(
            (
                "energy_spearman (recency baseline)",
                f"{fmt(result.energy_spearman)} ({fmt(result.energy_spearman_recency)})",
            )
        )
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
