"""Does the structural loss teach a student the teacher's reasoning structure?

Arms, same data, same steps, same seeds: CE only vs CE + α·L_bond, each as a full
fine-tune (ce, bond) or with LoRA adapters (lora-ce, lora-bond; peft, rank --lora-rank
on every attention and MLP projection, the base frozen), where L_bond
pulls the student's step attention (`StepCapture.energy`, read the way the teacher's
attention component is read) towards the teacher's attention component. On held-out
GSM8K test traces it reports, per run and as mean ± std over seeds, the measures of
`bondkd.distill.fidelity`: Spearman net of distance and bond-type agreement (the
headline), the plain Spearman beside a recency-only reader, held-out LM loss.

Teacher targets come from the default model backend (SmolLM2-135M attention + MiniLM).
Student: SmolLM2-135M-Instruct cut to its first `--student-layers` layers (default 4 of
30, initialised from the packaged weights): the full model's training step takes
seconds on this 2-core CPU, and a student identical to the teacher would start with
its attention. Every stage is cached under --work and runs resume from checkpoints, so
the experiment can continue in a later session:

    python examples/distill_gsm8k.py --work out/distill_gsm8k
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from bondkd.config import AnalyzeConfig
from bondkd.distill.collate import BondCollator, TargetDataset
from bondkd.distill.fidelity import METRICS, evaluate, recency_spearman, student_energy
from bondkd.distill.loss import bond_attention_loss
from bondkd.distill.student import StepAttentionCollector
from bondkd.distill.targets import TargetReader
from bondkd.read.files import iter_traces

GSM8K = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gsm8k"


def build_targets(src: Path, n: int, out: Path) -> TargetReader:
    """The first `n` GSM8K rows -> teacher targets (default model backend), once."""
    from bondkd.distill.targets import TargetWriter
    from bondkd.distill.targets import build_targets as build
    from bondkd.pipeline import Analyzer

    if not (out / "meta.json").exists():
        head = out.with_suffix(".jsonl")
        with open(src) as f, open(head, "w") as g:
            for k, line in enumerate(f):
                if k == n:
                    break
                g.write(line)
        traces = (t for _, t in iter_traces(str(head)) if not isinstance(t, Exception))
        analyzer = Analyzer(AnalyzeConfig())
        t0 = time.perf_counter()
        with TargetWriter(out, analyzer, overwrite=True) as w:
            w.write_all(build(traces, analyzer))
        print(f"targets {out}: {time.perf_counter() - t0:.0f} s", flush=True)
    return TargetReader(out)


def make_student(layers: int, init: str = "pretrained", lora: int = 0):
    """SmolLM2-135M-Instruct's first `layers` layers, embeddings, final norm and head,
    with the packaged weights (init="pretrained") or a fixed random init ("random").
    lora > 0: frozen, with rank-`lora` LoRA adapters (peft) on every attention and MLP
    projection, the only weights that train."""
    from transformers import LlamaForCausalLM

    from bondkd.energy.models import load_causal_lm

    lm = load_causal_lm("smollm2")
    cfg = copy.deepcopy(lm.model.config)
    cfg.num_hidden_layers = layers
    torch.manual_seed(0)  # the same random init in every arm and seed
    student = LlamaForCausalLM(cfg)
    if init == "pretrained":
        missing, _ = student.load_state_dict(lm.model.state_dict(), strict=False)
        assert not missing, missing
    student.set_attn_implementation("sdpa")
    if lora:
        from bondkd.distill.recipe import add_lora

        student = add_lora(student, lora)  # seeded: the same adapter init in every run
    return student, lm.tokenizer


def reader(model, args) -> StepAttentionCollector:
    """The student's step attention that L_bond trains and the evaluation reads:
    --reader-layers / --reader-heads, or the collector's default (depth 0.55-0.58: one layer, all heads)."""

    def ints(text: str | None) -> list[int] | None:
        return [int(x) for x in text.split(",")] if text else None

    return StepAttentionCollector(model, ints(args.reader_layers), ints(args.reader_heads))


