"""The input cut into chunks a Ray task reads on its own, with the local reader's numbers.

A plain JSONL file is cut at line boundaries every `chunk_lines` lines (found in one
streaming pass of the driver over the bytes, holding one line at a time); each chunk
knows its byte range and its first line number, so a task reads its lines with
`files.jsonl_item` / `gate.files.line_value`, exactly as the local readers number and
parse them. A Parquet input is cut at its row groups and an Arrow or `datasets` input at
its files (`tables.pieces`, from footers). Anything that cannot be cut (gzip, zstd, one
JSON document or array, a file whose head is not text) is one chunk read by the local
reader itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bondkd.errors import BondkdError
from bondkd.gate.files import line_value, read_lines, row_values
from bondkd.read import files, tables
from bondkd.read.formats import parse_record
from bondkd.read.inputs import parse_input


@dataclass(frozen=True)
class Chunk:
    index: int
    name: str  # the path as the user wrote it: ids, sources and messages use it
    path: str  # absolute, for a worker whose working directory differs
    kind: str  # "lines" | "piece" | "whole"
    first: int  # first line (row) number; 0 for "whole"
    count: int  # physical lines or rows; 0 for "whole" (unknown)
    start: int = 0  # byte range ("lines")
    end: int = 0
    group: int = -1  # row group ("piece" of a Parquet file)
    layout: str | None = None  # forced layout ("whole")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> Chunk:
        return Chunk(**json.loads(text))


def plan(path: str, layout: str | None, chunk_lines: int) -> list[Chunk]:
    """The chunks of `path`, in input order."""
    if path == "-":
        raise BondkdError("--engine ray reads files, not standard input")
    kind = tables.layout(path, layout)
    full = os.path.abspath(path)
    if kind in tables.TABLES:
        return [Chunk(k, path, os.path.abspath(p.file), "piece", p.first, p.rows, group=p.group,
                      layout=p.kind) for k, p in enumerate(tables.pieces(path, kind))]  # fmt: skip
    whole = [Chunk(0, path, full, "whole", 0, 0, layout=layout)]
    jsonl = kind == "jsonl" or path.lower().endswith((".jsonl", ".ndjson"))
    if not jsonl or Path(path).is_dir():
        return whole
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
            if head[:2] == b"\x1f\x8b" or tables.is_zstd(head):
                return whole
            if files._binary(head, complete=len(head) < 8192) and not files._json_line(head):
                return whole  # the local reader says why, once
            fh.seek(0)
            return list(_cuts(fh, path, full, chunk_lines))
    except OSError:
        return whole  # the local reader reports it


def _cuts(fh: Any, name: str, full: str, every: int) -> Iterator[Chunk]:
    start = pos = 0
    first, n, k = 1, 0, 0
    for raw in fh:
        pos += len(raw)
        n += 1
        if n == every:
            yield Chunk(k, name, full, "lines", first, n, start, pos)
            k, start, first, n = k + 1, pos, first + n, 0
    if n or k == 0:
        yield Chunk(k, name, full, "lines", first, n, start, pos)


def _lines(chunk: Chunk) -> Iterator[tuple[int, bytes]]:
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.start)
        for n in range(chunk.first, chunk.first + chunk.count):
            yield n, fh.readline()


def _where(chunk: Chunk) -> str:
    """The name to open a "whole" chunk by: the user's path when it leads to the same
    file from here (so messages name it as the local run does), else the absolute one."""
    p = chunk.name
    return p if os.path.exists(p) and os.path.abspath(p) == chunk.path else chunk.path


def _piece(chunk: Chunk) -> tables.Piece:
    return tables.Piece(
        chunk.path, chunk.layout or "parquet", chunk.group, chunk.first, chunk.count
    )


def records(chunk: Chunk, inputs: bool, fmt: str | None, layout: str | None) -> Iterator[Any]:
    """(line, Trace | inputs.Record | InputError) as `iter_traces` (`inputs`: `iter_inputs`)
    gives them for the chunk's lines."""
    parse: Any = partial(parse_input if inputs else parse_record, fmt=fmt)
    if chunk.kind == "whole":
        yield from files.iter_records(_where(chunk), parse, layout)
    elif chunk.kind == "piece":
        yield from files.table_items(
            tables.read_piece(_piece(chunk), chunk.name), chunk.name, parse
        )
    else:
        for n, raw in _lines(chunk):
            if (item := files.jsonl_item(raw, n, chunk.name, parse)) is not None:
                yield item


def values(chunk: Chunk, layout: str | None) -> Iterator[tuple[int, Any]]:
    """(line, JSON value or `_Raw`) as `gate.files.read_lines(blank=True)` gives them."""
    if chunk.kind == "whole":
        yield from read_lines(_where(chunk), blank=True, layout=layout)
    elif chunk.kind == "piece":
        yield from row_values(tables.read_piece(_piece(chunk), chunk.name))
    else:
        for n, raw in _lines(chunk):
            yield n, line_value(raw, n, blank=True)
