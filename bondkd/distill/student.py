"""Student step attention for training: differentiable, memory-bounded, one QKᵀ per layer.

`StepAttentionCollector(model).capture(token_steps)` wraps one training forward pass of
a HF causal LM whose attention modules call transformers' `AttentionInterface` and carry
`layer_idx` (tested: llama with GQA, gpt2) and yields, for the selected layers/heads,

    A[b, j, i] = mean over selected (layer, head) and over the query tokens t of step j
                 of Σ_{key tokens u of step i} softmax(q_t·k_u·scale + mask)[u]

(B, S, S), with autograd into the model's parameters. Only i < j is kept (diagonal and
upper triangle are zero): `bond_attention_loss` reads nothing else. `spans_to_token_steps`
maps the teacher's character spans onto the student's tokens, so tokenizers and head
counts may differ.

One QKᵀ per read layer: inside `capture` the attention implementation is
``bondkd_student_<base>``, registered with <base>'s mask function (same masks). For the
selected layers it computes softmax(QKᵀ) from the post-RoPE query/key states it receives,
chunk by chunk, and takes from the same probabilities both the step attention and the
layer output (their product with the values; SDPA's within 1e-5 in float32, padding rows
0 as SDPA gives them). Recomputing the probabilities beside <base> cost a second QKᵀ and
softmax per layer, forward and backward. With attention dropout on, <base> gives the
output (with its dropout) and the chunks give only the step attention. Layers not read
run <base> untouched.

Memory O(B·S² + chunk·T) per layer, not O(T²): queries go `chunk` at a time; a chunk's
(B, H, C, T) probabilities are at once summed over heads and reduced to (B, S, S) by
segment sums (`scatter_add` by step index: keys per step, then queries per step; O(C·T)
work, where a one-hot matmul would cost O(C·T·S)), under `torch.utils.checkpoint`, so
autograd keeps only the chunk's inputs (q/k/v the layer holds anyway, the (B, T) step
index, the model's own mask) and backward recomputes the chunk. `saved_tensor_bytes`
measures it. Not supported: KV caches, flex BlockMasks, logit
soft-capping or sinks.

Activation (gradient) checkpointing of the model's layers is supported: backward's
recomputation of a read layer replays the capture (`bondkd.distill.checkpointing`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from bondkd.config import AttentionConfig
from bondkd.distill.checkpointing import checkpoints_replay
from bondkd.energy.attention import token_steps
from bondkd.energy.engine import depth_layers, resolve_indices
from bondkd.errors import BondkdError

PREFIX = "bondkd_student_"
# A chunk's scores stay under this many floats (256 MB in float32): the chunk shrinks.
SCORE_BUDGET = 1 << 26
_NEG = torch.finfo(torch.float32).min  # not -inf: a fully masked (padding) row stays finite


def spans_to_token_steps(offsets: Any, spans: Sequence[Any], shift: int = 0) -> Tensor:
    """Teacher step of each student token, from character offsets.

    offsets: (T, 2) start/end character of each token in the student's text (a fast
    tokenizer's `return_offsets_mapping`; specials and padding are (0, 0)), or (B, T, 2)
    with `spans` one list per row. spans: [(start, end)] of the teacher's steps, in the
    same text shifted by `shift` characters (e.g. the length of a prompt prefix).
    Returns (T,) or (B, T) int64: the step whose span the token overlaps most, -1 for
    tokens in no step (prompt, separators, specials, padding).
    """
    off = np.asarray(offsets.cpu() if isinstance(offsets, Tensor) else offsets, dtype=np.int64)
    if off.ndim == 3:
        rows = [spans_to_token_steps(o, s, shift) for o, s in zip(off, spans, strict=True)]
        return torch.stack(rows) if rows else torch.zeros(0, off.shape[1], dtype=torch.long)
    off = off.reshape(-1, 2)
    pairs = [(int(s), int(e)) for s, e in spans]
    # The char -> step table must reach past the text's end and every span.
    n_chars = max([int(off.max(initial=0))] + [shift + e for _, e in pairs])
    return torch.from_numpy(np.asarray(token_steps(off, pairs, shift, n_chars))).long()


def saved_tensor_bytes(fn: Callable[[], Any]) -> int:
    """Bytes of the distinct storages autograd saves for backward while `fn()` runs
    (checkpoint inputs and parameters included, each storage counted once)."""
    keep: dict[int, Tensor] = {}  # held, so no freed data_ptr is reused by another storage

    def pack(t: Tensor) -> Tensor:
        keep.setdefault(t.untyped_storage().data_ptr(), t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(t.untyped_storage().nbytes() for t in keep.values())


class StepCapture:
    """What one `capture` collects; read `attention` / `step_mask` after the forward."""

    def __init__(self, collector: StepAttentionCollector, steps: Tensor, n_steps: int):
        self.layers, self.heads, self.chunk = collector.layers, collector.heads, collector.chunk
        self.n_sel_heads = collector.n_heads if self.heads is None else len(self.heads)
        self.steps = steps  # (B, T) int64 on the CPU, -1: token in no step
        self.n_steps = n_steps
        self._acc: Tensor | None = None  # (B, S, S) float32: Σ over layers, heads, queries
        # (B, T) int64: each token's step, S for tokens in no step (a bucket sliced off)
        self._index = torch.where(steps < 0, n_steps, steps)
        self._seen: set[int] = set()

    @property
    def step_mask(self) -> Tensor:
        """(B, S) bool: step s has a token in row b (rows with fewer steps pad to S)."""
        return (self.steps[:, :, None] == torch.arange(self.n_steps)).any(1)

    @property
    def attention(self) -> Tensor:
        """(B, S, S) float32 with autograd: the mean step attention, zero where i >= j."""
        missing = [x for x in self.layers if x not in self._seen]
        if missing:
            raise BondkdError(
                f"layers {missing} never called the '{PREFIX}*' attention function: no forward "
                "ran inside capture(), or the architecture bypasses transformers' "
                "AttentionInterface (tested: llama, gpt2)"
            )
        assert self._acc is not None
        count = self._per_step(torch.ones(self.steps.shape)) * (
            len(self.layers) * self.n_sel_heads
        )  # (B, S)
        lower = torch.ones_like(self._acc[0], dtype=torch.bool).tril(-1)  # (S, S)
        return torch.where(lower, self._acc / count.clamp_min(1)[:, :, None], 0.0)

    @property
    def energy(self) -> Tensor:
        """(B, S, S) with autograd: the attention read as the teacher's attention component
        is (`bondkd.energy.attention.normalise`): r / (1 + r) with r = A / uniform, where
        uniform[j, i] = |tokens of i| · mean over tokens t of j of 1 / (position(t) + 1)
        is the mass an even spread over the visible keys would give (positions count
        from the row's first token: right padding, as `BondCollator` pads). Raw mass grows with
        step i's length; this does not, so it is the student quantity to compare with (or
        train towards) the teacher's attention component. Zero where i >= j."""
        attn = self.attention  # (B, S, S)
        t = self.steps.shape[1]
        inv = 1.0 / torch.arange(1, t + 1, dtype=torch.float32)  # (T,)
        count = self._per_step(torch.ones(self.steps.shape)).to(attn.device)  # (B, S)
        mean_inv = self._per_step(inv.expand(self.steps.shape)).to(attn.device)
        mean_inv = mean_inv / count.clamp_min(1)  # (B, S)
        uniform = mean_inv[:, :, None] * count[:, None, :]  # (B, S, S)
        ok = (attn > 0) & (uniform > 0)
        return torch.where(ok, attn / torch.where(ok, attn + uniform, 1.0), 0.0)

    def result(self, normalised: bool = False) -> tuple[Tensor, Tensor]:
        """(attention (B, S, S), step_mask (B, S)), ready for `bond_attention_loss`;
        `normalised` gives `energy` instead of the raw attention mass."""
        attn = self.energy if normalised else self.attention
        return attn, self.step_mask.to(attn.device)

    def _per_step(self, x: Tensor) -> Tensor:  # (B, T) -> (B, S): sums per step
        out = x.new_zeros((x.shape[0], self.n_steps + 1)).scatter_add_(1, self._index, x)
        return out[:, : self.n_steps]

    def _add(
        self,
        layer: int,
        query: Tensor,  # (B, H, T, D), post-RoPE
        key: Tensor,  # (B, Hkv, T, D)
        value: Tensor | None,  # (B, Hkv, T, Dv); None: the base implementation gives the output
        mask: Any,
        scale: float | None,
        causal: bool,
        replay: bool = False,
    ) -> Tensor | None:  # (B, H, T, Dv) layer output when `value` is given
        """Accumulate one layer's step attention; with `value`, also return the layer output
        computed from the same scores. `replay`: backward's recomputation of a checkpointed
        layer, which runs the same ops but adds nothing (the forward already counted it)."""
        if layer in self._seen and not replay:
            raise BondkdError(f"layer {layer} ran twice: one forward pass per capture()")
        if mask is not None and not isinstance(mask, Tensor):
            raise BondkdError(f"unsupported attention mask {type(mask).__name__} (flex?)")
        b, _, t, dim = query.shape
        if tuple(self.steps.shape) != (b, t) or key.shape[2] != t:
            raise BondkdError(
                f"token_steps {tuple(self.steps.shape)} do not match a prefill of {b}×{t} "
                f"queries and {key.shape[2]} keys (no KV cache may be used)"
            )
        if not replay:
            self._seen.add(layer)
        s = self.n_steps
        index = self._index.to(query.device)
        scale = dim**-0.5 if scale is None else scale
        heads = None if self.heads is None else torch.tensor(self.heads, device=query.device)
        acc = query.new_zeros((b, s, s), dtype=torch.float32)
        counted = (self.steps >= 0).any(0).nonzero()
        if value is not None:  # every query needs its output
            q_lo, q_hi = 0, t
        else:  # queries in no step add nothing: only the span holding step tokens is computed
            q_lo, q_hi = (int(counted[0]), int(counted[-1]) + 1) if len(counted) else (0, 0)
        n_scored = query.shape[1] if value is not None else self.n_sel_heads
        chunk = max(1, min(self.chunk, SCORE_BUDGET // (b * n_scored * t)))
        track = torch.is_grad_enabled() and (query.requires_grad or key.requires_grad)
        outs: list[Tensor] = []
        for c0 in range(q_lo, q_hi, chunk):
            c1 = min(c0 + chunk, q_hi)
            # Pure causal: keys after the chunk's last query are invisible.
            kv_end = c1 if mask is None and causal else t
            fn = partial(
                _chunk_mass, c0=c0, c1=c1, kv_end=kv_end, scale=scale, causal=causal, n_steps=s
            )
            args = (query, key, value, index, mask, heads)
            if track:
                # Backward recomputes the chunk's (B, H, C, T) probabilities instead of
                # autograd storing them: this keeps saved memory free of T².
                out, part = checkpoint(fn, *args, use_reentrant=False, preserve_rng_state=False)
            else:
                out, part = fn(*args)
            acc = acc + part  # an add saves nothing for backward
            if out is not None:
                outs.append(out)
        if not replay:
            self._acc = acc if self._acc is None else self._acc + acc
        return torch.cat(outs, dim=2).to(query.dtype) if value is not None else None


# The capture the attention function feeds, and whether this is backward's replay of it.
_ACTIVE: ContextVar[tuple[StepCapture, bool] | None] = ContextVar("bondkd_student", default=None)


def _chunk_mass(
    query: Tensor,  # (B, H, T, D)
    key: Tensor,  # (B, Hkv, T, D)
    value: Tensor | None,  # (B, Hkv, T, Dv) or None: step mass only
    index: Tensor,  # (B, T) int64: step of each token, S for none
    mask: Tensor | None,  # None, (B|1, 1|H, T, T) bool/additive, or (B, T) key padding
    heads: Tensor | None,  # (H_sel,) or None: all
    *,
    c0: int,
    c1: int,
    kv_end: int,
    scale: float,
    causal: bool,
    n_steps: int,
) -> tuple[Tensor | None, Tensor]:  # (B, H, C, Dv) float32 or None, (B, S, S)
    """Mass of query tokens c0..c1 of each step j onto each step i, summed over heads,
    and with `value` the attention output of those queries from the same probabilities.

    Always float32, autocast off: under bf16/fp16 autocast the matmuls would drop back to
    half precision and the float32 mask fill value would overflow it."""
    with torch.autocast(query.device.type, enabled=False):
        return _chunk_mass_f32(
            query, key, value, index, mask, heads, c0, c1, kv_end, scale, causal, n_steps
        )


def _chunk_mass_f32(
    query, key, value, index, mask, heads, c0, c1, kv_end, scale, causal, n_steps
) -> tuple[Tensor | None, Tensor]:
    b, n_heads, _, dim = query.shape
    n_kv, c = key.shape[1], c1 - c0
    group = n_heads // n_kv
    q, k = query[:, :, c0:c1].float(), key[:, :, :kv_end].float()
    if heads is not None and value is None:
        q = q.index_select(1, heads)
        k = k.index_select(1, torch.div(heads, group, rounding_mode="floor"))  # GQA
        scores = (q @ k.transpose(-1, -2)) * scale  # (B, H_sel, C, K)
    else:
        # GQA without repeating keys: the G query heads of one KV head are stacked.
        q = q.reshape(b, n_kv, group * c, dim)
        scores = (q @ k.transpose(-1, -2)).view(b, n_heads, c, kv_end) * scale
    if mask is not None and mask.ndim == 4:
        keep = mask[:, :, c0:c1, :kv_end]
        if keep.shape[1] > 1 and heads is not None and value is None:
            keep = keep.index_select(1, heads)
        if keep.dtype == torch.bool:
            scores = scores.masked_fill(~keep, _NEG)
        else:  # additive (eager masks); the clamp keeps min + min from becoming -inf
            scores = (scores + keep.float()).clamp_min(_NEG)
            keep = keep > _NEG
    else:
        keep = torch.ones(c, kv_end, dtype=torch.bool, device=scores.device)
        if causal:
            pos = torch.arange(kv_end, device=scores.device)
            keep = pos[None, :] <= pos[c0:c1, None]
        if mask is not None:  # (B, T) key padding, as flash implementations get it
            keep = (keep[None] & mask[:, None, :kv_end].bool())[:, None]
        scores = scores.masked_fill(~keep, _NEG)
    probs = scores.softmax(-1)  # (B, H | H_sel, C, K)
    out = None
    if value is not None:
        v = value[:, :, :kv_end].float()  # (B, Hkv, K, Dv)
        out = (probs.reshape(b, n_kv, group * c, kv_end) @ v).view(b, n_heads, c, -1)
        # A query that sees no key (a padding row) gets output 0, as SDPA gives.
        out = out.masked_fill(~keep.any(-1, keepdim=True), 0.0)
        if heads is not None:
            probs = probs.index_select(1, heads)
    per_key = probs.sum(1)  # (B, C, K), summed over heads
    s1 = n_steps + 1  # the last bucket: tokens in no step
    keys = index[:, None, :kv_end].expand(b, c, kv_end)
    per_query = per_key.new_zeros((b, c, s1)).scatter_add(2, keys, per_key)  # keys per step
    rows = index[:, c0:c1, None].expand(b, c, s1)
    both = per_query.new_zeros((b, s1, s1)).scatter_add(1, rows, per_query)  # queries per step
    return out, both[:, : s1 - 1, : s1 - 1]


def _make_forward(base: str) -> Callable[..., Any]:
    """The attention function of ``PREFIX + base``: <base>'s output plus the capture."""

    def forward(module: Any, query: Tensor, key: Tensor, value: Tensor, mask: Any, **kw: Any):
        cap, replay = _ACTIVE.get() or (None, False)
        layer = getattr(module, "layer_idx", None)
        if cap is not None and layer in cap.layers:
            for bad in ("softcap", "s_aux", "sinks", "position_bias"):
                if kw.get(bad) is not None:
                    raise BondkdError(f"student step attention: '{bad}' is not supported")
            causal = kw.get("is_causal")
            causal = getattr(module, "is_causal", True) if causal is None else causal
            # The output comes from the same probabilities as the step attention (one QKᵀ),
            # unless attention dropout is on: then <base> applies it.
            mine = not kw.get("dropout", 0.0)
            out = cap._add(
                layer,
                query,
                key,
                value if mine else None,
                mask,
                kw.get("scaling"),
                bool(causal),
                replay=replay,
            )
            if out is not None:
                return out.transpose(1, 2).contiguous(), None
        if base != "eager":
            fn = ALL_ATTENTION_FUNCTIONS[base]
        else:  # "eager" is not in the interface: each model file has its own function
            own = getattr(sys.modules.get(type(module).__module__), "eager_attention_forward", None)
            fn = own if callable(own) else sdpa_attention_forward
        # The layer output: <base> with exactly the arguments the model passed.
        return fn(module, query, key, value, mask, **kw)

    return forward


def _register(base: str) -> str:
    name = PREFIX + base
    if name not in ALL_ATTENTION_FUNCTIONS.valid_keys():
        AttentionInterface.register(name, _make_forward(base))
        mask_fn: Any = ALL_MASK_ATTENTION_FUNCTIONS._global_mapping.get(base)
        if mask_fn is not None:  # the masks <base> itself would get
            AttentionMaskInterface.register(name, mask_fn)
    return name


class StepAttentionCollector:
    """Differentiable step attention of selected layers/heads of a causal LM.

    layers / heads: indices (negative from the end); layers=None takes those at relative
    depth `AttentionConfig.depth` (0.55-0.58: one layer), heads=None all heads. chunk: query tokens
    per recomputed block. Once per training step::

        collector = StepAttentionCollector(model)
        with collector.capture(token_steps) as cap:  # (B, T), -1: no step
            out = model(input_ids=ids, attention_mask=mask, labels=labels)
        attn, step_mask = cap.result()  # (B, S, S) with grad, (B, S) bool
        loss = out.loss + alpha * bond_attention_loss(attn, teacher_energy, step_mask)
    """

    def __init__(
        self,
        model: Any,
        layers: Sequence[int] | None = None,
        heads: Sequence[int] | None = None,
        chunk: int = 256,
    ):
        self.model = model
        cfg = model.config
        n_layers = int(getattr(cfg, "num_hidden_layers", 0) or getattr(cfg, "n_layer", 0))
        self.n_heads = int(getattr(cfg, "num_attention_heads", 0) or getattr(cfg, "n_head", 0))
        sel = resolve_indices(layers, n_layers, "layer")
        if sel is None:
            sel = depth_layers(AttentionConfig().depth, n_layers)
        self.layers: list[int] = sel
        self.heads = resolve_indices(heads, self.n_heads, "head")
        self.chunk = max(1, int(chunk))

    @contextmanager
    def capture(self, token_steps: Tensor, n_steps: int | None = None) -> Iterator[StepCapture]:
        """Collect during the one forward pass run inside the block.

        token_steps: (B, T) or (T,) int, each input token's step, -1 for none (prompt,
        specials, padding). n_steps: S (default: largest step + 1). The attention
        implementation is restored on exit; the yielded `StepCapture` stays readable.
        """
        steps = token_steps.long().reshape(-1, token_steps.shape[-1]).cpu()
        top = int(steps.max()) + 1 if steps.numel() else 0
        s = top if n_steps is None else int(n_steps)
        if s < top:
            raise ValueError(f"token_steps hold step {top - 1} but n_steps={s}")
        cap = StepCapture(self, steps, s)
        previous = str(self.model.config._attn_implementation)
        if previous.startswith(PREFIX):
            raise BondkdError("StepAttentionCollector.capture() cannot be nested")
        self.model.set_attn_implementation(_register(previous))
        token = _ACTIVE.set((cap, False))
        try:
            with checkpoints_replay(self.model, partial(_replaying, cap)):
                yield cap
        finally:
            _ACTIVE.reset(token)
            self.model.set_attn_implementation(previous)


@contextmanager
def _replaying(cap: StepCapture) -> Iterator[None]:
    """`cap` active again as a replay: backward's recomputation of a checkpointed layer."""
    token = _ACTIVE.set((cap, True))
    try:
        yield
    finally:
        _ACTIVE.reset(token)
