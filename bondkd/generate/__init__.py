"""`bondkd generate`: teacher traces from a topic (tag tree → questions → answers) or from a
file of questions, as canonical JSONL that `bondkd analyze` and `bondkd filter` read.

May import: base, read, teachers.
"""

from bondkd.generate.config import GenerateConfig
from bondkd.generate.run import GenerateSummary, generate

__all__ = ["GenerateConfig", "GenerateSummary", "generate"]
