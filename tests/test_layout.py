"""The package layout shows the pipeline, and imports only run down it.

Each stage folder's docstring says which stages it may import ("May import: ...");
this test holds the code to that line, finds import cycles between modules, and
keeps the package root to its public surface.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
import warnings
from pathlib import Path

import networkx as nx
import pytest

import bondkd

PKG = Path(bondkd.__file__).parent
# Root modules every stage may use; `pipeline` composes the stages, `cli` sits on top.
BASE = {"bondkd", "bondkd.config", "bondkd.errors", "bondkd.schema"}
ROOT_MODULES = {"__init__", "__main__", "cli", "config", "errors", "pipeline", "schema"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join(["bondkd", *parts])] = path
    return out


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bondkd"):
            found.add(node.module)
            # `from bondkd.x import y` may name a submodule y
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bondkd"))
    return found


def _stage(module: str) -> str:
    if module in BASE:
        return "base"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "base"


def _resolve(name: str, known: set[str]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def test_package_root_holds_only_the_public_surface():
    root = {p.stem for p in PKG.glob("*.py")}
    assert root == ROOT_MODULES
    assert len(root) <= 8


def test_every_stage_imports_only_what_its_docstring_allows():
    mods = _modules()
    stages = {p.name for p in PKG.iterdir() if (p / "__init__.py").exists()}
    allowed: dict[str, set[str]] = {}
    for stage in stages:
        doc = ast.get_docstring(ast.parse((PKG / stage / "__init__.py").read_text())) or ""
        m = re.search(r"^May import: (.*)\.$", doc, flags=re.M)
        assert m, f"bondkd/{stage}/__init__.py docstring lacks a 'May import:' line"
        allowed[stage] = {s.strip() for s in m.group(1).split(",")} | {"base", stage}
    allowed["pipeline"] = {"base", "read", "steps", "quantities", "energy", "molecule"}
    allowed["base"] = {"base"}
    bad = []
    for mod, path in mods.items():
        stage = _stage(mod)
        if stage in ("cli", "__main__"):
            continue
        for imp in _imports(path, top_level_only=False):
            target = _resolve(imp, set(mods))
            if target is not None and _stage(target) not in allowed[stage]:
                bad.append(f"{mod} ({stage}) imports {target} ({_stage(target)})")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    mods = _modules()
    g = nx.DiGraph()
    for mod, path in mods.items():
        for imp in _imports(path, top_level_only=True):
            target = _resolve(imp, set(mods))
            # a package's own __init__ is imported on the way to any submodule
            if target and target != mod and not mod.startswith(target + "."):
                g.add_edge(mod, target)
    assert list(nx.simple_cycles(g)) == []


def test_old_import_paths_still_work():
    sys.modules.pop("bondkd.loss", None)  # an earlier import would skip the warning
    with pytest.warns(DeprecationWarning, match="bondkd.distill.loss"):
        old = importlib.import_module("bondkd.loss")
    assert (
        old.bond_attention_loss
        is importlib.import_module("bondkd.distill.loss").bond_attention_loss
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from bondkd.compare import spearman_within  # noqa: F401
        from bondkd.trainer import BondDistillTrainer  # noqa: F401


def _doc_imports() -> list[str]:
    top = PKG.parent
    texts = [top / "README.md", *sorted((top / "docs").glob("*.md"))]
    found = []
    for path in texts:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if re.match(r"^(from bondkd[\w.]* import [\w, ]+|import bondkd[\w.]*)$", line):
                found.append(line)
    return found


def test_imports_shown_in_the_docs_work():
    lines = _doc_imports()
    assert len(lines) >= 5
    for line in lines:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # docs show the new paths
            exec(line, {})
