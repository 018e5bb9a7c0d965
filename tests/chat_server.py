"""A loopback OpenAI-compatible chat-completions server for the tests: scripted replies,
429s with Retry-After, slow replies, malformed bodies, and a log of every request.

`ChatServer(script)` serves on 127.0.0.1 on a free port. `script(body, n)` gets the
parsed request body and the request's 0-based index and returns an `Action`; the default
script, `auto_reply`, answers tag, question and answer prompts in the formats `bondkd
generate` asks for, deterministically from the prompt. `Action(drop=True)` hangs up
without a reply. `gate` (a threading.Event) holds requests marked `hold=True` until it
is set: the kill-and-resume test uses it to freeze a run with some requests answered and
the rest in flight.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Action:
    content: str | None = None  # the assistant message; None: status-only
    status: int = 200
    reasoning: str | None = None  # sent as reasoning_content
    raw: bytes | None = None  # sent as the body instead of a chat completion
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hold: bool = False  # wait for ChatServer.gate before replying
    drop: bool = False  # close the connection without a reply, as a crashed proxy does


@dataclass
class Logged:
    n: int
    path: str
    body: dict[str, Any]
    authorization: str | None
    status: int = 0
    answered: bool = False  # the whole reply was written to the socket
    headers: dict[str, str] = field(default_factory=dict)  # as sent, names lower-cased

    @property
    def fingerprint(self) -> str:
        """What identifies a request across runs: everything the client sent."""
        return request_fingerprint(self.body)


def request_fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def kind(body: dict[str, Any]) -> str:
    """Which `generate` stage a request belongs to, from its system prompt."""
    system = body["messages"][0]["content"]
    if "curriculum designer" in system:
        return "tags"
    if "exam questions" in system:
        return "questions"
    return "answers"


def _tag(body: dict[str, Any]) -> str:
    return hashlib.sha1(body["messages"][-1]["content"].encode()).hexdigest()[:6]


def auto_reply(body: dict[str, Any], n: int) -> Action:
    """A well-behaved teacher: distinct tags and questions per prompt, reasoned answers."""
    user = body["messages"][-1]["content"]
    k = kind(body)
    if k == "tags":
        want = int(user.split("List ")[1].split()[0])
        return Action(json.dumps({"tags": [f"tag {_tag(body)} {i}" for i in range(want)]}))
    if k == "questions":
        want = int(user.split("Write ")[1].split()[0])
        qs = [f"Question {_tag(body)} {i}: what is {i + 2} times 3 plus 4?" for i in range(want)]
        return Action(json.dumps({"questions": qs}))
    if body.get("response_format"):
        return Action(
            json.dumps({"reasoning": "First 2 * 3 = 6. Then 6 + 4 = 10.", "answer": "10"})
        )
    return Action("<think>First, 2 * 3 = 6.\nThen 6 + 4 = 10.\nCheck: 10 - 4 = 6.</think>\n10")


def chat_completion(content: str, model: str, reasoning: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


class ChatServer:
    def __init__(self, script: Callable[[dict[str, Any], int], Action] = auto_reply) -> None:
        self.script = script
        self.log: list[Logged] = []
        self.gate = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answered(self, stage: str | None = None) -> list[Logged]:
        with self._lock:
            return [e for e in self.log if e.answered and (stage is None or kind(e.body) == stage)]

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                with server._lock:
                    entry = Logged(len(server.log), self.path, body, self.headers["Authorization"])
                    entry.headers = {k.lower(): v for k, v in self.headers.items()}
                    server.log.append(entry)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._serve(entry)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _serve(self, entry: Logged) -> None:
                action = server.script(entry.body, entry.n)
                if action.hold:
                    server.gate.wait(timeout=60)
                if action.delay_s:
                    time.sleep(action.delay_s)
                if action.drop:
                    self.close_connection = True
                    return
                if action.raw is not None:
                    payload = action.raw
                elif action.status == 200:
                    doc = chat_completion(
                        action.content or "", entry.body.get("model", "?"), action.reasoning
                    )
                    payload = json.dumps(doc).encode()
                else:
                    error = {"message": action.content or f"status {action.status}"}
                    payload = json.dumps({"error": error}).encode()
                try:
                    self.send_response(action.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in action.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except OSError:  # the client went away (timeout, or killed)
                    return
                entry.status = action.status
                entry.answered = action.status == 200 and action.raw is None

        return Handler
