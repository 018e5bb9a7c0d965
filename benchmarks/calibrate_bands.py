"""Measure where each kind of step pair falls on a backend's energy scale, to set its bands.

Pairs of three kinds:
- deductive: step j reuses a quantity first stated or computed in step i, j neither reflects
  nor explores (GSM8K train human solutions: each line computes from earlier results);
- reflection: a labelled reflection step and the step it checks (datasets/labelled.jsonl);
- labelled deduction: a step and a step whose results it uses (datasets/labelled.jsonl, the
  long public traces; reported, not used for a band: docs/benchmarks.md);
- unrelated: candidate pairs, not adjacent, sharing no number and no content term (GSM8K).

Suggested bands: strong = 25th percentile of deductive pairs (three quarters of clear
deductive links are covalent), reflection = 25th percentile of labelled reflection links,
exploratory = 90th percentile of unrelated pairs (a bond stands above nine tenths of noise).

    python benchmarks/calibrate_bands.py [--backends lexical,model] [--limit 300] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bondkd.config import AnalyzeConfig
from bondkd.pipeline import Analyzer
from bondkd.read.files import iter_traces
from bondkd.read.formats import parse_record

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / ".." / "shared/data/gsm8k/train.jsonl"
LABELLED = ROOT / "datasets" / "labelled.jsonl"


def gsm8k_pairs(analyzer: Analyzer, limit: int) -> tuple[list[float], list[float]]:
    deductive, unrelated = [], []
    with TRAIN.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n >= limit:
                break
            te = analyzer.energies(parse_record(json.loads(line)))
            behaviour = te.behaviour
            f = te.features
            for p, (j, i) in enumerate(te.energy.pairs.tolist()):
                e = float(te.energy.energy[p])
                if f[j].numbers & f[i].introduced and behaviour[j] is None:
                    deductive.append(e)
                elif i < j - 1 and not (f[j].numbers & f[i].numbers or f[j].terms & f[i].terms):
                    unrelated.append(e)
    return deductive, unrelated


def labelled_links(analyzer: Analyzer) -> tuple[list[float], list[float]]:
    """Energies of the labelled reflection links and of the labelled deduction links."""
    refl, deduced = [], []
    for (_line, trace), line in zip(iter_traces(str(LABELLED)), LABELLED.open(), strict=True):
        te = analyzer.energies(trace)  # type: ignore[arg-type]
        index = {tuple(p): k for k, p in enumerate(te.energy.pairs.tolist())}
        labels = json.loads(line)["labels"]
        links = [(int(j), i, refl) for j, i in labels["reflection"].items()]
        links += [(int(j), i, deduced) for j, v in labels.get("deduction", {}).items() for i in v]
        for j, i, out in links:
            k = index.get((j, i))
            if k is not None:  # a link outside the candidate pairs cannot bond at all
                out.append(float(te.energy.energy[k]))
    return refl, deduced


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backends", default="lexical,model")
    ap.add_argument("--limit", type=int, default=300, help="GSM8K train solutions to read")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = {}
    for backend in args.backends.split(","):
        analyzer = Analyzer(AnalyzeConfig(backend=backend))
        deductive, unrelated = gsm8k_pairs(analyzer, args.limit)
        refl, deduced = labelled_links(analyzer)
        q = lambda xs, p: round(float(np.percentile(xs, p)), 3)  # noqa: E731
        row = {
            "pairs": {
                "deductive": len(deductive),
                "reflection": len(refl),
                "unrelated": len(unrelated),
            },
            "deductive_p25_p50_p75": [q(deductive, p) for p in (25, 50, 75)],
            "reflection_p25_p50_p75": [q(refl, p) for p in (25, 50, 75)],
            "unrelated_p50_p90": [q(unrelated, p) for p in (50, 90)],
            # Long public traces (issue 16): where their labelled deduction links fall.
            "labelled_deduction_p10_p25_p50": [q(deduced, p) for p in (10, 25, 50)],
            "labelled_deduction_n": len(deduced),
            "suggested": {
                "strong": q(deductive, 25),
                "reflection": q(refl, 25),
                "exploratory": q(unrelated, 90),
            },
        }
        result[backend] = row
        print(backend, json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
