"""HF `Trainer` integration: one loss step, a Trainer mixin, and the TRL recipe.

`bond_distill_loss` is the single training step every front end calls (the plain loop
of examples/plain_loop.py, `BondDistillTrainer`, `BondSFTTrainer`): the student's
forward pass runs inside `StepAttentionCollector.capture`, and the loss is
``CE + α·L_bond``. Batches come from `bondkd.distill.collate.BondCollator`.

    trainer = BondDistillTrainer(
        model=student, args=TrainingArguments(...), train_dataset=TargetDataset("tgt"),
        data_collator=BondCollator(tokenizer), alpha=0.1,
    )

`BondSFTTrainer` (``BondLossMixin`` over ``trl.SFTTrainer``) is loaded on first access,
so trl stays an optional extra (``bondkd[trl]``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from torch import Tensor
from transformers import Trainer

from bondkd.distill.collate import BOND_KEYS, BondCollator, TargetDataset, hf_dataset
from bondkd.distill.loss import BondKind, TypeWeights, bond_attention_loss, total_loss
from bondkd.distill.student import StepAttentionCollector
from bondkd.errors import BondkdError

__all__ = [
    "BondCollator",
    "BondDistillTrainer",
    "BondLossMixin",
    "TargetDataset",
    "bond_distill_loss",
    "hf_dataset",
]

BondTarget = Literal["energy", "attention"]


def _bond_forward(
    model: Any,
    collector: StepAttentionCollector,
    batch: dict[str, Any],
    *,
    alpha: float,
    target: BondTarget,
    kind: BondKind,
    type_weights: TypeWeights | None,
    normalised: bool = True,
) -> tuple[Tensor, dict[str, float], Any]:
    """`bond_distill_loss` plus the model's outputs (the Trainer's eval needs the logits)."""
    if target not in ("energy", "attention"):
        raise ValueError(f"target must be 'energy' or 'attention', got {target!r}")
    inputs = dict(batch)  # the caller's batch is left as it was
    missing = [k for k in (*BOND_KEYS, "labels") if k not in inputs]
    if missing:
        raise BondkdError(
            f"batch lacks {missing}: build batches with bondkd.distill.collate.BondCollator"
        )
    extra = {k: inputs.pop(k) for k in BOND_KEYS}
    teacher = extra["teacher_energy" if target == "energy" else "teacher_attention"]  # (B, S, S)
    # Rows without an attention component have all-zero teacher rows there, which
    # bond_attention_loss skips: under target="attention" they train on CE alone.
    with collector.capture(extra["token_steps"], n_steps=teacher.shape[-1]) as cap:
        outputs = model(**inputs)
    if getattr(outputs, "loss", None) is None:
        raise BondkdError("the model returned no loss: is it a causal LM given `labels`?")
    attn, step_mask = cap.result(normalised)  # (B, S, S) with grad, (B, S) bool
    bond = bond_attention_loss(
        attn,
        teacher.to(attn.device),
        step_mask,
        bond_types=extra["bond_types"].to(attn.device),  # (B, S, S)
        type_weights=type_weights,
        kind=kind,
    )
    loss, logs = total_loss(outputs.loss, bond, alpha=alpha)
    return loss, {"ce": logs["ce"], "bond": logs["bond"]}, outputs


def bond_distill_loss(
    model: Any,
    collector: StepAttentionCollector,
    batch: dict[str, Any],  # a BondCollator batch, tensors on the model's device
    *,
    alpha: float,
    target: BondTarget = "energy",
    kind: BondKind = "kl",
    type_weights: TypeWeights | None = None,
    normalised: bool = True,
) -> tuple[Tensor, dict[str, float]]:
    """One training step's loss: ``CE + alpha·L_bond`` and {"ce", "bond"} as floats.

    The bondkd keys (`bondkd.distill.collate.BOND_KEYS`) are taken off a copy of `batch`; the
    rest (input_ids, attention_mask, labels) goes to the model inside
    ``collector.capture(token_steps, n_steps=S)``. `target` picks the teacher matrix:
    "energy" (all bond components) or "attention" (the teacher's attention component
    alone; rows whose target has none contribute only CE). `kind` and `type_weights`
    are those of `bond_attention_loss`. `normalised` (default): the student's step
    attention is read on the teacher's scale (`StepCapture.energy`, see docs/training.md,
    "Matching the teacher's scale"); False: the raw attention mass.
    """
    loss, logs, _ = _bond_forward(
        model,
        collector,
        batch,
        alpha=alpha,
        target=target,
        kind=kind,
        type_weights=type_weights,
        normalised=normalised,
    )
    return loss, logs


class BondLossMixin:
    """Turns a HF `Trainer` (or subclass, e.g. `trl.SFTTrainer`) into a bond trainer.

    Extra keyword arguments: alpha (weight of L_bond), bond_target ("energy" or
    "attention"), layers / heads (of the student, see `StepAttentionCollector`),
    type_weights, kind (see `bond_attention_loss`). Pass the Trainer's own arguments by
    keyword. Without a `data_collator`, a ``BondCollator(processing_class)`` is used.

    `compute_loss` is `bond_distill_loss` (a per-batch mean: with gradient accumulation
    the Trainer divides it by the number of micro-batches). ce / bond means since the
    last log are logged as ``ce`` / ``bond`` (training) and ``eval_ce`` / ``eval_bond``
    (evaluation, with evaluate's `metric_key_prefix`).
    ``args.remove_unused_columns`` is set to False: the model's forward signature knows
    nothing of the bondkd keys, and the Trainer would drop them.
    """

    def __init__(
        self,
        *args: Any,
        alpha: float = 0.1,
        bond_target: BondTarget = "energy",
        layers: list[int] | None = None,
        heads: list[int] | None = None,
        type_weights: TypeWeights | None = None,
        kind: BondKind = "kl",
        normalised: bool = True,
        **kwargs: Any,
    ):
        if bond_target not in ("energy", "attention"):
            raise ValueError(f"bond_target must be 'energy' or 'attention', got {bond_target!r}")
        if kwargs.get("compute_loss_func") is not None:
            raise ValueError("compute_loss_func is not used: the loss is bond_distill_loss")
        if kwargs.get("data_collator") is None and kwargs.get("processing_class") is not None:
            kwargs["data_collator"] = BondCollator(kwargs["processing_class"])
        self.bond_alpha, self.bond_target, self.bond_kind = float(alpha), bond_target, kind
        self.bond_type_weights, self.bond_normalised = type_weights, normalised
        self._bond_logs: dict[str, defaultdict[str, list[float]]] = {
            "train": defaultdict(list),
            "eval": defaultdict(list),
        }
        super().__init__(*args, **kwargs)
        trainer: Any = self
        targs = trainer.args
        # Activation (gradient) checkpointing is supported: inside capture() the model's
        # checkpoint functions run non-reentrant and their recomputation replays the capture
        # (bondkd.distill.checkpointing). One it cannot replay (not torch's checkpoint, e.g.
        # DeepSpeed's) raises BondkdError at the first training step.
        if targs.label_smoothing_factor:
            raise ValueError("label_smoothing_factor is not applied by the bond loss: set it to 0")
        targs.remove_unused_columns = False
        # The loss is a per-batch mean, not a sum over num_items_in_batch: let the Trainer
        # divide it by the accumulation steps.
        trainer.model_accepts_loss_kwargs = False
        trainer.loss_is_scaled_for_ga = False
        self.collector = StepAttentionCollector(
            trainer.accelerator.unwrap_model(trainer.model), layers=layers, heads=heads
        )

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        loss, logs, outputs = _bond_forward(
            model,
            self.collector,
            inputs,
            alpha=self.bond_alpha,
            target=self.bond_target,
            kind=self.bond_kind,
            type_weights=self.bond_type_weights,
            normalised=self.bond_normalised,
        )
        mode = "train" if model.training else "eval"
        for k, v in logs.items():
            self._bond_logs[mode][k].append(v)
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        # Same convention as TRL: the model's mode tells a training log from an eval one.
        mode = "train" if self.model.training else "eval"  # type: ignore[attr-defined]
        # An eval log holds "<prefix>_loss" (evaluate's metric_key_prefix, "eval" by default).
        prefix = (
            "" if mode == "train" else next((k[:-4] for k in logs if k.endswith("_loss")), "eval_")
        )
        for k, values in self._bond_logs[mode].items():
            if values:
                logs[prefix + k] = sum(values) / len(values)
        self._bond_logs[mode].clear()
        super().log(logs, *args, **kwargs)  # type: ignore[misc]


class BondDistillTrainer(BondLossMixin, Trainer):
    """`transformers.Trainer` whose loss is ``CE + alpha·L_bond`` (see `BondLossMixin`)."""


_LAZY: dict[str, type] = {}


def __getattr__(name: str) -> Any:
    # trl is imported only when the recipe class is asked for.
    if name == "BondSFTTrainer":
        if name not in _LAZY:
            try:
                import trl
            except ImportError as e:
                raise ImportError("BondSFTTrainer needs trl: pip install 'bondkd[trl]'") from e

            class BondSFTTrainer(BondLossMixin, trl.SFTTrainer):  # type: ignore[misc]
                """`trl.SFTTrainer` whose loss is ``CE + alpha·L_bond``; see docs/training.md."""

            BondSFTTrainer.__module__ = __name__
            BondSFTTrainer.__qualname__ = name
            _LAZY[name] = BondSFTTrainer
        return _LAZY[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
