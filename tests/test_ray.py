"""`--engine ray` (issue 17): the same outputs as the local run, through faults.

One local Ray instance (`ray.init(num_cpus=2)`) serves the module; the CLI and the
Python API join it instead of starting their own. The input mixes every shipped dataset
(bad lines included), GSM8K dev solutions when ../shared has them, and planted exact and
near duplicates of records that sit in other chunks, so the index's groupbys are
exercised across chunk boundaries.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bondkd.cli import main
from bondkd.gate.config import GateConfig
from bondkd.read.table_out import TableOutConfig, write_table

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets"
GSM8K = ROOT.parent / "shared" / "data" / "gsm8k" / "model_solutions.dev.jsonl"
GENERATORS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
RAY = ["--engine", "ray", "--chunk-lines", "32"]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


SHIPPED = ("gate_demo.jsonl", "mixed.jsonl", "labelled.jsonl", "r1_think.jsonl")


def _input(path: Path, gsm_questions: int = 40, shipped: tuple[str, ...] = SHIPPED) -> Path:
    lines: list[str] = []
    for name in shipped:
        lines += (DATA / name).read_text("utf-8").splitlines()
    for p in sorted(DATA.glob("*.json")):
        doc = json.loads(p.read_text("utf-8"))
        lines += [
            json.dumps(d, ensure_ascii=False) for d in (doc if isinstance(doc, list) else [doc])
        ]
    if GSM8K.exists():
        with GSM8K.open(encoding="utf-8") as fh:
            for q, line in zip(range(gsm_questions), fh, strict=False):
                row = json.loads(line)
                lines += [json.dumps({"id": f"q{q}-{g}", "question": row["question"],
                                      "solution": row[g]["solution"]}) for g in GENERATORS]  # fmt: skip
    readable = [x for x in lines if x.startswith('{"id"')][:6]
    lines.append("")  # a blank line, which `filter` reports
    for k, x in enumerate(readable):  # exact copies, then copies with one word changed
        rec = json.loads(x)
        lines.append(json.dumps(rec | {"id": f"copy-{k}"}, ensure_ascii=False))
        for field in ("reasoning", "solution"):
            if isinstance(rec.get(field), str):
                rec[field] = rec[field].replace(" the ", " a ", 1)
        lines.append(json.dumps(rec | {"id": f"near-{k}"}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _bytes(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def _filter(src: Path, out: Path, *extra: str) -> int:
    return main(["filter", str(src), "--accepted", f"{out}_a.jsonl", "--rejected",
                 f"{out}_r.jsonl", "-q", *extra])  # fmt: skip


def test_every_command_equals_the_local_run(cluster, tmp_path):
    src = _input(tmp_path / "in.jsonl")
    assert _filter(src, tmp_path / "local") == 0
    assert _filter(src, tmp_path / "ray", *RAY) == 0
    for side in ("a", "r"):
        local = _bytes(tmp_path / f"local_{side}.jsonl")
        assert local and _bytes(tmp_path / f"ray_{side}.jsonl") == local
    verdicts = [json.loads(x)["bondkd"] for x in _bytes(tmp_path / "local_r.jsonl").splitlines()]
    dups = {c["evidence"][0].split(" duplicate")[0] for b in verdicts for c in b.get("checks", [])
            if c["name"] == "dedup" and c["status"] == "fail"}  # fmt: skip
    assert dups == {"exact", "near"}  # the planted copies were found, across chunks

    # The molecule-level commands on the same input, labelled.jsonl's long traces included
    # (their analysis once depended on the process's hash seed: test_pipeline.py).
    assert _filter(src, tmp_path / "two") == 0
    lex = ["--backend", "lexical", "-q"]
    for name, extra in (("local", []), ("ray", RAY)):
        rc = main(
            ["analyze", str(src), *lex, "--json", str(tmp_path / f"{name}.mol.jsonl"), *extra]
        )
        assert rc == 1  # the bad lines are skipped, the rest analysed
        rc = main(["report", str(tmp_path / "two_r.jsonl"), *lex, "-o",
                   str(tmp_path / f"{name}/report.html"), "--json", str(tmp_path / f"{name}.stats.json"),
                   "--views", "3", *extra])  # fmt: skip
        assert rc == 1  # filter's unreadable lines
        rc = main(["targets", str(src), *lex, "--out", str(tmp_path / f"{name}.targets"),
                   "--shard-size", "16", *extra])  # fmt: skip
        assert rc == 1
    mols = _bytes(tmp_path / "local.mol.jsonl")
    assert mols.count(b"\n") > 50 and _bytes(tmp_path / "ray.mol.jsonl") == mols
    assert _bytes(tmp_path / "ray.stats.json") == _bytes(tmp_path / "local.stats.json")
    local_t, ray_t = tmp_path / "local.targets", tmp_path / "ray.targets"
    assert _bytes(ray_t / "index.jsonl") == _bytes(local_t / "index.jsonl")
    assert json.loads(_bytes(ray_t / "meta.json")) == json.loads(_bytes(local_t / "meta.json"))
    shards = sorted(p.name for p in local_t.glob("shard-*.npz"))
    assert len(shards) >= 2 and shards == sorted(p.name for p in ray_t.glob("shard-*.npz"))
    for name in shards:
        with np.load(local_t / name) as a, np.load(ray_t / name) as b:
            assert a.files == b.files
            for k in a.files:
                np.testing.assert_array_equal(a[k], b[k])


def test_parquet_in_and_out_on_ray_equals_the_jsonl_run(cluster, tmp_path):
    src = _input(tmp_path / "in.jsonl", gsm_questions=5)
    readable = tmp_path / "readable.jsonl"  # Parquet holds records, not broken lines
    readable.write_text("".join(x + "\n" for x in src.read_text("utf-8").splitlines()
                                if x.startswith("{") and _is_json(x)), "utf-8")  # fmt: skip
    table = tmp_path / "in.parquet"
    write_table(readable, str(table), TableOutConfig(row_group_rows=16))
    assert _filter(readable, tmp_path / "local") == 0
    rc = main(["filter", str(table), "--accepted", f"{tmp_path}/a.parquet", "--rejected",
               f"{tmp_path}/rdir/", "-q", *RAY])  # fmt: skip
    assert rc == 0
    from bondkd.gate.files import read_lines

    for local, ray_out in (("local_a.jsonl", "a.parquet"), ("local_r.jsonl", "rdir")):
        want = [v for _, v in read_lines(str(tmp_path / local))]
        assert want and [v for _, v in read_lines(str(tmp_path / ray_out))] == want


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _busy_worker(title: str, timeout: float) -> psutil.Process | None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in psutil.process_iter(["cmdline"]):
            if any(title in part for part in p.info["cmdline"] or []):
                return p
        time.sleep(0.05)
    return None


def test_a_worker_killed_mid_run_changes_nothing(cluster, tmp_path):
    from bondkd.scale import EngineConfig, filter_file

    src = _input(tmp_path / "in.jsonl", gsm_questions=20)
    assert _filter(src, tmp_path / "local") == 0
    engine = EngineConfig(engine="ray", chunk_lines=16)
    config = GateConfig()
    run = threading.Thread(target=filter_file, args=(str(src), str(tmp_path / "ray_a.jsonl"),
                           str(tmp_path / "ray_r.jsonl"), config), kwargs={"engine": engine})  # fmt: skip
    run.start()
    victim = _busy_worker("_judge_task", timeout=120)
    assert victim is not None, "no Ray worker ran a gate task"
    victim.send_signal(signal.SIGKILL)  # kill -9 of the worker process mid-task
    run.join(timeout=300)
    assert not run.is_alive()
    assert not victim.is_running() or victim.status() == psutil.STATUS_ZOMBIE
    for side in ("a", "r"):
        assert _bytes(tmp_path / f"ray_{side}.jsonl") == _bytes(tmp_path / f"local_{side}.jsonl")


def test_a_killed_driver_resumes_losing_and_duplicating_nothing(cluster, tmp_path):
    src = _input(tmp_path / "in.jsonl", gsm_questions=20)
    assert _filter(src, tmp_path / "local") == 0
    cmd = [sys.executable, "-m", "bondkd", "filter", str(src), "--accepted",
           str(tmp_path / "ray_a.jsonl"), "--rejected", str(tmp_path / "ray_r.jsonl"), "-q",
           "--engine", "ray", "--address", cluster, "--chunk-lines", "16"]  # fmt: skip
    staging = tmp_path / "ray_a.jsonl.ray"
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    end = time.monotonic() + 240
    while time.monotonic() < end and driver.poll() is None:
        if len(list(staging.glob("chunk-*.done"))) >= 2:
            break
        time.sleep(0.05)
    assert driver.poll() is None, driver.stderr.read().decode() if driver.stderr else ""
    done_before = len(list(staging.glob("chunk-*.done")))
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    assert done_before >= 2  # killed mid-run: some chunks done, none appended yet
    assert not (tmp_path / "ray_a.jsonl").stat().st_size
    rc = main(["filter", str(src), "--accepted", str(tmp_path / "ray_a.jsonl"), "--rejected",
               str(tmp_path / "ray_r.jsonl"), "-q", "--engine", "ray", "--chunk-lines", "16"])  # fmt: skip
    assert rc == 2  # without --resume the interrupted run is not overwritten
    rc = main(["filter", str(src), "--accepted", str(tmp_path / "ray_a.jsonl"), "--rejected",
               str(tmp_path / "ray_r.jsonl"), "-q", "--engine", "ray", "--resume"])  # fmt: skip
    assert rc == 0 and not staging.exists()
    for side in ("a", "r"):
        assert _bytes(tmp_path / f"ray_{side}.jsonl") == _bytes(tmp_path / f"local_{side}.jsonl")
