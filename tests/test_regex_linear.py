"""Every regex that reads user text runs in linear time (issue 20, "Regex blow-up").

A markdown rule of dashes once made the lexical cue rules backtrack exponentially (20
dashes took 9 s, 24 never finished). Rather than guard that one pattern, this module
collects every compiled regex of the package (module-level `re.Pattern` objects, also
inside dicts, lists and tuples) plus the public functions that run regexes on user text,
and feeds each long runs of every punctuation and marker character, alone, in pairs, as
list markers, and followed by a character that makes the match fail at the end (the
classic backtracking trigger). Each call must finish in 50 ms (the best of 3 runs, so a
busy machine does not fail it); an interval timer stops a catastrophic pattern after a
few seconds, so a regression fails here instead of hanging the suite (CPython's regex
engine checks for signals while it backtracks). Patterns run on 5,000 and 20,000
characters, the functions (several passes each) on 20,000.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
import re
import signal
import string
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bondkd
from bondkd import quantities
from bondkd.config import SegmentConfig
from bondkd.gate import checks
from bondkd.gate.config import RefusalCheck
from bondkd.read import formats, markup
from bondkd.steps import lexicon, phrases, segment
from bondkd.teachers import prompts
from bondkd.teachers.base import ChatReply

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "setitimer"), reason="needs signal.setitimer (POSIX)"
)

BOUND_S = 0.050  # per call, on 20,000 characters: linear code needs a fraction of it
HANG_S = 3.0  # a super-linear pattern is stopped here rather than left to run for hours
SIZES = (5_000, 20_000)  # run lengths for the patterns; the functions get the longer one

# Units repeated into long runs: every ASCII punctuation mark, blanks, digits, CJK
# punctuation, full-width digits, Chinese numerals, list markers, and mixed pairs whose
# characters two parts of one pattern could both take.
UNITS = [
    *string.punctuation, " ", "\t", "\n", "\r\n", *"0123456789",
    *"，。、：；！？…—【】（）「」『』《》", *"０１２３４５６７８９", *"一二三十百万两", "a", "x",
    "1. ", "1) ", "- ", "* ", "# ", "> ", "第一步", "第一步：", "一、", "（1）", "(i)", "【a】",
    "①", "-*", "*-", "#-", "=-", "- -", "1.", "1,", "1,000", "1.5", ". ", "?!", "\n\n",
    " \n", "**", "<<", ">>", "```", "$$", "\\(", "\\[", "1+", "1 +", "= 1", "x = ", "1e",
    "a.", "ab ", "So ", "so, ", "the ", "total ", "wait ", "step 1 ", "Step 1:", "A: ",
    "####", "答案", "那么", "等等", "所以",
]  # fmt: skip
# What follows a run: nothing, or a character no pattern expects there, so a pattern
# that matched the run must give it back piece by piece (the classic trigger).
TAILS = ("", "\x00")
# Openings followed by one long run: two blank runs side by side (`\s*x?\s*`) or a
# scan from each character of a run only show after the word that starts the match.
LEADS = [
    "a", "x", "_", "5", "5 %", "5 is", "1 +", "x =", "= ", "- ", "$", "(", "<<", "**", "```",
    "```json", "####", "#### 5", "A:", "A: 5", "answer", "The answer is", "答案", "总数",
    "第一步", "Step 2", "so", "Wait", "\\boxed{", "<think>",
]  # fmt: skip
LEAD_RUNS = [" ", "\t", "\n", " \n", "1", "一", "-", "*", "=", ".", "a", "("]


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Hang


def _best_time(call: Callable[..., object], *args: object) -> float:
    """Seconds of the fastest of up to 3 runs (1 when it is fast at once); raises _Hang."""
    best = float("inf")
    for _ in range(3):
        _clear_caches()
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_S)
        try:
            t0 = time.perf_counter()
            call(*args)
            best = min(best, time.perf_counter() - t0)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if best < BOUND_S:
            break
    return best


def _slow(call: Callable[..., object], *args: object) -> str | None:
    """Why `call(*args)` is too slow, or None."""
    try:
        t = _best_time(call, *args)
    except _Hang:
        return f"still running after {HANG_S:g} s"
    return f"{t * 1000:.0f} ms" if t >= BOUND_S else None


# -- what is tested -------------------------------------------------------------------


def _modules() -> Iterator[object]:
    yield bondkd
    for info in pkgutil.walk_packages(bondkd.__path__, "bondkd."):
        if info.name != "bondkd.__main__":  # importing it runs the CLI
            yield importlib.import_module(info.name)


def _walk(value: object, label: str) -> Iterator[tuple[str, re.Pattern]]:
    if isinstance(value, re.Pattern):
        yield label, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{label}[{k!r}]")
    elif isinstance(value, list | tuple):
        for k, v in enumerate(value):
            yield from _walk(v, f"{label}[{k}]")


def _collect() -> dict[str, re.Pattern]:
    found: dict[int, tuple[str, re.Pattern]] = {}
    for mod in _modules():
        for name, value in vars(mod).items():
            for label, p in _walk(value, f"{mod.__name__}.{name}"):  # type: ignore[attr-defined]
                if isinstance(p.pattern, str):
                    found.setdefault(id(p), (label, p))
    # The refusal check's default patterns are compiled when a gate runs, not at import.
    for k, p in enumerate(RefusalCheck().patterns):
        found.setdefault(-k - 1, (f"RefusalCheck.patterns[{k}]", re.compile(p, re.I)))
    return {label: p for label, p in sorted(found.values(), key=lambda lp: lp[0])}


PATTERNS = _collect()
# The package exports a function of the same name, so take the module itself.
numbers_module = importlib.import_module("bondkd.quantities.numbers")


# Patterns the package only ever applies at one position (`.match` / `.fullmatch`, checked
# below against the source): what must be linear is that call, not a search that would
# restart them at every character of the text.
ANCHORED = {
    "bondkd.steps.lexicon.OPENING_RE['reflection']",
    "bondkd.steps.lexicon.OPENING_RE['exploration']",
    "bondkd.steps.lexicon.OPENING_RE['conclusion']",
    "bondkd.steps.lexicon.OPENING_RE['sequence']",
    "bondkd.steps.lexicon._PREFIX_RE",
    "bondkd.quantities.numbers._WHOLE",
    "bondkd.quantities.numbers._FRAC",
    "bondkd.quantities.numbers._ZH_FRAC_WHOLE",
    "bondkd.quantities.numbers._ZH_WHOLE",
    "bondkd.quantities.numbers._ORDINAL",
    "bondkd.quantities.numbers._CLASSIFIER",
    "bondkd.quantities.arithmetic._STATED",
    "bondkd.quantities.arithmetic._OPERATOR",
    "bondkd.quantities.claims._ARITH_AFTER",
    "bondkd.quantities.claims._COMPARE_AFTER",
    "bondkd.quantities.claims._AFTER_BAD",
    "bondkd.quantities.claims._RHS",
    "bondkd.quantities.claims._UNIT",
    "bondkd.quantities.claims._PLAIN",
    "bondkd.quantities.claims._LAST_BREAK",
    "bondkd.quantities.answers._LATEX_FRAC",
    "bondkd.read.markup._FINAL_LINE",
    "bondkd.teachers.prompts._FENCE",
}


# Patterns the package searches only through one function: that function is what runs.
claims_module = importlib.import_module("bondkd.quantities.claims")
ROUTED: dict[str, Callable[[str], Iterator[re.Match[str]]]] = {
    # Searched only in runs of the characters a chain is made of that hold an "=": a chain
    # start reads up to 40 terms ahead, so "1+1+1+..." would cost 40 terms per number.
    "bondkd.quantities.claims._CHAIN": claims_module._chains,
}


def _exhaust(p: re.Pattern, text: str, anchored: bool = False) -> None:
    if anchored:
        p.match(text)
        p.fullmatch(text)
    else:
        for _ in p.finditer(text):
            pass


def _reply(text: str) -> ChatReply:
    return ChatReply(text=text, model="m")


def _has_cue(kind: str, text: str) -> bool:
    return lexicon.has_cue(text, kind)


def _segment(granularity: str, text: str) -> object:
    return segment.segment(text, SegmentConfig(granularity=granularity))


def _quiet(fn: Callable[[str], object], text: str) -> None:
    """Run `fn`; a clear error on nonsense input (RecordError, ReplyError) is fine here,
    only the time it takes matters."""
    with contextlib.suppress(ValueError):
        fn(text)


FUNCTIONS: dict[str, Callable[[str], object]] = {
    "lexicon.opening_cue": lexicon.opening_cue,
    **{f"lexicon.has_cue[{k}]": partial(_has_cue, k) for k in lexicon.CUE_KINDS},
    **{f"segment.segment[{g}]": partial(_segment, g) for g in ("paragraph", "sentence", "clause")},
    "quantities.numbers": quantities.numbers,
    "quantities.numbers[annotations]": partial(quantities.numbers, include_annotations=True),
    "quantities.results": quantities.results,
    "quantities.assignments": quantities.assignments,
    "quantities.final_answer": quantities.final_answer,
    "quantities.final_answer[loose]": partial(quantities.final_answer, loose=True),
    "quantities.answer_of": quantities.answer_of,
    "quantities.reference_answer": quantities.reference_answer,
    "quantities.answers_match": lambda t: quantities.answers_match(t, t),
    "quantities.terms": quantities.terms,
    "quantities.annotations": quantities.annotations,
    "quantities.operands": quantities.operands,
    "quantities.parse_number": quantities.parse_number,
    "quantities.evaluate": quantities.evaluate,
    "markup.think": lambda t: markup.think(markup.Text("response", t)),
    "markup.sky": lambda t: markup.sky(markup.Text("response", t)),
    "markup.sections": lambda t: markup.sections(markup.Text("response", t)),
    "markup.plain": lambda t: markup.plain(markup.Text("response", t)),
    "markup.boxed": markup.boxed,
    "formats.detect_format[response]": lambda t: formats.detect_format({"response": t}),
    "formats.detect_format[answer]": lambda t: formats.detect_format({"answer": t}),
    "formats.parse_record[gsm8k]": lambda t: formats.parse_record({"answer": t}, fmt="gsm8k"),
    "formats.parse_record[solution]": lambda t: formats.parse_record(
        {"solution": t, "ground_truth": t}, fmt="gsm8k_solutions"
    ),
    "formats.parse_record[reasoning]": lambda t: formats.parse_record({"reasoning": t}),
    "prompts.parse_list": lambda t: prompts.parse_list(_reply(t), "tags"),
    "checks.length[tokens]": lambda t: checks._length(t, "tokens"),
}


def _inputs(sizes: tuple[int, ...] = SIZES) -> Iterator[tuple[str, str]]:
    for unit in UNITS:
        for n in sizes:
            run = unit * (n // len(unit))
            for tail in TAILS:
                yield f"{unit!r} x {n // len(unit)} + {tail!r}", run + tail
    n = max(sizes)
    for lead in LEADS:
        for unit in LEAD_RUNS:
            yield (
                f"{lead!r} + {unit!r} x {n // len(unit)} + '\\x00'",
                lead + unit * (n // len(unit)) + "\x00",
            )


INPUTS = list(_inputs())
LONG_INPUTS = list(_inputs(SIZES[-1:]))


def _clear_caches() -> None:
    # Cached functions would time a dictionary look-up on every run after the first.
    numbers_module._scan.cache_clear()
    quantities.terms.cache_clear()  # type: ignore[attr-defined]
    segment._opening_cue.cache_clear()


# -- the tests ------------------------------------------------------------------------


def test_every_module_pattern_is_collected():
    # The collector must see the patterns this issue is about, or the tests below pass
    # vacuously: the cue table inside a dict, and patterns of every stage that reads text.
    for label in (
        "bondkd.steps.lexicon.OPENING_RE['reflection']",
        "bondkd.steps.markers.SPLIT_MARKER_RE",
        "bondkd.steps.segment._LIST_RE",
        "bondkd.steps.segment._CUT_RES[0]",
        "bondkd.quantities.claims._CHAIN",
        "bondkd.read.formats._HASHES",
        "bondkd.read.markup._EN_HEAD",
        "bondkd.teachers.prompts._BULLET",
    ):
        assert label in PATTERNS
    assert len(PATTERNS) > 60


def test_anchored_patterns_are_only_applied_at_one_position():
    # An anchored pattern is tested with .match / .fullmatch only; were it ever searched,
    # that search would need the linear-time guarantee this test then no longer gives.
    sources = "\n".join(p.read_text("utf-8") for p in Path(bondkd.__file__).parent.rglob("*.py"))
    for label in ANCHORED:
        assert label in PATTERNS
        name = label.rsplit(".", 1)[1].split("[")[0]
        calls = re.findall(rf"\b{name}(?:\[[^\]\n]*\])?\.(\w+)\(", sources)
        assert calls, f"{label} is never applied"
        assert set(calls) <= {"match", "fullmatch"}, f"{label} is applied with {set(calls)}"


def test_routed_patterns_are_only_applied_by_their_function():
    for label in ROUTED:
        module, name = label.rsplit(".", 1)
        source = inspect.getsource(importlib.import_module(module))
        owner = inspect.getsource(ROUTED[label])
        uses = re.findall(rf"\b{name}\.\w+\(", source)
        assert uses and len(uses) == len(re.findall(rf"\b{name}\.\w+\(", owner)), label


def _run_pattern(label: str, text: str) -> None:
    if label in ROUTED:
        list(ROUTED[label](text))
    else:
        _exhaust(PATTERNS[label], text, label in ANCHORED)


@pytest.mark.parametrize("label", sorted(PATTERNS))
def test_pattern_is_linear(label):
    slow = [f"{name}: {why}" for name, text in INPUTS if (why := _slow(_run_pattern, label, text))]
    assert not slow, f"{label} is super-linear on:\n" + "\n".join(slow)


@pytest.mark.parametrize("label", sorted(FUNCTIONS))
def test_function_is_linear(label):
    fn = FUNCTIONS[label]
    slow = [f"{name}: {why}" for name, text in LONG_INPUTS if (why := _slow(_quiet, fn, text))]
    assert not slow, f"{label} is super-linear on:\n" + "\n".join(slow)


@pytest.mark.parametrize("n", [20, 24, 40, 20_000])
def test_a_rule_of_dashes_is_no_cue(n):
    # The reported case: a step that is a markdown rule of 20 dashes took 9 s, 24 or more
    # never finished; six of a hundred public AIME traces hung on it.
    for text in ("-" * n, "-" * n + "\n", "-" * n + "x", "*" * n, "#" * n, "- " * n, "-*" * n):
        assert _slow(lexicon.opening_cue, text) is None, repr(text[:30])
        assert _slow(lexicon.has_cue, text, "reflection") is None, repr(text[:30])
        assert lexicon.opening_cue(text) is None
    # Marks before the opening words are still skipped, however many there are.
    assert lexicon.opening_cue("-" * n + " Wait, that is wrong.") == ("reflection", n + 5)
    assert lexicon.opening_cue("#" * n + " Step 2: add") == ("sequence", n + 7)


def test_a_trace_with_markdown_rules_is_read_in_time():
    rule = "-" * 40
    text = f"First, 3 + 4 = 7.\n\n{rule}\n\nWait, check: 7 - 4 = 3.\n\n{'*' * 30}\n\n所以答案是 7。"

    def read() -> list[str | None]:
        return [lexicon.cue_kind(text[s:e]) for s, e in segment.segment(text)]

    assert _slow(read) is None
    # The second rule opens the last step: its stars are bullets before 所以.
    assert read() == ["sequence", None, "reflection", "conclusion"]


# The cue rules before issue 20, kept to check on short openings (where they still finish)
# that the linear rules match exactly what they did.
_Z = phrases.ZH_NUM
_OLD_LIST_MARK = (
    r"\d{1,3}[.)](?!\d)|[(（]\s*(?:\d{1,3}|[a-z]|[ivx]{1,4}|[" + _Z + r"]+)\s*[)）]"
    r"|[a-z][.)](?=\s)|[-*•·‣◦▪+>]+|#{1,6}|[①-⑳]|[" + _Z + r"]+[、.．]|【[^】\n]{0,20}】"
)
_OLD_STEP_MARK = r"step\s*\d+\s*[:.)：]?|第[" + _Z + r"\d]+步[:：,，、.]?"
_OLD_PREFIX = (
    rf"\s*(?:(?:(?P<step>{_OLD_STEP_MARK})|(?:{_OLD_LIST_MARK}))\s*)*"
    r"(?:[\"'“‘(（\[【「『《*_~]\s*)*"
)
_OLD_PREFIX_RE = re.compile(_OLD_PREFIX, re.I)
_OLD_OPENING_RE = {
    kind: re.compile(
        rf"{_OLD_PREFIX}(?:{lexicon._LEAD}){{0,3}}(?P<cue>(?:{lexicon.alternation(en)})"
        rf"(?![\w'’])|(?:{lexicon.alternation(zh)}))",
        re.I,
    )
    for kind, (en, zh) in phrases.PHRASES.items()
}
_OPENING_UNITS = [
    *"-*#+>•_~\"'“(（[【】)）「《:：.,，、", " ", "  ", "\n", "\t", "1.", "1)", "12.", "7", "a.", "a)",
    "i", "(i)", "(iv)", "(1)", "( 2 )", "（三）", "【a】", "【wait】", "①", "一、", "十二.", "两",
    "一", "共", "第一步", "第2步：", "第三", "step", "Step 2", "step 3:", " 4", "So", "so ",
    "but ", "wait", "Wait,", "check", "maybe", "then", "first", "那么", "但是", "但", "再",
    "再次", "等等", "所以", "或者", "首先", "x", "的", "好的", "我们",
]  # fmt: skip


def _spans(m: re.Match | None) -> tuple | None:
    return None if m is None else (m.end(), m.span("cue"))


@settings(max_examples=400)
@given(st.lists(st.sampled_from(_OPENING_UNITS), max_size=9).map("".join))
def test_linear_cue_rules_match_what_the_old_ones_did(text):
    for kind, old in _OLD_OPENING_RE.items():
        assert _spans(lexicon.OPENING_RE[kind].match(text)) == _spans(old.match(text)), kind
    new, old_prefix = lexicon._PREFIX_RE.match(text), _OLD_PREFIX_RE.match(text)
    assert new and old_prefix
    assert (new.end(), bool(new.group("step"))) == (
        old_prefix.end(),
        bool(old_prefix.group("step")),
    )


_ALPHABET = st.sampled_from([*UNITS, "Wait", "因此", "\\boxed{", "}", "<think>", "\x00", "-" * 24])


@settings(max_examples=30)
@given(
    motif=st.lists(_ALPHABET, min_size=1, max_size=4).map("".join),
    tail=st.lists(_ALPHABET, max_size=2).map("".join) | st.text(max_size=3),
)
def test_random_runs_are_linear(motif, tail):
    text = motif * (3_000 // len(motif)) + tail
    slow = [label for label in PATTERNS if _slow(_run_pattern, label, text)]
    slow += [label for label, fn in FUNCTIONS.items() if _slow(_quiet, fn, text)]
    assert not slow
