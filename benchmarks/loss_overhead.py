"""Training-step cost of the structural loss: CE only vs CE + α·L_bond, side by side.

Student: a random-init Llama with SmolLM2-135M's shape (30 layers, 576 wide, 9 query /
3 KV heads, 49,152 vocabulary; weights cannot be downloaded here, and the step cost does
not depend on them), SDPA attention, AdamW. For each sequence length the same batch of
random token ids split into 16 steps runs a full training step (forward, backward,
optimizer) twice per repeat, alternating the arms:
- ce_step_s: CE loss only;
- bond_step_s: CE + 0.1·bond_attention_loss, the step attention collected by
  `StepAttentionCollector` on the default layers (relative depth 0.55-0.58: layer 17), all heads.
Times are the median over --repeats after one warm-up of each arm.

    python benchmarks/loss_overhead.py --json out/loss_overhead.json [--threads 1]
    # the recipe's student: 4 layers, LoRA rank 16, batch 4 of 192 tokens
    python benchmarks/loss_overhead.py --layers 4 --lora 16 --batch 4 --tokens 192
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from pathlib import Path

import torch


def student(layers: int = 30, lora: int = 0):
    """SmolLM2-135M's shape with `layers` layers; lora > 0: frozen, with rank-`lora` LoRA
    adapters on every attention and MLP projection (the recipe's student)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=layers,
                      num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                      max_position_embeddings=8192, tie_word_embeddings=True,
                      attn_implementation="sdpa")  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    if lora:
        from bondkd.distill.recipe import add_lora

        model = add_lora(model, lora)
    return model


def train_step(model, opt, ids, bond=None) -> None:
    """One optimizer step on CE, plus 0.1 * L_bond when `bond` = (collector, steps, energy)."""
    from bondkd.distill.loss import bond_attention_loss

    if bond is None:
        loss = model(input_ids=ids, labels=ids).loss
    else:
        collector, steps, energy = bond
        with collector.capture(steps) as cap:
            out = model(input_ids=ids, labels=ids)
        attn, mask = cap.result()
        loss = out.loss + 0.1 * bond_attention_loss(attn, energy, mask)
    opt.zero_grad()
    loss.backward()
    opt.step()


def main() -> None:
    from bondkd.distill.student import StepAttentionCollector

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", default="512,1024,2048")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--layers", type=int, default=30, help="Student layers (recipe: 4).")
    ap.add_argument("--lora", type=int, default=0, help="LoRA rank, 0: full fine-tune.")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default).")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = student(args.layers, args.lora)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    collector = StepAttentionCollector(model)
    rows = []
    for t in map(int, args.tokens.split(",")):
        ids = torch.randint(0, 49152, (args.batch, t), generator=torch.Generator().manual_seed(t))
        steps = (torch.arange(t) * 16 // t).expand(args.batch, t)  # 16 equal steps
        energy = torch.rand(args.batch, 16, 16, generator=torch.Generator().manual_seed(1))

        ce = partial(train_step, model, opt, ids)
        bond = partial(train_step, model, opt, ids, (collector, steps, energy))

        times: dict[str, list[float]] = {"ce": [], "bond": []}
        ce(), bond()  # warm-up
        for _ in range(args.repeats):
            for name, fn in (("ce", ce), ("bond", bond)):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        row = {"tokens": t, "ce_step_s": round(statistics.median(times["ce"]), 3),
               "bond_step_s": round(statistics.median(times["bond"]), 3), "batch": args.batch,
               "layers": collector.layers, "lora": args.lora,
               "model": f"llama 135M shape (SmolLM2), {args.layers} layers, random init",
               "threads": torch.get_num_threads()}  # fmt: skip
        row["ratio"] = round(row["bond_step_s"] / row["ce_step_s"], 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
