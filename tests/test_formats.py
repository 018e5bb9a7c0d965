"""Record layouts → Trace: one realistic record per layout, detection, errors."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bondkd.config import AnalyzeConfig
from bondkd.pipeline import analyze
from bondkd.read.formats import FORMATS, RecordError, detect_format, parse_record
from bondkd.read.spans import locate_steps
from bondkd.schema import STEP_JOINER

R1_TEXT = (
    "<think>\nLet the number be x, so 3x + 7 = 40.\nThen 3x = 33 and x = 11.\n"
    "Wait, let me check: 3 × 11 + 7 = 40. Yes.\n</think>\n\nThe number is 11."
)
SKY_TEXT = (
    "<|begin_of_thought|>\n\n2^3 = 8 ≡ 1 (mod 7), so the cycle length is 3.\n\n"
    "10 = 3 × 3 + 1, so 2^10 ≡ 2.\n\n<|end_of_thought|>\n\n"
    "<|begin_of_solution|>\n\nThe remainder is 2.\n\n<|end_of_solution|>"
)
ZH_TEXT = (
    "【思考过程】\n首先，长加宽等于 30 ÷ 2 = 15 厘米。\n所以宽是 6 厘米，长是 9 厘米。\n"
    "等等，让我检查一下：2 × (9 + 6) = 30，正确。\n\n【最终答案】\n54 平方厘米"
)
GSM8K_ANSWER = (
    "He makes 4*12 = <<4*12=48>>48 cookies.\nHe has 48-30 = <<48-30=18>>18 left.\n"
    "He fills 18/3 = <<18/3=6>>6 bags.\n#### 6"
)

# (record, format, field holding the reasoning, reasoning head, answer, reference, question)
CASES = [
    (
        {"id": 7, "question": "What is 2 + 3?", "reasoning": "2 + 3 = 5.", "answer": "5"},
        "canonical", "reasoning", "2 + 3 = 5.", "5", None, "What is 2 + 3?",
    ),
    (
        {"prompt": "一个数的 3 倍加上 7 等于 40，这个数是多少？", "response": R1_TEXT},
        "r1", "response", "Let the number be x", "The number is 11.", None, "一个数的 3 倍加上 7 等于 40，这个数是多少？",
    ),
    (
        {"problem": "Is 221 prime?", "reasoning_content": "221 = 13 × 17, so no.", "content": "No."},
        "r1", "reasoning_content", "221 = 13 × 17", "No.", None, "Is 221 prime?",
    ),
    (
        {"question": "2^10 mod 7?", "response": SKY_TEXT},
        "sky_t1", "response", "2^3 = 8", "The remainder is 2.", None, "2^10 mod 7?",
    ),
    (
        {
            "question": "How many divisors does 36 have?",
            "thinking_trajectories": ["36 = 2^2 × 3^2, so (2 + 1)(2 + 1) = 9 divisors."],
            "attempt": "It has 9 positive divisors.",
            "solution": "9",
        },
        "s1", "thinking_trajectories", "36 = 2^2", "It has 9 positive divisors.", "9", "How many divisors does 36 have?",
    ),
    (
        {
            "messages": [
                {"role": "system", "content": "Think step by step."},
                {"role": "user", "content": "A 9 m rope is cut into 0.75 m pieces. How many?"},
                {"role": "assistant", "content": "9 ÷ 0.75 = 12.\nCheck: 12 × 0.75 = 9.\n\nFinal answer: 12"},
            ]
        },
        "messages", "messages", "9 ÷ 0.75 = 12.", "12", None, "A 9 m rope is cut into 0.75 m pieces. How many?",
    ),
    (
        {
            "conversations": [
                {"from": "human", "value": "一个立方体有几条棱？"},
                {"from": "gpt", "value": "立方体有 6 个面，每个面 4 条边，每条棱被两个面共用。\n6 × 4 ÷ 2 = 12。\n答案：12"},
            ]
        },
        "sharegpt", "conversations", "立方体有 6 个面", "12", None, "一个立方体有几条棱？",
    ),
    (
        {"question": "A baker makes 4 trays of 12 cookies ...", "answer": GSM8K_ANSWER},
        "gsm8k", "answer", "He makes 4*12 = <<4*12=48>>48", "6", "6", "A baker makes 4 trays of 12 cookies ...",
    ),
    (
        {"question": "一个长方形的周长是 30 厘米，长比宽多 3 厘米。面积是多少？", "response": ZH_TEXT},
        "zh_sections", "response", "首先，长加宽", "54 平方厘米", None, "一个长方形的周长是 30 厘米，长比宽多 3 厘米。面积是多少？",
    ),
    (
        {"question": "Josh buys a house ...", "solution": "80,000+50,000=<<80000+50000=130000>>130,000\nA: 70000"},
        "gsm8k_solutions", "solution", "80,000+50,000", "70000", None, "Josh buys a house ...",
    ),
]  # fmt: skip


def _source_text(record: dict, field: str) -> str:
    if field in ("messages", "conversations"):
        turn = record[field][-1]
        return turn.get("content", turn.get("value"))
    value = record[field]
    return value[0] if isinstance(value, list) else value


@pytest.mark.parametrize("case", CASES, ids=[c[1] + "-" + c[2] for c in CASES])
def test_each_layout(case: tuple) -> None:
    record, fmt, field, head, answer, reference, question = case
    assert detect_format(record) == fmt
    trace = parse_record(record, source="f.jsonl:3")
    assert trace.format == fmt and trace.source == "f.jsonl:3"
    assert trace.reasoning.startswith(head)
    assert trace.reasoning == trace.reasoning.strip()
    # Verbatim: the reasoning is an untouched slice of the field it came from.
    assert trace.reasoning in _source_text(record, field)
    assert (trace.answer, trace.reference, trace.question) == (answer, reference, question)
    # Forcing the detected layout gives the same trace.
    assert parse_record(record, fmt=fmt, source="f.jsonl:3") == trace


def test_every_format_name_has_a_case() -> None:
    assert sorted({c[1] for c in CASES}) == sorted(FORMATS)


def test_canonical_steps_ids_and_extra_keys() -> None:
    steps = ["10% of 240 is 24.", "5% is half of that, 12.", "So 15% is 36."]
    rec = {"id": 12, "steps": steps, "answer": 36, "labels": {"reflection": {}}, "bondkd": {}}
    trace = parse_record(rec)
    assert trace.steps == steps and trace.reasoning == STEP_JOINER.join(steps)
    assert (trace.id, trace.answer, trace.question) == ("12", "36", "")
    # The same steps also given as their join are accepted.
    assert parse_record({**rec, "reasoning": STEP_JOINER.join(steps)}) == trace


def test_steps_located_in_published_reasoning() -> None:
    """Public datasets give the trace as published and their own chunks of it: both are
    kept, each step a whitespace-tolerant span of the text, found in order."""
    steps = ["10% of 240\nis 24.", "5% is half of that, 12.", "So 15%  is 36."]
    text = "Let me think.\n10% of 240 is 24. Then:\n5% is half of that,\t12.\nSo 15% is\n36."
    trace = parse_record({"steps": steps, "reasoning": text})
    assert (trace.steps, trace.reasoning) == (steps, text)
    spans = locate_steps(text, steps)
    assert [text[s:e] for s, e in spans] == ["10% of 240 is 24.", "5% is half of that,\t12.",
                                             "So 15% is\n36."]  # fmt: skip
    mol = analyze({"steps": steps, "reasoning": text}, AnalyzeConfig(backend="lexical"))
    assert [(s.start, s.end) for s in mol.steps] == spans and mol.doc.reasoning == text
    # Out of order, or not there at all: a one-line error naming the step.
    for bad, index in ((steps[::-1], 1), ([*steps[:2], "So 16% is 36."], 2)):
        with pytest.raises(RecordError) as e:
            parse_record({"steps": bad, "reasoning": text})
        assert e.value.field == f"steps[{index}]" and "\n" not in str(e.value)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=30).filter(str.strip), min_size=1, max_size=8),
    st.lists(st.sampled_from([" ", "\n", "\n\n", "\t ", " x "]), min_size=8, max_size=8),
)
def test_locate_steps_finds_steps_rewrapped(steps: list[str], seps: list[str]) -> None:  # fmt: skip
    """Steps joined by any separators and with their blanks re-wrapped are all found, in
    order, each span holding the step's text up to whitespace."""
    text = "".join(sep + s.replace(" ", "\n") for s, sep in zip(steps, seps, strict=False))
    spans = locate_steps(text, steps)
    assert len(spans) == len(steps)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    for (s, e), step in zip(spans, steps, strict=True):
        assert text[s:e].split() == step.split()


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"question": 3, "reasoning": "x"}, "question"),
        ({"reasoning": ["a", "b"]}, "reasoning"),
        ({"steps": ["a", 2]}, "steps[1]"),
        ({"steps": "a. b."}, "steps"),
        ({"steps": ["a", "  "]}, "steps[1]"),
        ({"id": 1.5, "reasoning": "x"}, "id"),
        ({"id": True, "reasoning": "x"}, "id"),
        ({"reasoning": "x", "answer": ["5"]}, "answer"),
        ({"messages": [{"role": "user", "content": "q"}, "oops"]}, "messages[1]"),
        ({"messages": [{"role": "assistant", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "q"}]}, "messages"),
        ({"thinking_trajectories": {"a": 1}, "attempt": "x"}, "thinking_trajectories"),
    ],
)
def test_type_errors_name_the_field(record: dict, field: str) -> None:
    with pytest.raises(RecordError) as e:
        parse_record(record)
    assert e.value.field == field and f"'{field}'" in str(e.value)


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"reasoning": "  \n "}, "reasoning"),
        ({"prompt": "q", "response": "<think>\n\n</think>The answer is 4."}, "response"),
        ({"response": "<|begin_of_thought|> <|end_of_thought|>ok"}, "response"),
        ({"response": "【思考过程】\n\n【最终答案】\n4"}, "response"),
        ({"question": "q", "answer": "#### 4"}, "answer"),
        ({"messages": [{"role": "assistant", "content": "   "}]}, "messages[0].content"),
    ],
)
def test_empty_reasoning(record: dict, field: str) -> None:
    with pytest.raises(RecordError, match="empty reasoning") as e:
        parse_record(record)
    assert e.value.field == field


