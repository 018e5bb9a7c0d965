from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bondkd.energy.kernels import segment_sum, segment_sum_reference


@settings(max_examples=60, deadline=None)
@given(
    lead=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    t=st.integers(0, 40),
    n=st.integers(1, 7),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_segment_sum_matches_reference(
    lead: list[int], t: int, n: int, seed: int, data: st.DataObject
) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((*lead, t), generator=g, dtype=torch.float64)
    seg = torch.randint(-1, n, (t,), generator=g)
    got = segment_sum(x, seg, n)
    assert got.shape == (*lead, n)
    torch.testing.assert_close(got, segment_sum_reference(x, seg, n), rtol=0, atol=1e-12)
    # the token axis anywhere
    dim = data.draw(st.integers(0, len(lead)))
    xd = x.movedim(-1, dim)
    got = segment_sum(xd, seg, n, dim=dim)
    assert got.shape[dim] == n
    torch.testing.assert_close(got, segment_sum_reference(xd, seg, n, dim=dim), atol=1e-12, rtol=0)


def test_dropped_tokens_do_not_count() -> None:
    x = torch.tensor([[1.0, 2.0, 4.0, 8.0, 16.0]])
    seg = torch.tensor([-1, 0, 2, 0, -1])
    assert segment_sum(x, seg, 3).tolist() == [[10.0, 0.0, 4.0]]


def test_float32_and_noncontiguous_input() -> None:
    x = torch.rand(3, 6, 20).transpose(0, 1)  # (6, 3, 20), not contiguous
    seg = torch.randint(-1, 4, (20,))
    torch.testing.assert_close(segment_sum(x, seg, 4), segment_sum_reference(x, seg, 4))


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not match"):
        segment_sum(torch.zeros(2, 5), torch.zeros(4, dtype=torch.long), 2)


def test_with_rest_keeps_dropped_tokens() -> None:
    x = torch.rand(3, 12)
    seg = torch.tensor([-1, 0, 0, 1, -1, 1, 2, 2, -1, 0, 1, 2])
    out = segment_sum(x, seg, 3, with_rest=True)
    assert out.shape == (3, 4)
    torch.testing.assert_close(out[:, :3], segment_sum(x, seg, 3))
    torch.testing.assert_close(out[:, 3], x[:, seg == -1].sum(-1))
    torch.testing.assert_close(out.sum(-1), x.sum(-1))
