"""Write a synthetic ~10 MB single trace (arithmetic steps with periodic reflection and
exploration cues) for the long-input check in docs/benchmarks.md.

    python benchmarks/make_huge_trace.py huge.json [--mb 10]
"""

from __future__ import annotations

import argparse
import json
import random


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=10.0)
    args = ap.parse_args()
    rng = random.Random(0)
    parts, size, k = [], 0, 0
    while size < args.mb * 1_000_000:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        s = f"Step {k}: we multiply {a} by {b} to get {a * b}. "
        s += "Wait, let me check that again. " if k % 37 == 0 else ""
        s += "Alternatively, we could add instead. " if k % 53 == 0 else ""
        s += "\n\n"
        parts.append(s)
        size += len(s.encode())
        k += 1
    trace = {"id": "huge", "question": "Compute products.", "reasoning": "".join(parts)}
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(trace, fh)


if __name__ == "__main__":
    main()
