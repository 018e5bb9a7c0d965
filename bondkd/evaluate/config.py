"""The configuration of `bondkd eval`: how both models are asked, how answers are scored,
and the cost model. `--config FILE` (TOML or JSON) overrides any field; command-line
options override the file; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from bondkd.config import AnalyzeConfig, _Config, load_model, read_config_file
from bondkd.teachers.base import ClientConfig


class CostConfig(_Config):
    """Prices are per call, in one currency of your choice (the output does not name one)."""

    calls_per_month: int = Field(
        default=100_000, ge=0, description="Calls the deployed model would serve per month."
    )
    student_cost: float | None = Field(
        default=None, ge=0.0, description="Cost of one student call; unset: no cost model."
    )
    teacher_cost: float | None = Field(
        default=None, ge=0.0, description="Cost of one teacher call; unset: no cost model."
    )
    distill_cost: float | None = Field(
        default=None,
        ge=0.0,
        description="One-off cost of distilling the student; gives the break-even months.",
    )


class EvalConfig(ClientConfig):
    template: Literal["think", "zh_sections"] = Field(
        default="think", description="Prompt and reply format both models are asked to follow."
    )
    # Greedy decoding: an evaluation should not change from one run to the next.
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    max_tokens: int = Field(
        default=384, ge=1, le=32768, description="Completion tokens per answer (both models)."
    )
    seed: int | None = Field(default=0, description="Sampling seed, where a backend has one.")
    constrained: bool = Field(
        default=False, description="Ask for a JSON-schema-constrained reply where supported."
    )
    rel_tol: float = Field(
        default=1e-6,
        ge=0.0,
        le=1.0,
        description="Non-integer answers match when |a - r| <= rel_tol * max(1, |r|); "
        "integers must be equal.",
    )
    structure: bool = Field(
        default=True, description="Compute the structural distance of student to teacher traces."
    )
    analyze: AnalyzeConfig = Field(
        default_factory=lambda: AnalyzeConfig(backend="lexical"),
        description="How replies become molecules for the structural distance (lexical: no "
        "neural model).",
    )
    cost: CostConfig = Field(default_factory=CostConfig)


def load_eval_config(path: str | Path | None, **overrides: object) -> EvalConfig:
    """Defaults < file < overrides (field names, ``section__field`` for nested ones; None is
    ignored). `backend` sets the analysis backend used for the structural distance."""
    data = read_config_file(path)
    backend = overrides.pop("backend", None)
    if backend is not None:
        data.setdefault("analyze", {})["backend"] = backend
    data.setdefault("analyze", {}).setdefault("backend", "lexical")
    return load_model(EvalConfig, path, overrides, data)
