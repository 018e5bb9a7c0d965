"""Precision / recall of reflection and exploration detection on the hand-labelled set.

datasets/labelled.jsonl holds pre-segmented traces with, per trace, the steps that reflect
(and the earlier step each one checks) and the steps that explore. Reported per backend:
- reflection steps: predicted role == reflection vs labelled reflection steps;
- reflection links: predicted reflection bonds (source, target) vs labelled (step, checked);
- exploration steps: predicted role == exploration vs labelled exploration steps.

Also, for the attention component alone, the AUROC of ranking each labelled checked step
above the other earlier steps of its reflection step, per layer-depth range of SmolLM2
(this is what chose the default `attention.depth`):

    python benchmarks/labelled.py [--backends lexical,model] [--depths 0-1,0.4-0.8] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bondkd.config import AnalyzeConfig
from bondkd.measure.metrics import auroc, precision_recall
from bondkd.pipeline import Analyzer
from bondkd.read.files import iter_traces
from bondkd.steps.segment import segment_steps

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


def link_auroc(depth: tuple[float, float]) -> float:
    """Attention energy of labelled (reflection step, checked step) pairs against the same
    reflection step's other earlier steps."""
    reader = Analyzer(AnalyzeConfig(attention={"depth": depth})).reader
    scores: list[float] = []
    labels: list[bool] = []
    for line in LABELLED.open(encoding="utf-8"):
        rec = json.loads(line)
        text, spans = segment_steps(rec["steps"])
        energy = reader.read(rec.get("question") or "", text, spans).energy
        for src, tgt in rec["labels"]["reflection"].items():
            j = int(src)
            for i in range(j):
                if not np.isnan(energy[j, i]):
                    scores.append(float(energy[j, i]))
                    labels.append(i == int(tgt))
    return auroc(scores, labels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backends", default="lexical,model")
    ap.add_argument("--depths", default="0-1,0.4-0.8", help="layer-depth ranges lo-hi; '' skips")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result: dict = {b: evaluate(b) for b in args.backends.split(",") if b}
    for spec in filter(None, args.depths.split(",")):
        lo, hi = (float(x) for x in spec.split("-"))
        result.setdefault("attention_link_auroc", {})[spec] = value = link_auroc((lo, hi))
        print(f"attention link AUROC, layer depth {lo}-{hi}: {value:.3f}")
    for backend in args.backends.split(","):
        for key, m in result.get(backend, {}).items():
            print(
                f"{backend:8s} {key:18s} P={m['precision']:.3f} R={m['recall']:.3f} "
                f"F1={m['f1']:.3f} (gold {m['gold']}, predicted {m['predicted']})"
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
