"""Peak memory of `bondkd filter` as the input grows: bounded, not proportional to the file.

Writes N records by cycling through the GSM8K dev solutions, each question tagged with
its copy number (so copies are near duplicates in different groups), runs
`bondkd filter` (lexical backend) on 1/10 of them and on all of them in fresh processes,
and prints each run's peak RSS (GNU time's %M) and records/s side by side.

    python benchmarks/gate_memory.py --records 100000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gate_auroc import DEV, records


def write(path: Path, n: int) -> None:
    base = records(DEV)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            r = dict(base[i % len(base)])
            r["id"] = f"{r['id']}-copy{i // len(base)}"
            r["question"] = f"{r['question']} (copy {i // len(base)})"
            fh.write(json.dumps(r) + "\n")


def run(src: Path, workers: int) -> dict:
    acc, rej = src.with_suffix(".acc"), src.with_suffix(".rej")
    # GNU time reports the peak RSS of the command itself (the parent process; with
    # --workers each worker is a separate process of similar size).
    cmd = ["/usr/bin/time", "-f", "%M", "bondkd", "filter", str(src), "--accepted", str(acc),
           "--rejected", str(rej), "-q", "--workers", str(workers)]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    lines = sum(1 for p in (acc, rej) for _ in p.open(encoding="utf-8"))
    return {"records": lines, "seconds": round(seconds, 1),
            "records_per_s": round(lines / seconds, 1),
            "peak_rss_mib": round(peak_kib / 1024, 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n in (args.records // 10, args.records):
            src = Path(tmp) / f"in{n}.jsonl"
            write(src, n)
            rows.append(run(src, args.workers))
            print(json.dumps(rows[-1]), flush=True)
        print(f"records x{rows[1]['records'] / rows[0]['records']:.0f} -> peak RSS "
              f"x{rows[1]['peak_rss_mib'] / rows[0]['peak_rss_mib']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
