"""bondkd.distill.fidelity (the measures of the distillation examples) must read the
teacher back exactly.

With the teacher's own attention component as the reader, rebuilding the molecule must
give the teacher's bond types on every candidate pair (agreement 1.0); any other
attention must change the energies only through the attention weight."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bondkd.config import AnalyzeConfig
from bondkd.distill import fidelity
from bondkd.distill.targets import build_targets
from bondkd.pipeline import Analyzer
from bondkd.read.formats import parse_record

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_teacher_as_reader_reproduces_its_bonds():
    cfg = AnalyzeConfig()  # model backend: the targets carry an attention component
    traces = [parse_record(json.loads((ROOT / "datasets" / n).read_text()))
              for n in ("reflective_long.json", "exploratory.json", "chinese_reflective.json")]  # fmt: skip
    for t in build_targets(traces, Analyzer(cfg)):
        assert t.attention is not None and (t.bond_types > 0).any()
        j, i = t.pairs[:, 0], t.pairs[:, 1]
        same = fidelity.bond_types_with(t, np.nan_to_num(t.attention), cfg)
        assert (same[j, i] == t.bond_types[j, i]).all(), t.id
        flat = fidelity.bond_types_with(t, np.zeros_like(t.attention), cfg)  # a blind reader
        assert (flat[j, i] != t.bond_types[j, i]).any(), t.id


def test_teacher_as_student_scores_one_and_skips_truncated_steps():
    """The teacher itself, read through the student path (collector, collator, with the
    teacher's BOS), must score Spearman 1 and bond agreement 1, also when truncation cuts
    a trace: steps the student did not read whole are left out, not compared as zeros."""
    from bondkd.distill.collate import BondCollator
    from bondkd.distill.student import StepAttentionCollector
    from bondkd.energy.models import load_causal_lm

    names = ("reflective_long.json", "exploratory.json", "chinese_reflective.json")
    traces = [parse_record(json.loads((ROOT / "datasets" / n).read_text())) for n in names]
    targets = list(build_targets(traces, Analyzer(AnalyzeConfig())))
    lm = load_causal_lm("smollm2")  # shared with other tests: leave it as found
    previous = lm.model.config._attn_implementation
    lm.model.set_attn_implementation("sdpa")
    prompt = lm.tokenizer.bos_token + "{question}\n\n"
    whole = BondCollator(lm.tokenizer, max_length=2048, prompt=prompt)
    cut = BondCollator(lm.tokenizer, max_length=160, prompt=prompt)
    assert (
        cut(targets)["token_steps"].amax(1) + 1 < torch.tensor([t.n_steps for t in targets])
    ).any()
    try:
        for collate in (whole, cut):
            r = fidelity.evaluate(
                lm.model, StepAttentionCollector(lm.model), targets, collate, batch=2
            )
            assert r["spearman"] == pytest.approx(1.0, abs=1e-9), r
            assert r["spearman_net"] == pytest.approx(1.0, abs=1e-9), r
            assert r["bond_agreement"] == pytest.approx(1.0), r
    finally:
        lm.model.set_attn_implementation(previous)
    assert not lm.model.training


def test_recency_reader_scores_one_only_where_the_teacher_is_pure_recency():
    import dataclasses

    names = ("reflective_long.json", "exploratory.json")
    traces = [parse_record(json.loads((ROOT / "datasets" / n).read_text())) for n in names]
    targets = list(build_targets(traces, Analyzer(AnalyzeConfig())))
    assert fidelity.recency_spearman(targets) < 0.99  # the real teacher is not pure recency
    recent = []
    for t in targets:
        j, i = np.indices((t.n_steps, t.n_steps))
        att = np.where(np.isnan(t.attention), np.nan, 1.0 / (1 + np.abs(j - i)))
        recent.append(dataclasses.replace(t, attention=att))
    assert fidelity.recency_spearman(recent) == pytest.approx(1.0)
