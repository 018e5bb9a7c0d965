"""One recipe, end to end: teacher traces -> gate -> targets -> LoRA student -> eval.

    python examples/recipe.py --work out/recipe                 # the CPU default (~20 min, 2 cores)
    python examples/recipe.py --work out/big --preset gpu       # examples/recipe_gpu.toml (not run here)
    python examples/recipe.py --work out/mine --config my.toml --steps 300   # flags beat the file

Stages, each written atomically under --work and skipped when it is there already
(`bondkd.distill.recipe.Stages`; `stages.jsonl` logs every run and skip):

1. questions   the first --train-questions of --train-file, the first --test-questions and
               --heldout-traces of --test-file (GSM8K by default);
2. generate    `bondkd generate --questions ... --teacher local` (the packaged SmolLM2-135M
               through llama.cpp; replies cached in WORK/cache, so a killed run re-asks nothing);
3. filter      `bondkd filter` (lexical gate; the reference check is off by default: the
               135M teacher is right on about 2 % of GSM8K, so it would leave nothing);
4. targets     `bondkd targets` (default model backend: SmolLM2 attention + MiniLM);
5. heldout     teacher targets of held-out traces: by default the GSM8K *test* reference
               solutions (`--format gsm8k`), or with --heldout teacher the teacher's own
               answers to the held-out questions (generate + targets);
6. train-ARM   the student with rank-16 LoRA on every attention and MLP projection, CE +
               α·L_bond (`bond_distill_loss`, teacher target = the attention component, kind
               kl), AdamW; arm `ce` has α = 0, arm `bond` α = --alpha. Checkpoints every
               --ckpt-every steps and resumes; the result is the LoRA merged into a plain HF
               model directory (train-ARM/student);
7. fidelity-M  `bondkd.distill.fidelity.evaluate` of the untrained student and of each arm on
               the held-out targets: Spearman net of distance (the headline), bond-type
               agreement, plain Spearman, LM loss;
8. eval-ARM    `bondkd eval` of each arm's student against the teacher on the held-out
               questions: accuracy (with a 95 % Wilson interval), win/tie/loss.

Then the results table (markdown, also WORK/results.md) and WORK/results.json.
The CLI stages run in-process through `bondkd.cli.main`.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bondkd.distill.recipe import bar, count_lines, watch_lines
from bondkd.distill.recipe_report import report

ROOT = Path(__file__).resolve().parents[1]
GSM8K = ROOT.parent / "shared" / "data" / "gsm8k"
PRESETS = {"cpu": None, "gpu": Path(__file__).with_name("recipe_gpu.toml")}
DEFAULTS: dict[str, Any] = {
    "train_file": str(GSM8K / "train.jsonl"),
    "test_file": str(GSM8K / "test.jsonl"),
    "train_questions": 64,
    "test_questions": 20,
    "heldout": "reference",
    "heldout_traces": 64,
    "max_tokens": 256,
    "teacher": "local",
    "teacher_model": None,
    "concurrency": 4,
    "gate_reference": False,
    "targets_model": None,
    "student": "smollm2:4",
    "lora": 16,
    "steps": 100,
    "batch": 4,
    "max_length": 256,
    "eval_max_length": 512,
    "lr": 1e-3,
    "warmup": 10,
    "alpha": 100.0,
    "kind": "kl",
    "arms": "ce,bond",
    "ckpt_every": 25,
    "seed": 0,
    "device": "cpu",
    "bf16": False,
    "threads": 1,
}
METRICS = ("spearman_net", "bond_agreement", "spearman", "lm_loss")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", type=Path, default=Path("out/recipe"), help="Work directory.")
    p.add_argument("--preset", choices=sorted(PRESETS), default="cpu", help="cpu (default) or gpu.")
    p.add_argument(
        "--config", type=Path, help="TOML file of settings (keys as the flags, _ for -)."
    )
    p.add_argument("--train-file", help="Training questions, JSONL (GSM8K train).")
    p.add_argument("--test-file", help="Held-out questions with references (GSM8K test).")
    p.add_argument("--train-questions", type=int, help="Questions the teacher answers (64).")
    p.add_argument("--test-questions", type=int, help="Held-out questions for accuracy (20).")
    p.add_argument(
        "--heldout", choices=["reference", "teacher"], help="Held-out traces (reference)."
    )
    p.add_argument("--heldout-traces", type=int, help="Held-out traces for fidelity (64).")
    p.add_argument("--max-tokens", type=int, help="Tokens per teacher/student answer (256).")
    p.add_argument("--teacher", help="local, a .gguf, an HF id/dir or an http(s) endpoint.")
    p.add_argument("--teacher-model", help="Model name at an endpoint teacher.")
    p.add_argument("--concurrency", type=int, help="Requests in flight to an endpoint (4).")
    p.add_argument("--gate-reference", action="store_true", default=None,
                   help="Keep the gate's reference check (off by default).")  # fmt: skip
    p.add_argument("--targets-model", help="Attention model of `bondkd targets` (smollm2).")
    p.add_argument("--student", help="smollm2:N (first N layers, packaged weights) or HF id/dir.")
    p.add_argument("--lora", type=int, help="LoRA rank (16); 0: full fine-tune.")
    p.add_argument("--steps", type=int, help="Optimiser steps per arm (100).")
    p.add_argument("--batch", type=int, help="Traces per step (4).")
    p.add_argument("--max-length", type=int, help="Training tokens per trace (256).")
    p.add_argument("--eval-max-length", type=int, help="Held-out tokens per trace (512).")
    p.add_argument("--lr", type=float, help="Peak AdamW learning rate (1e-3).")
    p.add_argument("--warmup", type=int, help="Linear warm-up steps (10).")
    p.add_argument("--alpha", type=float, help="Weight of L_bond in the bond arm (100).")
    p.add_argument("--kind", choices=["kl", "mse", "corr"], help="L_bond kind (kl).")
    p.add_argument("--arms", help="Comma-separated: ce (alpha 0), bond (alpha --alpha).")
    p.add_argument("--ckpt-every", type=int, help="Checkpoint every K steps (25).")
    p.add_argument("--seed", type=int, help="Generation and data-order seed (0).")
    p.add_argument("--device", help="torch device for training and fidelity (cpu).")
    p.add_argument("--bf16", action="store_true", default=None, help="bf16 autocast (GPU).")
    p.add_argument("--threads", type=int, help="torch threads (1); 0: torch's default.")
    return p.parse_args(argv)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """DEFAULTS, then the preset or --config file, then the flags given."""
    from bondkd.config import read_config_file

    out = dict(DEFAULTS)
    for path in (PRESETS[args.preset], args.config):
        if path is not None:
            file = read_config_file(path)  # TOML or JSON
            unknown = set(file) - set(out)
            if unknown:
                raise SystemExit(f"{path}: unknown settings {sorted(unknown)}")
            out |= file
    out |= {k: v for k, v in vars(args).items() if k in out and v is not None}
    arms = out["arms"].split(",")
    if not arms or set(arms) - {"ce", "bond"}:
        raise SystemExit(f"--arms: ce and/or bond, got {out['arms']!r}")
    return out


# -- stages --------------------------------------------------------------------------


def cli(*argv: Any) -> None:
    """`bondkd ARGV` in this process; a non-zero exit code stops the recipe."""
    from bondkd.cli import main

    args = [str(a) for a in argv if a is not None]
    print("$ bondkd " + " ".join(args), flush=True)
    rc = main(args)
    if rc != 0:
        raise SystemExit(
            f"bondkd {args[0]} exited {rc}; run the recipe again (finished stages and "
            "cached teacher replies are kept)"
        )


def head(src: str, n: int, out: Path, prefix: str) -> None:
    """The first n records of a JSONL file, with ids prefix-K where they have none."""
    rows = []
    with open(src, encoding="utf-8") as fh:
        for line in fh:
            if len(rows) == n:
                break
            if line.strip():
                rec = json.loads(line)
                rec.setdefault("id", f"{prefix}-{len(rows)}")
                rows.append(json.dumps(rec, ensure_ascii=False) + "\n")
    if len(rows) < n:
        raise SystemExit(f"{src}: {len(rows)} records, {n} asked for")
    out.write_text("".join(rows), encoding="utf-8")


def teacher_flags(s: dict[str, Any]) -> list[Any]:
    model = ["--teacher-model", s["teacher_model"]] if s["teacher_model"] else []
    return ["--teacher", s["teacher"], *model]


def generate(s: dict[str, Any], work: Path, questions: Path, out: Path, cache: str) -> None:
    # `bondkd generate` draws its own progress bar on a terminal.
    cli("generate", "--questions", questions, *teacher_flags(s), "--max-tokens", s["max_tokens"],
        "--seed", s["seed"], "--concurrency", s["concurrency"], "--out", out,
        "--cache", work / "cache" / cache)  # fmt: skip


def targets(s: dict[str, Any], src: Path, out: Path, *extra: Any) -> None:
    n = count_lines(src)
    model = ["--model", s["targets_model"]] if s["targets_model"] else []
    device = ["--device", s["device"]] if s["device"] != "cpu" else []
    # Shards of 8: the index grows 8 traces at a time, which the bar polls.
    with watch_lines(f"targets {src.name}", out / "index.jsonl", n):
        cli("targets", src, "--out", out, "--shard-size", 8, *model, *device, *extra)


def build_student(s: dict[str, Any], lora: int) -> tuple[Any, Any]:
    """The student before training: smollm2:N is examples/distill_gsm8k.py's cut of the
    packaged SmolLM2-135M-Instruct (first N layers, its weights); else an HF id or dir."""
    from bondkd.distill.recipe import add_lora

    spec = s["student"]
    if spec.startswith("smollm2:"):
        make_student = distill_gsm8k().make_student
        return make_student(int(spec.split(":", 1)[1]), "pretrained", lora)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(spec)
    tok = AutoTokenizer.from_pretrained(spec)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return (add_lora(model, lora) if lora else model), tok


@functools.cache
def distill_gsm8k() -> Any:
    """examples/distill_gsm8k.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "distill_gsm8k", ROOT / "examples" / "distill_gsm8k.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def train(s: dict[str, Any], arm: str, data_dir: Path, tmp: Path) -> None:
    import torch

    from bondkd.distill.collate import BondCollator, TargetDataset
    from bondkd.distill.recipe import TrainConfig, save_student, train_student
    from bondkd.distill.student import StepAttentionCollector

    model, tok = build_student(s, s["lora"])
    model.to(s["device"])
    cfg = TrainConfig(steps=s["steps"], batch=s["batch"], lr=s["lr"], warmup=s["warmup"],
                      alpha=s["alpha"] if arm == "bond" else 0.0, kind=s["kind"],
                      target="attention", ckpt_every=s["ckpt_every"], seed=s["seed"],
                      bf16=s["bf16"])  # fmt: skip
    data = TargetDataset(data_dir)
    collate = BondCollator(tok, max_length=s["max_length"])
    ckpt = tmp / "ckpt.pt"
    with bar(f"train {arm} (alpha {cfg.alpha:g})", cfg.steps) as b:
        if ckpt.exists():
            print(f"train {arm}: resuming from {ckpt}", flush=True)
        recent: list[dict[str, float]] = []

        def on_step(step: int, row: dict[str, float]) -> None:
            recent.append(row)
            del recent[:-10]
            ce = sum(r["ce"] for r in recent) / len(recent)
            bond = sum(r["bond"] for r in recent) / len(recent)
            b.update(step, f"ce {ce:.3f} bond {bond:.4f}")

        torch.manual_seed(s["seed"])
        log = train_student(model, StepAttentionCollector(model), data, collate, cfg, ckpt, on_step)
    with open(tmp / "log.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in log)
    save_student(model.cpu(), tok, tmp / "student")
    ckpt.unlink()  # the merged student is the result


def fidelity(s: dict[str, Any], student: Path | None, heldout: Path, tmp: Path) -> None:
    from bondkd.distill.collate import BondCollator
    from bondkd.distill.fidelity import evaluate
    from bondkd.distill.student import StepAttentionCollector
    from bondkd.distill.targets import TargetReader

    if student is None:
        model, tok = build_student(s, 0)
        model.to(s["device"])
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(student).to(s["device"])
        tok = AutoTokenizer.from_pretrained(student)
    test = list(TargetReader(heldout))
    collate = BondCollator(tok, max_length=s["eval_max_length"])
    with bar(
        f"fidelity {student.parent.name.removeprefix('train-') if student else 'untrained'}",
        len(test),
    ) as b:

        def counted(rows: list[Any]) -> dict[str, Any]:
            b.update(b.done + len(rows))
            return collate(rows)

        result = evaluate(model, StepAttentionCollector(model), test, counted, s["batch"])
    (tmp / "result.json").write_text(json.dumps(result, indent=1))


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    s = settings(args)
    import torch

    from bondkd.distill.recipe import Stages

    if s["threads"]:
        # One thread: on 2 shared cores, two OpenMP threads waiting on each other ran 3x
        # slower (examples/distill_gsm8k.py).
        torch.set_num_threads(s["threads"])
    st = Stages(args.work)
    work = st.work.resolve()
    arms = s["arms"].split(",")
    keys = ("train_file", "test_file", "train_questions", "test_questions", "heldout_traces")
    q_params = {k: s[k] for k in keys}
    gen = {**q_params, "teacher": s["teacher"], "teacher_model": s["teacher_model"],
           "max_tokens": s["max_tokens"], "seed": s["seed"]}  # fmt: skip
    t0 = time.perf_counter()

    def stage(name: str, params: dict[str, Any], fn: Callable[[Path], Any], **kw: Any) -> Path:
        done = st.check(name, params)
        print(f"== {name}" + (": done in an earlier run, skipped" if done else ""), flush=True)
        return st.run(name, params, fn, **kw)

    def questions(tmp: Path) -> None:
        head(s["train_file"], s["train_questions"], tmp / "train.jsonl", "train")
        head(s["test_file"], s["test_questions"], tmp / "test.jsonl", "test")
        head(s["test_file"], s["heldout_traces"], tmp / "heldout.jsonl", "test")

    q = stage("questions", q_params, questions)
    g = stage("generate", gen, lambda tmp: generate(s, work, q / "train.jsonl", tmp / "traces.jsonl", "generate"))  # fmt: skip

    def gate(tmp: Path) -> None:
        ref = [] if s["gate_reference"] else ["--no-reference"]
        cli("filter", g / "traces.jsonl", "--accepted", tmp / "accepted.jsonl",
            "--rejected", tmp / "rejected.jsonl", *ref)  # fmt: skip
        if not count_lines(tmp / "accepted.jsonl"):
            raise SystemExit("filter: no trace accepted; nothing to train on")

    f = stage("filter", {**gen, "gate_reference": s["gate_reference"]}, gate)
    tp = {**gen, "gate_reference": s["gate_reference"], "targets_model": s["targets_model"]}
    t = stage("targets", tp, lambda tmp: targets(s, f / "accepted.jsonl", tmp / "targets"))

    def heldout(tmp: Path) -> None:
        if s["heldout"] == "reference":
            targets(s, q / "heldout.jsonl", tmp / "targets", "--format", "gsm8k")
        else:
            generate(s, work, q / "heldout.jsonl", tmp / "traces.jsonl", "generate-heldout")
            targets(s, tmp / "traces.jsonl", tmp / "targets")

    hp = {**gen, "heldout": s["heldout"], "targets_model": s["targets_model"]}
    h = stage("heldout", hp, heldout)
    keys = ("student", "lora", "steps", "batch", "max_length", "lr", "warmup", "kind", "bf16")
    train_params = {**tp, **{k: s[k] for k in keys}}
    students: dict[str, Path | None] = {"base": None}
    for arm in arms:
        alpha = s["alpha"] if arm == "bond" else 0.0
        run = stage(f"train-{arm}", {**train_params, "alpha": alpha, "seed": s["seed"]},
                    lambda tmp, a=arm: train(s, a, t / "targets", tmp), keep_partial=True)  # fmt: skip
        students[arm] = run / "student"
    for name, student in students.items():
        fp = {**hp, **train_params, "model": name, "eval_max_length": s["eval_max_length"]}
        if name != "base":
            fp |= {"alpha": s["alpha"] if name == "bond" else 0.0}
        stage(f"fidelity-{name}", fp,
              lambda tmp, m=student: fidelity(s, m, h / "targets", tmp))  # fmt: skip
    for arm in arms:
        student = students[arm]
        ep = {**train_params, "arm": arm, "alpha": s["alpha"] if arm == "bond" else 0.0}

        def ask(tmp: Path, m: Path | None = student) -> None:
            cli("eval", q / "test.jsonl", "--student", m, *teacher_flags(s),
                "--max-tokens", s["max_tokens"], "--concurrency", s["concurrency"],
                "--json", tmp / "eval.json", "--rows", tmp / "rows.jsonl",
                "--cache", work / "cache" / "eval")  # fmt: skip

        stage(f"eval-{arm}", {**ep, "test_questions": s["test_questions"]}, ask)
    out = report(s, st, arms)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    atomic_write(st.work / "results.json", json.dumps(out, indent=1) + "\n")
    atomic_write(st.work / "results.md", out["table"] + "\n")
    print(out["table"])
    print(f"results: {st.work / 'results.md'}, {st.work / 'results.json'} ({out['wall_s']:.0f} s)")
    return out


if __name__ == "__main__":
    from bondkd.errors import BondkdError

    try:
        main()
    except BondkdError as e:
        sys.exit(f"recipe: error: {e}")
    except KeyboardInterrupt:
        sys.exit("interrupted: run the same command again to resume")
