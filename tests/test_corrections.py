"""Correction triples (issue 16, items 4 and 5).

Each triple in fixtures/corrections.jsonl is one problem written three ways:

- `clean`: the correct chain of steps;
- `corrected`: the same steps with one wrong step (`corrected_step`) and a later step that
  corrects it (`correction_step`) inserted; the answer follows from the corrected chain;
- `uncorrected`: the wrong step kept (`error_step`), the correction dropped, and the wrong
  value carried on to a wrong answer.

A corrected error is the behaviour we want to distil, not a defect: the corrected trace must
score like its clean twin and get the same verdict, and the uncorrected one must score below
both. The fixture mixes EN and ZH, short traces and long R1-style ones (a plan, computation,
self-checks and an answer), several correction wordings and several kinds of error (plain-
text multiplication, division, subtraction, percentage, unit conversion, a misread given).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from bondkd.config import AnalyzeConfig, Backend
from bondkd.energy.models import packaged_gguf
from bondkd.molecule import content
from bondkd.molecule.molecule import Molecule
from bondkd.pipeline import analyze
from bondkd.schema import STEP_JOINER
from bondkd.steps import lexicon

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "corrections.jsonl"
VARIANTS = ("clean", "corrected", "uncorrected")
TOLERANCE = 0.05  # issue 16: "scores within 0.05 of its clean twin"
LONG_STEPS, LONG_CHARS = 30, 3_000
ERROR_KINDS = {
    "multiplication",
    "division",
    "subtraction",
    "percentage",
    "unit_conversion",
    "misread_given",
}
# An error in the written arithmetic is a conflict at its step; a misread given is not
# arithmetic (54 × 6 = 324 is true), so its evidence may also be the operand that the
# question does not give.
ARITHMETIC_CONFLICTS = {"calc_mismatch", "value_clash"}


def _load() -> dict[str, dict[str, dict]]:
    triples: dict[str, dict[str, dict]] = {}
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            triples.setdefault(rec["triple"], {})[rec["variant"]] = rec
    return triples


TRIPLES = _load()
# The model backend reads attention with a real LM: three short triples keep it cheap
# (the issue's own EN example, the ZH 打八折 problem and a ZH multiplication in words).
MODEL_TRIPLES = ("pens-division", "coat-bazhe", "ribbon-zh-multiplication")
_MODEL_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(packaged_gguf() is None, reason="pip install 'bondkd[models]'"),
]


def _cases(triples: list[str]) -> list:
    """(triple, backend) parameters: lexical for every triple, model for MODEL_TRIPLES."""
    return [pytest.param(t, "lexical", id=f"{t}-lexical") for t in triples] + [
        pytest.param(t, "model", id=f"{t}-model", marks=_MODEL_MARKS)
        for t in triples
        if t in MODEL_TRIPLES
    ]


CASES = _cases(list(TRIPLES))
BAZHE = [t for t in TRIPLES if "八折" in TRIPLES[t]["clean"]["question"]]


def _is_long(rec: dict) -> bool:
    steps = rec["steps"]
    return len(steps) >= LONG_STEPS and len(STEP_JOINER.join(steps)) >= LONG_CHARS


@cache
def _mol(triple: str, variant: str, backend: Backend) -> Molecule:
    rec = TRIPLES[triple][variant]
    record = {k: rec[k] for k in ("id", "question", "steps", "answer")}
    mol = analyze(record, AnalyzeConfig(backend=backend))
    # Every index below is a position in `steps`: given steps must be kept as given.
    assert len(mol.steps) == len(rec["steps"]), f"{rec['id']}: steps were re-segmented"
    return mol


def _indices(triple: str) -> tuple[int, int, int]:
    """(corrected step, correction step) in the corrected variant; error step in the
    uncorrected one."""
    t = TRIPLES[triple]
    return (
        t["corrected"]["corrected_step"],
        t["corrected"]["correction_step"],
        t["uncorrected"]["error_step"],
    )


# -- the fixture itself (no engine) -------------------------------------------------------


def test_fixture_covers_the_issue():
    recs = [r for t in TRIPLES.values() for r in t.values()]
    assert len(TRIPLES) >= 12
    assert all(set(t) == set(VARIANTS) for t in TRIPLES.values())
    assert sum(t["clean"]["lang"] == "zh" for t in TRIPLES.values()) >= 4
    assert sum(all(_is_long(r) for r in t.values()) for t in TRIPLES.values()) >= 3
    # EN and ZH, short and long
    kinds = {(t["clean"]["lang"], _is_long(t["clean"])) for t in TRIPLES.values()}
    assert kinds == {("en", False), ("en", True), ("zh", False), ("zh", True)}
    assert {t["clean"]["error_kind"] for t in TRIPLES.values()} == ERROR_KINDS
    assert len({r["id"] for r in recs}) == len(recs)
    # the issue's own examples
    steps = [s for r in recs for s in r["steps"]]
    assert "Wait, 1.20 / 3 is 0.40, not 0.50." in steps
    assert any("23 × 18 = 424" in s for s in steps)
    assert any("4 * 15 is 70" in s for s in steps)
    assert any("3.5 乘以 4 等于 15" in s for s in steps)
    assert any("八折" in t["clean"]["question"] for t in TRIPLES.values())


@pytest.mark.parametrize("triple", list(TRIPLES))
def test_fixture_triple_is_consistent(triple):
    t = TRIPLES[triple]
    clean, corr, unc = (t[v] for v in VARIANTS)
    i, j, e = _indices(triple)
    assert 0 <= i < j < len(corr["steps"])
    assert i == e
    assert clean["question"] == corr["question"] == unc["question"]
    # the clean twin is the corrected trace without the wrong step and its correction
    assert [s for k, s in enumerate(corr["steps"]) if k not in (i, j)] == clean["steps"]
    assert clean["answer"] == corr["answer"] != unc["answer"]
    # the uncorrected twin keeps the same wrong step, with no correction after it
    assert unc["steps"][e] == corr["steps"][i]
    assert unc["steps"][:e] == clean["steps"][:e]
    assert corr["steps"][j] not in unc["steps"]
    assert "corrected_step" not in unc and "error_step" not in corr
    assert not {"corrected_step", "correction_step", "error_step"} & set(clean)


# -- scores and verdicts ------------------------------------------------------------------


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_corrected_scores_like_clean(triple, backend):
    clean, corr = _mol(triple, "clean", backend), _mol(triple, "corrected", backend)
    assert abs(corr.stability - clean.stability) <= TOLERANCE, (
        f"corrected {corr.stability:.3f} vs clean {clean.stability:.3f}; "
        f"corrected reasons: {corr.doc.reasons}"
    )
    assert corr.accepted == clean.accepted


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_uncorrected_scores_below_both(triple, backend):
    s = {v: _mol(triple, v, backend).stability for v in VARIANTS}
    assert s["uncorrected"] < min(s["clean"], s["corrected"]), s


# -- correction semantics -----------------------------------------------------------------


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_correction_step_is_a_correction(triple, backend):
    _, j, _ = _indices(triple)
    steps = _mol(triple, "corrected", backend).steps
    assert (steps[j].role, steps[j].kind) == ("reflection", "correction")


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_corrected_step_is_superseded(triple, backend):
    i, j, _ = _indices(triple)
    steps = _mol(triple, "corrected", backend).steps
    assert steps[i].superseded_by == j
    others = [s.index for s in steps if s.superseded_by is not None and s.index != i]
    assert others == [], "only the wrong step is superseded"


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_correction_bonds_to_the_step_it_corrects(triple, backend):
    # Issue 16 item 3: a correction bonds to the step whose content it corrects, not to the
    # nearest or the first step.
    i, j, _ = _indices(triple)
    bonds = _mol(triple, "corrected", backend).doc.bonds
    assert any(b.source == j and b.target == i and b.type == "reflection" for b in bonds), [
        (b.source, b.target, b.type) for b in bonds if b.source == j
    ]


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_superseded_step_is_no_dead_end(triple, backend):
    i, _, _ = _indices(triple)
    flow = _mol(triple, "corrected", backend).doc.dataflow
    assert [f for f in flow if f.kind == "dead_end" and f.step == i] == []


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_superseded_claim_is_no_standing_conflict(triple, backend):
    i, _, _ = _indices(triple)
    conflicts = _mol(triple, "corrected", backend).doc.conflicts
    assert [c for c in conflicts if c.resolved_by is None and i in c.steps] == []


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_uncorrected_error_stands(triple, backend):
    _, _, e = _indices(triple)
    doc = _mol(triple, "uncorrected", backend).doc
    standing = [
        c
        for c in doc.conflicts
        if c.resolved_by is None and e in c.steps and c.kind in ARITHMETIC_CONFLICTS
    ]
    if TRIPLES[triple]["clean"]["error_kind"] == "misread_given":
        standing += [f for f in doc.dataflow if f.kind == "unsourced" and f.step == e]
    assert standing, (doc.conflicts, doc.dataflow)


@pytest.mark.parametrize(("triple", "backend"), CASES)
def test_first_error(triple, backend):
    _, _, e = _indices(triple)
    for variant in ("clean", "corrected"):
        assert _mol(triple, variant, backend).doc.first_error is None, variant
    doc = _mol(triple, "uncorrected", backend).doc
    if TRIPLES[triple]["uncorrected"]["error_kind"] == "misread_given":
        # A misread given is right arithmetic on a wrong number: only the dataflow sees it
        # (unsourced), and dataflow breaks do not name first errors (bondkd.molecule
        # .first_error: on BIG-Bench Mistake they mislocate more than they find).
        assert doc.first_error is None or doc.first_error.step == e, doc.first_error
        assert any(f.kind == "unsourced" and f.step == e for f in doc.dataflow), doc.dataflow
        return
    assert doc.first_error is not None
    assert doc.first_error.step == e, doc.first_error


# -- domain knowledge (item 5) ------------------------------------------------------------


@pytest.mark.parametrize(("triple", "backend"), _cases(BAZHE))
def test_bazhe_is_sourced(triple, backend):
    # 八折 means × 0.8: a question that says 打八折 gives 0.8.
    for variant in VARIANTS:
        flow = _mol(triple, variant, backend).doc.dataflow
        assert [f for f in flow if f.kind == "unsourced" and f.quantity == "0.8"] == [], variant


# -- what is and is not a correction ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rejected"),
    [
        ("17 × 24 is 408, not 418.", {"418"}),
        ("所以答案是408，而不是418。", {"418"}),
        # A number that qualifies a noun is no claim taken back.
        ("如果x=16，那么5x - 79 = 1，不是3的倍数，所以x=16不是解。", set()),
        ("She has 12, not 3 times as many as Tom.", set()),
        ("The gap is 5, not 2 more than the first.", set()),
        ("'The rest' means what was left after the morning, 150, not the original 240.", {"240"}),
        ("Hmm, that's not the 25 I got before, so one of them is wrong.", set()),  # a doubt
        ("不对，质量分数应该除以溶液的质量 100 g，不是水的质量 80 g。", {"80"}),
    ],
)
def test_rejected_values(text, rejected):
    assert set(content.read(text).rejected) == rejected


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("Wait, actually, no.", True),
        ("Hmm, no, that's off by one.", True),
        ("Actually, no further steps are needed.", False),
        ("Actually, no — I need to add 1 to include both ends: 20 + 1 = 21.", True),
        # An error with no place named is a doubt, not a correction.
        ("Hmm, that's not the 25 I got before, so one of them is wrong.", False),
        ("这意味着我们在某个地方犯了错误。", False),
        ("Going back to the first way: 1,200 / 50 is 24. I divided wrong.", True),
        ("I squared the diameter for the garden instead of the radius: it should be 154 m².", True),
        ("Alternatively, instead of converting to decimal first, I can convert each digit.", False),
    ],
)
def test_says_wrong(text, wrong):
    assert lexicon.says_wrong(text) is wrong


def test_trying_candidates_is_no_correction():
    # Ruling candidates out one by one ("x=16 不是解") corrects nothing written before.
    steps = [
        "设答对x题，则 5x - 79 必须是3的倍数。",
        "如果x=16，那么5x=80，5x - 79 = 1，不是3的倍数，所以x=16不是解。",
        "如果x=17，那么5x=85，5x - 79 = 6，是3的倍数，所以x=17是解。",
        "所以小丽答对了17题。",
    ]
    question = "小丽答对一题得5分，答错一题扣3分，共得79分，她答对了几题？"
    mol = analyze({"question": question, "steps": steps}, AnalyzeConfig(backend="lexical"))
    assert [s.kind for s in mol.steps if s.kind == "correction"] == []
    assert not any(s.superseded_by is not None for s in mol.steps)


# -- a correction that redoes the work itself ------------------------------------------------

# Triples written the way people correct mid-trace, not by inserting two steps into the clean
# twin: the correction carries the redo ("I made an error: 4 × 38 = 152, so 156 / 4 is
# 39"), or a restatement follows it, or a tainted total is redone (Step.redone_by).
REDONE = json.loads((Path(__file__).parent / "fixtures" / "corrections_redone.json").read_text())


@pytest.mark.parametrize("t", REDONE, ids=[t["id"] for t in REDONE])
def test_a_correction_that_redoes_the_work_scores_like_the_clean_twin(t):
    got = {
        v: analyze(
            {"question": t["question"], "steps": t[v],
             "answer": t["bad_answer"] if v == "uncorrected" else t["answer"]},
            AnalyzeConfig(backend="lexical"),
        )
        for v in VARIANTS
    }  # fmt: skip
    clean, corr, unc = (got[v] for v in VARIANTS)
    assert abs(corr.stability - clean.stability) <= TOLERANCE and corr.accepted == clean.accepted
    assert unc.stability < min(clean.stability, corr.stability)
    assert any(s.kind == "correction" for s in corr.steps)


def test_counting_twice_is_a_correction_only_after_a_wait():
    from bondkd.steps.lexicon import says_wrong

    assert says_wrong("Wait, each diagonal is counted twice, once from each end.")
    assert says_wrong("等一下，15 既是 3 的倍数又是 5 的倍数，被算了两次。")
    # planned: "each handshake is counted twice, so divide by 2" replaces nothing
    assert not says_wrong("But each handshake is counted twice, so divide by 2.")
    assert not says_wrong("但这样每次握手被算了两次，所以是 30 ÷ 2 = 15 次。")


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("That's the formula for the side area, not the volume.", True),
        ("Wait, that's km per minute, not km/h.", True),
        ("That's 12 pairs, not just 6.", False),  # more, not a different thing
        ("So the answer is 12, not counting the order.", False),
    ],
)
def test_that_is_one_thing_not_another_takes_the_claim_back(text, wrong):
    from bondkd.steps.lexicon import says_wrong

    assert says_wrong(text) is wrong
