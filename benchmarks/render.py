"""Size and load time of molecule pages in headless Chromium, by molecule size.

For each step count N a synthetic trace of N sentences (running sums, with a
"Wait, let me check" step every 25) is analysed with the lexical backend and
rendered by `bondkd.views.render`. Chromium (Debian's, via Playwright) opens the file
from file:// and we time, from navigation start:

- load_ms: the `load` event (the page and its inlined scripts parsed and run);
- settled_ms: physics stabilised and switched off (`bondkdView.settled`), i.e.
  when the graph stops moving and the page is fully interactive;
- hover_ms: median time for `showStep` to rebuild the side panel, after settling.

Times are the median over --repeats fresh pages. The vis-network library is ~470 KB
of each page, so size grows slowly with N.

    python benchmarks/render.py --steps 50,200,500,1000 --json out/render.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bondkd.config import AnalyzeConfig
from bondkd.pipeline import analyze
from bondkd.views.render import write_molecule_html

ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def synthetic_trace(n: int) -> dict:
    steps = [
        f"Wait, let me check step {i - 3}: the total {i * (i - 1) // 2} is right."
        if i % 25 == 24
        else f"Step {i}: we add {i} to the running total, giving {i * (i + 1) // 2}."
        for i in range(n)
    ]
    return {"id": f"synthetic-{n}", "question": f"Sum 0..{n - 1}.", "reasoning": "\n\n".join(steps)}


def measure(browser, path: Path, repeats: int) -> dict:
    loads, settles, hovers = [], [], []
    for _ in range(repeats):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-settled=true]", state="attached", timeout=300_000)
        loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
        # settle time is stamped by the page itself (performance.now() at settle)
        settles.append(page.evaluate("window.bondkdView.settledAt"))
        hovers.append(
            page.evaluate(
                """() => { const v = window.bondkdView, n = v.nodes.length, t = [];
                for (let k = 0; k < 20; k++) { const s = performance.now();
                  v.showStep((k * 37) % n); t.push(performance.now() - s); }
                t.sort((a, b) => a - b); return t[10]; }"""
            )
        )
        page.close()
    return {
        "load_ms": round(statistics.median(loads), 1),
        "settled_ms": round(statistics.median(settles), 1),
        "hover_ms": round(statistics.median(hovers), 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", default="50,200,500,1000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
        for n in map(int, args.steps.split(",")):
            t0 = time.perf_counter()
            mol = analyze(synthetic_trace(n), AnalyzeConfig(backend="lexical"))
            path = Path(tmp) / f"m{n}.html"
            write_molecule_html(mol, path)
            build_s = time.perf_counter() - t0
            row = {
                "steps": len(mol.steps),
                "bonds": len(mol.bonds),
                "bytes": path.stat().st_size,
                "analyse_render_s": round(build_s, 2),
                **measure(browser, path, args.repeats),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        browser.close()
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
