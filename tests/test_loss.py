from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bondkd.distill.loss import (
    BOND_CODES,
    bond_attention_loss,
    feature_kd_loss,
    feature_projection,
    pair_mask,
    relation_kd_loss,
    response_kd_loss,
    row_normalise,
    total_loss,
)

KINDS = ("kl", "mse", "corr")


def bond_loss_reference(
    student, energy, step_mask, bond_types=None, weights=(1.0, 1.0, 1.0, 1.0), kind="kl", eps=1e-8
) -> float:
    """Slow reference for `bond_attention_loss`: explicit loops over b, j, i on floats."""
    if kind == "corr":
        return corr_loss_reference(student, energy, step_mask, bond_types, weights)
    b_n, s_n = step_mask.shape
    kl_sum, kl_rows, sq_sum, sq_entries = 0.0, 0, 0.0, 0
    for b in range(b_n):
        for j in range(s_n):
            if not step_mask[b, j]:
                continue
            earlier = [i for i in range(j) if step_mask[b, i]]
            t = []
            for i in earlier:
                code = 0 if bond_types is None else int(bond_types[b, j, i])
                t.append(float(energy[b, j, i]) * weights[code])
            t_sum = sum(t)
            if not earlier or t_sum <= 0:
                continue
            a = [float(student[b, j, i]) for i in earlier]
            a_sum = sum(a)
            tp = [x / t_sum for x in t]
            sp = [x / a_sum if a_sum > 0 else 0.0 for x in a]
            if kind == "kl":
                kl_sum += sum(
                    p * (math.log(max(p, eps)) - math.log(max(q, eps)))
                    for p, q in zip(tp, sp, strict=True)
                )
                kl_rows += 1
            else:
                sq_sum += sum((p - q) ** 2 for p, q in zip(tp, sp, strict=True))
                sq_entries += len(earlier)
    return kl_sum / max(kl_rows, 1) if kind == "kl" else sq_sum / max(sq_entries, 1)


def corr_loss_reference(student, energy, step_mask, bond_types=None, weights=(1.0,) * 4):
    """1 − Pearson per trace over the teacher's positive pairs (numpy), mean over traces."""
    per_trace = []
    for b in range(step_mask.shape[0]):
        xs, ys = [], []
        for j in range(step_mask.shape[1]):
            for i in range(j):
                code = 0 if bond_types is None else int(bond_types[b, j, i])
                t = float(energy[b, j, i]) * weights[code]
                if step_mask[b, j] and step_mask[b, i] and t > 0:
                    xs.append(float(student[b, j, i]))
                    ys.append(t)
        if len(xs) >= 2:
            x, y = np.array(xs), np.array(ys)
            if x.std() > 0 and y.std() > 0:
                per_trace.append(1.0 - np.corrcoef(x, y)[0, 1])
            else:  # a side with no spread counts as z = 0
                per_trace.append(0.5 * (float(x.std() > 0) + float(y.std() > 0)))
    return float(np.mean(per_trace)) if per_trace else 0.0


def make_case(b: int, s: int, seed: int, zero_p: float = 0.3, dtype=torch.float64):
    """Random student attention, teacher energies with zero entries and zero rows, padding."""
    g = torch.Generator().manual_seed(seed)
    student = torch.rand(b, s, s, generator=g, dtype=dtype)
    student = student * (torch.rand(b, s, s, generator=g) > zero_p / 2)
    energy = torch.rand(b, s, s, generator=g, dtype=dtype)
    energy = energy * (torch.rand(b, s, s, generator=g) > zero_p)  # zero entries
    energy = energy * (torch.rand(b, s, 1, generator=g) > zero_p)  # all-zero rows
    step_mask = torch.rand(b, s, generator=g) > 0.25
    types = torch.randint(0, 4, (b, s, s), generator=g)
    return student, energy, step_mask, types


case_args = {
    "b": st.integers(1, 3),
    "s": st.integers(1, 6),
    "seed": st.integers(0, 2**31 - 1),
    "kind": st.sampled_from(KINDS),
}


