"""`bondkd filter` on files: every line accounted for once, resume (after kill -9 too),
workers, calibration."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib

from bondkd.cli import main


def synthetic(n: int, wrong_every: int = 3) -> list[dict]:
    """Word problems, three differently worded answers per question (so none is a
    duplicate); every `wrong_every`-th answer is off by one."""
    recs = []
    for i in range(n):
        q = i // 3
        a, b = 3 + q % 7, 4 + q % 11
        ans = a * b + (1 if i % wrong_every == 0 else 0)
        recs.append({
            "id": f"r{i}",
            "question": f"A farm has {a} rows of {b} trees (farm {q}). How many trees are there?",
            "reasoning": f"There are {a} rows.\nEach row has {b} trees.\n"
                         f"{('So', 'Hence', 'Multiplying,')[i % 3]} {a} * {b} = "
                         f"<<{a}*{b}={ans}>>{ans} trees.",
            "answer": str(ans),
            "ok": i % wrong_every != 0,
        })  # fmt: skip
    return recs


def write(path: Path, recs: list, extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in recs] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def outputs(tmp: Path) -> list[dict]:
    recs = []
    for name in ("acc.jsonl", "rej.jsonl"):
        p = tmp / name
        if p.exists():
            recs += [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines()]
    return recs


def lines_of(recs: list[dict]) -> list[int]:
    return sorted(r["bondkd"]["line"] for r in recs)


def args(tmp: Path, src: Path, *more: str) -> list[str]:
    acc, rej = str(tmp / "acc.jsonl"), str(tmp / "rej.jsonl")
    return ["filter", str(src), "--accepted", acc, "--rejected", rej, "-q", *more]


def test_every_line_once_malformed_lines_rejected_with_reason(tmp_path):
    bad = ("{not json", '["a list"]', '{"foo": 1}', "")
    src = write(tmp_path / "in.jsonl", synthetic(12), bad)
    assert main(args(tmp_path, src)) == 0
    out = outputs(tmp_path)
    assert lines_of(out) == list(range(1, 17))  # the blank line 16 too: every line once
    raw = {r["bondkd"]["line"]: r for r in out if r["bondkd"]["line"] > 12}
    assert raw[13]["raw"] == "{not json" and "invalid JSON" in raw[13]["bondkd"]["reasons"][0]
    assert raw[14]["raw"] == ["a list"]
    assert raw[15]["foo"] == 1 and raw[15]["bondkd"]["reasons"][0].startswith("parse_error")
    assert raw[16]["raw"] == "" and raw[16]["bondkd"]["reasons"][0].startswith("blank_line")
    assert all(r["bondkd"]["verdict"] == "rejected" for r in raw.values())
    kept = {r["id"]: r for r in out if "id" in r}
    assert kept["r4"]["question"] == synthetic(12)[4]["question"]


def test_existing_outputs_are_never_overwritten(tmp_path, capsys):
    src = write(tmp_path / "in.jsonl", synthetic(3))
    (tmp_path / "acc.jsonl").write_text("precious\n")
    assert main(args(tmp_path, src)) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert (tmp_path / "acc.jsonl").read_text() == "precious\n"


def test_resume_after_a_torn_write(tmp_path):
    src = write(tmp_path / "in.jsonl", synthetic(30))
    assert main(args(tmp_path, src)) == 0
    full = sorted(outputs(tmp_path), key=lambda r: r["bondkd"]["line"])
    # Keep what a crash after line 11 would leave: whole lines plus half of the next.
    for name in ("acc.jsonl", "rej.jsonl"):
        p = tmp_path / name
        kept = [x for x in p.read_text().splitlines() if json.loads(x)["bondkd"]["line"] <= 11]
        torn = next(
            (x for x in p.read_text().splitlines() if json.loads(x)["bondkd"]["line"] > 11), ""
        )
        p.write_text("".join(k + "\n" for k in kept) + torn[: len(torn) // 2])
    assert main(args(tmp_path, src, "--resume")) == 0
    again = sorted(outputs(tmp_path), key=lambda r: r["bondkd"]["line"])
    assert lines_of(again) == list(range(1, 31))
    assert again == full


def test_workers_give_the_same_result(tmp_path):
    src = write(tmp_path / "in.jsonl", synthetic(40), ("oops",))
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    assert main(args(one, src, "--config", str(_small_batches(tmp_path)))) == 0
    assert main(args(two, src, "--workers", "2", "--config", str(_small_batches(tmp_path)))) == 0
    a = (one / "acc.jsonl").read_text(), (one / "rej.jsonl").read_text()
    b = (two / "acc.jsonl").read_text(), (two / "rej.jsonl").read_text()
    assert a == b  # same records, same order


def _small_batches(tmp: Path) -> Path:
    p = tmp / "gate.toml"
    p.write_text("batch = 4\n")
    return p


def test_gzip_input(tmp_path):
    src = tmp_path / "in.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in synthetic(6)))
    assert main(args(tmp_path, src)) == 0
    assert lines_of(outputs(tmp_path)) == list(range(1, 7))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_minus_nine_then_resume_loses_and_duplicates_nothing(tmp_path, workers):
    n = 3000
    src = write(tmp_path / "in.jsonl", synthetic(n), ("{broken",))
    cfg = _small_batches(tmp_path)
    more = ("--config", str(cfg), "--workers", workers)
    cmd = [sys.executable, "-m", "bondkd", *args(tmp_path, src, *more)]
    # Its own process group: the kill takes the workers too, as a crash of the job would.
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    outs = [tmp_path / "acc.jsonl", tmp_path / "rej.jsonl"]
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if sum(p.stat().st_size for p in outs if p.exists()) > 50_000:  # well into the run
            break
        time.sleep(0.02)
    assert proc.poll() is None, "finished before it could be killed; make the input longer"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(outputs_safe(tmp_path))
    assert 0 < partial < n + 1
    assert main(args(tmp_path, src, *more, "--resume")) == 0
    assert lines_of(outputs(tmp_path)) == list(range(1, n + 2))


def outputs_safe(tmp: Path) -> list[dict]:
    """Whole lines only (the killed run may have torn the last one)."""
    out = []
    for name in ("acc.jsonl", "rej.jsonl"):
        for x in (tmp / name).read_text(encoding="utf-8").split("\n")[:-1]:
            out.append(json.loads(x))
    return out


def test_calibrate_fits_weights_and_writes_a_loadable_config(tmp_path, capsys):
    src = write(tmp_path / "lab.jsonl", synthetic(60))
    out = tmp_path / "fitted.toml"
    rc = main(["filter", "--calibrate", str(src), "--label-field", "ok", "--save-config", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "grouped" in printed and "AUROC" in printed
    data = tomllib.loads(out.read_text())
    assert data["lexical"]["weights"]["consensus"] > 0  # agreement predicts the label here
    from bondkd.gate import load_gate_config

    assert load_gate_config(out).lexical.weights == data["lexical"]["weights"]
    bad = write(tmp_path / "nolabel.jsonl", [{"question": "q", "reasoning": "r."}])
    assert main(["filter", "--calibrate", str(bad), "--save-config", str(out)]) == 2
    assert "field 'is_correct'" in capsys.readouterr().err


def test_a_line_that_is_not_utf8_is_kept_byte_for_byte(tmp_path):
    import base64

    src = tmp_path / "in.jsonl"
    src.write_bytes(json.dumps(synthetic(1)[0]).encode() + b'\n{"a": "\xff\xfe"}\n')
    assert main(args(tmp_path, src)) == 0
    [bad] = [r for r in outputs(tmp_path) if r["bondkd"]["line"] == 2]
    assert base64.b64decode(bad["raw_base64"]) == b'{"a": "\xff\xfe"}'
    assert "not valid UTF-8" in bad["bondkd"]["reasons"][0]


def test_the_shipped_demo(tmp_path):
    demo = Path(__file__).resolve().parents[1] / "datasets" / "gate_demo.jsonl"
    assert main(args(tmp_path, demo)) == 0
    verdicts = {
        r["bondkd"]["id"]: (r["bondkd"]["verdict"], [c["name"] for c in r["bondkd"].get("checks", []) if c["veto"]])
        for r in outputs(tmp_path)
    }  # fmt: skip
    assert verdicts == {
        "muffins-a": ("accepted", []),
        "muffins-b": ("accepted", []),
        "books-zh": ("accepted", []),
        "muffins-c": ("rejected", ["reference"]),
        "muffins-d": ("rejected", ["dedup"]),
        "refusal": ("rejected", ["refusal"]),
        "line-7": ("rejected", []),
        "ungrounded": ("rejected", ["reference"]),
    }
