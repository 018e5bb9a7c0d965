"""The target structure (`bondkd structure`): what a dataset's molecules do, step by step,
as one versioned JSON document that plans are drawn from and outputs are measured against.

Every count comes from `measure.stats.DatasetStats`, the accumulator `bondkd report` and
`bondkd compare` use, and distances to a target are `measure.compare.compare_sides`: a
target and a set of molecules are compared exactly as two datasets are.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bondkd.errors import BondkdError, InputError
from bondkd.measure.compare import (
    DatasetComparison,
    DatasetSide,
    compare_sides,
    dataset_side,
    side_from_counts,
)
from bondkd.measure.stats import POSITION_BINS, DatasetStats, row_normalise
from bondkd.schema import BOND_TYPES, ROLES, MoleculeDoc

STRUCTURE_VERSION = "1.0"
KIND: Literal["bondkd-structure"] = "bondkd-structure"


class TargetStructure(BaseModel):
    """Role and bond statistics of a set of molecules. Matrices and role lists are in
    `roles` order, bond lists in `bond_types` order; distributions map a value to a count."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = STRUCTURE_VERSION
    kind: Literal["bondkd-structure"] = KIND
    source: str = Field(default="", description="The file(s) the molecules came from.")
    backends: list[str] = Field(default_factory=list, description="Analysis backends seen.")
    molecules: int = Field(ge=0, description="Molecules counted.")
    roles: list[str] = Field(default=list(ROLES), description="Row/column order.")
    bond_types: list[str] = Field(default=list(BOND_TYPES), description="Bond type order.")
    role_counts: dict[str, int] = Field(description="Steps by role.")
    start_counts: list[int] = Field(description="Role of each molecule's first step.")
    transition_counts: list[list[int]] = Field(description="counts[r][s]: role r -> role s.")
    transition_probabilities: list[list[float]] = Field(description="Rows normalised.")
    bond_counts: dict[str, int] = Field(description="Bonds by type.")
    position_bins: int = Field(default=POSITION_BINS, ge=1)
    bond_mix_by_position: dict[str, list[int]] = Field(
        description="Bonds by type and relative position of their later step (bins)."
    )
    step_counts: dict[int, int] = Field(description="Molecules by number of steps.")
    reflection_distances: dict[int, int] = Field(
        description="Reflection bonds of reflection steps by how far back they reach (steps)."
    )
    exploration_distances: dict[int, int] = Field(
        description="Exploratory bonds of exploration steps by how far back they reach."
    )

    @field_validator("schema_version")
    @classmethod
    def _version(cls, v: str) -> str:
        if v.split(".")[0] != STRUCTURE_VERSION.split(".")[0]:
            raise ValueError(f"version {v} is not readable by this bondkd ({STRUCTURE_VERSION})")
        return v

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: list[str]) -> list[str]:
        if v != list(ROLES):
            raise ValueError(f"must be {list(ROLES)}")
        return v

    @field_validator("bond_types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        if v != list(BOND_TYPES):
            raise ValueError(f"must be {list(BOND_TYPES)}")
        return v

    @field_validator("transition_counts")
    @classmethod
    def _matrix(cls, v: list[list[int]]) -> list[list[int]]:
        n = len(ROLES)
        if len(v) != n or any(len(r) != n for r in v):
            raise ValueError(f"must be {n} x {n}")
        if any(x < 0 for r in v for x in r):
            raise ValueError("counts must be >= 0")
        return v

    @field_validator("start_counts")
    @classmethod
    def _starts(cls, v: list[int]) -> list[int]:
        if len(v) != len(ROLES) or any(x < 0 for x in v):
            raise ValueError(f"must be {len(ROLES)} counts >= 0")
        return v

    @field_validator("step_counts", "reflection_distances", "exploration_distances")
    @classmethod
    def _distribution(cls, v: dict[int, int]) -> dict[int, int]:
        if any(k < 0 or c < 0 for k, c in v.items()):
            raise ValueError("values and counts must be >= 0")
        return v

    def side(self) -> DatasetSide:
        """The target as one side of a dataset comparison."""
        return side_from_counts(
            self.molecules, self.bond_counts, self.role_counts, self.transition_counts
        )


def structure_of(
    stats: DatasetStats, source: str = "", backends: Iterable[str] = ()
) -> TargetStructure:
    bins = stats.energy_n.shape[1]
    return TargetStructure(
        source=source,
        backends=sorted(set(backends)),
        molecules=stats.n,
        role_counts={r: stats.roles.get(r, 0) for r in ROLES},
        start_counts=stats.starts.tolist(),
        transition_counts=stats.transitions.tolist(),
        transition_probabilities=[
            [round(p, 6) for p in row] for row in row_normalise(stats.transitions).tolist()
        ],
        bond_counts={t: stats.bonds.get(t, 0) for t in BOND_TYPES},
        position_bins=bins,
        bond_mix_by_position={t: stats.energy_n[i].tolist() for i, t in enumerate(BOND_TYPES)},
        step_counts=_sorted(stats.step_counts),
        reflection_distances=_sorted(stats.reflection_reach),
        exploration_distances=_sorted(stats.exploration_reach),
    )


def build_structure(docs: Iterable[MoleculeDoc], source: str = "") -> TargetStructure:
    """The target structure of `docs` (one pass; a generator is fine)."""
    stats, backends = DatasetStats(), set()
    for doc in docs:
        stats.add(doc, accepted=None)
        backends.add(doc.provenance.backend)
    return structure_of(stats, source, backends)


def _sorted(counter: Counter[int]) -> dict[int, int]:
    return {k: counter[k] for k in sorted(counter)}


def distance(target: TargetStructure, docs: Iterable[MoleculeDoc]) -> DatasetComparison:
    """JS distances of `docs` to the target (a = target, b = docs), as `bondkd compare`."""
    return compare_sides(target.side(), dataset_side(docs))


def load_structure(path: str | Path) -> TargetStructure:
    """A target document, or a one-line `BondkdError` naming the file, line and field."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as e:
        raise BondkdError(f"{name}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise BondkdError(f"{name}: not valid UTF-8 (byte {e.start})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            name, e.lineno, None, f"invalid JSON: {e.msg} (column {e.colno})"
        ) from None
    if not isinstance(obj, dict) or obj.get("kind") != KIND:
        raise InputError(
            name, 1, "kind", f"not a structure document (kind {KIND!r}; `bondkd structure -o`)"
        )
    try:
        return TargetStructure.model_validate(obj)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or None
        line = _line_of(text, str(err["loc"][0])) if err["loc"] else None
        raise InputError(name, line, where, err["msg"].removeprefix("Value error, ")) from None


def _line_of(text: str, key: str) -> int | None:
    """The line where top-level `key` is written, for messages (None if not found)."""
    needle = json.dumps(key) + ":"
    for n, line in enumerate(text.splitlines(), start=1):
        if needle in line.replace('" :', '":'):
            return n
    return None
