"""What every teacher (or student) backend speaks: one chat request in, one reply out.

Backends: an OpenAI-compatible chat-completions endpoint (`endpoint.py`), llama.cpp over
the packaged GGUF (`local`), a transformers model (HF id or local path). `make_teacher`
picks one from a spec string; `generate` and `eval` only ever see `Teacher.chat`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from pydantic import BaseModel, Field

from bondkd.config import _Config


class ClientConfig(_Config):
    """How bondkd talks to a model: shared by `generate` and `eval` (and `make_teacher`)."""

    api_key_env: str = Field(
        default="OPENAI_API_KEY", description="Environment variable holding the endpoint's key."
    )
    concurrency: int = Field(default=4, ge=1, le=256, description="Requests in flight at once.")
    timeout_s: float = Field(default=120.0, gt=0.0, description="Seconds per request attempt.")
    retries: int = Field(
        default=4, ge=0, le=20, description="Retries on 429, 5xx, timeouts and malformed replies."
    )


class ChatRequest(BaseModel):
    """One chat-completions call. `key()` identifies it for the request cache."""

    messages: list[dict[str, str]] = Field(description="[{role, content}, ...]")
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1)
    seed: int | None = Field(default=None, description="Sampling seed, where the backend has one.")
    sample: int = Field(default=0, ge=0, description="Sample index: distinct cache keys.")
    json_schema: dict[str, Any] | None = Field(
        default=None, description="Constrain the reply to this JSON schema where supported."
    )

    def key(self, model: str) -> str:
        """Hash of (model, prompt, params, sample index); never includes credentials."""
        blob = json.dumps({"model": model, **self.model_dump()}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class ChatReply(BaseModel):
    text: str = Field(description="The assistant message content.")
    reasoning: str | None = Field(
        default=None, description="A provider's separate `reasoning_content`, when present."
    )
    model: str = Field(description="Model id as the backend reports it.")
    usage: dict[str, int] = Field(default_factory=dict, description="prompt/completion tokens.")
    latency_s: float = Field(default=0.0, ge=0.0, description="Wall time of the call.")
    cached: bool = Field(default=False, description="Served from the request cache.")


class Teacher(Protocol):
    """A chat model. `chat` must be safe to call from several threads at once."""

    id: str  # e.g. "local:SmolLM2-135M-Instruct" or "http://host:8000/v1#model"; no secrets

    def chat(self, request: ChatRequest) -> ChatReply: ...
