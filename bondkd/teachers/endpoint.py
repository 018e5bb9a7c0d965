"""An OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp, hosted APIs),
through the `openai` client.

The client sends the request (`max_retries=0`); the retry policy stays bondkd's own,
because openai's differs from what the docs promise: it caps backoff at 8 s with 0-25 %
jitter instead of full jitter, retries 408/409 too, gives up on a Retry-After over 2 min,
does not retry a 200 whose body is not a chat completion, and would spend its retries on
llama-cpp-python's 500 before the json_object fallback below could switch over.

Retries with exponential backoff and full jitter on 429, 5xx, timeouts, connection
errors and replies that are not chat-completions JSON; `Retry-After` wins when the
server sends it. Other 4xx fail at once: they would fail on every retry. The API key
is read from the environment at call time, sent only in the Authorization header and
scrubbed from every error message. The reply body is parsed here, not by openai's
types, so that providers' `reasoning_content` and malformed bodies are handled as before.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import threading
import time
import urllib.parse
from typing import Any

import openai

from bondkd.teachers.base import ChatReply, ChatRequest
from bondkd.teachers.errors import TeacherError

_MAX_WAIT_S = 60.0
_SUFFIX = "/chat/completions"
# openai's constructor insists on a key; every request sets or omits the Authorization
# header itself (`_once`), so this value is never sent.
_NO_KEY = "unused-bondkd-sets-authorization-per-request"


def chat_url(url: str) -> str:
    """Base URL → the chat-completions URL: `host` → `host/v1/chat/completions`,
    `.../v1` (or any other base path) → `.../chat/completions`, a full URL as is."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1" + _SUFFIX
    elif not path.endswith(_SUFFIX):
        path += _SUFFIX
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def client_base(url: str) -> tuple[str, dict[str, str]]:
    """(openai `base_url`, `default_query`) for `url`: openai appends `chat/completions`
    to the base URL as a string, after any query string (Azure's `api-version`) left in it."""
    parts = urllib.parse.urlsplit(chat_url(url))
    base = parts.path[: -len(_SUFFIX)]
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query = dict(pairs)
    if len(query) < len(pairs):  # openai sends a list as `a[]=1&a[]=2`, not as given
        raise TeacherError(f"{public_url(url)}: a repeated query parameter", fatal=True)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, base, "", "")), query


def public_url(url: str) -> str:
    """The URL without user info or query string, which may carry credentials."""
    p = urllib.parse.urlsplit(url)
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{p.port}" if p.port else "")
    return urllib.parse.urlunsplit((p.scheme, netloc, p.path, "", ""))


class _Retry(Exception):
    def __init__(self, reason: str, wait_s: float | None = None, free: bool = False) -> None:
        self.reason, self.wait_s, self.free = reason, wait_s, free  # free: not an attempt
        super().__init__(reason)


