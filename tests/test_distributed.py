"""Issue 18, several processes: DDP over gloo (2 CPU processes, with activation
checkpointing and without) gives the single-process gradients, and `accelerate launch` runs
`BondDistillTrainer` and the TRL recipe's `BondSFTTrainer`. docs/training.md, "Several
processes (DDP)". The tiny models and targets are test_scale_training's.

Run as a script, this file is also the worker of those tests:
``python tests/test_distributed.py ddp WORK GC`` (one rank; RANK/WORLD_SIZE/MASTER_* from the
environment) and ``python tests/test_distributed.py trainers WORK TARGETS`` (one rank under
`accelerate launch`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import char_tokenizer
from test_scale_training import (
    ALPHA,
    READ,
    ROOT,
    build_targets_dir,
    llama,
    one_thread,  # noqa: F401 (an autouse fixture)
)

from bondkd.distill.collate import IGNORE, BondCollator, TargetDataset
from bondkd.distill.student import StepAttentionCollector
from bondkd.distill.targets import TargetReader, TeacherTarget
from bondkd.distill.trainer import BondDistillTrainer, bond_distill_loss


@pytest.fixture(scope="module")
def targets_dir(tmp_path_factory) -> Path:
    return build_targets_dir(tmp_path_factory.mktemp("targets"))


@pytest.fixture(scope="module")
def targets(targets_dir) -> list[TeacherTarget]:
    return list(TargetReader(targets_dir))


def twin(t: TeacherTarget, seed: int) -> TeacherTarget:
    """Another trace with the same counts: every character changed but the length kept
    (so the same tokens per row with the character tokenizer, the same label count, the
    same step spans), and the energies rescaled where positive (the same kept rows)."""

    def other(text: str) -> str:
        return "".join(c.swapcase() if len(c.swapcase()) == 1 else c for c in text)

    g = torch.Generator().manual_seed(seed)
    scale = torch.rand(t.energy.shape, generator=g).numpy() * 1.5 + 0.25
    return dataclasses.replace(
        t, text=other(t.text), question=other(t.question), energy=t.energy * scale
    )


def rows(batch: dict[str, Any], lo: int, hi: int) -> dict[str, Any]:
    return {k: v[lo:hi] for k, v in batch.items()}


def counts(half: dict[str, Any]) -> tuple[int, int, int]:
    """(rows, CE tokens, steps): what the per-half means divide by."""
    return (
        len(half["input_ids"]),
        int((half["labels"][:, 1:] != IGNORE).sum()),
        int(sum(len(set(r.tolist()) - {-1}) for r in half["token_steps"])),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_env(**extra: str) -> dict[str, str]:
    """A clean environment for a worker process: only what Python and the hub need, not
    the variables earlier tests of this pytest process (accelerate, Ray, HF Trainer) may
    have left behind, which a distributed rendezvous could read."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYENV_VERSION")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        HF_HUB_OFFLINE="1",
        **extra,
    )
    return env


