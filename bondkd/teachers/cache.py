"""The request cache: one JSON file per request key, written atomically.

A file per key (not one shared log) because a `kill -9` can then lose at most the
reply being written, never corrupt earlier ones, and threads need no lock. The key
is `ChatRequest.key(teacher.cache_id)` (its id, plus a stamp of its weight files for a
local model: `bondkd.teachers.local.weights_stamp`), a hash of model, prompt,
parameters and sample index; neither key nor file holds credentials. Each file also
records when the reply first arrived (`received_at`), so outputs rebuilt from the cache keep their timestamps.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from bondkd.teachers.base import ChatReply, ChatRequest, Teacher


class CachingTeacher:
    """Wraps a teacher: a request already answered is served from disk (`cached=True`)."""

    def __init__(self, inner: Teacher, cache_dir: str | os.PathLike[str]) -> None:
        self.inner = inner
        self.id = inner.id
        self.dir = Path(cache_dir)
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, request: ChatRequest) -> Path:
        # cache_id: the id plus a stamp of local weight files (teachers.local.weights_stamp)
        key = request.key(getattr(self.inner, "cache_id", self.id))
        return self.dir / key[:2] / f"{key}.json"

    def get(self, request: ChatRequest) -> ChatReply | None:
        path = self.path(request)
        try:
            reply = ChatReply.model_validate_json(path.read_bytes())
        except (OSError, ValidationError, ValueError):
            return None  # absent, or left unreadable by a crash: ask again
        return reply.model_copy(update={"cached": True})

    def received_at(self, request: ChatRequest) -> str | None:
        """When the cached reply to `request` first arrived (ISO 8601, UTC), or None."""
        try:
            value = json.loads(self.path(request).read_bytes()).get("received_at")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None

    def chat(self, request: ChatRequest) -> ChatReply:
        hit = self.get(request)
        if hit is not None:
            return hit
        reply = self.inner.chat(request)
        self._put(self.path(request), reply)
        return reply

    @staticmethod
    def _put(path: Path, reply: ChatReply) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                doc = reply.model_copy(update={"cached": False}).model_dump(mode="json")
                doc["received_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
                json.dump(doc, fh, ensure_ascii=False)
            os.replace(tmp, path)  # atomic: a reader sees the whole reply or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