def train(args, arm: str, seed: int, run: Path, train_set, collate) -> None:
    """One arm × seed; checkpoints to run/ckpt.pt every --ckpt-every steps."""
    model, _ = make_student(args.student_layers, args.init, lora_rank(args, arm))
    model.train()
    collector = reader(model, args)
    params = [p for p in model.parameters() if p.requires_grad]
    lr_max = args.lora_lr if arm.startswith("lora-") else args.lr
    opt = torch.optim.AdamW(params, lr=lr_max, weight_decay=0.0)
    step, log = 0, []
    ckpt = run / "ckpt.pt"
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, log = state["step"], state["log"]
        print(f"{run.name}: resumed at step {step}", flush=True)
    order = np.random.default_rng(seed).permutation(
        np.resize(np.arange(len(train_set)), args.steps * args.batch)
    )
    alpha = args.alpha if arm.endswith("bond") else 0.0
    t0 = time.perf_counter()
    while step < args.steps:
        idx = order[step * args.batch : (step + 1) * args.batch]
        batch = collate([train_set[int(k)] for k in idx])
        ce, energy, mask = student_energy(model, collector, batch)
        bond = bond_attention_loss(energy, batch["teacher_attention"], mask, kind=args.loss)
        loss = ce + alpha * bond if alpha else ce
        lr = lr_max * min(1.0, (step + 1) / args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        log.append({"step": step, "ce": ce.item(), "bond": bond.item()})
        if step % args.log_every == 0:
            rate = (time.perf_counter() - t0) / max(1, len(log))
            print(f"{run.name} step {step}: ce {log[-1]['ce']:.3f} bond {log[-1]['bond']:.4f} "
                  f"({rate:.2f} s/step)", flush=True)  # fmt: skip
        if step % args.ckpt_every == 0 or step == args.steps:
            tmp = ckpt.with_suffix(".tmp")
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step}
            torch.save({**state, "log": log}, tmp)
            os.replace(tmp, ckpt)


ARMS = ("ce", "bond", "lora-ce", "lora-bond")


def lora_rank(args, arm: str) -> int:
    """LoRA rank of an arm's student: --lora-rank for lora-* arms, 0 (full fine-tune) else."""
    return args.lora_rank if arm.startswith("lora-") else 0


