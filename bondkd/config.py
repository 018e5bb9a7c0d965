"""One pydantic config per component, with defaults, ranges and help.

`AnalyzeConfig` nests them; `--config FILE` (TOML or JSON) overrides any field,
e.g. ``[bonds] strong = 0.85``. Unknown keys are errors, not silently ignored.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal, TypeVar

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Backend = Literal["model", "lexical"]
M = TypeVar("M", bound=BaseModel)


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SegmentConfig(_Config):
    granularity: Literal["paragraph", "sentence", "clause"] = Field(
        default="sentence",
        description="paragraph: blank lines and list items only; sentence: also sentence ends "
        "and discourse markers; clause: also commas before connectives (so/then/所以).",
    )
    min_chars: int = Field(
        default=12, ge=0, le=1000, description="Fragments shorter than this merge into a neighbour."
    )
    max_chars: int = Field(
        default=800, ge=50, description="Longer steps are cut at the best boundary inside."
    )


class AttentionConfig(_Config):
    model: str = Field(
        default="smollm2",
        description="'smollm2' (the packaged SmolLM2-135M-Instruct GGUF), an HF id or a local path.",
    )
    device: str = Field(default="cpu", description="torch device, e.g. cpu, cuda, cuda:1.")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    layers: list[int] | None = Field(
        default=None,
        description="Layer indices to read (negative from the end); None: the `depth` range.",
    )
    depth: tuple[float, float] = Field(
        default=(0.55, 0.58),
        description="Without `layers`: read layers l with lo <= l / n_layers <= hi, or the one "
        "nearest the middle when none is; (0, 1) reads all. The default reads layer 17 of "
        "SmolLM2's 30 alone: it agrees with labelled links better than layers 12-24 together "
        "(docs/benchmarks.md), and the forward stops after it.",
    )
    heads: list[int] | None = Field(default=None, description="Head indices; None: all heads.")
    receiver_heads: int | None = Field(
        default=None,
        ge=1,
        description="Keep only the k heads whose step attention is most concentrated on few "
        "earlier steps (kurtosis of vertical scores, as in Thought Anchors).",
    )
    chunk: int = Field(
        default=64,
        ge=16,
        description="Query tokens per chunk in the engine: small chunks keep the scores near the "
        "cache (docs/benchmarks.md).",
    )
    max_tokens: int = Field(
        default=4096, ge=64, description="Window length; longer traces are read in windows."
    )
    overlap: int = Field(default=1024, ge=0, description="Tokens shared by consecutive windows.")


class EmbedderConfig(_Config):
    model: str = Field(
        default="all-MiniLM-L6-v2",
        description="sentence-transformers model: the packaged all-MiniLM-L6-v2, an HF id or path.",
    )
    device: str = "cpu"
    batch_size: int = Field(default=64, ge=1)


class ComponentWeights(_Config):
    attention: float = Field(default=1.0, ge=0.0)
    semantic: float = Field(default=1.0, ge=0.0)
    coherence: float = Field(default=1.0, ge=0.0)


class EnergyConfig(_Config):
    model_weights: ComponentWeights = Field(
        default_factory=lambda: ComponentWeights(attention=1.0, semantic=1.0, coherence=2.0),
        description="Weights of the model backend (attention, MiniLM cosine, coherence).",
    )
    lexical_weights: ComponentWeights = Field(
        default_factory=lambda: ComponentWeights(attention=0.0, semantic=1.0, coherence=2.0),
        description="Weights of the lexical backend (no attention; TF-IDF char n-gram cosine).",
    )
    model_cosine: tuple[float, float] = Field(
        default=(0.1, 0.8),
        description="MiniLM cosine range mapped linearly onto [0, 1] (clipped outside).",
    )
    lexical_cosine: tuple[float, float] = Field(
        default=(0.05, 0.6),
        description="TF-IDF char n-gram cosine range mapped linearly onto [0, 1].",
    )
    local_window: int = Field(
        default=4, ge=1, description="Every step is paired with this many preceding steps."
    )
    long_range: int = Field(
        default=4, ge=0, description="Plus this many earlier steps sharing the most rare terms."
    )


class Bands(_Config):
    strong: float = Field(default=0.8, ge=0.0, le=1.0, description="strong_logic band floor.")
    reflection: float = Field(default=0.6, ge=0.0, le=1.0, description="reflection band floor.")
    exploratory: float = Field(default=0.3, ge=0.0, le=1.0, description="No bond below this.")
    deduction: float = Field(
        default=0.95,
        ge=0.0,
        le=4.0,
        description="A plain step's bond is strong_logic from this deduction score up "
        "(energy + coherence + nearness + content use; bondkd.molecule.bonds).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.exploratory <= self.reflection <= self.strong:
            raise ValueError("bands must satisfy exploratory <= reflection <= strong")
        return self


class BondConfig(_Config):
    # Calibrated by benchmarks/calibrate_bands.py (docs/benchmarks.md): strong = 25th
    # percentile of deductive links on GSM8K, reflection = 25th percentile of labelled
    # reflection links, exploratory = the seed's 0.3 (above 90% of unrelated pairs).
    model: Bands = Field(
        default_factory=lambda: Bands(
            strong=0.69, reflection=0.49, exploratory=0.3, deduction=0.95
        ),
        description="Band floors on the model backend's energy scale.",
    )
    lexical: Bands = Field(
        default_factory=lambda: Bands(
            strong=0.67, reflection=0.43, exploratory=0.3, deduction=0.95
        ),
        description="Band floors on the lexical backend's energy scale.",
    )
    max_per_step: int = Field(
        default=3, ge=1, description="Bonds kept per source step (the strongest)."
    )


class ConflictCosts(_Config):
    """Logit cost of one standing conflict, per kind (bondkd.molecule.conflicts)."""

    value_clash: float = Field(default=0.73, ge=0.0, description="Same quantity, two values.")
    calc_mismatch: float = Field(default=1.18, ge=0.0, description="Annotation vs its arithmetic.")
    answer_mismatch: float = Field(
        default=0.0, ge=0.0, description="Final answer vs the last computed result."
    )
    negation: float = Field(default=0.0, ge=0.0, description="A claim negated later.")
    check_failed: float = Field(
        default=1.18, ge=0.0, description="A claim a verifier refutes (as calc_mismatch)."
    )


class DataflowConfig(_Config):
    """Logit cost of one break in the quantity dataflow, per kind (bondkd.quantities.dataflow)."""

    unused_quantity: float = Field(
        default=1.06, ge=0.0, description="A question quantity that never reaches the answer."
    )
    dead_end: float = Field(default=0.22, ge=0.0, description="A result nothing later uses.")
    unsourced: float = Field(default=0.12, ge=0.0, description="An operand with no source.")
    implausible_answer: float = Field(
        default=3.04, ge=0.0, description="An answer more precise than the givens, or negative."
    )
    constants: list[float] = Field(
        default=[
            *(0, 1, 2, 7, 10, 12, 24, 30, 52, 60, 100, 365, 1000, 0.5, 0.25),
            *(180, 360, 3600, 3.14, 3.1416, 3.14159, 2.718, 2.71828),
        ],
        description="Numbers any reasoning may use without a source: halves and doubles, "
        "days in a week, month and year, weeks in a year, minutes, dozens, percent, "
        "degrees in a triangle and a circle, seconds in an hour, pi and e. Words and units "
        "give more where they are written (bondkd.quantities.sources).",
    )


class StabilityConfig(_Config):
    """stability = sigmoid(logit), the logit summing the terms below (bondkd.molecule.molecule).

    Defaults are fitted on the GSM8K dev solutions (benchmarks/gsm8k_auroc.py), with
    the bias set for an even prior: stability reads as the chance that the reasoning
    holds together for a trace as likely right as wrong beforehand. Refit for other data
    (bondkd.measure.stability_fit).
    """

    threshold: float = Field(default=0.5, ge=0.0, le=1.0, description="accepted iff >= this.")
    bias: float = Field(default=0.92, description="Logit of a one-step trace with no givens.")
    bond_weight: float = Field(
        default=0.0, ge=0.0, description="Logit per unit of bond term (mean strongest bond)."
    )
    step_cost: float = Field(
        default=0.38, ge=0.0, description="Logit lost per step after the first."
    )
    step_cap: int = Field(
        default=4,
        ge=0,
        description="Working steps beyond this many (plus one) add no cost: the weights were "
        "fitted on solutions of 1-8 steps.",
    )
    given_gain: float = Field(
        default=0.13, ge=0.0, description="Logit per question quantity that reaches the answer."
    )
    long_chars: int = Field(
        default=3000,
        ge=0,
        description="Reasoning at least this long (R1-style traces) is past what the step, "
        "givens and dataflow weights were fitted on (GSM8K, 1-8 steps): there only conflicts "
        "and bond energy count; the dataflow is still recorded, at no cost. Refitted on the "
        "long dev traces those weights come out 0 (benchmarks/fit_stability.py). 0: never.",
    )
    long_steps: int = Field(
        default=9,
        ge=0,
        description="Likewise for a trace with at least this many working steps (the weights "
        "were fitted on solutions of 1-8 steps). 0: never.",
    )
    conflicts: ConflictCosts = Field(default_factory=ConflictCosts)
    resolved_cost: float = Field(
        default=0.0,
        ge=0.0,
        description="Logit lost per conflict a later reflection fixes: none by default, a "
        "corrected error is the behaviour to distil (it scores as its clean twin).",
    )
    flow: DataflowConfig = Field(default_factory=DataflowConfig)
    weak_chain: int = Field(
        default=5, ge=2, description="Strong-logic chains this long with no reflection are weak."
    )


class AnalyzeConfig(_Config):
    backend: Backend = "model"
    batch: int = Field(
        default=16,
        ge=1,
        description="Traces analysed together: one embedding call and length-bucketed "
        "attention forwards per batch; input is streamed batch by batch.",
    )
    # Work is linear in a trace's length and so is memory (~130 MB per million characters
    # on the lexical backend, 350 MB at the default; benchmarks/scale.py), so one giant
    # record could exhaust a machine. The longest R1 traces are ~100,000 characters; the
    # upper limit keeps a run under 2 GB.
    max_chars: int = Field(
        default=2_000_000,
        ge=1_000,
        le=10_000_000,
        description="Traces with more characters than this (question, reasoning, answer and "
        "reference together) are not analysed: `analyze` reports a one-line error naming the "
        "file, line and field, `filter` rejects the record with that reason.",
    )
    max_attention_steps: int = Field(
        default=3_000,
        ge=10,
        le=50_000,
        description="Model backend only: traces with more steps than this are not analysed, "
        "as the attention component holds steps × steps matrices (3,000 steps: ~0.4 GB on top "
        "of the models' ~1.4 GB; 100,000 characters of R1 reasoning are ~1,700 steps).",
    )
    segment: SegmentConfig = Field(default_factory=SegmentConfig)
    attention: AttentionConfig = Field(default_factory=AttentionConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    energy: EnergyConfig = Field(default_factory=EnergyConfig)
    bonds: BondConfig = Field(default_factory=BondConfig)
    stability: StabilityConfig = Field(default_factory=StabilityConfig)

    def bands(self) -> Bands:
        return self.bonds.model if self.backend == "model" else self.bonds.lexical

    def weights(self) -> ComponentWeights:
        return self.energy.model_weights if self.backend == "model" else self.energy.lexical_weights

    def hash(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return "sha256:" + hashlib.sha256(blob).hexdigest()[:16]


class ConfigError(ValueError):
    """A config file that does not validate; the message names file and field."""


def load_config(path: str | Path | None, **overrides: object) -> AnalyzeConfig:
    return load_model(AnalyzeConfig, path, overrides)


def read_config_file(path: str | Path | None) -> dict:
    """A TOML (by suffix) or JSON config file as a dict; {} for no file."""
    if path is None:
        return {}
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        return tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{p}: cannot read config: {e}") from None


def load_model(
    cls: type[M], path: str | Path | None, overrides: dict[str, object], data: dict | None = None
) -> M:
    """Defaults < file (or `data`) < overrides. Override keys are field names, or
    ``section__field`` for a nested one; None values are ignored."""
    data = read_config_file(path) if data is None else data
    for key, value in overrides.items():
        if value is not None:
            section, _, field = key.partition("__")
            if field:
                data.setdefault(section, {})[field] = value
            else:
                data[key] = value
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"{path or '<options>'}: field '{loc}': {err['msg']}") from None
