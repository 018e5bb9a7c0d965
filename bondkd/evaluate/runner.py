"""Ask a student and a teacher the same questions, score both, compare their structure.

Every question yields exactly one row, whatever happens to a call: a reply that does not
follow the format is scored as non-compliant (its final answer, if it states one, still
counts for accuracy), and a call that fails after the backend's retries is a row with an
`error`, counted wrong and non-compliant. Only a fatal backend error (bad key, unknown
model) stops the run, since it would fail every remaining call the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

from bondkd.errors import InputError
from bondkd.evaluate import metrics
from bondkd.evaluate.config import EvalConfig
from bondkd.evaluate.result import (
    EvalResult,
    EvalRow,
    SideAnswer,
    SideSummary,
    Structure,
)
from bondkd.quantities import answer_of, answers_match, final_answer, reference_answer
from bondkd.read.files import iter_records
from bondkd.read.formats import RecordError
from bondkd.schema import Trace
from bondkd.teachers.base import ChatReply, Teacher
from bondkd.teachers.errors import TeacherError

__all__ = ["EvalResult", "EvalRow", "Question", "evaluate", "read_questions"]

_REFERENCE_KEYS = ("reference", "answer", "ground_truth")  # canonical, GSM8K, GSM8K dev


@dataclass(frozen=True)
class Question:
    id: str
    line: int
    question: str
    reference: str  # the reference answer only (GSM8K: the text after ####)


def _question(obj: object, source: str = "", default_id: str = "") -> Question:
    if not isinstance(obj, dict):
        raise RecordError(None, "expected a JSON object")
    q = obj.get("question")
    if not isinstance(q, str) or not q.strip():
        raise RecordError("question", "missing or not a non-empty string")
    key = next((k for k in _REFERENCE_KEYS if obj.get(k) is not None), None)
    if key is None:
        raise RecordError("reference", "missing (give 'reference', or a GSM8K 'answer')")
    ref = obj[key]
    if isinstance(ref, (int, float)) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not ref.strip():
        raise RecordError(key, "expected a non-empty string or a number")
    rid = obj.get("id")
    line = int(source.rpartition(":")[2] or 0)
    ident = str(rid) if isinstance(rid, (str, int)) and str(rid) else default_id
    return Question(ident, line, q, reference_answer(ref)[0])


def read_questions(path: str, limit: int | None = None) -> list[Question]:
    """The first `limit` questions of a JSONL (or JSON array) file: `{question, answer}`
    (GSM8K, `#### N`), `{question, reference}` or `{question, ground_truth}`, optional `id`.
    The first bad record raises InputError(path, line, field, message)."""
    if limit is not None and limit < 1:
        raise InputError(path, None, None, "--limit must be >= 1")
    out: list[Question] = []
    for _n, item in islice(iter_records(path, _question), limit):
        if isinstance(item, InputError):
            raise item
        out.append(item)
    return out


# -- asking ------------------------------------------------------------------------------


def _failed(message: str) -> SideAnswer:
    return SideAnswer(
        text=None,
        reasoning=None,
        answer=None,
        value=None,
        answer_source="none",
        correct=False,
        compliant=False,
        format_error=None,
        error=message,
        latency_s=None,
    )


def score(reply: ChatReply, q: Question, cfg: EvalConfig) -> SideAnswer:
    """One reply against the reference: parsed when it follows `cfg.template`; otherwise
    non-compliant, with the final answer it states (strictly: a marker, or a bare value)."""
    from bondkd.teachers.prompts import ReplyError, parse_answer

    reasoning: str | None = None
    format_error: str | None = None
    try:
        parsed = parse_answer(reply, cfg.template)
        answer: str | None = parsed.answer
        reasoning = parsed.reasoning
        source = "parsed"
    except ReplyError as e:
        format_error = str(e)
        found = final_answer(reply.text)
        answer, source = (found[0], "fallback") if found else (None, "none")
    got = answer_of(answer)
    return SideAnswer(
        text=reply.text,
        reasoning=reasoning,
        answer=answer,
        value=got[1] if got else None,
        answer_source=source,  # type: ignore[arg-type]
        correct=answers_match(answer, q.reference, cfg.rel_tol),
        compliant=format_error is None,
        format_error=format_error,
        error=None,
        latency_s=reply.latency_s,
        usage=reply.usage,
        cached=reply.cached,
    )


def _ask(model: Teacher, q: Question, cfg: EvalConfig) -> SideAnswer:
    from bondkd.teachers.prompts import answer_request

    request = answer_request(
        q.question,
        cfg.template,
        temperature=cfg.temperature,
        max_tokens=cfg.max_tokens,
        seed=cfg.seed,
        constrained=cfg.constrained,
    )
    try:
        reply = model.chat(request)
    except TeacherError as e:
        if e.fatal:
            raise
        return _failed(str(e))
    return score(reply, q, cfg)


Done = Callable[[str], None]  # called with "student" or "teacher" after each answer


def ask_both(
    student: Teacher,
    teacher: Teacher,
    questions: Sequence[Question],
    cfg: EvalConfig,
    *,
    workers: tuple[int, int],
    together: bool = True,
    done: Done | None = None,
) -> tuple[list[SideAnswer], list[SideAnswer]]:
    """Both sides' answers in question order. `together`: each side on its own pool of
    `workers[side]` threads, both at once (endpoints). Otherwise one call at a time,
    alternating student and teacher question by question: two local models on one CPU
    would slow each other down, and alternating exposes both to the same machine load, so
    their latencies stay comparable when other work comes and goes."""
    sides = (("student", student), ("teacher", teacher))

    def one(side: str, model: Teacher, q: Question) -> SideAnswer:
        got = _ask(model, q, cfg)
        if done is not None:
            done(side)
        return got

    if together:
        pools = [
            ThreadPoolExecutor(w, thread_name_prefix=f"eval-{name}")
            for w, (name, _) in zip(workers, sides, strict=True)
        ]
    else:
        pools = [ThreadPoolExecutor(1, thread_name_prefix="eval")] * 2
    futures: list[list[Future[SideAnswer]]] = [[], []]
    try:
        for q in questions:
            for k, (name, model) in enumerate(sides):
                futures[k].append(pools[k].submit(one, name, model, q))
        _wait(futures[0] + futures[1])
        return [f.result() for f in futures[0]], [f.result() for f in futures[1]]
    finally:
        for pool in set(pools):  # a fatal error: drop the queued calls instead of making them
            pool.shutdown(wait=True, cancel_futures=True)


def _wait(futures: list[Future[SideAnswer]]) -> None:
    finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
    for f in finished:
        if f.exception() is not None:
            raise f.exception()  # type: ignore[misc]


# -- summary -----------------------------------------------------------------------------


def summarise(spec: str, model_id: str, answers: Sequence[SideAnswer]) -> SideSummary:
    n = len(answers)
    correct = sum(a.correct for a in answers)
    compliant = sum(a.compliant for a in answers)
    usage: dict[str, int] = {}
    for a in answers:
        for k, v in a.usage.items():
            usage[k] = usage.get(k, 0) + v
    completion = [a.usage["completion_tokens"] for a in answers if "completion_tokens" in a.usage]
    return SideSummary(
        spec=spec,
        id=model_id,
        n=n,
        correct=correct,
        accuracy=metrics.rate(correct, n),
        compliant=compliant,
        format_compliance=metrics.rate(compliant, n),
        errors=sum(a.error is not None for a in answers),
        median_latency_s=metrics.median(a.latency_s for a in answers),
        mean_completion_tokens=sum(completion) / len(completion) if completion else None,
        usage=usage,
    )


def _traces(questions: Sequence[Question], answers: Sequence[SideAnswer]) -> list[Trace]:
    """Replies as traces: the parsed reasoning of a compliant reply, the whole reply text of
    a non-compliant one (its structure is still the model's); failed calls have none."""
    out = []
    for q, a in zip(questions, answers, strict=True):
        text = a.reasoning if a.compliant and a.reasoning and a.reasoning.strip() else a.text
        if text and text.strip():
            out.append(
                Trace(
                    id=q.id,
                    question=q.question,
                    reasoning=text,
                    answer=a.answer,
                    reference=q.reference,
                )
            )
    return out


def structure(
    questions: Sequence[Question],
    student: Sequence[SideAnswer],
    teacher: Sequence[SideAnswer],
    cfg: EvalConfig,
) -> Structure:
    """Dataset-level structural distance of the student's traces to the teacher's
    (`bondkd compare`: bond-type, role and role-transition JS distances; a = teacher)."""
    from bondkd.measure.compare import compare_datasets
    from bondkd.pipeline import Analyzer

    ts, ss = _traces(questions, teacher), _traces(questions, student)
    backend = cfg.analyze.backend
    if not ts or not ss:
        return Structure(
            backend=backend,
            teacher_traces=len(ts),
            student_traces=len(ss),
            comparison=None,
            note="a side returned no reply text to analyse",
        )
    analyzer = Analyzer(cfg.analyze)  # one analyzer: the model backend loads its models once
    t_docs = [m.doc for m in analyzer.analyze_many(ts)]
    s_docs = [m.doc for m in analyzer.analyze_many(ss)]
    return Structure(
        backend=backend,
        teacher_traces=len(ts),
        student_traces=len(ss),
        comparison=compare_datasets(t_docs, s_docs),
    )


def evaluate(
    questions: Sequence[Question],
    student: Teacher,
    teacher: Teacher,
    cfg: EvalConfig,
    *,
    specs: tuple[str, str] = ("student", "teacher"),
    questions_file: str = "",
    workers: tuple[int, int] | None = None,
    together: bool = True,
    done: Done | None = None,
) -> tuple[EvalResult, list[EvalRow]]:
    """The summary and one row per question, in question order."""
    start = time.perf_counter()
    s_ans, t_ans = ask_both(
        student,
        teacher,
        questions,
        cfg,
        done=done,
        together=together,
        workers=workers or (cfg.concurrency, cfg.concurrency),
    )
    rows = [
        EvalRow(
            id=q.id,
            line=q.line,
            question=q.question,
            reference=q.reference,
            reference_value=reference_answer(q.reference)[1],
            student=s,
            teacher=t,
            outcome=metrics.outcome(s.correct, t.correct),
        )
        for q, s, t in zip(questions, s_ans, t_ans, strict=True)
    ]
    s_sum, t_sum = summarise(specs[0], student.id, s_ans), summarise(specs[1], teacher.id, t_ans)
    c = cfg.cost
    result = EvalResult(
        questions_file=questions_file,
        n=len(rows),
        student=s_sum,
        teacher=t_sum,
        retention=metrics.retention(s_sum.accuracy, t_sum.accuracy),
        outcomes=metrics.win_tie_loss([a.correct for a in s_ans], [a.correct for a in t_ans]),
        cost=metrics.cost_model(c.calls_per_month, c.student_cost, c.teacher_cost, c.distill_cost),
        structure=structure(questions, s_ans, t_ans, cfg) if cfg.structure else None,
        config=cfg.model_dump(mode="json"),
        wall_s=0.0,
    )
    result.wall_s = round(time.perf_counter() - start, 3)
    return result, rows
