"""Distillation losses: bond-structure KD plus the classic response / feature / relation terms.

Pure functions: tensors in, a scalar tensor out, nothing kept between calls. Shapes use
B batch, S reasoning steps, T tokens, V vocabulary, D hidden width. Every mean is a
masked sum over a clamped count, so an empty selection gives 0 (still attached to the
graph) instead of NaN.

The training objective (`total_loss`) is  L = CE + α·L_bond + Σ_k β_k·L_k.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Codes of `bond_types`; 1..3 follow the order of bondkd.schema.BOND_TYPES.
BOND_CODES: dict[str, int] = {"none": 0, "strong_logic": 1, "reflection": 2, "exploratory": 3}

TypeWeights = Mapping[str | int, float] | Sequence[float] | Tensor
BondKind = Literal["kl", "mse", "corr"]


def pair_mask(step_mask: Tensor) -> Tensor:
    """Entries [b, j, i] that can hold a bond: i < j (a later step leans on an earlier
    one) and both steps real. step_mask: (B, S) bool; returns (B, S, S) bool."""
    s = step_mask.shape[-1]
    lower = torch.ones(s, s, dtype=torch.bool, device=step_mask.device).tril(-1)  # (S, S)
    return lower & step_mask[:, :, None] & step_mask[:, None, :]


def row_normalise(matrix: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """p[b, j, i] = m[b, j, i] / Σ_{i' valid} m[b, j, i'] over the valid entries of each row.

    matrix: (B, S, S) non-negative; valid: (B, S, S) bool (e.g. `pair_mask`).
    Returns (p, row_ok): p (B, S, S) is 0 off `valid` and in rows that are not ok;
    row_ok (B, S) is True where the row has a valid entry and a positive sum.
    """
    # where, not multiply: NaN/inf in padding must not leak into the sums or gradients.
    m = torch.where(valid, matrix, 0)  # (B, S, S)
    sums = m.sum(-1)  # (B, S)
    row_ok = valid.any(-1) & (sums > 0)  # (B, S)
    # Dividing a dead row by 1 keeps it at 0 and keeps the gradient finite.
    return m / torch.where(row_ok, sums, 1)[..., None], row_ok


def _weight_table(type_weights: TypeWeights, like: Tensor) -> Tensor:
    """A (4,) tensor of per-bond-type weights; mapping keys are names or codes, missing -> 1."""
    if isinstance(type_weights, Mapping):
        table = [1.0] * len(BOND_CODES)
        for key, value in type_weights.items():
            code = BOND_CODES.get(key, -1) if isinstance(key, str) else int(key)
            if not 0 <= code < len(BOND_CODES):
                raise ValueError(f"type_weights: unknown bond type {key!r}; use {list(BOND_CODES)}")
            table[code] = float(value)
        w = torch.tensor(table, dtype=like.dtype, device=like.device)
    else:
        w = torch.as_tensor(type_weights, dtype=like.dtype, device=like.device)
        if w.shape != (len(BOND_CODES),):
            raise ValueError(f"type_weights must hold 4 weights, got shape {tuple(w.shape)}")
    if bool((w < 0).any()):
        raise ValueError("type_weights must be non-negative: the target is a distribution")
    return w


def bond_attention_loss(
    student_attn: Tensor,  # (B, S, S) row j: how much step j attends to each step, >= 0
    teacher_energy: Tensor,  # (B, S, S) bond energy in [0, 1] of [b, j, i], j > i
    step_mask: Tensor,  # (B, S) bool, False = padding step
    bond_types: Tensor | None = None,  # (B, S, S) long, codes of BOND_CODES
    type_weights: TypeWeights | None = None,
    kind: BondKind = "kl",
    eps: float = 1e-8,
) -> Tensor:
    """Match the student's step-to-step attention to the teacher's bond structure.

    Only entries i < j with both steps real count. Each row j is normalised over its
    earlier steps (MiniLM-style relation transfer, so the student's attention scale is
    free):  s_ji = a_ji / Σ_i a_ji,  t_ji = w(type_ji)·E_ji / Σ_i w(type_ji)·E_ji,
    where w are `type_weights` (default 1) so that, e.g., reflection bonds can weigh more.
    Rows with no valid earlier step, or whose weighted teacher row sums to 0, are skipped.

    kind="kl":  mean over kept rows of KL(t_j || s_j) = Σ_i t_ji (log t_ji − log s_ji),
                logs taken of max(·, eps) so a zero student entry costs a lot, not inf.
    kind="mse": mean of (s_ji − t_ji)² over the valid entries of kept rows.
    kind="corr": 1 − Pearson correlation between the (type-weighted) teacher energies
                and the student's values over the valid entries of one trace where the
                teacher's value is positive (0 marks "no pair", as in the collator), mean
                over traces with two or more such entries. No row normalisation: it asks the student to
                rank every pair of a trace the way the teacher does (what Spearman
                fidelity measures), and is blind to scale and shift, so pass the
                student's attention already on the teacher's scale
                (`StepCapture.energy`). Computed as ½·mean((z_s − z_t)²) of the
                standardised values (z = 0 for a side with no spread), so it is
                exactly 0 for identical inputs.
    Returns a scalar; 0 when no row is kept.
    """
    if student_attn.ndim != 3 or student_attn.shape[-1] != student_attn.shape[-2]:
        raise ValueError(f"student_attn must be (B, S, S), got {tuple(student_attn.shape)}")
    if teacher_energy.shape != student_attn.shape:
        raise ValueError(
            f"teacher_energy {tuple(teacher_energy.shape)} != student_attn "
            f"{tuple(student_attn.shape)}"
        )
    if step_mask.shape != student_attn.shape[:2]:
        raise ValueError(f"step_mask must be (B, S), got {tuple(step_mask.shape)}")
    if kind not in ("kl", "mse", "corr"):
        raise ValueError(f"kind must be 'kl', 'mse' or 'corr', got {kind!r}")
    valid = pair_mask(step_mask.bool())  # (B, S, S)
    target = teacher_energy.to(student_attn.dtype)  # (B, S, S)
    if type_weights is not None:
        if bond_types is None:
            raise ValueError("type_weights needs bond_types to know each entry's type")
        if bond_types.shape != student_attn.shape:
            raise ValueError(f"bond_types must be (B, S, S), got {tuple(bond_types.shape)}")
        # Padding may carry any code; only valid entries must be real codes.
        codes = torch.where(valid, bond_types.long(), 0)  # (B, S, S)
        if bool(((codes < 0) | (codes >= len(BOND_CODES))).any()):
            raise ValueError(f"bond_types must be codes 0..{len(BOND_CODES) - 1}")
        target = target * _weight_table(type_weights, student_attn)[codes]

    if kind == "corr":
        return _correlation_loss(student_attn, target, valid & (target > 0))
    t, rows = row_normalise(target, valid)  # (B, S, S), (B, S)
    s, _ = row_normalise(student_attn, valid)  # a zero student row stays 0: costly, finite
    if kind == "kl":
        # t and s are 0 off `valid`, so t·(...) drops padding; t == 0 is the 0·log 0 = 0 limit.
        per_row = (t * (t.clamp_min(eps).log() - s.clamp_min(eps).log())).sum(-1)  # (B, S)
        return torch.where(rows, per_row, 0).sum() / rows.sum().clamp(min=1)
    entries = valid & rows[..., None]  # (B, S, S)
    sq = torch.where(entries, (s - t) ** 2, 0)  # (B, S, S)
    return sq.sum() / entries.sum().clamp(min=1)


def _correlation_loss(student: Tensor, target: Tensor, entries: Tensor) -> Tensor:
    """Mean over traces of 1 − Pearson(student, target) on `entries` (all (B, S, S))."""
    n = entries.sum((1, 2), keepdim=True)  # (B, 1, 1)

    def standardise(x: Tensor) -> Tensor:  # (B, S, S) -> z-scores per trace, 0 off entries
        x = torch.where(entries, x, 0)
        mean = x.sum((1, 2), keepdim=True) / n.clamp(min=1)
        centred = torch.where(entries, x - mean, 0)
        var = (centred**2).sum((1, 2), keepdim=True) / n.clamp(min=1)
        # A constant side has no ranking (z = 0); where() keeps its gradient finite.
        varies = var > 0
        return torch.where(varies, centred / torch.where(varies, var, 1).sqrt(), 0)

    per_trace = 0.5 * ((standardise(student) - standardise(target)) ** 2).sum((1, 2))  # (B,)
    kept = n[:, 0, 0] >= 2  # a correlation needs two entries
    per_trace = per_trace / n[:, 0, 0].clamp(min=1)
    return torch.where(kept, per_trace, 0).sum() / kept.sum().clamp(min=1)


def _masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of `values` (any shape) over True entries of `mask` (same shape); 0 if none."""
    if mask is None:
        return values.mean()
    if mask.shape != values.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} != expected {tuple(values.shape)}")
    mask = mask.to(device=values.device, dtype=torch.bool)
    return torch.where(mask, values, 0).sum() / mask.sum().clamp(min=1)


