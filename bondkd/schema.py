"""Data models shared by every stage: traces in, molecule documents out.

The same pydantic models validate input files and produce JSON output, so a
molecule written by `bondkd analyze --json` is read back by `render`, `filter`,
`targets` and `compare` without re-running any model.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.4"

BondType = Literal["strong_logic", "reflection", "exploratory"]
Role = Literal["deep_reasoning", "reflection", "exploration", "normal"]
ReflectionKind = Literal["check", "cross_check", "correction"]
BOND_TYPES: tuple[BondType, ...] = ("strong_logic", "reflection", "exploratory")
ROLES: tuple[Role, ...] = ("deep_reasoning", "reflection", "exploration", "normal")
# Joiner for pre-segmented `steps` input: spans index into the steps joined by this.
STEP_JOINER = "\n\n"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Trace(_Strict):
    """One teacher sample, whatever layout it came in."""

    id: str | None = None
    question: str = ""
    reasoning: str = Field(description="Text the step spans index into.")
    steps: list[str] | None = Field(
        default=None, description="Pre-segmented steps, kept as given (reasoning is their join)."
    )
    answer: str | None = Field(default=None, description="The trace's own final answer.")
    reference: str | None = Field(default=None, description="A known-correct answer.")
    format: str = Field(default="canonical", description="Detected or forced input layout.")
    source: str | None = Field(default=None, description="'file:line' the record came from.")


class Step(_Strict):
    index: int = Field(ge=0)
    text: str
    start: int = Field(ge=0, description="Python string offset into the reasoning text.")
    end: int = Field(ge=0, description="End offset, exclusive.")
    role: Role = "normal"
    kind: ReflectionKind | None = Field(
        default=None,
        description="For a reflection step: 'check' (it verifies an earlier step), "
        "'cross_check' (it verifies by a second method, so it also opens an alternative; "
        "schema 1.4) or 'correction' (it replaces an earlier step's claim).",
    )
    superseded_by: int | None = Field(
        default=None,
        description="The later correction step that replaces this step's claim. A superseded "
        "step is not a dead end and its conflict with the correction is not a conflict.",
    )
    redone_by: int | None = Field(
        default=None,
        description="The correction whose work stands for this step in stability's step "
        "count: a step computed from a superseded value, or a restatement of the correction "
        "right after it (schema 1.3; null before).",
    )


class Components(_Strict):
    """Each component mapped to [0, 1]; null when the backend does not compute it."""

    attention: float | None = Field(default=None, ge=0.0, le=1.0)
    semantic: float | None = Field(default=None, ge=0.0, le=1.0)
    coherence: float | None = Field(default=None, ge=0.0, le=1.0)


class Bond(_Strict):
    """Directed from the later step (`source`) to the earlier step it builds on (`target`)."""

    source: int = Field(ge=0)
    target: int = Field(ge=0)
    type: BondType
    energy: float = Field(ge=0.0, le=1.0)
    components: Components


ConflictKind = Literal[
    "value_clash",  # the same quantity asserted with two values
    "calc_mismatch",  # <<expr=value>> disagrees with the stated value
    "answer_mismatch",  # final answer disagrees with the last computed result
    "negation",  # a claim negated later
    "check_failed",  # a step's claim that a verifier refutes (a list called sorted that is not)
]


class Conflict(_Strict):
    kind: ConflictKind
    steps: list[int] = Field(description="Steps involved, earliest first.")
    description: str
    resolved_by: int | None = Field(
        default=None, description="Index of a later reflection step that corrects it."
    )
    value: float = Field(ge=0.0, description="Cost subtracted from the stability logit.")


FlowKind = Literal["unused_quantity", "dead_end", "unsourced", "implausible_answer"]
FLOW_KINDS: tuple[FlowKind, ...] = get_args(FlowKind)


class FlowIssue(_Strict):
    """A break in the quantity dataflow (bondkd.quantities.dataflow)."""

    kind: FlowKind
    step: int | None = Field(description="Step where it occurs; None for a question quantity.")
    quantity: str = Field(description="The number as written.")
    description: str
    value: float = Field(
        default=0.0, ge=0.0, description="Cost subtracted from the stability logit."
    )


class FirstError(_Strict):
    """The earliest step with an error that no later step corrects."""

    step: int = Field(ge=0)
    kind: str = Field(description="The conflict or dataflow kind that marks it.")
    description: str


class WeakPoint(_Strict):
    """A long strong-logic chain with no reflection bond into it."""

    start: int = Field(description="First step of the chain.")
    end: int = Field(description="Last step of the chain.")
    length: int
    suggestion: str


class Provenance(_Strict):
    bondkd_version: str
    backend: str
    models: dict[str, str] = Field(default_factory=dict)
    file_hashes: dict[str, str] = Field(default_factory=dict)
    config_hash: str
    source: str | None = None
    windows: int = Field(default=1, description="Attention windows the trace was read in.")
    notes: list[str] = Field(default_factory=list)


class MoleculeDoc(_Strict):
    """The versioned molecule document (`bondkd analyze --json`)."""

    schema_version: str = SCHEMA_VERSION
    id: str
    question: str = ""
    reasoning: str = ""
    answer: str | None = None
    reference: str | None = None
    steps: list[Step]
    bonds: list[Bond]
    stability: float = Field(ge=0.0, le=1.0)
    accepted: bool
    reasons: list[str]
    conflicts: list[Conflict]
    dataflow: list[FlowIssue] = Field(
        default_factory=list,
        description="Breaks in the quantity dataflow (bondkd.quantities.dataflow).",
    )
    givens: int = Field(default=0, ge=0, description="Distinct quantities in the question.")
    arithmetic: bool = Field(
        default=True,
        description="Whether the reasoning computes with numbers. When it does not, dataflow "
        "abstains: no dataflow issues are recorded and none costs stability.",
    )
    first_error: FirstError | None = Field(
        default=None,
        description="The earliest step with a conflict, failed check or dataflow break that no "
        "later step corrects; null when there is none.",
    )
    weak_points: list[WeakPoint]
    provenance: Provenance
