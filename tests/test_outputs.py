"""Output files: never written twice, never half-written, never a traceback (issue 20).

Two `filter` runs on the same outputs, unwritable outputs of every command, and a failed
`analyze` that used to leave an empty output behind, all through the CLI.
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
from hostile_records import (
    LEX,
    by_line,
    filter_args,
    filter_outputs,
    good,
    jsonl,
    one_line_error,
)

from bondkd.cli import main

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
