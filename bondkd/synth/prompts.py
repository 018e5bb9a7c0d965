"""Prompts that carry a behaviour plan to the teacher, in English and Chinese.

Two ways to drive a teacher (`--guide`), both plain chat requests, so they work with every
backend (llama.cpp in-process, an OpenAI-compatible endpoint, transformers):

- ``steps``: one request per planned step. The request shows the problem, the steps
  written so far and what the next step must do (compute, check step t, try another way
  from step t); the step is the plan's opener for its role (``Wait, let me check step 3:``,
  ``Alternatively,``, ``So``; 等等，让我检查第3步： …) followed by the teacher's reply. A
  last request asks for the final answer only. The steps are kept as the trace's
  pre-segmented `steps`, so step k of the molecule is planned step k.
- ``plan``: one request whose system prompt lists the whole plan, one line per step with
  its opener, and asks for the usual ``{reasoning, answer}`` reply; the teacher alone
  decides how well it follows, and the segmenter cuts its reasoning into steps.

Every prompt has a versioned id recorded in each trace's lineage; change it with the words.
"""

from __future__ import annotations

import json
import re

from bondkd.synth.plan import Plan, PlanStep
from bondkd.teachers.base import ChatRequest
from bondkd.teachers.prompts import ANSWER_SCHEMA

STEPS_PROMPT_ID = "guide-steps-v1"
PLAN_PROMPT_ID = "guide-plan-v1"

_CJK = re.compile(r"[\u4e00-\u9fff]")

# {t} is the 1-based number of the step referred to
OPENERS: dict[str, dict[str, str]] = {
    "en": {
        "normal": "",
        "deep_reasoning": "So",
        "reflection": "Wait, let me check step {t}:",
        "exploration": "Alternatively,",
    },
    "zh": {
        "normal": "",
        "deep_reasoning": "所以",
        "reflection": "等等，让我检查第{t}步：",
        "exploration": "或者，",
    },
}

_TASKS: dict[str, dict[str, str]] = {
    "en": {
        "normal": "state one fact from the problem that the solution needs next.",
        "deep_reasoning": "compute the next result from the steps so far.",
        "reflection": 'check step {t} ("{text}") by working it out again.',
        "exploration": 'try a different way to get what step {t} ("{text}") found.',
        "exploration0": "try a different way into the problem.",
    },
    "zh": {
        "normal": "写出题目中接下来要用到的一个条件。",
        "deep_reasoning": "根据已有步骤算出下一个结果。",
        "reflection": "重新算一遍第{t}步（“{text}”），检查它对不对。",
        "exploration": "换一种方法得到第{t}步（“{text}”）的结果。",
        "exploration0": "换一种思路来解这道题。",
    },
}

_STEP_SYSTEM = {
    "en": "You solve a problem one step at a time. Reply with the requested step only: "
    "one short sentence, no numbering.",
    "zh": "你在逐步解一道题。只写要求的这一步：一句简短的话，不要编号。",
}
_ANSWER_SYSTEM = {
    "en": "Reply with the final answer only: a number or a short phrase, no explanation.",
    "zh": "只写最终答案：一个数或一个短语，不要解释。",
}


def language(text: str, lang: str = "auto") -> str:
    """'zh' for text with Chinese characters, else 'en' (or the language asked for)."""
    if lang != "auto":
        return lang
    return "zh" if _CJK.search(text) else "en"


def opener(step: PlanStep, lang: str) -> str:
    t = "" if step.ref is None else str(step.ref + 1)
    if step.role == "reflection" and step.ref is None:
        return "Wait, let me check:" if lang == "en" else "等等，让我检查一下："
    return OPENERS[lang][step.role].format(t=t)


def _task(step: PlanStep, lang: str, steps: list[str]) -> str:
    key: str = step.role
    if step.role == "exploration" and step.ref is None:
        key = "exploration0"
    if step.ref is None and step.role == "reflection":
        key = "deep_reasoning"
    text = steps[step.ref] if step.ref is not None and step.ref < len(steps) else ""
    return _TASKS[lang][key].format(t="" if step.ref is None else step.ref + 1, text=text)


def _listing(steps: list[str]) -> str:
    return "\n".join(f"{i}. {s}" for i, s in enumerate(steps, start=1))


def step_request(
    question: str,
    steps: list[str],
    step: PlanStep,
    lang: str,
    *,
    temperature: float,
    max_tokens: int,
    seed: int,
    sample: int = 0,
) -> ChatRequest:
    """The request for planned step `len(steps)` given the steps written so far."""
    k, start = len(steps) + 1, opener(step, lang)
    if lang == "zh":
        done = f"\n\n已有步骤：\n{_listing(steps)}" if steps else ""
        user = f"题目：{question}{done}\n\n第{k}步：{_task(step, lang, steps)}"
        user += f"以“{start}”开头。" if start else ""
    else:
        done = f"\n\nSteps so far:\n{_listing(steps)}" if steps else ""
        user = f"Problem: {question}{done}\n\nStep {k}: {_task(step, lang, steps)}"
        user += f'\nStart with: "{start}"' if start else ""
    return ChatRequest(
        messages=[
            {"role": "system", "content": _STEP_SYSTEM[lang]},
            {"role": "user", "content": user},
        ],
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        sample=sample,
    )


