"""The reasoning molecule: graph, stability, verdict and weak points.

Stability is bond energy minus logical defects, on a logit scale so that it reads as
a probability that the reasoning holds together:

    logit = bias + bond_weight * bond_term
            - step_cost * min(step_cap, working steps - 1)
            + given_gain * (question quantities that reach the answer)
            - Σ_kind cost_kind * (standing conflicts of that kind) - resolved_cost * (resolved)
            - Σ_kind cost_kind * (dataflow breaks of that kind)
    stability = sigmoid(logit)

Past the fitted range (`long_steps` working steps or `long_chars` characters: R1/QwQ
traces, BIG-Bench CoT) the step, givens and dataflow terms are 0: their weights were fitted
on GSM8K solutions of 1-8 steps, and refitted on long dev traces they come out 0
(benchmarks/fit_stability.py). The dataflow is still recorded there, at no cost.

    bond_term = (1 / (S - 1)) * sum_{j >= 1} max_i E(j -> i)     (0 if S < 2)

`bond_term` is the mean, over the S - 1 steps that could bond, of each step's strongest
bond. Working steps exclude reflection and exploration steps and the steps whose work a
correction stands for (`Step.redone_by`, bondkd.molecule.replaced), so that a
corrected trace counts the steps of its clean twin. The step term stops growing at
`step_cap`. Conflicts come from bondkd.molecule.conflicts, dataflow breaks (a question
quantity that never reaches the answer, a dead-end result, an unsourced operand, an
implausible answer) from bondkd.quantities.dataflow; each records its cost. The default weights
are fitted on the GSM8K dev solutions with folds grouped by question
(bondkd.measure.stability_fit via benchmarks/gsm8k_auroc.py; docs/benchmarks.md).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import networkx as nx

from bondkd.config import ConflictCosts, StabilityConfig
from bondkd.quantities import dataflow
from bondkd.schema import (
    BOND_TYPES,
    FLOW_KINDS,
    ROLES,
    Bond,
    Conflict,
    FlowIssue,
    MoleculeDoc,
    Step,
    WeakPoint,
)


def bond_term(n_steps: int, bonds: list[Bond]) -> float:
    if n_steps < 2:
        return 0.0
    best: dict[int, float] = {}
    for b in bonds:
        best[b.source] = max(best.get(b.source, 0.0), b.energy)
    return sum(best.values()) / (n_steps - 1)


# Checking and exploring are not more chances to go wrong: they do not count as steps.
UNCOUNTED_ROLES = ("reflection", "exploration")


def stability_features(
    roles: Sequence[str],
    bonds: list[Bond],
    conflicts: list[Conflict],
    flow: list[FlowIssue],
    givens: int,
    config: StabilityConfig,
    redone: Sequence[bool] = (),
    chars: int = 0,
) -> dict[str, float]:
    """The counts the stability logit is linear in, by name (`signed_weights` pairs each
    with its weight). `roles`: one per step; `redone`: whether a correction's work stands
    for the step (`Step.redone_by`); `chars`: the reasoning's length (a long trace counts
    conflicts and bonds only, `StabilityConfig.long_chars`)."""
    working = working_steps(roles, redone)
    out = {
        "bond_term": bond_term(len(roles), bonds),
        "steps": float(min(config.step_cap, max(0, working - 1))),
        "givens_reached": float(max(0, givens - sum(f.kind == "unused_quantity" for f in flow))),
        "resolved": float(sum(c.resolved_by is not None for c in conflicts)),
    }
    for kind in ConflictCosts.model_fields:
        out[f"conflicts.{kind}"] = float(
            sum(c.kind == kind and c.resolved_by is None for c in conflicts)
        )
    for kind in FLOW_KINDS:
        out[f"flow.{kind}"] = float(sum(f.kind == kind for f in flow))
    if past_fit(working, chars, config):
        out |= {k: 0.0 for k in out if k in ("steps", "givens_reached") or k.startswith("flow.")}
    return out


def working_steps(roles: Sequence[str], redone: Sequence[bool] = ()) -> int:
    gone = list(redone) or [False] * len(roles)
    return sum(r not in UNCOUNTED_ROLES and not g for r, g in zip(roles, gone, strict=True))


def past_fit(working: int, chars: int, config: StabilityConfig) -> bool:
    """Whether a trace is longer than the solutions the step, givens and dataflow weights
    were fitted on (`long_steps` working steps or `long_chars` characters)."""
    return 0 < config.long_chars <= chars or 0 < config.long_steps <= working


def doc_features(doc: MoleculeDoc, config: StabilityConfig) -> dict[str, float]:
    old = tuple(int(x) for x in doc.schema_version.split(".")[:2]) < (1, 3)
    return stability_features(
        [s.role for s in doc.steps],
        doc.bonds,
        doc.conflicts,
        doc.dataflow,
        doc.givens,
        config,
        # Before schema 1.3 the superseded steps were the ones left out.
        [(s.superseded_by if old else s.redone_by) is not None for s in doc.steps],
        len(doc.reasoning),
    )


def signed_weights(config: StabilityConfig) -> dict[str, float]:
    """Weight of each `stability_features` entry in the logit (costs negative)."""
    out = {
        "bond_term": config.bond_weight,
        "steps": -config.step_cost,
        "givens_reached": config.given_gain,
        "resolved": -config.resolved_cost,
    }
    out |= {f"conflicts.{k}": -getattr(config.conflicts, k) for k in ConflictCosts.model_fields}
    out |= {f"flow.{k}": -getattr(config.flow, k) for k in FLOW_KINDS}
    return out


def stability(features: dict[str, float], config: StabilityConfig) -> float:
    """sigmoid(bias + Σ weight · feature)."""
    w = signed_weights(config)
    return _sigmoid(config.bias + sum(w[k] * v for k, v in features.items()))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def flow_soundness(
    question: str, reasoning: str, answer: str | None, config: StabilityConfig
) -> float:
    """Stability's dataflow terms alone, read on the whole reasoning as one step. Needs
    no segmentation or energies, so the gate's first pass can afford it for every
    record (it weights each answer's vote in the consensus check). Past the fitted range,
    or on reasoning that does not compute, the dataflow counts for nothing: not read."""
    flow = (
        []
        if past_fit(0, len(reasoning), config) or not dataflow.is_arithmetic(question, [reasoning])
        else dataflow.find_flow_issues(question, [reasoning], answer, config.flow)
    )
    feats = stability_features(
        [], [], [], flow, dataflow.givens(question), config, chars=len(reasoning)
    )
    return stability(feats, config)


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
    value: float, conflicts: list[Conflict], flow: list[FlowIssue], config: StabilityConfig
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
    reasons += [f"dataflow ({f.kind}): {f.description}" for f in flow if f.value > 0]
    if flow and all(f.value == 0 for f in flow):
        reasons.append(f"{len(flow)} dataflow break(s) recorded at no cost (long trace)")
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