def summary(results: dict[str, dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for arm in ARMS:
        runs = [v for k, v in results.items() if k.rsplit("-s", 1)[0] == arm]
        if runs:
            out[arm] = {
                m: (statistics.mean(r[m] for r in runs),
                    statistics.stdev(r[m] for r in runs) if len(runs) > 1 else 0.0)
                for m in METRICS
            }  # fmt: skip
            out[arm]["seeds"] = len(runs)
    return out


def evaluated(path: Path, fn) -> dict:
    """The result stored at `path`, or fn()'s, stored there (atomically) first. One file
    per run, so several processes may run arms or seeds of one --work side by side."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(fn(), indent=2))
        os.replace(tmp, path)
    return json.loads(path.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("out/distill_gsm8k"))
    ap.add_argument("--train", type=int, default=1000, help="GSM8K train traces.")
    ap.add_argument("--test", type=int, default=200, help="Held-out GSM8K test traces.")
    ap.add_argument(
        "--heldout", choices=["test", "valid"], default="test",
        help="Measure on: test (the GSM8K test traces), or valid (the train traces past "
        "--steps × --batch, which training never draws: where settings such as α are chosen)."
    )  # fmt: skip
    ap.add_argument("--student-layers", type=int, default=4)
    ap.add_argument("--init", choices=["pretrained", "random"], default="pretrained")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=192, help="Training sequence tokens.")
    ap.add_argument("--eval-max-length", type=int, default=512, help="Held-out sequence tokens.")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--alpha", type=float, default=100.0)
    ap.add_argument("--lora-rank", type=int, default=16, help="LoRA rank of the lora-* arms.")
    ap.add_argument("--lora-lr", type=float, default=1e-3, help="Peak lr of the lora-* arms.")
    ap.add_argument(
        "--reader-layers",
        help="Student layers L_bond trains and evaluation reads, e.g. 3 (default: depth 0.55-0.58).",
    )
    ap.add_argument("--reader-heads", help="Their heads, e.g. 0,1,2 (default: all).")
    ap.add_argument("--loss", choices=["kl", "mse", "corr"], default="kl", help="L_bond kind.")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument(
        "--arms",
        default="ce,bond",
        help="Which arms to run: ce, bond (full fine-tune), "
        "lora-ce, lora-bond (LoRA adapters, --lora-rank).",
    )
    ap.add_argument("--ckpt-every", type=int, default=25)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch default).")
    args = ap.parse_args()
    # One thread: on this 2-core machine, shared with other work, two OpenMP threads
    # waiting on each other ran 3x slower (2.9 vs 8.8 s/step).
    if args.threads:
        torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    settings = {k: str(v) for k, v in vars(args).items()}
    train_set = TargetDataset(
        build_targets(GSM8K / "train.jsonl", args.train, args.work / "targets_train")
    )
    test = list(build_targets(GSM8K / "test.jsonl", args.test, args.work / "targets_test"))
    used = min(len(train_set), args.steps * args.batch)  # training draws only these traces
    if args.heldout == "valid":
        test = [train_set[k] for k in range(used, len(train_set))]
        print(f"validation: the {len(test)} train traces training never draws", flush=True)
    result_name = "result.json" if args.heldout == "test" else f"result_{args.heldout}.json"
    from bondkd.energy.models import load_causal_lm

    tok = load_causal_lm("smollm2").tokenizer  # the student's, without building one
    collate = BondCollator(tok, max_length=args.max_length)
    # Held-out traces are read whole (the GSM8K test traces have at most 447 tokens).
    collate_eval = BondCollator(tok, max_length=args.eval_max_length)

    def student_result(run: Path | None) -> dict:
        arm = run.name.rsplit("-s", 1)[0] if run is not None else "ce"
        model, _ = make_student(args.student_layers, args.init, lora_rank(args, arm))
        if run is not None:
            model.load_state_dict(torch.load(run / "ckpt.pt", weights_only=False)["model"])
        return evaluate(model, reader(model, args), test, collate_eval, args.batch)

    runs = args.work / "runs"
    results = {"base": evaluated(runs / "base" / result_name, lambda: student_result(None))}
    print("base", json.dumps(results["base"]), flush=True)
    for seed in map(int, args.seeds.split(",")):
        for arm in args.arms.split(","):
            run = runs / f"{arm}-s{seed}"
            if not (run / result_name).exists():
                run.mkdir(parents=True, exist_ok=True)
                if not (run / "ckpt.pt").exists():
                    (run / "settings.json").write_text(json.dumps(settings, indent=2))
                train(args, arm, seed, run, train_set, collate)  # resumes; nothing if done
            results[run.name] = evaluated(run / result_name, lambda r=run: student_result(r))
            print(run.name, json.dumps(results[run.name]), flush=True)
    # Every finished run of this --work, also those another process ran.
    for path in sorted(runs.glob(f"*-s*/{result_name}")):
        results.setdefault(path.parent.name, json.loads(path.read_text()))
    table = summary(results)
    done = args.work / (
        "results.json" if args.heldout == "test" else f"results_{args.heldout}.json"
    )
    done.write_text(json.dumps({"settings": settings, "runs": results, "summary": table}, indent=2))
    print("| arm | net of distance | bond-type agreement | Spearman | held-out LM loss |")
    print("|---|---:|---:|---:|---:|")
    print(f"| recency only (no model) | n/a | | {recency_spearman(test):.3f} | |")
    b = results["base"]
    print("| untrained student | " + " | ".join(f"{b[m]:.3f}" for m in METRICS) + " |")
    for arm, row in table.items():
        cells = " | ".join(f"{row[m][0]:.3f} ± {row[m][1]:.3f}" for m in METRICS)
        print(f"| {arm} ({row['seeds']} seeds) | {cells} |")


if __name__ == "__main__":
    main()
