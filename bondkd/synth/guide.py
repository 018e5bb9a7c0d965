"""Guided answers: `generate`'s answer stage with a behaviour plan per question.

`GuidedAnswers` plugs into `bondkd.generate.run.generate` (its `Answerer`), so topic trees,
questions files, samples, the rejected file, the request cache and resume all work as in
plain generation. Each (question, sample) gets the plan at its place in the run
(`plan.make_plans`, from `--seed`); every request's seed derives from `--seed`, the
question, the sample and the step, and each step's prompt holds only the steps before
it, which a re-run reads back from the cache: an interrupted run asks again for the
missing replies only.

Every trace's lineage keeps its plan and how closely it was followed (`plan.adherence`,
on the molecule of the trace as written, analysed with `--guide-backend`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bondkd.config import AnalyzeConfig
from bondkd.generate.answers import lineage, record_id
from bondkd.generate.ask import Answer, Asker, derive_seed
from bondkd.generate.config import GenerateConfig
from bondkd.generate.tree import Question, Rejected
from bondkd.quantities import answers_match
from bondkd.read.formats import parse_record
from bondkd.schema import STEP_JOINER, MoleculeDoc
from bondkd.synth import prompts
from bondkd.synth.config import GuideConfig
from bondkd.synth.plan import Plan, adherence, make_plans
from bondkd.synth.structure import TargetStructure
from bondkd.teachers.prompts import ReplyError, parse_answer


@dataclass
class GuidedAnswers:
    cfg: GenerateConfig
    guide: GuideConfig
    target: TargetStructure
    structure_hash: str = ""  # read.files.file_hash of the target document
    plans: dict[tuple[str, int], Plan] = field(default_factory=dict)
    docs: list[MoleculeDoc] = field(default_factory=list)  # molecules of the written traces
    scores: list[float] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)  # traces with a reference only
    _analyzer: Any = None

    def prepare(self, todo: list[tuple[Question, int]]) -> None:
        plans = make_plans(self.target, len(todo), self.guide, seed=self.cfg.seed)
        self.plans = {(q.id, s): p for (q, s), p in zip(todo, plans, strict=True)}

    def answer(self, asker: Asker, job: tuple[Question, int]) -> dict[str, Any] | Rejected:
        try:
            if self.guide.guide == "plan":
                return self._by_plan_prompt(asker, job)
            return self._step_by_step(asker, job)
        finally:
            asker.progress.advance("answers")

    def _temperature(self, sample: int) -> float:
        return self.cfg.temperature if sample == 0 else self.cfg.sample_temperature

    def _step_by_step(self, asker: Asker, job: tuple[Question, int]) -> dict[str, Any] | Rejected:
        q, sample = job
        plan = self.plans[(q.id, sample)]
        lang = prompts.language(q.text, self.guide.lang)
        steps: list[str] = []
        asked: list[Answer] = []
        for k, step in enumerate(plan.steps):
            request = prompts.step_request(
                q.text, steps, step, lang,
                temperature=self._temperature(sample), max_tokens=self.guide.step_tokens,
                seed=derive_seed(self.cfg.seed, "guided", q.id, sample, k), sample=sample,
            )  # fmt: skip
            got = asker.ask("answers", request)
            asked.append(got)
            if got.reply is None:
                return Rejected("answers", f"teacher_error: {got.error}", got, q.tag_path, q)
            text = prompts.written_step(got.reply.text, prompts.opener(step, lang))
            if not text:
                asker.count("answers", unparsed=1)
                return Rejected("answers", f"unparsed: step {k + 1} is empty", got, q.tag_path, q)
            steps.append(text)
        final = prompts.answer_request(
            q.text, steps, lang, max_tokens=self.guide.answer_tokens,
            seed=derive_seed(self.cfg.seed, "guided-answer", q.id, sample), sample=sample,
        )  # fmt: skip
        got = asker.ask("answers", final)
        asked.append(got)
        if got.reply is None:
            return Rejected("answers", f"teacher_error: {got.error}", got, q.tag_path, q)
        answer = prompts.final_answer_text(got.reply.text)
        if not answer:
            asker.count("answers", unparsed=1)
            return Rejected("answers", "unparsed: no final answer", got, q.tag_path, q)
        record = self._record(q, sample, STEP_JOINER.join(steps), answer, asked, plan, lang)
        record["steps"] = steps
        return record

    def _by_plan_prompt(self, asker: Asker, job: tuple[Question, int]) -> dict[str, Any] | Rejected:
        q, sample = job
        plan = self.plans[(q.id, sample)]
        lang = prompts.language(q.text, self.guide.lang)
        request = prompts.plan_request(
            q.text, plan, lang,
            temperature=self._temperature(sample), max_tokens=self.cfg.max_tokens,
            seed=derive_seed(self.cfg.seed, "guided", q.id, sample), sample=sample,
            constrained=self.cfg.constrained(),
        )  # fmt: skip
        got = asker.ask("answers", request)
        if got.reply is None:
            return Rejected("answers", f"teacher_error: {got.error}", got, q.tag_path, q)
        try:
            parsed = parse_answer(got.reply, prompts.template_for(lang))
        except ReplyError as e:
            asker.count("answers", unparsed=1)
            return Rejected("answers", f"unparsed: {e}", got, q.tag_path, q)
        return self._record(q, sample, parsed.reasoning, parsed.answer, [got], plan, lang)

    def _record(
        self,
        q: Question,
        sample: int,
        reasoning: str,
        answer: str,
        asked: list[Answer],
        plan: Plan,
        lang: str,
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": record_id(q, sample, self.cfg.samples),
            "question": q.text,
            "reasoning": reasoning,
            "answer": answer,
            "group": q.id,
        }
        if q.reference is not None:
            record["reference"] = q.reference
        lin = lineage(self.cfg, asked[0], q, sample)
        step_mode = self.guide.guide == "steps"
        lin["prompt_template"] = prompts.STEPS_PROMPT_ID if step_mode else prompts.PLAN_PROMPT_ID
        if step_mode:
            lin["params"]["max_tokens"] = self.guide.step_tokens
            lin["request_keys"] = [a.key for a in asked]
            lin["received_at"] = asked[-1].received_at
            usage: dict[str, int] = {}
            for a in asked:
                for k, v in (a.reply.usage if a.reply else {}).items():
                    usage[k] = usage.get(k, 0) + v
            lin["usage"] = usage
            lin["latency_s"] = round(sum(a.reply.latency_s for a in asked if a.reply), 3)
        lin["guide"] = {
            "mode": self.guide.guide,
            "lang": lang,
            "structure": str(self.guide.structure),
            "structure_hash": self.structure_hash,
            "sampling": self.guide.sampling,
            "plan": prompts.plan_doc(plan),
        }
        record["lineage"] = lin
        return record

    def finish(self, record: dict[str, Any]) -> dict[str, Any]:
        """The plan-following score of a written trace, into its lineage."""
        if self._analyzer is None:
            from bondkd.pipeline import Analyzer

            self._analyzer = Analyzer(AnalyzeConfig(backend=self.guide.backend))
        plan = Plan.model_validate({"steps": record["lineage"]["guide"]["plan"]})
        doc = self._analyzer.analyze(parse_record(record)).doc
        got = adherence(plan, doc)
        record["lineage"]["plan_following"] = {**got.model_dump(), "backend": self.guide.backend}
        self.docs.append(doc)
        self.scores.append(got.score)
        if record.get("reference") is not None:
            self.correct.append(answers_match(record["answer"], str(record["reference"])))
        return record
