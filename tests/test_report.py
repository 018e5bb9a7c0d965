"""`bondkd render` / `bondkd report` and what they read: inputs, dataset statistics."""

from __future__ import annotations

import json
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bondkd.cli import main
from bondkd.config import AnalyzeConfig
from bondkd.errors import InputError
from bondkd.measure.stats import DatasetStats, position_bin, role_transitions, row_normalise
from bondkd.pipeline import analyze
from bondkd.read.inputs import iter_inputs
from bondkd.schema import ROLES, MoleculeDoc, Provenance, Step

DATA = Path(__file__).resolve().parents[1] / "datasets"
LEXICAL = AnalyzeConfig(backend="lexical")


def _doc(name: str) -> MoleculeDoc:
    return analyze(json.loads((DATA / name).read_text(encoding="utf-8")), LEXICAL).doc


def _write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


@pytest.fixture(autouse=True)
def _no_models(monkeypatch):
    """Nothing here may load a neural model: molecule documents are shown as they are."""

    def refuse(*a, **k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr("bondkd.energy.models.load_causal_lm", refuse)
    monkeypatch.setattr("bondkd.energy.models.load_embedder", refuse)


# -- inputs ------------------------------------------------------------------------------
def test_inputs_tell_traces_molecules_and_filter_output_apart(tmp_path):
    mol = _doc("exploratory.json").model_dump(mode="json")
    trace = json.loads((DATA / "reflective_long.json").read_text())
    filtered = {**trace, "id": "f1", "bondkd": {"verdict": "rejected", "score": 0.1}}
    bad_mol = {**mol, "steps": [{"index": 0}]}
    raw = {"raw": "{oops", "bondkd": {"id": "line-5", "verdict": "rejected", "reasons": ["x"]}}
    path = _write_jsonl(tmp_path / "in.jsonl", [mol, trace, filtered, bad_mol, raw])
    items = list(iter_inputs(str(path)))
    assert [n for n, _ in items] == [1, 2, 3, 4, 5]
    (_, a), (_, b), (_, c), (_, d), (_, e) = items
    assert a.molecule is not None and a.trace is None and a.verdict is None
    assert b.trace is not None and b.molecule is None
    assert c.trace is not None and c.verdict is False and c.id == "f1"
    assert isinstance(d, InputError) and d.line == 4 and d.field == "steps.0.text"
    assert isinstance(e, InputError) and e.field == "raw"


# -- statistics --------------------------------------------------------------------------
def _roles_doc(roles: list[str]) -> MoleculeDoc:
    steps = [Step(index=i, text="x", start=i, end=i + 1, role=r) for i, r in enumerate(roles)]
    prov = Provenance(bondkd_version="t", backend="lexical", config_hash="h")
    return MoleculeDoc(
        id="t", steps=steps, bonds=[], stability=0.5, accepted=True, reasons=[], conflicts=[],
        weak_points=[], provenance=prov,
    )  # fmt: skip


@given(st.lists(st.sampled_from(ROLES), max_size=40))
def test_role_transitions_count_every_consecutive_pair(roles):
    counts = role_transitions(_roles_doc(roles))
    assert counts.sum() == max(0, len(roles) - 1)
    expected = Counter(pairwise(roles))
    for a in ROLES:
        for b in ROLES:
            assert counts[ROLES.index(a), ROLES.index(b)] == expected[a, b]
    probs = row_normalise(counts)
    sums = probs.sum(axis=1)
    assert np.allclose(sums[counts.sum(axis=1) > 0], 1.0)
    assert np.all(sums[counts.sum(axis=1) == 0] == 0)


@given(st.integers(1, 500), st.data())
def test_position_bins_cover_the_trace(n, data):
    k = data.draw(st.integers(0, n - 1))
    b = position_bin(k, n)
    assert 0 <= b < 10
    assert position_bin(0, n) == 0
    if n > 1:
        assert position_bin(n - 1, n) == 9


def test_dataset_stats_totals():
    docs = [_doc(n) for n in ("reflective_long.json", "exploratory.json", "contradiction.json")]
    stats = DatasetStats()
    for d, verdict in zip(docs, (True, None, False), strict=True):
        stats.add(d, verdict)
    out = stats.to_dict()
    assert out["traces"] == 3
    assert out["verdicts"] == {"accepted": 1, "rejected": 1, "unknown": 1}
    hist = out["stability_histogram"]
    assert sum(hist["accepted"]) + sum(hist["rejected"]) + sum(hist["unknown"]) == 3
    assert sum(out["bond_types"].values()) == sum(len(d.bonds) for d in docs)
    assert sum(map(sum, out["role_transitions"]["counts"])) == sum(len(d.steps) - 1 for d in docs)
    strong = [b.energy for d in docs for b in d.bonds if b.type == "strong_logic"]
    means = [x for x in out["mean_energy_by_position"]["strong_logic"] if x is not None]
    assert min(strong) - 1e-4 <= min(means) <= max(means) <= max(strong) + 1e-4


# -- render ------------------------------------------------------------------------------
def test_render_a_molecule_document_runs_no_model(tmp_path, capsys):
    doc = tmp_path / "mol.json"
    doc.write_text(_doc("reflective_long.json").model_dump_json())
    out = tmp_path / "m.html"
    assert main(["render", str(doc), "-o", str(out)]) == 0
    page = out.read_text()
    assert "reflective-long-notebooks" in page and "vis.Network" in page


def test_render_picks_by_id_and_explains_ambiguity(tmp_path, capsys):
    docs = [_doc("exploratory.json"), _doc("contradiction.json")]
    path = _write_jsonl(tmp_path / "mols.jsonl", [d.model_dump(mode="json") for d in docs])
    out = tmp_path / "m.html"
    assert main(["render", str(path), "-o", str(out)]) == 2
    assert "more than one record; pick one with --id" in capsys.readouterr().err
    assert main(["render", str(path), "-o", str(out), "--id", docs[1].id]) == 0
    assert docs[1].id in out.read_text()
    assert main(["render", str(path), "-o", str(out), "--id", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no record with id 'nope'" in err and "Traceback" not in err


# -- report ------------------------------------------------------------------------------
def test_report_writes_page_views_pngs_and_accounts_for_every_record(tmp_path, capsys):
    mols = [_doc(n).model_dump(mode="json") for n in ("exploratory.json", "hostile.json")]
    trace = json.loads((DATA / "chinese_reflective.json").read_text(encoding="utf-8"))
    filtered = {**json.loads((DATA / "reflective_long.json").read_text()), "bondkd": {
        "verdict": "accepted"}}  # fmt: skip
    path = _write_jsonl(tmp_path / "data.jsonl", [*mols, filtered, trace])
    with path.open("a") as fh:
        fh.write("{not json\n")
    out = tmp_path / "rep" / "report.html"
    rc = main([
        "report", str(path), "-o", str(out), "--backend", "lexical", "--views", "3",
        "--png", str(tmp_path / "png"), "--json", str(tmp_path / "summary.json"),
    ])  # fmt: skip
    assert rc == 1  # one unreadable line
    captured = capsys.readouterr()
    assert "data.jsonl:5" in captured.err and "4 traces" in captured.out
    page = out.read_text(encoding="utf-8")
    data = json.loads(page.split('id="bondkd-data">')[1].split("</script>")[0])
    rows = data["rows"]
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert rows[2]["by"] == "filter" and rows[2]["verdict"] == "accepted"
    assert [r["view"] is not None for r in rows] == [True, True, True, False]
    assert sorted(p.name for p in (tmp_path / "rep" / "report_molecules").iterdir()) == [
        "00001.html", "00002.html", "00003.html",
    ]  # fmt: skip
    assert page.count("<svg") >= 4 and "data.jsonl:5" in page
    for name in ("stability", "bond_types", "energy_by_position", "role_transitions"):
        assert (tmp_path / "png" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["traces"] == 4 and summary["errors"] == 1 and summary["views"] == 3


def test_report_rejects_a_negative_view_cap(tmp_path, capsys):
    assert main(["report", str(DATA / "mixed.jsonl"), "-o", str(tmp_path / "r.html"),
                 "--views", "-1"]) == 2  # fmt: skip
    assert "--views" in capsys.readouterr().err
