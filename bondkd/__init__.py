"""bondkd: reasoning-structure distillation.

A chain-of-thought trace becomes a *reasoning molecule*: atomic steps bonded by
attention energies (strong-logic, reflection, exploratory bonds), scored for
stability. See docs/concepts.md.
"""

from __future__ import annotations

import sys
import warnings
from importlib import import_module
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

try:
    __version__ = version("bondkd")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

# Public API, imported lazily so `import bondkd.schema` (or the CLI's --help)
# does not pay for torch and transformers.
_EXPORTS = {
    "AnalyzeConfig": "bondkd.config",
    "load_config": "bondkd.config",
    "Molecule": "bondkd.molecule.molecule",
    "Analyzer": "bondkd.pipeline",
    "analyze": "bondkd.pipeline",
    "MoleculeDoc": "bondkd.schema",
    "GateConfig": "bondkd.gate",
    "filter_records": "bondkd.gate",
    "Trace": "bondkd.schema",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bondkd' has no attribute {name!r}")


# Modules that moved into the stage folders (0.2): their old paths keep working.
_MOVED = {
    "reader": "read.files",
    "formats": "read.formats",
    "markup": "read.markup",
    "inputs": "read.inputs",
    "segment": "steps.segment",
    "lexicon": "steps.lexicon",
    "dataflow": "quantities.dataflow",
    "kernels": "energy.kernels",
    "models": "energy.models",
    "bonds": "molecule.bonds",
    "conflicts": "molecule.conflicts",
    "stats": "measure.stats",
    "compare": "measure.compare",
    "metrics": "measure.metrics",
    "stability_fit": "measure.stability_fit",
    "loss": "distill.loss",
    "student": "distill.student",
    "collate": "distill.collate",
    "trainer": "distill.trainer",
    "targets": "distill.targets",
    "render": "views.render",
    "report": "views.report",
    "html": "views.html",
    "plots": "views.plots",
    "terminal": "views.terminal",
}


class _MovedModule(MetaPathFinder, Loader):
    """`import bondkd.loss` gives the module now at `bondkd.distill.loss`, with a warning."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        head, _, tail = fullname.partition(".")
        if head != "bondkd" or tail not in _MOVED:
            return None
        return ModuleSpec(fullname, self)

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        new = f"bondkd.{_MOVED[spec.name.partition('.')[2]]}"
        warnings.warn(f"{spec.name} moved to {new}", DeprecationWarning, stacklevel=2)
        return import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        pass  # already executed under its new name


sys.meta_path.append(_MovedModule())
