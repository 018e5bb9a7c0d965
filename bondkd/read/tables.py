"""Columnar inputs: Parquet files, folders of Parquet shards, Arrow files and `datasets`
``save_to_disk`` folders → JSON records; and which layout a path holds (`layout`).

Rows are numbered from 1 across shards in order (shards sorted by path; a `datasets`
folder in its ``state.json`` order), and the number plays the part a JSONL line number
plays everywhere else: ``line-N`` ids, ``path:N`` in errors, ``bondkd.line`` in `filter`
output. A value JSON cannot hold (a NaN) makes its row an error, as in a JSONL line; Arrow
types without a JSON twin are converted (timestamps and dates to ISO text, binary to
UTF-8 text or base64, decimals to text, so no digit is lost).

Parquet that bondkd wrote (`table_out`) carries per-column metadata that undoes its
encoding, so its rows read back as the very records that were written.

pyarrow is an optional dependency (``bondkd[parquet]``): without it a table input fails
with one line naming the extra.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bondkd.errors import BondkdError, InputError

# What `--input-format` accepts; "auto" detects. "jsonl"/"json" are the text readers.
LAYOUTS = ("auto", "jsonl", "json", "parquet", "arrow", "hf")
TABLES = ("parquet", "arrow", "hf")
META_TABLE = b"bondkd.table"  # schema metadata of Parquet written by `table_out`
META_KIND = b"bondkd.kind"  # per column: b"json" (JSON text) or b"native"
META_NULL = b"bondkd.null"  # per column: what an Arrow null stands for, b"absent" | b"null"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def need(module: str, extra: str, what: str) -> Any:
    """Import `module`, or fail with one line telling which extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise BondkdError(
            f"{what} needs the '{module.split('.')[0]}' package: pip install 'bondkd[{extra}]'"
        ) from None


def is_zstd(head: bytes) -> bool:
    return head[:4] == _ZSTD_MAGIC


def layout(path: str, forced: str | None = None) -> str:
    """The layout of `path`: one of TABLES, or "jsonl"/"json" (forced) or "text" (the text
    readers decide between JSON and JSONL). Raises InputError for a folder that holds
    no dataset bondkd knows."""
    if forced is not None and forced not in LAYOUTS:
        raise BondkdError(
            f"unknown --input-format {forced!r}; expected one of {', '.join(LAYOUTS)}"
        )
    if path == "-":
        if forced in TABLES:
            raise InputError("<stdin>", None, None, f"--input-format {forced} needs a path")
        return forced if forced in ("jsonl", "json") else "text"
    p = Path(path)
    if forced not in (None, "auto"):
        if forced == "hf" and not p.is_dir():
            raise InputError(path, None, None, "--input-format hf needs a save_to_disk folder")
        return forced
    if p.is_dir():
        return _folder_layout(p)
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return "text"  # the text reader reports the file's own error
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:6] == b"ARROW1" or head[:4] == b"\xff\xff\xff\xff":
        return "arrow"
    return "text"


def _folder_layout(p: Path) -> str:
    splits = p / "dataset_dict.json"
    if splits.is_file():
        try:
            names = ", ".join(json.loads(splits.read_text(encoding="utf-8"))["splits"])
        except (OSError, ValueError, KeyError, TypeError):
            names = "?"
        raise InputError(str(p), None, None, f"a `datasets` DatasetDict (splits: {names}); "
                         f"pass one split's folder, e.g. {p / 'train'}")  # fmt: skip
    if (p / "state.json").is_file() or any(p.glob("*.arrow")):
        return "hf"
    if next(iter(_parquet_files(p)), None) is not None:
        return "parquet"
    raise InputError(str(p), None, None, "unknown dataset layout: a directory with no "
                     "*.parquet files and no `datasets` save_to_disk files (state.json, "
                     "*.arrow); pass a file, or --input-format")  # fmt: skip


def _parquet_files(p: Path) -> list[Path]:
    return sorted((f for f in p.rglob("*.parquet") if f.is_file()), key=lambda f: str(f))


