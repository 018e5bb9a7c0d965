"""Scale-out on Ray Data: `analyze`, `filter`, `targets` and `report` on a cluster.

The per-record code is the local path's (`read`, `pipeline`, `gate`); this stage only
cuts the input into chunks (`chunks`), runs them as Ray tasks or model-holding actors
(`molecules`, `gate`), builds the gate's whole-file index with Ray groupbys (`index`),
and hands the results back in input order. Ray is an optional dependency
(``bondkd[ray]``). See docs/scale.md.

May import: base, read, pipeline, gate, distill, molecule.
"""

from typing import Any

from bondkd.scale.config import EngineConfig

__all__ = ["EngineConfig", "filter_file", "stream"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the CLI reads `config` for its flags on every start, and the
    # Ray side of the package takes about a second to import.
    if name == "filter_file":
        from bondkd.scale.gate import filter_file

        return filter_file
    if name == "stream":
        from bondkd.scale.molecules import stream

        return stream
    raise AttributeError(f"module 'bondkd.scale' has no attribute {name!r}")
