"""Hostile-input suite: what a hostile user tried (issue 20), replayed as a user runs it.

Every case writes its input files, runs `bondkd analyze` / `bondkd filter` / `bondkd
render` as subprocesses and reports, per run: the exit code, the first error line (or
TRACEBACK when Python printed one), records in vs records out (analysed or gated, plus
every record reported as skipped or rejected), wall time against the case's bound, and the
process's peak RSS. Hypothesis-generated files (random unicode, lone surrogates, nesting,
sizes, wrong types) follow the named cases.

    python benchmarks/hostile.py                 # everything (several minutes)
    python benchmarks/hostile.py --quick         # no 5 MB / 50 MB traces, fewer random files
    python benchmarks/hostile.py --json out/hostile.json

Exit code 1 when any run printed a traceback, lost a record, failed its own check or went
over its time or memory bound.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

BONDKD = [sys.executable, "-m", "bondkd"]
SKIP_RE = re.compile(r"^bondkd: (?:skipped|error): ", re.M)


@dataclass
class Run:
    case: str
    args: list[str]
    records_in: int | None = None  # None: the run is not about records (one-line error)
    bound_s: float = 60.0
    rss_mb: float = 2048.0
    expect_rc: tuple[int, ...] = (0, 1)
    check: Callable[[Run, Result], str | None] | None = None
    outputs: list[str] = field(default_factory=list)  # JSONL files whose lines count as out


@dataclass
class Result:
    case: str
    command: str
    rc: int | None
    error: str
    records_in: int | None
    records_out: int | None
    wall_s: float
    bound_s: float
    rss_mb: float
    problem: str = ""


def _spawn(args: list[str], timeout: float, cwd: Path) -> tuple[int | None, float, float, str]:
    """(exit code or None on timeout, wall s, peak RSS MB, stderr) of one process."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        p = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        rc: int | None = None
        rss_kb = 0
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                rc = os.waitstatus_to_exitcode(status)
                rss_kb = usage.ru_maxrss
                break
            if time.perf_counter() - start > timeout:
                p.send_signal(signal.SIGKILL)
                _, _, usage = os.wait4(p.pid, 0)
                rss_kb = usage.ru_maxrss
                break
            time.sleep(0.02)
        p.returncode = rc if rc is not None else -9  # Popen must not reap it again
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return rc, wall, rss_kb / 1024, stderr


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def _strict_json_lines(path: Path) -> str | None:
    """Every output line must be strict JSON (no NaN / Infinity, no lone surrogates)."""

    def refuse(token: str) -> None:
        raise ValueError(f"non-JSON constant {token}")

    if not path.exists():
        return None
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            json.loads(line.decode("utf-8"), parse_constant=refuse)
        except (ValueError, UnicodeDecodeError) as e:
            return f"{path.name}:{n}: {e}"
    return None


def execute(run: Run, cwd: Path) -> Result:
    rc, wall, rss, stderr = _spawn([*BONDKD, *run.args], timeout=max(run.bound_s * 3, 30), cwd=cwd)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    traceback = "Traceback (most recent call last)" in stderr
    error = "TRACEBACK" if traceback else next((ln for ln in lines if "bondkd:" in ln), "")
    out = None
    if run.records_in is not None:
        out = sum(_count_lines(cwd / o) for o in run.outputs)
        if "filter" not in run.args:  # analyze reports skipped lines on stderr
            out += len(SKIP_RE.findall(stderr))
    res = Result(
        run.case, " ".join(run.args), rc, error[:90], run.records_in, out, round(wall, 2),
        run.bound_s, round(rss, 0),
    )  # fmt: skip
    problems = []
    if traceback:
        problems.append("traceback")
    if rc is None:
        problems.append("timeout")
    elif rc not in run.expect_rc:
        problems.append(f"exit {rc}")
    if run.records_in is not None and out != run.records_in:
        problems.append(f"records {run.records_in} -> {out}")
    if wall > run.bound_s:
        problems.append("over time bound")
    if rss > run.rss_mb:
        problems.append("over RSS bound")
    for o in run.outputs:
        bad = _strict_json_lines(cwd / o)
        if bad:
            problems.append(bad)
    if run.check is not None:
        msg = run.check(run, res)
        if msg:
            problems.append(msg)
    res.problem = "; ".join(problems)
    return res


# -- inputs ----------------------------------------------------------------------------


