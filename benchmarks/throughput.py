"""Analyze throughput on long traces, lexical and model backends (issue 16, item 8).

Traces of about 1k, 10k and 50k characters are built from real long R1 text: the
`reasoning` of ../shared/data/longcot/thought_anchors.dev.jsonl concatenated in file order
as needed and cut at the last sentence end before the size. Each (backend, size) runs in a
fresh process: it analyses a short warm-up trace first (model loading and first-call
costs stay out of the timing), then the trace at least 3 times and until `--min-seconds`
have passed (at most `--reps` times), and reports the median seconds per trace, traces/s,
characters/s and the process's peak RSS (ru_maxrss, which includes the models). Then, per
backend, the time ratio of each size to the one before it, beside the ratio of their
lengths: a normalised ratio near 1 means time grows linearly with the trace.

    python benchmarks/throughput.py [--backends lexical,model] [--sizes 1000,10000,50000]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "longcot" / "thought_anchors.dev.jsonl"
SENTENCE_ENDS = ".!?。！？"
CJK_ENDS = "。！？"  # Chinese text puts no space after a sentence
WARMUP_CHARS = 600
MIN_RUNS = 3  # a median of fewer is one noisy run on a shared machine


def source_text(path: Path = SOURCE) -> tuple[str, str]:
    """(question of the first record, every record's reasoning joined by a blank line)."""
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    return rows[0]["question"], "\n\n".join(r["reasoning"] for r in rows)


def cut_at_sentence(text: str, size: int) -> str:
    """`text` cut at the last sentence end at or before `size` characters (repeated as
    needed to reach it); at a space when no sentence ends in the last half."""
    while len(text) < size:
        text = text + "\n\n" + text
    for end in range(size, size // 2, -1):
        prev, nxt = text[end - 1], text[end : end + 1]
        if prev in SENTENCE_ENDS and (prev in CJK_ENDS or not nxt or nxt.isspace()):
            return text[:end]
    space = text.rfind(" ", 0, size)
    return text[: space if space > 0 else size]


def build_trace(size: int, path: Path = SOURCE) -> dict:
    question, text = source_text(path)
    return {
        "id": f"throughput-{size}",
        "question": question,
        "reasoning": cut_at_sentence(text, size),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(backend: str, size: int, reps: int, min_seconds: float, path: Path) -> dict:
    """Run in a fresh process: time analysing one `size` trace, return the numbers."""
    from bondkd.config import AnalyzeConfig
    from bondkd.pipeline import Analyzer
    from bondkd.read.formats import parse_record

    analyzer = Analyzer(AnalyzeConfig.model_validate({"backend": backend}))
    trace = parse_record(build_trace(size, path))
    analyzer.analyze(parse_record(build_trace(WARMUP_CHARS, path)))
    warm_rss = peak_rss_mb()
    seconds: list[float] = []
    steps = 0
    while len(seconds) < MIN_RUNS or (len(seconds) < reps and sum(seconds) < min_seconds):
        t0 = time.perf_counter()
        steps = len(analyzer.analyze(trace).steps)
        seconds.append(time.perf_counter() - t0)
    median = statistics.median(seconds)
    return {
        "backend": backend,
        "size": size,
        "chars": len(trace.reasoning),
        "steps": steps,
        "runs": len(seconds),
        "s_per_trace": median,
        "traces_per_s": 1 / median,
        "chars_per_s": len(trace.reasoning) / median,
        "warm_rss_mb": warm_rss,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_fresh(backend: str, size: int, args: argparse.Namespace) -> dict:
    """One configuration in a fresh interpreter, so peak RSS is its own."""
    cmd = [sys.executable, __file__, "--child", backend, str(size), "--reps", str(args.reps),
           "--min-seconds", str(args.min_seconds), "--source", str(args.source)]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"backend": backend, "size": size, "error": f"over {args.timeout} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"backend": backend, "size": size, "error": last}
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratios(rows: list[dict]) -> list[dict]:
    """Time ratio of each size to the previous one of the same backend, beside the
    length ratio (normalised = time ratio / length ratio; 1 = linear)."""
    out = []
    for a, b in itertools.pairwise(rows):
        if "error" in a or "error" in b:
            continue
        t, n = b["s_per_trace"] / a["s_per_trace"], b["chars"] / a["chars"]
        out.append({"backend": a["backend"], "from": a["size"], "to": b["size"],
                    "time_ratio": t, "length_ratio": n, "normalised": t / n})  # fmt: skip
    return out


def table(rows: list[dict], ratio_rows: list[dict]) -> str:
    lines = [
        "| backend | size | chars | steps | runs | s/trace | traces/s | chars/s | peak RSS MB "
        "(after warm-up) |",
        "|---" * 9 + "|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['backend']} | {r['size']:,} | error: {r['error']} |")
            continue
        lines.append(
            f"| {r['backend']} | {r['size']:,} | {r['chars']:,} | {r['steps']} | {r['runs']} "
            f"| {r['s_per_trace']:.3f} | {r['traces_per_s']:.2f} | {r['chars_per_s']:,.0f} "
            f"| {r['peak_rss_mb']:.0f} ({r['warm_rss_mb']:.0f}) |"
        )
    lines.append("")
    for q in ratio_rows:
        lines.append(
            f"{q['backend']}: time({q['to'] / 1000:g}k)/time({q['from'] / 1000:g}k) = "
            f"{q['time_ratio']:.2f} for {q['length_ratio']:.2f}× the characters "
            f"(normalised {q['normalised']:.2f}; 1 = linear)"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backends", default="lexical,model")
    ap.add_argument("--sizes", default="1000,10000,50000", help="characters, comma-separated")
    ap.add_argument("--reps", type=int, default=500, help="at most this many timed runs")
    ap.add_argument("--min-seconds", type=float, default=3.0, help="time each size this long")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--child", nargs=2, metavar=("BACKEND", "SIZE"), help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.child:
        backend, size = args.child
        print(json.dumps(child(backend, int(size), args.reps, args.min_seconds, args.source)))
        return
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    rows, ratio_rows = [], []
    for backend in filter(None, args.backends.split(",")):
        mine = [run_fresh(backend, size, args) for size in sizes]
        rows += mine
        ratio_rows += ratios(mine)
    print(table(rows, ratio_rows))
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "ratios": ratio_rows}, indent=2))


if __name__ == "__main__":
    main()