def test_unknown_layout_and_non_objects() -> None:
    with pytest.raises(RecordError) as e:
        parse_record({"foo": 1, "bar": "x", "response": "just text"})
    msg = str(e.value)
    assert e.value.field is None and msg.startswith("unknown layout: keys bar, foo, response")
    assert "--format" in msg and all(name in msg for name in FORMATS)
    for value in (["a"], "text", 3, None):
        with pytest.raises(RecordError, match="expected a JSON object"):
            parse_record(value)
    with pytest.raises(RecordError, match="unknown format"):
        parse_record({"reasoning": "x"}, fmt="alpaca")


def test_forced_format_overrides_detection() -> None:
    rec = {"reasoning": "canonical text", "response": "<think>tagged</think>done"}
    assert parse_record(rec).reasoning == "canonical text"
    forced = parse_record(rec, fmt="r1")
    assert (forced.format, forced.reasoning, forced.answer) == ("r1", "tagged", "done")
    with pytest.raises(RecordError, match="no sky_t1 markup"):
        parse_record(rec, fmt="sky_t1")
    # A plain assistant turn can be read as r1 only if it has think tags.
    plain = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert parse_record(plain, fmt="messages").reasoning == "a"
    with pytest.raises(RecordError):
        parse_record(plain, fmt="r1")