def test_ddp_two_processes_gradient_equals_single_process(targets, tmp_path):
    """2 CPU processes (gloo), each DistributedDataParallel over the same tiny Llama, each
    `bond_distill_loss` on its half of one BondCollator batch, with and without
    checkpointing. DDP averages the gradients over the ranks, so it must give the
    single-process gradient of the mean of the two half-batch losses.

    It equals the full-batch gradient too only because the two halves have equal counts
    (rows, CE tokens, steps with the same kept rows): CE is a mean over the batch's label
    tokens and L_bond a mean over its kept rows, so the full-batch loss is the mean of the
    half losses only when both halves divide by the same numbers."""
    tok = char_tokenizer()
    pair = targets[:2]
    batch = BondCollator(tok, max_length=400)(pair + [twin(t, k) for k, t in enumerate(pair)])
    halves = [rows(batch, 0, 2), rows(batch, 2, 4)]
    assert counts(halves[0]) == counts(halves[1])
    assert not torch.equal(halves[0]["input_ids"], halves[1]["input_ids"])
    model = llama(len(tok))
    torch.save({"batch": batch, "state": model.state_dict(), "vocab": len(tok)}, tmp_path / "in.pt")

    settings = (False, True)
    for gc in settings:
        run_ddp_pair(tmp_path, gc)
    ranks = [
        {gc: torch.load(tmp_path / f"rank{r}-gc{int(gc)}.pt") for gc in settings} for r in range(2)
    ]

    def single(*parts: dict[str, Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        m = copy.deepcopy(model)
        collector = StepAttentionCollector(m, layers=READ)
        losses = [bond_distill_loss(m, collector, b, alpha=ALPHA)[0] for b in parts]
        torch.stack(losses).mean().backward()
        return [x.detach() for x in losses], [p.grad for p in m.parameters()]

    losses, mean_grads = single(*halves)
    (full_loss,), full_grads = single(batch)
    torch.testing.assert_close(full_loss, torch.stack(losses).mean(), rtol=1e-5, atol=1e-6)
    tol = {"rtol": 1e-4, "atol": 1e-6}
    for a, b in zip(full_grads, mean_grads, strict=True):
        torch.testing.assert_close(a, b, **tol)
    for r, got in enumerate(ranks):
        for gc in settings:
            torch.testing.assert_close(got[gc]["loss"], losses[r], **tol)
            for a, b in zip(got[gc]["grads"], mean_grads, strict=True):
                torch.testing.assert_close(a, b, **tol)


def run_ddp_pair(work: Path, gc: bool) -> None:
    """Rank 0 and 1 of `_ddp_worker` on `work`, with activation checkpointing or without."""
    port = str(free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "ddp", str(work), str(int(gc))],
            env=worker_env(
                RANK=str(r),
                LOCAL_RANK=str(r),
                WORLD_SIZE="2",
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(2)
    ]
    try:
        logs = [p.communicate(timeout=180)[0] for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        logs = [p.communicate()[0] for p in procs]
        raise AssertionError(f"DDP workers (gc={gc}) timed out:\n" + "\n".join(logs)) from None
    assert all(p.returncode == 0 for p in procs), "\n".join(logs)


def _ddp_worker(work: Path, gc: bool) -> None:
    import faulthandler
    import gc as gc_module

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    # A hung rank prints every thread's stack before the test's 180 s timeout kills it.
    faulthandler.dump_traceback_later(150, exit=True)

    # A rank that cannot reach the other fails in a minute instead of waiting 30.
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    rank, world = dist.get_rank(), dist.get_world_size()
    data = torch.load(work / "in.pt")
    n = len(data["batch"]["input_ids"]) // world
    half = rows(data["batch"], rank * n, (rank + 1) * n)
    model = llama(data["vocab"])
    model.load_state_dict(data["state"])
    if gc:
        model.activation_checkpointing_enable()
    ddp = DistributedDataParallel(model)
    collector = StepAttentionCollector(model, layers=READ)
    loss, _ = bond_distill_loss(ddp, collector, half, alpha=ALPHA)
    loss.backward()
    out = {"loss": loss.detach(), "grads": [p.grad for p in model.parameters()]}
    torch.save(out, work / f"rank{rank}-gc{int(gc)}.pt")
    # Drop DDP's reducer while the process group still holds its own reference. Were the
    # reducer the last holder, ~ProcessGroupGloo would run under the GIL, joining a gloo
    # thread that waits for the GIL to free a finished allreduce: a torch teardown deadlock
    # (pytorch/pytorch#56297) that hung this worker at exit about one run in five.
    del ddp, loss, out
    gc_module.collect()
    dist.destroy_process_group()


def test_accelerate_launch_two_processes_trains_both_trainers(targets_dir, tmp_path):
    """`accelerate launch --multi_gpu --num_processes 2` of this file's `trainers` worker,
    which sets `use_cpu=True`: accelerate then runs MULTI_CPU over gloo (its `--cpu` flag
    alone starts one process). Each rank trains BondDistillTrainer (gradient checkpointing
    on) and the TRL recipe's BondSFTTrainer (SFTConfig's default activation checkpointing
    left on) for 2 steps: both ranks finish with finite losses, in a world of 2, with the
    same parameters."""
    pytest.importorskip("trl")
    pytest.importorskip("accelerate")
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        __file__,
        "trainers",
        str(tmp_path),
        str(targets_dir),
    ]
    env = worker_env(HF_HOME=str(tmp_path / "hf"))  # no accelerate config file is read
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    got = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for name in ("BondDistillTrainer", "BondSFTTrainer"):
        for g in got:
            run = g[name]
            assert run["world_size"] == 2 and run["distributed_type"] == "MULTI_CPU"
            assert run["checkpointing"] is True
            assert len(run["logs"]) == 2
            assert all(math.isfinite(h[k]) for h in run["logs"] for k in ("loss", "ce", "bond"))
        assert got[0][name]["params"] == got[1][name]["params"]  # kept in sync by DDP


def _trainers_worker(work: Path, targets_dir: Path) -> None:
    from transformers import TrainingArguments
    from trl import SFTConfig

    from bondkd.distill.collate import hf_dataset
    from bondkd.distill.trainer import BondSFTTrainer

    torch.set_num_threads(1)
    tok = char_tokenizer()
    common = dict(
        per_device_train_batch_size=2,
        max_steps=2,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
    )
    runs = {
        "BondDistillTrainer": lambda: BondDistillTrainer(
            model=llama(len(tok)),
            args=TrainingArguments(
                output_dir=str(work / "bdt"), gradient_checkpointing=True, **common
            ),
            train_dataset=TargetDataset(targets_dir),
            data_collator=BondCollator(tok, max_length=300),
            alpha=ALPHA,
            layers=[-1],
        ),
        "BondSFTTrainer": lambda: BondSFTTrainer(
            model=llama(len(tok)),
            args=SFTConfig(
                output_dir=str(work / "sft"),
                bf16=False,
                remove_unused_columns=False,
                dataset_kwargs={"skip_prepare_dataset": True},
                **common,
            ),
            train_dataset=hf_dataset(targets_dir),
            processing_class=tok,
            data_collator=BondCollator(tok, max_length=300),
            alpha=ALPHA,
        ),
    }
    out = {}
    for name, make in runs.items():
        trainer = make()
        trainer.train()
        model = trainer.accelerator.unwrap_model(trainer.model)
        out[name] = {
            "world_size": trainer.args.world_size,
            "distributed_type": str(trainer.accelerator.distributed_type.value),
            "checkpointing": bool(model.is_activation_checkpointing),
            "logs": [
                {k: h[k] for k in ("loss", "ce", "bond")}
                for h in trainer.state.log_history
                if "bond" in h
            ],
            "params": [float(p.detach().double().sum()) for p in model.parameters()],
        }
    rank = int(os.environ["RANK"])
    (work / f"rank{rank}.json").write_text(json.dumps(out))


if __name__ == "__main__":
    torch.set_num_threads(1)
    mode, *rest = sys.argv[1:]
    if mode == "ddp":
        _ddp_worker(Path(rest[0]), bool(int(rest[1])))
    elif mode == "trainers":
        _trainers_worker(Path(rest[0]), Path(rest[1]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
