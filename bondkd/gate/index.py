"""The whole-file index behind consensus and dedup, built in a first streaming pass.

Per record it keeps a few numbers, not the text: the group key, final answer and the
weight of its vote (`molecule.flow_soundness`; question hash -> answers, for consensus)
and a fingerprint of question + response (SHA-1 for exact duplicates, a 32-value
MinHash over character 5-grams for near duplicates, bucketed 8 bands x 4 rows so
candidates are found without comparing every pair). `--resume` rebuilds it from the input: it is derived, never stored.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from typing import NamedTuple

import numpy as np

from bondkd.schema import Trace

_K, _BANDS = 32, 8
_ROWS = _K // _BANDS
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20261123)  # fixed: fingerprints are stable across runs
_A = _rng.integers(1, _PRIME, _K, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, _K, dtype=np.uint64)


_BLANKS = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _BLANKS.sub(" ", text).strip().lower()


def minhash(text: str) -> np.ndarray:
    """(K,) uint64 MinHash of the character 5-grams of `text` (already normalised)."""
    grams = {text[i : i + 5] for i in range(max(1, len(text) - 4))}
    x = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))
    # (a * x + b) mod p with uint64 wrap-around is a fine hash family for this purpose.
    return ((_A[:, None] * x[None, :] + _B[:, None]) % np.uint64(_PRIME)).min(axis=1)


def group_key(record: dict, trace: Trace, group_field: str) -> str | None:
    g = record.get(group_field)
    if isinstance(g, str | int) and not isinstance(g, bool):
        return f"group:{g}"
    q = normalise(trace.question)
    return "q:" + hashlib.sha1(q.encode()).hexdigest() if q else None


class Entry(NamedTuple):
    """What the index keeps of one record; computed apart from the index (in a worker)."""

    line: int
    rid: str
    key: str | None  # consensus group
    answer: float | None
    weight: float  # vote weight
    digest: str  # SHA-1 of the normalised text: exact duplicates
    sig: np.ndarray  # (K,) MinHash: near duplicates


def entry(
    line: int,
    rid: str,
    record: dict,
    trace: Trace,
    answer: float | None,
    weight: float = 1.0,
    group_field: str = "group",
) -> Entry:
    text = normalise(trace.question + "\n" + trace.reasoning + "\n" + (trace.answer or ""))
    key = group_key(record, trace, group_field)
    digest = hashlib.sha1(text.encode()).hexdigest()
    return Entry(line, rid, key, answer, weight, digest, minhash(text))


class DatasetIndex:
    def __init__(self, group_field: str = "group") -> None:
        self.group_field = group_field
        self.groups: dict[str, list[tuple[int, float | None, float]]] = {}
        self.weights: dict[int, float] = {}
        self._exact: dict[str, tuple[int, str]] = {}
        self._line_exact: dict[int, str] = {}
        self._buckets: dict[tuple[int, bytes], int] = {}
        self._sigs: dict[int, np.ndarray] = {}
        self._ids: dict[int, str] = {}

    def insert(self, e: Entry) -> None:
        """Add one record; records go in input order (the first of duplicates is kept)."""
        self.weights[e.line] = e.weight
        if e.key is not None:
            self.groups.setdefault(e.key, []).append((e.line, e.answer, e.weight))
        self._exact.setdefault(e.digest, (e.line, e.rid))
        self._line_exact[e.line] = e.digest
        self._sigs[e.line] = e.sig
        self._ids[e.line] = e.rid
        for b in range(_BANDS):
            self._buckets.setdefault((b, e.sig[b * _ROWS : (b + 1) * _ROWS].tobytes()), e.line)

    def others(self, line: int, record: dict, trace: Trace) -> list[tuple[float | None, float]]:
        """(final answer, vote weight) of the other records in this record's group. Exact
        copies (of this record or of each other) count once: a duplicate is not a second
        opinion."""
        key = group_key(record, trace, self.group_field)
        mine = self._line_exact.get(line)
        return [
            (a, w)
            for ln, a, w in (self.groups.get(key, []) if key else [])
            if ln != line
            and self._line_exact.get(ln) != mine
            and self._exact[self._line_exact[ln]][0] == ln
        ]

    def duplicate_of(self, line: int, near: float) -> tuple[str, int, str, float] | None:
        """(kind, line, id, similarity) of the first earlier record this one duplicates."""
        first = self._exact.get(self._line_exact.get(line, ""))
        if first is not None and first[0] < line:
            return "exact", first[0], first[1], 1.0
        sig = self._sigs.get(line)
        if sig is None:
            return None
        best: tuple[str, int, str, float] | None = None
        for b in range(_BANDS):
            cand = self._buckets.get((b, sig[b * _ROWS : (b + 1) * _ROWS].tobytes()))
            if cand is not None and cand < line:
                sim = float(np.mean(self._sigs[cand] == sig))
                if sim >= near and (best is None or cand < best[1]):
                    best = ("near", cand, self._ids[cand], sim)
        return best
