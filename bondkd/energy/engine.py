"""Step-level attention mass in one forward pass and bounded memory.

For step pairs (j, i) we want how much the tokens of step j attend to the tokens
of step i. `output_attentions=True` would hold every layer's (B, H, T, T) map —
gigabytes at 8k tokens — so instead the model runs with a custom attention
function registered as ``"bondkd"`` in transformers' `AttentionInterface`:

* for the layers not read, the layer output is computed by transformers' own
  `sdpa_attention_forward` (so those layers are exactly the "sdpa" implementation);
* for the selected layers, one pass (`_attend`), under `torch.no_grad()`, C query tokens
  at a time: the chunk's scores QKᵀ are computed once, softmaxed, and give both the
  layer output (their product with the values; equal to SDPA's within 1e-5 in float32,
  tests/test_engine.py) and the step mass (key tokens segment-summed per step ->
  (H, C, S), then query tokens summed per step into a kept (H, S, S) accumulator).
  Transient memory is O(H·C·T) per layer, kept memory O(L_sel·H·S²). Recomputing the
  softmax beside SDPA instead cost a second QKᵀ and a second, slower softmax per layer
  read (1.17-1.74x a bare forward, docs/benchmarks.md); with the output taken from the
  same scores a layer read costs about what SDPA costs, plus the memory-bound passes
  over the chunk's scores, which small chunks (`chunk`, default 64) keep near the cache.
  When the output must carry gradients (training) SDPA gives it and the pass reads only
  the mass; after the last layer read no output is needed at all.

GQA: keys are never repeated per head; the queries of the G heads sharing a KV
head are stacked, (Hkv, T, D) @ (Hkv, D, G·C). Masks: `attention_mask=None` means
pure causal (the causal block of a chunk is built on the fly, and keys after the
chunk's last query are skipped); a 4D bool/additive mask (padding, sliding window)
is read chunk-wise, so left and right padding are both exact. The mask function is
transformers' `sdpa_mask`, which materialises nothing when the mask is plain causal.
Softmax normalisation is deferred: exp(scores - max) is summed per step, and the
row total is the sum over all step buckets plus the bucket of keys in no step.
Query chunks shrink below `chunk` when H·C·T would exceed `SCORE_BUDGET` floats.
The `stop_early` option aborts the forward after the last selected layer.

Supported: any decoder-only model whose attention modules call
`ALL_ATTENTION_FUNCTIONS.get_interface` and carry `layer_idx` (tested: llama,
qwen2, qwen3, mistral and gemma3 with sliding windows, gpt2). Logit soft-capping
(gemma2), attention sinks and position-bias models raise `BondkdError`, as does a
model whose selected layers never reach the interface.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from bondkd.energy.kernels import segment_sum
from bondkd.errors import BondkdError

ENGINE = "bondkd"
TESTED = "llama, qwen2, qwen3, mistral, gemma, gemma3, gpt2"
# Query chunks shrink below `chunk` so a chunk's scores stay under this many floats
# (256 MB in float32): at 32k tokens and 9 heads, 227 queries at a time.
SCORE_BUDGET = 1 << 26


@dataclass
class StepMass:
    """What one `capture` collects. `mass[layer]` is (B, H_sel, S, S) float64:
    mass[l][b, h, j, i] = sum over query tokens t of step j of the summed softmax
    attention from t onto the key tokens of step i. With `per_head=False` only the
    sum over selected layers and heads is kept, (B, S, S) in `total`."""

    layers: list[int]  # absolute layer indices, ascending
    heads: list[int] | None  # absolute head indices, None: all
    n_steps: int
    chunk: int
    token_step: Tensor  # (B, T) int64, -1 for tokens in no step (and padding)
    mass: dict[int, Tensor] = field(default_factory=dict)
    model_type: str = "?"
    stop_early: bool = False
    per_head: bool = True
    total: Tensor | None = None  # (B, S, S) when not per_head
    seen: set[int] = field(default_factory=set)

    def _complete(self) -> None:
        missing = [layer for layer in self.layers if layer not in self.seen]
        if missing:
            raise BondkdError(
                f"architecture '{self.model_type}' not supported by the attention engine: "
                f"layers {missing} never called the '{ENGINE}' attention function "
                f"(supported: {TESTED})"
            )

    def stacked(self) -> Tensor:
        """(L_sel, B, H_sel, S, S) float64, layers in `self.layers` order."""
        self._complete()
        if not self.per_head:
            raise ValueError("captured with per_head=False: use summed()")
        return torch.stack([self.mass[layer] for layer in self.layers])

    def summed(self) -> Tensor:
        """(B, S, S) float64: the sum over selected layers and heads."""
        self._complete()
        if self.per_head:
            return self.stacked().sum(dim=(0, 2))
        assert self.total is not None
        return self.total

    def add(self, layer: int, step_mass: Tensor) -> None:  # (B, H_sel, S, S)
        self.seen.add(layer)
        if self.per_head:
            old = self.mass.get(layer)
            self.mass[layer] = step_mass if old is None else old + step_mass
        else:
            head_sum = step_mass.sum(dim=1)
            self.total = head_sum if self.total is None else self.total + head_sum


class _StopForward(Exception):
    """Raised after the last selected layer: the rest of the forward is not needed."""


_ACTIVE: ContextVar[StepMass | None] = ContextVar("bondkd_capture", default=None)


def resolve_indices(idx: Sequence[int] | None, n: int, what: str) -> list[int] | None:
    """Absolute, sorted, unique indices (negative count from the end); None stays None."""
    if idx is None:
        return None
    out = []
    for i in idx:
        if not -n <= i < n:
            raise BondkdError(f"{what} index {i} out of range for a model with {n} {what}s")
        out.append(i % n)
    return sorted(set(out))


def depth_layers(depth: tuple[float, float], n_layers: int) -> list[int]:
    """Layers l with lo <= l / n_layers <= hi; when the range holds none (a point or a
    narrow range on a shallow model), the layer nearest its middle."""
    lo, hi = depth
    inside = [k for k in range(n_layers) if lo <= k / n_layers <= hi]
    if inside or n_layers <= 0:
        return inside
    return [min(n_layers - 1, max(0, round((lo + hi) / 2 * n_layers)))]


def _check_model(model: Any) -> str:
    cfg = model.config
    kind = getattr(cfg, "model_type", type(model).__name__)
    if getattr(cfg, "is_encoder_decoder", False):
        raise BondkdError(
            f"architecture '{kind}' not supported: encoder-decoder (supported: {TESTED})"
        )
    for name in ("attn_logit_softcapping", "attention_logit_softcapping"):
        if getattr(cfg, name, None) is not None:
            raise BondkdError(
                f"architecture '{kind}' not supported by the attention engine: attention logit "
                f"soft-capping ({name}={getattr(cfg, name)}); supported: {TESTED}"
            )
    return kind


@contextmanager
def capture(
    model: Any,
    token_step: Tensor,
    n_steps: int,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    chunk: int = 64,
    stop_early: bool = False,
    per_head: bool = True,
) -> Iterator[StepMass]:
    """Switch `model` to the bondkd attention while the block runs one forward pass.

    token_step: (B, T) int64, the step of each input token, -1 for none. `layers` and
    `heads` may be negative (from the end). Yields a `StepMass` filled by the forward;
    the previous attention implementation is restored on exit. With `stop_early` the
    forward is aborted right after the last selected layer (its outputs are then
    unusable; the block exits normally). `per_head=False` keeps only the sum over
    layers and heads (memory O(B·S²) instead of O(L·B·H·S²)).
    """
    kind = _check_model(model)
    cfg = model.config
    n_layers = int(getattr(cfg, "num_hidden_layers", 0) or getattr(cfg, "n_layer", 0))
    n_heads = int(getattr(cfg, "num_attention_heads", 0) or getattr(cfg, "n_head", 0))
    if token_step.ndim != 2:
        raise ValueError(f"token_step must be (B, T), got {tuple(token_step.shape)}")
    sel_layers = resolve_indices(layers, n_layers, "layer") or list(range(n_layers))
    state = StepMass(
        layers=sel_layers,
        heads=resolve_indices(heads, n_heads, "head"),
        n_steps=n_steps,
        chunk=max(1, chunk),
        token_step=token_step.long(),
        model_type=kind,
        stop_early=stop_early,
        per_head=per_head,
    )
    previous = cfg._attn_implementation
    try:
        model.set_attn_implementation(ENGINE)
    except Exception as e:
        raise BondkdError(
            f"architecture '{kind}' not supported by the attention engine ({e}); supported: {TESTED}"
        ) from None
    if cfg._attn_implementation != ENGINE:
        raise BondkdError(
            f"architecture '{kind}' not supported by the attention engine: it cannot switch "
            f"attention implementation; supported: {TESTED}"
        )
    token = _ACTIVE.set(state)
    try:
        yield state
    except _StopForward:
        pass
    finally:
        _ACTIVE.reset(token)
        model.set_attn_implementation(previous)


def bondkd_attention_forward(
    module: torch.nn.Module,
    query: Tensor,  # (B, H, Tq, D), post-RoPE
    key: Tensor,  # (B, Hkv, Tk, D)
    value: Tensor,  # (B, Hkv, Tk, Dv)
    attention_mask: Tensor | None,  # None or (B|1, 1|H, Tq, Tk) bool / additive float
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[Tensor, None]:  # (B, Tq, H, Dv), as sdpa_attention_forward returns
    def sdpa() -> tuple[Tensor, None]:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
            is_causal=is_causal, **kwargs,
        )  # fmt: skip

    state = _ACTIVE.get()
    if state is None:
        return sdpa()
    layer = getattr(module, "layer_idx", None)
    if layer is None:
        raise BondkdError(
            f"architecture '{state.model_type}' not supported by the attention engine: its "
            f"attention module has no layer_idx; supported: {TESTED}"
        )
    for bad in ("softcap", "s_aux", "sinks", "position_bias"):
        if kwargs.get(bad) is not None:
            raise BondkdError(
                f"architecture '{state.model_type}' not supported by the attention engine: "
                f"'{bad}' in attention; supported: {TESTED}"
            )
    if layer not in state.layers:
        return sdpa()
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    last = state.stop_early and layer == state.layers[-1]
    # One pass gives the layer output and the step mass from the same scores, unless the
    # output must carry gradients or dropout (training): then SDPA gives it and the pass
    # only reads the mass. After the last layer read the output is never used.
    own_output = not last and not (torch.is_grad_enabled() and query.requires_grad)
    own_output = own_output and not (dropout > 0 and module.training)
    with torch.no_grad():
        out, step_mass = _attend(
            state, query, key, value if own_output else None, attention_mask, scaling, causal
        )
    state.add(layer, step_mass)
    if last:
        raise _StopForward
    if out is not None:
        return out.transpose(1, 2).contiguous(), None
    return sdpa()


def _attend(
    state: StepMass,
    query: Tensor,  # (B, H, Tq, D)
    key: Tensor,  # (B, Hkv, Tk, D)
    value: Tensor | None,  # (B, Hkv, Tk, Dv); None: step mass only
    mask: Tensor | None,
    scaling: float | None,
    causal: bool,
) -> tuple[Tensor | None, Tensor]:  # (B, H, Tq, Dv) in query.dtype, (B, H_sel, S, S) float64
    """Softmax attention C queries at a time: each chunk's scores give both the layer
    output (their product with the values) and the step mass (their per-step sums), so
    QKᵀ is computed once. Small chunks keep the (Hkv, K, G·C) scores near the cache:
    the exp and the sums are memory-bound passes over them."""
    b_size, n_heads, t_q, dim = query.shape
    n_kv, t_k = key.shape[1], key.shape[2]
    steps = state.token_step.to(query.device)
    if steps.shape != (b_size, t_q) or t_k != t_q:
        raise BondkdError(
            f"attention engine: token_step {tuple(steps.shape)} does not match a prefill of "
            f"{b_size}×{t_q} queries and {t_k} keys (no KV cache may be used)"
        )
    group = n_heads // n_kv
    scale = dim**-0.5 if scaling is None else scaling
    heads = None if state.heads is None else torch.tensor(state.heads, device=query.device)
    n_sel = n_heads if heads is None else len(heads)
    s = state.n_steps
    out = None
    if value is not None:
        out = query.new_empty((b_size, n_heads, t_q, value.shape[-1]))
    # Row s collects queries in no step; sliced off at the end.
    acc = torch.zeros((b_size, n_sel, s + 1, s), dtype=torch.float64, device=query.device)
    chunk = max(16, min(state.chunk, SCORE_BUDGET // (n_heads * t_k)))
    for b in range(b_size):
        counted = (steps[b] >= 0).nonzero()
        if out is not None:
            q_lo, q_hi = 0, t_q
        elif len(counted) == 0:
            continue
        else:  # queries in no step (question, padding) add no mass: only their span is read
            q_lo, q_hi = int(counted[0]), int(counted[-1]) + 1
        k_b = key[b].float().contiguous()  # (Hkv, Tk, D)
        v_b = None if value is None else value[b].float().contiguous()  # (Hkv, Tk, Dv)
        q_rows = torch.where(steps[b] < 0, s, steps[b])  # (T,)
        for c0 in range(q_lo, q_hi, chunk):
            c1 = min(c0 + chunk, q_hi)
            c = c1 - c0
            # Pure causal: keys after the chunk's last query are invisible.
            kv_end = c1 if mask is None and causal else t_k
            q = (query[b, :, c0:c1].float() * scale).contiguous()  # (H, C, D)
            # Key-major scores (Hkv, K, G·C): the G heads sharing a KV head form one
            # (K, D) @ (D, G·C) product, and the per-step sum over keys then adds
            # contiguous rows (3x faster than summing the innermost axis).
            scores = torch.bmm(k_b[:, :kv_end], q.view(n_kv, group * c, dim).transpose(1, 2))
            by_head = scores.view(n_kv, kv_end, group, c)
            if mask is not None:
                m = mask[b if mask.shape[0] > 1 else 0, :, c0:c1, :kv_end]  # (1|H, C, K)
                if m.shape[0] == 1:
                    m = m.transpose(1, 2).unsqueeze(2)  # (1, K, 1, C)
                else:
                    m = m.view(n_kv, group, c, kv_end).permute(0, 3, 1, 2)  # (Hkv, K, G, C)
                if m.dtype == torch.bool:
                    by_head.masked_fill_(~m, float("-inf"))
                else:
                    by_head.add_(m.float())
            elif causal:
                # Keys before the chunk are visible to all its queries: mask the diagonal block.
                qi = torch.arange(c0, c1, device=query.device)[None, :]
                ki = torch.arange(c0, kv_end, device=query.device)[:, None]
                by_head[:, c0:].masked_fill_((ki > qi)[:, None, :], float("-inf"))
            # A query that sees no key at all (a padding row) gets output 0, as SDPA gives.
            top = scores.amax(dim=1, keepdim=True)  # (Hkv, 1, G·C)
            blind = torch.isneginf(top)
            scores.sub_(top.masked_fill_(blind, 0.0)).exp_()
            buckets = segment_sum(scores, steps[b, :kv_end], s, dim=1, with_rest=True)
            total = buckets.sum(dim=1, keepdim=True).clamp_min_(torch.finfo(torch.float32).tiny)
            if out is not None and v_b is not None:
                o = torch.bmm(scores.transpose(1, 2), v_b[:, :kv_end]) / total.transpose(1, 2)
                out[b, :, c0:c1] = o.view(n_heads, c, -1).to(out.dtype)
            del scores
            by_key = buckets[:, :s] / total  # (Hkv, S, G·C)
            by_key = by_key.view(n_kv, s, group, c).permute(0, 2, 3, 1).reshape(n_heads, c, s)
            if heads is not None:
                by_key = by_key.index_select(0, heads)
            acc[b].index_add_(1, q_rows[c0:c1], by_key.double())
    return out, acc[:, :, :s, :]


AttentionInterface.register(ENGINE, bondkd_attention_forward)
AttentionMaskInterface.register(ENGINE, sdpa_mask)
