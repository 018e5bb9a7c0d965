"""Bond and role detection against the hand-labelled set (issue 16).

datasets/labelled.jsonl holds traces (given `steps`, optionally beside the published
`reasoning` they are pieces of) with, per trace, labels written by reading the text:

    "labels": {"reflection": {"j": i}, "correction": {"j": i},
               "deduction": {"j": [i, ...]}, "exploration": [k, ...]}

Reported per backend, for the splits "tune" (records without a `split` are tune), "holdout"
and all, the same three restricted to long traces (≥ 3,000 characters and ≥ 30 steps), and
the traces written for bondkd (short, EN and ZH) apart from the public ones:
- reflection steps: predicted role == reflection vs labelled reflection steps (P/R);
- reflection links: predicted reflection bonds from a reflection step (j -> i) vs labelled
  (step -> the step it checks) (P/R);
- corrections: predicted pairs (j, i), a reflection bond from a step of kind "correction",
  vs labelled correction pairs (P/R); correction steps: predicted `kind == "correction"` vs labelled
  correction steps (P/R). Only records whose labels carry a "correction" key are judged:
  the early records were never labelled for corrections, so a correction found there
  could be neither confirmed nor refuted (`unjudged_predicted` counts them);
- deduction-link type agreement: the share of labelled deduction links (j, i) for which
  the molecule has a bond j -> i of type strong_logic, with the types the others got
  (records without deduction labels add nothing to it);
- exploration steps: predicted role == exploration, or a check by a second method (kind
  cross_check), vs labelled exploration steps (P/R).

Also, for the attention component alone, the AUROC of ranking each labelled checked step
above the other earlier steps of its reflection step, per layer-depth range of SmolLM2
(`benchmarks/layers.py` ranks single layers the same way and chose the default):

    python benchmarks/labelled.py [--backends lexical,model] [--depths 0-1,0.4-0.8,0.55-0.58]
        [--labelled FILE ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bondkd.config import AnalyzeConfig
from bondkd.errors import InputError
from bondkd.measure.metrics import auroc, precision_recall
from bondkd.molecule.molecule import Molecule
from bondkd.pipeline import Analyzer, _steps
from bondkd.read.files import iter_traces
from bondkd.schema import STEP_JOINER, Trace

LABELLED = Path(__file__).resolve().parents[1] / "datasets" / "labelled.jsonl"
LONG_CHARS, LONG_STEPS = 3000, 30
SPLITS = ("tune", "holdout", "all")
# "written": the short traces written for bondkd (no `source`), with "written:holdout" those
# written, labelled and scored before anything was tuned on them; "public": the rest.
GROUPS = (*SPLITS, *(f"long:{s}" for s in SPLITS), "written", "written:holdout", "public")
# Metrics scored as precision / recall of a predicted set against a gold set.
SET_METRICS = (
    "reflection_steps",
    "reflection_links",
    "corrections",
    "correction_steps",
    "exploration_steps",
)
NO_BOND = "none"


@dataclass
class Gold:
    """One labelled record: where it belongs and what a reader marked in it."""

    id: str
    split: str
    long: bool
    judges_corrections: bool  # the record's labels carry a "correction" key
    sets: dict[str, set] = field(default_factory=dict)
    deduction: list[tuple[int, int]] = field(default_factory=list)
    written: bool = False  # written for bondkd (no public `source`)


@dataclass
class Predicted:
    """What one molecule says about the same record."""

    sets: dict[str, set]
    bond_types: dict[tuple[int, int], str]  # (source, target) -> bond type


def _pairs(mapping: dict) -> set[tuple[int, int]]:
    return {(int(j), int(i)) for j, i in mapping.items()}


def gold_record(rec: dict) -> Gold:
    labels = rec["labels"]
    steps = rec["steps"]
    chars = len(rec.get("reasoning") or STEP_JOINER.join(steps))
    refl, corr = labels.get("reflection", {}), labels.get("correction", {})
    g = Gold(
        id=str(rec["id"]),
        split=rec.get("split") or "tune",
        long=chars >= LONG_CHARS and len(steps) >= LONG_STEPS,
        judges_corrections="correction" in labels,
        written=not rec.get("source"),
    )
    g.sets = {
        "reflection_steps": {int(j) for j in refl},
        "reflection_links": _pairs(refl),
        "corrections": _pairs(corr),
        "correction_steps": {int(j) for j in corr},
        "exploration_steps": {int(k) for k in labels.get("exploration", [])},
    }
    g.deduction = [
        (int(j), int(i)) for j, targets in labels.get("deduction", {}).items() for i in targets
    ]
    return g


def read_gold(paths: Sequence[Path]) -> list[Gold]:
    out: list[Gold] = []
    for path in paths:
        for line in path.open(encoding="utf-8"):
            if line.strip():
                out.append(gold_record(json.loads(line)))
    dup = [k for k, n in Counter(g.id for g in out).items() if n > 1]
    if dup:  # predictions are matched to labels by id
        raise SystemExit(f"duplicate record ids in the labelled files: {', '.join(dup[:5])}")
    return out


def predicted(mol: Molecule) -> Predicted:
    steps = mol.steps
    return Predicted(
        sets={
            "reflection_steps": {s.index for s in steps if s.role == "reflection"},
            "reflection_links": {
                (b.source, b.target)
                for b in mol.bonds
                if b.type == "reflection" and steps[b.source].role == "reflection"
            },
            # A step can be corrected more than once ("20 bits" in R1 traces), while
            # `superseded_by` names only the first correction: read the correction steps'
            # reflection bonds instead.
            "corrections": {
                (b.source, b.target)
                for b in mol.bonds
                if b.type == "reflection" and steps[b.source].kind == "correction"
            },
            "correction_steps": {s.index for s in steps if s.kind == "correction"},
            # A check by a second method opens an alternative too (labelling guidelines).
            "exploration_steps": {
                s.index for s in steps if s.role == "exploration" or s.kind == "cross_check"
            },
        },
        bond_types={(b.source, b.target): b.type for b in mol.bonds},
    )


def read_traces(paths: Sequence[Path]) -> Iterable[Trace]:
    """Every labelled trace; a record the reader refuses is named on stderr and then
    scored as predicting nothing (its labels still count), never dropped silently."""
    for path in paths:
        for _line, item in iter_traces(str(path)):
            if isinstance(item, InputError):
                print(f"unreadable labelled record: {item}", file=sys.stderr)
                continue
            yield item


def predict(backend: str, paths: Sequence[Path]) -> dict[str, Predicted]:
    analyzer = Analyzer(AnalyzeConfig.model_validate({"backend": backend}))
    traces = list(analyzer.screen((0, t) for t in read_traces(paths)))
    out: dict[str, Predicted] = {}
    for _, item in traces:
        if isinstance(item, InputError):
            print(f"labelled record over the bounds: {item}", file=sys.stderr)
            continue
        out[item.id or ""] = predicted(analyzer.analyze(item))
    return out


def in_group(g: Gold, group: str) -> bool:
    """`group`: a split ("tune", "holdout", "all"), or "long:", "written:" or "public:"
    and a split, or "written" / "public" for all of theirs."""
    subset, _, split = group.partition(":") if ":" in group else ("", "", group)
    if group in ("written", "public"):
        subset, split = group, "all"
    if subset in ("written", "public") and g.written != (subset == "written"):
        return False
    return (subset != "long" or g.long) and split in ("all", g.split)


def _set_scores(key: str, golds: list[Gold], preds: dict[str, Predicted]) -> dict:
    gold_all: set = set()
    pred_all: set = set()
    unjudged = 0
    for g in golds:
        mine = preds[g.id].sets[key] if g.id in preds else set()
        if key.startswith("correction") and not g.judges_corrections:
            unjudged += len(mine)
            continue
        gold_all |= {(g.id, x) for x in g.sets[key]}
        pred_all |= {(g.id, x) for x in mine}
    p, r, f = precision_recall(pred_all, gold_all)
    out = {"precision": p, "recall": r, "f1": f, "gold": len(gold_all), "predicted": len(pred_all)}
    if key.startswith("correction"):
        out["unjudged_predicted"] = unjudged
    return out


def _deduction_scores(golds: list[Gold], preds: dict[str, Predicted]) -> dict:
    """Share of labelled deduction links typed strong_logic, and what the others got."""
    types: Counter[str] = Counter()
    for g in golds:
        bonds = preds[g.id].bond_types if g.id in preds else {}
        types.update(bonds.get(link, NO_BOND) for link in g.deduction)
    n = sum(types.values())
    return {
        "agreement": types["strong_logic"] / n if n else None,
        "gold": n,
        "types": {t: types[t] for t in ("strong_logic", "reflection", "exploratory", NO_BOND)},
    }


def score(golds: list[Gold], preds: dict[str, Predicted]) -> dict[str, dict]:
    """Every metric over `golds` (one group of records)."""
    out: dict[str, dict] = {key: _set_scores(key, golds, preds) for key in SET_METRICS}
    out["deduction_links"] = _deduction_scores(golds, preds)
    out["records"] = {"n": len(golds), "analysed": sum(g.id in preds for g in golds)}
    return out


def evaluate_groups(backend: str, paths: Sequence[Path] = (LABELLED,)) -> dict[str, dict]:
    """Metrics per group (tune, holdout, all, long:tune, long:holdout, long:all)."""
    golds, preds = read_gold(paths), predict(backend, paths)
    return {grp: score([g for g in golds if in_group(g, grp)], preds) for grp in GROUPS}


def evaluate(backend: str, paths: Sequence[Path] = (LABELLED,)) -> dict[str, dict]:
    """Metrics over every record (the "all" group)."""
    golds, preds = read_gold(paths), predict(backend, paths)
    return score(golds, preds)


def link_auroc(depth: tuple[float, float], paths: Sequence[Path] = (LABELLED,)) -> float:
    """Attention energy of labelled (reflection step, checked step) pairs against the same
    reflection step's other earlier steps."""
    reader = Analyzer(AnalyzeConfig.model_validate({"attention": {"depth": depth}})).reader
    gold = {g.id: g for g in read_gold(paths)}
    scores: list[float] = []
    labels: list[bool] = []
    for trace in read_traces(paths):
        # The pipeline's own step location, so spans match what `analyze` reads.
        text, spans = _steps(trace, AnalyzeConfig())
        energy = reader.read(trace.question, text, spans).energy
        for j, tgt in gold[trace.id or ""].sets["reflection_links"]:
            for i in range(j):
                if not np.isnan(energy[j, i]):
                    scores.append(float(energy[j, i]))
                    labels.append(i == tgt)
    return auroc(scores, labels)


