"""Shared fixtures: tiny random-init causal LMs with an offline character tokenizer."""

from __future__ import annotations

import string

import pytest
import torch
from hypothesis import settings

from bondkd.energy.models import LoadedLM

# Laws, not speed: a per-example deadline fails on a loaded 2-core CI machine.
settings.register_profile("bondkd", deadline=None)
settings.load_profile("bondkd")

# Characters the tiny tokenizer knows; anything else becomes <unk>.
_CHARS = string.printable + "【】思考过程最终答案首先因此等让我检查一下，。：×"


def char_tokenizer():
    """A character-level fast tokenizer built in code (offsets included, no hub)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<pad>", "<bos>"]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for ch in dict.fromkeys(_CHARS):
        vocab.setdefault(ch, len(vocab))
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>", bos_token="<bos>"
    )


def _finish(model, tok, name: str, n_ctx: int) -> LoadedLM:
    model.eval()
    model.requires_grad_(False)
    return LoadedLM(model, tok, name, n_ctx)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return char_tokenizer()


@pytest.fixture(scope="session")
def tiny_llama(tiny_tokenizer) -> LoadedLM:
    """2-layer Llama with GQA (4 query heads, 2 KV heads); weights scaled up so that
    attention is far from uniform."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        vocab_size=len(tiny_tokenizer),
        max_position_embeddings=1024,
        initializer_range=0.3,
        pad_token_id=tiny_tokenizer.pad_token_id,
        bos_token_id=tiny_tokenizer.bos_token_id,
    )
    model = LlamaForCausalLM(cfg)
    return _finish(model, tiny_tokenizer, "tiny-llama", 1024)


@pytest.fixture(scope="session")
def tiny_gpt2(tiny_tokenizer) -> LoadedLM:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(1)
    cfg = GPT2Config(
        n_embd=64,
        n_layer=2,
        n_head=4,
        n_positions=1024,
        vocab_size=len(tiny_tokenizer),
        initializer_range=0.3,
    )
    model = GPT2LMHeadModel(cfg)
    return _finish(model, tiny_tokenizer, "tiny-gpt2", 1024)


class CountEmbedder:
    """Deterministic stand-in for a sentence-transformer: letter-count vectors."""

    model_id = "letter-counts"

    def encode(self, texts):
        import numpy as np

        out = np.zeros((len(texts), 27))
        for k, t in enumerate(texts):
            for ch in t.lower():
                out[k, ord(ch) - 97 if "a" <= ch <= "z" else 26] += 1
        return out
