"""Files → traces: every record or an error naming file, line and field, in input order."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
from pathlib import Path

import pytest

from bondkd.errors import InputError
from bondkd.read.files import file_hash, iter_traces, read_single
from bondkd.schema import Trace

DATA = Path(__file__).resolve().parents[1] / "datasets"


def _rec(n: int) -> dict:
    return {"question": f"q{n}", "reasoning": f"{n} + 1 = {n + 1}. So it is {n + 1}."}


def _lines(*objs: object) -> str:
    return "".join(
        (o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n" for o in objs
    )


def test_jsonl_bad_line_reported_others_kept_in_order(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        _lines(_rec(1), "", '{"reasoning": "x",, }', {**_rec(4), "id": "keep"}, "   ", _rec(6),
               {"question": "q", "reasoning": ""}, {"foo": 1}, [1, 2]),
        encoding="utf-8",
    )  # fmt: skip
    items = list(iter_traces(str(path)))
    assert [n for n, _ in items] == [1, 3, 4, 6, 7, 8, 9]
    good = {n: t for n, t in items if isinstance(t, Trace)}
    assert [t.id for t in good.values()] == ["line-1", "keep", "line-6"]
    assert good[6].source == f"{path}:6" and good[6].question == "q6"
    errors = {n: e for n, e in items if isinstance(e, InputError)}
    assert all(e.path == str(path) and e.line == n for n, e in errors.items())
    assert "invalid JSON" in errors[3].message and "column 19" in errors[3].message
    assert (errors[7].field, errors[7].message) == ("reasoning", "empty reasoning")
    assert str(errors[7]) == f"{path}:7: field 'reasoning': empty reasoning"
    assert errors[8].message.startswith("unknown layout")
    assert "expected a JSON object" in errors[9].message


def test_shipped_mixed_file_reports_line_6_only() -> None:
    items = list(iter_traces(str(DATA / "mixed.jsonl")))
    bad = [n for n, t in items if isinstance(t, InputError)]
    assert bad == [6] and [n for n, _ in items] == list(range(1, 12))
    assert len({t.format for _, t in items if isinstance(t, Trace)}) == 8


def test_single_json_and_ids(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(_rec(2), indent=2), encoding="utf-8")
    [(n, trace)] = list(iter_traces(str(path)))
    assert n == 1 and isinstance(trace, Trace)
    assert (trace.id, trace.source) == ("line-1", f"{path}:1")
    assert read_single(str(path)) == trace
    named = read_single(str(DATA / "chinese_reflective.json"))
    assert named.id == "zh-reflective-orchard" and named.format == "zh_sections"


def test_json_array_items_and_real_lines(tmp_path: Path) -> None:
    path = tmp_path / "arr.json"
    path.write_text(json.dumps([_rec(1), {"question": "q", "steps": [3]}, _rec(3)], indent=2))
    items = list(iter_traces(str(path)))
    assert [n for n, _ in items] == [1, 2, 3]
    first, err, third = (t for _, t in items)
    assert isinstance(first, Trace) and isinstance(third, Trace) and isinstance(err, InputError)
    assert (first.id, third.id) == ("item-1", "item-3")
    lines = path.read_text().split("\n")
    # Each source points at the line where its item opens.
    for trace in (first, third):
        line = int(trace.source.rsplit(":", 1)[1])
        assert lines[line - 1].strip() == "{" and trace.question in lines[line]
    assert err.field == "steps[0]" and "(array item 2)" in err.message
    assert lines[err.line - 1].strip() == "{" and '"q"' in lines[err.line]


def test_binary_missing_directory_empty(tmp_path: Path) -> None:
    binary = tmp_path / "x.jsonl"
    binary.write_bytes(b"\x00\x01\x02\xff" * 10)
    utf16 = tmp_path / "y.json"
    utf16.write_bytes(json.dumps(_rec(1)).encode("utf-16"))
    for p in (binary, utf16):
        [(_, err)] = list(iter_traces(str(p)))
        assert isinstance(err, InputError) and err.message == "not a text file (binary data)"
        assert err.path == str(p)
    [(_, missing)] = list(iter_traces(str(tmp_path / "nope.jsonl")))
    assert (missing.line, missing.field, missing.message) == (None, None, "no such file")
    [(_, folder)] = list(iter_traces(str(tmp_path)))
    assert "directory" in folder.message
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n\n")
    [(_, nothing)] = list(iter_traces(str(empty)))
    assert "no records" in nothing.message
    with pytest.raises(InputError, match="no such file"):
        read_single(str(tmp_path / "nope.json"))


def test_invalid_json_document_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "question": "q",\n  "reasoning": \n}\n')
    [(n, err)] = list(iter_traces(str(path)))
    assert isinstance(err, InputError) and n == err.line == 4
    assert "invalid JSON" in err.message and "column 1" in err.message


def test_non_utf8_line_far_into_jsonl_costs_one_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    body = _lines(*(_rec(i) for i in range(200))).encode()
    path.write_bytes(body + b'{"reasoning": "caf\xe9"}\n' + _lines(_rec(7)).encode())
    items = list(iter_traces(str(path)))
    assert len(body) > 8192 and len(items) == 202
    assert isinstance(items[200][1], InputError) and "UTF-8" in items[200][1].message
    assert isinstance(items[201][1], Trace) and items[201][0] == 202


def test_gzip_by_magic_and_truncated(tmp_path: Path) -> None:
    content = _lines(_rec(1), _rec(2)).encode()
    gz = tmp_path / "d.jsonl.gz"
    gz.write_bytes(gzip.compress(content))
    disguised = tmp_path / "plain.json"  # gzip bytes behind a .json name
    disguised.write_bytes(gzip.compress(json.dumps(_rec(5)).encode()))
    assert [t.question for _, t in iter_traces(str(gz))] == ["q1", "q2"]
    assert read_single(str(disguised)).question == "q5"
    big = _lines(*(_rec(i) for i in range(3000))).encode()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(big)[:-200])
    items = list(iter_traces(str(cut)))
    assert all(isinstance(t, Trace) for _, t in items[:-1]) and len(items) > 100
    assert isinstance(items[-1][1], InputError) and "gzip" in items[-1][1].message
    assert file_hash(str(gz)) == "sha256:" + hashlib.sha256(gz.read_bytes()).hexdigest()[:16]


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_json_jsonl_and_hash_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, json.dumps(_rec(1), indent=1).encode())
    [(n, one)] = list(iter_traces("-"))
    assert n == 1 and one.source == "<stdin>:1" and one.id == "line-1"
    data = _lines(_rec(1), "{broken", _rec(3)).encode()
    _stdin(monkeypatch, data)
    expected = "sha256:" + hashlib.sha256(data).hexdigest()[:16]
    assert file_hash("-") == expected  # hashing first must not consume what iter_traces reads
    items = list(iter_traces("-"))
    assert [n for n, _ in items] == [1, 2, 3] and isinstance(items[1][1], InputError)
    assert items[1][1].path == "<stdin>" and items[2][1].id == "line-3"
    assert file_hash("-") == expected
    _stdin(monkeypatch, gzip.compress(data))
    assert len(list(iter_traces("-"))) == 3


def test_jsonl_content_under_json_name_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    path.write_text(_lines(_rec(1), _rec(2)), encoding="utf-8")
    assert [n for n, _ in iter_traces(str(path))] == [1, 2]
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + _lines(_rec(1)).encode())
    assert isinstance(read_single(str(bom)), Trace)


def test_forced_format_and_read_single_refuses_several(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(_lines({"reasoning": "plain", "response": "<think>tagged</think>ok"}, _rec(2)))
    items = list(iter_traces(str(path), fmt="r1"))
    assert items[0][1].reasoning == "tagged" and isinstance(items[1][1], InputError)
    with pytest.raises(InputError, match="more than one"):
        read_single(str(path))


def test_ten_megabyte_trace(tmp_path: Path) -> None:
    para = "Step: 12 × 34 = 408, so the running total grows by 408 again. 验证：408 ÷ 34 = 12。\n\n"
    reasoning = para * (10_000_000 // len(para.encode()) + 1)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"question": "q", "reasoning": reasoning}, ensure_ascii=False))
    assert path.stat().st_size > 10_000_000
    trace = read_single(str(path))
    assert trace.reasoning == reasoning
    lines = tmp_path / "big.jsonl"
    lines.write_text(_lines(_rec(1), {"reasoning": reasoning}, _rec(3)))
    assert [t.reasoning == reasoning for _, t in iter_traces(str(lines))] == [False, True, False]
