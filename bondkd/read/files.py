"""Files → traces: never crash, never drop a record silently.

`iter_traces` yields ``(number, Trace | InputError)`` in input order, one item per record,
so one bad line costs one error and the rest still arrive.

- ``.jsonl`` / ``.ndjson`` (optionally ``.gz`` / ``.zst``) stream line by line with bounded memory;
  the number is the 1-based physical line, blank lines are skipped.
- Anything else (``.json``, ``-`` for stdin, other suffixes) is read whole and holds one
  object (number 1) or an array of objects (number = item index + 1, the item's real line
  goes into `Trace.source` and error messages as ``path:LINE: … (array item N)``). Text that
  is not one JSON document but whose first line is one is read as JSONL.
- Gzip and zstd (`compressed`) are recognised by their magic bytes, not the suffix.
- Parquet, Arrow and `datasets` folders (`tables`) are read row by row, the row number
  standing for the line; `layout` (``--input-format``) forces a layout instead of detecting.
- Binary input (NUL bytes or invalid UTF-8 in the first 8 KB) gives one error. File-level errors carry the number 0.
- A record without an id gets ``line-N`` (``item-N`` in an array); `Trace.source` is
  ``path:line`` (``<stdin>:line`` for stdin).

Stdin is read once per `sys.stdin` object and kept, so `file_hash("-")` hashes the very
bytes `iter_traces("-")` parses, whichever of the two runs first.

JSON is read strictly (`loads`, `value_problem`), so what is read can be written back as
strict UTF-8 JSON: NaN and Infinity, a lone UTF-16 surrogate (``"\\ud800"``), nesting
deeper than `MAX_DEPTH` and integers too long to convert make the record unreadable (one
error with its field), never the run.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import math
import re
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import IO, Any

from bondkd.errors import InputError
from bondkd.read import tables
from bondkd.read.compressed import corrupt as _corrupt
from bondkd.read.compressed import inflated as _inflated
from bondkd.read.formats import RecordError, parse_record
from bondkd.schema import Trace

STDIN_NAME = "<stdin>"
_SNIFF = 8192
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".jsonl.zst", ".ndjson.zst")
_GZIP_ERRORS = (OSError, EOFError, zlib.error)  # gzip.BadGzipFile (and ZstdCorrupt): OSError
_stdin_cache: tuple[object, bytes] | None = None
# Arrays and objects nested deeper than this are refused: traces need a handful of levels,
# and Python's parser, validators and writers recurse, so depth is a crash waiting later.
MAX_DEPTH = 128
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')  # deleted by translate
_OPENERS = b"[{"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # the only way JSON text spells one
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json pairs proper ones into one char

Item = tuple[int, Trace | InputError]
# parse(obj, source="path:line", default_id="line-N") -> a record, or raises RecordError
Parse = Callable[..., Any]


class JSONTextError(ValueError):
    """Text that is not one strict JSON value; `line`/`column` are 1-based when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.message, self.line, self.column = message, line, column
        super().__init__(message)


def loads(text: str) -> Any:
    """The value of `text` as strict JSON; raises JSONTextError when it is not (invalid
    JSON, nesting deeper than `MAX_DEPTH`, an integer too long for Python, NaN or Infinity,
    a lone surrogate), the message naming the field."""
    value, suspect = parse_json(text)
    if suspect and (problem := value_problem(value)):
        field, message = problem
        raise JSONTextError(f"field '{field}': {message}" if field else message)
    return value


