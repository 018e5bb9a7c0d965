"""The reasoning molecule: graph, stability, verdict and weak points.

Stability follows the seed formula, bond energy minus logical conflicts,
normalised so traces of different lengths compare:

    bond_term = (1 / (S - 1)) * sum_{j >= 1} max_i E(j -> i)     (0 if S < 2)
    stability = clip(bond_term - sum_conflicts value, 0, 1)

`bond_term` is the mean, over the S - 1 steps that could bond, of each step's
strongest bond (0 for a step with no bond): a trace whose every step is tied to
an earlier one by a full-energy bond scores 1. Each conflict subtracts its
value (`conflict_cost`, or `resolved_cost` when a later reflection fixes it).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import networkx as nx

from bondkd.config import StabilityConfig
from bondkd.schema import BOND_TYPES, ROLES, Bond, Conflict, MoleculeDoc, Step, WeakPoint


def bond_term(n_steps: int, bonds: list[Bond]) -> float:
    if n_steps < 2:
        return 0.0
    best: dict[int, float] = {}
    for b in bonds:
        best[b.source] = max(best.get(b.source, 0.0), b.energy)
    return sum(best.values()) / (n_steps - 1)


def stability(n_steps: int, bonds: list[Bond], conflicts: list[Conflict]) -> float:
    return min(1.0, max(0.0, bond_term(n_steps, bonds) - sum(c.value for c in conflicts)))


def weak_points(n_steps: int, bonds: list[Bond], config: StabilityConfig) -> list[WeakPoint]:
    """Maximal runs of steps each tied to its predecessor by a strong_logic bond, into
    which no reflection bond points: one verification step there would stabilise it."""
    backbone = {b.source for b in bonds if b.type == "strong_logic" and b.target == b.source - 1}
    checked = {b.target for b in bonds if b.type == "reflection"}
    out: list[WeakPoint] = []
    k = 1
    while k < n_steps:
        if k not in backbone:
            k += 1
            continue
        start = k - 1
        while k < n_steps and k in backbone:
            k += 1
        end = k - 1
        length = end - start + 1
        if length >= config.weak_chain and not checked & set(range(start, end + 1)):
            out.append(
                WeakPoint(
                    start=start,
                    end=end,
                    length=length,
                    suggestion=f"add a verification step after step {end} that re-checks "
                    f"steps {start}-{end}",
                )
            )
    return out


def verdict(
    value: float, conflicts: list[Conflict], config: StabilityConfig
) -> tuple[bool, list[str]]:
    accepted = value >= config.threshold
    cmp = ">=" if accepted else "<"
    reasons = [f"stability {value:.3f} {cmp} threshold {config.threshold:.2f}"]
    standing = [c for c in conflicts if c.resolved_by is None]
    for c in standing:
        reasons.append(f"conflict ({c.kind}): {c.description}")
    fixed = len(conflicts) - len(standing)
    if fixed:
        reasons.append(f"{fixed} conflict(s) corrected by a later reflection step")
    return accepted, reasons


class Molecule:
    """A molecule document plus its networkx view. Edges point from the later step
    (source, the one that builds on or checks) to the earlier one (target)."""

    def __init__(self, doc: MoleculeDoc):
        self.doc = doc
        self._graph: nx.DiGraph | None = None

    def __repr__(self) -> str:
        d = self.doc
        return (
            f"Molecule(id={d.id!r}, steps={len(d.steps)}, bonds={len(d.bonds)}, "
            f"stability={d.stability:.3f}, accepted={d.accepted})"
        )

    @property
    def steps(self) -> list[Step]:
        return self.doc.steps

    @property
    def bonds(self) -> list[Bond]:
        return self.doc.bonds

    @property
    def stability(self) -> float:
        return self.doc.stability

    @property
    def accepted(self) -> bool:
        return self.doc.accepted

    @property
    def conflicts(self) -> list[Conflict]:
        return self.doc.conflicts

    @property
    def graph(self) -> nx.DiGraph:
        if self._graph is None:
            g = nx.DiGraph(id=self.doc.id, stability=self.doc.stability)
            for s in self.doc.steps:
                g.add_node(s.index, text=s.text, role=s.role, start=s.start, end=s.end)
            for b in self.doc.bonds:
                g.add_edge(b.source, b.target, type=b.type, energy=b.energy)
            self._graph = g
        return self._graph

    def bond_counts(self) -> dict[str, int]:
        c = Counter(b.type for b in self.doc.bonds)
        return {t: c.get(t, 0) for t in BOND_TYPES}

    def role_counts(self) -> dict[str, int]:
        c = Counter(s.role for s in self.doc.steps)
        return {r: c.get(r, 0) for r in ROLES}

    def to_dict(self) -> dict:
        return self.doc.model_dump(mode="json")

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_json(cls, data: str | bytes | dict) -> Molecule:
        if isinstance(data, dict):
            return cls(MoleculeDoc.model_validate(data))
        return cls(MoleculeDoc.model_validate_json(data))

    def to_graphml(self, path: str | Path) -> None:
        nx.write_graphml(self.graph, str(path))