def _cell(m: dict) -> str:
    if "agreement" in m:
        return "–" if m["agreement"] is None else f"{m['agreement']:.2f} ({m['gold']})"
    if not m["gold"] and not m["predicted"]:
        return "–"
    return f"{m['precision']:.2f} / {m['recall']:.2f} ({m['gold']})"


def table(backend: str, groups: dict[str, dict]) -> str:
    """Markdown: one row per metric, one column per group; P / R (gold count), or the
    deduction agreement (gold links)."""
    head = " | ".join(f"{g} (n={groups[g]['records']['n']})" for g in GROUPS)
    rows = [f"| {backend} | {head} |", "|---" * (len(GROUPS) + 1) + "|"]
    for key in (*SET_METRICS, "deduction_links"):
        rows.append(f"| {key} | " + " | ".join(_cell(groups[g][key]) for g in GROUPS) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="lexical,model")
    ap.add_argument(
        "--depths", default="0-1,0.4-0.8,0.55-0.58", help="layer-depth ranges lo-hi; '' skips"
    )
    ap.add_argument("--labelled", type=Path, nargs="+", default=[LABELLED])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result: dict = {}
    for backend in filter(None, args.backends.split(",")):
        result[backend] = groups = evaluate_groups(backend, args.labelled)
        print(table(backend, groups))
        unjudged = groups["all"]["corrections"]["unjudged_predicted"]
        types = groups["all"]["deduction_links"]["types"]
        print(f"({unjudged} corrections predicted in records without correction labels; "
              "labelled deduction links, all records, typed: "
              + ", ".join(f"{t} {n}" for t, n in types.items()) + ")\n")  # fmt: skip
    for spec in filter(None, args.depths.split(",")):
        lo, hi = (float(x) for x in spec.split("-"))
        value = link_auroc((lo, hi), args.labelled)
        result.setdefault("attention_link_auroc", {})[spec] = value
        print(f"attention link AUROC, layer depth {lo}-{hi}: {value:.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
