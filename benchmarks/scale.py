"""Time and peak memory of `bondkd filter` / `bondkd analyze` as one trace grows (issue 20).

Builds the inputs in a temp dir: one trace of realistic reasoning text (long R1 traces
from ../shared/data/longcot, else datasets/reflective_long.json, repeated) at 64 KB to
4 MB in doublings and 5 MB, the same text on one line without newlines, 100,000 and
200,000 one-character lines, and a 50 MB trace. Each run is a fresh process; per run it
prints the wall time, seconds per MB, the peak RSS of that process (os.wait4), and the
time ratio to the run at half the size (2 for linear work; the ~1 s start-up pulls the
small ones below 2).
Traces above `max_chars` (default 2,000,000) are run with a config that raises it, to
show the scaling, and once more with the defaults to show the bound's one-line answer.

    python benchmarks/scale.py            # everything (several minutes)
    python benchmarks/scale.py --quick    # up to 1 MB, no 50 MB
    python benchmarks/scale.py --model    # also `analyze` on the model backend, 16 KB
                                          # (~50 s on a CPU)

Scale-out (issue 17), each a separate mode:

    python benchmarks/scale.py --engines     # filter records/s: local 1 process, local
        # --workers 2, Ray 1 and 2 CPUs, lexical and model backends, on the same input,
        # side by side; Ray start-up (ray.init and its first workers) timed apart; driver
        # and worker peak RSS; whether each output equals the local 1-process one
    python benchmarks/scale.py --driver-rss 10000,100000   # Ray driver peak RSS by size
    python benchmarks/scale.py --identity    # local vs Ray for analyze, filter, targets,
        # report on datasets/*.jsonl and 2,000 GSM8K dev solutions
    python benchmarks/scale.py --dedup       # near-duplicate recall/precision on a planted
        # set: the gate's MinHash (local and Ray) and datasketch's
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONGCOT = ROOT.parent / "shared" / "data" / "longcot" / "thought_anchors.dev.jsonl"
BONDKD = [sys.executable, "-m", "bondkd"]
KB = 1000


def base_text() -> tuple[str, str]:
    """(question, reasoning) to repeat: real long R1 traces when available."""
    if LONGCOT.exists():
        rows = [json.loads(line) for line in LONGCOT.open(encoding="utf-8")]
        return rows[0]["question"], "\n\n".join(r["reasoning"] for r in rows)
    doc = json.loads((ROOT / "datasets" / "reflective_long.json").read_text(encoding="utf-8"))
    first = doc[0] if isinstance(doc, list) else doc
    return first.get("question", ""), first["reasoning"]


def write(path: Path, question: str, text: str) -> Path:
    path.write_text(json.dumps({"id": path.stem, "question": question, "reasoning": text}) + "\n",
                    encoding="utf-8")  # fmt: skip
    return path


def run(args: list[str], cwd: Path, timeout: float) -> tuple[int | None, float, float, str]:
    """(exit code or None on timeout, wall s, peak RSS MB, last stderr line)."""
    err_path = cwd / "stderr.txt"
    with err_path.open("w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([*BONDKD, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        rc: int | None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                rc = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                _, _, usage = os.wait4(proc.pid, 0)
                rc = None
                break
            time.sleep(0.02)
        proc.returncode = rc if rc is not None else -9  # reaped above
        wall = time.perf_counter() - t0
    lines = err_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return rc, wall, usage.ru_maxrss / 1024, (lines[-1] if lines else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="Up to 1 MB; no 5 MB or 50 MB.")
    ap.add_argument("--model", action="store_true", help="Also analyze on the model backend.")
    ap.add_argument("--timeout", type=float, default=600.0, help="Per run, seconds.")
    opts = ap.parse_args()
    question, base = base_text()
    sizes = [16 * KB] if opts.model else []
    sizes += [64 * KB * 2**k for k in range(5 if opts.quick else 7)]
    sizes += [] if opts.quick else [5000 * KB]
    print(f"{'case':26s} {'command':22s} {'rc':>4s} {'wall s':>7s} {'s/MB':>6s} {'2n/n':>5s} "
          f"{'peak RSS MB':>11s}  note")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        raised = cwd / "raised.json"  # the scaling runs above the default bound
        raised.write_text(json.dumps({"analyze": {"max_chars": 6_000_000}}))
        raised_analyze = cwd / "raised_analyze.json"
        raised_analyze.write_text(json.dumps({"max_chars": 6_000_000}))

        def case(
            name: str, path: Path, size: int, kinds: list[tuple[str, list[str]]], prev: dict
        ) -> None:
            for label, extra in kinds:
                for p in cwd.glob("out*.jsonl"):
                    p.unlink()
                if label.startswith("filter"):
                    args = ["filter", path.name, "--accepted", "out_a.jsonl", "--rejected",
                            "out_r.jsonl", "-q", *extra]  # fmt: skip
                else:
                    args = ["analyze", path.name, "-q", "--json", "out_m.jsonl", *extra]
                rc, wall, rss, last = run(args, cwd, opts.timeout)
                half = prev.get((label, size // 2))
                ratio = f"{wall / half:5.2f}" if half else ""
                prev[label, size] = wall
                note = "TIMEOUT" if rc is None else last[:80]
                print(f"{name:26s} {label:22s} {rc!s:>4s} {wall:7.2f} {wall / size * 1e6:6.2f} "
                      f"{ratio:>5s} {rss:11.0f}  {note}", flush=True)  # fmt: skip

        prev: dict[tuple[str, int], float] = {}
        for size in sizes:
            text = (base * (size // len(base) + 1))[:size]
            path = write(cwd / f"trace_{size // KB}KB.jsonl", question, text)
            over = size + len(question) > 2_000_000
            kinds = [("filter lexical", ["--config", str(raised)] if over else []),
                     ("analyze lexical", ["--backend", "lexical"]
                      + (["--config", str(raised_analyze)] if over else []))]  # fmt: skip
            if over:
                kinds.append(("filter (default bound)", []))
            if size == 16 * KB:
                kinds = [("analyze model", ["--backend", "model"])]
            case(f"trace {size // KB} KB", path, size, kinds, prev)
        prev = {}
        for size in (500 * KB, 1000 * KB):
            line = base.replace("\n", " ")
            path = write(
                cwd / f"line_{size // KB}KB.jsonl",
                question,
                (line * (size // len(line) + 1))[:size],
            )
            case(f"one line {size // KB} KB", path, size, [("filter lexical", []),
                 ("analyze lexical", ["--backend", "lexical"])], prev)  # fmt: skip
        prev = {}
        chars = "a1b2=c3+"
        for n in (100_000, 200_000):
            text = "".join(f"{chars[k % len(chars)]}\n" for k in range(n))
            path = write(cwd / f"lines_{n}.jsonl", "q 3", text)
            case(f"{n:,} one-char lines", path, 2 * n, [("filter lexical", []),
                 ("analyze lexical", ["--backend", "lexical"])], prev)  # fmt: skip
        if not opts.quick:
            text = (base * (50_000_000 // len(base) + 1))[:50_000_000]
            path = write(cwd / "trace_50MB.json", question, text)
            case("trace 50 MB (.json)", path, 50_000 * KB,
                 [("analyze lexical", ["--backend", "lexical"]),
                 ("analyze model", [])], {})  # fmt: skip
            path = write(cwd / "trace_50MB.jsonl", question, text)
            case("trace 50 MB (.jsonl)", path, 50_000 * KB, [("filter lexical", [])], {})


if __name__ == "__main__":
    if any(a.startswith(("--engines", "--driver-rss", "--identity", "--dedup", "--measure"))
           for a in sys.argv[1:]):  # fmt: skip
        sys.path.insert(0, str(Path(__file__).parent))
        from scale_out import main as scale_out_main

        scale_out_main()
    else:
        main()
