"""`bondkd filter` on files: two streaming passes, append-only outputs, resume, workers.

Pass 1 reads every line and builds the `DatasetIndex` (consensus, dedup). Pass 2
gates the lines in batches and appends each batch's records to the accepted or
rejected file, flushed, in input order. Every output record carries its input
line (`bondkd.line`), so `--resume` after a crash (even `kill -9`) reads the
outputs back, drops a torn last line, and gates exactly the lines not yet written:
no duplicates, no losses. With workers, both passes run batch by batch in parallel
processes (parsing included); the parent builds the index from their entries and
writes the gated records, both in input order. Table inputs (Parquet, Arrow, `datasets`)
give one item per row; Parquet outputs are journalled and written at the end (`outputs`).
`bondkd.scale.gate` runs the same passes on Ray.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import os
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from bondkd.errors import BondkdError, InputError, write_error
from bondkd.gate import outputs
from bondkd.gate.config import GateConfig
from bondkd.gate.index import DatasetIndex
from bondkd.gate.outputs import done_lines, dump
from bondkd.gate.runner import Gate, Parsed, build_index, index_entry, parse
from bondkd.read import tables
from bondkd.read.compressed import ZstdCorrupt, corrupt, open_inflated
from bondkd.read.files import JSONTextError, loads, value_problem
from bondkd.read.table_out import TableOutConfig

BLANK = "blank_line: no record on this line"


def read_lines(
    path: str, blank: bool = False, layout: str | None = None
) -> Iterator[tuple[int, Any]]:
    """(line, JSON value, or a `_Raw` with the text and the reason for a line that is not
    strict JSON). Blank lines are skipped, or given as `_Raw` with `blank`. Parquet, Arrow
    and `datasets` inputs give one item per row (`bondkd.read.tables`); gzip and zstd
    are inflated."""
    try:
        kind = tables.layout(path, layout)
    except InputError as e:
        raise BondkdError(str(e)) from None
    if kind in tables.TABLES:
        yield from row_values(tables.iter_rows(path, kind))
        return
    try:
        with open_inflated(path) as fh:
            for n, raw in enumerate(fh, start=1):
                if (item := line_value(raw, n, blank)) is not SKIP:
                    yield n, item
    except FileNotFoundError:
        raise BondkdError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BondkdError(f"{path}: is a directory, not a file") from None
    except (EOFError, zlib.error, gzip.BadGzipFile, ZstdCorrupt) as e:
        raise BondkdError(f"{path}: {corrupt(e, 'corrupt or truncated')}") from None
    except OSError as e:
        raise BondkdError(f"{path}: cannot read: {e.strerror or e}") from None


SKIP = object()  # a blank line `read_lines` skips (None is the JSON value null)


def line_value(raw: bytes, n: int, blank: bool) -> Any:
    """What `read_lines` gives for physical line `n` (`SKIP`: a blank line, skipped)."""
    raw = raw.rstrip(b"\r\n")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        # Kept byte for byte: the readable text plus the exact bytes.
        return _Raw(raw.decode("utf-8", "replace"), f"parse_error: not valid UTF-8 (byte "
                    f"{e.start})", base64.b64encode(raw).decode("ascii"))  # fmt: skip
    if n == 1:
        text = text.removeprefix("\ufeff")
    if not text.strip():
        return _Raw(text, BLANK) if blank else SKIP
    try:
        return loads(text)
    except JSONTextError as e:  # kept as its text: that is strict JSON
        return _Raw(text, f"parse_error: {e.message}")


def row_values(rows: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """Table rows as `read_lines` items: a row JSON cannot hold keeps its values as text."""
    for n, obj in rows:
        if isinstance(obj, InputError):
            if n == 0:
                raise BondkdError(str(obj))
            yield n, _Raw("", f"parse_error: {obj.message}")
        elif (problem := value_problem(obj)) is not None:
            text = json.dumps(obj, ensure_ascii=False, default=str)
            where = f"field '{problem[0]}': " if problem[0] else ""
            yield n, _Raw(text, f"parse_error: {where}{problem[1]}")
        else:
            yield n, obj


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


def _init_worker(config_json: str, index: DatasetIndex | None, inherited: tuple[int, ...]) -> None:
    global _worker_pass
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # A forked worker shares the parent's locked outputs: closing its copies lets the lock
    # go when the parent dies, even if the worker lingers on.
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)
    _worker_pass = _Pass(GateConfig.model_validate_json(config_json), index)


def _run_batch(items: list[Item]) -> list:
    assert _worker_pass is not None
    return _worker_pass(items)


def _passes(
    batches: Iterator[list[Item]],
    config: GateConfig,
    index: DatasetIndex | None,
    workers: int,
    inherited: tuple[int, ...] = (),
) -> Iterator[list]:
    """`_Pass(config, index)` over the batches, results in input order. `inherited`: file
    descriptors the workers must not keep open."""
    if workers <= 1:
        yield from map(_Pass(config, index), batches)
        return
    with ProcessPoolExecutor(
        workers, initializer=_init_worker, initargs=(config.model_dump_json(), index, inherited)
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
    unreadable: int = 0  # blank lines included
    blank: int = 0
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
            self.blank += b["reasons"] == [BLANK]
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
    layout: str | None = None,
    table: TableOutConfig | None = None,
) -> Summary:
    """Gate every record of `path` into the two outputs (JSONL, or Parquet: see
    `outputs`); returns the counts. `layout` forces the input layout (`tables.LAYOUTS`)."""
    outs = outputs.sinks(accepted, rejected)
    with outputs.opened(path, outs, resume) as files:
        journals = [s.journal for s in outs]
        summary = _filter(path, journals, files, config, resume, workers, progress, layout)
        outputs.finish(outs, files, table)
    return summary


def _filter(
    path: str,
    outs: list[Path],
    files: list[IO[str]],
    config: GateConfig,
    resume: bool,
    workers: int,
    progress: Any,
    layout: str | None = None,
) -> Summary:
    done = set().union(*(done_lines(p) for p in outs)) if resume else set()
    inherited = tuple(fh.fileno() for fh in files)
    lines = 0

    def counted() -> Iterator[Item]:
        nonlocal lines
        for item in read_lines(path, blank=True, layout=layout):
            lines += 1
            yield item

    entries = _passes(_batched(counted(), config.batch), config, None, workers, inherited)
    index = build_index(chain.from_iterable(entries), config.consensus.group_field)
    if progress is not None:
        progress.start(lines - len(done))
    summary = Summary(resumed=len(done))
    todo = ((n, v) for n, v in read_lines(path, blank=True, layout=layout) if n not in done)
    acc, rej = files
    for records in _passes(_batched(todo, config.batch), config, index, workers, inherited):
        target = acc
        try:
            for rec in records:
                target = acc if rec["bondkd"]["verdict"] == "accepted" else rej
                target.write(dump(rec))
                summary.total += 1
                summary.add(rec)
            for target in (acc, rej):
                target.flush()
        except OSError as e:  # a full disk: what was flushed stays, --resume continues
            raise write_error(target.name, e) from None
        if progress is not None:
            progress.advance(len(records))
    return summary