def test_r1_without_opening_tag_and_truncated() -> None:
    rec = {"prompt": "q", "response": "First 2 + 2 = 4.\nSo it is 4.\n</think>\n\n**4**"}
    trace = parse_record(rec)
    assert (trace.format, trace.reasoning, trace.answer) == (
        "r1",
        "First 2 + 2 = 4.\nSo it is 4.",
        "**4**",
    )
    cut = parse_record({"prompt": "q", "response": "<think>\nStill thinking about 2 + 2"})
    assert (cut.reasoning, cut.answer) == ("Still thinking about 2 + 2", None)


def test_chat_turns_decide_the_inner_layout() -> None:
    def chat(text: str, **extra: str) -> dict:
        return {
            "messages": [
                {"role": "user", "content": "Q?"},
                {"role": "assistant", "content": text, **extra},
            ]
        }

    assert parse_record(chat(R1_TEXT)).format == "r1"
    assert parse_record(chat(ZH_TEXT)).answer == "54 平方厘米"
    ds = parse_record(chat("No, 221 = 13 × 17.", reasoning_content="221 ÷ 13 = 17."))
    assert (ds.format, ds.reasoning, ds.answer, ds.question) == (
        "r1",
        "221 ÷ 13 = 17.",
        "No, 221 = 13 × 17.",
        "Q?",
    )
    sky = {
        "system": "...",
        "conversations": [
            {"from": "user", "value": "Q?"},
            {"from": "assistant", "value": SKY_TEXT},
        ],
    }
    assert (
        parse_record(sky).format == "sky_t1"
        and parse_record(sky, fmt="sharegpt").format == "sharegpt"
    )
    boxed = parse_record(chat("So x = \\frac{1}{2}, i.e. \\boxed{\\frac{1}{2}}."))
    assert boxed.answer == "\\frac{1}{2}"
    assert parse_record(chat("So the answer is clear.")).answer is None
    # The question is the last user turn before the last assistant turn.
    multi = {"messages": [
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "second"}, {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "after"},
    ]}  # fmt: skip
    assert (parse_record(multi).question, parse_record(multi).reasoning) == ("second", "a2")


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        ("【问题】\n2 加 3 等于几？\n【分析】\n2 + 3 = 5。\n【解答】\n所以是 5。\n【答案】5", "2 + 3 = 5。\n【解答】\n所以是 5。", "5"),
        ("[思考过程]\n先算 6 × 7 = 42。\n[最终答案]：42", "先算 6 × 7 = 42。", "42"),
        ("Reasoning:\n6 × 7 = 42.\nCheck: 42 ÷ 7 = 6.\n\nFinal answer: 42", "6 × 7 = 42.\nCheck: 42 ÷ 7 = 6.", "42"),
        ("先算 6 × 7 = 42。\n【最终答案】42", "先算 6 × 7 = 42。", "42"),
    ],
)  # fmt: skip
def test_section_variants(text: str, reasoning: str, answer: str) -> None:
    trace = parse_record({"output": text})
    assert (trace.format, trace.reasoning, trace.answer) == ("zh_sections", reasoning, answer)


