"""The output files of `bondkd filter`: append-only JSONL journals under a lock, read back
by `--resume`, and Parquet built from a journal when the run completes.

A JSONL output is its own journal. A Parquet output (``out.parquet``, or a folder
``out/`` of shards) is journalled in ``out.parquet.partial.jsonl`` while the run goes,
then written whole by `bondkd.read.table_out` and the journal removed; so a killed run
resumes exactly as a JSONL one does. `--resume` after a completed Parquet run reads the
Parquet back into a journal first, finds every line done and writes the same output.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bondkd.errors import BondkdError, check_writable, write_error
from bondkd.read.files import loads
from bondkd.read.table_out import (
    TableOutConfig,
    is_table_out,
    journal_of,
    table_to_jsonl,
    write_table,
)


@dataclass(frozen=True)
class Sink:
    """One output as the user named it (`final`) and the JSONL file appended (`journal`)."""

    final: Path
    journal: Path
    table: bool


def sinks(*paths: str) -> list[Sink]:
    out = []
    for p in paths:
        table = is_table_out(p)
        out.append(Sink(Path(p), journal_of(p) if table else Path(p), table))
    return out


@contextlib.contextmanager
def opened(path: str, outs: list[Sink], resume: bool) -> Iterator[list[IO[str]]]:
    """The journals, open for appending under their locks, after the checks: distinct
    outputs, none the input, writable, and (without --resume) none already there."""
    _check_paths(path, outs)
    if not Path(path).is_dir():
        try:  # an unreadable input fails before any output is created
            with open(path, "rb"):
                pass
        except FileNotFoundError:
            raise BondkdError(f"{path}: no such file") from None
        except OSError as e:
            raise BondkdError(f"{path}: cannot read: {e.strerror or e}") from None
    if not resume:
        _refuse_existing(outs)
    with _locked([s.journal for s in outs]) as files:
        if not resume:  # again under the lock: a run may have finished in between
            _refuse_existing(outs)
        for s, fh in zip(outs, files, strict=True):
            if s.table and _present(s.final) and fh.tell() == 0:  # a completed run
                table_to_jsonl(s.final, s.journal)
        yield files


def finish(outs: list[Sink], files: list[IO[str]], config: TableOutConfig | None) -> None:
    """Turn the journals of Parquet outputs into Parquet, then remove them."""
    for s, fh in zip(outs, files, strict=True):
        if s.table:
            fh.flush()
            write_table(s.journal, s.final, config)
            s.journal.unlink()


def _present(p: Path) -> bool:
    if p.is_dir():
        return any(p.iterdir())
    return p.is_file() and p.stat().st_size > 0


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


def dump(rec: dict) -> str:
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


def _check_paths(path: str, outs: list[Sink]) -> None:
    a, b = outs[0].final, outs[1].final
    if a.absolute() == b.absolute() or _same(a, b):
        raise BondkdError(f"{a}: --accepted and --rejected name the same file")
    for s in outs:
        if _same(Path(path), s.final):
            raise BondkdError(f"{s.final}: this output is the input file; choose another name")
        check_writable(s.journal)
        if s.table and str(s.final).endswith(".parquet"):
            check_writable(s.final)
        elif s.table and s.final.exists() and not s.final.is_dir():
            raise BondkdError(f"{s.final}: cannot write Parquet shards: a file is in the way")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is missing: not the same file
        return False


def _refuse_existing(outs: list[Sink]) -> None:
    found = [p for s in outs for p in dict.fromkeys((s.journal, s.final)) if _present(p)]
    names = ", ".join(str(p) for p in found)
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
