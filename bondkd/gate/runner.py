"""The gate on records in memory: parse, analyse, run the checks, score, decide.

    results = bondkd.gate.filter_records(records, GateConfig())   # iterator of dicts

Each result is the input record unchanged plus a ``bondkd`` block (verdict, score,
every check with its evidence, lineage). The soft score is a logistic combination
of check scores (weights per backend in the config, fitted by `calibrate`); hard
vetoes are kept apart from it: verdict = score >= threshold and no veto.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from bondkd import __version__, quantities
from bondkd.errors import json_kind
from bondkd.gate.checks import CHECKS, CheckResult, Context, Item
from bondkd.gate.config import GateConfig
from bondkd.gate.index import DatasetIndex, Entry, entry
from bondkd.molecule import molecule
from bondkd.pipeline import Analyzer, bounds_error
from bondkd.read.formats import RecordError, parse_record
from bondkd.schema import Trace

Parsed = tuple[int, dict, Trace, float | None, str | None] | tuple[int, Any, str]


def final_answer(trace: Trace) -> tuple[float | None, str | None]:
    """(value, text) of the trace's final answer: its `answer` field, else the reasoning."""
    if trace.answer:
        got = quantities.final_answer(trace.answer, loose=True)
        return (got[1] if got else None), trace.answer
    got = quantities.final_answer(trace.reasoning)
    return (got[1], got[0]) if got else (None, None)


def parse(line: int, obj: Any) -> Parsed:
    """(line, record, trace, answer, answer text), or (line, obj, reason) when unreadable."""
    if not isinstance(obj, dict):
        return line, obj, f"parse_error: expected a JSON object, got {json_kind(obj)}"
    try:
        trace = parse_record(_own(obj), default_id=f"line-{line}", source=f"line {line}")
    except RecordError as e:
        return line, obj, f"parse_error: {e}"
    value, text = final_answer(trace)
    return line, obj, trace, value, text


def _own(record: dict) -> dict:
    """The record without a `bondkd` block from an earlier run (which gets replaced)."""
    return {k: v for k, v in record.items() if k != "bondkd"}


def index_entry(p: Parsed, config: GateConfig) -> Entry | None:
    """What the first pass keeps of one parsed line (None for an unreadable one)."""
    if len(p) != 5 or bounds_error(p[2], config.analyze) is not None:  # type: ignore[misc]
        return None
    line, record, trace, value, _ = p  # type: ignore[misc]
    weight = molecule.flow_soundness(
        trace.question, trace.reasoning, trace.answer, config.analyze.stability
    )
    rid = trace.id or f"line-{line}"
    return entry(line, rid, record, trace, value, weight, config.consensus.group_field)


def build_index(entries: Iterable[Entry | None], group_field: str) -> DatasetIndex:
    """The index of `entries` (`index_entry`'s, in input order)."""
    index = DatasetIndex(group_field)
    for e in entries:
        if e is not None:
            index.insert(e)
    return index


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


