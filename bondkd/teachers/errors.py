"""Teacher failures. A subclass of BondkdError so the CLI prints it as one line."""

from __future__ import annotations

from bondkd.errors import BondkdError


class TeacherError(BondkdError):
    """A chat call that failed. `fatal` errors (bad key, unknown model, bad request) will
    fail for every request, so a run stops; the others (retries exhausted on 429/5xx,
    timeouts) concern one request and a later run may succeed."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        self.fatal = fatal
        super().__init__(message)