def response_kd_loss(
    student_logits: Tensor,  # (B, T, V) or (N, V)
    teacher_logits: Tensor,  # same shape as student_logits
    temperature: float = 2.0,
    mask: Tensor | None = None,  # (B, T) or (N,) bool, True = token counts
) -> Tensor:
    """Hinton KD:  T² · mean over tokens of KL(softmax(z_t/T) || softmax(z_s/T)).

    The T² factor keeps gradient magnitudes comparable across temperatures (soft-target
    gradients shrink as 1/T²). Pass detached teacher logits unless the teacher trains too.
    """
    vs, vt = student_logits.shape[-1], teacher_logits.shape[-1]
    if vs != vt:
        raise ValueError(
            f"vocab size mismatch: student has {vs} logits, teacher {vt}; "
            "response KD needs a shared vocabulary"
        )
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"logit shapes differ: {tuple(student_logits.shape)} vs {tuple(teacher_logits.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    log_s = F.log_softmax(student_logits / temperature, dim=-1)
    log_t = F.log_softmax(teacher_logits.to(log_s.dtype) / temperature, dim=-1)
    p_t = log_t.exp()
    # where: a teacher logit of -inf gives p_t = 0 and 0·(-inf) = NaN otherwise.
    per_token = torch.where(p_t > 0, p_t * (log_t - log_s), 0).sum(-1)  # (B, T) or (N,)
    return _masked_mean(per_token, mask) * temperature**2


