"""The output models of `bondkd eval`: one row per question (`--rows`), one summary
(`--json`). The same models feed the terminal table and the HTML page, so the three
outputs cannot disagree."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bondkd.measure.compare import DatasetComparison

EVAL_SCHEMA = "bondkd.eval/1"
Outcome = Literal["win", "tie", "loss"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SideAnswer(_Model):
    """One model's reply to one question."""

    text: str | None = Field(description="The reply as received; null when the call failed.")
    reasoning: str | None = Field(description="Reasoning parsed from a compliant reply.")
    answer: str | None = Field(description="The final answer scored (see `answer_source`).")
    value: float | None = Field(description="Its numeric value, when it has one.")
    answer_source: Literal["parsed", "fallback", "none"] = Field(
        description="parsed: from a format-compliant reply; fallback: a final answer found "
        "in a non-compliant reply; none: no answer."
    )
    correct: bool = Field(description="The answer matches the reference.")
    compliant: bool = Field(description="The reply follows the requested format.")
    format_error: str | None = Field(description="Why the reply does not follow the format.")
    error: str | None = Field(description="Why the call failed (after retries); null if not.")
    latency_s: float | None = Field(description="Wall time of the call; null if it failed.")
    usage: dict[str, int] = Field(default_factory=dict, description="Token counts reported.")
    cached: bool = Field(default=False, description="Served from the request cache.")


class EvalRow(_Model):
    id: str
    line: int = Field(description="Line of the question in the questions file.")
    question: str
    reference: str = Field(description="The reference answer (GSM8K: the text after ####).")
    reference_value: float | None
    student: SideAnswer
    teacher: SideAnswer
    outcome: Outcome = Field(description="Student against teacher; right/right, wrong/wrong tie.")


class SideSummary(_Model):
    spec: str = Field(description="The model spec as given (local, URL, path, HF id).")
    id: str = Field(description="The backend's id (no credentials).")
    n: int = Field(description="Questions asked.")
    correct: int
    accuracy: float | None = Field(description="correct / n.")
    compliant: int
    format_compliance: float | None = Field(description="compliant / n.")
    errors: int = Field(description="Calls that failed after retries (counted wrong).")
    median_latency_s: float | None = Field(description="Median over calls that returned.")
    mean_completion_tokens: float | None = Field(description="Mean over calls reporting usage.")
    usage: dict[str, int] = Field(description="Token counts summed over all calls.")


class Outcomes(_Model):
    win: int = Field(description="Student right, teacher wrong.")
    tie: int = Field(description="Both right or both wrong.")
    loss: int = Field(description="Student wrong, teacher right.")
    win_rate: float | None
    tie_rate: float | None
    loss_rate: float | None


class CostSummary(_Model):
    calls_per_month: int
    student_cost_per_call: float | None
    teacher_cost_per_call: float | None
    student_monthly: float | None = Field(description="calls_per_month * student cost.")
    teacher_monthly: float | None = Field(description="calls_per_month * teacher cost.")
    monthly_saving: float | None = Field(description="teacher_monthly - student_monthly.")
    annual_saving: float | None = Field(description="12 * monthly_saving.")
    distill_cost: float | None
    break_even_months: float | None = Field(
        description="distill_cost / monthly_saving; null when the saving is <= 0 or unknown."
    )


class Structure(_Model):
    backend: str = Field(description="Analysis backend of the molecules.")
    teacher_traces: int = Field(description="Teacher replies analysed (reference side, a).")
    student_traces: int = Field(description="Student replies analysed (side b).")
    comparison: DatasetComparison | None = Field(description="Null when a side has no trace.")
    note: str | None = None


class EvalResult(_Model):
    schema_version: str = EVAL_SCHEMA
    questions_file: str
    n: int = Field(description="Questions evaluated.")
    student: SideSummary
    teacher: SideSummary
    retention: float | None = Field(description="student accuracy / teacher accuracy.")
    outcomes: Outcomes
    cost: CostSummary
    structure: Structure | None = Field(description="Null with structure = false.")
    config: dict[str, Any] = Field(description="The resolved EvalConfig.")
    wall_s: float = Field(description="Wall time of the whole run.")
