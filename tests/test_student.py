"""Student step attention: equals eager attention maps reduced by loops, values and grads."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from bondkd.distill.loss import bond_attention_loss
from bondkd.distill.student import StepAttentionCollector, saved_tensor_bytes, spans_to_token_steps
from bondkd.errors import BondkdError


def trainable(lm):
    """A private copy of a session fixture's model with gradients on (fixtures are frozen)."""
    model = copy.deepcopy(lm.model)
    model.requires_grad_(True)
    assert model.config._attn_implementation == "sdpa"
    return model


def batch(vocab: int, t: int = 40, seed: int = 0):
    """B=2: row 0 left-padded with 5 steps, row 1 right-padded with 3 (S_max = 5)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (2, t), generator=g)
    mask = torch.ones(2, t, dtype=torch.long)
    mask[0, :4] = 0
    mask[1, t - 6 :] = 0
    steps = torch.full((2, t), -1)
    for k, (a, b) in enumerate([(6, 11), (12, 18), (18, 25), (27, 33), (34, t)]):
        steps[0, a:b] = k
    for k, (a, b) in enumerate([(2, 9), (10, 20), (21, t - 6)]):
        steps[1, a:b] = k
    return ids, mask, steps


def reference(model, ids, mask, steps, n, layers, heads=None):
    """(B, S, S) float64 from eager `output_attentions`, summed with explicit loops over
    rows, layers, heads and step pairs i < j; differentiable into the model."""
    model.set_attn_implementation("eager")
    try:
        maps = model(input_ids=ids, attention_mask=mask, output_attentions=True).attentions
    finally:
        model.set_attn_implementation("sdpa")
    n_heads = maps[0].shape[1]
    heads = list(range(n_heads)) if heads is None else heads
    rows = []
    for b in range(ids.shape[0]):
        toks = [(steps[b] == s).nonzero().flatten() for s in range(n)]
        entries = []
        for j in range(n):
            for i in range(n):
                total = torch.zeros((), dtype=torch.float64)
                if i < j and len(toks[j]) and len(toks[i]):
                    for layer in layers:
                        for h in heads:
                            att = maps[layer][b, h].double()  # (T, T)
                            total = total + att[toks[j]][:, toks[i]].sum()
                    total = total / (len(toks[j]) * len(layers) * len(heads))
                entries.append(total)
        rows.append(torch.stack(entries).view(n, n))
    return torch.stack(rows)


def collect(model, ids, mask, steps, **kw):
    col = StepAttentionCollector(model, **kw)
    with col.capture(steps) as cap:
        out = model(input_ids=ids, attention_mask=mask)
    attn, step_mask = cap.result()
    return attn, step_mask, out.logits, col


@pytest.mark.parametrize(
    "fixture, kw",
    [
        ("tiny_llama", {}),
        ("tiny_llama", {"layers": [0, -1], "heads": [1, 2]}),  # heads of both KV groups
        ("tiny_gpt2", {"layers": [0, 1]}),
    ],
)
def test_matches_eager_reference(request, fixture, kw):
    lm = request.getfixturevalue(fixture)
    model = trainable(lm)
    ids, mask, steps = batch(len(lm.tokenizer))
    attn, step_mask, _, col = collect(model, ids, mask, steps, **kw)
    ref = reference(model, ids, mask, steps, 5, col.layers, col.heads)
    assert attn.shape == (2, 5, 5) and attn.dtype == torch.float32
    assert step_mask.tolist() == [[True] * 5, [True] * 3 + [False] * 2]
    assert torch.allclose(attn.double(), ref, atol=1e-5), (attn - ref).abs().max()
    assert float(ref.detach().abs().max()) > 0.05  # not trivially zero
    assert (attn.triu() == 0).all()  # diagonal and upper triangle zeroed


def test_default_layers_and_output_equal_sdpa(tiny_llama):
    model = trainable(tiny_llama)
    ids, mask, steps = batch(len(tiny_llama.tokenizer))
    plain = model(input_ids=ids, attention_mask=mask).logits
    _, _, logits, col = collect(model, ids, mask, steps)
    assert col.layers == [1]  # depth 0.55-0.58 of 2 layers: none inside, the nearest is 1
    # The read layer's output comes from the collector's own probabilities (one QKᵀ):
    # SDPA's within float32 rounding, padding rows included.
    torch.testing.assert_close(logits, plain, rtol=0, atol=1e-5)
    assert model.config._attn_implementation == "sdpa"  # restored


@pytest.mark.parametrize("fixture, proj", [("tiny_llama", "qk"), ("tiny_gpt2", "c_attn")])
def test_gradients_match_eager_reference(request, fixture, proj):
    lm = request.getfixturevalue(fixture)
    model = trainable(lm)
    ids, mask, steps = batch(len(lm.tokenizer), seed=1)
    energy = torch.rand(2, 5, 5, generator=torch.Generator().manual_seed(2))
    attn, step_mask, _, col = collect(model, ids, mask, steps)
    bond_attention_loss(attn, energy, step_mask).backward()
    got = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    ref = reference(model, ids, mask, steps, 5, col.layers, col.heads)
    bond_attention_loss(ref, energy.double(), step_mask).backward()
    want = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    layer = col.layers[0]
    if proj == "qk":
        names = [f"model.layers.{layer}.self_attn.{p}_proj.weight" for p in "qk"]
    else:
        names = [f"transformer.h.{layer}.attn.c_attn.weight"]
    for name in names:
        g = got[name]
        assert torch.isfinite(g).all() and float(g.abs().max()) > 1e-6, name
    assert set(got) == set(want)
    for name, g in got.items():
        scale = float(want[name].abs().max())
        assert torch.allclose(g, want[name], rtol=1e-4, atol=1e-5 * scale + 1e-9), name


def test_chunking_does_not_change_value(tiny_llama):
    model = trainable(tiny_llama)
    ids, mask, steps = batch(len(tiny_llama.tokenizer), seed=3)
    small = collect(model, ids, mask, steps, layers=[0, 1], chunk=4)[0]
    whole = collect(model, ids, mask, steps, layers=[0, 1], chunk=10_000)[0]
    assert torch.allclose(small, whole, atol=1e-6)
    torch.autograd.grad(small.sum(), model.model.layers[1].self_attn.q_proj.weight)


def test_saved_memory_does_not_grow_with_t_squared(tiny_llama):
    """Bytes saved for backward: with the collector they grow with T as a plain SDPA
    forward's do; the extra of eager attention maps grows ~16x from T 64 to 256."""
    model = trainable(tiny_llama)

    def inputs(t):
        ids = torch.randint(3, 90, (1, t), generator=torch.Generator().manual_seed(t))
        bounds = np.linspace(t // 8, t, 7).astype(int)  # 6 steps whatever T
        steps = torch.full((1, t), -1)
        for k in range(6):
            steps[0, bounds[k] : bounds[k + 1] - 1] = k
        return ids, steps

    def plain(t):
        return saved_tensor_bytes(lambda: model(input_ids=inputs(t)[0]).logits)

    def with_collector(t):
        ids, steps = inputs(t)
        col = StepAttentionCollector(model, layers=[0, 1], chunk=32)

        def run():
            with col.capture(steps) as cap:
                logits = model(input_ids=ids).logits
            return logits, cap.attention

        return saved_tensor_bytes(run)

    def eager(t):
        model.set_attn_implementation("eager")
        try:
            return saved_tensor_bytes(lambda: model(input_ids=inputs(t)[0]).logits)
        finally:
            model.set_attn_implementation("sdpa")

    col = {t: with_collector(t) for t in (64, 256)}
    base = {t: plain(t) for t in (64, 256)}
    extra_eager = {t: eager(t) - base[t] for t in (64, 256)}
    # The collector's checkpointed chunks save their inputs, not SDPA's saved output and
    # log-sum-exp: its saved bytes grow from T=64 to 256 as a plain forward's do (linear).
    assert col[256] - col[64] < 1.5 * (base[256] - base[64]), (col, base)
    assert extra_eager[256] / extra_eager[64] > 10, extra_eager  # the measurement sees T²
    assert col[256] < base[256] + extra_eager[256] / 4


def test_errors(tiny_llama):
    model = trainable(tiny_llama)
    col = StepAttentionCollector(model, layers=[1])
    steps = torch.tensor([[-1, 0, 0, 1, 1]])
    with col.capture(steps) as cap:
        pass  # no forward
    with pytest.raises(BondkdError, match="never called"):
        cap.result()
    with pytest.raises(BondkdError, match="do not match"), col.capture(steps[:, :3]):
        model(input_ids=torch.tensor([[5, 6, 7, 8, 9]]))
    assert model.config._attn_implementation == "sdpa"
    with pytest.raises(ValueError, match="n_steps"), col.capture(steps, n_steps=1):
        pass


# -- teacher spans onto student tokens -------------------------------------------------


def test_spans_offsets_overlap_rules():
    # tokens: special (0,0); "abcd" 1 char in step 0, 3 in step 1; half prompt half step;
    # wholly between steps; wholly in step 2
    offsets = [(0, 0), (0, 4), (8, 12), (14, 15), (20, 23)]
    spans = [(0, 1), (1, 4), (10, 14), (16, 25)]
    assert spans_to_token_steps(offsets, spans).tolist() == [-1, 1, 2, -1, 3]
    # spans given in the reasoning's own coordinates, after a 10-char prompt
    shifted = spans_to_token_steps([(0, 9), (10, 12), (12, 13)], [(0, 2), (2, 3)], shift=10)
    assert shifted.tolist() == [-1, 0, 1]


def test_spans_with_student_char_tokenizer(tiny_tokenizer):
    question, reasoning = "Q?", "First 2+2=4. So check: 4. Done"
    spans = [(0, 11), (13, 24), (26, 30)]  # the teacher's steps, separators left out
    text = question + "\n\n" + reasoning
    enc = tiny_tokenizer(text, return_offsets_mapping=True)
    steps = spans_to_token_steps(enc["offset_mapping"], spans, shift=len(question) + 2)
    assert len(steps) == len(enc["input_ids"])
    got = {
        k: "".join(
            text[a:b] for (a, b), s in zip(enc["offset_mapping"], steps, strict=True) if s == k
        )
        for k in (-1, 0, 1, 2)
    }
    assert got == {-1: "Q?\n\n. . ", 0: "First 2+2=4", 1: "So check: 4", 2: "Done"}


def test_spans_with_a_different_word_tokenizer():
    """A word-level student tokenizer: tokens straddle the teacher's span boundaries."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    text = "Let x=3 then y=x+1 hence y=4"
    words = ["<pad>", "<unk>", *text.split()]
    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", unk_token="<unk>")
    # teacher steps cut inside words: "Let x=" | "3 then y=x+1" | "hence y=4"; "L" is prompt
    spans = [(1, 6), (6, 18), (19, 28)]
    enc = tok([text, "Let x=3"], return_offsets_mapping=True, padding=True)
    steps = spans_to_token_steps(enc["offset_mapping"], [spans, spans[:1]])
    # "Let": 2 of 3 chars in step 0; "x=3": "x=" step 0 beats "3" step 1; padding -1
    assert steps.tolist() == [[0, 0, 1, 1, 2, 2], [0, 0, -1, -1, -1, -1]]


def test_teacher_spans_to_student_collector(tiny_llama):
    """End to end: teacher spans -> student char tokens -> differentiable (1, S, S)."""
    tok = tiny_llama.tokenizer
    prompt, reasoning = "Sum 2+2.\n\n", "2+2 is 4. Check: 4-2=2. Yes, 4."
    spans = [(0, 9), (10, 23), (24, 31)]
    enc = tok(prompt + reasoning, return_offsets_mapping=True, return_tensors="pt")
    steps = spans_to_token_steps(enc["offset_mapping"][0], spans, shift=len(prompt))
    model = trainable(tiny_llama)
    col = StepAttentionCollector(model)
    with col.capture(steps) as cap:
        model(input_ids=enc["input_ids"])
    attn, step_mask = cap.result()
    ref = reference(model, enc["input_ids"], None, steps[None], 3, col.layers)
    assert attn.shape == (1, 3, 3) and step_mask.all()
    assert torch.allclose(attn.double(), ref, atol=1e-5)
    assert attn.requires_grad


def test_eager_model_keeps_eager_output(tiny_llama):
    """A model running eager attention: the output equals eager's, the value the same."""
    model = trainable(tiny_llama)
    ids, mask, steps = batch(len(tiny_llama.tokenizer), seed=4)
    via_sdpa = collect(model, ids, mask, steps)[0]
    model.set_attn_implementation("eager")
    plain = model(input_ids=ids, attention_mask=mask).logits
    attn, _, logits, _ = collect(model, ids, mask, steps)
    assert model.config._attn_implementation == "eager"
    # Real tokens only: a padding row sees no key, where eager spreads it evenly over the
    # masked keys and the collector gives 0 as SDPA does; no real token attends to it.
    real = mask.bool()
    torch.testing.assert_close(logits[real], plain[real], rtol=0, atol=1e-5)
    assert torch.allclose(attn, via_sdpa, atol=1e-6)


def test_chunk_masks_agree():
    """The three mask forms a base implementation may hand over give one value:
    4D bool (sdpa), 4D additive (eager), (B, T) key padding (flash)."""
    from bondkd.distill.student import _chunk_mass

    g = torch.Generator().manual_seed(5)
    b, h, t, d, s = 2, 4, 12, 8, 3
    q, k = torch.randn(b, h, t, d, generator=g), torch.randn(b, 2, t, d, generator=g)
    pad = torch.ones(b, t, dtype=torch.bool)
    pad[1, :3] = False  # left padding in row 1
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    keep = (causal[None] & pad[:, None, :])[:, None]  # (B, 1, T, T)
    additive = torch.where(keep, 0.0, torch.finfo(torch.float32).min)
    index = (torch.arange(t) % s).expand(b, t)
    kw = {"c0": 4, "c1": 9, "kv_end": t, "scale": d**-0.5, "causal": True, "n_steps": s}
    heads = torch.tensor([0, 3])
    out = [_chunk_mass(q, k, None, index, m, heads, **kw)[1] for m in (keep, additive, pad)]
    assert torch.allclose(out[0], out[1], atol=1e-6) and torch.allclose(out[0], out[2])
    # no mask = causal only: differs from the padded row 1, equals it in row 0
    free = _chunk_mass(q, k, None, index, None, heads, **kw)[1]
    assert torch.allclose(free[0], out[0][0]) and not torch.allclose(free[1], out[0][1])
    # With the values, the chunk's output is the same under every mask form, and SDPA's
    v = torch.randn(b, 2, t, d, generator=g)
    both = [_chunk_mass(q, k, v, index, m, heads, **kw) for m in (keep, additive, pad)]
    for o, mass in both:
        assert o is not None and torch.allclose(o, both[0][0], atol=1e-6)
        assert torch.allclose(mass, out[0], atol=1e-6)
    want = torch.nn.functional.scaled_dot_product_attention(
        q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1), attn_mask=keep
    )[:, :, 4:9]
    torch.testing.assert_close(both[0][0], want, rtol=0, atol=1e-5)