def rec(reasoning: str, question: str = "Tom has 3 boxes of 4 apples. How many?", **kw) -> dict:
    return {"question": question, "reasoning": reasoning, **kw}


GOOD = [
    rec("First, 3 boxes of 4 apples is 3 * 4 = 12. So the answer is 12.", answer="12"),
    rec(
        "首先，3 × 4 = 12。因此答案是 12。", question="3 盒苹果，每盒 4 个，一共几个？", answer="12"
    ),
]


def write_jsonl(path: Path, lines: list[str]) -> int:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return sum(1 for line in lines if line.strip())


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=True)


def analyze_and_filter(case: str, cwd: Path, lines: list[str], bound_s: float = 60.0,
                       rss_mb: float = 2048.0, blank_lines_are_records: bool = True) -> list[Run]:  # fmt: skip
    src = cwd / f"{case}.jsonl"
    n = write_jsonl(src, lines)
    n_all = len(lines) if blank_lines_are_records else n
    return [
        Run(case, ["analyze", src.name, "--backend", "lexical", "-q", "--json", f"{case}.mol.jsonl"],
            records_in=n, bound_s=bound_s, rss_mb=rss_mb, outputs=[f"{case}.mol.jsonl"]),
        Run(case, ["filter", src.name, "-q", "--accepted", f"{case}.acc.jsonl",
                   "--rejected", f"{case}.rej.jsonl"],
            records_in=n_all, bound_s=bound_s, rss_mb=rss_mb,
            outputs=[f"{case}.acc.jsonl", f"{case}.rej.jsonl"]),
    ]  # fmt: skip


