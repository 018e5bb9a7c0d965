"""The default verdict on long public traces with correctness labels (issue 16, item 6).

For each longcot source with `is_correct` (../shared/data/longcot/*.dev.jsonl: thought_anchors,
prmbench_qwq, processbench_subset, bbmistake; bbmistake also per `meta.task`), and for the
long traces of all of them together (≥ 3,000 characters and ≥ 30 steps), every trace is
analysed with the default config of each backend and we report: n, the base rate (share
correct), the stability AUROC (correct vs wrong), the accepted share, the precision of the
accepted set (share correct among accepted) beside the base rate, the accepted share of
the correct traces, and the mean stability (all, correct, wrong). The correctness label is
read here only; `reference` is not used by the molecule's verdict.

Records with `is_correct` null are left out; a record the reader refuses is counted in the
`unreadable` column and left out of the other numbers (it has no stability).

    python benchmarks/longcot_gate.py [--backends lexical,model] [--sources a,b] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bondkd.config import AnalyzeConfig
from bondkd.errors import InputError
from bondkd.measure.metrics import auroc
from bondkd.pipeline import Analyzer
from bondkd.read.files import iter_traces
from bondkd.schema import Trace

ROOT = Path(__file__).resolve().parents[1]
LONGCOT = ROOT.parent / "shared" / "data" / "longcot"
SOURCES = ("thought_anchors", "prmbench_qwq", "processbench_subset", "bbmistake")
BY_TASK = {"bbmistake"}  # sources also reported per `meta.task`
LONG_CHARS, LONG_STEPS = 3000, 30
LONG = "long traces"


@dataclass
class Row:
    """One analysed trace with its label (the label never reaches the analyzer)."""

    id: str
    correct: bool
    stability: float
    accepted: bool
    chars: int
    steps: int
    task: str | None = None

    @property
    def long(self) -> bool:
        return self.chars >= LONG_CHARS and self.steps >= LONG_STEPS


def labels(path: Path) -> dict[int, dict]:
    """Physical line (1-based, as `iter_traces` numbers it) -> the raw record."""
    with path.open(encoding="utf-8") as f:
        return {n: json.loads(line) for n, line in enumerate(f, 1) if line.strip()}


def _task(rec: dict) -> str | None:
    return (rec.get("meta") or {}).get("task")


def measure(path: Path, backend: str) -> tuple[list[Row], list[tuple[str | None, str]]]:
    """(a row per labelled trace, (task, the reader's message) per refused record)."""
    raw = labels(path)
    analyzer = Analyzer(AnalyzeConfig.model_validate({"backend": backend}))
    traces: list[tuple[int, Trace]] = []
    errors: list[tuple[str | None, str]] = []
    for line, item in analyzer.screen(iter_traces(str(path))):
        if raw.get(line, {}).get("is_correct") is None:
            continue  # no label: nothing to measure against
        if isinstance(item, InputError):
            errors.append((_task(raw[line]), str(item)))
        else:
            traces.append((line, item))
    mols = analyzer.analyze_many(t for _, t in traces)
    rows = [
        Row(
            id=mol.doc.id,
            correct=bool(raw[line]["is_correct"]),
            stability=mol.stability,
            accepted=mol.accepted,
            chars=len(trace.reasoning),
            steps=len(mol.steps),
            task=_task(raw[line]),
        )
        for (line, trace), mol in zip(traces, mols, strict=True)
    ]
    return rows, errors


def _mean(xs: Sequence[float]) -> float | None:
    return float(np.mean(xs)) if len(xs) else None


def summarise(rows: Sequence[Row], unreadable: int = 0) -> dict:
    """The gate's numbers on one set of traces; None where a number is undefined (AUROC
    with one class only, precision with nothing accepted)."""
    y = [r.correct for r in rows]
    s = [r.stability for r in rows]
    acc = [r for r in rows if r.accepted]
    n_correct = sum(y)
    return {
        "n": len(rows),
        "unreadable": unreadable,
        "correct": n_correct,
        "base_rate": n_correct / len(rows) if rows else None,
        "auroc": auroc(s, y) if 0 < n_correct < len(rows) else None,
        "accepted_share": len(acc) / len(rows) if rows else None,
        "accepted_precision": sum(r.correct for r in acc) / len(acc) if acc else None,
        "correct_accepted_share": (
            sum(r.accepted for r in rows if r.correct) / n_correct if n_correct else None
        ),
        "mean_stability": _mean(s),
        "mean_stability_correct": _mean([r.stability for r in rows if r.correct]),
        "mean_stability_wrong": _mean([r.stability for r in rows if not r.correct]),
    }


def evaluate(backend: str, sources: Sequence[str], data: Path = LONGCOT) -> dict[str, dict]:
    """Summary per source (and per task where `BY_TASK`), then the long traces pooled."""
    out: dict[str, dict] = {}
    pooled: list[Row] = []
    for name in sources:
        t0 = time.perf_counter()
        rows, errors = measure(data / f"{name}.dev.jsonl", backend)
        seconds = time.perf_counter() - t0
        for _, e in errors[:3]:
            print(f"{name}: unreadable: {e}", file=sys.stderr)
        out[name] = {**summarise(rows, len(errors)), "seconds": seconds}
        if name in BY_TASK:
            for task in sorted({r.task for r in rows if r.task}):
                lost = sum(t == task for t, _ in errors)
                out[f"{name}/{task}"] = summarise([r for r in rows if r.task == task], lost)
        pooled += [r for r in rows if r.long]
    out[LONG] = summarise(pooled)
    return out


def _f(x: float | None, spec: str = ".2f") -> str:
    return "–" if x is None else format(x, spec)


def table(results: dict[str, dict[str, dict]]) -> str:
    rows = [
        "| backend | source | n | base rate | stability AUROC | accepted | precision of "
        "accepted | correct accepted | mean stability (correct / wrong) | unreadable |",
        "|---" * 10 + "|",
    ]
    for backend, per in results.items():
        for name, m in per.items():
            rows.append(
                f"| {backend} | {name} | {m['n']} | {_f(m['base_rate'])} | {_f(m['auroc'])} "
                f"| {_f(m['accepted_share'])} | {_f(m['accepted_precision'])} "
                f"| {_f(m['correct_accepted_share'])} | {_f(m['mean_stability'], '.3f')} "
                f"({_f(m['mean_stability_correct'], '.3f')} / "
                f"{_f(m['mean_stability_wrong'], '.3f')}) | {m['unreadable']} |"
            )
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="lexical")
    ap.add_argument("--sources", default=",".join(SOURCES))
    ap.add_argument("--data", type=Path, default=LONGCOT, help="folder of the *.dev.jsonl files")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sources = [s for s in args.sources.split(",") if s]
    results = {b: evaluate(b, sources, args.data) for b in args.backends.split(",") if b}
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
