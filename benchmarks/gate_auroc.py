"""Validation of `bondkd filter` on the GSM8K dev solutions: does the gate's score
separate correct from incorrect solutions?

Each of the 2,640 solutions in ../shared/data/gsm8k/model_solutions.dev.jsonl is one
record `{id, question, solution, is_correct}` (no ground truth; the label is only read
here). For each backend the records go through `bondkd filter` itself (files, the
shipped config, reference check off), timed, and we report side by side:

- score: AUROC with the shipped weights (which were fitted on this file, so this is
  in-sample) and, refitting the weights inside each fold, AUROC with 5 folds grouped
  by question (its four solutions are correlated), with a 95% bootstrap interval over
  questions; precision / recall of `accepted` at the default threshold;
- each check's own AUROC, and the molecule's stability (one trace at a time);
- baselines: solution length (shorter = better), SmolLM2 mean token log-prob.

    python benchmarks/gate_auroc.py --json out/gate_auroc.json [--backends lexical,model]
    python benchmarks/gate_auroc.py --write-labelled out/gsm8k_dev_labelled.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gsm8k_auroc import DEV, GENERATORS, mean_logprob

from bondkd.gate.calibrate import FEATURES, check_scores, fit, grouped_cv_auroc
from bondkd.gate.config import load_gate_config
from bondkd.gate.files import filter_file
from bondkd.measure.metrics import auroc
from bondkd.read.formats import parse_record


def records(path: Path) -> list[dict]:
    out = []
    for q, line in enumerate(path.open(encoding="utf-8")):
        row = json.loads(line)
        for g in GENERATORS:
            out.append({"id": f"q{q}-{g}", "question": row["question"],
                        "solution": row[g]["solution"], "is_correct": row[g]["is_correct"]})  # fmt: skip
    return out


def gate(recs: list[dict], backend: str, workers: int) -> tuple[list[dict], float]:
    config = load_gate_config(None, backend=backend, reference__enabled=False)
    with tempfile.TemporaryDirectory() as tmp:
        src, acc, rej = (Path(tmp) / n for n in ("in.jsonl", "acc.jsonl", "rej.jsonl"))
        src.write_text("".join(json.dumps(r) + "\n" for r in recs))
        t0 = time.perf_counter()
        filter_file(str(src), str(acc), str(rej), config, workers=workers)
        seconds = time.perf_counter() - t0
        out = [json.loads(x) for p in (acc, rej) for x in p.open(encoding="utf-8")]
    return sorted(out, key=lambda r: r["bondkd"]["line"]), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEV)
    ap.add_argument("--backends", default="lexical,model")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-logprob", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--write-labelled", type=Path, help="Only write the labelled records.")
    args = ap.parse_args()
    recs = records(args.data)
    if args.write_labelled:
        args.write_labelled.write_text("".join(json.dumps(r) + "\n" for r in recs))
        return
    y = np.array([r["is_correct"] for r in recs])
    groups = [r["question"] for r in recs]
    res: dict = {"records": len(recs), "correct": int(y.sum()), "baselines": {}, "backends": {}}
    res["baselines"]["length (shorter = better)"] = auroc([-len(r["solution"]) for r in recs], y)
    if not args.no_logprob:
        traces = [parse_record(r) for r in recs]
        res["baselines"]["SmolLM2 mean token log-prob"] = auroc(mean_logprob(traces), y)
    for backend in args.backends.split(","):
        out, seconds = gate(recs, backend, args.workers)
        blocks = [r["bondkd"] for r in out]
        score = np.array([b["score"] for b in blocks])
        accepted = np.array([b["verdict"] == "accepted" for b in blocks])
        scores = check_scores(blocks)
        cv = grouped_cv_auroc(scores, y, groups, load_gate_config(None).neutral())
        tp = int((accepted & y).sum())
        fitted = fit(scores, y, load_gate_config(None).neutral())
        row = {
            "fitted_weights": fitted.model_dump(),
            "records_per_s": round(len(recs) / seconds, 1),
            "workers": args.workers,
            "score_auroc_shipped_weights": auroc(score, y),
            "score_auroc_grouped_cv": cv["auroc"],
            "score_auroc_grouped_cv_ci95": cv["ci95"],
            "accepted": int(accepted.sum()),
            "precision": tp / max(1, int(accepted.sum())),
            "recall": tp / int(y.sum()),
            "stability_auroc": auroc([b["stability"] for b in blocks], y),
            "checks_auroc": {
                n: auroc(np.nan_to_num(v, nan=float(np.nanmean(v))), y)
                for n, v in scores.items()
                if np.isfinite(v).any() and n in FEATURES
            },
        }
        res["backends"][backend] = row
        print(backend, json.dumps(row, indent=1), flush=True)
    print(json.dumps(res["baselines"], indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
