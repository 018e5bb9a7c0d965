"""Plain PyTorch loop: CE + α·L_bond over a targets directory, no Trainer.

    bondkd targets teacher.jsonl --out tgt            # once, offline
    python examples/plain_loop.py tgt --student Qwen/Qwen2.5-0.5B --steps 200
    python examples/plain_loop.py tgt --tiny --steps 20      # smoke run, offline

`--tiny` trains a random-init 2-layer Llama with a character tokenizer built from the
targets' own text, so it needs no download. Every step is `bond_distill_loss`, the same
function `BondDistillTrainer` calls.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader

from bondkd.distill.collate import BondCollator, TargetDataset
from bondkd.distill.student import StepAttentionCollector
from bondkd.distill.trainer import bond_distill_loss


def tiny_student(texts: Iterable[str]) -> tuple[Any, Any]:
    """A random-init 2-layer Llama and a character-level fast tokenizer over `texts`."""
    from tokenizers import Tokenizer, models
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {t: k for k, t in enumerate(["<unk>", "<pad>"])}
    for ch in sorted(set("".join(texts))):
        vocab.setdefault(ch, len(vocab))
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>")),
        unk_token="<unk>",
        pad_token="<pad>",
    )
    cfg = LlamaConfig(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        vocab_size=len(tok),
        max_position_embeddings=4096,
        pad_token_id=tok.pad_token_id,
    )
    return LlamaForCausalLM(cfg), tok


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("targets", help="a `bondkd targets` output directory")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--student", help="HF causal LM name or path (with a fast tokenizer)")
    who.add_argument("--tiny", action="store_true", help="random-init tiny Llama, offline")
    p.add_argument("--alpha", type=float, default=0.1, help="weight of L_bond")
    p.add_argument("--target", choices=["energy", "attention"], default="energy")
    p.add_argument("--kind", choices=["kl", "mse", "corr"], default="kl")
    p.add_argument("--layers", type=int, nargs="*", help="student layers (default: mid-depth)")
    p.add_argument("--steps", type=int, default=100, help="optimiser steps")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", help="directory to save the trained student and tokenizer to")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    """Train; returns one {"step", "loss", "ce", "bond"} dict per optimiser step."""
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    data = TargetDataset(args.targets)
    if len(data) == 0:
        raise SystemExit(f"{args.targets}: no targets")
    if args.tiny:
        model, tok = tiny_student(t.question + t.text for t in data.reader)
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(args.student)
        model = AutoModelForCausalLM.from_pretrained(args.student)
    model.to(args.device).train()
    loader = DataLoader(
        data,
        batch_size=args.batch_size,
        shuffle=True,
        collate_fn=BondCollator(tok, args.max_length),
    )
    collector = StepAttentionCollector(model, layers=args.layers or None)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    history: list[dict[str, float]] = []
    # Cycle through the data until --steps optimiser steps are done.
    batches = itertools.chain.from_iterable(itertools.repeat(loader))
    for step, batch in enumerate(itertools.islice(batches, args.steps), start=1):
        batch = {k: v.to(args.device) for k, v in batch.items()}
        loss, logs = bond_distill_loss(
            model, collector, batch, alpha=args.alpha, target=args.target, kind=args.kind
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append({"step": step, "loss": float(loss.detach()), **logs})
        if step % args.log_every == 0 or step == args.steps:
            recent = history[-args.log_every :]
            ce, bond = (sum(h[k] for h in recent) / len(recent) for k in ("ce", "bond"))
            print(f"step {step:5d}  ce {ce:.4f}  bond {bond:.4f}", flush=True)
    if not all(math.isfinite(h["loss"]) for h in history):
        raise SystemExit("non-finite loss")
    if args.save:
        model.save_pretrained(args.save)
        tok.save_pretrained(args.save)
    return history


if __name__ == "__main__":
    main()