def feature_projection(student_dim: int, teacher_dim: int, bias: bool = True) -> nn.Linear:
    """The learnable map Ds -> Dt that `feature_kd_loss` applies to student states when
    widths differ. Train it with the student (add its parameters to the optimiser)."""
    return nn.Linear(student_dim, teacher_dim, bias=bias)


def feature_kd_loss(
    student_hidden: Tensor,  # (B, T, Ds)
    teacher_hidden: Tensor,  # (B, T, Dt)
    projection: Callable[[Tensor], Tensor] | None = None,  # Ds -> Dt, e.g. feature_projection
    kind: Literal["mse", "cosine"] = "mse",
    mask: Tensor | None = None,  # (B, T) bool
    eps: float = 1e-8,
) -> Tensor:
    """FitNets-style hint loss on hidden states, after projecting the student to Dt.

    kind="mse":    mean over valid positions and features of (P(h_s) − h_t)².
    kind="cosine": mean over valid positions of 1 − cos(P(h_s), h_t): direction only,
                   so it ignores the (often very different) norms of the two models.
    """
    ds, dt = student_hidden.shape[-1], teacher_hidden.shape[-1]
    if projection is not None:
        student_hidden = projection(student_hidden)
    elif ds != dt:
        raise ValueError(
            f"hidden widths differ (student {ds}, teacher {dt}): pass "
            f"projection=feature_projection({ds}, {dt})"
        )
    if student_hidden.shape != teacher_hidden.shape:
        raise ValueError(
            f"student states {tuple(student_hidden.shape)} do not match teacher "
            f"{tuple(teacher_hidden.shape)}"
        )
    teacher_hidden = teacher_hidden.to(student_hidden.dtype)
    if kind == "mse":
        per_pos = (student_hidden - teacher_hidden).pow(2).mean(-1)  # (B, T)
    elif kind == "cosine":
        per_pos = 1 - F.cosine_similarity(student_hidden, teacher_hidden, dim=-1, eps=eps)
    else:
        raise ValueError(f"kind must be 'mse' or 'cosine', got {kind!r}")
    return _masked_mean(per_pos, mask)


