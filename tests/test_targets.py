"""Teacher targets: built once per trace from the analyzer, stored, read back unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import CountEmbedder

from bondkd.config import AnalyzeConfig, AttentionConfig
from bondkd.distill.targets import (
    BOND_CODES,
    TargetReader,
    TargetWriter,
    TeacherTarget,
    build_targets,
)
from bondkd.errors import BondkdError
from bondkd.pipeline import Analyzer
from bondkd.read.formats import parse_record

DATA = Path(__file__).resolve().parents[1] / "datasets"
COPIES = 3  # each shipped trace under 3 ids: enough traces for several shards


def _traces():
    base = [parse_record(json.loads(p.read_text("utf-8"))) for p in sorted(DATA.glob("*.json"))]
    assert len(base) >= 5
    return [t.model_copy(update={"id": f"{t.id}#{c}"}) for c in range(COPIES) for t in base]


@pytest.fixture(scope="module")
def lexical():
    analyzer = Analyzer(AnalyzeConfig(backend="lexical", batch=4))
    traces = _traces()
    return analyzer, traces, list(build_targets(traces, analyzer))


def _bond_matrix(doc) -> np.ndarray:
    m = np.zeros((len(doc.steps), len(doc.steps)), np.int8)
    for b in doc.bonds:
        m[b.source, b.target] = BOND_CODES[b.type]
    return m


def assert_same(got: TeacherTarget, want: TeacherTarget) -> None:
    assert (got.id, got.text, got.question) == (want.id, want.text, want.question)
    assert (got.stability, got.accepted) == (want.stability, want.accepted)
    for name in ("spans", "pairs", "bond_types"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert got.energy.dtype == np.float32
    np.testing.assert_allclose(got.energy, want.energy, rtol=0, atol=1e-7)
    if want.attention is None:
        assert got.attention is None
    else:
        assert got.attention is not None
        np.testing.assert_allclose(got.attention, want.attention, rtol=0, atol=1e-7)  # NaN == NaN


def test_bond_codes_match_the_loss():
    from bondkd.distill.loss import BOND_CODES as LOSS_CODES

    assert BOND_CODES == LOSS_CODES


def test_targets_agree_with_the_molecule(lexical):
    analyzer, traces, targets = lexical
    assert [t.id for t in targets] == [t.id for t in traces]
    seen_types: set[int] = set()
    for trace, target in zip(traces, targets, strict=True):
        doc = analyzer.analyze(trace).doc  # analysed on its own, as `bondkd analyze` would
        s = len(doc.steps)
        assert s >= 2 and target.n_steps == s
        assert target.text == doc.reasoning and target.question == doc.question
        assert target.spans.dtype == np.int64
        assert target.spans.tolist() == [[st.start, st.end] for st in doc.steps]
        assert [target.text[a:b] for a, b in target.spans] == [st.text for st in doc.steps]
        assert (target.stability, target.accepted) == (doc.stability, doc.accepted)
        assert target.attention is None  # the lexical backend computes no attention
        e = target.energy
        assert e.shape == (s, s) and e.dtype == np.float32
        assert np.isfinite(e).all() and (e >= 0).all() and (e <= 1).all()
        assert not np.triu(e).any(), "energy must be strictly lower-triangular"
        assert e.any()
        # Candidate pairs carry the analyzer's combined energy; everything else is 0.
        pe = analyzer.energies(trace).energy
        np.testing.assert_array_equal(target.pairs, pe.pairs)
        np.testing.assert_allclose(e[pe.pairs[:, 0], pe.pairs[:, 1]], pe.energy, atol=1e-7)
        off = np.ones((s, s), bool)
        off[pe.pairs[:, 0], pe.pairs[:, 1]] = False
        assert not e[off].any()
        # Bond types: exactly the molecule's typed bonds, 0 elsewhere.
        assert target.bond_types.dtype == np.int8
        np.testing.assert_array_equal(target.bond_types, _bond_matrix(doc))
        # A bond's energy is the combined energy of its pair (rounded to 6 decimals).
        for b in doc.bonds:
            assert abs(float(e[b.source, b.target]) - b.energy) <= 1e-6
        seen_types |= set(np.unique(target.bond_types).tolist())
    assert seen_types == {0, 1, 2, 3}  # the shipped samples exercise every bond type


def test_each_trace_is_analysed_once(monkeypatch):
    analyzer = Analyzer(AnalyzeConfig(backend="lexical", batch=4))
    traces = _traces()[:7]
    calls: list[int] = []
    energies_many = analyzer.energies_many

    def counting(chunk):
        calls.append(len(chunk))
        return energies_many(chunk)

    monkeypatch.setattr(analyzer, "energies_many", counting)
    out = build_targets(iter(traces), analyzer)
    assert calls == []  # lazy: nothing is analysed before it is asked for
    assert len(list(out)) == 7
    assert calls == [4, 3]


def test_round_trip_across_shards(tmp_path, lexical):
    analyzer, _, targets = lexical
    out = tmp_path / "targets"
    with TargetWriter(out, analyzer, shard_size=4, extra_meta={"input": "x.jsonl"}) as w:
        assert w.write_all(iter(targets)) == len(targets)
    n = len(targets)
    shards = sorted(p.name for p in out.glob("shard-*.npz"))
    assert shards == [f"shard-{k:05d}.npz" for k in range(-(-n // 4))]
    assert sorted(p.name for p in out.iterdir()) == sorted(["meta.json", "index.jsonl", *shards])

    r = TargetReader(out)
    meta = r.meta
    assert meta["format"] == "bondkd-targets" and meta["count"] == n and meta["complete"]
    assert meta["backend"] == "lexical" and meta["models"] == {}
    assert meta["config_hash"] == analyzer.config.hash() and meta["bond_codes"] == BOND_CODES
    assert meta["input"] == "x.jsonl" and meta["shards"] == len(shards)
    assert len(r) == n
    for got, want in zip(r, targets, strict=True):
        assert_same(got, want)
    # Random access, jumping back and forth between shards (the cache holds one).
    for k in [n - 1, 0, 5, 4, 3, n - 2, 1, 8, 7]:
        assert_same(r[k], targets[k])
    assert_same(r[-1], targets[-1])
    assert_same(r.by_id(targets[9].id), targets[9])
    with pytest.raises(IndexError):
        r[n]
    with pytest.raises(KeyError):
        r.by_id("no-such-id")
    # Compact: O(pairs) bytes (spans 16, pair 8 + energy 4 + attention 4 + type 1), not S×S,
    # plus npz headers (about 1.3 KB a shard: 5 arrays × zip + npy headers).
    stored = sum((out / s).stat().st_size for s in shards)
    payload = sum(16 * t.n_steps + 17 * len(t.pairs) for t in targets)
    assert stored <= payload + 1500 * len(shards)


def test_long_trace_is_stored_in_pairs_not_s_squared(tmp_path):
    analyzer = Analyzer(AnalyzeConfig(backend="lexical"))
    base = next(t for t in _traces() if t.id.startswith("reflective-long-"))
    long = base.model_copy(update={"reasoning": "\n\n".join([base.reasoning] * 6)})
    (target,) = build_targets([long], analyzer)
    s = target.n_steps
    # O(S): the window and long-range partners of each step, plus its content links
    per_step = analyzer.config.energy.local_window + analyzer.config.energy.long_range + 3
    assert s > 100 and len(target.pairs) <= per_step * s
    with TargetWriter(tmp_path / "t") as w:
        w.write(target)
    stored = (tmp_path / "t" / "shard-00000.npz").stat().st_size
    assert stored <= 16 * s + 17 * len(target.pairs) + 1500
    assert stored < 9 * s * s / 4  # dense float32 energy + attention + int8 types: 9 S² bytes
    assert_same(TargetReader(tmp_path / "t")[0], target)


def test_model_backend_keeps_attention(tmp_path, tiny_llama):
    """Attention travels too, NaN (no component) included: a small window forces pairs
    that never share one."""
    from bondkd.energy.attention import StepAttentionReader

    analyzer = Analyzer(AnalyzeConfig(batch=2))
    cfg = AttentionConfig(depth=(0, 1), max_tokens=256, overlap=128)
    analyzer._reader = StepAttentionReader(tiny_llama, cfg)
    analyzer._embedder = CountEmbedder()
    traces = [t for t in _traces()[:6] if t.id.startswith(("exploratory-", "reflective-long-"))]
    assert len(traces) == 2
    targets = list(build_targets(traces, analyzer))
    nan_pairs = 0
    for trace, t in zip(traces, targets, strict=True):
        pe = analyzer.energies(trace).energy
        att = pe.components["attention"]
        assert t.attention is not None and att is not None
        j, i = t.pairs[:, 0], t.pairs[:, 1]
        np.testing.assert_allclose(t.attention[j, i], att, atol=1e-6)  # NaN where NaN
        np.testing.assert_allclose(t.energy[j, i], pe.energy, atol=1e-6)
        assert not np.triu(np.nan_to_num(t.attention, nan=1.0)).any()
        nan_pairs += int(np.isnan(att).sum())
    assert nan_pairs > 0
    with TargetWriter(tmp_path / "m", analyzer, shard_size=2) as w:
        w.write_all(targets)
    r = TargetReader(tmp_path / "m")
    assert r.meta["backend"] == "model"
    assert r.meta["models"] == {"attention": "tiny-llama", "embedder": "letter-counts"}
    for got, want in zip(r, targets, strict=True):
        assert_same(got, want)


def test_empty_and_interrupted_runs(tmp_path, lexical):
    _, _, targets = lexical
    with TargetWriter(tmp_path / "empty"):
        pass
    assert len(TargetReader(tmp_path / "empty")) == 0
    with pytest.raises(RuntimeError), TargetWriter(tmp_path / "cut", shard_size=2) as w:
        w.write_all(targets[:3])
        raise RuntimeError("killed")
    r = TargetReader(tmp_path / "cut")  # what was written stays readable, marked incomplete
    assert not r.meta["complete"] and len(r) == 3
    assert_same(r[2], targets[2])


def test_writer_refuses_to_clobber_and_values_it_cannot_store(tmp_path, lexical):
    _, _, targets = lexical
    out = tmp_path / "t"
    with TargetWriter(out, shard_size=2) as w:
        w.write_all(targets[:5])
    with pytest.raises(BondkdError, match="not empty"):
        TargetWriter(out)
    (out / "notes.txt").write_text("mine")
    with TargetWriter(out, overwrite=True) as w:
        w.write(targets[0])
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.glob("shard-*")) == ["shard-00000.npz"]
    assert len(TargetReader(out)) == 1
    with pytest.raises(BondkdError, match=r"not a directory|cannot write"):
        TargetWriter(out / "notes.txt")
    t = targets[0]
    bad = TeacherTarget(**{**vars(t), "energy": t.energy.copy()})
    bad.energy[0, 0] = 0.5  # not a candidate pair: the format could not keep it
    with pytest.raises(ValueError, match="candidate pairs"), TargetWriter(tmp_path / "b") as w:
        w.write(bad)


@pytest.fixture
def written(tmp_path, lexical):
    _, _, targets = lexical
    out = tmp_path / "t"
    with TargetWriter(out, shard_size=4) as w:
        w.write_all(targets[:10])
    return out


def test_missing_or_foreign_directory(tmp_path):
    with pytest.raises(BondkdError, match="no such targets directory"):
        TargetReader(tmp_path / "nope")
    with pytest.raises(BondkdError, match=r"no meta\.json"):
        TargetReader(tmp_path)
    (tmp_path / "meta.json").write_text('{"format": "something-else"}')
    with pytest.raises(BondkdError, match="not a bondkd targets"):
        TargetReader(tmp_path)


@pytest.mark.parametrize(
    ("damage", "match", "when"),
    [
        ("meta_garbage", "meta.json: missing or corrupt", "open"),
        ("meta_version", "targets format 99", "open"),
        ("index_missing", "index.jsonl: cannot read", "open"),
        ("index_truncated", "truncated or corrupt", "open"),
        ("index_line_garbage", "index.jsonl:6: missing or corrupt", "read"),
        ("index_entry_bad", "index.jsonl:6: corrupt entry", "read"),
        ("shard_missing", "shard-00001.npz: missing or corrupt shard", "read"),
        ("shard_garbage", "shard-00001.npz: missing or corrupt shard", "read"),
        ("shard_short", "corrupt entry", "read"),
    ],
)
def test_corrupt_directory_gives_a_clear_error(written, damage, match, when):
    meta, index = written / "meta.json", written / "index.jsonl"
    lines = index.read_text("utf-8").splitlines(keepends=True)
    shard = written / "shard-00001.npz"
    if damage == "meta_garbage":
        meta.write_text("{not json")
    elif damage == "meta_version":
        meta.write_text(json.dumps({**json.loads(meta.read_text()), "format_version": 99}))
    elif damage == "index_missing":
        index.unlink()
    elif damage == "index_truncated":
        index.write_text("".join(lines[:-1]), "utf-8")
    elif damage == "index_line_garbage":  # same length, so the other offsets stay valid
        lines[5] = "x" * (len(lines[5].encode()) - 1) + "\n"
        index.write_bytes("".join(lines).encode())
    elif damage == "index_entry_bad":
        entry = json.loads(lines[5])
        del entry["S"]
        lines[5] = json.dumps(entry, ensure_ascii=False) + "\n"
        index.write_text("".join(lines), "utf-8")
    elif damage == "shard_missing":
        shard.unlink()
    elif damage == "shard_garbage":
        shard.write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "shard_short":  # a shard of another run, with fewer rows
        arrays = dict(np.load(shard))
        np.savez(shard, **{k: v[:2] for k, v in arrays.items()})
    if when == "open":
        with pytest.raises(BondkdError, match=re.escape(match)):
            TargetReader(written)
        return
    r = TargetReader(written)
    assert_ok = r[0]  # shard 0 and line 1 are intact
    assert assert_ok.n_steps >= 2
    with pytest.raises(BondkdError, match=re.escape(match)):
        r[5]
    with pytest.raises(BondkdError, match=re.escape(match)):
        list(r)
