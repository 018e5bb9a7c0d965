"""User-facing errors: one line naming file, line and field; the CLI prints them
without a traceback and exits non-zero."""

from __future__ import annotations


class BondkdError(Exception):
    """An error whose message is fit to show a user as-is."""


class InputError(BondkdError):
    def __init__(self, path: str, line: int | None, field: str | None, message: str):
        self.path, self.line, self.field, self.message = path, line, field, message
        where = path if line is None else f"{path}:{line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")
