"""Precision / recall of reflection and exploration detection on the hand-labelled set.

datasets/labelled.jsonl holds pre-segmented traces with, per trace, the steps that reflect
(and the earlier step each one checks) and the steps that explore. Reported per backend:
- reflection steps: predicted role == reflection vs labelled reflection steps;
- reflection links: predicted reflection bonds (source, target) vs labelled (step, checked);
- exploration steps: predicted role == exploration vs labelled exploration steps.

    python benchmarks/labelled.py [--backends lexical,model] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bondkd.config import AnalyzeConfig
from bondkd.metrics import precision_recall
from bondkd.pipeline import Analyzer
from bondkd.reader import iter_traces

LABELLED = Path(__file__).resolve().parents[1] / "datasets" / "labelled.jsonl"


def gold_sets(path: Path = LABELLED) -> dict[str, set]:
    refl, links, expl = set(), set(), set()
    for line in path.open(encoding="utf-8"):
        rec = json.loads(line)
        for src, tgt in rec["labels"]["reflection"].items():
            refl.add((rec["id"], int(src)))
            links.add((rec["id"], int(src), int(tgt)))
        expl.update((rec["id"], int(k)) for k in rec["labels"]["exploration"])
    return {"reflection_steps": refl, "reflection_links": links, "exploration_steps": expl}


def predicted_sets(backend: str, path: Path = LABELLED) -> dict[str, set]:
    analyzer = Analyzer(AnalyzeConfig(backend=backend))
    refl, links, expl = set(), set(), set()
    for _line, trace in iter_traces(str(path)):
        mol = analyzer.analyze(trace)  # type: ignore[arg-type]
        tid = mol.doc.id
        refl.update((tid, s.index) for s in mol.steps if s.role == "reflection")
        expl.update((tid, s.index) for s in mol.steps if s.role == "exploration")
        links.update(
            (tid, b.source, b.target)
            for b in mol.bonds
            if b.type == "reflection" and mol.steps[b.source].role == "reflection"
        )
    return {"reflection_steps": refl, "reflection_links": links, "exploration_steps": expl}


def evaluate(backend: str) -> dict[str, dict[str, float]]:
    gold, pred = gold_sets(), predicted_sets(backend)
    out = {}
    for key in gold:
        p, r, f = precision_recall(pred[key], gold[key])
        out[key] = {
            "precision": p,
            "recall": r,
            "f1": f,
            "gold": len(gold[key]),
            "predicted": len(pred[key]),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backends", default="lexical,model")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = {b: evaluate(b) for b in args.backends.split(",")}
    for backend, rows in result.items():
        for key, m in rows.items():
            print(
                f"{backend:8s} {key:18s} P={m['precision']:.3f} R={m['recall']:.3f} "
                f"F1={m['f1']:.3f} (gold {m['gold']}, predicted {m['predicted']})"
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
