"""Which layers' step attention carries the bonds: per-layer agreement with labelled links.

The packaged SmolLM2 reads every trace once with all 30 layers (`StepAttentionReader.
read_layers`: each layer on its own, mean over its heads, windows stitched as `analyze`
does). For each layer, and for sets of layers (raw mass averaged over the set, then
normalised as the reader does), three rankings are scored by AUROC: for each labelled
later step j, its labelled earlier step(s) against j's other earlier steps, by energy[j, i]:

- reflection: `datasets/labelled.jsonl` reflection links (the step a check checks);
- deduction: `datasets/labelled.jsonl` deduction links (the steps a deduction uses);
- depends_on: `../shared/data/longcot/thought_anchors.dev.jsonl` chunk dependencies (long
  R1-distill traces, labelled by an LLM).

`mean` is the mean of the three. The read before issue 22 (depth 0.4-0.8, layers 12-24)
is the reference, beside today's default (`AttentionConfig().depth`). The script then
grows a set greedily (each round adds the layer that raises `mean` most on the labelled
"tune" part plus thought_anchors) and prints every set's scores on tune and on the
labelled holdout, so a set chosen on tune is checked on traces it never saw. Last, the
labelled set's pipeline measures (`benchmarks/labelled.py`, model backend: deduction-link
bond-type agreement, reflection-link F1) run with the attention component read from the
earlier default and from each single layer whose tune mean reaches the earlier
default's; the one with the highest tune agreement is chosen, and its holdout columns
check the choice. Per-trace maps are cached (--cache) so re-scoring needs no model.

    python benchmarks/layers.py --cache out/layers_cache.pkl --json out/layers.json
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from bondkd.config import AnalyzeConfig, AttentionConfig
from bondkd.energy.attention import StepAttention, StepAttentionReader, normalise
from bondkd.energy.engine import depth_layers
from bondkd.energy.models import load_causal_lm
from bondkd.errors import InputError
from bondkd.measure.metrics import auroc
from bondkd.pipeline import Analyzer, _steps
from bondkd.read.files import iter_traces

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "datasets" / "labelled.jsonl"
ANCHORS = ROOT.parent / "shared" / "data" / "longcot" / "thought_anchors.dev.jsonl"
MEASURES = ("reflection", "deduction", "depends_on")
BEFORE = (0.4, 0.8)  # `AttentionConfig.depth` before issue 22: layers 12-24 of 30
# (trace id, measure) -> {j: [i, ...]}: the labelled earlier steps of each later step j
Gold = dict[str, dict[int, list[int]]]


def gold_links(path: Path, anchors: bool) -> dict[str, tuple[str, Gold]]:
    """id -> (part, {measure: {j: [i, ...]}}); part is "tune", "holdout" or "anchors"."""
    out: dict[str, tuple[str, Gold]] = {}
    for line in path.open(encoding="utf-8"):
        if not line.strip():
            continue
        rec = json.loads(line)
        if anchors:
            deps = rec["meta"]["depends_on"]
            links = {"depends_on": {j: [i for i in d if i < j] for j, d in enumerate(deps)}}
            out[str(rec["id"])] = ("anchors", links)
            continue
        labels = rec.get("labels", {})
        gold: Gold = {
            "reflection": {int(j): [int(i)] for j, i in labels.get("reflection", {}).items()},
            "deduction": {int(j): [int(x) for x in i] for j, i in labels.get("deduction", {}).items()},
        }  # fmt: skip
        out[str(rec["id"])] = (rec.get("split") or "tune", gold)
    return out


def read_all(paths: Sequence[Path], cache: Path | None) -> dict[str, tuple[dict, np.ndarray]]:
    """id -> ({layer: raw (S, S)}, uniform (S, S)), read once and cached."""
    maps: dict[str, tuple[dict, np.ndarray]] = {}
    if cache and cache.exists():
        maps = pickle.loads(cache.read_bytes())
    todo = [(p, t) for p in paths for t in _traces(p) if (t.id or "") not in maps]
    if todo:
        lm = load_causal_lm(AttentionConfig().model)
        reader = StepAttentionReader(lm, AttentionConfig(depth=(0.0, 1.0)))
        for k, (_, trace) in enumerate(todo):
            t0 = time.perf_counter()
            text, spans = _steps(trace, AnalyzeConfig())
            by_layer = reader.read_layers(trace.question, text, spans)
            uniform = next(iter(by_layer.values())).uniform
            maps[trace.id or ""] = ({la: a.raw for la, a in by_layer.items()}, uniform)
            print(f"[{k + 1}/{len(todo)}] {trace.id}: {len(spans)} steps, "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)  # fmt: skip
            if cache:
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_bytes(pickle.dumps(maps))
    return maps


def _traces(path: Path) -> Iterable:
    for _line, item in iter_traces(str(path)):
        if isinstance(item, InputError):
            print(f"unreadable record: {item}", file=sys.stderr)
            continue
        yield item


def scores(maps, golds, layers: Sequence[int], parts: set[str]) -> dict[str, float | None]:
    """AUROC per measure of energy from the mean raw mass over `layers`."""
    vals: dict[str, list[float]] = {m: [] for m in MEASURES}
    labs: dict[str, list[bool]] = {m: [] for m in MEASURES}
    for tid, (part, gold) in golds.items():
        if part not in parts or tid not in maps:
            continue
        raw_by_layer, uniform = maps[tid]
        energy = normalise(np.mean([raw_by_layer[la] for la in layers], axis=0), uniform)
        for measure, links in gold.items():
            for j, targets in links.items():
                if not targets or j >= len(energy):
                    continue
                for i in range(j):
                    if np.isfinite(energy[j, i]):
                        vals[measure].append(float(energy[j, i]))
                        labs[measure].append(i in targets)
    out: dict[str, float | None] = {
        m: (auroc(vals[m], labs[m]) if any(labs[m]) and not all(labs[m]) else None)
        for m in MEASURES
    }
    given = [v for v in out.values() if v is not None]
    out["mean"] = float(np.mean(given)) if given else None
    return out


class CachedReader:
    """Stands in for `StepAttentionReader` in the pipeline: the cached per-layer maps of
    each trace, averaged over `layers` and normalised as the reader does."""

    def __init__(self, maps: dict, texts: dict[tuple[str, str], str], layers: Sequence[int]):
        self.maps, self.texts, self.layers = maps, texts, list(layers)
        self.window = AttentionConfig().max_tokens
        self.lm = type("LM", (), {"model_id": "smollm2 (cached maps)"})()

    def read_batch(self, items: list) -> list[StepAttention]:
        out = []
        for question, text, _ in items:
            raw_by_layer, uniform = self.maps[self.texts[(question, text)]]
            raw = np.mean([raw_by_layer[la] for la in self.layers], axis=0)
            out.append(StepAttention(raw, normalise(raw, uniform), 1, 0, uniform=uniform))
        return out


def pipeline_scores(maps: dict, layers: Sequence[int]) -> dict:
    """`benchmarks/labelled.py`'s measures (model backend) with the attention component
    read from `layers`: bond-type agreement of the labelled deduction links, reflection
    links, corrections, exploration steps."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import labelled  # a sibling script, not a package

    analyzer = Analyzer(AnalyzeConfig.model_validate({"backend": "model"}))
    texts = {}
    traces = list(_traces(LABELLED))
    for t in traces:
        text, _ = _steps(t, AnalyzeConfig())
        texts[(t.question, text)] = t.id or ""
    analyzer._reader = CachedReader(maps, texts, layers)
    preds = {}
    for _, item in analyzer.screen((0, t) for t in traces):
        if not isinstance(item, InputError):
            preds[item.id or ""] = labelled.predicted(analyzer.analyze(item))
    golds = labelled.read_gold([LABELLED])
    out = {}
    for group in ("tune", "holdout", "all"):
        sc = labelled.score([g for g in golds if labelled.in_group(g, group)], preds)
        out[group] = {
            "deduction_agreement": sc["deduction_links"]["agreement"],
            **{f"{k}_f1": sc[k]["f1"] for k in ("reflection_links", "corrections", "exploration_steps")},
        }  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--max-set", type=int, default=6, help="largest greedy set")
    ap.add_argument(
        "--pipeline",
        type=lambda x: [int(k) for k in x.split(",") if k],
        default=[1, 2, 3],
        help="also run the labelled set's pipeline measures with the first k greedy layers",
    )
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = ap.parse_args()
    if a.threads:  # on a shared machine oversubscribed threads slow a forward many times over
        torch.set_num_threads(a.threads)
    golds = gold_links(LABELLED, anchors=False) | gold_links(ANCHORS, anchors=True)
    maps = read_all([LABELLED, ANCHORS], a.cache)
    n_layers = len(next(iter(maps.values()))[0])
    before = depth_layers(BEFORE, n_layers)
    default = depth_layers(AttentionConfig().depth, n_layers)
    tune, hold, allp = {"tune", "anchors"}, {"holdout"}, {"tune", "anchors", "holdout"}

    def row(name: str, layers: Sequence[int]) -> dict:
        r = {"set": name, "layers": list(layers)}
        for part, ps in (("tune", tune), ("holdout", hold), ("all", allp)):
            r[part] = scores(maps, golds, layers, ps)
        return r

    def show(r: dict) -> None:
        cells = " | ".join(
            f"{r[p][m]:.3f}" if r[p][m] is not None else "–"
            for p in ("tune", "holdout")
            for m in (*MEASURES, "mean")
        )
        print(f"| {r['set']} | {cells} |", flush=True)

    head = " | ".join(f"{p} {m}" for p in ("tune", "holdout") for m in (*MEASURES, "mean"))
    print(f"| layers | {head} |\n" + "|---" * 9 + "|")
    rows = [
        row(f"before {before[0]}-{before[-1]}", before),
        row("default " + ",".join(map(str, default)), default),
        row("all", range(n_layers)),
    ]
    for r in rows:
        show(r)
    for layer in range(n_layers):
        rows.append(row(str(layer), [layer]))
        show(rows[-1])
    chosen: list[int] = []
    order: list[int] = []  # the greedy picks, first pick first
    for _ in range(a.max_set):
        best = max(
            (la for la in range(n_layers) if la not in chosen),
            key=lambda la: scores(maps, golds, [*chosen, la], tune)["mean"] or 0.0,
        )
        order.append(best)
        chosen = sorted(order)
        rows.append(row("greedy " + ",".join(map(str, chosen)), chosen))
        show(rows[-1])
    # The default: among single layers whose tune mean is at least the earlier read's,
    # the one whose pipeline types the most labelled tune deduction links strong_logic
    # (the attention component only breaks ties there, so the AUROCs alone do not decide).
    result: dict = {"rows": rows, "pipeline": {}}
    floor = scores(maps, golds, before, tune)["mean"] or 0.0
    single = [r for r in rows if r["set"].isdigit() and (r["tune"]["mean"] or 0.0) >= floor]
    sets = [("before", before)] + [(f"layer {r['set']}", r["layers"]) for r in single]
    for name, layers in sets:
        sc = pipeline_scores(maps, sorted(layers))
        result["pipeline"][name] = {"layers": sorted(layers), **sc}
        cells = " | ".join(
            f"{sc[p]['deduction_agreement']:.4f} | {sc[p]['reflection_links_f1']:.3f}"
            for p in ("tune", "holdout", "all")
        )
        print(f"| pipeline {name} | {cells} |", flush=True)
    best = max((n for n, _ in sets[1:]), default=None,
               key=lambda n: result["pipeline"][n]["tune"]["deduction_agreement"])  # fmt: skip
    result["chosen"] = best
    print(f"chosen: {best} (today's default: {default})")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
