"""Behaviour plans: random walks on the target's role-transition graph, one per question.

A plan is a list of steps, each with the role the step should play and, for a reflection,
the earlier step it checks (for an exploration, the step it branches from):

1. the number of steps is drawn from the target's step-count distribution, restricted to
   [`min_steps`, `max_steps`] (a small teacher writes few steps well, not 100);
2. the first role from the target's first-step roles, each next role from the target's
   transition row of the role before (a role the target never leaves: its pooled
   next-role counts);
3. a reflection at step k checks step k - d, d drawn from the target's reflection
   distances that fit (d <= k; d = 1 when none does); an exploration branches from k - d,
   d from the exploration distances. An exploration at step 0 branches from nothing.

`sampling="iid"` draws every choice independently. `"balanced"` (default) draws each
next role with weights max(0, P[r][s] (n_r + 1) - c[r][s]), where n_r is the number of
steps after role r planned so far in the run and c[r][s] how many went to s: still a
random walk, but the run's plans together keep within len(ROLES) - 1 of the target's
expected counts in every cell, and a transition the target never makes is never planned.
Fifty plans of up to six steps are about 250 transitions: drawn independently they sit
0.093 (transition JS, mean of 20 seeds) from the QwQ-style target of the benchmark before
any teacher writes a word, balanced 0.019 (`python benchmarks/synthesis.py --plans`).

Plans depend only on the target, the seed, the config and the order of the keys, so a
re-run (or a resumed run) plans the same steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bondkd.config import _Config
from bondkd.schema import ROLES, MoleculeDoc, Role
from bondkd.synth.structure import TargetStructure

_ROLE = {r: i for i, r in enumerate(ROLES)}
# A planned reference is kept by a bond of this type from the step to its reference.
REF_BOND = {"reflection": "reflection", "exploration": "exploratory"}


class PlanConfig(_Config):
    min_steps: int = Field(default=2, ge=1, le=64, description="Fewest steps in a plan.")
    max_steps: int = Field(default=8, ge=1, le=64, description="Most steps in a plan.")
    sampling: Literal["balanced", "iid"] = Field(
        default="balanced",
        description="balanced: the run's plans together follow the target's transition "
        "counts closely; iid: every plan an independent random walk.",
    )

    @model_validator(mode="after")
    def _check(self) -> PlanConfig:
        if self.min_steps > self.max_steps:
            raise ValueError("min_steps must be <= max_steps")
        return self


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanStep(_Strict):
    role: Role
    ref: int | None = Field(
        default=None,
        description="Reflection: the earlier step it checks; exploration: the step it "
        "branches from (0-based); null otherwise.",
    )


class Plan(_Strict):
    steps: list[PlanStep]

    @property
    def roles(self) -> list[str]:
        return [s.role for s in self.steps]


class Adherence(_Strict):
    """How closely a written trace followed its plan (formula in `adherence`)."""

    score: float = Field(ge=0.0, le=1.0, description="Mean of roles and links (links if any).")
    roles: float = Field(ge=0.0, le=1.0, description="Steps with the planned role.")
    links: float | None = Field(description="Planned checks / branches found as bonds.")
    planned_steps: int
    written_steps: int


def _draw(rng: np.random.Generator, weights: np.ndarray) -> int:
    return int(rng.choice(len(weights), p=weights / weights.sum()))


class PlanSampler:
    """Draws plans one after another; `balanced` sampling remembers the run's counts."""

    def __init__(self, target: TargetStructure, cfg: PlanConfig, seed: int) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng([seed, 0x5EED])
        counts = np.asarray(target.transition_counts, dtype=float)
        pooled = counts.sum(axis=0)
        if not pooled.any():
            pooled = np.asarray(list(target.role_counts.values()), dtype=float)
        if not pooled.any():
            pooled = np.asarray([1.0 if r == "normal" else 0.0 for r in ROLES])
        # a role the target never leaves goes where steps go in general
        rows = np.where(counts.sum(axis=1, keepdims=True) > 0, counts, pooled)
        self.p = rows / rows.sum(axis=1, keepdims=True)
        starts = np.asarray(target.start_counts, dtype=float)
        self.start = starts if starts.any() else pooled
        lengths = {k: v for k, v in target.step_counts.items() if v > 0}
        fit = {k: v for k, v in lengths.items() if cfg.min_steps <= k <= cfg.max_steps}
        if not fit:  # no molecule of a usable length: the nearest bound
            mean = sum(k * v for k, v in lengths.items()) / max(1, sum(lengths.values()))
            fit = {min(cfg.max_steps, max(cfg.min_steps, round(mean) or 1)): 1}
        self.lengths = np.asarray(sorted(fit))
        self.length_w = np.asarray([fit[k] for k in self.lengths], dtype=float)
        self.reach = {
            "reflection": target.reflection_distances,
            "exploration": target.exploration_distances,
        }
        self.used = np.zeros((len(ROLES), len(ROLES)))

    def _next(self, role: int) -> int:
        if self.cfg.sampling == "iid":
            return _draw(self.rng, self.p[role])
        n = self.used[role].sum()
        want = np.maximum(self.p[role] * (n + 1) - self.used[role], 0.0)
        # the positive deficits sum to >= 1 whenever the row sums to 1; rounding aside
        return _draw(self.rng, want if want.sum() > 1e-9 else self.p[role])

    def _ref(self, role: str, k: int) -> int | None:
        if role not in self.reach or k == 0:
            return None
        fits = {d: c for d, c in self.reach[role].items() if 1 <= d <= k and c > 0}
        if not fits:
            return k - 1
        ds = sorted(fits)
        return k - ds[_draw(self.rng, np.asarray([fits[d] for d in ds], dtype=float))]

    def plan(self) -> Plan:
        n = int(self.lengths[_draw(self.rng, self.length_w)])
        first = _draw(self.rng, self.start)
        # nothing to check at step 0 (real molecules never start with a reflection)
        roles = [_ROLE["normal"] if ROLES[first] == "reflection" else first]
        for _ in range(n - 1):
            nxt = self._next(roles[-1])
            self.used[roles[-1], nxt] += 1
            roles.append(nxt)
        return Plan(
            steps=[PlanStep(role=ROLES[r], ref=self._ref(ROLES[r], k)) for k, r in enumerate(roles)]
        )


