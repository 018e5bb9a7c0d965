"""The gate's configuration: one pydantic model per check, the score weights per
backend, and the analysis config the molecules are built with.

`--config gate.toml` overrides any field (``[length] max_chars = 4000``,
``[weights.lexical] consensus = 3.0``); unknown keys are errors. The hash of the
full resolved config goes into every output record's lineage.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bondkd.config import AnalyzeConfig, Backend, load_model, read_config_file


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CheckConfig(_Config):
    enabled: bool = True
    threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="score >= this passes.")


class StabilityCheck(CheckConfig):
    """Passes when the molecule is accepted (its stability >= `stability.threshold`)."""


class RefusalCheck(CheckConfig):
    veto: bool = Field(default=True, description="A refusal rejects the record outright.")
    patterns: list[str] = Field(
        default=[
            r"\bI(?:'m| am) sorry\b",
            r"\bI (?:cannot|can't|can not|am unable to|won't) (?:help|answer|assist|provide|do)",
            r"\bAs an AI(?: language model)?\b",
            r"很抱歉",
            r"抱歉，?我无法",
            r"无法回答",
            r"我不能(?:回答|提供|帮助)",
        ],
        description="Case-insensitive regexes searched in the response (reasoning + answer).",
    )

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for p in v:
            re.compile(p)
        return v


class LengthCheck(CheckConfig):
    unit: Literal["chars", "tokens"] = Field(
        default="chars", description="tokens: whitespace words plus CJK characters."
    )
    min: int = Field(default=20, ge=0)
    max: int = Field(default=20000, ge=1)


class EchoCheck(CheckConfig):
    """The response is about the instruction: cosine of question and response."""

    threshold: float = Field(default=0.1, ge=0.0, le=1.0)


class RedundancyCheck(CheckConfig):
    near_duplicate: float = Field(
        default=0.9, ge=0.0, le=1.0, description="Step cosine at or above this repeats a step."
    )
    loop: int = Field(default=3, ge=2, description="A step text seen this often is a loop.")
    threshold: float = Field(default=0.7, ge=0.0, le=1.0)


class SelfConsistencyCheck(CheckConfig):
    """Reads the molecule's standing conflicts: score = 1 - per_conflict * their number.
    Every kind counts here, including those stability gives no weight to (an answer
    that is not the last result is still a contradiction to report)."""

    threshold: float = Field(default=0.99, ge=0.0, le=1.0)
    per_conflict: float = Field(default=0.5, ge=0.0, le=1.0, description="Score lost per conflict.")


class GroundingCheck(CheckConfig):
    """Scores the molecule's dataflow; its constants are `analyze.stability.flow.constants`."""


class ReferenceCheck(CheckConfig):
    veto: bool = Field(default=True, description="A wrong final answer rejects the record.")
    rel_tol: float = Field(default=1e-4, ge=0.0, description="Relative numeric tolerance.")


class Rule(_Config):
    field: str = Field(description="Record field (dots for nesting) or 'response'.")
    must: list[str] = Field(default_factory=list, description="Regexes that must all match.")
    must_not: list[str] = Field(default_factory=list, description="Regexes that must not match.")
    veto: bool = True


class RulesCheck(CheckConfig):
    rules: list[Rule] = Field(default_factory=list)


class ConsensusCheck(CheckConfig):
    group_field: str = Field(default="group", description="Records sharing it form a group.")


class DedupCheck(CheckConfig):
    veto: bool = Field(default=True, description="Later duplicates are rejected.")
    near: float = Field(default=0.9, ge=0.0, le=1.0, description="Estimated Jaccard for near.")


class Weights(_Config):
    """Logistic weights: score = sigmoid(bias + sum_k w_k * check_k); an abstaining or
    erroring check contributes its `neutral` value instead of a score."""

    bias: float = 0.0
    weights: dict[str, float] = Field(default_factory=dict)
    neutral: dict[str, float] = Field(default_factory=dict)


