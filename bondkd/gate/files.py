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
import contextlib
import fcntl
import gzip
import json
import math
import os
import zlib
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from bondkd.errors import BondkdError, check_writable, write_error
from bondkd.gate.config import GateConfig
from bondkd.gate.index import DatasetIndex
from bondkd.gate.runner import Gate, Parsed, build_index, index_entry, parse
from bondkd.read.files import JSONTextError, loads

BLANK = "blank_line: no record on this line"


def read_lines(path: str, blank: bool = False) -> Iterator[tuple[int, Any]]:
    """(line, JSON value, or a `_Raw` with the text and the reason for a line that is not
    strict JSON). Blank lines are skipped, or given as `_Raw` with `blank`."""
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        opener: Any = gzip.open if gz else open
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
                    if blank:
                        yield n, _Raw(text, BLANK)
                    continue
                try:
                    yield n, loads(text)
                except JSONTextError as e:  # kept as its text: that is strict JSON
                    yield n, _Raw(text, f"parse_error: {e.message}")
    except FileNotFoundError:
        raise BondkdError(f"{path}: no such file") from None
    except (EOFError, zlib.error) as e:
        raise BondkdError(f"{path}: corrupt or truncated gzip data: {e}") from None
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
            lines.add(int(loads(raw.decode("utf-8", "replace"))["bondkd"]["line"]))
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
) -> Summary:
    """Gate every line of `path` into the two outputs; returns the counts."""
    outs = [Path(accepted), Path(rejected)]
    _check_paths(path, outs)
    with open(path, "rb"):  # an unreadable input fails before any output is created
        pass
    if not resume:
        _refuse_existing(outs)
    with _locked(outs) as files:
        if not resume:  # again under the lock: a run may have finished in between
            _refuse_existing(outs)
        return _filter(path, outs, files, config, resume, workers, progress)


def _filter(
    path: str,
    outs: list[Path],
    files: list[IO[str]],
    config: GateConfig,
    resume: bool,
    workers: int,
    progress: Any,
) -> Summary:
    done = set().union(*(done_lines(p) for p in outs)) if resume else set()
    inherited = tuple(fh.fileno() for fh in files)
    lines = 0

    def counted() -> Iterator[Item]:
        nonlocal lines
        for item in read_lines(path, blank=True):
            lines += 1
            yield item

    entries = _passes(_batched(counted(), config.batch), config, None, workers, inherited)
    index = build_index(chain.from_iterable(entries), config.consensus.group_field)
    if progress is not None:
        progress.start(lines - len(done))
    summary = Summary(resumed=len(done))
    todo = ((n, v) for n, v in read_lines(path, blank=True) if n not in done)
    acc, rej = files
    for records in _passes(_batched(todo, config.batch), config, index, workers, inherited):
        target = acc
        try:
            for rec in records:
                target = acc if rec["bondkd"]["verdict"] == "accepted" else rej
                target.write(_dump(rec))
                summary.total += 1
                summary.add(rec)
            for target in (acc, rej):
                target.flush()
        except OSError as e:  # a full disk: what was flushed stays, --resume continues
            raise write_error(target.name, e) from None
        if progress is not None:
            progress.advance(len(records))
    return summary


def _dump(rec: dict) -> str:
    """One output line, strict JSON. The record was read strictly, so a non-finite number
    can only come from the gate itself: it is written as null and the record rejected."""
    try:
        return json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        block = _finite(rec["bondkd"])
        block["verdict"] = "rejected"
        block["reasons"] = [*block.get("reasons", []), NON_FINITE]
        return json.dumps({**rec, "bondkd": block}, ensure_ascii=False, allow_nan=False) + "\n"


NON_FINITE = "output_error: the gate computed a NaN or infinite number (written as null)"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _check_paths(path: str, outs: list[Path]) -> None:
    if outs[0].absolute() == outs[1].absolute() or _same(outs[0], outs[1]):
        raise BondkdError(f"{outs[0]}: --accepted and --rejected name the same file")
    for p in outs:
        if _same(Path(path), p):
            raise BondkdError(f"{p}: this output is the input file; choose another name")
        check_writable(p)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is missing: not the same file
        return False


def _refuse_existing(outs: list[Path]) -> None:
    names = ", ".join(str(p) for p in outs if p.is_file() and p.stat().st_size)
    if names:
        raise BondkdError(f"{names}: output exists; pass --resume to continue, or remove it")


@contextlib.contextmanager
def _locked(outs: list[Path]) -> Iterator[list[IO[str]]]:
    """Both outputs open for appending, each under an exclusive flock for the whole run,
    so a second run on them is refused rather than writing every record twice. The OS
    drops the lock of a killed run, so --resume still works. An output this run created
    is removed if the run fails before writing to it."""
    created = [not p.exists() for p in outs]
    mine: list[Path] = []  # created here and locked: safe to remove while still empty
    try:
        with contextlib.ExitStack() as stack:
            files: list[IO[str]] = []
            for p, new in zip(outs, created, strict=True):
                try:
                    fh = stack.enter_context(p.open("a", encoding="utf-8"))
                except OSError as e:
                    raise write_error(p, e) from None
                _lock(fh, p)
                files.append(fh)
                mine += [p] if new else []
            yield files
    except BaseException:
        for p in mine:
            if p.is_file() and p.stat().st_size == 0:
                p.unlink()
        raise


def _lock(fh: IO[str], path: Path) -> None:
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise BondkdError(
            f"{path}: another `bondkd filter` is writing this file; "
            "wait for it to end (then --resume if it did not finish)"
        ) from None
    except OSError:  # a file system without locks: run unguarded rather than not at all
        pass
