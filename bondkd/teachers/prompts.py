"""Prompts for `bondkd generate` and `bondkd eval`, and the parsers of their replies.

Answer templates ask for visible reasoning, then a final answer:

- ``think``: ``<think>`` reasoning ``</think>`` then the answer (R1 style);
- ``zh_sections``: 【思考过程】 reasoning, then 【最终答案】 the answer.

`constrained=True` asks for the JSON object ``{"reasoning", "answer"}`` instead and sets
`ChatRequest.json_schema`, so backends with grammars (llama.cpp) cannot emit anything
else: small models follow free-form markup poorly. `parse_answer` accepts either form,
and a provider's separate `reasoning_content` with the answer in the text. Each template
has a versioned id recorded in every output's lineage; change the id with the wording.

Tag and question prompts build the Easy Dataset style topic tree; their replies are
always constrained to a JSON list where the backend allows it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from bondkd.read.markup import Markup, Text, sections, think
from bondkd.teachers.base import ChatReply, ChatRequest


class ReplyError(ValueError):
    """A reply that does not parse; the message is the reason, kept in the rejected file."""


class ParsedAnswer(NamedTuple):
    reasoning: str
    answer: str


@dataclass(frozen=True)
class AnswerTemplate:
    name: str
    id: str  # versioned: goes into the lineage of every record made with it
    system: str
    json_system: str


ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string", "minLength": 1},
        "answer": {"type": "string", "minLength": 1},
    },
    "required": ["reasoning", "answer"],
    "additionalProperties": False,
}

# Small models copy a worked example far more reliably than they follow a description, so
# every template shows one.
_EXAMPLE_Q = "Tom has 3 apples and buys 2 bags of 4 apples. How many apples does he have?"
_EXAMPLE_R = "Two bags hold 2 * 4 = 8 apples. Tom has 3 + 8 = 11 apples. Check: 11 - 8 = 3."
_EXAMPLE_Q_ZH = "小明有 3 个苹果，又买了 2 袋，每袋 4 个。他一共有几个苹果？"
_EXAMPLE_R_ZH = "2 袋共有 2 × 4 = 8 个苹果。一共有 3 + 8 = 11 个。验证：11 − 8 = 3，正确。"

TEMPLATES: dict[str, AnswerTemplate] = {
    "think": AnswerTemplate(
        name="think",
        id="think-v1",
        system=(
            "You are a careful teacher. Think step by step inside <think> and </think>, one "
            "step per sentence, checking your work. After </think>, write only the final "
            f"answer.\nExample: {_EXAMPLE_Q}\n<think>{_EXAMPLE_R}</think>\n11"
        ),
        json_system=(
            'You are a careful teacher. Reply with one JSON object {"reasoning": "...", '
            '"answer": "..."}: step-by-step reasoning, then only the final answer.\n'
            f"Example: {_EXAMPLE_Q}\n"
            + json.dumps({"reasoning": _EXAMPLE_R, "answer": "11"}, ensure_ascii=False)
        ),
    ),
    "zh_sections": AnswerTemplate(
        name="zh_sections",
        id="zh_sections-v1",
        system=(
            "你是一位细心的老师。先在【思考过程】下逐步推理，每句一步，并检查计算；"
            "然后在【最终答案】下只写出最终答案。\n"
            f"示例：{_EXAMPLE_Q_ZH}\n【思考过程】\n{_EXAMPLE_R_ZH}\n【最终答案】\n11"
        ),
        json_system=(
            '你是一位细心的老师。只输出一个 JSON 对象 {"reasoning": "…", "answer": "…"}：'
            "先写逐步推理，再只写最终答案。\n"
            f"示例：{_EXAMPLE_Q_ZH}\n"
            + json.dumps({"reasoning": _EXAMPLE_R_ZH, "answer": "11"}, ensure_ascii=False)
        ),
    ),
}


def template(name: str) -> AnswerTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(
            f"unknown answer template {name!r}; use one of {', '.join(TEMPLATES)}"
        ) from None


def answer_request(
    question: str,
    template: str = "think",
    *,
    temperature: float,
    max_tokens: int = 512,
    seed: int | None = None,
    sample: int = 0,
    constrained: bool = False,
) -> ChatRequest:
    t = _template(template)
    return ChatRequest(
        messages=[
            {"role": "system", "content": t.json_system if constrained else t.system},
            {"role": "user", "content": question},
        ],
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        sample=sample,
        json_schema=ANSWER_SCHEMA if constrained else None,
    )


_template = template  # `answer_request`'s parameter shadows the function


def parse_answer(reply: ChatReply, template: str) -> ParsedAnswer:
    """Reasoning and answer of a reply, or `ReplyError` saying why there are none."""
    _template(template)
    text = reply.text.strip()
    if reply.reasoning and reply.reasoning.strip():
        # reasoning_content: the text is the answer, possibly still under a header
        found = _markup(text, template)
        return _checked(reply.reasoning, found.answer if found and found.answer else text)
    if not text:
        raise ReplyError("empty reply")
    obj, json_error = _json_value(text)
    if isinstance(obj, dict) and ("reasoning" in obj or "answer" in obj):
        reasoning, answer = obj.get("reasoning"), obj.get("answer")
        if isinstance(reasoning, str) and isinstance(answer, str):
            return _checked(reasoning, answer)
        raise ReplyError("JSON reply: 'reasoning' and 'answer' must be strings")
    found = _markup(text, template)
    if found is not None:
        return _checked(found.reasoning, found.answer or "")
    if json_error:
        raise ReplyError(f"invalid JSON ({json_error})")
    if template == "think":
        raise ReplyError("no <think>…</think> reasoning and no JSON {reasoning, answer}")
    raise ReplyError("no 【思考过程】…【最终答案】 sections and no JSON {reasoning, answer}")


def _markup(text: str, template: str) -> Markup | None:
    """The template's own markup first, then the other one: both read back the same."""
    order = (think, sections) if template == "think" else (sections, think)
    for parse in order:
        found = parse(Text("text", text))
        if found is not None:
            return found
    return None


