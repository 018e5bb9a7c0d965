"""Hostile input and output files never crash a run, lose or duplicate a record (issue 20).

Every case goes through the CLI (`main` returns the exit code): a lone UTF-16 surrogate,
JSON nested far past the recursion limit, NaN and Infinity, blank lines, Python type names
in reasons, bad bytes in a JSONL line. Output files (locks, unwritable paths, failed
runs) are in test_outputs.py.
"""

from __future__ import annotations

import json

import pytest
from hostile_records import (
    DEEP,
    LEX,
    by_line,
    filter_args,
    filter_outputs,
    good,
    jsonl,
    one_line_error,
    record,
    strict,
    with_field,
)
from hypothesis import given
from hypothesis import strategies as st

from bondkd.cli import main
from bondkd.errors import json_kind
from bondkd.read.files import JSONTextError, loads

# -- lone UTF-16 surrogates ------------------------------------------------------------


@pytest.mark.parametrize("field", ["reasoning", "note"])
def test_lone_surrogate_is_one_error_in_analyze(tmp_path, capsys, field):
    bad = with_field(1, field, '"2 + 2 = 4 \\ud800"')
    src = jsonl(tmp_path / "in.jsonl", [good(0), bad, good(2)])
    out = tmp_path / "mols.jsonl"
    assert main(["analyze", str(src), *LEX, "-q", "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"in.jsonl:2: field '{field}': a lone UTF-16 surrogate (\\ud800)" in err
    docs = [strict(x) for x in out.read_bytes().decode("utf-8").splitlines()]
    assert [d["id"] for d in docs] == ["r0", "r2"]


def test_lone_surrogate_is_a_rejected_record_in_filter_and_resume_passes_it(tmp_path):
    bad = with_field(1, "reasoning", '"\\udc00 trailing half"')
    src = jsonl(tmp_path / "in.jsonl", [good(0), bad, good(2)])
    assert main(filter_args(tmp_path, src)) == 0
    recs = by_line(filter_outputs(tmp_path))
    assert sorted(recs) == [1, 2, 3]
    assert recs[2]["raw"] == bad  # the line itself, its escape included
    assert recs[2]["bondkd"]["verdict"] == "rejected"
    assert "lone UTF-16 surrogate" in recs[2]["bondkd"]["reasons"][0]
    # a run that stopped before the bad line resumes past it
    rej = tmp_path / "rej.jsonl"
    rej.write_text("".join(x + "\n" for x in rej.read_text().splitlines() if '"line": 2' not in x))
    assert main(filter_args(tmp_path, src, "--resume")) == 0
    assert sorted(by_line(filter_outputs(tmp_path))) == [1, 2, 3]


def test_lone_surrogate_in_a_key_and_in_a_json_array(tmp_path, capsys):
    src = tmp_path / "in.json"
    items = [json.dumps(record(0)), '{"\\ud800": 1, "reasoning": "x = 1"}', json.dumps(record(2))]
    src.write_text("[\n" + ",\n".join(items) + "\n]\n", encoding="utf-8")
    out = tmp_path / "mols.jsonl"
    assert main(["analyze", str(src), *LEX, "-q", "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "in.json:3: key '\\ud800': a lone UTF-16 surrogate" in err
    assert "(array item 2)" in err
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


# -- nesting deeper than any recursion limit -------------------------------------------

DEEP_LINES = {
    "array": "[" * DEEP + "]" * DEEP,
    "object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "field": with_field(9, "extra", "[" * DEEP + "]" * DEEP),
}


@pytest.mark.parametrize("command", ["analyze", "report", "targets"])
def test_deep_nesting_is_one_unreadable_line_in_every_reader(tmp_path, capsys, command):
    lines = [good(0), *DEEP_LINES.values(), good(4)]
    src = jsonl(tmp_path / "in.jsonl", lines)
    more = {
        "analyze": [],
        "report": ["-o", str(tmp_path / "r.html")],
        "targets": ["--out", str(tmp_path / "t")],
    }[command]
    assert main([command, str(src), *LEX, "-q", *more]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "RecursionError" not in err
    for n in (2, 3, 4):
        assert f"in.jsonl:{n}: invalid JSON: nested deeper than 128 levels" in err


def test_deep_nesting_in_filter_is_a_rejected_line(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", [good(0), *DEEP_LINES.values(), good(4)])
    assert main(filter_args(tmp_path, src)) == 0
    recs = by_line(filter_outputs(tmp_path))
    assert sorted(recs) == [1, 2, 3, 4, 5]
    for n in (2, 3, 4):
        assert recs[n]["bondkd"]["reasons"] == [
            "parse_error: invalid JSON: nested deeper than 128 levels"
        ]
        assert len(recs[n]["raw"]) == len(list(DEEP_LINES.values())[n - 2])


@pytest.mark.parametrize("command", ["render", "analyze", "compare"])
def test_deep_nesting_as_a_whole_document_is_one_error(tmp_path, capsys, command):
    src = tmp_path / "deep.json"
    src.write_text("[" * DEEP + "]" * DEEP)
    argv = {
        "render": ["render", str(src), "-o", str(tmp_path / "m.html"), *LEX],
        "analyze": ["analyze", str(src), *LEX],
        "compare": ["compare", str(src), str(src)],
    }[command]
    assert main(argv) == 2
    assert "nested deeper than 128 levels" in one_line_error(capsys.readouterr().err)


# -- NaN and Infinity ------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_rejected_and_outputs_stay_strict_json(tmp_path, literal):
    bad = with_field(1, "answer", literal)
    src = jsonl(tmp_path / "in.jsonl", [good(0), bad, good(2)])
    assert main(filter_args(tmp_path, src)) == 0
    recs = by_line(filter_outputs(tmp_path))  # strict: a bare NaN fails here
    assert sorted(recs) == [1, 2, 3]
    assert recs[2]["raw"] == bad and recs[2]["bondkd"]["verdict"] == "rejected"
    assert "field 'answer'" in recs[2]["bondkd"]["reasons"][0]
    assert "is not valid JSON" in recs[2]["bondkd"]["reasons"][0]


def test_non_finite_numbers_in_analyze(tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", [good(0), with_field(1, "answer", "NaN")])
    out = tmp_path / "mols.jsonl"
    assert main(["analyze", str(src), *LEX, "-q", "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "in.jsonl:2: field 'answer': NaN is not valid JSON" in err
    assert [strict(x)["id"] for x in out.read_text().splitlines()] == ["r0"]


def test_huge_integer_is_an_unreadable_line(tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", [good(0), with_field(1, "n", "1" * 5000)])
    assert main(["analyze", str(src), *LEX, "-q"]) == 1
    assert "in.jsonl:2: invalid JSON: an integer longer than" in capsys.readouterr().err


# -- blank lines and JSON type names ---------------------------------------------------


def test_filter_accounts_for_blank_lines(tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", [good(0), "", "  \t", good(3)])
    assert main(filter_args(tmp_path, src)[:-1]) == 0  # with the summary
    recs = by_line(filter_outputs(tmp_path))
    assert sorted(recs) == [1, 2, 3, 4]  # every line once, as docs/gate.md says
    assert recs[2]["raw"] == "" and recs[3]["raw"] == "  \t"
    assert recs[3]["bondkd"]["reasons"] == ["blank_line: no record on this line"]
    assert "2 unreadable (2 blank lines)" in capsys.readouterr().err


def test_reasons_name_json_types_not_python_ones(tmp_path, capsys):
    values = ["null", "[1]", '"s"', "3", "true", "1.5"]
    src = jsonl(tmp_path / "in.jsonl", values)
    assert main(filter_args(tmp_path, src)) == 0
    reasons = [r["bondkd"]["reasons"][0] for r in filter_outputs(tmp_path)]
    kinds = ["null", "array", "string", "number", "boolean", "number"]
    assert reasons == [f"parse_error: expected a JSON object, got {k}" for k in kinds]
    assert main(["analyze", str(src), *LEX, "-q"]) == 1
    err = capsys.readouterr().err
    for n, k in enumerate(kinds, start=1):
        assert f"in.jsonl:{n}: expected a JSON object, got {k}" in err
    for python in ("NoneType", "list", "dict", "str", "int", "bool", "float"):
        assert f"got {python}\n" not in err
        assert not any(r.endswith(f"got {python}") for r in reasons)


def test_json_kind():
    assert [json_kind(v) for v in (None, True, 1, 1.5, "x", [], {})] == [
        "null", "boolean", "number", "number", "string", "array", "object",
    ]  # fmt: skip


# -- the reader's law ------------------------------------------------------------------

FRAGMENTS = [
    "[", "]", "{", "}", '"', "\\", ":", ",", " ", "\n", "0", "-", "a", "é", "1e999", "NaN",
    "Infinity", "\\ud800", "\\udc00", "\\ud83d\\ude00", '"k"', "null", "true", "[" * 200,
]  # fmt: skip


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_loads_gives_strict_json_or_one_error(parts):
    text = "".join(parts)
    try:
        value = loads(text)
    except JSONTextError as e:
        assert e.message and "\n" not in e.message
        return
    # whatever is read can be written back as strict JSON in UTF-8
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


@given(st.recursive(st.none() | st.integers() | st.text(), lambda c: st.lists(c), max_leaves=20))
def test_loads_reads_what_json_writes(value):
    text = json.dumps(value)
    try:
        assert loads(text) == value
    except JSONTextError as e:  # only a lone surrogate that st.text drew
        assert "surrogate" in e.message


JUNK = st.text(alphabet='[]{}"\\:,ab\n', max_size=8)


@given(st.integers(100, 160), st.lists(st.tuples(st.booleans(), JUNK), max_size=160), JUNK)
def test_depth_limit_is_exact_whatever_the_strings_hold(depth, shells, leaf):
    """Brackets, quotes and backslashes inside strings never count as nesting."""
    value: object = leaf
    for k in range(depth):
        as_list, junk = shells[k] if k < len(shells) else (True, "")
        value = [junk, value, junk] if as_list else {junk: value, "k" + junk: junk}
    text = json.dumps(value)
    if depth <= 128:
        assert loads(text) == value
    else:
        with pytest.raises(JSONTextError, match="nested deeper than 128 levels"):
            loads(text)


def test_a_nul_or_bad_byte_on_a_jsonl_line_costs_that_line_alone(tmp_path, capsys):
    lines = [b"\x00 not a record", good(0).encode(), good(1).encode().replace(b"There", b"Th\x00ere"),
             good(2).encode().replace(b"There", b"Th\xffere"), good(3).encode()]  # fmt: skip
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "mols.jsonl"
    assert main(["analyze", str(src), *LEX, "-q", "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "in.jsonl:1: invalid JSON" in err and "in.jsonl:3: invalid JSON" in err
    assert "in.jsonl:4: not valid UTF-8" in err
    assert [strict(x)["id"] for x in out.read_text().splitlines()] == ["r0", "r3"]
    (tmp_path / "bin.jsonl").write_bytes(b"\x00\x01\x02binary\n\xff\xfe\n")
    assert main(["analyze", str(tmp_path / "bin.jsonl"), *LEX, "-q"]) == 1
    assert "not a text file (binary data)" in capsys.readouterr().err
