"""Token → step reductions used by the attention engine.

A step is a set of token positions; `seg[t]` names the step of token `t`, or -1
for tokens that belong to no step (question, separators, padding). Summing a
tensor's token axis per step is one `index_add_`: O(T) work, no (T, S) one-hot.
"""

from __future__ import annotations

import torch
from torch import Tensor


def segment_sum(
    x: Tensor, seg: Tensor, n: int, *, dim: int = -1, with_rest: bool = False
) -> Tensor:
    """Sum axis `dim` of `x` (length T) per segment.

    seg: (T,) int64 with values in [-1, n). The result has axis `dim` of length n:
    out[..., s, ...] = sum of x[..., t, ...] over t with seg[t] == s. Tokens with
    seg == -1 are dropped or, with `with_rest`, summed into an extra entry n.
    `index_add_` is fastest when `dim` is not the innermost axis (contiguous slices).
    """
    dim = dim % x.ndim
    if seg.ndim != 1 or seg.shape[0] != x.shape[dim]:
        raise ValueError(
            f"seg shape {tuple(seg.shape)} does not match x axis {dim} ({x.shape[dim]})"
        )
    # -1 goes to an extra bucket that is sliced off: cheaper than a boolean gather,
    # which would copy all of x.
    idx = torch.where(seg < 0, n, seg).to(device=x.device, dtype=torch.long)
    shape = list(x.shape)
    shape[dim] = n + 1
    out = x.new_zeros(shape)
    out.index_add_(dim, idx, x)
    return out if with_rest else out.narrow(dim, 0, n)


def segment_sum_reference(x: Tensor, seg: Tensor, n: int, *, dim: int = -1) -> Tensor:
    """Loop-and-mask version of `segment_sum`, for tests."""
    moved = x.movedim(dim, -1)
    out = moved.new_zeros((*moved.shape[:-1], n))
    for s in range(n):
        out[..., s] = moved[..., (seg == s).to(x.device)].sum(-1)
    return out.movedim(-1, dim)
