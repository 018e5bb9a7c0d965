"""Molecule pages without a browser: safe embedding, CSP hashes, layout, package data."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bondkd.config import AnalyzeConfig
from bondkd.pipeline import analyze
from bondkd.views.html import script_json
from bondkd.views.render import molecule_html, per_row, reading_layout, shorten

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets"
LEXICAL = AnalyzeConfig(backend="lexical")
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)


def _mol(name: str):
    return analyze(json.loads((DATA / name).read_text(encoding="utf-8")), LEXICAL)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


@given(st.text())
def test_script_json_round_trips_and_never_closes_its_block(value: str) -> None:
    text = script_json({"v": value, "k": [value]})
    assert json.loads(text) == {"v": value, "k": [value]}
    assert "<" not in text and ">" not in text and "&" not in text


@given(st.text(), st.integers(4, 40))
def test_shorten_fits_the_width_and_keeps_a_prefix(text: str, width: int) -> None:
    short = shorten(text, width)
    flat = " ".join(text.split())
    assert _width(short) <= width
    assert flat.startswith(short.removesuffix("…").rstrip()) or short == flat


def test_reading_layout_wraps_rows_in_reading_order() -> None:
    roles = ["normal"] * 30
    pos = reading_layout(roles)
    k = per_row(30)
    assert 1 < k < 30
    for i in range(1, 30):
        (x0, y0), (x1, y1) = pos[i - 1], pos[i]
        assert (x1 > x0 and y1 == y0) if i % k else (x1 < x0 and y1 > y0)
    assert per_row(6) == 6  # short traces: one row
    lifted = reading_layout(["normal", "reflection", "exploration"])
    assert lifted[1][1] < lifted[0][1] < lifted[2][1]


def test_hostile_trace_is_inert_in_the_page() -> None:
    page = molecule_html(_mol("hostile.json"))
    scripts = list(_SCRIPT.finditer(page))
    # The JSON data block, vis-network and molecule.js: nothing from the trace.
    assert len(scripts) == 3
    assert "<script" not in _SCRIPT.sub("", page)
    assert "alert(1)" not in "".join(m.group("body") for m in scripts[1:])
    markup = _SCRIPT.sub("", page)
    assert not re.search(r"<[a-z][^>]*\son\w+\s*=", markup, re.I)  # no event attribute
    assert "<img" not in markup
    assert not re.search(r"(href|src)\s*=\s*[\"']?javascript:", markup, re.I)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the id, shown as text
    data = json.loads(scripts[0].group("body"))
    assert data["steps"][1]["text"].startswith("<script>alert(1)</script>")


def test_csp_allows_exactly_the_inline_scripts() -> None:
    page = molecule_html(_mol("exploratory.json"))
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    csp = html.unescape(found.group(1))
    assert "default-src 'none'" in csp
    hashes = set(re.findall(r"'sha256-([^']+)'", csp))
    run = [m.group("body") for m in _SCRIPT.finditer(page) if "application/json" not in m["attrs"]]
    assert len(run) == 2
    assert hashes == {base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in run}
    assert "http://" not in csp and "https://" not in csp


def test_page_has_no_network_address_outside_the_graph_library() -> None:
    page = molecule_html(_mol("reflective_long.json"))
    body = _SCRIPT.sub("", page)
    assert not re.search(r"(src|href)=\"(https?:)?//", body)


def test_viz_is_package_data_and_not_an_importable_package(tmp_path: Path) -> None:
    assert not (ROOT / "viz" / "__init__.py").exists()
    # Outside the checkout nothing called viz is installed.
    probe = subprocess.run(
        [sys.executable, "-c", "import viz"], cwd=tmp_path, capture_output=True, text=True
    )
    assert probe.returncode != 0 and "No module named 'viz'" in probe.stderr
    # Build from a copy of what the wheel is made of (pip would copy the whole checkout).
    src = tmp_path / "src"
    for part in ("bondkd", "viz"):
        shutil.copytree(ROOT / part, src / part, symlinks=True)
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, src / part)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    import zipfile

    [wheel] = tmp_path.glob("bondkd-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in ("base.html", "molecule.html", "molecule.js", "report.html", "report.js"):
        assert f"bondkd/viz/{asset}" in names
    assert not any(n.startswith("viz/") for n in names)