# Fitted on the 2,640 GSM8K dev solutions (reference check off) by
# benchmarks/gate_auroc.py with the lexical backend (the same fit as `bondkd filter
# --calibrate`), bias moved to an even prior; docs/benchmarks.md has the grouped
# cross-validated AUROC. The model backend uses the same weights: the checks the score
# leans on (consensus, stability, self-consistency) read the same dataflow and
# conflicts in both backends.
_NEUTRAL = {"stability": 0.5, "length": 0.5, "echo": 0.1, "redundancy": 0.7,
            "self_consistency": 0.99, "grounding": 0.5, "consensus": 0.5}  # fmt: skip
SHIPPED_LEXICAL = Weights(
    bias=-5.2515,
    weights={"stability": 2.1924, "length": 0.0085, "echo": 0.1107, "redundancy": 0.8191,
             "self_consistency": 0.2039, "grounding": 0.0, "consensus": 6.1299},
    neutral=_NEUTRAL,
)  # fmt: skip
SHIPPED_MODEL = SHIPPED_LEXICAL


class GateConfig(_Config):
    backend: Backend = "lexical"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="score >= this accepts.")
    batch: int = Field(default=64, ge=1, description="Records per batch (and per flush).")
    analyze: AnalyzeConfig = Field(default_factory=lambda: AnalyzeConfig(backend="lexical"))
    stability: StabilityCheck = Field(default_factory=StabilityCheck)
    refusal: RefusalCheck = Field(default_factory=RefusalCheck)
    length: LengthCheck = Field(default_factory=LengthCheck)
    echo: EchoCheck = Field(default_factory=EchoCheck)
    redundancy: RedundancyCheck = Field(default_factory=RedundancyCheck)
    self_consistency: SelfConsistencyCheck = Field(default_factory=SelfConsistencyCheck)
    grounding: GroundingCheck = Field(default_factory=GroundingCheck)
    reference: ReferenceCheck = Field(default_factory=ReferenceCheck)
    rules: RulesCheck = Field(default_factory=RulesCheck)
    consensus: ConsensusCheck = Field(default_factory=ConsensusCheck)
    dedup: DedupCheck = Field(default_factory=DedupCheck)
    lexical: Weights = Field(default_factory=lambda: SHIPPED_LEXICAL.model_copy(deep=True))
    model: Weights = Field(default_factory=lambda: SHIPPED_MODEL.model_copy(deep=True))

    def weights(self) -> Weights:
        return self.model if self.backend == "model" else self.lexical

    def neutral(self) -> dict[str, float]:
        """Each check's pass threshold: the value an abstaining check contributes."""
        return {
            name: cfg.threshold
            for name, cfg in self.__dict__.items()
            if isinstance(cfg, CheckConfig)
        }

    def hash(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()[:16]


def load_gate_config(path: str | Path | None, **overrides: object) -> GateConfig:
    """Defaults < file < command-line overrides (``backend``, ``reference__enabled``).
    The analysis backend follows the gate's unless the file sets `[analyze] backend`."""
    data = read_config_file(path)
    backend = overrides.get("backend") or data.get("backend", "lexical")
    data.setdefault("analyze", {}).setdefault("backend", backend)
    return load_model(GateConfig, path, overrides, data)


def to_toml(data: dict, prefix: str = "") -> str:
    """A config dict as TOML (tables, scalars, lists of scalars, arrays of tables)."""
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            tables.extend((k, item) for item in v)
        elif v is not None:
            lines.append(f"{_key(k)} = {json.dumps(v, ensure_ascii=False)}")
    out = "\n".join(lines)
    for k, v in tables:
        name = f"{prefix}{_key(k)}"
        is_array = isinstance(data[k], list)
        header = f"[[{name}]]" if is_array else f"[{name}]"
        body = to_toml(v, prefix=f"{name}.")
        out += f"\n\n{header}\n{body}".rstrip() if body else ""
        if not body:
            out += f"\n\n{header}"
    return out.strip() + "\n"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else json.dumps(k)
