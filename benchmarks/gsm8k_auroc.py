"""AUROC of molecule stability for solution correctness on the GSM8K dev solutions.

Each of the 2,640 model solutions in ../shared/data/gsm8k/model_solutions.dev.jsonl
(660 questions x 4 generators) is one trace: question + solution, no ground truth.
Scores measured side by side in one run:
- stability, per backend (lexical, model), with the shipped weights (fitted on this
  file, so in-sample) and refitted out of fold: 5 folds grouped by question, with a 95%
  bootstrap interval over questions; the weights fitted on the whole file are printed
  (the shipped defaults of StabilityConfig are those of the lexical backend);
- baseline: solution length (shorter scores higher);
- baseline: SmolLM2 mean token log-prob of the solution given the question.

    python benchmarks/gsm8k_auroc.py --json out/gsm8k_auroc.json [--limit N]
    python benchmarks/gsm8k_auroc.py --write-traces out/gsm8k_dev_traces.jsonl   # one per line,
        for timing `bondkd analyze` itself on the 2,640 traces
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bondkd.config import AnalyzeConfig
from bondkd.measure import stability_fit
from bondkd.measure.metrics import auroc
from bondkd.molecule import molecule
from bondkd.pipeline import Analyzer
from bondkd.read.formats import parse_record

DEV = Path(__file__).resolve().parents[1] / ".." / "shared/data/gsm8k/model_solutions.dev.jsonl"
GENERATORS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def load(path: Path, limit: int | None):
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    if limit:
        rows = rows[:limit]
    traces, labels, lengths = [], [], []
    for q, row in enumerate(rows):
        for g in GENERATORS:
            sol = row[g]["solution"]
            rec = {"id": f"q{q}-{g}", "question": row["question"], "solution": sol}
            traces.append(parse_record(rec, source=f"{path.name}:{q + 1}"))
            labels.append(bool(row[g]["is_correct"]))
            lengths.append(len(sol))
    return traces, labels, lengths


def mean_logprob(traces) -> list[float]:
    import torch

    from bondkd.energy.models import load_causal_lm

    lm = load_causal_lm("smollm2")
    out = []
    with torch.inference_mode():
        for t in traces:
            prefix = lm.tokenizer(t.question + "\n\n", return_tensors="pt").input_ids
            full = lm.tokenizer(t.question + "\n\n" + t.reasoning, return_tensors="pt").input_ids
            n = full.shape[1] - prefix.shape[1]  # solution tokens
            # Only the logits that predict solution tokens: the LM head over a 49k vocabulary
            # at every question position would dominate the time.
            logits = lm.model(full, logits_to_keep=n + 1).logits[0, :-1].float()
            lp = torch.log_softmax(logits, -1).gather(1, full[0, -n:, None])[:, 0]
            out.append(float(lp.mean()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=DEV)
    ap.add_argument("--limit", type=int, help="Only the first N questions (4 traces each).")
    ap.add_argument("--backends", default="lexical,model")
    ap.add_argument("--no-logprob", action="store_true")
    ap.add_argument("--json", type=Path, help="Write results here.")
    ap.add_argument("--write-traces", type=Path, help="Only write the traces as JSONL here.")
    args = ap.parse_args()
    if args.write_traces:
        with args.data.open(encoding="utf-8") as src, args.write_traces.open("w") as dst:
            for q, line in enumerate(src):
                row = json.loads(line)
                for g in GENERATORS:
                    rec = {"id": f"q{q}-{g}", "question": row["question"]}
                    dst.write(json.dumps(rec | {"solution": row[g]["solution"]}) + "\n")
        return

    traces, labels, lengths = load(args.data, args.limit)
    result: dict = {"traces": len(traces), "correct": int(sum(labels)), "auroc": {}, "seconds": {}}
    result["auroc"]["length (shorter = better)"] = auroc([-x for x in lengths], labels)
    for backend in args.backends.split(","):
        t0 = time.perf_counter()
        cfg = AnalyzeConfig(backend=backend)
        analyzer = Analyzer(cfg)
        mols = list(analyzer.analyze_many(traces))
        dt = time.perf_counter() - t0
        stab = [m.stability for m in mols]
        result["auroc"][f"stability ({backend}, shipped weights)"] = auroc(stab, labels)
        groups = [t.id.split("-")[0] for t in traces]
        cv = stability_fit.grouped_cv(
            [m.doc for m in mols], np.array(labels), groups, cfg.stability
        )
        result["auroc"][f"stability ({backend}, grouped 5-fold CV)"] = cv["auroc"]
        result[f"stability_cv_ci95_{backend}"] = cv["ci95"]
        result[f"stability_fitted_{backend}"] = cv["config"].model_dump(
            exclude={"flow": {"constants"}}
        )
        result["seconds"][backend] = dt
        result[f"traces_per_s_{backend}"] = len(traces) / dt
        # Each conflict kind: how many traces carry one, and how many of those are correct.
        kinds: dict[str, list[int]] = {}
        for m, y in zip(mols, labels, strict=True):
            for kind in {c.kind for c in m.doc.conflicts}:
                kinds.setdefault(kind, [0, 0])[y] += 1
        result[f"conflicts_{backend}"] = {
            k: {"traces": w + r, "correct_rate": r / (w + r)} for k, (w, r) in sorted(kinds.items())
        }
        bond = [molecule.bond_term(len(m.doc.steps), m.doc.bonds) for m in mols]
        result["auroc"][f"bond term alone ({backend})"] = auroc(bond, labels)
        acc = np.array([m.accepted for m in mols])
        y = np.array(labels)
        result[f"accepted_{backend}"] = {
            "accepted": int(acc.sum()),
            "precision": float(y[acc].mean()) if acc.any() else None,
            "recall": float(acc[y].mean()),
        }
    if not args.no_logprob:
        t0 = time.perf_counter()
        result["auroc"]["SmolLM2 mean token log-prob"] = auroc(mean_logprob(traces), labels)
        result["seconds"]["logprob"] = time.perf_counter() - t0
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