def _checked(reasoning: str, answer: str) -> ParsedAnswer:
    reasoning, answer = reasoning.strip(), answer.strip()
    if not reasoning:
        raise ReplyError("empty reasoning")
    if not answer:
        raise ReplyError("no final answer (reply cut off at max_tokens?)")
    return ParsedAnswer(reasoning, answer)


# The body starts at a non-blank: (.*?) right after \s* would rescan from every blank.
_FENCE = re.compile(r"^```(?:json)?\s*((?:\S.*?)?)\n?```$", re.S)


def _json_value(text: str) -> tuple[Any, str | None]:
    """(value, None) for a JSON text (optionally in a ``` fence); (None, error) for text
    that looks like JSON but is not; (None, None) for anything else."""
    m = _FENCE.match(text.strip())
    body = (m.group(1) if m else text).strip()
    if not body.startswith(("{", "[")):
        return None, None
    try:
        # strict=False: llama.cpp's JSON grammar lets raw newlines into strings
        return json.loads(body, strict=False), None
    except json.JSONDecodeError as e:
        return None, f"{e.msg} at column {e.colno}"
    except RecursionError:  # thousands of "[" (a model stuck in a loop) overflow the decoder
        return None, "arrays or objects nested too deeply"


# --- the topic tree: tags, then questions at each leaf -------------------------------

TREE_PROMPT_ID = "tree-v1"


def _list_schema(key: str, n: int, min_length: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            key: {
                "type": "array",
                "items": {"type": "string", "minLength": min_length},
                "minItems": 1,
                "maxItems": n,
            }
        },
        "required": [key],
        "additionalProperties": False,
    }


def _request(system: str, user: str, schema: dict[str, Any], **params: Any) -> ChatRequest:
    return ChatRequest(
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        json_schema=schema,
        **params,
    )


# One English instruction set for every topic language: strong teachers follow "the
# language of the topic path", and the packaged 135M model writes English either way.
_TAG_SYSTEM = (
    'You are a curriculum designer. Output JSON only, like {"tags": ["Fractions", '
    '"Percentages"]} for the topic "Arithmetic". Write the tags in the language of the '
    "topic path."
)
_QUESTION_SYSTEM = (
    'You write exam questions. Output JSON only, like {"questions": ["A shop sells pens at '
    "3 dollars each. Tom buys 4 pens and pays with a 20-dollar note. How much change does "
    'he get?"]}. Write the questions in the language of the topic path.'
)


def tag_request(
    path: list[str],
    n: int,
    existing: list[str] | None = None,
    *,
    temperature: float = 0.7,
    max_tokens: int = 256,
    seed: int | None = None,
    sample: int = 0,
) -> ChatRequest:
    """Ask for `n` sub-topics of the tag path `path` (topic first): the whole path goes
    in, so a child tag stays inside its parent's domain. `existing` children (from an
    earlier attempt) are listed so they are not repeated."""
    user = (
        f"Topic path: {' > '.join(path)}\nList {n} distinct, specific sub-topics of "
        f'"{path[-1]}", each a short phrase within the topic path.' + _avoid("tags", existing)
    )
    return _request(
        _TAG_SYSTEM, user, _list_schema("tags", n, 2),
        temperature=temperature, max_tokens=max_tokens, seed=seed, sample=sample,
    )  # fmt: skip


def question_request(
    path: list[str],
    n: int,
    existing: list[str] | None = None,
    *,
    temperature: float = 0.8,
    max_tokens: int = 384,
    seed: int | None = None,
    sample: int = 0,
) -> ChatRequest:
    """Ask for `n` questions at the leaf tag `path`, listing the ones already made there
    so the teacher does not repeat them."""
    user = (
        f'Topic path: {" > ".join(path)}\nWrite {n} new questions on "{path[-1]}". Each '
        "states all its facts, needs several reasoning steps and has one definite answer."
        + _avoid("questions", existing)
    )
    return _request(
        _QUESTION_SYSTEM, user, _list_schema("questions", n, 10),
        temperature=temperature, max_tokens=max_tokens, seed=seed, sample=sample,
    )  # fmt: skip


def _avoid(what: str, existing: list[str] | None) -> str:
    if not existing:
        return ""
    return f"\nDo not repeat these existing {what}:" + "".join(f"\n- {x}" for x in existing)


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)、:]|[（(]?\d+[)）])\s*")
_NUMBERED = re.compile(r"^\s*(?:\d+[.)、:]|[（(]\d+[)）])\s+")


def parse_list(reply: ChatReply, key: str) -> list[str]:
    """The strings of a tag or question reply: JSON {key: [...]} or [...], else one item
    per bulleted or numbered line. `ReplyError` when there are none."""
    value, error = _json_value(reply.text)
    if isinstance(value, dict):
        value = value.get(key)
    if isinstance(value, list):
        # small models number the items inside the strings too ("1. What is ...")
        items = [_NUMBERED.sub("", v).strip() for v in value if isinstance(v, str)]
        items = [i for i in items if i]
    elif error:
        raise ReplyError(f"invalid JSON ({error})")
    else:
        items = [
            _BULLET.sub("", line).strip().strip('"“”')
            for line in reply.text.splitlines()
            if _BULLET.match(line)
        ]
        items = [i for i in items if i]
    if not items:
        raise ReplyError(f"no {key} in the reply")
    return items