@settings(max_examples=60)
@given(**case_args, weights=st.lists(st.floats(0.0, 4.0), min_size=4, max_size=4))
def test_bond_loss_matches_loop_reference(b, s, seed, kind, weights):
    student, energy, mask, types = make_case(b, s, seed)
    got = bond_attention_loss(student, energy, mask, types, weights, kind=kind)
    want = bond_loss_reference(student, energy, mask, types, weights, kind=kind)
    assert torch.allclose(got, torch.tensor(want, dtype=got.dtype), rtol=1e-9, atol=1e-12)
    # default weights (all 1) as well
    got = bond_attention_loss(student, energy, mask, kind=kind)
    want = bond_loss_reference(student, energy, mask, kind=kind)
    assert torch.allclose(got, torch.tensor(want, dtype=got.dtype), rtol=1e-9, atol=1e-12)


def test_reference_is_not_trivially_zero():
    # guards the comparison above: on random data both kinds are well away from 0
    student, energy, mask, _ = make_case(2, 6, 0, zero_p=0.0)
    mask[:] = True
    for kind in KINDS:
        assert bond_loss_reference(student, energy, mask, kind=kind) > 1e-3


@settings(max_examples=60)
@given(**case_args, scale_exp=st.integers(-3, 3), use_types=st.booleans())
def test_bond_loss_zero_for_identical_and_nonnegative(b, s, seed, kind, scale_exp, use_types):
    _, energy, mask, types = make_case(b, s, seed, dtype=torch.float32)
    weights = torch.tensor([1.0, 2.0, 5.0, 0.5])
    kw = {"bond_types": types, "type_weights": weights} if use_types else {}
    target = energy * weights[types] if use_types else energy
    # a power-of-two scale is exact in floating point: normalised rows are identical
    same = bond_attention_loss(target * 2.0**scale_exp, energy, mask, kind=kind, **kw)
    assert same.item() == 0.0
    student, *_ = make_case(b, s, seed + 1, dtype=torch.float32)
    loss = bond_attention_loss(student, energy, mask, kind=kind, **kw)
    assert torch.isfinite(loss) and loss.item() >= -1e-6


@settings(max_examples=60)
@given(**case_args, use_types=st.booleans())
def test_bond_loss_ignores_padding_diagonal_and_upper_triangle(b, s, seed, kind, use_types):
    student, energy, mask, types = make_case(b, s, seed)
    kw = {"bond_types": types, "type_weights": {"reflection": 3.0}} if use_types else {}
    base = bond_attention_loss(student, energy, mask, kind=kind, **kw)
    ignored = ~pair_mask(mask)
    g = torch.Generator().manual_seed(seed + 7)
    noise = torch.rand(b, s, s, generator=g, dtype=student.dtype) * 100
    student2 = torch.where(ignored, noise, student)
    student2[ignored & (noise > 90)] = float("nan")  # not even NaN leaks from padding
    energy2 = torch.where(ignored, noise.flip(-1), energy)
    kw2 = dict(kw)
    if use_types:
        kw2["bond_types"] = torch.where(ignored, -5, types)  # junk codes where ignored
    assert torch.equal(bond_attention_loss(student2, energy2, mask, kind=kind, **kw2), base)


@pytest.mark.parametrize("kind", KINDS)
def test_bond_loss_no_nan_for_empty_or_zero_rows(kind):
    student = torch.rand(2, 4, 4, dtype=torch.float64, requires_grad=True)
    cases = [
        (torch.zeros(2, 4, 4, dtype=torch.float64), torch.ones(2, 4, dtype=torch.bool)),
        (torch.rand(2, 4, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.bool)),
        # only one real step per item: no row has an earlier step
        (torch.rand(2, 4, 4, dtype=torch.float64), torch.eye(2, 4, dtype=torch.bool)),
    ]
    for energy, mask in cases:
        loss = bond_attention_loss(student, energy, mask, kind=kind)
        (grad,) = torch.autograd.grad(loss, student)
        assert loss.item() == 0.0 and torch.isfinite(grad).all()
    # a zero student row under a live teacher row is costly for KL but finite
    energy = torch.rand(1, 3, 3, dtype=torch.float64) + 0.1
    loss = bond_attention_loss(torch.zeros(1, 3, 3), energy, torch.ones(1, 3, dtype=torch.bool))
    assert torch.isfinite(loss) and loss.item() > 1.0