def parse_json(text: str) -> tuple[Any, bool]:
    """(value, suspect): like `loads`, but NaN, Infinity and lone surrogates are left in
    the value, `suspect` telling whether `value_problem` may find one. Whole documents are
    read this way, so one bad item of an array costs that item, not the file."""
    if _too_deep(text):
        raise JSONTextError(f"invalid JSON: nested deeper than {MAX_DEPTH} levels")
    _SEEN.found = False
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        where = f"column {e.colno}" if e.lineno == 1 else f"line {e.lineno}, column {e.colno}"
        raise JSONTextError(f"invalid JSON: {e.msg} ({where})", e.lineno, e.colno) from None
    except RecursionError:  # unreachable past _too_deep, kept as the last line of defence
        raise JSONTextError(f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # Python's int conversion limit: "1" * 5000
        limit = sys.get_int_max_str_digits()
        raise JSONTextError(f"invalid JSON: an integer longer than {limit} digits") from None
    surrogate = "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    return value, _SEEN.found or surrogate


class _NonFinite(threading.local):
    """json hooks noting a NaN, an Infinity or a number that overflows to one (per thread:
    the decoder is built once, as building one per call doubles the cost of a line)."""

    found = False

    def constant(self, literal: str) -> float:
        self.found = True
        return float(literal)

    def number(self, literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            self.found = True
        return value


_SEEN = _NonFinite()
_DECODER = json.JSONDecoder(parse_constant=_SEEN.constant, parse_float=_SEEN.number)


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    # Escaped backslashes, then escaped quotes, go first: the quotes left delimit strings,
    # and every other part of a string ("\n", letters) is dropped with the bytes below.
    bare = text.replace("\\\\", "").replace('\\"', "").encode("utf-8", "surrogatepass")
    outside = b"".join(bare.translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    depth = 0
    for byte in outside:
        depth += 1 if byte in _OPENERS else -1
        if depth > MAX_DEPTH:
            return True
    return False


def value_problem(value: object) -> tuple[str | None, str] | None:
    """(field, message) for the first thing in a parsed value that strict JSON in UTF-8
    cannot hold: a NaN or infinite number, a lone UTF-16 surrogate in a string or a key."""
    stack: list[tuple[object, str | None]] = [(value, None)]
    while stack:
        v, where = stack.pop()
        if isinstance(v, str):
            if _LONE_SURROGATE.search(v):
                return where, f"a lone UTF-16 surrogate ({_surrogate(v)}) is not valid Unicode"
        elif isinstance(v, float):
            if not math.isfinite(v):
                lit = "NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity"
                return where, f"{lit} is not valid JSON (write null, or the value as a string)"
        elif isinstance(v, dict):
            for k, x in reversed(v.items()):
                key = k.encode("utf-8", "backslashreplace").decode("utf-8")
                if key != k:
                    return where, f"key '{key}': a lone UTF-16 surrogate is not valid Unicode"
                stack.append((x, f"{where}.{k}" if where else k))
        elif isinstance(v, list):
            stack.extend((x, f"{where or ''}[{i}]") for i, x in reversed(list(enumerate(v))))
    return None


def _surrogate(text: str) -> str:
    m = _LONE_SURROGATE.search(text)
    return f"\\u{ord(m.group()):04x}" if m else ""


def _stdin_bytes() -> bytes:
    global _stdin_cache
    if _stdin_cache is None or _stdin_cache[0] is not sys.stdin:
        stream = sys.stdin
        if stream is None:
            raise InputError(STDIN_NAME, None, None, "no standard input")
        buf = getattr(stream, "buffer", None)
        data = buf.read() if buf is not None else stream.read().encode("utf-8")
        _stdin_cache = (stream, data)
    return _stdin_cache[1]


def file_hash(path: str) -> str:
    """``sha256:<16 hex>`` of the file's bytes (as stored: compressed files are not inflated)."""
    h = hashlib.sha256()
    if str(path) != "-" and (kind := tables.layout(str(path))) in tables.TABLES:
        return tables.tree_hash(str(path), kind)
    if str(path) == "-":
        h.update(_stdin_bytes())
    else:
        try:
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as e:
            raise _os_error(str(path), e) from None
    return "sha256:" + h.hexdigest()[:16]


def _os_error(path: str, e: OSError) -> InputError:
    if isinstance(e, FileNotFoundError):
        return InputError(path, None, None, "no such file")
    if isinstance(e, IsADirectoryError):
        return InputError(path, None, None, "is a directory, not a file")
    return InputError(path, None, None, f"cannot read: {e.strerror or e}")


def _open(path: str) -> IO[bytes]:
    return io.BytesIO(_stdin_bytes()) if path == "-" else open(path, "rb")


def _json_line(head: bytes) -> bool:
    for line in head.split(b"\n")[:-1]:  # the last may be cut at the sniff boundary
        try:
            json.loads(line)
        except ValueError:
            continue
        return True
    return False


def _binary(head: bytes, complete: bool) -> bool:
    if b"\x00" in head:
        return True
    try:  # an incremental decoder forgives a character cut at the sniff boundary
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return True
    return False


def iter_traces(path: str, fmt: str | None = None, layout: str | None = None) -> Iterator[Item]:
    """Every record of `path` (``-``: stdin) as a Trace or an InputError, in input order.
    `layout` forces the file layout (`tables.LAYOUTS`; default: detect)."""
    return iter_records(path, partial(parse_record, fmt=fmt), layout)


def iter_records(path: str, parse: Parse, layout: str | None = None) -> Iterator[tuple[int, Any]]:
    """Every record of `path` as ``parse``'s result or an InputError, in input order."""
    path = str(path)
    name = STDIN_NAME if path == "-" else path
    count = 0
    try:
        kind = tables.layout(path, layout)
    except InputError as e:
        yield 0, e
        return
    items = _table(path, kind, parse) if kind in tables.TABLES else _items(path, name, parse, kind)
    for item in items:
        count += 1
        yield item
    if count == 0:
        yield 0, InputError(name, None, None, "no records (empty input)")


def _table(path: str, kind: str, parse: Parse) -> Iterator[Item]:
    return table_items(tables.iter_rows(path, kind), path, parse)


def table_items(rows: Iterable[tuple[int, Any]], path: str, parse: Parse) -> Iterator[Item]:
    """Table rows (`tables.iter_rows` / `read_piece`) as `iter_records` gives them."""
    for row, obj in rows:
        yield (
            row,
            obj if isinstance(obj, InputError) else _record(obj, path, row, parse, f"line-{row}"),
        )


def _items(path: str, name: str, parse: Parse, kind: str = "text") -> Iterator[Item]:
    try:
        raw = _open(path)
    except InputError as e:
        yield 0, e
        return
    except OSError as e:
        yield 0, _os_error(name, e)
        return
    with raw, _inflated(raw) as stream:
        try:
            head = stream.read(_SNIFF)
            stream.seek(0)
        except _GZIP_ERRORS as e:
            yield 0, InputError(name, None, None, _corrupt(e))
            return
        jsonl = kind == "jsonl" or (
            kind == "text" and path != "-" and path.lower().endswith(_JSONL_SUFFIXES)
        )
        # In a JSONL file a NUL or a bad byte costs its own line, not every record of the
        # file: the file is binary only when no line of its head is JSON.
        if _binary(head, complete=len(head) < _SNIFF) and not (jsonl and _json_line(head)):
            yield 0, InputError(name, None, None, "not a text file (binary data)")
            return
        if jsonl:
            yield from _jsonl(stream, name, parse)
            return
        try:
            data = stream.read()
        except _GZIP_ERRORS as e:
            yield 0, InputError(name, None, None, _corrupt(e))
            return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        yield line, InputError(name, line, None, f"not valid UTF-8 (byte {e.start})")
        return
    yield from _document(text, name, parse)


def _record(
    obj: object, name: str, line: int, parse: Parse, default_id: str, suspect: bool = True
) -> Any:
    if suspect and (problem := value_problem(obj)):
        return InputError(name, line, *problem)
    try:
        return parse(obj, source=f"{name}:{line}", default_id=default_id)
    except RecordError as e:
        return InputError(name, line, e.field, e.message)


def _parse_line(raw: bytes | str, name: str, n: int, parse: Parse) -> Item:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as e:
        return n, InputError(name, n, None, f"not valid UTF-8 (column {e.start + 1})")
    try:
        obj, suspect = parse_json(text)
    except JSONTextError as e:
        return n, InputError(name, n, None, e.message)
    return n, _record(obj, name, n, parse, f"line-{n}", suspect)


def jsonl_item(raw: bytes, n: int, name: str, parse: Parse) -> Item | None:
    """Physical line `n` of a JSONL file as `iter_records` gives it (None: blank)."""
    line = raw[3:] if n == 1 and raw.startswith(codecs.BOM_UTF8) else raw
    return _parse_line(line, name, n, parse) if line.strip() else None


def _jsonl(stream: Any, name: str, parse: Parse) -> Iterator[Item]:
    n = 0
    try:
        for n, raw in enumerate(stream, start=1):
            if (item := jsonl_item(raw, n, name, parse)) is not None:
                yield item
    except _GZIP_ERRORS as e:
        yield n + 1, InputError(name, n + 1, None, _corrupt(e, "corrupt or truncated"))


def _document(text: str, name: str, parse: Parse) -> Iterator[Item]:
    if not text.strip():
        return
    try:
        obj, suspect = parse_json(text)
    except JSONTextError as e:
        # Not one document: JSONL when most lines are records on their own (a broken
        # pretty-printed document has almost no line that parses alone).
        lines = text.split("\n")  # only "\n": JSON strings may hold U+2028 and friends
        items = [_parse_line(ln, name, n, parse) for n, ln in enumerate(lines, 1) if ln.strip()]
        good = sum(1 for _, it in items if not _bad_json(it))
        if len(items) > 1 and 2 * good >= len(items):
            yield from items
            return
        line = e.line or 1
        yield line, InputError(name, line, None, e.message)
        return
    if not isinstance(obj, list):
        yield 1, _record(obj, name, 1, parse, "line-1", suspect)
        return
    for n, (line, item) in enumerate(_array_lines(text, obj), start=1):
        got = _record(item, name, line, parse, f"item-{n}", suspect)
        if isinstance(got, InputError):
            got = InputError(name, line, got.field, f"{got.message} (array item {n})")
        yield n, got


def _bad_json(item: object) -> bool:
    return isinstance(item, InputError) and item.message.startswith(
        ("invalid JSON", "expected a JSON object")
    )


def _array_lines(text: str, items: list) -> Iterator[tuple[int, object]]:
    """(line where it starts, item) for each item of an already-validated JSON array."""
    decoder, pos, line, counted = json.JSONDecoder(), text.index("[") + 1, 1, 0
    for item in items:
        while text[pos] in " \t\r\n,":
            pos += 1
        line += text.count("\n", counted, pos)
        counted = pos
        yield line, item
        _, pos = decoder.raw_decode(text, pos)


def read_single(path: str, fmt: str | None = None) -> Trace:
    """The one trace in `path`; raises InputError if it is unreadable or holds several."""
    items = iter_traces(path, fmt)
    _, first = next(items)
    if isinstance(first, InputError):
        raise first
    if next(items, None) is not None:
        name = STDIN_NAME if str(path) == "-" else str(path)
        raise InputError(name, None, None, "holds more than one record; expected a single trace")
    return first