def relation_kd_loss(
    student_hidden: Tensor,  # (B, T, Ds)
    teacher_hidden: Tensor,  # (B, T, Dt), Dt may differ from Ds
    mask: Tensor | None = None,  # (B, T) bool
    eps: float = 1e-8,
) -> Tensor:
    """Match the pairwise similarity structure instead of the states themselves.

    G[b, p, q] = cos(h[b, p], h[b, q]) for each model; the loss is the mean of
    (G_s − G_t)² over pairs p != q of valid positions. Cosine Gram matrices have the same
    (T, T) shape whatever the widths, so no projection is needed, and they are invariant
    to scaling and rotating the hidden space. The diagonal is always 1, so it is left out.
    """
    if student_hidden.ndim != 3 or student_hidden.shape[:2] != teacher_hidden.shape[:2]:
        raise ValueError(
            f"expected (B, T, D) states with equal B, T, got {tuple(student_hidden.shape)} "
            f"and {tuple(teacher_hidden.shape)}"
        )
    b, t = student_hidden.shape[:2]
    if mask is None:
        mask = torch.ones(b, t, dtype=torch.bool, device=student_hidden.device)
    elif mask.shape != (b, t):
        raise ValueError(f"mask must be (B, T) = {(b, t)}, got {tuple(mask.shape)}")
    mask = mask.to(device=student_hidden.device, dtype=torch.bool)

    def gram(h: Tensor) -> Tensor:  # (B, T, D) -> (B, T, T)
        n = F.normalize(h, dim=-1, eps=eps)
        return n @ n.transpose(-1, -2)

    off_diag = ~torch.eye(t, dtype=torch.bool, device=mask.device)  # (T, T)
    pairs = mask[:, :, None] & mask[:, None, :] & off_diag  # (B, T, T)
    diff = gram(student_hidden) - gram(teacher_hidden.to(student_hidden.dtype))  # (B, T, T)
    return torch.where(pairs, diff**2, 0).sum() / pairs.sum().clamp(min=1)


def total_loss(
    ce: Tensor,  # () scalar cross-entropy of the student on the hard labels
    bond: Tensor | None = None,  # () scalar, e.g. bond_attention_loss(...)
    alpha: float = 0.1,
    kd_terms: Mapping[str, tuple[float, Tensor]] | None = None,  # name -> (beta, () loss)
) -> tuple[Tensor, dict[str, float]]:
    """L = CE + α·L_bond + Σ_k β_k·L_k.

    Returns (L, components): L keeps the graph; components maps "ce", "bond" (when
    given), each kd name and "total" to detached floats of the *unweighted* terms (the
    total is weighted), ready for a logger.
    """
    terms: dict[str, Tensor] = {"ce": ce}
    total = ce
    if bond is not None:
        terms["bond"] = bond
        total = total + alpha * bond
    for name, (beta, value) in (kd_terms or {}).items():
        if name in ("ce", "bond", "total"):
            raise ValueError(f"kd term name {name!r} clashes with a built-in component")
        terms[name] = value
        total = total + beta * value
    for name, value in terms.items():
        if value.ndim != 0:
            raise ValueError(f"loss {name!r} must be a scalar, got shape {tuple(value.shape)}")
    logs = {name: float(value.detach()) for name, value in terms.items()}
    logs["total"] = float(total.detach())
    return total, logs
