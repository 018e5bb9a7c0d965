"""Records → Parquet that reads back as the same records (one file, or a folder of shards).

The schema is the JSONL one: one column per top-level key, in first-seen order. A column
whose values are all strings, all integers, all floats or all booleans is stored as that
Arrow type; any other column (objects, arrays, mixed types) holds each value as JSON text,
marked ``bondkd.kind = json`` in the field metadata, so nothing is coerced (Arrow would
widen 1 to 1.0 and fill a missing nested key with null). An Arrow null stands for "key
absent" or for JSON null (``bondkd.null``); a column that has both is stored as JSON text,
where absent is null and JSON null is the text ``null``. `tables` reads the metadata back.

The records come from a JSONL file (a `filter` journal, `analyze` documents) read twice:
once to plan the columns, once to write, so memory holds one row group, not the output.
A folder output gets ``part-00000.parquet``, ``part-00001.parquet``, …, all with the same
schema; it is written beside the destination and renamed into place when complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bondkd.errors import BondkdError, _umask, output_path, write_error
from bondkd.read.tables import META_KIND, META_NULL, META_TABLE, need


class TableOutConfig(BaseModel):
    """How Parquet outputs are cut."""

    model_config = ConfigDict(extra="forbid")

    rows_per_shard: int = Field(default=100_000, ge=1, description="Rows per part file (folders).")
    row_group_rows: int = Field(default=4_096, ge=1, description="Rows per Parquet row group.")
    compression: Literal["zstd", "snappy", "gzip", "none"] = Field(
        default="zstd", description="Parquet compression codec."
    )


def is_table_out(path: str | Path) -> bool:
    """A Parquet destination: ``*.parquet`` (one file) or ``DIR/`` (a folder of shards;
    the slash asks for it, so a directory named by mistake stays an error)."""
    s = str(path)
    return s.endswith((".parquet", "/", os.sep))


def journal_of(path: str | Path) -> Path:
    """The JSONL file a Parquet output is built from (appended, resumable)."""
    return Path(str(path).rstrip("/" + os.sep) + ".partial.jsonl")


def _records(jsonl: Path) -> Iterator[dict]:
    with open(jsonl, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


class _Column:
    def __init__(self) -> None:
        self.types: set[str] = set()
        self.present = 0
        self.nulls = 0

    def see(self, v: Any) -> None:
        self.present += 1
        if v is None:
            self.nulls += 1
        elif isinstance(v, bool):
            self.types.add("bool")
        elif isinstance(v, int):
            self.types.add("int" if -(2**63) <= v < 2**63 else "big")
        else:
            self.types.add({str: "str", float: "float"}.get(type(v), "json"))


EMPTY = "__bondkd_empty"
_NATIVE = {"str": "string", "int": "int64", "float": "float64", "bool": "bool_"}


def plan(jsonl: Path) -> tuple[Any, list[tuple[str, bool, bool]]]:
    """(Arrow schema, [(column, as JSON text, null means absent)]) for the records."""
    pa = need("pyarrow", "parquet", "writing Parquet")
    cols: dict[str, _Column] = {}
    rows = 0
    for rec in _records(jsonl):
        rows += 1
        for k, v in rec.items():
            cols.setdefault(k, _Column()).see(v)
    fields, how = [], []
    if not cols:  # records with no keys: Arrow counts rows by columns, so keep one (all absent)
        cols[EMPTY] = _Column()
    for name, c in cols.items():
        absent = c.present < rows
        native = len(c.types) <= 1 and c.types <= set(_NATIVE) and not (absent and c.nulls)
        kind = next(iter(c.types), "str")
        arrow_type = getattr(pa, _NATIVE[kind])() if native else pa.string()
        meta = {META_KIND: b"native" if native else b"json",
                META_NULL: b"absent" if absent or not native else b"null"}  # fmt: skip
        fields.append(pa.field(name, arrow_type, nullable=True, metadata=meta))
        how.append((name, not native, absent or not native))
    return pa.schema(fields, metadata={META_TABLE: b"1"}), how


def _columns(chunk: list[dict], how: list[tuple[str, bool, bool]]) -> list[list]:
    out = []
    for name, as_json, _ in how:
        if as_json:
            out.append([json.dumps(r[name], ensure_ascii=False, allow_nan=False)
                        if name in r else None for r in chunk])  # fmt: skip
        else:
            out.append([r.get(name) for r in chunk])
    return out


def write_table(jsonl: str | Path, dest: str | Path, config: TableOutConfig | None = None) -> int:
    """Write the records of `jsonl` to `dest` (see `is_table_out`); returns the row count."""
    pa = need("pyarrow", "parquet", "writing Parquet")
    pq = need("pyarrow.parquet", "parquet", "writing Parquet")
    cfg = config or TableOutConfig()
    jsonl, dest_s = Path(jsonl), str(dest)
    schema, how = plan(jsonl)
    codec = None if cfg.compression == "none" else cfg.compression
    folder = not dest_s.endswith(".parquet")
    rows = 0

    def batches() -> Iterator[Any]:
        chunk: list[dict] = []
        for rec in _records(jsonl):
            chunk.append(rec)
            if len(chunk) >= min(cfg.row_group_rows, cfg.rows_per_shard):
                yield pa.RecordBatch.from_arrays(
                    [pa.array(c, type=f.type) for c, f in zip(_columns(chunk, how), schema, strict=True)], schema=schema)  # fmt: skip
                chunk = []
        if chunk:
            yield pa.RecordBatch.from_arrays(
                [pa.array(c, type=f.type) for c, f in zip(_columns(chunk, how), schema, strict=True)], schema=schema)  # fmt: skip

    try:
        if not folder:
            with output_path(dest_s) as tmp, pq.ParquetWriter(tmp, schema, compression=codec) as w:
                for b in batches():
                    w.write_batch(b, row_group_size=cfg.row_group_rows)
                    rows += b.num_rows
            return rows
        final = Path(dest_s.rstrip("/" + os.sep))
        if not final.parent.is_dir():
            raise BondkdError(f"{final}: cannot write: directory {final.parent} does not exist")
        tmp_dir = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
        try:
            writer, part, in_part = None, 0, 0
            for b in batches():
                if writer is None or in_part + b.num_rows > cfg.rows_per_shard:
                    if writer is not None:
                        writer.close()
                        part += 1
                    writer = pq.ParquetWriter(tmp_dir / f"part-{part:05d}.parquet", schema,
                                              compression=codec)  # fmt: skip
                    in_part = 0
                writer.write_batch(b, row_group_size=cfg.row_group_rows)
                in_part += b.num_rows
                rows += b.num_rows
            if writer is None:  # no rows: one empty part still carries the schema
                pq.ParquetWriter(tmp_dir / "part-00000.parquet", schema, compression=codec).close()
            else:
                writer.close()
            _swap_in(tmp_dir, final)
        except BaseException:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise
    except OSError as e:
        raise write_error(dest_s, e) from None
    return rows


def _swap_in(tmp_dir: Path, final: Path) -> None:
    """Put the finished folder at `final`; an earlier output there is replaced whole (only
    after the new one is complete)."""
    if final.exists() and not final.is_dir():
        raise BondkdError(f"{final}: cannot write a Parquet folder: a file is in the way")
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.chmod(tmp_dir, 0o777 & ~_umask())  # mkdtemp makes 0700; the output gets the usual mode
    os.replace(tmp_dir, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def table_to_jsonl(src: str | Path, jsonl: str | Path) -> int:
    """Records of a Parquet output (file or folder) → JSONL lines; returns the count."""
    from bondkd.read.tables import iter_rows

    n = 0
    with open(jsonl, "w", encoding="utf-8") as fh:
        for row, rec in iter_rows(str(src).rstrip("/" + os.sep), "parquet"):
            if isinstance(rec, BaseException):
                raise rec
            fh.write(json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n")
            n = row
    return n


@contextlib.contextmanager
def scratch_jsonl(dest: str | Path) -> Iterator[Path]:
    """A temporary JSONL file beside `dest` (records on their way to Parquet), removed when
    the block ends however it ends."""
    parent = Path(str(dest).rstrip("/" + os.sep)).parent
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{Path(dest).name}.", suffix=".jsonl")
    except OSError as e:
        raise write_error(dest, e) from None
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)
