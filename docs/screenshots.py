"""Regenerate the screenshots in docs/img/ (headless Debian Chromium via Playwright).

bondkd analyze datasets/reflective_long.json --html out/reflective_long.html
python benchmarks/gsm8k_auroc.py --write-traces out/gsm8k_traces.jsonl
bondkd report out/gsm8k_traces.jsonl -o out/report/gsm8k.html --backend lexical
python docs/screenshots.py out/reflective_long.html out/report/gsm8k.html
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
IMG = Path(__file__).parent / "img"


def main(molecule: str, report: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(Path(molecule).resolve().as_uri())
        page.wait_for_selector("body[data-settled=true]", state="attached")
        page.evaluate("window.bondkdView.showStep(12)")  # the step that checks step 4
        page.screenshot(path=str(IMG / "molecule.png"))
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.goto(Path(report).resolve().as_uri())
        page.wait_for_selector("body[data-ready=true]", state="attached")
        page.click("th[data-key=stability]")
        page.screenshot(path=str(IMG / "report.png"))
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