def named_cases(cwd: Path, quick: bool) -> list[Run]:
    good = [dumps(r) for r in GOOD]
    runs: list[Run] = []
    # Markdown rules and runs of every marker: the lexical cue rules once backtracked
    # exponentially (24 dashes never finished).
    marks = ["-", "*", "#", "=", "_", "~", "+", ">", ".", " ", "\t", "—", "…", "，", "。", "、",
             "【", "】", "（", "1. ", "- ", "第一步", "一", "０", "$", "\\", "|", "<", "[", "("]  # fmt: skip
    lines = [*good]
    for m in marks:
        for n in (24, 2_000):
            lines.append(dumps(rec(f"Step one.\n\n{m * n}\n\nSo {m * n}x the answer is 12.")))
    runs += analyze_and_filter("marker_runs", cwd, lines, bound_s=20)
    # A lone UTF-16 surrogate, escaped in the JSON text, in each field.
    sur = [
        '{"question": "How many?\\ud800", "reasoning": "3 * 4 = 12.", "answer": "12"}',
        '{"question": "q", "reasoning": "First \\udfff then 3 * 4 = 12.", "answer": "12"}',
        '{"id": "\\ud800", "question": "q", "reasoning": "3 * 4 = 12."}',
        '{"question": "q", "reasoning": "3 * 4 = 12.", "answer": "\\ud83d"}',
    ]
    runs += analyze_and_filter("lone_surrogate", cwd, [good[0], *sur, good[1]], bound_s=20)
    # Deep nesting, as a whole line and inside a field.
    deep = [
        "[" * 1000 + "]" * 1000,
        '{"a":' * 1000 + "1" + "}" * 1000,
        dumps(rec("3 * 4 = 12.")).replace('"12."', '"12."' + ', "x": ' + "[" * 1000 + "]" * 1000),
        "[" * 100_000 + "]" * 100_000,
    ]
    runs += analyze_and_filter("deep_nesting", cwd, [good[0], *deep, good[1]], bound_s=20)
    # Blank and whitespace-only lines between records.
    runs += analyze_and_filter("blank_lines", cwd, [good[0], "", "   ", good[1], "\t", ""],
                               bound_s=20)  # fmt: skip
    # Wrong JSON types: reasons must name JSON types (null, array), never Python's.
    typed = [
        dumps({"question": None, "reasoning": "3 * 4 = 12."}),
        dumps({"question": "q", "reasoning": ["3 * 4 = 12."]}),
        dumps({"question": "q", "reasoning": {"a": 1}}),
        dumps({"question": "q", "reasoning": 12}),
        dumps({"question": "q", "steps": [None, 3]}),
        dumps([1, 2]),
        "null",
        '"just a string"',
        "12",
    ]

    def no_python_types(run: Run, res: Result) -> str | None:
        for o in run.outputs:
            p = cwd / o
            text = p.read_text(encoding="utf-8") if p.exists() else ""
            hit = re.search(r"\b(NoneType|list|dict|str|int|float)\b(?! of)", text)
            if hit and "reasons" in text:
                return f"Python type name '{hit.group(1)}' in {o}"
        return None

    for r in analyze_and_filter("wrong_types", cwd, [good[0], *typed], bound_s=20):
        r.check = no_python_types if "filter" in r.args else None
        runs.append(r)
    # NaN / Infinity are not JSON: outputs must stay strict JSON.
    nan = ['{"question": "q", "reasoning": "3 * 4 = 12.", "answer": NaN}',
           '{"question": "q", "reasoning": "3 * 4 = 12.", "answer": Infinity}',
           '{"question": "q", "reasoning": "3 * 4 = 12.", "score": -Infinity}']  # fmt: skip
    runs += analyze_and_filter("nan_answer", cwd, [good[0], *nan], bound_s=20)
    # Long traces: filter must be linear (1 MB in <= 5 s).
    base = GOOD[0]["reasoning"] + " Let me check: 12 / 4 = 3. Wait, 3 * 4 = 12 indeed.\n\n"
    sizes = [64_000, 256_000, 1_000_000] + ([] if quick else [5_000_000])
    for size in sizes:
        text = (base * (size // len(base) + 1))[:size]
        case = f"trace_{size // 1000}KB"
        runs += [r for r in analyze_and_filter(case, cwd, [dumps(rec(text))],
                                               bound_s=5 if size <= 1_000_000 else 30)
                 if "filter" in r.args]  # fmt: skip
    # 200,000 one-character lines, numbers among them (the filter took 3 min 52 s).
    chars = "a1b2=c3+"
    one_char = "".join(f"{chars[k % len(chars)]}\n" for k in range(200_000))
    runs += analyze_and_filter("one_char_lines", cwd, [dumps(rec(one_char))], bound_s=20)
    if not quick:
        # 50 MB trace: peak RSS <= 2 GB (a bound with a clear message, or streaming).
        text = (base * (50_000_000 // len(base) + 1))[:50_000_000]
        (cwd / "huge.json").write_text(dumps(rec(text)), encoding="utf-8")
        runs.append(Run("trace_50MB", ["analyze", "huge.json", "--backend", "lexical", "-q"],
                        bound_s=120, rss_mb=2048, expect_rc=(0, 1, 2)))  # fmt: skip
    runs += output_cases(cwd)
    return runs


def output_cases(cwd: Path) -> list[Run]:
    """Unwritable outputs: one line, exit 2, nothing half-written."""
    src = cwd / "ok.json"
    src.write_text(dumps(GOOD[0]), encoding="utf-8")
    (cwd / "ok.jsonl").write_text(dumps(GOOD[0]) + "\n", encoding="utf-8")
    (cwd / "a_dir").mkdir(exist_ok=True)

    def one_line_nothing_written(*paths: str) -> Callable[[Run, Result], str | None]:
        def check(run: Run, res: Result) -> str | None:
            left = [p for p in paths if (cwd / p).is_file()]
            if left:
                return f"left behind: {', '.join(left)}"
            if not res.error.startswith("bondkd:"):
                return "no one-line error"
            return None

        return check

    missing = "no_such_dir/out"
    runs = [
        Run("unwritable", ["analyze", "ok.json", "--backend", "lexical", "-q", "--json",
                           f"{missing}.json"], expect_rc=(2,)),
        Run("unwritable", ["analyze", "ok.json", "--backend", "lexical", "-q", "--html",
                           "a_dir"], expect_rc=(2,)),
        Run("unwritable", ["analyze", "ok.json", "--backend", "lexical", "-q", "--json",
                           "/proc/bondkd-ro.json"], expect_rc=(2,)),
        Run("unwritable", ["render", "ok.json", "--backend", "lexical", "-o",
                           f"{missing}.html"], expect_rc=(2,)),
        Run("unwritable", ["filter", "ok.jsonl", "-q", "--accepted", f"{missing}.jsonl",
                           "--rejected", "rej_unwritable.jsonl"], expect_rc=(2,),
            check=one_line_nothing_written("rej_unwritable.jsonl")),
        Run("failed_analyze", ["analyze", "missing.json", "-q", "--json", "failed.json"],
            expect_rc=(2,), check=one_line_nothing_written("failed.json")),
    ]  # fmt: skip
    for r in runs:
        r.bound_s = 30
        if r.check is None:
            r.check = one_line_nothing_written()
    return runs


def concurrent_filters(cwd: Path) -> list[Result]:
    """Two filter runs on the same outputs: the second is refused, nothing is written twice."""
    text = GOOD[0]["reasoning"] + " Let me check: 12 / 4 = 3.\n\n"
    n = write_jsonl(cwd / "shared.jsonl", [dumps(rec(text * 40, id=f"r{i}")) for i in range(400)])
    args = [
        "filter",
        "shared.jsonl",
        "-q",
        "--accepted",
        "s.acc.jsonl",
        "--rejected",
        "s.rej.jsonl",
    ]
    first = subprocess.Popen([*BONDKD, *args], cwd=cwd, stderr=subprocess.PIPE)
    time.sleep(3)  # the first run holds its outputs by now
    second = execute(Run("two_filters", args, expect_rc=(2,)), cwd)
    _, err = first.communicate(timeout=600)
    out = _count_lines(cwd / "s.acc.jsonl") + _count_lines(cwd / "s.rej.jsonl")
    second.records_in, second.records_out = n, out
    problems = [second.problem] if second.problem else []
    if first.returncode not in (0, 1):
        problems.append(f"first run exit {first.returncode}: {err.decode()[-200:]}")
    if out != n:
        problems.append(f"records {n} -> {out}")
    second.problem = "; ".join(problems)
    return [second]


def random_cases(cwd: Path, n_files: int, seed: int) -> list[Run]:
    """Files of hypothesis-generated records: random unicode (lone surrogates included),
    nesting, sizes and types, mixed with good records."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    text = st.text(st.characters(codec=None, exclude_categories=()), max_size=400)
    scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text)
    value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(text, inner, max_size=4), max_leaves=30)  # fmt: skip
    record = st.one_of(
        st.fixed_dictionaries({"question": text, "reasoning": text},
                              optional={"answer": scalar, "id": scalar, "steps": value}),
        st.dictionaries(st.sampled_from(["question", "reasoning", "answer", "steps", "messages",
                                         "response", "id"]), value, max_size=5),
        value,
    )  # fmt: skip
    raw = st.one_of(
        record.map(lambda r: json.dumps(r, ensure_ascii=True)),
        text.map(lambda t: t.replace("\n", " ").replace("\r", " ")),
    )
    files: list[list[str]] = []

    @hseed(seed)
    @settings(max_examples=n_files, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(raw, min_size=1, max_size=12))
    def collect(lines: list[str]) -> None:
        files.append([*lines, dumps(GOOD[0])])

    collect()
    runs = []
    for k, lines in enumerate(files):
        # Only "\n" separates JSONL lines here; other line breaks stay inside a line.
        lines = [ln.replace("\n", " ") for ln in lines]
        runs += analyze_and_filter(f"random_{k:02d}", cwd, lines, bound_s=30)
    return runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--random", type=int, default=None, help="random files (default 20, quick 6)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args(argv)
    n_random = args.random if args.random is not None else (6 if args.quick else 20)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bondkd-hostile-") as tmp:
        cwd = Path(tmp)
        runs = named_cases(cwd, args.quick)
        for run in runs:
            results.append(execute(run, cwd))
            _print_row(results[-1])
        for res in concurrent_filters(cwd):
            results.append(res)
            _print_row(res)
        for run in random_cases(cwd, n_random, args.seed):
            results.append(execute(run, cwd))
            _print_row(results[-1])
    bad = [r for r in results if r.problem]
    tracebacks = sum("traceback" in r.problem for r in results)
    lost = sum(
        max(0, (r.records_in or 0) - (r.records_out or 0))
        for r in results
        if r.records_in is not None
    )
    over = sum("bound" in r.problem or "timeout" in r.problem for r in results)
    print(f"\n{len(results)} runs: {len(bad)} with problems, {tracebacks} tracebacks, "
          f"{lost} records lost, {over} over their bound")  # fmt: skip
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 1 if bad else 0


def _print_row(r: Result) -> None:
    io = "" if r.records_in is None else f"{r.records_in}->{r.records_out}"
    cmd = r.command if len(r.command) < 60 else r.command[:57] + "..."
    print(f"| {r.case} | `{cmd}` | {r.rc} | {r.error[:70] or '-'} | {io} | {r.wall_s:.1f} "
          f"/ {r.bound_s:.0f} | {r.rss_mb:.0f} | {r.problem or 'ok'} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
