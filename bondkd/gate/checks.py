"""The gate's checks: each a small function `(Item, config, Context) -> CheckResult`.

A check's score is in [0, 1], higher is better; it passes when score >= its
threshold. `abstain` means the check has nothing to judge (no reference, a
singleton group); a check that raises is recorded as `error` by the runner and
left out of the score. `veto=True` on a failing result rejects the record
whatever the score (refusals, domain rules, a wrong reference answer, duplicates).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from bondkd import quantities
from bondkd.gate import config as C
from bondkd.gate.index import DatasetIndex
from bondkd.molecule.molecule import Molecule
from bondkd.schema import Trace

Status = Literal["pass", "fail", "abstain", "error"]


class CheckResult(BaseModel):
    name: str
    status: Status
    score: float | None = None
    threshold: float | None = None
    evidence: list[str] = []
    veto: bool = False


@dataclass
class Item:
    """One readable record on its way through the gate."""

    line: int
    id: str
    record: dict
    trace: Trace
    molecule: Molecule
    answer: float | None  # numeric final answer, when there is one
    answer_text: str | None

    @property
    def response(self) -> str:
        return self.trace.reasoning + ("\n" + self.answer_text if self.answer_text else "")


@dataclass
class Context:
    index: DatasetIndex
    similarity: Callable[[list[str], np.ndarray], np.ndarray]  # texts, pairs (P, 2) -> (P,)
    stability_threshold: float  # the molecule's verdict threshold (AnalyzeConfig)


def _graded(name: str, score: float, cfg: C.CheckConfig, evidence: list[str], veto=False):
    ok = score >= cfg.threshold
    return CheckResult(
        name=name,
        status="pass" if ok else "fail",
        score=round(float(score), 4),
        threshold=cfg.threshold,
        evidence=evidence,
        veto=veto and not ok,
    )


def stability(item: Item, cfg: C.StabilityCheck, ctx: Context) -> CheckResult:
    d = item.molecule.doc  # the molecule's own verdict, so `analyze` and `filter` agree
    return CheckResult(
        name="stability",
        status="pass" if d.accepted else "fail",
        score=round(d.stability, 4),
        threshold=ctx.stability_threshold,
        evidence=d.reasons[:1],
    )


def refusal(item: Item, cfg: C.RefusalCheck, ctx: Context) -> CheckResult:
    hits = [m.group() for p in cfg.patterns if (m := re.search(p, item.response, re.I))]
    return _graded("refusal", 0.0 if hits else 1.0, cfg, [f"matched {h!r}" for h in hits], cfg.veto)


_TOKEN = re.compile(r"[A-Za-z0-9_']+|[\u4e00-\u9fff]")


def _length(text: str, unit: str) -> int:
    if unit == "chars":
        return len(text)
    return len(_TOKEN.findall(text))


def length(item: Item, cfg: C.LengthCheck, ctx: Context) -> CheckResult:
    n = _length(item.response, cfg.unit)
    if n < cfg.min:
        score = n / max(cfg.min, 1)
    elif n > cfg.max:
        score = cfg.max / n
    else:
        score = 1.0
    return _graded("length", score, cfg, [f"{n} {cfg.unit} (bounds {cfg.min}-{cfg.max})"])


def echo(item: Item, cfg: C.EchoCheck, ctx: Context) -> CheckResult:
    if not item.trace.question.strip():
        return CheckResult(name="echo", status="abstain", evidence=["no question"])
    cos = float(ctx.similarity([item.trace.question, item.response], np.array([[0, 1]]))[0])
    return _graded("echo", max(0.0, cos), cfg, [f"question-response cosine {cos:.3f}"])


def redundancy(item: Item, cfg: C.RedundancyCheck, ctx: Context) -> CheckResult:
    texts = [" ".join(s.text.split()).lower() for s in item.molecule.steps]
    if len(texts) < 2:
        return CheckResult(name="redundancy", status="abstain", evidence=["fewer than 2 steps"])
    redundant: set[int] = set()
    evidence = []
    where: dict[str, list[int]] = {}  # one pass: a scan per repeated text is quadratic
    for k, text in enumerate(texts):
        where.setdefault(text, []).append(k)
    for idx in where.values():
        if len(idx) >= cfg.loop:
            redundant.update(idx[1:])
            evidence.append(f"loop: step {idx[0]} repeated {len(idx)} times")
    window = 8  # near-duplicates are looked for among recent steps
    pairs = recent_pairs(len(texts), window)
    cos = ctx.similarity(texts, pairs)
    close = np.flatnonzero(cos >= cfg.near_duplicate)  # the loop below only sees these
    for (j, i), c in zip(pairs[close].tolist(), cos[close].tolist(), strict=True):
        if j not in redundant:
            redundant.add(j)
            evidence.append(f"step {j} repeats step {i} (cosine {c:.2f})")
    raw = [s.text for s in item.molecule.steps]  # as the molecule's own scans read them
    for k in range(1, len(texts)):  # no new number and nothing but echoes of the last step
        if k not in redundant and _no_information(raw[k], raw[k - 1]):
            redundant.add(k)
            evidence.append(f"step {k} adds nothing to step {k - 1}")
    return _graded("redundancy", 1 - len(redundant) / len(texts), cfg, evidence)


def recent_pairs(n: int, window: int) -> np.ndarray:
    """(P, 2) rows (j, i) for every j < n and each of its `window` predecessors i, by j
    then i: ``[(j, i) for j in range(n) for i in range(max(0, j - window), j)]``."""
    j = np.repeat(np.arange(n), np.minimum(np.arange(n), window))
    starts = np.maximum(0, np.arange(n) - window)
    first = np.concatenate([[0], np.cumsum(np.minimum(np.arange(n), window))[:-1]])
    i = starts[j] + np.arange(len(j)) - first[j]
    return np.stack([j, i], axis=1).astype(np.int64).reshape(-1, 2)


def _no_information(text: str, before: str) -> bool:
    new_terms = quantities.terms(text) - quantities.terms(before)
    return bool(text) and not new_terms and not quantities.numbers(text)


def self_consistency(item: Item, cfg: C.SelfConsistencyCheck, ctx: Context) -> CheckResult:
    standing = [c for c in item.molecule.conflicts if c.resolved_by is None]
    cost = cfg.per_conflict * len(standing)
    evidence = [f"{c.kind} (steps {c.steps}): {c.description}" for c in standing]
    fixed = len(item.molecule.conflicts) - len(standing)
    if fixed:
        evidence.append(f"{fixed} conflict(s) corrected by a later reflection")
    return _graded("self_consistency", max(0.0, 1 - cost), cfg, evidence)


def grounding(item: Item, cfg: C.GroundingCheck, ctx: Context) -> CheckResult:
    """Reads the molecule's dataflow (found once, in bondkd.quantities.dataflow): operands that come
    from neither the question, an earlier step, nor the constants; and question
    quantities that never flow into the final answer."""
    doc = item.molecule.doc
    found = [f for f in doc.dataflow if f.kind in ("unsourced", "unused_quantity")]
    if not found and not doc.givens:
        return CheckResult(name="grounding", status="abstain", evidence=["no quantities"])
    unsourced = sum(f.kind == "unsourced" for f in found)
    score = 1 - len(found) / max(1, doc.givens + unsourced)
    return _graded("grounding", max(0.0, score), cfg, [f.description for f in found])


def reference(item: Item, cfg: C.ReferenceCheck, ctx: Context) -> CheckResult:
    ref = item.trace.reference
    if not ref:
        return CheckResult(name="reference", status="abstain", evidence=["no reference"])
    if item.answer is None and item.answer_text is None:
        return _graded("reference", 0.0, cfg, ["the trace states no final answer"], cfg.veto)
    # The matcher `bondkd eval` uses too: integers exact, other values within rel_tol.
    text = item.answer_text if item.answer_text is not None else repr(item.answer)
    got = quantities.answer_of(text)
    numeric = quantities.reference_answer(ref)[1] is not None and got is not None
    numeric = numeric and got[1] is not None  # type: ignore[index]
    ok = quantities.answers_match(text, ref, cfg.rel_tol)
    verifier = (
        f"numeric (integers exact, else rel_tol {cfg.rel_tol:g})" if numeric else "exact text"
    )
    ev = [f"answer {item.answer_text!r} vs reference {ref!r}: {verifier}"]
    return _graded("reference", 1.0 if ok else 0.0, cfg, ev, cfg.veto)


def rules(item: Item, cfg: C.RulesCheck, ctx: Context) -> CheckResult:
    if not cfg.rules:
        return CheckResult(name="rules", status="abstain", evidence=["no rules configured"])
    broken, veto = [], False
    for r in cfg.rules:
        text = item.response if r.field == "response" else _field(item.record, r.field)
        for p in r.must:
            if not re.search(p, text):
                broken.append(f"{r.field} must match {p!r}")
                veto |= r.veto
        for p in r.must_not:
            if re.search(p, text):
                broken.append(f"{r.field} must not match {p!r}")
                veto |= r.veto
    total = sum(len(r.must) + len(r.must_not) for r in cfg.rules)
    return CheckResult(  # any broken rule fails, whatever the threshold
        name="rules",
        status="fail" if broken else "pass",
        score=round(1 - len(broken) / max(1, total), 4),
        threshold=1.0,
        evidence=broken,
        veto=veto,
    )


def _field(record: dict, path: str) -> str:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else value if isinstance(value, str) else str(value)


def consensus(item: Item, cfg: C.ConsensusCheck, ctx: Context) -> CheckResult:
    """The share of the group's vote weight on this record's answer, its own vote
    included. Each vote weighs the record's dataflow soundness
    (`molecule.flow_soundness`), so an answer that drops givens or comes out implausible
    counts for less, and of two disagreeing answers the sounder one scores higher."""
    others = ctx.index.others(item.line, item.record, item.trace)
    if not others:
        return CheckResult(name="consensus", status="abstain", evidence=["no other answers"])
    if item.answer is None:
        return _graded("consensus", 0.0, cfg, ["no numeric final answer"])
    mine = ctx.index.weights.get(item.line, 1.0)
    agree = [w for a, w in others if a is not None and quantities.same_value(item.answer, a)]
    total = mine + sum(w for _, w in others)
    score = (mine + sum(agree)) / total if total > 0 else 0.0
    ev = [f"{len(agree)} of {len(others)} other answers agree with {item.answer:g} "
          f"(vote weight {score:.2f} of the group's)"]  # fmt: skip
    return _graded("consensus", score, cfg, ev)


def dedup(item: Item, cfg: C.DedupCheck, ctx: Context) -> CheckResult:
    match = ctx.index.duplicate_of(item.line, cfg.near)
    if match is None:
        return CheckResult(name="dedup", status="pass", score=1.0, threshold=cfg.threshold)
    kind, line, rid, sim = match
    ev = [f"{kind} duplicate of line {line} (id {rid}, similarity {sim:.2f}); first kept"]
    return _graded("dedup", 0.0, cfg, ev, cfg.veto)


CHECKS: dict[str, Callable[[Item, Any, Context], CheckResult]] = {
    "stability": stability,
    "refusal": refusal,
    "length": length,
    "echo": echo,
    "redundancy": redundancy,
    "self_consistency": self_consistency,
    "grounding": grounding,
    "reference": reference,
    "rules": rules,
    "consensus": consensus,
    "dedup": dedup,
}
