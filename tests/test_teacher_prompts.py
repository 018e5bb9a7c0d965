"""The answer and tag prompts of the teachers and their parsers (bondkd.teachers.prompts):
every reply form a teacher gives (think tags, 【思考过程】 sections, JSON, reasoning_content),
and one-line reasons when a reply cannot be read."""

from __future__ import annotations

import pytest

from bondkd.teachers import ChatReply
from bondkd.teachers.prompts import (
    ReplyError,
    answer_request,
    parse_answer,
    parse_list,
    question_request,
    tag_request,
)


def reply(text: str, reasoning: str | None = None) -> ChatReply:
    return ChatReply(text=text, reasoning=reasoning, model="m")


@pytest.mark.parametrize(
    ("text", "template", "expected"),
    [
        ("<think>2 + 3 = 5.</think>\n5", "think", ("2 + 3 = 5.", "5")),
        ("2 + 3 = 5.\n</think>\nThe answer is 5", "think", ("2 + 3 = 5.", "The answer is 5")),
        ("【思考过程】\n2 + 3 = 5。\n【最终答案】\n5", "zh_sections", ("2 + 3 = 5。", "5")),
        ("【思考过程】2 + 3 = 5。【最终答案】5", "think", ("2 + 3 = 5。", "5")),
        ('{"reasoning": "2 + 3 = 5.", "answer": "5"}', "think", ("2 + 3 = 5.", "5")),
        ('```json\n{"reasoning": "r", "answer": "5"}\n```', "zh_sections", ("r", "5")),
        ('{"reasoning": "a.\nb.", "answer": "5"}', "think", ("a.\nb.", "5")),  # raw newline
    ],
)
def test_parse_answer_forms(text, template, expected):
    assert tuple(parse_answer(reply(text), template)) == expected


def test_parse_answer_reasoning_content():
    assert tuple(parse_answer(reply("5", reasoning="2 + 3 = 5."), "think")) == ("2 + 3 = 5.", "5")
    got = parse_answer(reply("【最终答案】5", reasoning="2 + 3 = 5。"), "zh_sections")
    assert tuple(got) == ("2 + 3 = 5。", "5")


@pytest.mark.parametrize(
    ("text", "template", "reason"),
    [
        ("", "think", "empty reply"),
        ("The answer is 5.", "think", "no <think>"),
        ("The answer is 5.", "zh_sections", "no 【思考过程】"),
        ('{"reasoning": "2 + 3 = 5", "ans', "think", "invalid JSON"),
        ("<think>2 + 3 = 5", "think", "no final answer"),
        ("<think></think>5", "think", "empty reasoning"),
        ('{"reasoning": 1, "answer": "5"}', "think", "must be strings"),
    ],
)
def test_parse_answer_failures_say_why(text, template, reason):
    with pytest.raises(ReplyError, match=reason):
        parse_answer(reply(text), template)


def test_answer_request_constrained_and_templates():
    plain = answer_request("Q?", "zh_sections", temperature=0.2, seed=3, sample=1)
    assert plain.json_schema is None and "【思考过程】" in plain.messages[0]["content"]
    assert plain.messages[1] == {"role": "user", "content": "Q?"}
    assert (plain.seed, plain.sample, plain.temperature) == (3, 1, 0.2)
    strict = answer_request("Q?", temperature=0.2, constrained=True)
    assert strict.json_schema is not None
    assert set(strict.json_schema["required"]) == {"reasoning", "answer"}
    assert "JSON" in strict.messages[0]["content"]
    with pytest.raises(ValueError, match="unknown answer template"):
        answer_request("Q?", "nope", temperature=0.2)


def test_tree_prompts_carry_path_and_existing():
    r = tag_request(["数学", "分数"], 3, ["约分"])
    user = r.messages[1]["content"]
    assert "数学 > 分数" in user and "约分" in user and "List 3" in user
    assert r.json_schema["properties"]["tags"]["maxItems"] == 3
    q = question_request(["数学", "分数"], 2, ["Q1?"])
    assert "数学 > 分数" in q.messages[1]["content"] and "Q1?" in q.messages[1]["content"]


def test_parse_list():
    assert parse_list(reply('{"tags": ["a", " b ", ""]}'), "tags") == ["a", "b"]
    assert parse_list(reply('["x", "y"]'), "questions") == ["x", "y"]
    numbered = '["1. What is 0.5 of 4?", "2) Why?", "0.5 of what?"]'
    assert parse_list(reply(numbered), "questions") == ["What is 0.5 of 4?", "Why?", "0.5 of what?"]
    assert parse_list(reply("Sure:\n1. first\n2) second\n- third"), "tags") == [
        "first",
        "second",
        "third",
    ]
    with pytest.raises(ReplyError, match="invalid JSON"):
        parse_list(reply('{"tags": ["a"'), "tags")
    with pytest.raises(ReplyError, match="no tags"):
        parse_list(reply("nothing here"), "tags")
