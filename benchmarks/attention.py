"""Time and memory of step attention: bare SDPA forward vs bondkd's engine vs eager maps.

For each length T (tokens, BOS included) the packaged SmolLM2 reads a question and a
synthetic reasoning trace (varied English arithmetic sentences, cut to T tokens, split
into steps by `bondkd.steps.segment.segment`, tokens mapped to steps as the reader does):

- forward_s: `model.model(ids, use_cache=False)` with attn_implementation "sdpa" under
  torch.inference_mode(): the transformer body, no LM head, no KV cache;
- engine_s: the same forward inside `bondkd.energy.engine.capture`, called exactly as
  `StepAttentionReader._forward` calls it (stop_early=True, per_head=False, the reader's
  layers/heads/chunk), plus `summed()`. Same token ids, tokenisation not timed. Configs:
  "default" = AttentionConfig() (one layer, depth 0.55-0.58, all heads; the forward stops
  after the last one) and "all" = AttentionConfig(depth=(0, 1));
- depth_s: the bare forward cut at the same depth as the engine's (a forward hook stops it
  after the last layer read), so that stopping early does not hide the engine's own cost;
- naive_s: eager attention with output_attentions=True (all L layers' (H, T, T) maps held
  at once), then the tests' reference reduction (tests/test_attention.py `eager_raw`:
  segment-sum over keys then queries, float64) for the config's layers/heads, with the
  segment sum done by index_add_ (the tests' loop-and-mask version is O(S) passes).
  Skipped (null, see naive_note) when L·H·T²·4 bytes exceeds --naive-max-gib;
- max_abs_diff: max |engine - naive| of the raw step attention (mean over selected layers
  and heads and over the query tokens of step j, as in `StepAttention.raw`).

Each measurement runs in a fresh subprocess (this file with --worker), so peak RSS
(ru_maxrss, MiB) is its own; it includes the model load: baseline_rss_mib is the
forward worker's peak after loading and a 64-token warm-up.
forward is config-independent and measured once per length. Times are the minimum over
--repeats runs after a 64-token warm-up. Rows are rewritten to --json after each one.
On a shared machine pass --threads below the free cores: oversubscribed OpenMP threads
made a 256-token forward 12x slower (8.5 s vs 0.7 s with 2 threads vs 1 on 2 busy cores),
and --interleave: the three timed arms (forward, depth, engine) then take turns in one
worker process, so load from other processes hits them alike (no naive arm, and one peak
RSS for the worker).

    python benchmarks/attention.py --lengths 512,2048,8192,16384,32768 --json OUT.json
    python benchmarks/attention.py --lengths 256,512 --repeats 1 --threads 1
    python benchmarks/attention.py --interleave --configs default --threads 1 --json OUT.json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

QUESTION = "A depot ships crates of parts every day. What is the running total after all steps?"
CONFIGS = {"default": {}, "all": {"depth": (0.0, 1.0)}}


def reasoning_text(n_chars: int, seed: int = 0) -> str:
    """Deterministic varied reasoning prose of at least n_chars characters."""
    rng = random.Random(seed)
    out: list[str] = []
    total, k, size = 0, 1, 0
    while size < n_chars:
        a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(1, 500)
        j = rng.randint(1, k)
        kind = rng.randrange(6)
        if kind == 0:
            total += a * b
            s = f"Step {k}: {a} × {b} = {a * b}, so the running total becomes {total}."
        elif kind == 1:
            total -= c
            s = f"Next, {c} crates are returned, which leaves {total} in the depot."
        elif kind == 2:
            s = f"Wait, let me check step {j} again: {a} × {b} is {a * b}, so that part holds."
        elif kind == 3:
            s = f"Alternatively, split {a} into {a // 2} and {a - a // 2} and add the parts."
        elif kind == 4:
            s = f"Hmm, I think the {c} extra parts from day {j} were already counted."
        else:
            s = f"Therefore, after {k} steps the total stands at {total} crates."
        out.append(s + ("\n" if rng.random() < 0.2 else " "))
        size += len(out[-1])
        k += 1
    return "".join(out).strip()


def build_inputs(lm, n_tokens: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(1, T) ids, (1, T) step per token (-1: BOS, question, separators) and S."""
    from bondkd.config import SegmentConfig
    from bondkd.energy.attention import token_steps
    from bondkd.steps.segment import segment

    tok = lm.tokenizer
    prefix = QUESTION + "\n\n"
    n_chars = 5 * n_tokens
    while True:
        reasoning = reasoning_text(n_chars)
        text = prefix + reasoning
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        if len(enc["input_ids"]) + 1 >= n_tokens:
            break
        n_chars *= 2
    spans = segment(reasoning, SegmentConfig())
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    steps = token_steps(offsets, spans, len(prefix), len(text))[: n_tokens - 1]
    bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    ids = [bos, *enc["input_ids"][: n_tokens - 1]]
    steps = np.concatenate([[-1], steps])
    kept, inverse = np.unique(steps[steps >= 0], return_inverse=True)
    local = np.full(len(steps), -1, dtype=np.int64)
    local[steps >= 0] = inverse  # steps present, renumbered 0..S-1 as the reader does
    return torch.tensor([ids]), torch.from_numpy(local)[None], len(kept)


