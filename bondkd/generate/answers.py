"""The answer stage: each question × sample → a canonical trace record or a rejected one.

The first sample of a question is taken at `temperature` (the teacher's best answer), the
others at `sample_temperature` for diversity; `group` ties them together for the gate's
consensus check.
"""

from __future__ import annotations

from typing import Any

from bondkd import __version__
from bondkd.generate.ask import Answer, Asker, derive_seed
from bondkd.generate.config import GenerateConfig
from bondkd.generate.tree import Question, Rejected
from bondkd.teachers.prompts import (
    TREE_PROMPT_ID,
    ReplyError,
    answer_request,
    parse_answer,
    template,
)


def jobs(questions: list[Question], cfg: GenerateConfig) -> list[tuple[Question, int]]:
    return [(q, s) for q in questions for s in range(cfg.samples)]


def answer_one(
    asker: Asker, cfg: GenerateConfig, job: tuple[Question, int]
) -> dict[str, Any] | Rejected:
    q, sample = job
    seed = derive_seed(cfg.seed, "answer", q.id, sample)
    request = answer_request(
        q.text,
        cfg.template,
        temperature=cfg.temperature if sample == 0 else cfg.sample_temperature,
        max_tokens=cfg.max_tokens,
        seed=seed,
        sample=sample,
        constrained=cfg.constrained(),
    )
    answer = asker.ask("answers", request)
    try:
        if answer.reply is None:
            return Rejected("answers", f"teacher_error: {answer.error}", answer, q.tag_path, q)
        try:
            parsed = parse_answer(answer.reply, cfg.template)
        except ReplyError as e:
            asker.count("answers", unparsed=1)
            return Rejected("answers", f"unparsed: {e}", answer, q.tag_path, q)
        record: dict[str, Any] = {
            "id": record_id(q, sample, cfg.samples),
            "question": q.text,
            "reasoning": parsed.reasoning,
            "answer": parsed.answer,
            "group": q.id,
        }
        if q.reference is not None:
            record["reference"] = q.reference
        record["lineage"] = lineage(cfg, answer, q, sample)
        return record
    finally:
        asker.progress.advance("answers")


def record_id(q: Question, sample: int, samples: int) -> str:
    return q.id if samples == 1 else f"{q.id}-s{sample}"


def lineage(
    cfg: GenerateConfig,
    answer: Answer,
    q: Question | None = None,
    sample: int | None = None,
    stage: str = "answers",
) -> dict[str, Any]:
    """Where a record came from. Stable across re-runs from the cache (no run time, no
    cache flag), so a resumed run writes the same bytes as an uninterrupted one."""
    r, reply = answer.request, answer.reply
    out: dict[str, Any] = {"tag_path": q.tag_path if q else []}
    if cfg.topic is not None:
        out["topic"] = cfg.topic
        out["tree_prompt"] = TREE_PROMPT_ID
    else:
        out["questions_file"] = str(cfg.questions)
        out.update(q.source if q else {})
    out["prompt_template"] = template(cfg.template).id if stage == "answers" else TREE_PROMPT_ID
    out["teacher"] = answer.teacher
    out["model"] = reply.model if reply else None
    out["params"] = {
        "temperature": r.temperature,
        "max_tokens": r.max_tokens,
        "json_schema": r.json_schema is not None,
    }
    out["seed"] = r.seed
    out["sample"] = sample if sample is not None else r.sample
    out["request_key"] = answer.key
    out["received_at"] = answer.received_at
    out["usage"] = reply.usage if reply else {}
    out["latency_s"] = round(reply.latency_s, 3) if reply else None
    out["bondkd_version"] = __version__
    return out
