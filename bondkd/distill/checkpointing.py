"""Activation checkpointing under the step-attention capture: the recomputation replays it.

Supported: HF's (`model.gradient_checkpointing_enable()` / `activation_checkpointing_enable()`, the
Trainer's `gradient_checkpointing=True`, which call `torch.utils.checkpoint.checkpoint`
through each layer's `_gradient_checkpointing_func`) and torch's `CheckpointWrapper`
(`apply_activation_checkpointing`, through its `checkpoint_fn`). Backward recomputes a
checkpointed layer after `capture` has exited, so inside `capture` each of those
functions is wrapped: it runs torch's non-reentrant checkpoint with a `context_fn` whose recompute
context *replays* this capture (the ContextVar set again, the bondkd attention
implementation set again on the model's configs), so the recomputation runs the very ops
of the forward (same saved tensors) but adds no step mass and does not count as the layer
running twice. Non-reentrant is forced (`use_reentrant=True` asked for is overridden, with
a warning): reentrant checkpointing runs the forward under `no_grad` and gives gradients
only to the function's outputs, and the step mass leaves the layer as a side output. A
checkpoint function that is neither torch's nor transformers' (e.g. DeepSpeed's) raises
`BondkdError` when it is called inside `capture`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import partial
from typing import Any

from torch.utils.checkpoint import checkpoint, noop_context_fn
from transformers import PreTrainedModel

from bondkd.errors import BondkdError

# Makes the capture active again, as a replay, for one recomputation.
Replay = Callable[[], AbstractContextManager[Any]]

_ATTN = "_attn_implementation_internal"  # what `config._attn_implementation` reads


def _configs(model: Any) -> list[Any]:
    """The distinct configs whose attention implementation `set_attn_implementation` sets."""
    seen: dict[int, Any] = {id(model.config): model.config}
    for m in model.modules():
        if isinstance(m, PreTrainedModel):
            seen.setdefault(id(m.config), m.config)
    return [c for c in seen.values() if hasattr(c, _ATTN)]


class _Replaying:
    """The recompute context of a checkpointed layer: the attention implementations the
    forward ran with and the capture active again as a replay (`replay()`, a context
    manager), inside the user's own recompute context `inner`. Reusable: torch enters the
    same object at each recomputation (backward with `retain_graph` recomputes again)."""

    def __init__(self, replay: Replay, impls: list[tuple[Any, Any]], inner: Any):
        self.replay, self.impls, self.inner = replay, impls, inner
        self._undo: list[tuple[list[tuple[Any, Any]], Any]] = []

    def __enter__(self) -> None:
        self.inner.__enter__()
        before = [(c, getattr(c, _ATTN)) for c, _ in self.impls]
        for c, v in self.impls:
            setattr(c, _ATTN, v)
        active = self.replay()
        active.__enter__()
        self._undo.append((before, active))

    def __exit__(self, *exc: Any) -> Any:
        before, active = self._undo.pop()
        active.__exit__(None, None, None)
        for c, v in before:
            setattr(c, _ATTN, v)
        return self.inner.__exit__(*exc)


def _is_torch_checkpoint(fn: Any) -> bool:
    """`fn` ends in `torch.utils.checkpoint.checkpoint` and passes its keywords on to it:
    the function itself, a partial of it, or transformers' offloading wrapper."""
    inner = fn.func if isinstance(fn, partial) else fn
    if inner is checkpoint:
        return True
    # activation_checkpointing_enable(offload=True): a closure calling checkpoint(**kwargs)
    module, name = getattr(inner, "__module__", ""), getattr(inner, "__name__", "")
    return module == "transformers.modeling_utils" and name == "checkpoint_func"


def _replaying_checkpoint(fn: Any, replay: Replay, impls: list[tuple[Any, Any]]) -> Any:
    """`fn` (a model's checkpoint function), non-reentrant, its recompute in `replay()`."""
    if not _is_torch_checkpoint(fn):

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise BondkdError(
                f"activation checkpointing through {fn!r} is not supported with the step "
                "attention capture: only torch.utils.checkpoint.checkpoint (HF "
                "gradient_checkpointing_enable, torch's checkpoint_wrapper) can replay it"
            )

        return refuse
    keywords = fn.keywords if isinstance(fn, partial) else {}
    if keywords.get("use_reentrant"):
        warnings.warn(
            "bondkd: activation checkpointing runs with use_reentrant=False inside "
            "StepAttentionCollector.capture(): reentrant checkpointing gives no gradient "
            "to the step attention, a side output of the layer",
            stacklevel=2,
        )
    user_context = keywords.get("context_fn", noop_context_fn)

    def contexts() -> tuple[Any, Any]:
        forward, recompute = user_context()
        return forward, _Replaying(replay, impls, recompute)

    def run(function: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(function, *args, use_reentrant=False, context_fn=contexts, **kwargs)

    return run


@contextmanager
def checkpoints_replay(model: Any, replay: Replay) -> Iterator[None]:
    """Inside the block, every checkpoint function of `model` (HF layers with
    `gradient_checkpointing` on, torch `CheckpointWrapper`s) runs backward's recomputation
    of its layer inside `replay()`. Restored on exit."""
    sites: list[tuple[Any, str]] = []
    for m in model.modules():
        if getattr(m, "gradient_checkpointing", False) is True and hasattr(
            m, "_gradient_checkpointing_func"
        ):
            sites.append((m, "_gradient_checkpointing_func"))
        elif type(m).__name__ == "CheckpointWrapper" and hasattr(m, "checkpoint_fn"):
            sites.append((m, "checkpoint_fn"))
    if not sites:
        yield
        return
    impls = [(c, getattr(c, _ATTN)) for c in _configs(model)]
    with ExitStack() as stack:
        for m, attr in sites:
            own = attr in vars(m)
            old = getattr(m, attr)
            setattr(m, attr, _replaying_checkpoint(old, replay, impls))
            stack.callback(_restore, m, attr, old, own)
        yield


def _restore(m: Any, attr: str, old: Any, own: bool) -> None:
    if own:
        setattr(m, attr, old)
    else:
        delattr(m, attr)
