"""User-facing errors: one line naming file, line and field; the CLI prints them
without a traceback and exits non-zero.

Output files go through `output_path`, so a write that cannot happen fails before any
work with one of these errors, and a run that fails leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class BondkdError(Exception):
    """An error whose message is fit to show a user as-is."""


class InputError(BondkdError):
    def __init__(self, path: str, line: int | None, field: str | None, message: str):
        self.path, self.line, self.field, self.message = path, line, field, message
        where = path if line is None else f"{path}:{line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")


def json_kind(value: object) -> str:
    """The JSON name of a parsed value's type, for messages: users wrote JSON, not Python."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else type(value).__name__


def write_error(path: str | Path, e: OSError) -> BondkdError:
    """A failed write as one line: the path and what the OS said, without errno noise."""
    if isinstance(e, IsADirectoryError):
        return BondkdError(f"{path}: cannot write: is a directory, not a file")
    if isinstance(e, FileNotFoundError) and not Path(path).parent.is_dir():
        return BondkdError(f"{path}: cannot write: directory {Path(path).parent} does not exist")
    return BondkdError(f"{path}: cannot write: {e.strerror or e}")


def check_writable(path: str | Path) -> None:
    """Raise BondkdError unless `path` names a file this process may create or replace.
    The permission bits are read, not `os.access`: root may write a file its owner made
    read-only, but a file marked read-only is not ours to replace."""
    p = Path(path)
    if p.is_dir():
        raise BondkdError(f"{path}: cannot write: is a directory, not a file")
    if not p.parent.is_dir():
        raise BondkdError(f"{path}: cannot write: directory {p.parent} does not exist")
    if p.exists() and not p.stat().st_mode & 0o222:
        raise BondkdError(f"{path}: cannot write: the file is read-only")


@contextlib.contextmanager
def output_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`, renamed over it when the block ends normally and
    removed when it raises: readers never see a half-written file, and a failed run
    leaves none. The temporary file is created on entry, so an unwritable destination
    (missing directory, read-only file system) fails before the block does any work. A
    block that removes the temporary file writes nothing: `path` is left as it was."""
    check_writable(path)
    p = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as e:
        raise write_error(path, e) from None
    os.close(fd)
    try:
        yield Path(tmp)
        if not os.path.exists(tmp):
            return
        mode = p.stat().st_mode & 0o777 if p.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)  # mkstemp makes 0600; the output gets the usual mode
        os.replace(tmp, p)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        # A write to the temporary file (a full disk) is this output's failure; an error
        # naming another file is not, and keeps its own message.
        if e.filename not in (None, tmp):
            raise
        raise write_error(path, e) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
