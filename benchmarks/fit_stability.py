"""Fit the stability weights on every labelled dev source at once, and measure them out of
fold per source (issue 16, item 6).

The shipped weights were fitted on GSM8K alone, whose solutions have 1-8 steps; on long
R1/QwQ traces they reject nearly everything (the step term saturates and GSM8K's dataflow
costs fire on competition maths). Here one sign-constrained logistic model
(bondkd.measure.stability_fit) is fitted on the pooled traces:

- GSM8K dev solutions (../shared/data/gsm8k/model_solutions.dev.jsonl, 2,640 traces);
- the longcot sources with a correctness label (../shared/data/longcot: thought_anchors,
  prmbench_qwq, processbench_subset, bbmistake).

Each source's rows weigh `cap / n` (at most 1), so no source counts for more than `cap`
traces: GSM8K's 2,640 do not drown 16 long traces, and 16 do not count as 2,640 either.
Folds are grouped by question (5 folds, GroupKFold); the out-of-fold score of every trace
gives, per source: AUROC, accepted share, precision of the accepted set beside the base
rate, and the accepted share of correct traces. The weights fitted on everything are
printed as a StabilityConfig to paste into bondkd/config.py.

    python benchmarks/fit_stability.py [--backend lexical] [--cap 200] [--json OUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from bondkd.config import AnalyzeConfig, StabilityConfig
from bondkd.measure import stability_fit
from bondkd.measure.metrics import auroc
from bondkd.pipeline import Analyzer
from bondkd.read.files import iter_traces
from bondkd.schema import MoleculeDoc, Trace

sys.path.insert(0, str(Path(__file__).parent))
from gsm8k_auroc import DEV, load
from longcot_gate import LONG_CHARS, LONG_STEPS, LONGCOT, SOURCES, labels


def gsm8k() -> list[tuple[Trace, bool, str]]:
    traces, correct, _ = load(DEV, None)
    return [(t, ok, t.question) for t, ok in zip(traces, correct, strict=True)]


def longcot(name: str) -> list[tuple[Trace, bool, str]]:
    path = LONGCOT / f"{name}.dev.jsonl"
    raw = labels(path)
    return [
        (item, bool(raw[line]["is_correct"]), raw[line]["question"])
        for line, item in iter_traces(str(path))
        if isinstance(item, Trace) and raw[line]["is_correct"] is not None
    ]


def is_long(doc: MoleculeDoc) -> bool:
    return len(doc.reasoning) >= LONG_CHARS and len(doc.steps) >= LONG_STEPS


def report(name: str, score: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    acc = score >= threshold
    return {
        "source": name,
        "n": len(y),
        "base_rate": float(y.mean()),
        "auroc": auroc(score, y),
        "accepted": float(acc.mean()),
        "precision": float(y[acc].mean()) if acc.any() else None,
        "correct_accepted": float(acc[y].mean()) if y.any() else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", default="lexical")
    ap.add_argument("--cap", type=float, default=200.0, help="Most traces a source counts as.")
    ap.add_argument("--sources", default="gsm8k," + ",".join(SOURCES))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    analyzer = Analyzer(AnalyzeConfig(backend=args.backend))
    wanted = args.sources.split(",")
    data = {s: gsm8k() if s == "gsm8k" else longcot(s) for s in wanted}
    docs: list[MoleculeDoc] = []
    labels, groups, sources, weights = [], [], [], []
    for source, items in data.items():
        mols = analyzer.analyze_many([t for t, _, _ in items])
        for mol, (_, ok, question) in zip(mols, items, strict=True):
            docs.append(mol.doc)
            labels.append(ok)
            groups.append(hashlib.sha1(question.encode()).hexdigest())
            sources.append(source)
            weights.append(min(1.0, args.cap / len(items)))
    y = np.array(labels)
    w = np.array(weights)
    base = StabilityConfig()
    names, x = stability_fit.design(docs, base)
    from sklearn.model_selection import GroupKFold

    pred = np.zeros(len(y))
    for train, test in GroupKFold(5).split(x, y, np.asarray(groups)):
        cfg = stability_fit.fit(names, x[train], y[train], base, weights=w[train])
        pred[test] = stability_fit.predict(names, x[test], cfg)
    shipped = stability_fit.predict(names, x, base)
    src = np.array(sources)
    long = np.array([is_long(d) for d in docs])
    rows = []
    for name in [*data, "long traces"]:
        m = long if name == "long traces" else src == name
        rows.append(report(name, pred[m], y[m], base.threshold) | {
            "shipped_auroc": auroc(shipped[m], y[m]),
            "shipped_accepted": float((shipped[m] >= base.threshold).mean()),
        })  # fmt: skip
    fitted = stability_fit.fit(names, x, y, base, weights=w)
    print(f"pooled out-of-fold AUROC {auroc(pred, y):.3f} ({len(y)} traces, backend "
          f"{args.backend}, cap {args.cap:g})")  # fmt: skip
    print("| source | n | base rate | AUROC (out of fold) | accepted | precision of accepted "
          "| correct accepted | shipped AUROC | shipped accepted |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    f = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    for r in rows:
        print(f"| {r['source']} | {r['n']} | {f(r['base_rate'])} | {f(r['auroc'])} | "
              f"{f(r['accepted'])} | {f(r['precision'])} | {f(r['correct_accepted'])} | "
              f"{f(r['shipped_auroc'])} | {f(r['shipped_accepted'])} |")  # fmt: skip
    dump = fitted.model_dump(include={"bias", "bond_weight", "step_cost", "given_gain",
                                      "resolved_cost", "conflicts", "flow"})  # fmt: skip
    dump["flow"].pop("constants", None)
    print("fitted on everything:", json.dumps(dump))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "fitted": dump}, indent=2))


if __name__ == "__main__":
    main()
