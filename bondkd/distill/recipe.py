"""Building blocks of the end-to-end recipe (examples/recipe.py): a resumable work
directory of atomic stages, a checkpointed CE + α·L_bond training loop, saving a (LoRA)
student as a plain HF model directory, and the Wilson interval for accuracies.

- `Stages(work)`: `stages.run(name, params, fn)` calls ``fn(tmp)`` with a scratch
  directory ``work/.name.partial`` and renames it to ``work/name`` when ``fn`` returns, so a
  stage's outputs appear all at once or not at all. A stage whose directory exists is
  skipped. Its ``stage.json`` holds the `params` it ran with: a later run with other
  params stops with an error instead of reusing outputs made for other settings. Every
  run and skip is appended to ``work/stages.jsonl``.
- `train_student`: the plain loop of examples/plain_loop.py (`bond_distill_loss` on
  `BondCollator` batches), with linear warm-up, gradient clipping, a seeded epoch-wise
  data order, and a checkpoint (trainable weights, optimiser, step, log) every
  ``ckpt_every`` steps from which it resumes.
- `add_lora`: rank-r LoRA adapters (peft) on every attention and MLP projection.
- `save_student`: LoRA merged into the weights, then ``save_pretrained`` with the
  tokenizer, so `bondkd eval --student DIR` and `AutoModelForCausalLM` read it.
- `wilson`: the 95 % Wilson score interval of k successes in n.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bondkd.distill.loss import BondKind
from bondkd.distill.trainer import BondTarget, bond_distill_loss
from bondkd.errors import BondkdError

STAGE_FILE = "stage.json"
LOG_FILE = "stages.jsonl"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params, default=str))


class Stages:
    """Atomic, skippable stages under one work directory (see the module docstring)."""

    def __init__(self, work: str | Path) -> None:
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.log_path = self.work / LOG_FILE

    def path(self, name: str) -> Path:
        return self.work / name

    def done(self, name: str) -> bool:
        return (self.work / name / STAGE_FILE).is_file()

    def check(self, name: str, params: dict[str, Any]) -> bool:
        """True when the stage is done with these `params` (a run would skip it), False
        when it is not done; `BondkdError` when it was done with other params."""
        final = self.work / name
        if not final.exists():
            return False
        stage = final / STAGE_FILE
        old = json.loads(stage.read_text()).get("params") if stage.is_file() else None
        if old != _jsonable(params):
            raise BondkdError(
                f"{final}: made with other settings ({_diff(old, _jsonable(params))}); "
                "use another --work, or delete that directory to redo the stage"
            )
        return True

    def _log(self, **entry: Any) -> None:
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": _now(), **entry}) + "\n")

    def run(
        self,
        name: str,
        params: dict[str, Any],
        fn: Callable[[Path], Any],
        *,
        keep_partial: bool = False,
    ) -> Path:
        """``work/name``, made by ``fn(tmp)`` unless it exists. `keep_partial`: an
        interrupted run's scratch directory is handed to `fn` again (for stages that
        resume from their own checkpoints) when it was made with the same params;
        otherwise it is emptied first."""
        final, tmp = self.work / name, self.work / f".{name}.partial"
        params = _jsonable(params)
        if self.check(name, params):
            self._log(stage=name, status="skipped")
            return final
        same = (tmp / STAGE_FILE).is_file() and json.loads((tmp / STAGE_FILE).read_text()).get(
            "params"
        ) == params
        if tmp.exists() and not (keep_partial and same):
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / STAGE_FILE).write_text(json.dumps({"params": params}, indent=1))
        t0 = time.perf_counter()
        fn(tmp)
        seconds = round(time.perf_counter() - t0, 1)
        meta = {"params": params, "seconds": seconds, "finished": _now()}
        (tmp / STAGE_FILE).write_text(json.dumps(meta, indent=1))
        os.replace(tmp, final)
        self._log(stage=name, status="ran", seconds=seconds)
        return final

    def seconds(self, name: str) -> float | None:
        """How long the stage took when it ran (None: not done)."""
        if not self.done(name):
            return None
        return json.loads((self.work / name / STAGE_FILE).read_text()).get("seconds")


def _diff(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    if old is None:
        return "no stage.json"
    keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in keys)


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 100
    batch: int = 4
    lr: float = 1e-3
    warmup: int = 10
    alpha: float = 100.0  # weight of L_bond; 0: the CE-only arm
    kind: BondKind = "kl"
    target: BondTarget = "attention"
    ckpt_every: int = 25
    seed: int = 0
    bf16: bool = False  # autocast to bfloat16 (GPU); the step attention stays float32
    clip: float = 1.0


def data_order(n: int, steps: int, batch: int, seed: int) -> np.ndarray:
    """(steps, batch) item indices: a fresh seeded permutation of the n items per epoch."""
    if n < 1:
        raise BondkdError("no training targets: every trace was gated out or unreadable")
    rng = np.random.default_rng(seed)
    epochs = math.ceil(steps * batch / n)
    return np.concatenate([rng.permutation(n) for _ in range(epochs)])[: steps * batch].reshape(
        steps, batch
    )


def _trainable(model: Any) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}


def train_student(
    model: Any,
    collector: Any,  # bondkd.distill.student.StepAttentionCollector over `model`
    data: Sequence[Any],  # TeacherTargets, e.g. a TargetDataset
    collate: Callable[[list[Any]], dict[str, torch.Tensor]],  # a BondCollator
    cfg: TrainConfig,
    ckpt: Path,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train the trainable parameters of `model` for ``cfg.steps`` steps of
    ``CE + cfg.alpha·L_bond``; resumes from `ckpt` when it exists. Returns one
    {"step", "lr", "loss", "ce", "bond"} dict per step (those before a resume included)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    step, log = 0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        if state["config"] != asdict(cfg):
            raise BondkdError(f"{ckpt}: a checkpoint of other training settings")
        missing = set(state["trainable"]) - set(_trainable(model))
        if missing:
            raise BondkdError(f"{ckpt}: weights this student does not train: {sorted(missing)[:3]}")
        model.load_state_dict(state["trainable"], strict=False)
        opt.load_state_dict(state["opt"])
        step, log = state["step"], state["log"]
    order = data_order(len(data), cfg.steps, cfg.batch, cfg.seed)
    device = next(model.parameters()).device
    model.train()
    while step < cfg.steps:
        batch = collate([data[int(k)] for k in order[step]])
        # token_steps stays on the CPU, where the collector indexes with it.
        batch = {k: v if k == "token_steps" else v.to(device) for k, v in batch.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            loss, logs = bond_distill_loss(
                model, collector, batch, alpha=cfg.alpha, target=cfg.target, kind=cfg.kind
            )
        if not torch.isfinite(loss):
            raise BondkdError(f"step {step + 1}: non-finite loss {float(loss)}")
        lr = cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        step += 1
        log.append({"step": step, "lr": lr, "loss": float(loss.detach()), **logs})
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            state = {"trainable": _trainable(model), "opt": opt.state_dict(), "step": step}
            tmp = ckpt.with_name(ckpt.name + ".tmp")
            torch.save({**state, "log": log, "config": asdict(cfg)}, tmp)
            os.replace(tmp, ckpt)
        if on_step is not None:
            on_step(step, log[-1])
    return log


# Every attention and MLP projection of Llama/Qwen-style models.
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def add_lora(model: Any, rank: int, targets: Sequence[str] = LORA_TARGETS, seed: int = 0) -> Any:
    """`model` frozen, with rank-`rank` LoRA adapters (peft; lora_alpha 2·rank, no dropout,
    seeded init) on `targets`, the only weights that train: the settings of
    examples/distill_gsm8k.py's `make_student(..., lora)`."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    cfg = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=list(targets))
    return get_peft_model(model, cfg)


