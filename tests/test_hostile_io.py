"""Hostile input and output files never crash a run, lose or duplicate a record (issue 20).

Every case goes through the CLI (`main` returns the exit code): a lone UTF-16 surrogate,
JSON nested far past the recursion limit, NaN and Infinity, blank lines, Python type names
in reasons, two `filter` runs on the same outputs, unwritable outputs, and a failed
`analyze` that used to leave an empty output behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bondkd.cli import main
from bondkd.errors import json_kind
from bondkd.read.files import JSONTextError, loads

LEX = ("--backend", "lexical")
DEEP = 100_000  # far past any recursion limit, wherever the parser is called from


def record(i: int, **extra: object) -> dict:
    a, b = 3 + i % 7, 4 + i % 11
    return {
        "id": f"r{i}",
        "question": f"A farm has {a} rows of {b} trees (farm {i}). How many trees?",
        "reasoning": f"There are {a} rows of {b} trees.\nSo {a} * {b} = {a * b} trees.",
        "answer": str(a * b),
        **extra,
    }


def jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return path


def good(i: int) -> str:
    return json.dumps(record(i), ensure_ascii=False)


def with_field(i: int, key: str, raw_json: str) -> str:
    """A record line whose field `key` holds `raw_json` verbatim (not valid Python JSON)."""
    return json.dumps(record(i))[:-1] + f', "{key}": {raw_json}}}'


def filter_args(tmp: Path, src: Path, *more: str) -> list[str]:
    acc, rej = str(tmp / "acc.jsonl"), str(tmp / "rej.jsonl")
    return ["filter", str(src), "--accepted", acc, "--rejected", rej, *LEX, "-q", *more]


def strict(text: str) -> object:
    """json.loads that refuses NaN and Infinity, as strict JSON readers do."""

    def refuse(literal: str) -> object:
        raise AssertionError(f"not strict JSON: {literal}")

    return json.loads(text, parse_constant=refuse)


def filter_outputs(tmp: Path) -> list[dict]:
    """Both outputs, read as strict UTF-8 JSON lines."""
    recs = []
    for name in ("acc.jsonl", "rej.jsonl"):
        data = (tmp / name).read_bytes().decode("utf-8")  # strict: no surrogates
        recs += [strict(x) for x in data.splitlines()]
    return recs


def by_line(recs: list[dict]) -> dict[int, dict]:
    lines = [r["bondkd"]["line"] for r in recs]
    assert len(lines) == len(set(lines)), "a line was written twice"
    return {r["bondkd"]["line"]: r for r in recs}


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.startswith("bondkd: error:")]
    assert len(lines) == 1, err
    return lines[0]


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


# -- two filter runs on the same outputs -----------------------------------------------


def test_second_filter_on_locked_outputs_is_refused(tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", [good(i) for i in range(4)])
    acc = tmp_path / "acc.jsonl"
    with acc.open("a") as held:  # another run holds the lock
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        for more in ((), ("--resume",)):
            assert main(filter_args(tmp_path, src, *more)) == 2
            msg = one_line_error(capsys.readouterr().err)
            assert "acc.jsonl: another `bondkd filter` is writing this file" in msg
        assert acc.read_text() == ""
    assert main(filter_args(tmp_path, src)) == 0  # released: the run goes ahead
    assert sorted(by_line(filter_outputs(tmp_path))) == [1, 2, 3, 4]


def test_concurrent_run_refused_then_kill_and_resume_with_workers(tmp_path, capsys):
    """A real second run is refused while the first runs; the first is killed with its
    workers left alive (as orphans), and --resume still gets the lock at once."""
    n = 2000
    src = jsonl(tmp_path / "in.jsonl", [good(i) for i in range(n)])
    cfg = tmp_path / "gate.toml"
    cfg.write_text("batch = 4\n")
    argv = filter_args(tmp_path, src, "--config", str(cfg), "--workers", "2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bondkd", *argv], stderr=subprocess.DEVNULL, start_new_session=True
    )
    outs = [tmp_path / "acc.jsonl", tmp_path / "rej.jsonl"]
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if sum(p.stat().st_size for p in outs if p.exists()) > 20_000:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "finished before the second run; make the input longer"
        assert main(argv) == 2
        assert main([*argv, "--resume"]) == 2
        assert "another `bondkd filter`" in capsys.readouterr().err
        os.kill(proc.pid, signal.SIGKILL)  # the parent only: its workers linger
        proc.wait()
        assert main([*argv, "--resume"]) == 0
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the orphaned workers of our own child
    recs = []
    for p in outs:
        recs += [json.loads(x) for x in p.read_text().splitlines()]
    assert sorted(by_line(recs)) == list(range(1, n + 1))


# -- unwritable outputs ----------------------------------------------------------------


def _unwritable(tmp: Path, kind: str) -> Path:
    if kind == "missing directory":
        return tmp / "no" / "such" / "out.json"
    if kind == "a directory":
        (tmp / "adir").mkdir()
        return tmp / "adir"
    if kind == "read-only file":
        p = tmp / "ro.json"
        p.write_text("keep me\n")
        p.chmod(0o444)
        return p
    assert kind == "read-only file system"
    return Path("/proc/bondkd-hostile-io.json")  # /proc refuses new files, even to root


KINDS = ["missing directory", "a directory", "read-only file", "read-only file system"]
TARGETS = {
    "filter": lambda t, src, mol, o: [*filter_args(t, src)[:3], str(o), *filter_args(t, src)[4:]],
    "analyze --json": lambda t, src, mol, o: ["analyze", str(src), *LEX, "--json", str(o)],
    "analyze --html": lambda t, src, mol, o: ["analyze", str(mol), *LEX, "--html", str(o)],
    "analyze --graphml": lambda t, src, mol, o: ["analyze", str(mol), *LEX, "--graphml", str(o)],
    "render -o": lambda t, src, mol, o: ["render", str(mol), *LEX, "-o", str(o)],
    "report -o": lambda t, src, mol, o: ["report", str(src), *LEX, "-o", str(o)],
    "report --json": lambda t, src, mol, o: [
        *("report", str(src), *LEX, "-o", str(t / "r.html")),
        *("--json", str(o)),
    ],
    "compare --json": lambda t, src, mol, o: ["compare", str(mol), str(mol), "--json", str(o)],
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", list(TARGETS))
def test_unwritable_output_is_one_line_and_exit_2(tmp_path, capsys, target, kind):
    if target == "report -o" and kind == "missing directory":
        pytest.skip("report creates its directory (its molecule pages go beside it)")
    src = jsonl(tmp_path / "in.jsonl", [good(0), good(1)])
    mol = tmp_path / "mol.json"
    if target.startswith(("render", "compare")):  # a molecule document, no model
        assert main(["analyze", str(src), *LEX, "-q", "--json", str(mol)]) == 0
        mol.write_text(mol.read_text().splitlines()[0])
    else:
        mol.write_text(good(0))
    out = _unwritable(tmp_path, kind)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    capsys.readouterr()
    assert main(TARGETS[target](tmp_path, src, mol, out)) == 2
    msg = one_line_error(capsys.readouterr().err)
    assert "cannot write" in msg
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written
    if kind == "read-only file":
        assert out.read_text() == "keep me\n"


def test_targets_out_that_is_a_file_is_one_line(tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", [good(0)])
    (tmp_path / "t").write_text("not a directory")
    assert main(["targets", str(src), *LEX, "--out", str(tmp_path / "t")]) == 2
    assert "cannot write targets" in one_line_error(capsys.readouterr().err)


def test_filter_refuses_one_file_for_both_outputs_and_the_input_as_output(tmp_path, capsys):
    src = jsonl(tmp_path / "in.jsonl", [good(0)])
    same = ["filter", str(src), "--accepted", str(tmp_path / "x.jsonl"), *LEX]
    assert main([*same, "--rejected", str(tmp_path / "x.jsonl")]) == 2
    assert "name the same file" in one_line_error(capsys.readouterr().err)
    assert main([*same, "--rejected", str(src)]) == 2
    assert "is the input file" in one_line_error(capsys.readouterr().err)
    assert src.read_text() == good(0) + "\n" and not (tmp_path / "x.jsonl").exists()


# -- a failed analyze leaves nothing behind ---------------------------------------------


def test_analyze_writes_no_json_when_nothing_was_analysed(tmp_path):
    src = jsonl(tmp_path / "in.jsonl", ["{broken", "[]"])
    out = tmp_path / "mols.jsonl"
    assert main(["analyze", str(src), *LEX, "-q", "--json", str(out)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


@pytest.mark.parametrize("jsonl_input", [False, True])
def test_failed_analyze_leaves_outputs_as_they_were(tmp_path, capsys, monkeypatch, jsonl_input):
    from bondkd.errors import BondkdError
    from bondkd.pipeline import Analyzer

    def broken(self, *a, **k):
        raise BondkdError("model: could not load (simulated)")

    monkeypatch.setattr(Analyzer, "analyze", broken)
    monkeypatch.setattr(Analyzer, "analyze_many", broken)
    out = tmp_path / "mols.json"
    out.write_text("an earlier run\n")
    if jsonl_input:
        src = jsonl(tmp_path / "in.jsonl", [good(0), good(1)])
        argv = ["analyze", str(src), *LEX, "--json", str(out)]
    else:
        src = tmp_path / "in.json"
        src.write_text(good(0))
        argv = ["analyze", str(src), *LEX, "--json", str(out), "--html", str(tmp_path / "m.html")]
    assert main(argv) == 2
    assert "simulated" in one_line_error(capsys.readouterr().err)
    assert out.read_text() == "an earlier run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["mols.json", src.name])


def test_output_keeps_the_usual_file_mode(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(good(0))
    out = tmp_path / "m.html"
    assert main(["render", str(src), *LEX, "-q", "-o", str(out)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


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