def run_forward(model, ids, steps, n, layers, heads, chunk):
    with torch.inference_mode():
        model.model(input_ids=ids, use_cache=False)


class _Cut(Exception):
    pass


def run_depth(model, ids, steps, n, layers, heads, chunk):
    def stop(*_):
        raise _Cut

    hook = model.model.layers[max(layers)].register_forward_hook(stop)
    try:
        with torch.inference_mode():
            model.model(input_ids=ids, use_cache=False)
    except _Cut:
        pass
    finally:
        hook.remove()


def run_engine(model, ids, steps, n, layers, heads, chunk) -> np.ndarray:
    from bondkd.energy.engine import capture

    with (
        torch.inference_mode(),
        capture(model, steps, n, layers, heads, chunk, stop_early=True, per_head=False) as cap,
    ):
        model.model(input_ids=ids, use_cache=False)
    return cap.summed()[0].cpu().numpy()  # (S, S) summed over selected layers and heads


def run_naive(model, ids, steps, n, layers, heads, chunk) -> np.ndarray:
    model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            att = model.model(input_ids=ids, use_cache=False, output_attentions=True).attentions
    finally:
        model.set_attn_implementation("sdpa")
    seg = torch.where(steps[0] >= 0, steps[0], n)  # bucket n: tokens in no step
    total = torch.zeros((n + 1, n + 1), dtype=torch.float64)
    for layer in layers:
        a = att[layer][0] if heads is None else att[layer][0, heads]
        a = a.double().cpu()  # (H, T, T)
        by_key = a.new_zeros((a.shape[0], a.shape[1], n + 1)).index_add_(2, seg, a)
        both = by_key.new_zeros((a.shape[0], n + 1, n + 1)).index_add_(1, seg, by_key)
        total += both.sum(dim=0)  # [j, i]: queries of step j onto keys of step i
    return total[:n, :n].cpu().numpy()


RUNS = {"forward": run_forward, "depth": run_depth, "engine": run_engine, "naive": run_naive}
ARMS = ("forward", "depth", "engine")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def worker(a: argparse.Namespace) -> None:
    from bondkd.config import AttentionConfig
    from bondkd.energy.attention import StepAttentionReader
    from bondkd.energy.models import load_causal_lm

    if a.threads:
        torch.set_num_threads(a.threads)
    lm = load_causal_lm("smollm2", device=a.device, dtype=a.dtype)
    model = lm.model
    model.set_attn_implementation("sdpa")
    ids, steps, n = build_inputs(lm, a.tokens)
    ids = ids.to(a.device)

    def sync() -> None:  # CUDA runs asynchronously: time whole kernels
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    cfg = AttentionConfig(dtype=a.dtype, max_tokens=max(64, a.tokens), **CONFIGS[a.config])
    reader = StepAttentionReader(lm, cfg)  # only for its layer / head selection
    layers, heads = reader.layers, reader.heads
    # "interleaved": forward, depth and engine take turns in one process, so a load
    # spike on a shared machine hits all three arms alike.
    arms = ARMS if a.worker == "interleaved" else (a.worker,)
    w_n = max(1, int(steps[:, :64].max()) + 1)
    for arm in arms:  # warm-up
        RUNS[arm](model, ids[:, :64], steps[:, :64], w_n, layers, heads, cfg.chunk)
    baseline = peak_mib()  # load, inputs, warm-up: safetensors pages are touched lazily
    by_arm: dict[str, list[float]] = {arm: [] for arm in arms}
    mass = None
    for _ in range(a.repeats):
        for arm in arms:
            sync()
            t0 = time.perf_counter()
            got = RUNS[arm](model, ids, steps, n, layers, heads, cfg.chunk)
            sync()
            by_arm[arm].append(time.perf_counter() - t0)
            mass = got if arm == arms[-1] else mass
    times = by_arm[arms[-1]]
    n_heads = reader.n_heads if heads is None else len(heads)
    if a.raw_out and mass is not None:
        count = np.bincount(steps[0][steps[0] >= 0].numpy(), minlength=n).astype(np.float64)
        np.save(a.raw_out, mass / (len(layers) * n_heads) / np.maximum(count, 1.0)[:, None])
    res = {
        "s": min(times),
        "times": times,
        "by_arm": {arm: min(t) for arm, t in by_arm.items()},
        "peak_rss_mib": round(peak_mib(), 1),
        "baseline_rss_mib": round(baseline, 1),
        "threads": torch.get_num_threads(),
        "steps": n,
        "layers": len(layers),
        "layer_ids": list(layers),
        "heads": n_heads,
        "chunk": cfg.chunk,
        "n_layers_model": reader.n_layers,
        "n_ctx": lm.n_ctx,
        "reader_window": reader.window,
    }
    print("RESULT " + json.dumps(res), flush=True)