def test_section_question_and_reasoning_field() -> None:
    text = "【问题】\n2 加 3 等于几？\n【思考过程】\n2 + 3 = 5。\n【最终答案】\n5"
    assert parse_record({"text": text}).question == "2 加 3 等于几？"
    assert parse_record({"question": "Q", "text": text}).question == "Q"
    # A sectioned `reasoning` is the sectioned layout unless the record gives its own answer.
    assert parse_record({"reasoning": text}).format == "zh_sections"
    assert parse_record({"reasoning": text, "answer": "5"}).format == "canonical"


def test_plain_answer_line_is_not_english_sections() -> None:
    rec = {"messages": [{"role": "assistant", "content": "Work: 2 + 2 = 4.\nAnswer: 4"}]}
    trace = parse_record(rec)
    assert (trace.format, trace.answer) == ("messages", "4")
    assert trace.reasoning == "Work: 2 + 2 = 4.\nAnswer: 4"


def test_s1_string_and_several_trajectories() -> None:
    one = parse_record(
        {"question": "q", "thinking_trajectories": "  think 1 + 1 = 2  ", "attempt": "2"}
    )
    assert (one.format, one.reasoning, one.answer) == ("s1", "think 1 + 1 = 2", "2")
    two = parse_record(
        {"question": "q", "thinking_trajectories": ["a = 1.", "b = 2."], "attempt": "3"}
    )
    assert two.reasoning == STEP_JOINER.join(["a = 1.", "b = 2."]) and two.steps is None


def test_gsm8k_keeps_annotations_and_solution_rows() -> None:
    trace = parse_record({"question": "q", "answer": GSM8K_ANSWER})
    assert "<<18/3=6>>6 bags." in trace.reasoning and "####" not in trace.reasoning
    sol = parse_record(
        {"question": "q", "solution": "2+2=<<2+2=4>>4\nA: 4", "ground_truth": "2+2=4\nA: 5"}
    )
    assert (sol.answer, sol.reference, sol.reasoning) == ("4", "5", "2+2=<<2+2=4>>4")
    assert parse_record({"question": "q", "solution": "no final line"}).answer is None
    assert parse_record({"question": "q", "answer": GSM8K_ANSWER, "reference": 7}).reference == "7"
    row = {
        "question": "q",
        "ground_truth": "A: 1",
        "6b_finetuning": {"is_correct": True, "solution": "A: 1"},
    }
    with pytest.raises(RecordError, match="model_solutions row"):
        parse_record(row)


def test_detection_order_is_documented_order() -> None:
    both = {
        "thinking_trajectories": ["t"],
        "attempt": "a",
        "messages": [{"role": "assistant", "content": "m"}],
    }
    assert detect_format(both) == "s1"
    chat_and_text = {"response": R1_TEXT, "messages": [{"role": "assistant", "content": "m"}]}
    assert detect_format(chat_and_text) == "messages"
    assert detect_format({"response": "plain", "answer": "x\n#### 3"}) == "gsm8k"


_NO_TAGS = st.text(st.characters(blacklist_characters="<>【】[]〖〗"), min_size=1, max_size=80)


@given(pre=st.text(" \n\t", max_size=3), body=_NO_TAGS, answer=_NO_TAGS)
def test_r1_reasoning_is_the_stripped_inside_verbatim(pre: str, body: str, answer: str) -> None:
    response = f"<think>{pre}{body}</think>{answer}"
    try:
        trace = parse_record({"prompt": "q", "response": response})
    except RecordError as e:
        assert not body.strip() and e.field == "response"
        return
    assert trace.reasoning == body.strip() and trace.reasoning in response
    assert trace.answer == (answer.strip() or None)


@given(body=_NO_TAGS, answer=_NO_TAGS)
def test_zh_reasoning_is_a_verbatim_slice(body: str, answer: str) -> None:
    text = f"【思考过程】{body}【最终答案】{answer}"
    # A header may carry a colon ("【思考过程】：…"); it is part of the header, not the body.
    expected = re.sub(r"^[ \t]*[:：]?", "", body).strip()
    try:
        trace = parse_record({"response": text})
    except RecordError:
        assert not expected
        return
    assert trace.reasoning == expected and trace.reasoning in text
