"""The result table of the end-to-end recipe (examples/recipe.py): per arm, held-out
accuracy with its 95 % Wilson interval, structural fidelity (Spearman net of distance,
bond-type agreement), held-out LM loss and the last training losses, beside the teacher,
the untrained student and the distance-only baseline, read from the recipe's stages."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

from bondkd.distill.fidelity import recency_spearman
from bondkd.distill.recipe import wilson
from bondkd.distill.targets import TargetReader


def read_jsonl(path: Path) -> list[Any]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def acc_cell(side: dict[str, Any] | None) -> str:
    if side is None:
        return "n/a"
    lo, hi = wilson(side["correct"], side["n"])
    return f"{side['correct']}/{side['n']} = {side['correct'] / side['n']:.3f} [{lo:.3f}, {hi:.3f}]"


def report(s: dict[str, Any], st: Any, arms: list[str]) -> dict[str, Any]:
    def load(path: Path) -> Any:
        return json.loads(path.read_text())

    fid = {m: load(st.path(f"fidelity-{m}") / "result.json") for m in ("base", *arms)}
    evals = {a: load(st.path(f"eval-{a}") / "eval.json") for a in arms}
    logs = {a: read_jsonl(st.path(f"train-{a}") / "log.jsonl") for a in arms}
    heldout = list(TargetReader(st.path("heldout") / "targets"))
    with warnings.catch_warnings():  # a mean of no traces (tiny runs) is nan, shown n/a
        warnings.simplefilter("ignore", RuntimeWarning)
        recency = recency_spearman(heldout)
    teacher = evals[arms[0]]["teacher"]
    rows = [{"model": "distance only (no model)", "spearman": recency},
            {"model": f"teacher ({s['teacher']})", "accuracy": teacher},
            {"model": "untrained student", **fid["base"]}]  # fmt: skip
    for a in arms:
        tail = logs[a][-10:]
        alpha = s["alpha"] if a == "bond" else 0.0
        rows.append({"model": f"{a} (alpha {alpha:g})", **fid[a], "accuracy": evals[a]["student"],
                     "train_ce": sum(r["ce"] for r in tail) / len(tail),
                     "train_bond": sum(r["bond"] for r in tail) / len(tail)})  # fmt: skip
    for r in rows:
        if "accuracy" in r:
            side = r["accuracy"]
            r["accuracy"] = {"correct": side["correct"], "n": side["n"], "accuracy": side["accuracy"],
                             "wilson95": wilson(side["correct"], side["n"])}  # fmt: skip
    head = ["model", "accuracy (95% Wilson CI)", "Spearman net of distance", "bond-type agreement",
            "Spearman", "held-out LM loss", "train CE", "train L_bond"]  # fmt: skip
    keys = ("spearman_net", "bond_agreement", "spearman", "lm_loss", "train_ce", "train_bond")
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for r in rows:
        cells = [r["model"], acc_cell(r.get("accuracy")) if "accuracy" in r else ""]
        cells += [cell(r.get(k), 4 if k == "train_bond" else 3) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    train = list(TargetReader(st.path("targets") / "targets"))
    multi = sum(t.n_steps >= 3 for t in train)
    base = fid["base"]
    lines.append("")
    lines.append(f"{len(train)} training traces (gated; {multi} of them with 3 or more steps, "
                 f"the only ones whose L_bond can be non-zero); {len(heldout)} held-out traces "
                 f"({s['heldout']}: Spearman over the {base['spearman_traces']} with 3 or more "
                 f"scored pairs, net of distance over the {base['net_traces']} with 3 or more "
                 f"pairs at a shared distance); {teacher['n']} held-out questions; {s['steps']} steps per "
                 "arm; train CE and L_bond: mean of the last 10 steps.")  # fmt: skip
    stages = {x["stage"]: None for x in read_jsonl(st.log_path)}
    seconds = {k: st.seconds(k) for k in stages}
    lines.append("stage seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items() if v))
    table = "\n".join(lines)
    return {"settings": s, "rows": rows, "table": table, "stage_seconds": seconds,
            "train_traces": len(train), "heldout_traces": len(heldout)}  # fmt: skip


def cell(x: float | None, digits: int) -> str:
    if x is None:
        return ""
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"