class EndpointTeacher:
    """`chat()` is thread-safe; at most `concurrency` requests are in flight at once."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 4,
        timeout_s: float = 120.0,
        retries: int = 4,
        backoff_s: float = 0.5,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number in range
        except ValueError as e:  # the message names the port, never the user info
            raise TeacherError(f"teacher URL: {e}", fatal=True) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TeacherError(f"{public_url(url)}: not an http(s) URL", fatal=True)
        if concurrency < 1 or retries < 0 or timeout_s <= 0:
            raise TeacherError("concurrency >= 1, retries >= 0 and timeout > 0 are required")
        self.url = chat_url(url)
        self.shown = public_url(self.url)
        self.model = model
        self.id = f"{public_url(url).rstrip('/')}#{model}"
        self.api_key_env = api_key_env
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self._slots = threading.BoundedSemaphore(concurrency)
        # OpenAI's "json_schema" response format first; llama-cpp-python only knows
        # "json_object" + "schema", so the first error naming response_format switches over.
        self._schema_style = "json_schema"
        base_url, query = client_base(url)
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=_NO_KEY,
            timeout=timeout_s,
            max_retries=0,
            default_query=query or None,
        )

    def chat(self, request: ChatRequest) -> ChatReply:
        with self._slots:
            attempt = 0
            while True:
                try:
                    return self._once(request)
                except _Retry as e:
                    if e.free:
                        continue
                    if attempt >= self.retries:
                        raise TeacherError(
                            f"{self.shown}: {e.reason} (gave up after {attempt + 1} attempts)"
                        ) from None
                    # full jitter: concurrent clients spread out instead of retrying in step
                    backoff = random.uniform(0, self.backoff_s * 2**attempt)
                    time.sleep(min(_MAX_WAIT_S, e.wait_s if e.wait_s is not None else backoff))
                    attempt += 1

    def body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.json_schema is not None:
            if self._schema_style == "json_schema":
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "reply", "schema": request.json_schema},
                }
            else:
                body["response_format"] = {"type": "json_object", "schema": request.json_schema}
        return body

    def _once(self, request: ChatRequest) -> ChatReply:
        body = self.body(request)
        key = os.environ.get(self.api_key_env)
        # Omit, not an empty Bearer: keyless local servers get no Authorization at all.
        headers: dict[str, str | openai.Omit] = {
            "Authorization": f"Bearer {key}" if key else openai.Omit(),
            # openai adds these from $OPENAI_ORG_ID / $OPENAI_PROJECT_ID; a third-party
            # endpoint has no business seeing them, and bondkd never sent them.
            "OpenAI-Organization": openai.Omit(),
            "OpenAI-Project": openai.Omit(),
        }
        start = time.monotonic()
        try:
            resp = self.client.chat.completions.with_raw_response.create(
                model=body["model"],
                messages=body["messages"],
                temperature=body["temperature"],
                max_tokens=body["max_tokens"],
                # seed, and response_format with llama-cpp-python's "schema" key, are sent
                # as they are, outside openai's typed parameters
                extra_body={k: body[k] for k in ("seed", "response_format") if k in body},
                extra_headers=headers,
            )
            raw = resp.http_response.content
        except openai.APIStatusError as e:
            self._http_error(e, body, key)
            raise AssertionError("unreachable") from None
        except openai.APITimeoutError:
            raise _Retry(f"timed out after {self.timeout_s:g} s") from None
        except openai.APIConnectionError as e:
            reason = _one_line(str(e.__cause__ or e))
            raise _Retry(f"connection failed: {_scrub(reason, key)}") from None
        except openai.OpenAIError as e:  # the client refused the request itself
            what = _scrub(_one_line(f"{type(e).__name__}: {e}"), key)
            raise TeacherError(f"{self.shown}: {what}", fatal=True) from None
        return self._reply(raw, time.monotonic() - start)

    def _http_error(self, e: openai.APIStatusError, sent: dict[str, Any], key: str | None) -> None:
        try:
            body = e.response.text
        except Exception:  # a body that could not be read or decoded: the status says enough
            body = ""
        detail = _scrub(_error_message(body), key)
        code = e.status_code
        what = f"HTTP {code}" + (f": {detail}" if detail else "")
        # Servers without OpenAI's "json_schema" response format reject it with a 400 or 422,
        # or a 500 (llama-cpp-python); their error names the field. Switch once, for free.
        # Judged on what this request sent: a concurrent one may have switched already.
        if (
            sent.get("response_format", {}).get("type") == "json_schema"
            and code in (400, 422, 500)
            and ("response_format" in body or "json_schema" in body)
        ):
            self._schema_style = "json_object"
            raise _Retry(what, 0.0, free=True)
        if code == 429 or code >= 500:
            raise _Retry(what, _retry_after(e.response.headers.get("Retry-After")))
        raise TeacherError(f"{self.shown}: {what}", fatal=True)

    def _reply(self, raw: bytes, latency: float) -> ChatReply:
        try:
            doc = json.loads(raw)
            msg = doc["choices"][0]["message"]
            text = msg.get("content") or ""
            if not isinstance(text, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            # a proxy cut the body, or a server hiccup: worth another attempt
            raise _Retry(f"malformed reply ({type(e).__name__}: {str(e)[:80]})") from None
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        usage = {
            k: int(v)
            for k, v in (doc.get("usage") or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        return ChatReply(
            text=text,
            reasoning=reasoning if isinstance(reasoning, str) and reasoning.strip() else None,
            model=str(doc.get("model") or self.model),
            usage=usage,
            latency_s=latency,
        )


def _error_message(text: str) -> str:
    try:
        doc = json.loads(text)
        err = doc.get("error", doc) if isinstance(doc, dict) else doc
        text = str(err.get("message", err) if isinstance(err, dict) else err)
    except ValueError:
        pass
    return " ".join(text.split())[:200]


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def _scrub(text: str, key: str | None) -> str:
    return text.replace(key, "***") if key else text


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
