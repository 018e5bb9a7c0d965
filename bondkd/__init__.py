"""bondkd: reasoning-structure distillation.

A chain-of-thought trace becomes a *reasoning molecule*: atomic steps bonded by
attention energies (strong-logic, reflection, exploratory bonds), scored for
stability. See docs/concepts.md.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
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
    "Molecule": "bondkd.molecule",
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