def measure(kind: str, tokens: int, config: str, a, repeats: int, raw_out: str | None):
    """Worker result dict, or a string saying why there is none."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind]
    cmd += ["--tokens", str(tokens), "--config", config, "--repeats", str(repeats)]
    cmd += ["--dtype", a.dtype, "--device", a.device]
    cmd += ["--threads", str(a.threads)] if a.threads else []
    cmd += ["--raw-out", raw_out] if raw_out else []
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
    except subprocess.TimeoutExpired:
        return f"timeout: over {a.timeout} s"
    lines = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        err = (p.stderr.strip().splitlines() or ["no output"])[-1]
        why = ", killed: out of memory?" if p.returncode < 0 else ""
        return f"failed (rc {p.returncode}{why}): {err}"
    return json.loads(lines[-1][len("RESULT ") :])


def fmt(x, spec: str) -> str:
    width = int("".join(c for c in spec.split(".")[0] if c.isdigit()) or 0)
    return "-".rjust(width) if x is None else format(x, spec)


def save(rows: list[dict], path: Path | None) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        part.replace(path)  # readers never see a half-written list


def bench(tokens: int, config: str, a, repeats: int, fwd, tmp: str) -> dict:
    """One row: the engine and naive runs for (tokens, config); `fwd` is shared per length."""
    eng_raw, nai_raw = f"{tmp}/engine-{tokens}-{config}.npy", f"{tmp}/naive-{tokens}-{config}.npy"
    eng = measure("engine", tokens, config, a, repeats, eng_raw)
    dep = measure("depth", tokens, config, a, repeats, None)
    f, e, d_ = (r if isinstance(r, dict) else {} for r in (fwd, eng, dep))
    base = e or f
    n_layers = base.get("n_layers_model", 30)
    need_gib = n_layers * base.get("heads", 9) * tokens**2 * 4 / 2**30
    nai, naive_note, diff = {}, None, None
    if need_gib > a.naive_max_gib:
        naive_note = (
            f"skipped: eager keeps all {n_layers} (H, T, T) maps, L·H·T²·4 = "
            f"{need_gib:.1f} GiB > {a.naive_max_gib:g} GiB (--naive-max-gib)"
        )
    else:
        res = measure("naive", tokens, config, a, repeats, nai_raw)
        nai, naive_note = (res, None) if isinstance(res, dict) else ({}, res)
    if nai and e:
        d = np.abs(np.load(eng_raw) - np.load(nai_raw))
        diff = float(np.nanmax(d)) if np.isfinite(d).any() else None
    runs = (("forward", fwd), ("engine", eng), ("depth", dep))
    notes = [f"{k} {r}" for k, r in runs if isinstance(r, str)]
    n_ctx = base.get("n_ctx")
    if n_ctx and tokens > n_ctx:
        notes.append(
            f"tokens > n_ctx {n_ctx}: positions past the trained context (RoPE runs; timing "
            "only, values not meaningful); StepAttentionReader would read windows of n_ctx"
        )
    return dict(
        tokens=tokens, config=config, forward_s=f.get("s"), engine_s=e.get("s"),
        depth_s=d_.get("s"), last_layer=max(e.get("layer_ids") or [-1]),
        naive_s=nai.get("s"), forward_peak_rss_mib=f.get("peak_rss_mib"),
        engine_peak_rss_mib=e.get("peak_rss_mib"), naive_peak_rss_mib=nai.get("peak_rss_mib"),
        max_abs_diff=diff, threads=base.get("threads"), dtype=a.dtype, steps=base.get("steps"),
        layers=e.get("layers"), heads=e.get("heads"), chunk=e.get("chunk"), repeats=repeats,
        naive_note=naive_note, baseline_rss_mib=f.get("baseline_rss_mib"), n_ctx=n_ctx,
        times=dict(forward=f.get("times"), engine=e.get("times"), depth=d_.get("times"),
                   naive=nai.get("times")),
        note="; ".join(notes) or None,
    )  # fmt: skip


def interleaved(a, configs: list[str]) -> None:
    """--interleave: per length and config one worker times the three arms in turns;
    its peak RSS covers all three (the engine's own is at most that)."""
    rows = []
    print("tokens  config     S    fwd_s  depth_s  engine_s  eng/fwd  eng/depth  peak_MiB  note")
    for tokens in [int(x) for x in a.lengths.split(",") if x.strip()]:
        repeats = a.repeats or (3 if tokens <= 4096 else 1)
        for config in configs:
            r = measure("interleaved", tokens, config, a, repeats, None)
            if isinstance(r, str):
                print(f"{tokens:>6} {config:>7}  {r}", flush=True)
                continue
            t = r["by_arm"]
            row = dict(tokens=tokens, config=config, forward_s=t["forward"], depth_s=t["depth"],
                       engine_s=t["engine"], engine_over_forward=t["engine"] / t["forward"],
                       engine_over_depth=t["engine"] / t["depth"], peak_rss_mib=r["peak_rss_mib"],
                       steps=r["steps"], layers=r["layer_ids"], repeats=repeats,
                       threads=r["threads"], dtype=a.dtype)  # fmt: skip
            rows.append(row)
            save(rows, a.json)
            print(f"{tokens:>6} {config:>7} {r['steps']:>5} {t['forward']:8.3f} {t['depth']:8.3f} "
                  f"{t['engine']:9.3f} {row['engine_over_forward']:8.2f} "
                  f"{row['engine_over_depth']:10.2f} {r['peak_rss_mib']:9.0f}  "
                  f"layers {r['layer_ids']}", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="512,2048,8192,16384,32768")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--repeats", type=int, help="default: 3 up to 4096 tokens, else 1")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument(
        "--device", default="cpu", help="torch device, e.g. cuda (not run on a GPU yet)"
    )
    ap.add_argument("--configs", default="default,all")
    ap.add_argument("--naive-max-gib", type=float, default=12.0)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per measurement")
    ap.add_argument(
        "--interleave",
        action="store_true",
        help="time forward, depth and engine in one process, taking turns (a shared machine)",
    )
    ap.add_argument("--worker", choices=[*RUNS, "interleaved"], help=argparse.SUPPRESS)
    ap.add_argument("--tokens", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--config", default="default", help=argparse.SUPPRESS)
    ap.add_argument("--raw-out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        a.repeats = a.repeats or 1
        return worker(a)
    configs = [c.strip() for c in a.configs.split(",") if c.strip()]
    if any(c not in CONFIGS for c in configs):
        ap.error(f"unknown config in {configs}; choose from {list(CONFIGS)}")
    if a.interleave:
        return interleaved(a, configs)
    rows: list[dict] = []
    tmp = tempfile.mkdtemp(prefix="bondkd-attn-bench-")
    print(
        "tokens  config     S    fwd_s  depth_s  engine_s  naive_s  fwd_MiB  eng_MiB  nai_MiB"
        "  max_diff  note"
    )
    for tokens in [int(x) for x in a.lengths.split(",") if x.strip()]:
        repeats = a.repeats or (3 if tokens <= 4096 else 1)
        fwd = measure("forward", tokens, "default", a, repeats, None)
        for config in configs:
            r = bench(tokens, config, a, repeats, fwd, tmp)
            rows.append(r)
            save(rows, a.json)
            keys = ["steps", "forward_s", "depth_s", "engine_s", "naive_s"]
            keys += ["forward_peak_rss_mib", "engine_peak_rss_mib", "naive_peak_rss_mib"]
            keys += ["max_abs_diff"]
            specs = [">5", "8.3f", "8.3f", "9.3f", "8.3f", "8.0f", "8.0f", "8.0f", "9.2e"]
            vals = " ".join(fmt(r[k], s) for k, s in zip(keys, specs, strict=True))
            note = "; ".join(x for x in (r["naive_note"], r["note"]) if x)
            print(f"{tokens:>6} {config:>7} {vals}  {note}", flush=True)
    print("\nengine_s / forward_s, engine_s / depth_s (the bare forward cut at the same depth):")
    for r in rows:
        ratio = r["engine_s"] / r["forward_s"] if r["engine_s"] and r["forward_s"] else None
        same = r["engine_s"] / r["depth_s"] if r["engine_s"] and r["depth_s"] else None
        what = f"{r['tokens']:>6} {r['config']:>7} ({r['layers']} layers x {r['heads']} heads"
        what += f", last {r['last_layer']})"
        print(f"  {what}: {fmt(ratio, '.2f')}  {fmt(same, '.2f')}")


if __name__ == "__main__":
    main()