def save_student(model: Any, tokenizer: Any, out: Path) -> None:
    """`model` (a peft model: its LoRA merged into the weights) and `tokenizer` as one HF
    model directory."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials (z = 1.96: 95 %); (nan, nan)
    for n = 0."""
    if n <= 0:
        return (math.nan, math.nan)
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # The bounds at k = 0 and k = n are exactly 0 and 1 (rounding would miss them).
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    return (lo, 1.0 if k == n else min(1.0, centre + half))


# -- progress (the recipe's stages) ----------------------------------------------------


class Bar:
    """A rich progress bar on a terminal; elsewhere a line every 10 % and at the end."""

    def __init__(self, label: str, total: int) -> None:
        from rich.console import Console

        self.label, self.total, self.done, self.shown = label, total, 0, -1
        self.live = Console(stderr=True).is_terminal
        self.text = ""
        self.t0 = time.perf_counter()
        if self.live:
            from rich import progress as rp

            self.progress = rp.Progress(rp.TextColumn(label), rp.BarColumn(),
                                        rp.MofNCompleteColumn(), rp.TimeElapsedColumn(),
                                        rp.TimeRemainingColumn(),
                                        rp.TextColumn("{task.fields[text]}"))  # fmt: skip
            self.task = self.progress.add_task(label, total=total, text="")
            self.progress.start()

    def update(self, done: int, text: str = "") -> None:
        self.done, self.text = done, text
        if self.live:
            self.progress.update(self.task, completed=done, text=text)
        elif self.total and (10 * done // self.total > self.shown or done == self.total):
            self.shown = 10 * done // self.total
            took = time.perf_counter() - self.t0
            print(f"{self.label}: {done}/{self.total} ({took:.0f} s) {text}", flush=True)

    def close(self) -> None:
        if self.live:
            self.progress.stop()


@contextmanager
def bar(label: str, total: int) -> Iterator[Bar]:
    b = Bar(label, total)
    try:
        yield b
    finally:
        b.close()


@contextmanager
def watch_lines(label: str, path: Path, total: int) -> Iterator[None]:
    """A bar over the lines of `path` (a file another call appends to), polled."""
    stop = threading.Event()

    def poll(b: Bar) -> None:
        while not stop.wait(0.5):
            with suppress(OSError):
                b.update(count_lines(path))

    with bar(label, total) as b:
        thread = threading.Thread(target=poll, args=(b,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            if path.exists():
                b.update(count_lines(path))


def count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())
