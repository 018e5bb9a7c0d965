"""Teacher targets: each trace's molecule computed once and stored for training.

`build_targets` runs the analyzer once per trace (batched) and yields `TeacherTarget`s;
`TargetWriter` streams them into a directory and `TargetReader` reads them back lazily,
so training never loads the teacher models.

Directory format (``format_version`` 1)::

    meta.json          written last, on close: {"format": "bondkd-targets",
                       "format_version", "schema_version", "bondkd_version", "backend",
                       "models", "config_hash", "config", "bond_codes", "count", "shards",
                       "shard_size", "complete", ...extra}. No meta.json: not a (finished)
                       targets directory.
    index.jsonl        one line per trace, in input order: {"id", "question", "text", "S",
                       "P", "shard", "step_offset", "pair_offset", "stability", "accepted",
                       "attention"}; `text` is the reasoning the spans index into,
                       `attention` says whether the trace has an attention component.
    shard-NNNNN.npz    uncompressed npz holding the traces of up to `shard_size` index lines,
                       concatenated: spans (ΣS, 2) int64 char offsets; pairs (ΣP, 2) int32
                       local step indices (j, i), i < j; energy (ΣP,) float32; attention
                       (ΣP,) float32 (NaN: no attention component); bond_types (ΣP,) int8.
                       A trace owns rows [step_offset, step_offset + S) and
                       [pair_offset, pair_offset + P).

Only the candidate pairs of the analyzer are stored (O(S) per trace: every step pairs
with a few predecessors, so dense S×S matrices would be almost all zeros); the reader
rebuilds the dense matrices. Floats are float32, which holds the bond energies (rounded
to 6 decimals in the molecule document) to within 1e-6.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bondkd import __version__
from bondkd.errors import BondkdError, write_error
from bondkd.schema import BOND_TYPES, SCHEMA_VERSION, MoleculeDoc, Trace

if TYPE_CHECKING:  # the pipeline pulls in the energy stack; readers do not need it
    from bondkd.pipeline import Analyzer, TraceEnergies

FORMAT, FORMAT_VERSION = "bondkd-targets", 1
# Same codes as bondkd.distill.loss.BOND_CODES (1..3 in BOND_TYPES order), defined here so that
# reading targets does not import torch.
BOND_CODES: dict[str, int] = {"none": 0, **{t: k for k, t in enumerate(BOND_TYPES, start=1)}}
# Shard arrays and their stored dtypes (float32: bond energies survive to within 1e-6).
_DTYPES = dict(spans=np.int64, pairs=np.int32, energy=np.float32)
_DTYPES |= dict(attention=np.float32, bond_types=np.int8)


@dataclass(eq=False)  # numpy fields: compare arrays explicitly
class TeacherTarget:
    """One trace's teacher signal. Matrices are indexed [j, i] with j the later step;
    only candidate pairs (`pairs`, rows (j, i), i < j) can be non-zero, so the upper
    triangle and diagonal are 0. `energy` is the analyzer's combined pair energy (a bond's
    energy is exactly this value, rounded to 6 decimals); `attention` is that pair's
    attention component alone, NaN where the teacher had none for the pair (steps never in
    one attention window), and None for backends without attention (lexical)."""

    id: str
    text: str
    question: str
    spans: np.ndarray  # (S, 2) int64
    pairs: np.ndarray  # (P, 2) int64
    energy: np.ndarray  # (S, S) float32
    attention: np.ndarray | None  # (S, S) float32
    bond_types: np.ndarray  # (S, S) int8, codes of BOND_CODES
    stability: float
    accepted: bool

    @property
    def n_steps(self) -> int:
        return len(self.spans)


def _dense(s: int, pairs: np.ndarray, values: np.ndarray, dtype: Any) -> np.ndarray:
    m = np.zeros((s, s), dtype)
    m[pairs[:, 0], pairs[:, 1]] = values
    return m


def _target(doc: MoleculeDoc, te: TraceEnergies) -> TeacherTarget:
    s, pe = len(doc.steps), te.energy
    pairs = np.asarray(pe.pairs, dtype=np.int64).reshape(-1, 2)
    att = pe.components.get("attention")
    types = np.zeros((s, s), np.int8)
    for b in doc.bonds:
        types[b.source, b.target] = BOND_CODES[b.type]
    return TeacherTarget(
        id=doc.id,
        text=doc.reasoning,
        question=doc.question,
        spans=np.array([(st.start, st.end) for st in doc.steps], np.int64).reshape(-1, 2),
        pairs=pairs,
        energy=_dense(s, pairs, pe.energy, np.float32),
        attention=None if att is None else _dense(s, pairs, att, np.float32),
        bond_types=types,
        stability=doc.stability,
        accepted=doc.accepted,
    )


def build_targets(traces: Iterable[Trace], analyzer: Analyzer) -> Iterator[TeacherTarget]:
    """Targets in input order, `analyzer.config.batch` traces at a time. Each batch is
    analysed once: the pair energies feed both the molecule (bond types, stability) and
    the energy matrices, as `Analyzer.analyze_many` does with them."""
    it = iter(traces)
    while chunk := list(islice(it, analyzer.config.batch)):
        for trace, te in zip(chunk, analyzer.energies_many(chunk), strict=True):
            yield _target(analyzer._assemble(trace, te, {}).doc, te)


def _write_atomic(path: Path, write: Any) -> None:
    # A killed run leaves a stray .tmp, never a half-written file under the real name.
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except OSError as e:  # a full disk, a directory gone read-only: one line, no traceback
        tmp.unlink(missing_ok=True)
        raise write_error(path, e) from None


class TargetWriter:
    """``with TargetWriter(out_dir, analyzer) as w: w.write(t)``. Memory holds one shard;
    each full shard is saved, then its index lines appended (the index never names a shard
    that is not on disk). meta.json is written on close, with ``complete`` false when the
    block raised (what was written stays readable). `extra_meta` goes into meta.json."""

    def __init__(
        self,
        out_dir: str | Path,
        analyzer: Analyzer | None = None,
        *,
        shard_size: int = 1024,
        overwrite: bool = False,
        extra_meta: dict[str, Any] | None = None,
    ):
        if shard_size < 1:
            raise ValueError("shard_size must be >= 1")
        self.dir, self.analyzer, self.shard_size = Path(out_dir), analyzer, shard_size
        self.extra_meta = extra_meta or {}
        self.count = self.shards = 0
        self._pending: list[TeacherTarget] = []
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            if any(self.dir.iterdir()) and not overwrite:
                raise BondkdError(f"{self.dir}: directory is not empty (use overwrite)")
            for p in self.dir.iterdir():  # overwrite: only what a targets run writes
                if p.name in ("meta.json", "index.jsonl") or p.name.startswith("shard-"):
                    p.unlink()
            (self.dir / "index.jsonl").touch()  # an empty run is a valid, empty target set
        except OSError as e:
            raise BondkdError(f"{self.dir}: cannot write targets: {e.strerror or e}") from None

    def __enter__(self) -> TargetWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(complete=exc_type is None)

    def write(self, target: TeacherTarget) -> None:
        s, p = target.n_steps, target.pairs
        off = np.ones((s, s), bool)
        off[p[:, 0], p[:, 1]] = False
        mats = [target.energy, target.bond_types, target.attention]
        if any(m[off].any() for m in mats if m is not None):
            # Only candidate pairs are stored: anything else would be silently lost.
            raise ValueError(f"{target.id}: a value off the candidate pairs would be lost")
        self._pending.append(target)
        self.count += 1
        if len(self._pending) >= self.shard_size:
            self._flush()

    def write_all(self, targets: Iterable[TeacherTarget]) -> int:
        for t in targets:
            self.write(t)
        return self.count

    def _flush(self) -> None:
        if not self._pending:
            return
        parts, lines, n_steps, n_pairs = [], [], 0, 0
        for t in self._pending:
            j, i = t.pairs[:, 0], t.pairs[:, 1]
            att = np.full(len(j), np.nan) if t.attention is None else t.attention[j, i]
            parts.append((t.spans, t.pairs, t.energy[j, i], att, t.bond_types[j, i]))
            entry = {
                **{"id": t.id, "question": t.question, "text": t.text, "S": t.n_steps},
                **{"P": len(j), "shard": self.shards, "step_offset": n_steps},
                **{"pair_offset": n_pairs, "stability": t.stability, "accepted": t.accepted},
                "attention": t.attention is not None,
            }
            lines.append(json.dumps(entry, ensure_ascii=False) + "\n")
            n_steps, n_pairs = n_steps + t.n_steps, n_pairs + len(j)
        arrays: dict[str, Any] = {
            name: np.concatenate([p[c] for p in parts]).astype(_DTYPES[name])
            for c, name in enumerate(_DTYPES)
        }
        _write_atomic(self.dir / f"shard-{self.shards:05d}.npz", lambda fh: np.savez(fh, **arrays))
        try:
            with open(self.dir / "index.jsonl", "a", encoding="utf-8") as fh:
                fh.writelines(lines)
        except OSError as e:
            raise write_error(self.dir / "index.jsonl", e) from None
        self.shards += 1
        self._pending = []

    def close(self, complete: bool = True) -> None:
        self._flush()
        a = self.analyzer
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION}
        meta |= {"schema_version": SCHEMA_VERSION, "bondkd_version": __version__}
        if a is not None:
            meta |= {"backend": a.config.backend, "models": a.model_ids()}
            meta |= {"config_hash": a.config.hash(), "config": a.config.model_dump(mode="json")}
        meta |= {"bond_codes": BOND_CODES, "count": self.count, "shards": self.shards}
        meta |= {"shard_size": self.shard_size, "complete": complete, **self.extra_meta}
        blob = json.dumps(meta, indent=1, ensure_ascii=False).encode()
        _write_atomic(self.dir / "meta.json", lambda fh: fh.write(blob))


class TargetReader:
    """Random access to a targets directory: ``len(r)``, ``r[k]``, ``iter(r)``,
    ``r.by_id(id)``. Only byte offsets of index lines stay in memory; the last shard used
    is cached, so reading in order loads each shard once. Raises BondkdError when the
    directory is missing, incomplete or corrupt."""

    def __init__(self, path: str | Path):
        self.dir = Path(path)
        if not self.dir.is_dir():
            raise BondkdError(f"{self.dir}: no such targets directory")
        if not (self.dir / "meta.json").is_file():
            raise BondkdError(f"{self.dir}: no meta.json (not targets, or the run did not finish)")
        self.meta = self._json((self.dir / "meta.json").read_bytes, "meta.json")
        if not isinstance(self.meta, dict) or self.meta.get("format") != FORMAT:
            raise BondkdError(f"{self.dir}/meta.json: not a bondkd targets file")
        if (got := self.meta.get("format_version")) != FORMAT_VERSION:
            raise BondkdError(f"{self.dir}: targets format {got}, bondkd reads {FORMAT_VERSION}")
        self._offsets: list[int] = []
        try:
            with open(self.dir / "index.jsonl", "rb") as fh:
                pos = 0
                for line in fh:
                    self._offsets.append(pos)
                    pos += len(line)
        except OSError as e:
            raise BondkdError(f"{self.dir}/index.jsonl: cannot read: {e.strerror or e}") from None
        if len(self._offsets) != self.meta.get("count"):
            raise BondkdError(
                f"{self.dir}: index.jsonl has {len(self._offsets)} lines, meta.json says "
                f"{self.meta.get('count')} (truncated or corrupt)"
            )
        self._ids: dict[str, int] | None = None
        self._shard: tuple[int, dict[str, np.ndarray]] | None = None

    def _json(self, read: Any, where: str) -> Any:
        try:
            return json.loads(read())
        except (OSError, ValueError) as e:
            raise BondkdError(f"{self.dir}/{where}: missing or corrupt ({e})") from None

    def __len__(self) -> int:
        return len(self._offsets)

    def _line(self, k: int) -> dict[str, Any]:
        def read() -> bytes:
            with open(self.dir / "index.jsonl", "rb") as fh:
                fh.seek(self._offsets[k])
                return fh.readline()

        return self._json(read, f"index.jsonl:{k + 1}")

    def __getitem__(self, k: int) -> TeacherTarget:
        if not -len(self) <= k < len(self):
            raise IndexError(f"target {k} out of range ({len(self)} targets)")
        return self._target(self._line(k % len(self)), k % len(self))

    def __iter__(self) -> Iterator[TeacherTarget]:
        return (self[k] for k in range(len(self)))

    def by_id(self, id: str) -> TeacherTarget:
        """The first target with this id; KeyError if none."""
        if self._ids is None:  # parsed on first use: a plain scan does not need the ids
            self._ids = {}
            for k in range(len(self)):
                self._ids.setdefault(str(self._line(k).get("id")), k)
        return self[self._ids[id]]

    def _arrays(self, n: int) -> dict[str, np.ndarray]:
        if self._shard is None or self._shard[0] != n:
            path = self.dir / f"shard-{n:05d}.npz"
            try:
                with np.load(path, allow_pickle=False) as z:
                    self._shard = (n, {k: z[k] for k in _DTYPES})
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
                raise BondkdError(f"{path}: missing or corrupt shard ({e})") from None
        return self._shard[1]

    def _target(self, e: dict[str, Any], k: int) -> TeacherTarget:
        try:
            a = self._arrays(int(e["shard"]))
            s, p, so, po = int(e["S"]), int(e["P"]), int(e["step_offset"]), int(e["pair_offset"])
            if so + s > len(a["spans"]) or po + p > len(a["pairs"]):
                raise ValueError("offsets past the end of the shard")
            pairs = a["pairs"][po : po + p].astype(np.int64)
            att = _dense(s, pairs, a["attention"][po : po + p], np.float32)
            return TeacherTarget(
                id=str(e["id"]),
                text=e["text"],
                question=e["question"],
                spans=a["spans"][so : so + s].astype(np.int64),
                pairs=pairs,
                energy=_dense(s, pairs, a["energy"][po : po + p], np.float32),
                attention=att if e["attention"] else None,
                bond_types=_dense(s, pairs, a["bond_types"][po : po + p], np.int8),
                stability=float(e["stability"]),
                accepted=bool(e["accepted"]),
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise BondkdError(f"{self.dir}/index.jsonl:{k + 1}: corrupt entry ({err})") from None
