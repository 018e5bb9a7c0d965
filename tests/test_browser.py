"""The HTML views in real headless Chromium (Debian's, driven by Playwright).

Pages load from file:// with every other request aborted and recorded, so a
request to any address fails the test. `.ci/run` installs Chromium and sets
BONDKD_REQUIRE_BROWSER=1, which turns a missing browser into a failure instead of
a skip. Screenshots go to test-artifacts/ (or $BONDKD_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bondkd.cli import main
from bondkd.config import AnalyzeConfig
from bondkd.pipeline import analyze
from bondkd.views.render import write_molecule_html

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets"
ARTIFACTS = Path(os.environ.get("BONDKD_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium's own background traffic would trip the no-request check (and fails offline).
ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LEXICAL = AnalyzeConfig(backend="lexical")


def _missing(why: str):
    if os.environ.get("BONDKD_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with every console error, page error, dialog and request recorded."""

    def __init__(self, browser, width: int = 1400, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def open(self, path: Path, ready: str) -> None:
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector(ready, state="attached", timeout=60_000)

    def clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs
        assert self.requests == [], self.requests

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.close()


# Waiting on selectors, not JS predicates: Playwright evaluates a polled predicate with
# eval, which the pages' Content-Security-Policy (rightly) blocks.
SETTLED = "body[data-settled=true]"
READY = "body[data-ready=true]"


def _molecule_page(tmp_path: Path, name: str) -> Path:
    mol = analyze(json.loads((DATA / name).read_text(encoding="utf-8")), LEXICAL)
    out = tmp_path / (Path(name).stem + ".html")
    write_molecule_html(mol, out)
    return out


def _drawn_pixels(page) -> int:
    return page.evaluate(
        """() => {
        const c = document.querySelector('#graph canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;
    }"""
    )


def _click_step(page, index: int) -> None:
    x, y = page.evaluate(
        """(i) => {
        const v = window.bondkdView, p = v.network.getPositions([i])[i];
        const dom = v.network.canvasToDOM(p), box = document.querySelector('#graph')
            .getBoundingClientRect();
        return [box.left + dom.x, box.top + dom.y];
    }""",
        index,
    )
    page.mouse.click(x, y)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_molecule_loads_offline_draws_and_shows_a_clicked_step(page, tmp_path):
    html = _molecule_page(tmp_path, "reflective_long.json")
    page.open(html, SETTLED)
    p = page.page
    assert _drawn_pixels(p) > 5000
    assert p.evaluate("window.bondkdView.settledBy") == "stabilization"
    assert p.evaluate("window.bondkdView.network.physics.physicsEnabled") is False
    _click_step(p, 12)
    panel = p.inner_text("#panel")
    assert "Step 12" in panel and "Wait, let me check the number of students" in panel
    assert "step 6" in panel and "reflection (hydrogen)" in panel  # its bond to step 6
    _shot(p, "molecule_reflective_long.png")
    page.clean()


def test_bond_type_toggles_hide_and_show_edges(page, tmp_path):
    page.open(_molecule_page(tmp_path, "reflective_long.json"), SETTLED)
    p = page.page
    hidden = "window.bondkdView.edges.get({filter: e => e.bondType === 'exploratory'})" \
        ".filter(e => e.hidden).length"  # fmt: skip
    total = p.evaluate("window.bondkdView.edges.get({filter: e => e.bondType === "
                       "'exploratory'}).length")  # fmt: skip
    assert total > 0 and p.evaluate(hidden) == 0
    p.click("input[data-bond-type=exploratory]")
    assert p.evaluate(hidden) == total
    p.click("input[data-bond-type=exploratory]")
    assert p.evaluate(hidden) == 0
    page.clean()


def test_hostile_markup_shows_as_text_and_never_runs(page, tmp_path):
    page.open(_molecule_page(tmp_path, "hostile.json"), SETTLED)
    p = page.page
    assert p.inner_text("#trace-id") == "<script>alert(1)</script>"
    assert "<img src=x onerror=alert(1)>" in p.inner_text("#question")
    assert p.inner_text("#answer") == "<b>7</b><script>alert(1)</script>"
    p.evaluate("window.bondkdView.showStep(2)")
    assert '<a href="javascript:alert(1)">this link</a>' in p.inner_text("#panel")
    counts = p.evaluate(
        """() => ({
        scripts: document.scripts.length,
        imgs: document.images.length,
        jsLinks: document.querySelectorAll('a[href^="javascript:"]').length,
        handlers: [...document.querySelectorAll('*')].filter(e =>
            [...e.attributes].some(a => a.name.startsWith('on'))).length,
    })"""
    )
    assert counts == {"scripts": 3, "imgs": 0, "jsLinks": 0, "handlers": 0}
    # Hover every step so panel rendering meets every hostile string.
    for i in range(p.evaluate("window.bondkdView.nodes.length")):
        _click_step(p, i)
    page.clean()  # no alert dialog, no error, no request


def test_chinese_molecule_renders(page, tmp_path):
    page.open(_molecule_page(tmp_path, "chinese_reflective.json"), SETTLED)
    p = page.page
    _click_step(p, 4)
    assert "等等，让我验证一下" in p.inner_text("#panel")
    # The CJK font is installed, so Chinese does not fall back to empty boxes.
    assert p.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '等')")
    _shot(p, "molecule_chinese.png")
    page.clean()