def answer_request(
    question: str, steps: list[str], lang: str, *, max_tokens: int, seed: int, sample: int = 0
) -> ChatRequest:
    """The closing request: the final answer of the steps written (greedy)."""
    if lang == "zh":
        user = f"题目：{question}\n\n解题步骤：\n{_listing(steps)}\n\n最终答案："
    else:
        user = f"Problem: {question}\n\nSolution steps:\n{_listing(steps)}\n\nFinal answer:"
    return ChatRequest(
        messages=[
            {"role": "system", "content": _ANSWER_SYSTEM[lang]},
            {"role": "user", "content": user},
        ],
        temperature=0.0,
        max_tokens=max_tokens,
        seed=seed,
        sample=sample,
    )


_NUMBERING = re.compile(r"^(?:(?:step|第)\s*\d+\s*(?:步)?\s*[:.：、)]?|\d+\s*[.)、:：])\s*", re.I)


def written_step(reply: str, start: str) -> str:
    """The step as kept: the opener, then the first non-blank line of the reply without a
    leading "Step 3:" / "3." and without the opener when the teacher repeated it. "" when
    the reply has no text of its own."""
    line = next((x.strip() for x in reply.splitlines() if x.strip()), "")
    line = _NUMBERING.sub("", line, count=1).strip()
    if start and line.casefold().startswith(start.casefold()):
        line = line[len(start) :].strip()
    elif start and line.casefold().startswith(start.rstrip(":：,，").casefold()):
        line = line[len(start.rstrip(":：,，")) :].lstrip(":：,， ").strip()
    if not line:
        return ""
    if not start:
        return line
    if not start.endswith((":", "：")) and line[:1].isupper() and line[1:2].islower():
        line = line[0].lower() + line[1:]  # "So the answer", not "So The answer"
    sep = "" if start.endswith(("：", "，")) or _CJK.search(start[-1:]) else " "
    return f"{start}{sep}{line}"


def final_answer_text(reply: str) -> str:
    """The first non-blank line of an answer reply, without a leading "Answer:" label."""
    line = next((x.strip() for x in reply.splitlines() if x.strip()), "")
    return re.sub(r"^(?:final answer|answer|最终答案|答案)\s*[:：]\s*", "", line, flags=re.I)[:200]


# --- the plan in one prompt ----------------------------------------------------------

_PLAN_LINES: dict[str, dict[str, str]] = {
    "en": {
        "normal": "state a fact from the problem.",
        "deep_reasoning": 'start with "So" and compute a result from the steps before.',
        "reflection": 'start with "{o}" and work step {t} out again.',
        "exploration": 'start with "Alternatively," and try another way to get step {t}.',
        "exploration0": 'start with "Alternatively," and try a different way into the problem.',
    },
    "zh": {
        "normal": "写出题目中的一个条件。",
        "deep_reasoning": "以“所以”开头，根据前面的步骤算出一个结果。",
        "reflection": "以“{o}”开头，重新算一遍第{t}步。",
        "exploration": "以“或者，”开头，换一种方法得到第{t}步的结果。",
        "exploration0": "以“或者，”开头，换一种思路解题。",
    },
}


def plan_text(plan: Plan, lang: str) -> str:
    lines = []
    for k, step in enumerate(plan.steps, start=1):
        key: str = step.role
        if step.role == "exploration" and step.ref is None:
            key = "exploration0"
        if step.role == "reflection" and step.ref is None:
            key = "deep_reasoning"
        t = "" if step.ref is None else step.ref + 1
        lines.append(f"{k}. " + _PLAN_LINES[lang][key].format(o=opener(step, lang), t=t))
    return "\n".join(lines)


def plan_request(
    question: str,
    plan: Plan,
    lang: str,
    *,
    temperature: float,
    max_tokens: int,
    seed: int,
    sample: int = 0,
    constrained: bool = False,
) -> ChatRequest:
    """One request with the whole plan; the reply is the usual {reasoning, answer}."""
    n = len(plan.steps)
    if lang == "zh":
        system = (
            f"你是一位细心的老师。用正好 {n} 步解题，每步一句话、单独一行，按这个计划：\n"
            f"{plan_text(plan, lang)}\n"
        )
        system += (
            '只输出一个 JSON 对象 {"reasoning": "…", "answer": "…"}：reasoning 是这些步骤，'
            "answer 只写最终答案。"
            if constrained
            else "先在【思考过程】下写这些步骤，然后在【最终答案】下只写最终答案。"
        )
    else:
        system = (
            f"You are a careful teacher. Solve the problem in exactly {n} steps, one "
            f"sentence per step, each on its own line, following this plan:\n"
            f"{plan_text(plan, lang)}\n"
        )
        system += (
            'Reply with one JSON object {"reasoning": "...", "answer": "..."}: the steps as '
            "the reasoning, then only the final answer."
            if constrained
            else "Write the steps inside <think> and </think>, then only the final answer."
        )
    return ChatRequest(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        sample=sample,
        json_schema=ANSWER_SCHEMA if constrained else None,
    )


def template_for(lang: str) -> str:
    """The answer template whose parser reads a plan reply in this language."""
    return "zh_sections" if lang == "zh" else "think"


def plan_doc(plan: Plan) -> list[dict[str, object]]:
    """The plan as stored in a trace's lineage."""
    return json.loads(plan.model_dump_json())["steps"]  # type: ignore[no-any-return]
