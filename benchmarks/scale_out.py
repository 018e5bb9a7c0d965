"""Scale-out measurements (issue 17), run through benchmarks/scale.py (see its docstring).

Every timed run is a fresh process (`--measure SPEC`) that prints one JSON line: the
start-up (imports; for Ray also `ray.init` and one warm-up task per CPU that imports
bondkd, so the cluster's start-up is reported apart), the run (`filter_file` on the
input), the driver's peak RSS (getrusage) and the workers' (local: RUSAGE_CHILDREN;
Ray: the largest `ray::` worker process seen, sampled every 0.1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GSM8K = ROOT.parent / "shared" / "data" / "gsm8k" / "model_solutions.dev.jsonl"
GENERATORS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def synthetic(n: int) -> list[str]:
    """Short word problems, three differently worded answers per question, every 50th
    record an exact copy of an earlier one and every 50th + 1 a copy with one word changed."""
    out = []
    for i in range(n):
        if i % 50 == 0 and i:
            out.append(json.dumps(json.loads(out[i // 2]) | {"id": f"copy{i}"}))
            continue
        q = i // 3
        a, b = 3 + q % 7, 4 + q % 11
        ans = a * b + (1 if i % 3 == 0 else 0)
        word = ("So", "Hence", "Multiplying,")[i % 3] if i % 50 != 1 else "Thus"
        out.append(json.dumps({"id": f"r{i}", "question": f"A farm has {a} rows of {b} trees "
                               f"(farm {q}). How many trees are there?",
                               "reasoning": f"There are {a} rows.\nEach row has {b} trees.\n"
                               f"{word} {a} * {b} = <<{a}*{b}={ans}>>{ans} trees.",
                               "answer": str(ans)}))  # fmt: skip
    return out


def gsm8k(questions: int) -> list[str]:
    lines = []
    with GSM8K.open(encoding="utf-8") as fh:
        for q, line in zip(range(questions), fh, strict=False):
            row = json.loads(line)
            lines += [json.dumps({"id": f"q{q}-{g}", "question": row["question"],
                                  "solution": row[g]["solution"]}) for g in GENERATORS]  # fmt: skip
    return lines


# -- one measured run, in its own process ---------------------------------------------


def measure(spec: dict) -> dict:
    t0 = time.perf_counter()
    from bondkd.gate.config import load_gate_config

    config = load_gate_config(None, backend=spec["backend"])
    out: dict = {}
    peak = [0.0]
    if spec["engine"] == "ray":
        import psutil
        import ray

        ray.init(num_cpus=spec["cpus"], include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")  # fmt: skip

        @ray.remote(num_cpus=1)
        def warm() -> int:
            import bondkd.gate.runner  # noqa: F401

            time.sleep(0.5)  # held, so each CPU gets its own worker
            return os.getpid()

        ray.get([warm.remote() for _ in range(spec["cpus"])])
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                for p in psutil.process_iter(["cmdline", "memory_info"]):
                    cmd = " ".join(p.info["cmdline"] or [])
                    if cmd.startswith("ray::") and "Agent" not in cmd and p.info["memory_info"]:
                        peak[0] = max(peak[0], p.info["memory_info"].rss / 2**20)

        threading.Thread(target=sample, daemon=True).start()
        from bondkd.scale import EngineConfig, filter_file

        engine = EngineConfig(engine="ray", chunk_lines=spec.get("chunk_lines", 1024),
                              actors=spec["cpus"])  # fmt: skip
        out["startup_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        filter_file(spec["src"], spec["acc"], spec["rej"], config, engine=engine)
        out["run_s"] = time.perf_counter() - t1
        done.set()
        ray.shutdown()
    else:
        from bondkd.gate.files import filter_file

        out["startup_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        filter_file(spec["src"], spec["acc"], spec["rej"], config, workers=spec["cpus"])
        out["run_s"] = time.perf_counter() - t1
        peak[0] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out["driver_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["worker_rss_mb"] = peak[0]
    return out


def _run(spec: dict) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--measure",
                           json.dumps(spec)], capture_output=True, text=True)  # fmt: skip
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode or not lines:
        raise SystemExit(f"run failed: {spec}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def _side_by_side(tmp: Path, src: Path, n: int, backend: str) -> None:
    runs = [("local", 1, "local 1 process"), ("local", 2, "local --workers 2"),
            ("ray", 1, "Ray 1 CPU"), ("ray", 2, "Ray 2 CPUs")]  # fmt: skip
    base: bytes | None = None
    rates: dict[str, float] = {}
    for engine, cpus, label in runs:
        acc, rej = (
            tmp / f"{backend}-{engine}{cpus}.acc.jsonl",
            tmp / f"{backend}-{engine}{cpus}.rej.jsonl",
        )
        spec = {"engine": engine, "cpus": cpus, "backend": backend, "src": str(src),
                "acc": str(acc), "rej": str(rej), "chunk_lines": 1024 if backend == "lexical" else 16}  # fmt: skip
        r = _run(spec)
        got = acc.read_bytes() + b"\0" + rej.read_bytes()
        base = base if base is not None else got
        rates[label] = n / r["run_s"]
        print(f"{backend:8s} {label:18s} {n:7d} {r['startup_s']:9.1f} {r['run_s']:7.1f} "
              f"{rates[label]:9.1f} {r['driver_rss_mb']:10.0f} {r['worker_rss_mb']:10.0f}  "
              f"{'same' if got == base else _how_different(base, got)}", flush=True)  # fmt: skip
    print(f"{backend}: Ray 1 CPU / local 1 process = "
          f"{rates['Ray 1 CPU'] / rates['local 1 process']:.2f}; Ray 2 CPUs / Ray 1 CPU = "
          f"{rates['Ray 2 CPUs'] / rates['Ray 1 CPU']:.2f}", flush=True)  # fmt: skip


def _how_different(a: bytes, b: bytes) -> str:
    """For outputs that are not byte-equal: records in another file, and the largest
    difference between two numbers at the same place of the same record."""

    def recs(blob: bytes) -> dict:
        acc, rej = blob.split(b"\0")
        return {json.loads(x)["bondkd"]["line"]: (side, json.loads(x))
                for side, part in (("a", acc), ("r", rej)) for x in part.splitlines()}  # fmt: skip

    ra, rb = recs(a), recs(b)
    for k in sorted(ra.keys() & rb.keys()):  # the first differing record, field by field
        if ra[k] != rb[k]:
            x, y = ra[k][1]["bondkd"], rb[k][1]["bondkd"]
            diff = {f: (x.get(f), y.get(f)) for f in x.keys() | y.keys() if x.get(f) != y.get(f)}
            print(f"  line {k}: {json.dumps(diff, ensure_ascii=False)[:1500]}", flush=True)
            break
    moved = sum(ra[k][0] != rb[k][0] for k in ra if k in rb)
    delta = max((_delta(ra[k][1], rb[k][1]) for k in ra if k in rb), default=0.0)
    other = sum(ra[k] != rb[k] for k in ra if k in rb)
    return (
        f"DIFFERENT: {len(ra.keys() ^ rb.keys())} lines in one only, {moved} verdicts, "
        f"{other} records, max |delta| {delta:.2g}"
    )


def _delta(x: object, y: object) -> float:
    if isinstance(x, dict) and isinstance(y, dict):
        return max((_delta(x[k], y[k]) for k in x if k in y), default=0.0)
    if isinstance(x, list) and isinstance(y, list):
        return max((_delta(u, v) for u, v in zip(x, y, strict=False)), default=0.0)
    if isinstance(x, int | float) and isinstance(y, int | float) and not isinstance(x, bool):
        return abs(float(x) - float(y))
    return 0.0


def engines(records: int, model_records: int) -> None:
    print(f"{'backend':8s} {'engine':18s} {'records':>7s} {'startup s':>9s} {'run s':>7s} "
          f"{'records/s':>9s} {'driver MB':>10s} {'worker MB':>10s}  output")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        src = tmp / "synthetic.jsonl"
        src.write_text("\n".join(synthetic(records)) + "\n", encoding="utf-8")
        _side_by_side(tmp, src, records, "lexical")
        if model_records:
            small = tmp / "synthetic_model.jsonl"
            small.write_text("\n".join(synthetic(model_records)) + "\n", encoding="utf-8")
            _side_by_side(tmp, small, model_records, "model")


def driver_rss(sizes: list[int]) -> None:
    print(f"{'records':>8s} {'run s':>8s} {'records/s':>9s} {'driver peak RSS MB':>18s}")
    first = None
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for n in sizes:
            src = tmp / f"s{n}.jsonl"
            with src.open("w", encoding="utf-8") as fh:
                for line in synthetic(n):  # made once (copies refer back), then streamed
                    fh.write(line + "\n")
            spec = {"engine": "ray", "cpus": 2, "backend": "lexical", "src": str(src),
                    "acc": str(tmp / f"a{n}.jsonl"), "rej": str(tmp / f"r{n}.jsonl")}  # fmt: skip
            r = _run(spec)
            first = first or r["driver_rss_mb"]
            print(f"{n:8d} {r['run_s']:8.1f} {n / r['run_s']:9.1f} {r['driver_rss_mb']:18.0f}"
                  f"  ({r['driver_rss_mb'] / first:.2f}x the first)", flush=True)  # fmt: skip


# -- identity: the CLI, local vs Ray --------------------------------------------------


def _cli(args: list[str]) -> int:
    return subprocess.run(
        [sys.executable, "-m", "bondkd", *args, "-q"], capture_output=True
    ).returncode


def identity(gsm_questions: int) -> None:
    from bondkd.gate.files import read_lines

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        inputs = sorted((ROOT / "datasets").glob("*.jsonl"))
        if GSM8K.exists():
            g = tmp / f"gsm8k_dev_{4 * gsm_questions}.jsonl"
            g.write_text("\n".join(gsm8k(gsm_questions)) + "\n", encoding="utf-8")
            inputs.append(g)
        lex = ["--backend", "lexical"]
        for src in inputs:
            for cmd in ("filter", "analyze", "targets", "report"):
                outs = {}
                for eng in ("local", "ray"):
                    o = tmp / f"{src.stem}.{cmd}.{eng}"
                    extra = ["--engine", "ray", "--num-cpus", "2"] if eng == "ray" else []
                    if cmd == "filter":
                        _cli(
                            [
                                "filter",
                                str(src),
                                "--accepted",
                                f"{o}.a.jsonl",
                                "--rejected",
                                f"{o}.r.jsonl",
                                *extra,
                            ]
                        )
                        outs[eng] = [v for p in (f"{o}.a.jsonl", f"{o}.r.jsonl") if Path(p).exists()
                                     for _, v in read_lines(p)]  # fmt: skip
                    elif cmd == "analyze":
                        _cli(["analyze", str(src), *lex, "--json", f"{o}.jsonl", *extra])
                        outs[eng] = Path(f"{o}.jsonl").read_text("utf-8").splitlines()
                    elif cmd == "targets":
                        _cli(["targets", str(src), *lex, "--out", str(o), *extra])
                        outs[eng] = [(o / "index.jsonl").read_bytes()] + [
                            _npz(p) for p in sorted(o.glob("shard-*.npz"))]  # fmt: skip
                    else:
                        _cli(
                            [
                                "report",
                                str(src),
                                *lex,
                                "-o",
                                f"{o}/r.html",
                                "--json",
                                f"{o}.json",
                                "--views",
                                "5",
                                *extra,
                            ]
                        )
                        outs[eng] = [Path(f"{o}.json").read_text("utf-8")]
                differ = sum(a != b for a, b in zip(outs["local"], outs["ray"], strict=False))
                differ += abs(len(outs["local"]) - len(outs["ray"]))
                print(f"{src.name:28s} {cmd:8s} {len(outs['local']):6d} items  "
                      f"{'same' if not differ else f'{differ} DIFFERENT'}", flush=True)  # fmt: skip


def _npz(path: Path) -> bytes:
    import numpy as np

    with np.load(path) as z:
        return b"".join(k.encode() + z[k].tobytes() for k in sorted(z.files))


# -- near duplicates: recall and precision on a planted set ----------------------------


def dedup(base_n: int, near_n: int, exact_n: int) -> None:
    from bondkd.gate.config import GateConfig
    from bondkd.gate.files import read_lines
    from bondkd.gate.index import normalise

    rng = random.Random(17)
    base = [json.loads(x) for x in gsm8k(base_n // 4 + 1)][:base_n]
    rows, planted = list(base), set()
    for k in range(near_n):  # 1-3 words replaced, a word dropped or two swapped
        r = dict(rng.choice(base))
        words = r["solution"].split(" ")
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(words))
            op = rng.choice(("replace", "drop", "swap"))
            if op == "replace":
                words[i] = rng.choice(("so", "then", "thus", "now"))
            elif op == "drop" and len(words) > 5:
                del words[i]
            elif i + 1 < len(words):
                words[i], words[i + 1] = words[i + 1], words[i]
        rows.append(r | {"id": f"near-{k}", "solution": " ".join(words)})
        planted.add(len(rows))
    for k in range(exact_n):
        rows.append(dict(rng.choice(base)) | {"id": f"exact-{k}"})
        planted.add(len(rows))
    near = GateConfig().dedup.near
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "planted.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(f"{len(base)} GSM8K dev solutions + {near_n} near copies (1-3 word edits) + "
              f"{exact_n} exact copies; near threshold {near}")  # fmt: skip
        for eng in ("local", "ray"):
            extra = ["--engine", "ray", "--num-cpus", "2"] if eng == "ray" else []
            _cli(
                [
                    "filter",
                    str(src),
                    "--accepted",
                    f"{d}/{eng}.a",
                    "--rejected",
                    f"{d}/{eng}.r",
                    *extra,
                ]
            )
            flagged = {v["bondkd"]["line"] for p in (f"{d}/{eng}.a", f"{d}/{eng}.r")
                       for _, v in read_lines(p)
                       for c in v["bondkd"].get("checks", []) if c["name"] == "dedup" and c["status"] == "fail"}  # fmt: skip
            _score(f"gate MinHash 32x(8x4), {eng}", flagged, planted)
        texts = [normalise(r["question"] + "\n" + r["solution"] + "\n") for r in rows]
        for perms, params in ((32, (8, 4)), (128, None)):
            _score(f"datasketch {perms} perms {params or 'optimal bands'}",
                   _datasketch(texts, perms, params, near), planted)  # fmt: skip


def _datasketch(texts: list[str], perms: int, params: tuple | None, near: float) -> set[int]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=near, num_perm=perms, params=params)
    flagged, seen = set(), {}
    for n, t in enumerate(texts, start=1):
        m = MinHash(num_perm=perms, seed=1)
        m.update_batch([t[i : i + 5].encode() for i in range(max(1, len(t) - 4))])
        if t in seen or any(
            m.jaccard(seen_m) >= near for seen_m in (seen[c] for c in lsh.query(m))
        ):
            flagged.add(n)
        if t not in seen:
            lsh.insert(t, m)
            seen[t] = m
    return flagged


def _score(label: str, flagged: set[int], planted: set[int]) -> None:
    tp = len(flagged & planted)
    print(f"{label:42s} recall {tp / len(planted):.3f} precision "
          f"{tp / max(1, len(flagged)):.3f} ({tp} of {len(planted)} planted; {len(flagged)} flagged)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", action="store_true")
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--model-records", type=int, default=32)
    ap.add_argument("--driver-rss", help="Comma-separated input sizes.")
    ap.add_argument("--identity", action="store_true")
    ap.add_argument("--gsm-questions", type=int, default=500, help="x4 solutions (--identity).")
    ap.add_argument("--dedup", action="store_true")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.measure:
        print(json.dumps(measure(json.loads(opts.measure))))
    if opts.engines:
        engines(opts.records, opts.model_records)
    if opts.driver_rss:
        driver_rss([int(x) for x in opts.driver_rss.split(",")])
    if opts.identity:
        identity(opts.gsm_questions)
    if opts.dedup:
        dedup(1000, 200, 100)