def test_large_molecule_settles_and_stops_physics(page, tmp_path):
    steps = "\n\n".join(
        f"Step {i}: we add {i} to the running total, giving {i * (i + 1) // 2}."
        if i % 25 else f"Wait, let me check step {i - 3}: the total {i * (i - 1) // 2} is right."
        for i in range(500)
    )  # fmt: skip
    mol = analyze({"id": "big", "question": "Sum 0..499.", "reasoning": steps}, LEXICAL)
    assert len(mol.steps) == 500
    html = tmp_path / "big.html"
    write_molecule_html(mol, html)
    page.open(html, SETTLED)
    p = page.page
    assert p.evaluate("window.bondkdView.settledBy") == "stabilization"
    assert p.evaluate("window.bondkdView.network.physics.physicsEnabled") is False
    assert _drawn_pixels(p) > 5000
    page.clean()


def test_report_loads_sorts_and_links_to_molecules(page, tmp_path, capsys):
    out = tmp_path / "report.html"
    data = tmp_path / "data.jsonl"
    records = [json.loads((DATA / n).read_text(encoding="utf-8")) for n in (
        "reflective_long.json", "exploratory.json", "contradiction.json", "hostile.json",
        "chinese_reflective.json")]  # fmt: skip
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    assert main(["report", str(data), "-o", str(out), "--backend", "lexical"]) == 0
    page.open(out, READY)
    p = page.page
    assert p.locator("#traces tbody tr").count() == 5
    assert p.locator("figure.plot svg").count() == 4
    assert p.locator("#traces td.id", has_text="<script>alert(1)</script>").count() == 1
    p.click("th[data-key=stability]")
    values = [float(t) for t in p.locator("#traces tbody td:nth-child(3)").all_inner_texts()]
    assert values == sorted(values)
    p.click("th[data-key=stability]")
    values = [float(t) for t in p.locator("#traces tbody td:nth-child(3)").all_inner_texts()]
    assert values == sorted(values, reverse=True)
    _shot(p, "report.png")
    page.clean()
    p.locator("#traces tbody a").first.click()
    p.wait_for_selector(SETTLED, state="attached", timeout=60_000)
    assert _drawn_pixels(p) > 1000
    assert p.locator("a.back").count() == 1
    page.clean()


def test_molecule_without_bonds_settles_too(page, tmp_path):
    mol = analyze({"id": "one", "question": "q", "reasoning": "Just one step."}, LEXICAL)
    assert mol.bonds == []
    html = tmp_path / "one.html"
    write_molecule_html(mol, html)
    page.open(html, SETTLED)
    assert _drawn_pixels(page.page) > 100
    page.clean()
