"""`GuideConfig`: the knobs of `bondkd generate --structure`, with defaults, ranges and help.

The CLI flags map one to one onto these fields (`--max-steps` → `max_steps`); the
plan fields come from `PlanConfig`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from bondkd.synth.plan import PlanConfig


class GuideConfig(PlanConfig):
    structure: Path = Field(description="Target structure document (`bondkd structure -o`).")
    guide: Literal["steps", "plan"] = Field(
        default="steps",
        description="steps: one request per planned step, opened with the role's cue; "
        "plan: the whole plan in one prompt.",
    )
    step_tokens: int = Field(default=64, ge=8, le=4096, description="Tokens per step (steps).")
    answer_tokens: int = Field(
        default=24, ge=4, le=1024, description="Tokens of the closing final-answer request."
    )
    lang: Literal["auto", "en", "zh"] = Field(
        default="auto", description="Prompt language; auto: zh for a question in Chinese."
    )
    backend: Literal["lexical", "model"] = Field(
        default="lexical", description="Analysis backend of the plan-following score."
    )