def test_bond_loss_hand_example():
    # step 0 has no earlier step (skipped); step 1 has one earlier step (both rows = [1],
    # KL 0); step 2: teacher [1, 1] -> [.5, .5], student [1, 3] -> [.25, .75]
    student = torch.tensor([[[9.0, 9, 9], [2.0, 9, 9], [1.0, 3, 9]]])
    energy = torch.tensor([[[0.0, 0, 0], [0.7, 0, 0], [0.4, 0.4, 0]]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    kl_row2 = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    kl = bond_attention_loss(student, energy, mask, kind="kl")
    assert kl.item() == pytest.approx(kl_row2 / 2, rel=1e-6)
    mse = bond_attention_loss(student, energy, mask, kind="mse")
    assert mse.item() == pytest.approx((0.25**2 + 0.25**2) / 3, rel=1e-6)


def test_row_normalise_rows_and_validity():
    m = torch.tensor([[[0.0, 0, 0], [2.0, 0, 0], [1.0, 3.0, 5.0]], [[0.0, 0, 0]] * 3])
    valid = pair_mask(torch.tensor([[True, True, True], [True, True, False]]))
    p, ok = row_normalise(m, valid)
    assert ok.tolist() == [[False, True, True], [False, False, False]]
    assert p[0].tolist() == [[0.0, 0, 0], [1.0, 0, 0], [0.25, 0.75, 0.0]]
    assert p[1].abs().sum() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_bond_loss_gradcheck(kind):
    g = torch.Generator().manual_seed(3)
    student = (torch.rand(2, 5, 5, generator=g, dtype=torch.float64) + 0.1).requires_grad_()
    energy = torch.rand(2, 5, 5, generator=g, dtype=torch.float64)
    mask = torch.tensor([[True] * 5, [True, True, False, True, False]])
    types = torch.randint(0, 4, (2, 5, 5), generator=g)
    weights = {"reflection": 3.0, "exploratory": 0.5}

    def f(x):
        return bond_attention_loss(x, energy, mask, types, weights, kind=kind)

    assert f(student).item() > 0
    assert torch.autograd.gradcheck(f, (student,), eps=1e-6, atol=1e-7)


def test_type_weights_change_the_target():
    # row 2 leans on step 0 by strong logic and on step 1 by reflection, equal energies
    energy = torch.tensor([[[0.0, 0, 0], [0.8, 0, 0], [0.5, 0.5, 0]]])
    types = torch.tensor([[[0, 0, 0], [1, 0, 0], [1, 2, 0]]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    student = torch.tensor([[[0.0, 0, 0], [1.0, 0, 0], [1.0, 4.0, 0]]])  # favours reflection
    emphasis = {"reflection": 4.0}
    for kind in KINDS:
        plain = bond_attention_loss(student, energy, mask, types, kind=kind)
        weighted = bond_attention_loss(student, energy, mask, types, emphasis, kind=kind)
        if kind == "corr":  # trace-level: the weights bring the ranks closer, not equal
            assert weighted.item() < plain.item()
        else:
            assert plain.item() > 1e-3 and weighted.item() == pytest.approx(0.0, abs=1e-7)
        # mapping by name, by code and a tensor of 4 weights are the same weights
        by_code = bond_attention_loss(student, energy, mask, types, {2: 4.0}, kind=kind)
        as_tensor = bond_attention_loss(student, energy, mask, types, [1, 1, 4, 1], kind=kind)
        assert torch.equal(by_code, weighted) and torch.equal(as_tensor, weighted)


def test_bond_loss_argument_errors():
    x, mask = torch.rand(1, 3, 3), torch.ones(1, 3, dtype=torch.bool)
    types = torch.zeros(1, 3, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="needs bond_types"):
        bond_attention_loss(x, x, mask, type_weights={"reflection": 2.0})
    with pytest.raises(ValueError, match="non-negative"):
        bond_attention_loss(x, x, mask, types, [1, -1, 1, 1])
    with pytest.raises(ValueError, match="unknown bond type"):
        bond_attention_loss(x, x, mask, types, {"hydrogen": 1.0})
    with pytest.raises(ValueError, match="kind"):
        bond_attention_loss(x, x, mask, kind="l1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="codes"):
        bond_attention_loss(x, x, mask, types + 4, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="step_mask"):
        bond_attention_loss(x, x, mask[:, :2])


def test_bond_codes_follow_schema_order():
    from bondkd.schema import BOND_TYPES

    assert [BOND_CODES[t] for t in BOND_TYPES] == [1, 2, 3] and BOND_CODES["none"] == 0


# --- response KD ---------------------------------------------------------------------


@settings(max_examples=40)
@given(seed=st.integers(0, 2**31 - 1), temperature=st.floats(0.5, 4.0))
def test_response_kd_zero_iff_equal(seed, temperature):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 3, 7, generator=g) * 3
    assert response_kd_loss(logits, logits.clone(), temperature).item() == pytest.approx(
        0.0, abs=1e-6
    )
    # shifting all logits of a token by a constant leaves the softmax unchanged
    shifted = logits + torch.randn(2, 3, 1, generator=g)
    assert response_kd_loss(shifted, logits, temperature).item() == pytest.approx(0, abs=1e-5)
    other = torch.randn(2, 3, 7, generator=g) * 3
    assert response_kd_loss(other, logits, temperature).item() > 1e-4


def test_response_kd_hand_example():
    s, t, temp = [1.0, 2.0, 0.0], [0.5, -1.0, 2.0], 2.0

    def softmax(z):
        e = [math.exp(v / temp) for v in z]
        return [v / sum(e) for v in e]

    ps, pt = softmax(s), softmax(t)
    want = temp**2 * sum(p * math.log(p / q) for p, q in zip(pt, ps, strict=True))
    got = response_kd_loss(torch.tensor([s]), torch.tensor([t]), temperature=temp)
    assert got.item() == pytest.approx(want, rel=1e-5)
    # the T² factor and the temperature both matter
    assert response_kd_loss(torch.tensor([s]), torch.tensor([t]), 1.0).item() != pytest.approx(
        want, rel=1e-2
    )


def test_response_kd_mask_averages_valid_tokens_only():
    g = torch.Generator().manual_seed(0)
    t = torch.randn(2, 4, 5, generator=g)
    s = torch.randn(2, 4, 5, generator=g)
    mask = torch.tensor([[True, True, False, False], [True, False, False, False]])
    got = response_kd_loss(s, t, 1.5, mask)
    want = response_kd_loss(s[mask], t[mask], 1.5)  # (N, V) form on the kept tokens
    assert torch.allclose(got, want)
    s2 = s.clone()
    s2[~mask] = 50.0
    assert torch.equal(response_kd_loss(s2, t, 1.5, mask), got)
    assert response_kd_loss(s, t, 1.5, torch.zeros(2, 4, dtype=torch.bool)).item() == 0.0


def test_response_kd_vocab_mismatch_raises():
    with pytest.raises(ValueError, match="vocab size mismatch"):
        response_kd_loss(torch.randn(2, 3, 5), torch.randn(2, 3, 6))


# --- feature KD ----------------------------------------------------------------------


def test_feature_kd_mse_same_width():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    assert torch.allclose(feature_kd_loss(s, t), ((s - t) ** 2).mean())
    assert feature_kd_loss(t.clone(), t).item() == 0.0
    mask = torch.tensor([[True, False, True], [False, False, True]])
    want = ((s - t) ** 2).mean(-1)[mask].mean()
    assert torch.allclose(feature_kd_loss(s, t, mask=mask), want)


def test_feature_kd_with_projection_trains_projection():
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 6, generator=g)
    torch.manual_seed(0)
    proj = feature_projection(4, 6)
    loss = feature_kd_loss(s, t, proj)
    assert torch.allclose(loss, ((proj(s) - t) ** 2).mean())
    loss.backward()
    assert proj.weight.grad is not None and proj.weight.grad.abs().sum() > 0
    # a projection that reproduces the teacher exactly gives 0
    with torch.no_grad():
        exact = proj(s)
    assert feature_kd_loss(s, exact, proj).item() == pytest.approx(0.0, abs=1e-12)


def test_feature_kd_cosine():
    g = torch.Generator().manual_seed(3)
    t = torch.randn(2, 3, 4, generator=g)
    assert feature_kd_loss(3 * t, t, kind="cosine").item() == pytest.approx(0.0, abs=1e-6)
    assert feature_kd_loss(-t, t, kind="cosine").item() == pytest.approx(2.0, abs=1e-6)
    a = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    b = torch.tensor([[[0.0, 5.0], [0.0, 1.0]]])  # orthogonal, then parallel
    assert feature_kd_loss(a, b, kind="cosine").item() == pytest.approx(0.5, abs=1e-6)


def test_feature_kd_width_mismatch_without_projection_raises():
    with pytest.raises(ValueError, match="widths differ"):
        feature_kd_loss(torch.randn(1, 2, 3), torch.randn(1, 2, 5))
    with pytest.raises(ValueError, match="kind"):
        x = torch.randn(1, 2, 3)
        feature_kd_loss(x, x, kind="l1")  # type: ignore[arg-type]


# --- relation KD ---------------------------------------------------------------------


@settings(max_examples=30)
@given(
    seed=st.integers(0, 2**31 - 1),
    t=st.integers(2, 6),
    extra=st.integers(0, 3),
    scale=st.floats(0.1, 10.0),
)
def test_relation_kd_invariant_to_scale_and_rotation(seed, t, extra, scale):
    g = torch.Generator().manual_seed(seed)
    d = 4
    teacher = torch.randn(2, t, d, generator=g, dtype=torch.float64)
    # Q (d + extra, d) with orthonormal columns: x -> x Qᵀ preserves inner products,
    # so it is a rotation when extra == 0 and an isometric widening otherwise
    q, _ = torch.linalg.qr(torch.randn(d + extra, d, generator=g, dtype=torch.float64))
    student = scale * teacher @ q.T
    assert relation_kd_loss(student, teacher).item() == pytest.approx(0.0, abs=1e-12)
    # a different student is penalised
    other = torch.randn(2, t, d + extra, generator=g, dtype=torch.float64)
    assert relation_kd_loss(other, teacher).item() > 1e-4


def test_relation_kd_mask_and_hand_value():
    teacher = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    student = torch.tensor([[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [7.0, 7.0, 7.0]]])
    mask = torch.tensor([[True, True, False]])
    # only pair (0, 1) and (1, 0) count: teacher cos 0, student cos 1
    assert relation_kd_loss(student, teacher, mask).item() == pytest.approx(1.0, abs=1e-6)
    student2 = student.clone()
    student2[0, 2] = torch.tensor([-3.0, 2.0, 0.5])
    assert torch.equal(
        relation_kd_loss(student2, teacher, mask), relation_kd_loss(student, teacher, mask)
    )
    assert relation_kd_loss(student2, teacher).item() != relation_kd_loss(student, teacher).item()


# --- total ---------------------------------------------------------------------------


def test_total_loss_arithmetic_and_logs():
    ce = torch.tensor(1.5, requires_grad=True)
    bond = torch.tensor(2.0, requires_grad=True)
    resp = torch.tensor(4.0, requires_grad=True)
    feat = torch.tensor(0.25)
    total, logs = total_loss(
        ce, bond, alpha=0.1, kd_terms={"resp": (0.5, resp), "feat": (2.0, feat)}
    )
    assert total.item() == pytest.approx(1.5 + 0.2 + 2.0 + 0.5)
    assert logs == pytest.approx({"ce": 1.5, "bond": 2.0, "resp": 4.0, "feat": 0.25, "total": 4.2})
    assert all(type(v) is float for v in logs.values())
    total.backward()
    assert (ce.grad, bond.grad, resp.grad) == (1.0, pytest.approx(0.1), 0.5)
    only_ce, logs = total_loss(ce)
    assert only_ce.item() == 1.5 and set(logs) == {"ce", "total"}
    with pytest.raises(ValueError, match="clashes"):
        total_loss(ce, kd_terms={"bond": (1.0, bond)})
    with pytest.raises(ValueError, match="scalar"):
        total_loss(ce, torch.ones(3))


def test_corr_loss_is_one_minus_pearson_and_blind_to_scale_and_shift():
    _, energy, mask, _ = make_case(2, 6, 3, zero_p=0.0)
    mask[:] = True
    affine = bond_attention_loss(3.0 * energy + 1.0, energy, mask, kind="corr")
    flipped = bond_attention_loss(1.0 - energy, energy, mask, kind="corr")
    assert affine.item() == pytest.approx(0.0, abs=1e-9)
    assert flipped.item() == pytest.approx(2.0, abs=1e-9)
    # pairs the teacher marks 0 ("no pair") do not count, whatever the student says there
    holes = energy.clone()
    holes[:, 4, :2] = 0
    student = torch.where(holes > 0, energy, 50.0)
    assert bond_attention_loss(student, holes, mask, kind="corr").item() == pytest.approx(0.0)
