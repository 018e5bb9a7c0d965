"""First-error localisation against human labels (issue 16, item 7).

Runs the analyzer over BIG-Bench Mistake (five BBH tasks, a human first-mistake step, -1
when the trace has none) and the ProcessBench items (a human first-error step; every item
has an error) in ../shared/data/longcot/, and scores `MoleculeDoc.first_error`:

- per BIG-Bench-Mistake task, ProcessBench-style F1: accuracy of the predicted earliest
  error step on erroneous traces, accuracy of "no error" on clean ones, their harmonic
  mean, x100;
- on the ProcessBench items, accuracy of the predicted step (no F1: the subset holds no
  clean item).

Beside three baselines: always "no error"; always the last step; the first step whose
arithmetic does not check (`quantities.calculations` + `quantities.evaluate` per step).
Records give `steps` beside the published `reasoning`; the analyzer's step k is the
record's step k (an empty step, which the reader refuses, is dropped and the indices are
mapped back). `--evidence` adds, per conflict / dataflow kind, where its earliest
occurrence in a trace falls against the label: the data first_error.py's choice of
trusted kinds rests on.

    python benchmarks/first_error.py [--backend lexical|model] [--evidence] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from bondkd import quantities
from bondkd.config import AnalyzeConfig
from bondkd.pipeline import Analyzer
from bondkd.read.formats import parse_record
from bondkd.schema import MoleculeDoc

DATA = Path(__file__).resolve().parents[1] / ".." / "shared/data/longcot"
BBM = "bbmistake.dev.jsonl"
PB = "processbench_subset.dev.jsonl"
METHODS = ("bondkd", "no error", "last step", "arithmetic")


def load(name: str, limit: int | None) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    return rows[:limit] if limit else rows


def first_bad_arithmetic(steps: list[str]) -> int:
    """Baseline: the first step with a calculation whose stated value the expression
    does not give; -1 when every one checks."""
    for k, text in enumerate(steps):
        for a in quantities.calculations(text):
            truth = quantities.evaluate(a.expr)
            if (
                a.value is not None
                and truth is not None
                and not quantities.same_value(a.value, truth)
            ):
                return k
    return -1


def analyse(rows: list[dict], analyzer: Analyzer) -> Iterable[tuple[dict, MoleculeDoc, list[int]]]:
    """(record, molecule, analyzer step -> record step) per record, in order."""
    kept = [[k for k, s in enumerate(r["steps"]) if s.strip()] for r in rows]
    traces = (
        parse_record({**r, "steps": [r["steps"][k] for k in idx]})
        for r, idx in zip(rows, kept, strict=True)
    )
    for r, mol, idx in zip(rows, analyzer.analyze_many(traces), kept, strict=True):
        yield r, mol.doc, idx


def predictions(
    rows: list[dict], analyzer: Analyzer, evidence: Counter | None
) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {m: [] for m in METHODS}
    for r, doc, idx in analyse(rows, analyzer):
        fe = doc.first_error
        out["bondkd"].append(idx[fe.step] if fe is not None else -1)
        out["no error"].append(-1)
        out["last step"].append(len(r["steps"]) - 1)
        out["arithmetic"].append(first_bad_arithmetic(r["steps"]))
        if evidence is not None:
            tally(evidence, r, doc, idx)
    return out


def tally(evidence: Counter, r: dict, doc: MoleculeDoc, idx: list[int]) -> None:
    """Where each kind's earliest unresolved occurrence falls against the label."""
    earliest: dict[str, int] = {}
    for c in doc.conflicts:
        if c.resolved_by is None and c.steps:
            earliest[c.kind] = min(earliest.get(c.kind, 1 << 30), idx[max(c.steps)])
    for f in doc.dataflow:
        if f.step is not None and f.value > 0:
            name = f"dataflow {f.kind}"
            earliest[name] = min(earliest.get(name, 1 << 30), idx[f.step])
    label = r["first_error_step"]
    for kind, step in earliest.items():
        where = "at" if step == label else "before" if label < 0 or step < label else "after"
        evidence[kind, where] += 1


def f1_parts(pred: list[int], gold: list[int]) -> tuple[float, float, float]:
    """(accuracy on erroneous, accuracy on clean, harmonic mean), each x100."""
    err = [p == g for p, g in zip(pred, gold, strict=True) if g >= 0]
    ok = [p == -1 for p, g in zip(pred, gold, strict=True) if g < 0]
    a = 100 * sum(err) / len(err) if err else 0.0
    b = 100 * sum(ok) / len(ok) if ok else 0.0
    return a, b, (2 * a * b / (a + b) if a + b else 0.0)


def table(
    bbm: list[dict], bbm_pred: dict[str, list[int]], pb: list[dict], pb_pred: dict[str, list[int]]
) -> str:
    head = "| data | n (with error / clean) | " + " | ".join(METHODS) + " |"
    lines = [head, "|---|---|" + "---|" * len(METHODS)]
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(bbm):
        by_task[r["meta"]["task"]].append(i)
    for task in sorted(by_task):
        ix = by_task[task]
        gold = [bbm[i]["first_error_step"] for i in ix]
        n_err = sum(g >= 0 for g in gold)
        cells = []
        for m in METHODS:
            a, b, f = f1_parts([bbm_pred[m][i] for i in ix], gold)
            cells.append(f"**{f:.1f}** ({a:.0f} / {b:.0f})")
        lines.append(f"| BBMistake {task}: F1 (err acc / clean acc) | {n_err} / "
                     f"{len(ix) - n_err} | " + " | ".join(cells) + " |")  # fmt: skip
    gold = [r["first_error_step"] for r in pb]
    cells = []
    for m in METHODS:
        hits = sum(p == g for p, g in zip(pb_pred[m], gold, strict=True))
        cells.append(f"**{100 * hits / len(gold):.1f}** ({hits}/{len(gold)})")
    n_err = sum(g >= 0 for g in gold)
    lines.append(f"| ProcessBench items: accuracy | {n_err} / {len(gold) - n_err} | "
                 + " | ".join(cells) + " |")  # fmt: skip
    return "\n".join(lines)


def evidence_table(evidence: Counter) -> str:
    kinds = sorted({k for k, _ in evidence})
    lines = ["| evidence (earliest in a trace) | at the labelled step | before it or on a clean "
             "trace | after it |", "|---|---|---|---|"]  # fmt: skip
    for k in kinds:
        at, before, after = (evidence[k, w] for w in ("at", "before", "after"))
        lines.append(f"| {k} | {at} | {before} | {after} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("lexical", "model"), default="lexical")
    ap.add_argument("--evidence", action="store_true", help="per-kind evidence table too")
    ap.add_argument("--limit", type=int, default=None, help="first N records of each file")
    args = ap.parse_args(argv)
    analyzer = Analyzer(AnalyzeConfig(backend=args.backend))
    evidence: Counter | None = Counter() if args.evidence else None
    t0 = time.perf_counter()
    bbm, pb = load(BBM, args.limit), load(PB, args.limit)
    bbm_pred = predictions(bbm, analyzer, evidence)
    pb_pred = predictions(pb, analyzer, evidence)
    print(f"backend {args.backend}: {len(bbm)} BIG-Bench Mistake + {len(pb)} ProcessBench "
          f"records in {time.perf_counter() - t0:.1f} s\n")  # fmt: skip
    print(table(bbm, bbm_pred, pb, pb_pred))
    if evidence is not None:
        print()
        print(evidence_table(evidence))


if __name__ == "__main__":
    main()
