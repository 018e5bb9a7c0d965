"""Self-contained, safe HTML pages from the templates in viz/.

Every page is one file that works offline: scripts and styles are inlined and a
Content-Security-Policy forbids any network request. Trace text is untrusted, so
it reaches a page only two ways, both inert:

- Jinja2 autoescaping for text rendered into the HTML;
- `script_json` for data read by the page's scripts: a JSON block in which `<`, `>`
  and `&` are escaped, so no string can close the block, and the scripts put it
  into the DOM with `textContent`, never as markup.

The policy allows only the page's own scripts, by their SHA-256 hashes: an
injected `<script>` or `onerror=` attribute would not run even if escaping failed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib.resources import files
from pathlib import Path

import jinja2

from bondkd import __version__

_VIZ = files("bondkd") / "viz"  # the top-level viz/ folder, shipped as package data


@cache
def asset(name: str) -> str:
    return (_VIZ / name).read_text(encoding="utf-8")


@cache
def vis_network_js() -> str:
    """vis-network as pyvis ships it, so the graph library is the one pyvis targets."""
    import pyvis

    return (Path(pyvis.__file__).parent / "lib" / "vis-9.1.2" / "vis-network.min.js").read_text(
        encoding="utf-8"
    )


def script_json(obj: object) -> str:
    """JSON that is safe inside `<script type="application/json">`."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    # Line separators are legal in JSON but were not in older JavaScript parsers.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(asset),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(template: str, *, scripts: list[str], data: object, **context: object) -> str:
    """Render `template` with `data` as its JSON block and `scripts` inlined in order."""
    for s in scripts:
        if "</script" in s.lower():  # would end the inline block early
            raise ValueError("an inline script contains '</script'")
    csp = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_hash(s) for s in scripts),
            "style-src 'unsafe-inline'",  # vis-network sets element styles
            "img-src data:",
        ]
    )
    return (
        _env()
        .get_template(template)
        .render(
            csp=csp,
            css=asset("bondkd.css"),
            scripts=scripts,
            data=script_json(data),
            version=__version__,
            **context,
        )
    )
