"""Parquet, Arrow, `datasets` and zstd inputs; Parquet outputs (issue 17, I/O).

The laws: a record written to Parquet by bondkd reads back as the same record whatever
its keys and value types; a table input gates, analyses and reports like the JSONL it
was made from; a layout bondkd cannot read is one line naming the path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bondkd.cli import main
from bondkd.errors import BondkdError
from bondkd.gate.files import read_lines
from bondkd.read.files import iter_traces
from bondkd.read.table_out import TableOutConfig, write_table
from bondkd.read.tables import iter_rows, layout, need

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

DATASETS = Path(__file__).resolve().parents[1] / "datasets"

# JSON values of every kind, so a column sees mixed types, nesting, nulls and absences.
_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=5)
_scalars |= st.floats(allow_nan=False, allow_infinity=False)
_values = st.recursive(_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(
    st.text(max_size=3), c, max_size=3), max_leaves=6)  # fmt: skip
_records = st.lists(st.dictionaries(st.sampled_from(list("abcde")), _values, max_size=5),
                    max_size=8)  # fmt: skip


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def _values_of(path: Path | str) -> list:
    return [v for _, v in read_lines(str(path))]


@given(_records, st.integers(1, 3), st.booleans())
def test_parquet_written_by_bondkd_reads_back_as_the_records(tmp_path_factory, records, shard,
                                                             folder):  # fmt: skip
    tmp = tmp_path_factory.mktemp("t")
    src = _jsonl(tmp / "in.jsonl", records)
    dest = tmp / ("out/" if folder else "out.parquet")
    cfg = TableOutConfig(rows_per_shard=shard, row_group_rows=2)
    assert write_table(src, str(dest), cfg) == len(records)
    got = [rec for _, rec in iter_rows(str(dest).rstrip("/"), "parquet")]
    assert got == records
    # key order too: a record written back to JSONL keeps its bytes when keys come in one order
    if all(list(r) == list(records[0]) for r in records):
        assert [list(r) for r in got] == [list(r) for r in records]


def _readable(name: str) -> list[dict]:
    return [v for v in _values_of(DATASETS / name) if isinstance(v, dict)]


def _filter(tmp: Path, src: Path, acc: str, rej: str, *extra: str) -> int:
    # joined as text: pathlib would drop the slash that asks for a folder of shards
    return main(["filter", str(src), "--accepted", f"{tmp}/{acc}", "--rejected",
                 f"{tmp}/{rej}", "-q", *extra])  # fmt: skip


def test_filter_parquet_in_and_out_equals_the_jsonl_path(tmp_path):
    records = _readable("labelled.jsonl")[:24] + _readable("gate_demo.jsonl")
    src = _jsonl(tmp_path / "in.jsonl", records)
    table = tmp_path / "in.parquet"
    write_table(src, str(table))
    assert _filter(tmp_path, src, "a.jsonl", "r.jsonl") == 0
    assert _filter(tmp_path, table, "a.parquet", "rdir/") == 0
    assert list((tmp_path / "rdir").iterdir()) == [tmp_path / "rdir" / "part-00000.parquet"]
    for jsonl, parquet in (("a.jsonl", "a.parquet"), ("r.jsonl", "rdir")):
        want = _values_of(tmp_path / jsonl)
        assert want and _values_of(tmp_path / parquet) == want
    assert not list(tmp_path.glob("*.partial.jsonl"))  # journals go once Parquet is written


def test_parquet_outputs_resume_and_a_completed_run_resumes_to_the_same(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", _readable("labelled.jsonl")[:20])
    assert _filter(tmp_path, src, "full_a.jsonl", "full_r.jsonl") == 0
    # A run killed after 7 records: its journals hold what was flushed (and a torn line).
    done = {"a.parquet": _values_of(tmp_path / "full_a.jsonl")[:4],
            "r.parquet": _values_of(tmp_path / "full_r.jsonl")[:3]}  # fmt: skip
    assert all(done.values())  # both outputs have a part written before the kill
    for name, recs in done.items():
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
        (tmp_path / f"{name}.partial.jsonl").write_text(text + '{"torn', "utf-8")
    assert _filter(tmp_path, src, "a.parquet", "r.parquet") == 2  # refused without --resume
    for _ in range(2):  # the interrupted run, then the completed one again
        assert _filter(tmp_path, src, "a.parquet", "r.parquet", "--resume") == 0
        assert _values_of(tmp_path / "a.parquet") == _values_of(tmp_path / "full_a.jsonl")
        assert _values_of(tmp_path / "r.parquet") == _values_of(tmp_path / "full_r.jsonl")


def test_datasets_folders_and_shards_read_like_the_jsonl(tmp_path):
    datasets = pytest.importorskip("datasets")
    # One key set and flat values: `datasets` fills a missing key with null, JSONL has none.
    keys = ("id", "lang", "question", "reasoning", "answer")
    records = [{k: r[k] for k in keys} for r in _readable("labelled.jsonl") if "reasoning" in r]
    records = records[:12]
    src = _jsonl(tmp_path / "in.jsonl", records)
    ds = datasets.Dataset.from_list(records)
    ds.save_to_disk(str(tmp_path / "hf"))
    (tmp_path / "shards" / "data").mkdir(parents=True)
    ds.select(range(5)).to_parquet(str(tmp_path / "shards" / "data" / "train-0.parquet"))
    ds.select(range(5, 12)).to_parquet(str(tmp_path / "shards" / "data" / "train-1.parquet"))
    assert layout(str(tmp_path / "hf")) == "hf" and layout(str(tmp_path / "shards")) == "parquet"
    want = [(n, t.model_dump()) for n, t in iter_traces(str(src))]
    for path in (tmp_path / "hf", tmp_path / "shards"):
        assert [(n, t.model_dump() | {"source": None}) for n, t in iter_traces(str(path))] == [
            (n, t | {"source": None}) for n, t in want
        ]
        assert _filter(tmp_path, path, f"{path.name}_a.jsonl", f"{path.name}_r.jsonl") == 0
    assert _filter(tmp_path, src, "a.jsonl", "r.jsonl") == 0
    for out in ("a", "r"):
        want_out = _values_of(tmp_path / f"{out}.jsonl")
        assert _values_of(tmp_path / f"hf_{out}.jsonl") == want_out
        assert _values_of(tmp_path / f"shards_{out}.jsonl") == want_out
    dd = datasets.DatasetDict({"train": ds, "test": ds})
    dd.save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(BondkdError, match=r"DatasetDict \(splits: train, test\)"):
        layout(str(tmp_path / "dd"))


def test_zstd_jsonl_analyses_like_the_plain_file(tmp_path, capsys):
    zstd = pytest.importorskip("zstandard")
    raw = (DATASETS / "r1_think.jsonl").read_bytes()
    plain = tmp_path / "t.jsonl"
    plain.write_bytes(raw)
    packed = tmp_path / "t.jsonl.zst"
    packed.write_bytes(zstd.ZstdCompressor().compress(raw))
    outs = []
    for src in (plain, packed):
        out = tmp_path / f"{src.name}.mol.jsonl"
        assert main(["analyze", str(src), "--backend", "lexical", "-q", "--json", str(out)]) == 0
        outs.append([json.loads(x) for x in out.read_text("utf-8").splitlines()])
    # provenance names the file and its hash, which differ by design
    lineage_free = [[{k: v for k, v in d.items() if k != "provenance"} for d in o] for o in outs]
    assert lineage_free[0] == lineage_free[1] and len(outs[0]) == 3
    packed.write_bytes(packed.read_bytes()[:40])  # cut inside the frame
    assert _values_of(plain)  # the plain file still reads
    with pytest.raises(BondkdError, match=r"t\.jsonl\.zst: corrupt or truncated zstd data"):
        _values_of(packed)


def test_analyze_writes_parquet_documents(tmp_path):
    out = tmp_path / "mols.parquet"
    src = str(DATASETS / "r1_think.jsonl")
    assert main(["analyze", src, "--backend", "lexical", "-q", "--json", str(out)]) == 0
    assert main(["analyze", src, "--backend", "lexical", "-q", "--json", str(tmp_path / "m.jsonl")]) == 0  # fmt: skip
    want = [json.loads(x) for x in (tmp_path / "m.jsonl").read_text("utf-8").splitlines()]
    assert [r for _, r in iter_rows(str(out), "parquet")] == want


def test_unknown_layouts_are_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 but nothing else")
    # analyze: a folder is refused (exit 2); a broken file among many is skipped (exit 1)
    for path, what, code in ((tmp_path / "empty", "unknown dataset layout", 2),
                             (bad, "not a readable Parquet file", 1)):  # fmt: skip
        rc = main(["analyze", str(path), "--backend", "lexical", "-q"])
        err = capsys.readouterr().err
        assert rc == code and "Traceback" not in err
        (line,) = [x for x in err.splitlines() if what in x]
        assert line.startswith(("bondkd: error: ", "bondkd: skipped: ")) and str(path) in line
        rc = _filter(tmp_path, path, "a.jsonl", "r.jsonl")
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and what in err and str(path) in err
    with pytest.raises(BondkdError, match=r"needs the 'no_such_pkg' package: pip install 'bondkd\[ray\]'"):  # fmt: skip
        need("no_such_pkg", "ray", "running on Ray")


def test_a_row_json_cannot_hold_is_rejected_with_its_values_kept(tmp_path):
    table = pa.table({"id": ["a", "b"], "question": ["q", "q"],
                      "reasoning": ["3 * 4 = 12. So 12.", "3 * 4 = 12. So 12."],
                      "score": [1.5, float("nan")]})  # fmt: skip
    pq.write_table(table, tmp_path / "in.parquet")
    assert _filter(tmp_path, tmp_path / "in.parquet", "a.jsonl", "r.jsonl") == 0
    rows = _values_of(tmp_path / "a.jsonl") + _values_of(tmp_path / "r.jsonl")
    (bad,) = [r for r in rows if "raw" in r]
    assert bad["bondkd"]["line"] == 2 and "NaN" in bad["bondkd"]["reasons"][0]
    assert json.loads(bad["raw"].replace("NaN", "null"))["id"] == "b"