def make_plans(
    target: TargetStructure, n: int, cfg: PlanConfig | None = None, seed: int = 0
) -> list[Plan]:
    """`n` plans in order: the same target, config and seed give the same plans."""
    sampler = PlanSampler(target, cfg or PlanConfig(), seed)
    return [sampler.plan() for _ in range(n)]


def planned_transitions(plans: Sequence[Plan]) -> np.ndarray:
    """(4, 4) counts of planned role -> next planned role, in `ROLES` order."""
    out = np.zeros((len(ROLES), len(ROLES)), dtype=np.int64)
    for p in plans:
        for a, b in zip(p.steps, p.steps[1:], strict=False):
            out[_ROLE[a.role], _ROLE[b.role]] += 1
    return out


def adherence(plan: Plan, doc: MoleculeDoc) -> Adherence:
    """How closely the molecule of a written trace follows its plan, step k against
    planned step k:

        roles = #{k : role_k = planned role_k} / max(planned steps, written steps)
        links = #{planned refs k -> t with a bond k -> t of the planned type} / #{refs}
        score = (roles + links) / 2, or roles when the plan has no reference

    Missing or extra steps count as misses; links is null for a plan with no check or
    branch that refers back."""
    written = [s.role for s in doc.steps]
    planned = plan.roles
    total = max(len(planned), len(written))
    same = sum(a == b for a, b in zip(planned, written, strict=False))
    roles = same / total if total else 1.0
    bonds = {(b.source, b.target, b.type) for b in doc.bonds}
    refs = [(k, s) for k, s in enumerate(plan.steps) if s.ref is not None and s.role in REF_BOND]
    kept = sum((k, s.ref, REF_BOND[s.role]) in bonds for k, s in refs)
    links = kept / len(refs) if refs else None
    score = roles if links is None else (roles + links) / 2
    return Adherence(
        score=round(score, 6),
        roles=round(roles, 6),
        links=None if links is None else round(links, 6),
        planned_steps=len(planned),
        written_steps=len(written),
    )