class Gate:
    def __init__(self, config: GateConfig, index: DatasetIndex | None = None):
        self.config = config
        self.analyzer = Analyzer(config.analyze)
        self.index = index or DatasetIndex(config.consensus.group_field)
        self.context = Context(self.index, self._similarity, config.analyze.stability.threshold)

    def _similarity(self, texts: list[str], pairs: np.ndarray) -> np.ndarray:
        from bondkd.energy import semantic

        if self.config.backend == "lexical" or len(pairs) == 0:
            return semantic.lexical_cosine(texts, pairs)
        vectors = self.analyzer.embedder.encode(texts)
        return semantic.embedding_cosine(vectors, pairs)

    def lineage(self) -> dict:
        return {
            "config_hash": self.config.hash(),
            "bondkd_version": __version__,
            "backend": self.config.backend,
            "models": self.analyzer.model_ids(),
        }

    def run(self, batch: list[Parsed]) -> list[dict]:
        """Output records for one batch, in input order."""
        batch = [self._bounded(p) for p in batch]
        good = [p for p in batch if len(p) == 5]
        mols = iter(self.analyzer.analyze_many([p[2] for p in good]))  # type: ignore[misc]
        lineage = self.lineage()
        out = []
        for p in batch:
            if len(p) == 3:
                out.append(self._unreadable(*p, lineage))  # type: ignore[arg-type]
                continue
            line, record, trace, value, text = p  # type: ignore[misc]
            item = Item(line, trace.id or f"line-{line}", record, trace, next(mols), value, text)
            out.append(self._judge(item, lineage, replaced="bondkd" in record))
        return out

    def _bounded(self, p: Parsed) -> Parsed:
        """A record over the analysis bounds (`AnalyzeConfig.max_chars`) becomes a rejected
        one with the reason, like an unreadable line: it is never analysed or dropped."""
        if len(p) == 5 and (e := bounds_error(p[2], self.config.analyze)) is not None:  # type: ignore[misc]
            return p[0], p[1], f"too_long: {e}"
        return p

    def _unreadable(self, line: int, obj: Any, reason: str, lineage: dict) -> dict:
        block = {"id": f"line-{line}", "line": line, "verdict": "rejected", "reasons": [reason]}
        block |= lineage
        if isinstance(obj, dict):
            return {**_own(obj), "bondkd": block}
        return {"raw": obj, "bondkd": block}

    def checks(self, item: Item) -> list[CheckResult]:
        results = []
        for name, fn in CHECKS.items():
            cfg = getattr(self.config, name)
            if not cfg.enabled:
                continue
            try:
                results.append(fn(item, cfg, self.context))
            except Exception as e:  # a broken check must not reject or stop the run
                results.append(
                    CheckResult(name=name, status="error", evidence=[f"{type(e).__name__}: {e}"])
                )
        return results

    def score(self, results: list[CheckResult]) -> float:
        w = self.config.weights()
        z = w.bias
        for r in results:
            if r.name in w.weights:
                judged = r.score if r.status in ("pass", "fail") else None
                z += w.weights[r.name] * (w.neutral.get(r.name, 0.5) if judged is None else judged)
        return sigmoid(z)

    def _judge(self, item: Item, lineage: dict, replaced: bool) -> dict:
        results = self.checks(item)
        score = self.score(results)
        vetoes = [r for r in results if r.veto]
        cfg = self.config
        accepted = score >= cfg.threshold and not vetoes
        cmp = ">=" if score >= cfg.threshold else "<"
        reasons = [f"score {score:.3f} {cmp} threshold {cfg.threshold:.2f}"]
        reasons += [f"veto ({r.name}): {'; '.join(r.evidence)}" for r in vetoes]
        reasons += [
            f"{r.name} {r.status}" + (f" ({r.score:.3f} < {r.threshold:.3f})" if r.score is not None
                                      and r.threshold is not None else "")
            for r in results
            if r.status in ("fail", "error") and not r.veto
        ]  # fmt: skip
        mol = item.molecule
        block = {
            "id": item.id,
            "line": item.line,
            "score": round(score, 4),
            "stability": round(mol.stability, 4),
            "verdict": "accepted" if accepted else "rejected",
            "reasons": reasons,
            "molecule": {
                "steps": len(mol.steps),
                "bonds": mol.bond_counts(),
                "roles": mol.role_counts(),
                "accepted": mol.accepted,
                # The earliest error no later step corrects, and what corrections replaced.
                "first_error": None if (e := mol.doc.first_error) is None else e.model_dump(),
                "superseded": {
                    s.index: s.superseded_by for s in mol.steps if s.superseded_by is not None
                },
            },
            "checks": [r.model_dump() for r in results],
            **lineage,
        }
        if replaced:
            block["notes"] = ["replaced the record's existing 'bondkd' block"]
        return {**_own(item.record), "bondkd": block}


def filter_records(records: Iterable[dict], config: GateConfig | None = None) -> Iterator[dict]:
    """Gate records in memory (consensus and dedup see all of them): one output per
    record, in order. For files, `bondkd filter` streams with bounded memory."""
    config = config or GateConfig()
    parsed = [parse(n, r) for n, r in enumerate(records, start=1)]
    gate = Gate(
        config, build_index((index_entry(p, config) for p in parsed), config.consensus.group_field)
    )
    for start in range(0, len(parsed), config.batch):
        yield from gate.run(parsed[start : start + config.batch])
