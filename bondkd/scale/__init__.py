"""Scale-out on Ray Data: `analyze`, `filter`, `targets` and `report` on a cluster.

The per-record code is the local path's (`read`, `pipeline`, `gate`); this stage only
cuts the input into chunks (`chunks`), runs them as Ray tasks or model-holding actors
(`molecules`, `gate`), builds the gate's whole-file index with Ray groupbys (`index`),
and hands the results back in input order. Ray is an optional dependency
(``bondkd[ray]``). See docs/scale.md.

May import: base, read, pipeline, gate, distill, molecule.
"""

from bondkd.scale.config import EngineConfig
from bondkd.scale.gate import filter_file
from bondkd.scale.molecules import stream

__all__ = ["EngineConfig", "filter_file", "stream"]
