"""Segmentation: THE LAW on arbitrary text, and sensible steps on real layouts."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bondkd.config import SegmentConfig
from bondkd.schema import STEP_JOINER
from bondkd.steps.segment import segment, segment_steps

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
GRANULARITIES = ("paragraph", "sentence", "clause")


def assert_law(text: str, spans: list[tuple[int, int]]) -> None:
    prev_end = 0
    for s, e in spans:
        assert prev_end <= s < e <= len(text), (s, e)
        piece = text[s:e]
        assert piece.strip(), (s, e)
        assert not piece[0].isspace() and not piece[-1].isspace(), repr(piece)
        # the gap before this span holds whitespace only: every non-ws char is covered
        assert not text[prev_end:s].strip(), repr(text[prev_end:s])
        prev_end = e
    assert not text[prev_end:].strip()


def steps_of(text: str, **kw: object) -> list[str]:
    return [text[s:e] for s, e in segment(text, SegmentConfig(**kw))]


# -- THE LAW --------------------------------------------------------------------------

_ATOMS = st.sampled_from(
    [
        " ", "  ", "\t", "\n", "\n\n", "\r\n", "\u3000", "\xa0", "\u2028", "\x1c",
        ".", ". ", "? ", "! ", "; ", ", ", ",", "。", "！", "？", "；", "，", "、", "…", "...",
        "$", "$$", "\\(", "\\)", "\\[", "\\]", "`", "```", "<<", ">>", "=", '"', "”", ")", "】",
        "1.", "2)", "- ", "* ", "• ", "Step 3:", "(a)", "第一步", "一、", "【思考】",
        "3.14", "1,000.5", "2.5%", "0.5", "e.g.", "i.e.", "Dr.", "U.S.",
        "Wait", "Wait, ", "wait", "awaited", "Hmmm", "Alternatively, ", "Let me check",
        "But wait, ", "Actually, ", ", so ", ", then ", "So ", "Therefore ",
        "等等，", "等等", "让我检查一下", "或者", "或者用", "验证一下", "所以", "，所以", "，然后",
        "首先", "因此", "苹果、梨等等，", "不对，", "这",
        "😀", "👍🏽", "a", "x", "12", "apples", "The answer is 42", "中文", "\u0301",
    ]
)  # fmt: skip
_TEXT = st.one_of(
    st.just(""),
    st.text(max_size=300),
    st.lists(st.one_of(_ATOMS, st.text(max_size=6)), max_size=80).map("".join),
)
_CONFIG = st.builds(
    SegmentConfig,
    granularity=st.sampled_from(GRANULARITIES),
    min_chars=st.integers(0, 40),
    max_chars=st.integers(50, 200),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, config=_CONFIG)
def test_law_holds_on_arbitrary_text(text: str, config: SegmentConfig) -> None:
    assert_law(text, segment(text, config))


@pytest.mark.parametrize("text", ["", " ", "\n\n\t ", "\u3000\xa0"])
def test_empty_or_whitespace_gives_no_steps(text: str) -> None:
    assert segment(text) == []


def test_law_on_one_megabyte() -> None:
    parts = [json.loads((DATASETS / f).read_text())["reasoning"] for f in ("reflective_long.json",)]
    parts.append(json.loads((DATASETS / "chinese_reflective.json").read_text())["response"])
    parts.append(json.loads((DATASETS / "gsm8k_short.json").read_text())["reasoning"])
    parts.append("```python\nx = 1. + 2.\n```\n$$a.b. c$$ \\(x. y\\) 中" * 3 + "a" * 3000)
    unit = "\n\n".join(parts) + "\n\n"
    text = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
    for granularity in GRANULARITIES:
        spans = segment(text, SegmentConfig(granularity=granularity))
        assert_law(text, spans)
        assert len(spans) > 1000  # really segmented, not one giant step
        assert max(e - s for s, e in spans) <= 800  # the long run was cut


# -- splitting ------------------------------------------------------------------------


def test_discourse_marker_splits_mid_line() -> None:
    text = (
        "The farmer has 12 rows of 4 trees, so 12 × 4 = 48 trees in total "
        "Wait, let me check the rows again: there are 12 rows, so 48 is right."
    )
    steps = steps_of(text)
    assert len(steps) == 2
    assert steps[1].startswith("Wait, let me check")


def test_marker_inside_word_does_not_split() -> None:
    text = "The result we awaited arrived quickly and we wait patiently for the next one to come."
    assert steps_of(text) == [text]


def test_chinese_trace_splits_into_moves() -> None:
    text = (
        "首先，果园共有 3 排苹果树，每排 16 棵树。因此一共有 3 × 16 = 48 棵苹果树。"
        "所以苹果的总数是 48 × 35 = 1580 个等等，让我检查一下这个乘法：48 × 35 = 1680。"
    )
    steps = steps_of(text)
    assert steps == [
        "首先，果园共有 3 排苹果树，每排 16 棵树。",
        "因此一共有 3 × 16 = 48 棵苹果树。",
        "所以苹果的总数是 48 × 35 = 1580 个",
        "等等，让我检查一下这个乘法：48 × 35 = 1680。",
    ]


def test_etc_is_not_a_reflection_marker() -> None:
    text = "果园里有苹果、梨、桃子等等，一共有三种水果，每种水果都有很多。"
    assert steps_of(text) == [text]


@pytest.mark.parametrize(
    "text",
    [
        "The circle has radius 3.14 metres and area 30.96 square metres when rounded off.",
        "Some fruits, e.g. apples and pears, are sold by weight in this shop today.",
        "We pay 1,000.5 dollars, i.e. about 2.5% more, vs. last year at the U.S. store.",
        "We know $a.b$ and $x = 1. Y = 2$ hold, and then we continue with the proof here.",
        "Run ```code. with. dots``` and also ```more. dots. here``` before you go home.",
        "She has 3 bags: 3 × 0.5 = <<3*0.5=1.5>>1.5 kg, and 1.5 × 2 = <<1.5*2=3.0>>3.0 kg.",
        "Dr. Smith and Mr. Jones met Mrs. Brown, see Fig. 3, approx. five times a week.",
        "The identity \\(x. y = z. w\\) and \\[p. q. r\\] are both from the textbook here.",
    ],
)
def test_never_split_inside_protected_text(text: str) -> None:
    assert steps_of(text, min_chars=0) == [text]


def test_sentences_split_and_keep_closing_quotes() -> None:
    text = 'He said "the total is 48." Then he added 6 more apples. Is it 54? Yes! 答案是54。好的'
    assert steps_of(text, min_chars=0) == [
        'He said "the total is 48."',
        "Then he added 6 more apples.",
        "Is it 54?",
        "Yes!",
        "答案是54。",
        "好的",
    ]


def test_gsm8k_answer_one_step_per_line() -> None:
    reasoning = json.loads((DATASETS / "gsm8k_short.json").read_text())["reasoning"]
    lines = [ln for ln in reasoning.split("\n") if ln.strip()]
    assert steps_of(reasoning) == lines


def test_numbered_list_at_paragraph_granularity() -> None:
    text = "Plan:\n1. Count the rows of trees.\n2) Multiply by the trees per row.\n- Then divide."
    steps = steps_of(text, granularity="paragraph", min_chars=0)
    assert steps == [
        "Plan:",
        "1. Count the rows of trees.",
        "2) Multiply by the trees per row.",
        "- Then divide.",
    ]


def test_paragraph_granularity_ignores_sentences_and_markers() -> None:
    text = "One sentence here. Another one Wait, no.\n\nSecond paragraph. With two sentences."
    assert steps_of(text, granularity="paragraph") == [
        "One sentence here. Another one Wait, no.",
        "Second paragraph. With two sentences.",
    ]


def test_clause_granularity_splits_at_connectives() -> None:
    text = "We have 12 apples and 4 baskets, so each basket gets 3 apples, then we sell them."
    assert steps_of(text, granularity="sentence") == [text]
    assert steps_of(text, granularity="clause") == [
        "We have 12 apples and 4 baskets,",
        "so each basket gets 3 apples,",
        "then we sell them.",
    ]
    zh = "每排有 16 棵树，一共 3 排，所以一共有 48 棵树，然后每棵树结 35 个苹果。"
    assert steps_of(zh, granularity="clause", min_chars=0) == [
        "每排有 16 棵树，一共 3 排，",
        "所以一共有 48 棵树，",
        "然后每棵树结 35 个苹果。",
    ]


def test_block_code_fence_is_one_step() -> None:
    text = "Here is the code.\n```python\nx = 1. + 2.\nprint(x)\n```\nIt prints 3.0 to the screen."
    steps = steps_of(text, min_chars=0)
    assert "```python\nx = 1. + 2.\nprint(x)\n```" in steps
    long_fence = "```\n" + "y = 1; z = 2. " * 100 + "\n```"
    assert steps_of("Run this.\n" + long_fence, max_chars=100) == ["Run this.", long_fence]


# -- merging and cutting --------------------------------------------------------------


def test_tiny_fragment_merges_into_previous_step() -> None:
    text = "The total number of apples is 48. Ok. Next we divide the apples into 4 boxes."
    assert steps_of(text) == [
        "The total number of apples is 48. Ok.",
        "Next we divide the apples into 4 boxes.",
    ]


def test_bare_cue_merges_forward_and_cue_step_is_kept() -> None:
    text = "The total number of apples is 48. Wait. That count skipped the last row of trees."
    assert steps_of(text) == [
        "The total number of apples is 48.",
        "Wait. That count skipped the last row of trees.",
    ]
    kept = "The total number of apples is 48. Hmm, no. The count skipped the last row."
    assert "Hmm, no." in steps_of(kept)


def test_long_step_is_cut_at_clause_punctuation() -> None:
    text = ", ".join(f"item number {k} costs {k}.5 dollars" for k in range(40)) + "."
    steps = steps_of(text, max_chars=200)
    assert len(steps) > 1
    assert all(len(s) <= 200 for s in steps)
    assert all(s.endswith((",", ".")) for s in steps)  # cut after commas, not mid-clause


def test_long_step_cut_keeps_protected_regions_whole() -> None:
    annotated = " ".join(
        f"then {k} / 2 = <<{k} / 2 = {k / 2}>> {k / 2} and $x + {k} = y$" for k in range(30)
    )
    spans = segment(annotated, SegmentConfig(max_chars=60, min_chars=0))
    assert len(spans) > 10
    for k in range(30):
        for region in (f"<<{k} / 2 = {k / 2}>>", f"$x + {k} = y$"):
            at = annotated.index(region)
            assert any(s <= at and at + len(region) <= e for s, e in spans), region


def test_long_chinese_run_is_cut() -> None:
    text = "苹果" * 500
    steps = steps_of(text, max_chars=300)
    assert "".join(steps) == text and all(len(s) <= 300 for s in steps)


# -- pre-segmented input --------------------------------------------------------------


def test_segment_steps_keeps_given_steps() -> None:
    given_steps = ["First, 3 × 16 = 48.", "  Wait. So 48. Then 3.14 ", "等等，让我检查一下。"]
    text, spans = segment_steps(given_steps)
    assert text == STEP_JOINER.join(given_steps)
    assert [text[s:e] for s, e in spans] == [s.strip() for s in given_steps]
    assert_law(text, spans)


def test_segment_steps_skips_blank_steps_and_rejects_all_blank() -> None:
    text, spans = segment_steps(["a step", "   ", "another"])
    assert [text[s:e] for s, e in spans] == ["a step", "another"]
    assert_law(text, spans)
    with pytest.raises(ValueError):
        segment_steps([" ", "\n"])
    with pytest.raises(ValueError):
        segment_steps([])
