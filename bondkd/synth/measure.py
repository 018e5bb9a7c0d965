"""How close datasets came to a target structure (`bondkd structure FILE... --target T`):
the JS distances of `bondkd compare` (target = side a), answer accuracy against the
records' references, and the mean plan-following score of guided traces.

The page (`--html`) and the plots (`--png`) show the transition matrices of the target
and of each dataset side by side.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from bondkd.errors import InputError, write_error
from bondkd.measure.compare import compare_sides, side_of
from bondkd.measure.stats import DatasetStats
from bondkd.quantities import answers_match
from bondkd.read.files import iter_records
from bondkd.schema import MoleculeDoc
from bondkd.synth.structure import TargetStructure


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetMeasure(_Model):
    source: str = Field(description="The file measured.")
    molecules: int
    transition_js: float = Field(description="JS distance of role transitions to the target.")
    bond_type_js: float = Field(description="JS distance of the bond-type mix to the target.")
    role_js: float = Field(description="JS distance of the step-role mix to the target.")
    transition_row_js: dict[str, float | None]
    transition_counts: list[list[int]]
    with_reference: int = Field(description="Traces with an answer check (a reference).")
    correct: int = Field(description="Of those, answers matching the reference.")
    accuracy: float | None = Field(description="correct / with_reference; null when none.")
    plan_following: float | None = Field(description="Mean plan-following score, if any.")
    planned: int = Field(description="Traces that carry a plan-following score.")


class StructureMeasure(_Model):
    target: str
    target_molecules: int
    target_transition_counts: list[list[int]]
    datasets: list[DatasetMeasure]


def measure(
    target: TargetStructure,
    docs: Iterable[MoleculeDoc],
    source: str = "",
    plan_scores: Sequence[float] = (),
) -> DatasetMeasure:
    stats = DatasetStats()
    checked = correct = 0
    for doc in docs:
        stats.add(doc, accepted=None)
        if doc.reference is not None and doc.reference.strip():
            checked += 1
            correct += answers_match(doc.answer, doc.reference)
    cmp = compare_sides(target.side(), side_of(stats))
    return DatasetMeasure(
        source=source,
        molecules=stats.n,
        transition_js=round(cmp.transition_js, 6),
        bond_type_js=round(cmp.bond_type_js, 6),
        role_js=round(cmp.role_js, 6),
        transition_row_js={
            k: None if v is None else round(v, 6) for k, v in cmp.transition_row_js.items()
        },
        transition_counts=stats.transitions.tolist(),
        with_reference=checked,
        correct=correct,
        accuracy=correct / checked if checked else None,
        plan_following=float(np.mean(plan_scores)) if len(plan_scores) else None,
        planned=len(plan_scores),
    )


def plan_scores(path: str) -> list[float]:
    """The plan-following scores in the lineage of a generated file's records (none for a
    file of molecule documents or of unguided traces)."""

    def score(obj: object, **_: object) -> float | None:
        lin = obj.get("lineage") if isinstance(obj, dict) else None
        got = lin.get("plan_following") if isinstance(lin, dict) else None
        value = got.get("score") if isinstance(got, dict) else None
        return float(value) if isinstance(value, int | float) else None

    if path == "-":
        return []
    out = []
    for _line, item in iter_records(path, score):
        if not isinstance(item, InputError) and item is not None:
            out.append(item)
    return out


def table(result: StructureMeasure) -> str:
    """The terminal table: one line per dataset."""

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    head = f"{'file':<28} {'traces':>6} {'trans JS':>8} {'bond JS':>8} {'role JS':>8} {'accuracy':>12} {'plan':>6}"
    lines = [f"target {result.target} ({result.target_molecules} molecules)", head]
    for d in result.datasets:
        acc = f"{d.correct}/{d.with_reference}" if d.with_reference else "-"
        lines.append(
            f"{Path(d.source).name[:28]:<28} {d.molecules:>6} {f(d.transition_js):>8} "
            f"{f(d.bond_type_js):>8} {f(d.role_js):>8} {acc:>12} {f(d.plan_following):>6}"
        )
    return "\n".join(lines)


def panels(result: StructureMeasure) -> list[tuple[str, np.ndarray]]:
    out = [(f"target ({result.target_molecules})", np.asarray(result.target_transition_counts))]
    for d in result.datasets:
        title = f"{Path(d.source).name} (JS {d.transition_js:.3f})"
        out.append((title, np.asarray(d.transition_counts)))
    return out


def write_outputs(
    result: StructureMeasure,
    json_out: Path | None = None,
    html_out: Path | None = None,
    png_dir: Path | None = None,
) -> None:
    """The measurement as JSON, as a page with the transition plot, and the plot as PNG.
    The paths are temporary files the caller renames into place (`errors.output_path`)."""
    from bondkd.views.html import page
    from bondkd.views.plots import svg, transition_panels, write_pngs

    if json_out is not None:
        json_out.write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if html_out is None and png_dir is None:
        return
    fig = transition_panels(panels(result))
    if html_out is not None:
        html = page(
            "structure.html",
            scripts=[],
            data=json.loads(result.model_dump_json()),
            title=f"Structure vs {Path(result.target).name}",
            result=result,
            figure=svg(fig),
        )
        html_out.write_text(html, encoding="utf-8")
    if png_dir is not None:
        try:
            write_pngs({"role_transitions_vs_target": fig}, png_dir)
        except OSError as e:
            raise write_error(png_dir, e) from None
