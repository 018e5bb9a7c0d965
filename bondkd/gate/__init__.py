"""Sample-acceptance gate: which teacher traces enter a distillation dataset.

`filter_records(records, config)` in memory; `bondkd filter` for files (streamed,
resumable, parallel). See docs/gate.md.

May import: base, read, quantities, energy, molecule, measure, pipeline.
"""

from bondkd.gate.config import GateConfig, load_gate_config
from bondkd.gate.runner import Gate, filter_records

__all__ = ["Gate", "GateConfig", "filter_records", "load_gate_config"]
