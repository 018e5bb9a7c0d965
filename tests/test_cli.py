import gc
import gzip
import json
from pathlib import Path

from bondkd import __version__
from bondkd.cli import main
from bondkd.schema import MoleculeDoc

DATA = Path(__file__).resolve().parents[1] / "datasets"
LEX = ["--backend", "lexical"]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_analyze_single_json_document(tmp_path, capsys):
    out = tmp_path / "mol.json"
    assert main(["analyze", str(DATA / "contradiction.json"), *LEX, "--json", str(out)]) == 0
    doc = MoleculeDoc.model_validate_json(out.read_text())
    assert doc.accepted is False and doc.provenance.backend == "lexical"
    text = capsys.readouterr().out
    assert "REJECTED" in text and "\x1b[" not in text  # plain when not a TTY


def test_main_restores_the_collector_threshold(tmp_path):
    """main() raises the cycle collector's threshold for the run (long traces allocate
    millions of small objects) and gives the caller's back, on success and on error."""
    before = gc.get_threshold()
    assert main(["analyze", str(DATA / "reflective_long.json"), *LEX, "-q"]) == 0
    assert gc.get_threshold() == before
    assert main(["analyze", str(tmp_path / "missing.json"), "-q"]) == 2
    assert gc.get_threshold() == before


def test_analyze_jsonl_skips_bad_line_and_keeps_order(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "question": "q", "reasoning": "First, 2 + 2 = 4. So 4 * 3 = 12."}),
        "{not json",
        json.dumps({"question": "q", "reasoning": "   "}),
        json.dumps({"question": "q", "reasoning": "We have 5 apples. Then 5 - 2 = 3."}),
    ]
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(src), *LEX, "--json", str(out)]) == 1
    docs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [d["id"] for d in docs] == ["a", "line-4"]
    err = capsys.readouterr().err
    assert f"{src}:2" in err and f"{src}:3" in err and "Traceback" not in err


def test_gz_and_stdin(tmp_path, monkeypatch, capsys):
    import io
    import sys

    rec = {"question": "q", "reasoning": "Step 1: 3 * 4 = 12. Step 2: 12 + 1 = 13."}
    gz = tmp_path / "d.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(json.dumps(rec) + "\n")
    assert main(["analyze", str(gz), *LEX, "-q"]) == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(rec).encode())))
    assert main(["analyze", "-", *LEX, "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["steps"] and doc["provenance"]["file_hashes"]["<stdin>"].startswith("sha256:")


def test_bad_inputs_one_line_no_traceback(tmp_path, capsys):
    binary = tmp_path / "x.json"
    binary.write_bytes(b"\x00\x01\x02\xff" * 10)
    bad = tmp_path / "bad.json"
    bad.write_text('{"question": "q", "reasoning": ')
    unknown = tmp_path / "u.json"
    unknown.write_text('{"foo": 1}')
    for path in (binary, bad, unknown, tmp_path / "missing.json"):
        assert main(["analyze", str(path), *LEX]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and str(path) in err and "Traceback" not in err


def test_bad_config_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[bonds.model]\nstrong = 3.0\n")
    assert main(["analyze", str(DATA / "gsm8k_short.json"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "bonds.model.strong" in err and str(cfg) in err


def test_html_and_graphml(tmp_path):
    html = tmp_path / "m.html"
    gml = tmp_path / "m.graphml"
    args = [
        "analyze",
        str(DATA / "hostile.json"),
        *LEX,
        "-q",
        "--html",
        str(html),
        "--graphml",
        str(gml),
    ]
    assert main(args) == 0
    page = html.read_text()
    assert "<script>alert(1)</script>" not in page
    assert gml.read_text().startswith("<?xml")


def test_long_trace_terminal_tables_are_capped(tmp_path, capsys):
    from bondkd.views.terminal import MAX_TABLE_ROWS

    n = MAX_TABLE_ROWS + 40
    reasoning = "\n\n".join(f"Step {k}: {k} + 1 = {k + 1}." for k in range(n))
    src = tmp_path / "long.json"
    src.write_text(json.dumps({"id": "long", "reasoning": reasoning}))
    out = tmp_path / "mol.json"
    assert main(["analyze", str(src), *LEX, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "… 40 more steps in the --json output" in printed
    assert len(json.loads(out.read_text())["steps"]) == n  # nothing dropped from the document


def test_targets_and_compare_commands(tmp_path, capsys):
    from bondkd.distill.targets import TargetReader

    out = tmp_path / "tgt"
    assert (
        main(["targets", str(DATA / "mixed.jsonl"), "--out", str(out), "--backend", "lexical"]) == 1
    )
    assert "mixed.jsonl:6" in capsys.readouterr().err  # the bad line, reported and skipped
    assert len(TargetReader(out)) == 10
    mols = tmp_path / "mols.jsonl"
    main(["analyze", str(DATA / "mixed.jsonl"), "--backend", "lexical", "--json", str(mols), "-q"])
    one = tmp_path / "one.json"
    main(
        [
            "analyze",
            str(DATA / "reflective_long.json"),
            "--backend",
            "lexical",
            "--json",
            str(one),
            "-q",
        ]
    )
    capsys.readouterr()
    assert main(["compare", str(one), str(one), "--json", str(tmp_path / "c.json")]) == 0
    same = json.loads((tmp_path / "c.json").read_text())
    assert same["edge_f1"] == 1.0 and same["type_agreement"] == 1.0
    assert main(["compare", str(mols), str(one), "--json", str(tmp_path / "d.json")]) == 0
    d = json.loads((tmp_path / "d.json").read_text())
    assert d["a"]["molecules"] == 10 and 0 < d["bond_type_js"] <= 1
    assert "role-transition JS distance" in capsys.readouterr().out
    assert main(["compare", str(DATA / "hostile.json"), str(one)]) == 2  # a trace, not a molecule
