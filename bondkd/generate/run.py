"""`generate()`: questions (tree or file) → answers → the traces file and the rejected file.

Both files are rebuilt in full on every run, in a fixed order (tree order, then sample
index), into `<file>.partial` and renamed at the end: an interrupted run leaves the
previous complete files in place. What makes a re-run cheap is the request cache: every
reply already received is read back from it, so only missing requests reach the teacher.

The answer stage is pluggable (`Answerer`): `bondkd generate --structure` (bondkd.synth)
answers each question by a behaviour plan instead of one plain request.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from bondkd.errors import BondkdError
from bondkd.generate.answers import answer_one, jobs, lineage, record_id
from bondkd.generate.ask import Asker, NoProgress, Progress, StageCounts
from bondkd.generate.config import GenerateConfig
from bondkd.generate.tree import Question, Rejected, leaf_questions, load_questions, tag_leaves
from bondkd.teachers import Teacher


@dataclass
class GenerateSummary:
    out: Path
    rejected_path: Path
    tags: int = 0
    leaves: int = 0
    questions: int = 0
    traces: int = 0
    rejected: int = 0
    seconds: float = 0.0
    counts: dict[str, StageCounts] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        """Requests left without a reply (teacher errors): a re-run retries them."""
        return sum(c.failed for c in self.counts.values())


class Answerer(Protocol):
    """How the answer stage answers: `prepare` sees every (question, sample) job first, in
    output order; `answer` runs on the pool and returns a record or a rejection; `finish`
    runs in order on the calling thread on each record before it is written."""

    def prepare(self, todo: list[tuple[Question, int]]) -> None: ...

    def answer(self, asker: Asker, job: tuple[Question, int]) -> dict[str, Any] | Rejected: ...

    def finish(self, record: dict[str, Any]) -> dict[str, Any]: ...


class PlainAnswers:
    """One request per job (`answers.answer_one`)."""

    def __init__(self, cfg: GenerateConfig) -> None:
        self.cfg = cfg

    def prepare(self, todo: list[tuple[Question, int]]) -> None:
        pass

    def answer(self, asker: Asker, job: tuple[Question, int]) -> dict[str, Any] | Rejected:
        return answer_one(asker, self.cfg, job)

    def finish(self, record: dict[str, Any]) -> dict[str, Any]:
        return record


class _Jsonl:
    """A JSONL file written to `<path>.partial` and renamed over `path` on commit."""

    def __init__(self, path: Path) -> None:
        if path.is_dir():
            raise BondkdError(f"{path}: is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.tmp = path, path.with_name(path.name + ".partial")
        self.fh = self.tmp.open("w", encoding="utf-8")
        self.n = 0

    def write(self, obj: dict[str, Any]) -> None:
        self.fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.n += 1

    def __enter__(self) -> _Jsonl:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.fh.flush()
        if kind is None:
            os.fsync(self.fh.fileno())
        self.fh.close()
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def rejected_line(cfg: GenerateConfig, r: Rejected) -> dict[str, Any]:
    q, reply = r.question, r.answer.reply
    line: dict[str, Any] = {"stage": r.stage, "reason": r.reason}
    if q is not None:
        line["id"] = record_id(q, r.answer.request.sample, cfg.samples)
        line["question"] = q.text
    line["tag_path"] = r.tag_path[1:] if q is None else q.tag_path
    line["raw"] = reply.text if reply else None
    if reply and reply.reasoning:
        line["raw_reasoning"] = reply.reasoning
    line["lineage"] = lineage(cfg, r.answer, q, stage=r.stage)
    return line


def generate(
    cfg: GenerateConfig,
    teacher: Teacher,
    progress: Progress | None = None,
    questions: list[Question] | None = None,
    answerer: Answerer | None = None,
) -> GenerateSummary:
    """Run the stages with `teacher` (wrap it in the cache for resumability). `questions`
    are the already loaded `--questions` file (loaded here when not given); `answerer`
    answers them (default: `PlainAnswers`)."""
    answerer = answerer or PlainAnswers(cfg)
    t0 = time.monotonic()
    s = GenerateSummary(cfg.out, cfg.rejected_path)
    rejected: list[Rejected] = []
    with ThreadPoolExecutor(cfg.concurrency, thread_name_prefix="bondkd-teacher") as pool:
        asker = Asker(teacher, pool, progress or NoProgress())
        s.counts = asker.counts
        if cfg.topic is not None:
            leaves, s.tags, bad = tag_leaves(asker, cfg)
            rejected += bad
            s.leaves = len(leaves)
            questions, bad = leaf_questions(asker, cfg, leaves)
            rejected += bad
        elif questions is None:
            assert cfg.questions is not None
            questions = load_questions(cfg.questions)
        s.questions = len(questions)
        todo = jobs(questions, cfg)
        answerer.prepare(todo)
        asker.progress.start("answers", len(todo))
        with _Jsonl(cfg.out) as out, _Jsonl(cfg.rejected_path) as rej:
            for r in rejected:
                rej.write(rejected_line(cfg, r))
            for result in asker.map(lambda job: answerer.answer(asker, job), todo):
                if isinstance(result, Rejected):
                    rej.write(rejected_line(cfg, result))
                else:
                    out.write(answerer.finish(result))
        asker.progress.finish("answers")
        s.traces, s.rejected = out.n, rej.n
    s.seconds = time.monotonic() - t0
    return s
