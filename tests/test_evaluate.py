"""`bondkd eval`: the questions reader, the CLI with scripted models, and the
CLI over a real chat-completions server on loopback (429s, timeouts, malformed replies)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import bondkd.teachers
from bondkd.cli import main
from bondkd.errors import InputError
from bondkd.evaluate.result import EvalResult, EvalRow
from bondkd.evaluate.runner import read_questions
from bondkd.teachers.base import ChatReply, ChatRequest
from bondkd.teachers.errors import TeacherError
from tests.chat_server import Action, ChatServer

# -- the questions file ------------------------------------------------------------------

QUESTIONS = [
    {
        "question": "Ann has 3 apples and buys 4 more. How many apples does she have?",
        "answer": "She has 3 + 4 = <<3+4=7>>7 apples.\n#### 7",
    },
    {"question": "A box holds 6 eggs. How many eggs are in 5 boxes?", "reference": "30"},
    {
        "id": "q-three",
        "question": "Tom reads 12 pages a day for 4 days. How many pages?",
        "reference": 48,
    },
    {"question": "What is 100 divided by 4?", "answer": "100 / 4 = 25\n#### 25"},
]


def write_questions(path: Path, recs: list, extra: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in recs] + list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_questions_layouts_and_limit(tmp_path: Path) -> None:
    p = write_questions(tmp_path / "q.jsonl", QUESTIONS)
    qs = read_questions(str(p))
    assert [q.reference for q in qs] == ["7", "30", "48", "25"]
    assert [q.id for q in qs] == ["line-1", "line-2", "q-three", "line-4"]
    assert [q.line for q in qs] == [1, 2, 3, 4]
    assert len(read_questions(str(p), limit=2)) == 2


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"answer": "#### 3"}, "question"),
        ({"question": "  ", "answer": "#### 3"}, "question"),
        ({"question": "How many?"}, "reference"),
        ({"question": "How many?", "reference": ["3"]}, "reference"),
        ({"question": "How many?", "answer": ""}, "answer"),
    ],
)
def test_bad_question_names_line_and_field(tmp_path: Path, record: dict, field: str) -> None:
    p = write_questions(tmp_path / "q.jsonl", [*QUESTIONS[:2], record])
    with pytest.raises(InputError) as e:
        read_questions(str(p))
    assert (e.value.line, e.value.field) == (3, field)
    assert str(e.value).startswith(f"{p}:3: field '{field}'")


# -- scripted models ---------------------------------------------------------------------


def think(reasoning: str, answer: str) -> str:
    return f"<think>{reasoning}</think>\n{answer}"


class Scripted:
    """A Teacher whose reply to a question comes from a function of the question."""

    def __init__(self, name: str, reply: Callable[[str], str | Exception]) -> None:
        self.id = f"scripted:{name}"
        self.reply = reply
        self.calls = 0
        self._lock = threading.Lock()

    def chat(self, request: ChatRequest) -> ChatReply:
        with self._lock:
            self.calls += 1
        got = self.reply(request.messages[-1]["content"])
        if isinstance(got, Exception):
            raise got
        return ChatReply(
            text=got,
            model=self.id,
            usage={"completion_tokens": len(got.split())},
            latency_s=0.01 * len(got),
        )


def teacher_reply(q: str) -> str:
    """Right on every question, with reasoning of a few steps."""
    if "apples" in q:
        return think("Ann starts with 3 apples. She buys 4 more, so 3 + 4 = 7.", "7")
    if "eggs" in q:
        return think("Each box holds 6 eggs. Five boxes hold 5 * 6 = 30 eggs.", "\\boxed{30}")
    if "pages" in q:
        return think("He reads 12 pages a day. Over 4 days that is 12 * 4 = 48.", "48 pages")
    return think("100 / 4 = 25. Wait, let me check: 25 * 4 = 100.", "25")


def student_reply(q: str) -> str:
    """Right twice (once without the format), wrong once, once a hostile reply."""
    if "apples" in q:
        return think("3 + 4 = 7.", "7")
    if "eggs" in q:
        return "5 boxes of 6 is 30. The answer is 30."  # no <think>: non-compliant, right
    if "pages" in q:
        return think("12 * 4 = 46.", "46")
    return think("<script>alert(1)</script> 100 / 4 = 20.", "<img src=x onerror=alert(2)>")


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Scripted]:
    made: dict[str, Scripted] = {}

    def fatal(q: str) -> Exception:
        return TeacherError("http://x/v1: HTTP 401: bad key", fatal=True)

    def flaky(q: str) -> str | Exception:
        return TeacherError("gave up after 5 attempts") if "eggs" in q else teacher_reply(q)

    replies = {"student": student_reply, "teacher": teacher_reply, "fatal": fatal, "flaky": flaky}

    def make(spec: str, model: str | None = None, **_: object) -> Scripted:
        made[spec] = Scripted(spec, replies[spec])
        return made[spec]

    monkeypatch.setattr(bondkd.teachers, "make_teacher", make)
    return made


def run_eval(
    tmp_path: Path,
    *extra: str,
    student: str = "student",
    teacher: str = "teacher",
    questions: Path | None = None,
) -> tuple[int, Path]:
    q = questions or write_questions(tmp_path / "q.jsonl", QUESTIONS)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    code = main(
        [
            "eval",
            str(q),
            "--student",
            student,
            "--teacher",
            teacher,
            "--json",
            str(out / "eval.json"),
            "--html",
            str(out / "eval.html"),
            "--rows",
            str(out / "rows.jsonl"),
            *extra,
        ]
    )
    return code, out


def load(out: Path) -> tuple[EvalResult, list[EvalRow]]:
    result = EvalResult.model_validate_json((out / "eval.json").read_text(encoding="utf-8"))
    rows = [EvalRow.model_validate_json(x) for x in (out / "rows.jsonl").read_text().splitlines()]
    return result, rows


def test_cli_end_to_end(tmp_path: Path, scripted: dict, capsys: pytest.CaptureFixture) -> None:
    code, out = run_eval(
        tmp_path,
        "--calls-per-month",
        "10000",
        "--student-cost",
        "0.001",
        "--teacher-cost",
        "0.01",
        "--distill-cost",
        "180",
    )
    assert code == 0
    result, rows = load(out)
    assert result.n == len(rows) == 4
    assert [r.outcome for r in rows] == ["tie", "tie", "loss", "loss"]
    assert (result.teacher.correct, result.student.correct) == (4, 2)
    assert (result.teacher.compliant, result.student.compliant) == (4, 3)
    assert rows[1].student.answer_source == "fallback" and rows[1].student.correct
    assert rows[1].student.format_error
    assert result.retention == pytest.approx(0.5)
    assert (result.outcomes.win, result.outcomes.tie, result.outcomes.loss) == (0, 2, 2)
    assert result.cost.monthly_saving == pytest.approx(90.0)
    assert result.cost.break_even_months == pytest.approx(2.0)
    assert result.student.median_latency_s is not None
    cmp = result.structure.comparison
    assert result.structure.backend == "lexical" and cmp is not None
    assert (result.structure.teacher_traces, result.structure.student_traces) == (4, 4)
    assert 0.0 <= cmp.role_js <= 1.0
    assert scripted["student"].calls == scripted["teacher"].calls == 4
    printed = capsys.readouterr().out
    for label in (
        "answer accuracy",
        "format compliance",
        "median latency",
        "retention",
        "win / tie / loss",
        "break-even",
        "role-transition JS",
    ):
        assert label in printed
    assert "0 / 2 / 2" in printed and "2.0" in printed

    html = (out / "eval.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)" in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert html.count("<script") == 1  # the JSON data block only; the page runs no script
    assert "'sha256-" not in html  # so the CSP allows no script at all
    assert "Ann has 3 apples" in html and html.count('class="loss"') == 2


def test_cli_limit_and_quiet(tmp_path: Path, scripted: dict, capsys) -> None:
    code, out = run_eval(tmp_path, "--limit", "2", "-q", "--no-structure")
    assert code == 0 and capsys.readouterr().out == ""
    result, rows = load(out)
    assert result.n == 2 and result.structure is None and len(rows) == 2
    assert result.cost.monthly_saving is None  # no prices given: no cost model


def test_cli_bad_questions_file(tmp_path: Path, scripted: dict, capsys) -> None:
    bad = write_questions(tmp_path / "bad.jsonl", QUESTIONS[:2], extra=('{"question": 3}',))
    code, _ = run_eval(tmp_path, questions=bad)
    err = capsys.readouterr().err
    assert code == 2
    want = f"bondkd: error: {bad}:3: field 'question': missing or not a non-empty string"
    assert err.strip() == want
    assert "Traceback" not in err and not scripted  # failed before any model was made
    broken = write_questions(tmp_path / "broken.jsonl", QUESTIONS[:1], extra=("{not json",))
    assert run_eval(tmp_path, questions=broken)[0] == 2
    assert f"{broken}:2: invalid JSON" in capsys.readouterr().err
    assert run_eval(tmp_path, questions=tmp_path / "missing.jsonl")[0] == 2
    assert run_eval(tmp_path, "--limit", "0")[0] == 2
    assert run_eval(tmp_path, student="http://127.0.0.1:9/v1")[0] == 2
    assert "--student http://127.0.0.1:9/v1: an endpoint needs --student-model" in (
        capsys.readouterr().err
    )
    assert run_eval(tmp_path, "--student-cost", "-1")[0] == 2
    err = capsys.readouterr().err
    assert "field 'cost.student_cost'" in err and "Traceback" not in err


def test_config_file_and_overrides(tmp_path: Path, scripted: dict, capsys) -> None:
    cfg = tmp_path / "eval.toml"
    cfg.write_text("max_tokens = 64\n[cost]\nstudent_cost = 0.001\nteacher_cost = 0.01\n")
    code, out = run_eval(tmp_path, "--config", str(cfg), "--teacher-cost", "0.002", "-q")
    assert code == 0
    result, _ = load(out)
    assert result.config["max_tokens"] == 64 and result.config["analyze"]["backend"] == "lexical"
    assert result.cost.teacher_cost_per_call == 0.002  # the option wins over the file
    assert result.cost.monthly_saving == pytest.approx(100_000 * 0.001)
    cfg.write_text("max_tokens = 64\nbogus = 1\n")
    assert run_eval(tmp_path, "--config", str(cfg))[0] == 2
    err = capsys.readouterr().err
    assert f"{cfg}: field 'bogus'" in err and "Traceback" not in err


def test_failed_calls_keep_their_rows(tmp_path: Path, scripted: dict, capsys) -> None:
    code, out = run_eval(tmp_path, teacher="flaky")
    assert code == 1  # results written, but some calls failed
    result, rows = load(out)
    assert result.n == 4 and result.teacher.errors == 1
    bad = rows[1].teacher
    assert bad.error and not bad.correct and not bad.compliant and bad.latency_s is None
    assert "1 call(s) failed" in capsys.readouterr().err


def test_fatal_backend_error_stops_the_run(tmp_path: Path, scripted: dict, capsys) -> None:
    code, out = run_eval(tmp_path, teacher="fatal")
    assert code == 2 and not (out / "eval.json").exists()
    err = capsys.readouterr().err
    assert err.strip() == "bondkd: error: http://x/v1: HTTP 401: bad key"


# -- over a real chat-completions server on loopback -------------------------------------


def scripted_server() -> tuple[ChatServer, dict[str, int]]:
    """Scripted by question: "apples" first gets a 429, "eggs" a reply that ignores the
    format, "pages" a body that is not JSON (retried), "divided" no reply before the
    client's timeout on any attempt, anything else the teacher's reply. The timeout is
    generous (2 s) because the tests run under `nice` on a loaded machine. `seen` counts the
    attempts per (model, question)."""
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def script(body: dict, n: int) -> Action:
        q = body["messages"][-1]["content"]
        with lock:
            key = f"{body['model']}:{q[:12]}"
            seen[key] = attempt = seen.get(key, 0) + 1
        if "apples" in q and attempt == 1:
            return Action("slow down", status=429, headers={"Retry-After": "0"})
        if "pages" in q and attempt == 1:
            return Action(raw=b'{"choices": [{"mess')
        if "divided" in q:  # held until the server closes: the client times out
            return Action(teacher_reply(q), hold=True)
        return Action("I think it is 30." if "eggs" in q else teacher_reply(q))

    return ChatServer(script), seen


def test_over_loopback_http(tmp_path: Path, capsys) -> None:
    server, seen = scripted_server()
    q = write_questions(tmp_path / "q.jsonl", QUESTIONS)
    with server:
        code = main(
            [
                "eval",
                str(q),
                "--student",
                server.url,
                "--student-model",
                "small",
                "--teacher",
                server.url,
                "--teacher-model",
                "big",
                "--timeout",
                "2",
                "--retries",
                "1",
                "--json",
                str(tmp_path / "e.json"),
                "--rows",
                str(tmp_path / "r.jsonl"),
                "--html",
                str(tmp_path / "e.html"),
            ]
        )
    assert code == 1  # the stalled question failed on both sides; every row is there
    result = EvalResult.model_validate_json((tmp_path / "e.json").read_text())
    rows = [EvalRow.model_validate_json(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert result.n == len(rows) == 4
    assert result.student.id.endswith("#small") and result.teacher.id.endswith("#big")
    apples, eggs, pages, divided = rows
    calls = lambda model, row: seen[f"{model}:{row.question[:12]}"]  # noqa: E731
    assert apples.student.correct and apples.teacher.correct  # after the 429
    assert calls("small", apples) == calls("big", apples) == 2
    assert pages.student.correct and calls("small", pages) == 2  # after the bad body
    for side in (eggs.student, eggs.teacher):  # a reply that ignores the format
        assert not side.compliant and side.format_error and side.text == "I think it is 30."
        assert side.answer is None and side.answer_source == "none" and not side.correct
    assert eggs.outcome == "tie"
    for side in (divided.student, divided.teacher):
        assert side.error and "timed out" in side.error and not side.compliant
    assert calls("small", divided) == calls("big", divided) == 2  # one try, one retry
    assert result.student.errors == result.teacher.errors == 1
    assert result.student.usage["completion_tokens"] == 3 * 7  # the server's usage, summed
    assert "Traceback" not in capsys.readouterr().err


# -- the packaged model ------------------------------------------------------------------


@pytest.mark.slow
def test_local_smollm2_both_sides(tmp_path: Path, capsys) -> None:
    q = write_questions(tmp_path / "q.jsonl", QUESTIONS[:3])
    code, out = run_eval(
        tmp_path, "--max-tokens", "96", questions=q, student="local", teacher="local"
    )
    assert code == 0
    result, rows = load(out)
    assert result.n == 3 and result.student.errors == result.teacher.errors == 0
    # the same model, greedy, same prompt: the same replies, so every question is a tie
    assert [r.student.text for r in rows] == [r.teacher.text for r in rows]
    assert result.outcomes.tie == 3 and result.student.median_latency_s > 0
    assert "answer accuracy" in capsys.readouterr().out
