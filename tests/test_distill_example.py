"""examples/distill_gsm8k.py: its measurement must read the teacher back exactly.

With the teacher's own attention component as the reader, rebuilding the molecule must
give the teacher's bond types on every candidate pair (agreement 1.0); any other
attention must change the energies only through the attention weight."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from bondkd.config import AnalyzeConfig
from bondkd.formats import parse_record
from bondkd.pipeline import Analyzer
from bondkd.targets import build_targets

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def example():
    spec = importlib.util.spec_from_file_location(
        "distill_gsm8k", ROOT / "examples/distill_gsm8k.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_teacher_as_reader_reproduces_its_bonds():
    mod = example()
    cfg = AnalyzeConfig()  # model backend: the targets carry an attention component
    traces = [parse_record(json.loads((ROOT / "datasets" / n).read_text()))
              for n in ("reflective_long.json", "exploratory.json", "chinese_reflective.json")]  # fmt: skip
    for t in build_targets(traces, Analyzer(cfg)):
        assert t.attention is not None and (t.bond_types > 0).any()
        j, i = t.pairs[:, 0], t.pairs[:, 1]
        same = mod.bond_types_with(t, np.nan_to_num(t.attention), cfg)
        assert (same[j, i] == t.bond_types[j, i]).all(), t.id
        flat = mod.bond_types_with(t, np.zeros_like(t.attention), cfg)  # a blind reader
        assert (flat[j, i] != t.bond_types[j, i]).any(), t.id
