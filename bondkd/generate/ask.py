"""Sending requests for `generate`: a thread pool, results back in input order, per-stage
counts for the progress display and the summary.

A `TeacherError` marked fatal (bad key, unknown model) stops the run; any other failure
concerns one request, is returned as its reason and the request is not cached, so the next
run asks again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol, TypeVar

from bondkd.teachers import ChatReply, ChatRequest, Teacher, TeacherError

T = TypeVar("T")
R = TypeVar("R")


class Progress(Protocol):
    """What `generate` reports as it goes; the CLI draws bars from it."""

    def start(self, stage: str, total: int) -> None: ...

    def total(self, stage: str, total: int) -> None: ...

    def advance(self, stage: str) -> None: ...

    def finish(self, stage: str) -> None: ...


class NoProgress:
    def start(self, stage: str, total: int) -> None:
        pass

    def total(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str) -> None:
        pass

    def finish(self, stage: str) -> None:
        pass


@dataclass
class StageCounts:
    requests: int = 0  # replies received, from the teacher or the cache
    cached: int = 0
    failed: int = 0  # teacher errors: no reply, not cached
    unparsed: int = 0  # replies kept in the rejected file


@dataclass
class Answer:
    """One request's outcome: a reply, or the error that left it without one."""

    request: ChatRequest
    teacher: str  # Teacher.id: never holds a credential
    key: str
    reply: ChatReply | None
    error: str | None
    received_at: str


@dataclass
class Asker:
    teacher: Teacher
    pool: ThreadPoolExecutor
    progress: Progress = field(default_factory=NoProgress)
    counts: dict[str, StageCounts] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stage(self, name: str) -> StageCounts:
        with self._lock:
            return self.counts.setdefault(name, StageCounts())

    def count(self, stage: str, **add: int) -> None:
        with self._lock:
            counts = self.counts.setdefault(stage, StageCounts())
            for name, n in add.items():
                setattr(counts, name, getattr(counts, name) + n)

    def ask(self, stage: str, request: ChatRequest) -> Answer:
        key = request.key(self.teacher.id)
        try:
            reply = self.teacher.chat(request)
        except TeacherError as e:
            if e.fatal:
                raise
            self.count(stage, failed=1)
            return Answer(request, self.teacher.id, key, None, str(e), _now())
        self.count(stage, requests=1, cached=int(reply.cached))
        stamp: Callable[[ChatRequest], str | None] | None = getattr(
            self.teacher, "received_at", None
        )
        return Answer(
            request,
            self.teacher.id,
            key,
            reply,
            None,
            (stamp(request) if stamp else None) or _now(),
        )

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """fn over items on the pool, results in input order; the first exception stops
        the rest from starting and is raised."""
        futures: list[Future[R]] = [self.pool.submit(fn, x) for x in items]
        try:
            for f in futures:
                yield f.result()
        finally:
            for f in futures:
                f.cancel()


def derive_seed(base: int, *parts: object) -> int:
    """A stable per-request seed: the same request gets the same seed in every run, so
    its cache key (and a re-run's request) is the same too."""
    blob = json.dumps([base, *parts], ensure_ascii=False, default=str)
    return int.from_bytes(hashlib.sha256(blob.encode()).digest()[:4], "big") >> 1


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
