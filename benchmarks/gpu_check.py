"""GPU check of the bond loss at real scale: CE-only vs CE + α·L_bond training steps.

Student: a random-init Llama of SmolLM2-360M's shape (32 layers, 960 wide, 15 query / 5 KV
heads, MLP 2560, vocabulary 49,152) or SmolLM2-1.7B's (24 layers, 2048 wide, 32 / 32
heads, MLP 8192); weights do not change the step's cost. SDPA attention, bf16 autocast
over float32 weights (`--precision fp32` turns it off), AdamW. For each sequence length
and each activation-checkpointing setting, one batch of random token ids cut into
`--step-tokens`-token steps (the first `--prompt` tokens in no step) and a synthetic
teacher (B, S, S) energy matrix (random, strictly lower triangle) run full training steps
(forward, backward, optimizer), alternating the arms after one warm-up of each:
- ce: CE only;
- bond: CE + α·bond_attention_loss, the step attention captured by
  `StepAttentionCollector` (default layers: relative depth 0.55-0.58, all heads).
Per arm: median step time over --repeats, and on CUDA `torch.cuda.max_memory_allocated`
of its steps (peak memory stats reset before each step). The learning rate is 0 by
default, so every step sees the same weights and each arm's CE / L_bond must agree with
checkpointing on and off (`max_delta`), a correctness check at full size. A CUDA
out-of-memory error is recorded as "oom" for that arm and the run goes on.

    python benchmarks/gpu_check.py --size 360m --length 4096,8192 --json out/gpu_check_360m.json
    python benchmarks/gpu_check.py --size 1.7b --length 4096,8192 --json out/gpu_check_1.7b.json
    python benchmarks/gpu_check.py --device cpu --size tiny --length 256   # smoke run, no GPU
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch

SIZES: dict[str, dict[str, Any]] = {
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, intermediate_size=128, vocab_size=512),
    "360m": dict(hidden_size=960, num_hidden_layers=32, num_attention_heads=15,
                 num_key_value_heads=5, intermediate_size=2560, vocab_size=49152),
    "1.7b": dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=32,
                 num_key_value_heads=32, intermediate_size=8192, vocab_size=49152),
}  # fmt: skip


def student(size: str, max_len: int, device: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(**SIZES[size], max_position_embeddings=max(max_len, 2048),
                      tie_word_embeddings=True, use_cache=False,
                      attn_implementation="sdpa")  # fmt: skip
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(cfg)
    return model.train()


def synthetic_batch(vocab: int, batch: int, length: int, step_tokens: int, prompt: int):
    """(ids (B, T), token_steps (B, T), teacher energy (B, S, S))."""
    g = torch.Generator().manual_seed(length)
    ids = torch.randint(0, vocab, (batch, length), generator=g)
    pos = torch.arange(length)
    steps = torch.where(pos < prompt, -1, (pos - prompt) // step_tokens).expand(batch, length)
    s = int(steps.max()) + 1
    energy = torch.rand(batch, s, s, generator=g).tril(-1)
    return ids, steps.contiguous(), energy


def train_step(model, opt, ids, autocast: bool, alpha: float, bond=None) -> tuple[float, float]:
    """One optimizer step; `bond` = (collector, steps, energy) adds α·L_bond. (ce, bond)."""
    from bondkd.distill.loss import bond_attention_loss

    amp = torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=autocast)
    if bond is None:
        with amp:
            ce = model(input_ids=ids, labels=ids).loss
        loss, value = ce, torch.zeros(())
    else:
        collector, steps, energy = bond
        with amp, collector.capture(steps, n_steps=energy.shape[-1]) as cap:
            ce = model(input_ids=ids, labels=ids).loss
        attn, mask = cap.result()
        value = bond_attention_loss(attn, energy, mask)
        loss = ce + alpha * value
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(ce.detach()), float(value.detach())


def measure(fn: Callable[[], tuple[float, float]], device: str) -> tuple[float, int | None, Any]:
    """(seconds, peak bytes on CUDA or None, what fn returned)."""
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    out = fn()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0, torch.cuda.max_memory_allocated() if cuda else None, out


def is_oom(e: BaseException) -> bool:
    return isinstance(e, torch.cuda.OutOfMemoryError) or "out of memory" in str(e).lower()


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bondkd.distill.student import StepAttentionCollector

    device = args.device
    lengths = [int(x) for x in str(args.length).split(",")]
    settings = {"off": False, "on": True}
    gcs = [settings[x] for x in args.gc.split(",")]
    model = student(args.size, max(lengths), device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    layers = [int(x) for x in args.read_layers.split(",")] if args.read_layers else None
    collector = StepAttentionCollector(model, layers=layers)
    autocast = args.precision == "bf16"
    rows = []
    for length in lengths:
        ids, steps, energy = synthetic_batch(
            SIZES[args.size]["vocab_size"], args.batch, length, args.step_tokens, args.prompt
        )
        ids, energy = ids.to(device), energy.to(device)
        by_gc: dict[bool, dict[str, Any]] = {}
        for gc in gcs:
            if gc:
                model.activation_checkpointing_enable()
            else:
                model.activation_checkpointing_disable()
            ce_step = partial(train_step, model, opt, ids, autocast, args.alpha)
            arms: dict[str, Callable[[], tuple[float, float]]] = {
                "ce": ce_step,
                "bond": partial(ce_step, bond=(collector, steps, energy)),
            }
            times: dict[str, list[float]] = {a: [] for a in arms}
            peaks: dict[str, list[int]] = {a: [] for a in arms}
            values: dict[str, tuple[float, float]] = {}
            failed: dict[str, str] = {}
            for k in range(args.warmup + args.repeats):
                for arm, fn in arms.items():
                    if arm in failed:
                        continue
                    try:
                        sec, peak, values[arm] = measure(fn, device)
                    except RuntimeError as e:
                        if not is_oom(e):
                            raise
                        failed[arm] = "oom"
                        opt.zero_grad(set_to_none=True)
                        if device.startswith("cuda"):
                            torch.cuda.empty_cache()
                        continue
                    if k >= args.warmup:
                        times[arm].append(sec)
                        if peak is not None:
                            peaks[arm].append(peak)
            row: dict[str, Any] = {"length": length, "checkpointing": gc, "size": args.size,
                                   "batch": args.batch, "steps": int(energy.shape[-1]),
                                   "read_layers": collector.layers, "precision": args.precision}  # fmt: skip
            for arm in arms:
                if arm in failed:
                    row[f"{arm}_step_s"] = row[f"{arm}_peak_mib"] = failed[arm]
                    continue
                row[f"{arm}_step_s"] = round(statistics.median(times[arm]), 4)
                row[f"{arm}_peak_mib"] = round(max(peaks[arm]) / 2**20) if peaks[arm] else None
                row[f"{arm}_ce"] = values[arm][0]
                if arm == "bond":
                    row["bond_bond"] = values[arm][1]
                if not all(math.isfinite(v) for v in values[arm]):
                    raise SystemExit(f"non-finite loss {values[arm]} in {row}")
            if not failed:
                row["ratio"] = round(row["bond_step_s"] / row["ce_step_s"], 3)
            by_gc[gc] = row
            rows.append(row)
            print(json.dumps(row), flush=True)
        if len(by_gc) == 2 and args.lr == 0 and all("bond_ce" in r for r in by_gc.values()):
            off, on = by_gc[False], by_gc[True]
            delta = max(abs(off[k] - on[k]) for k in ("ce_ce", "bond_ce", "bond_bond"))
            on["max_delta_vs_no_checkpointing"] = delta
            print(json.dumps({"length": length, "max_delta_vs_no_checkpointing": delta}))
    model.activation_checkpointing_disable()
    return rows


def environment(device: str) -> dict[str, Any]:
    import transformers

    env = {"torch": torch.__version__, "transformers": transformers.__version__,
           "python": platform.python_version(), "device": device,
           "threads": torch.get_num_threads()}  # fmt: skip
    if device.startswith("cuda"):
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return env


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", choices=sorted(SIZES), default="360m")
    ap.add_argument("--length", default="4096,8192", help="Sequence lengths, comma-separated.")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--step-tokens", type=int, default=64, help="Tokens per reasoning step.")
    ap.add_argument("--prompt", type=int, default=32, help="Leading tokens in no step.")
    ap.add_argument("--gc", default="off,on", help="Activation checkpointing arms: off,on.")
    ap.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    ap.add_argument("--read-layers", default="", help="Collector layers (default mid-depth).")
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=0.0, help="0: weights fixed, arms comparable.")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default).")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"environment": environment(args.device), "args": vars(args) | {"json": str(args.json)},
               "rows": rows}  # fmt: skip
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
