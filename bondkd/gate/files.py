"""`bondkd filter` on files: two streaming passes, append-only outputs, resume, workers.

Pass 1 reads every line and builds the `DatasetIndex` (consensus, dedup). Pass 2
gates the lines in batches and appends each batch's records to the accepted or
rejected file, flushed, in input order. Every output record carries its input
line (`bondkd.line`), so `--resume` after a crash (even `kill -9`) reads the
outputs back, drops a torn last line, and gates exactly the lines not yet written:
no duplicates, no losses. With workers, both passes run batch by batch in parallel
processes (parsing included); the parent builds the index from their entries and
writes the gated records, both in input order.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

from bondkd.errors import BondkdError
from bondkd.gate.config import GateConfig
from bondkd.gate.index import DatasetIndex
from bondkd.gate.runner import Gate, Parsed, build_index, index_entry, parse


def read_lines(path: str) -> Iterator[tuple[int, Any]]:
    """(line, JSON value or the raw text of a line that is not JSON); blank lines skipped."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gz else open
    try:
        with opener(path, "rb") as fh:
            for n, raw in enumerate(fh, start=1):
                raw = raw.rstrip(b"\r\n")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    # Kept byte for byte: the readable text plus the exact bytes.
                    bad = _Raw(raw.decode("utf-8", "replace"), f"parse_error: not valid UTF-8 "
                               f"(byte {e.start})", base64.b64encode(raw).decode("ascii"))  # fmt: skip
                    yield n, bad
                    continue
                if n == 1:
                    text = text.removeprefix("\ufeff")
                if not text.strip():
                    continue
                try:
                    yield n, json.loads(text)
                except json.JSONDecodeError as e:
                    yield n, _Raw(text, f"parse_error: invalid JSON: {e.msg} (column {e.colno})")
    except OSError as e:
        raise BondkdError(f"{path}: cannot read: {e.strerror or e}") from None


@dataclass
class _Raw:
    text: str
    reason: str
    bytes_b64: str | None = None


def _parse(n: int, value: Any) -> Parsed:
    if not isinstance(value, _Raw):
        return parse(n, value)
    if value.bytes_b64:  # written as the record {"raw", "raw_base64"} plus its bondkd block
        return n, {"raw": value.text, "raw_base64": value.bytes_b64}, value.reason
    return n, value.text, value.reason


def done_lines(path: Path) -> set[int]:
    """Input lines already written to an output file; a torn last line is cut off."""
    if not path.exists():
        return set()
    data = path.read_bytes()
    keep = data[: data.rfind(b"\n") + 1]
    if len(keep) != len(data):
        with path.open("r+b") as fh:
            fh.truncate(len(keep))
    lines = set()
    for n, raw in enumerate(keep.splitlines(), start=1):
        try:
            lines.add(int(json.loads(raw)["bondkd"]["line"]))
        except (ValueError, KeyError, TypeError):
            raise BondkdError(
                f"{path}:{n}: not a `bondkd filter` output line; cannot resume"
            ) from None
    return lines


# -- passes, in-process or in workers --------------------------------------------------
Item = tuple[int, Any]  # (line, JSON value or _Raw), as read_lines yields it


class _Pass:
    """One pass over a batch of read lines: parse, then index entries (pass 1, no index
    yet) or gated records (pass 2). Parsing happens here too, so workers do it."""

    def __init__(self, config: GateConfig, index: DatasetIndex | None):
        self.config = config
        self.gate = None if index is None else Gate(config, index)

    def __call__(self, items: list[Item]) -> list:
        parsed = [_parse(n, v) for n, v in items]
        if self.gate is None:
            return [index_entry(p, self.config) for p in parsed]
        return self.gate.run(parsed)


_worker_pass: _Pass | None = None


def _init_worker(config_json: str, index: DatasetIndex | None) -> None:
    global _worker_pass
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker_pass = _Pass(GateConfig.model_validate_json(config_json), index)


def _run_batch(items: list[Item]) -> list:
    assert _worker_pass is not None
    return _worker_pass(items)


def _passes(
    batches: Iterator[list[Item]], config: GateConfig, index: DatasetIndex | None, workers: int
) -> Iterator[list]:
    """`_Pass(config, index)` over the batches, results in input order."""
    if workers <= 1:
        yield from map(_Pass(config, index), batches)
        return
    with ProcessPoolExecutor(
        workers, initializer=_init_worker, initargs=(config.model_dump_json(), index)
    ) as pool:
        pending: deque[Future] = deque()
        for batch in batches:
            pending.append(pool.submit(_run_batch, batch))
            if len(pending) >= 2 * workers:  # bounded: memory does not grow with the file
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _batched(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    return iter(lambda: list(islice(items, size)), [])


@dataclass
class Summary:
    total: int = 0
    accepted: int = 0
    rejected: int = 0
    resumed: int = 0
    unreadable: int = 0
    vetoed: int = 0
    below: int = 0
    replaced: int = 0
    checks: Counter[tuple[str, str]] = field(default_factory=Counter)  # (name, status|veto)

    def add(self, rec: dict) -> None:
        b = rec["bondkd"]
        if b["verdict"] == "accepted":
            self.accepted += 1
        else:
            self.rejected += 1
        checks = b.get("checks")
        if checks is None:
            self.unreadable += 1
            return
        self.replaced += bool(b.get("notes"))
        veto = False
        for c in checks:
            self.checks[c["name"], c["status"]] += 1
            if c["veto"]:
                self.checks[c["name"], "veto"] += 1
                veto = True
        self.vetoed += veto
        self.below += not veto and b["verdict"] == "rejected"


def filter_file(
    path: str,
    accepted: str,
    rejected: str,
    config: GateConfig,
    resume: bool = False,
    workers: int = 1,
    progress: Any = None,
) -> Summary:
    """Gate every line of `path` into the two outputs; returns the counts."""
    outs = [Path(accepted), Path(rejected)]
    if not resume and any(p.exists() and p.stat().st_size for p in outs):
        names = ", ".join(str(p) for p in outs if p.exists() and p.stat().st_size)
        raise BondkdError(f"{names}: output exists; pass --resume to continue, or remove it")
    done = set().union(*(done_lines(p) for p in outs)) if resume else set()
    lines = 0

    def counted() -> Iterator[Item]:
        nonlocal lines
        for item in read_lines(path):
            lines += 1
            yield item

    entries = _passes(_batched(counted(), config.batch), config, None, workers)
    index = build_index(chain.from_iterable(entries), config.consensus.group_field)
    if progress is not None:
        progress.start(lines - len(done))
    summary = Summary(resumed=len(done))
    todo = ((n, v) for n, v in read_lines(path) if n not in done)
    with outs[0].open("a", encoding="utf-8") as acc, outs[1].open("a", encoding="utf-8") as rej:
        for records in _passes(_batched(todo, config.batch), config, index, workers):
            for rec in records:
                (acc if rec["bondkd"]["verdict"] == "accepted" else rej).write(
                    json.dumps(rec, ensure_ascii=False) + "\n"
                )
                summary.total += 1
                summary.add(rec)
            for fh in (acc, rej):
                fh.flush()
            if progress is not None:
                progress.advance(len(records))
    return summary