def table_files(path: str, kind: str) -> list[Path]:
    """The files of a table input, in row order."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    if kind == "parquet":
        return _parquet_files(p)
    state = p / "state.json"
    if state.is_file():
        try:
            names = [d["filename"] for d in json.loads(state.read_text("utf-8"))["_data_files"]]
            return [p / n for n in names]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InputError(str(state), None, None, f"not a `datasets` state file: {e}") from None
    return sorted(p.glob("*.arrow"))


def tree_hash(path: str, kind: str) -> str:
    """``sha256:<16 hex>`` over the table's files: their names (relative) and bytes."""
    h = hashlib.sha256()
    root = Path(path)
    for f in table_files(path, kind):
        h.update(str(f.relative_to(root) if root.is_dir() else f.name).encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return "sha256:" + h.hexdigest()[:16]


# -- pieces: what one reader (a process, a Ray task) reads ---------------------------------


@dataclass(frozen=True)
class Piece:
    """Rows ``first .. first + rows - 1`` of the input: one Parquet row group, or one
    Arrow file (`group` -1)."""

    file: str
    kind: str
    group: int
    first: int
    rows: int


def pieces(path: str, kind: str) -> list[Piece]:
    """The input cut into pieces from footers and batch headers (no row is read)."""
    out: list[Piece] = []
    first = 1
    for f in table_files(path, kind):
        if kind == "parquet":
            meta = _parquet(path, f).metadata
            for g in range(meta.num_row_groups):
                n = meta.row_group(g).num_rows
                out.append(Piece(str(f), kind, g, first, n))
                first += n
        else:
            with _arrow(path, f) as reader:
                n = sum(b.num_rows for b in _batches(reader))
            out.append(Piece(str(f), kind, -1, first, n))
            first += n
    return out


def iter_rows(path: str, kind: str) -> Iterator[tuple[int, dict | InputError]]:
    """(row number, record or InputError) of every row, in order."""
    name = str(path)
    try:
        for piece in pieces(path, kind):
            yield from read_piece(piece, name)
    except InputError as e:
        yield 0, e


def read_piece(piece: Piece, name: str) -> Iterator[tuple[int, dict | InputError]]:
    pa = need("pyarrow", "parquet", "reading Parquet and Arrow")
    row = piece.first
    if piece.kind == "parquet":
        pf = _parquet(name, Path(piece.file))
        batches = pf.read_row_group(piece.group).to_batches()
        schema = pf.schema_arrow
    else:
        with _arrow(name, Path(piece.file)) as reader:
            batches = list(_batches(reader))
            schema = reader.schema
    decode = _Decoder(schema, pa)
    for batch in batches:
        for rec in batch.to_pylist():
            yield row, decode(rec, name, row)
            row += 1


def _parquet(name: str, f: Path) -> Any:
    pq = need("pyarrow.parquet", "parquet", "reading Parquet")
    try:
        return pq.ParquetFile(f)
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for a broken footer
        raise InputError(str(f), None, None, f"not a readable Parquet file: {e}") from None


class _ArrowFile:
    def __init__(self, name: str, f: Path):
        ipc = need("pyarrow.ipc", "parquet", "reading Arrow files")
        self.fh = open(f, "rb")  # noqa: SIM115 -- closed by __exit__, or below on failure
        try:  # `datasets` writes the stream format; the file format has a footer
            self.reader = ipc.open_stream(self.fh)
        except Exception:
            try:
                self.fh.seek(0)
                self.reader = ipc.open_file(self.fh)
            except Exception as e:
                self.fh.close()
                raise InputError(str(f), None, None, f"not a readable Arrow file: {e}") from None
        self.schema = self.reader.schema

    def __enter__(self) -> _ArrowFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.fh.close()


def _arrow(name: str, f: Path) -> _ArrowFile:
    try:
        return _ArrowFile(name, f)
    except OSError as e:
        raise InputError(str(f), None, None, f"cannot read: {e.strerror or e}") from None


def _batches(a: _ArrowFile) -> Iterator[Any]:
    r = a.reader
    if hasattr(r, "num_record_batches"):
        for k in range(r.num_record_batches):
            yield r.get_batch(k)
    else:
        yield from r


class _Decoder:
    """One Arrow row (as `to_pylist` gives it) → the JSON record it stands for."""

    def __init__(self, schema: Any, pa: Any):
        ours = (schema.metadata or {}).get(META_TABLE) is not None
        self.cols = []
        for f in schema:
            meta = f.metadata or {}
            json_text = ours and meta.get(META_KIND) == b"json"
            absent = ours and (json_text or meta.get(META_NULL) == b"absent")
            self.cols.append((f.name, json_text, absent))

    def __call__(self, rec: dict, name: str, row: int) -> dict | InputError:
        out: dict = {}
        for col, json_text, absent in self.cols:
            v = rec.get(col)
            if v is None and absent:
                continue
            if json_text:
                try:
                    v = json.loads(str(v))
                except ValueError as e:
                    return InputError(name, row, col, f"not the JSON text bondkd wrote: {e}")
            else:
                v = jsonable(v)
            out[col] = v
        return out


def jsonable(v: Any) -> Any:
    """An Arrow value as JSON can hold it (see the module docstring)."""
    if v is None or isinstance(v, str | bool | int | float):
        return v
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(v).decode("ascii")
    if isinstance(v, decimal.Decimal):
        return str(v)
    return str(v)