def test_energy_is_the_teacher_readers_normalisation(tiny_llama):
    """`StepCapture.energy` (torch, batched) equals the attention reader's numpy path:
    normalise(raw, uniform_mass(steps)) on each right-padded row, and keeps gradients."""
    from bondkd.energy.attention import normalise, uniform_mass

    model = trainable(tiny_llama)
    ids, mask, steps = batch(len(tiny_llama.tokenizer))
    ids, mask, steps = ids[1:], mask[1:], steps[1:]  # the right-padded row
    col = StepAttentionCollector(model)
    with col.capture(steps) as cap:
        model(input_ids=ids, attention_mask=mask)
    energy, _ = cap.result(normalised=True)
    raw = cap.attention.detach()[0].double().numpy()
    want = normalise(raw, uniform_mass(steps[0].numpy(), 3))
    lower = np.tril(np.ones((3, 3), bool), -1)
    assert np.allclose(energy.detach()[0].double().numpy()[lower], want[lower], atol=1e-6)
    values = energy.detach()
    assert float(values[0][lower].min()) > 0.05 and float(values.max()) < 1
    energy.sum().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_bf16_autocast(tiny_llama):
    """Mixed precision (e.g. SFTConfig's default bf16=True) runs the model in bf16; the
    step attention is still computed in float32 and stays close to the fp32 value."""
    model = trainable(tiny_llama)
    ids, mask, steps = batch(len(tiny_llama.tokenizer))
    full, _, _, _ = collect(model, ids, mask, steps)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed, _, _, _ = collect(model, ids, mask, steps)
    assert mixed.dtype == torch.float32
    assert torch.allclose(mixed, full, atol=2e-2), (mixed - full).abs().max()
    mixed.sum().backward()
