"""Which earlier step a step's content points at: the step a check verifies, the step a
correction replaces, the steps a deduction uses.

A reader links a step by what it shares with earlier ones, and by where that content
came from: "Check: 294 + 83 + 37 = 414" verifies the step that computed 83, and "17 × 24
is 408, not 418" corrects the step that wrote 418, however far back. Energies (attention,
semantic) only break ties between candidates with the same content evidence; with no
content evidence at all the energy-based partner of bondkd.molecule.bonds stands.

What each step's content points at is gathered by `bondkd.molecule.evidence`; `choose`
decides:

- a check: its own evidence, plus 0.9 for the claim just made (`episodes.anchors`, mapped
  to where that claim was first stated: `origins`), plus the evidence of the next two
  steps, which carry the check out ("let me check the students again" is followed by the
  multiplication it redoes), unless the check computes its own result and names its step
  itself; a check of a check counts half; a check that writes no number and names
  nothing of its own gets 0.3 per question term it shares (two or more) with each of the
  ten plain steps before it, at most 0.9 ("Check Lee: the cat is neither …" is about the
  step that said so of Lee); right after the conclusion of a case analysis, the last step
  of the one case that survived (`episodes.surviving_case`); a check looking back at earlier work
  ("Wait, but earlier I thought it would be 20 bits") takes its own evidence alone; a
  target that is a piece of a sentence its source cut, computing nothing itself, is
  replaced by the step the sentence began in; a check reaching nothing written before is
  carried out by the steps after it, and a verdict right after it that opens with no cue
  of its own closes it ("12 × 8 = 96 m, the same as before."); energy breaks ties;
- a calculation redone alike inside a check ("6 × 4096 = 24576" again after "Let me
  convert it again"): the step that first claimed it;
- a check that compares two methods ("Both methods give 12"): the first method's step that
  computed the value it names (`episodes.compared`);
- a correction (lexicon.says_wrong, a rejected value, or a "Wait" that finds another
  result and drops the claim's for good: `_abandons`): the step that wrote the rejected
  value, else a recent step whose result its own puts right by a slip of the pen (27.20
  for 28.20), else a recent calculation it redoes with another operator or one number
  changed ("18 ÷ 3" after "18 ÷ 2"), else the step whose expression or result it redoes,
  else, owning up right after a correction ("I slipped"), that correction's target, else
  for "counted twice" the claim just made (the total), else, of the claim just made and
  the two before it, the one its content shares most with (the claim just made on a tie).
  Taking a value the claim just made restated, without redoing its calculation ("So the
  hypotenuse is 225." "I forgot to take the square root"), it corrects the restatement.
  That step is superseded by it, and so are, for the dataflow and conflicts, the steps
  between them that computed with the superseded values (bondkd.molecule.replaced);
- a plain step: deduction links to the steps that computed or last wrote the values it
  uses (or last wrote its symbols, "x", "y_E"), to its predecessor when it carries on from
  it (`_continues`), and, when it opens mid-expression (a piece of a sentence its source
  cut), to the step the sentence began in; a conclusion taking no value, to the plain step
  it restates (`_restated`); a conclusion right after a case analysis, to the case that
  survived.

The weights were chosen on the `tune` part of datasets/labelled.jsonl, never on its
`holdout` part (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bondkd.molecule import episodes, replaced
from bondkd.molecule.content import fragment, slip, small
from bondkd.molecule.episodes import SHARED_TERMS
from bondkd.molecule.evidence import (
    LOOKAHEAD,
    MAX_DEDUCTIONS,
    OPERAND,
    STRENGTH,
    Evidence,
    converts,
)
from bondkd.steps import lexicon

MIN_EVIDENCE = 0.5  # below this a step's own content does not name a target
# A check that computes a result and whose own content names a step this strongly is
# self-contained: the step after it goes on ("So the product is 510."), it does not carry
# the check out.
SELF_CONTAINED = 1.0
# A correction that names no value corrects one of the claims this close before it.
NEAR_CORRECTION = 2
# A check that writes no number is about a step this close before it that names at least
# ASKED_SHARED of the same question terms (names, objects), 0.3 for each.
ASKED_WINDOW, ASKED_SHARED = 10, 2


@dataclass
class Links:
    targets: dict[int, int] = field(default_factory=dict)  # reflection step -> its target
    kinds: dict[int, str] = field(default_factory=dict)  # reflection step -> check/correction
    deductions: dict[int, list[int]] = field(default_factory=dict)  # step -> used steps
    superseded: dict[int, int] = field(default_factory=dict)  # step -> its correction
    tainted: dict[int, int] = field(default_factory=dict)  # step computed from superseded
    # values -> the correction that redoes it
    redone: dict[int, int] = field(default_factory=dict)  # step whose work a correction
    # stands for in the step count -> that correction (`replaced.redone`)

    def replaced(self) -> dict[int, int]:
        """Every step a correction replaces (superseded or tainted) -> that correction."""
        return self.tainted | self.superseded


Energy = Callable[[int, int], float]


def choose(ev: Evidence, behaviour: Sequence[str | None], energy: Energy) -> Links:
    """Targets of reflection steps, deduction links of the others, and corrections.
    `behaviour[j]`: "reflection" / "exploration" from step j's cues, else None; a step that
    rejects a value stated earlier reflects too. `energy(j, i)`: the pair's energy (0 when
    not scored)."""
    n = len(ev.scores)
    out = Links()
    is_refl = episodes.reflecting(ev, behaviour)
    anchors = episodes.anchors(ev, is_refl)
    branches = episodes.branches(ev, behaviour, is_refl)
    # A check is carried out by the plain steps after it, up to another check or a branch.
    ends = [r or b == "exploration" for r, b in zip(is_refl, behaviour, strict=True)]
    last = {v: k for k, c in enumerate(ev.contents) for v in c.values}  # value -> last step
    closing: set[int] = set()  # the steps comparing two methods
    for j in range(1, n):
        if (compared := episodes.compared(ev, j, is_refl, anchors, branches[j])) is not None:
            out.targets[j], out.kinds[j] = compared, _check_kind(ev.texts[j])
            closing.add(j)
        elif is_refl[j]:
            before = out.targets.get(j - 1)
            owned = out.kinds.get(j - 1) == "correction" and lexicon.ADMISSION_RE.search(
                ev.texts[j]
            )
            named = episodes.rejections(ev, j, behaviour)
            says = lexicon.says_wrong(ev.texts[j]) or _abandons(ev, j, anchors[j], behaviour, last)
            target = _reflection_target(
                ev, j, is_refl, energy, before, anchors[j], before if owned else None, ends, named,
                says,
            )  # fmt: skip
            if target is None:
                continue
            wrong = bool(named) or says
            if not wrong and not ev.contents[target].results:
                # a check is of the sentence its source cut, unless the piece computed
                target = ev.starts[target]
            out.targets[j] = target
            out.kinds[j] = "correction" if wrong else _check_kind(ev.texts[j])
            if wrong:
                out.superseded.setdefault(target, j)
        elif behaviour[j] is None:
            used = [i for i, x in ev.uses[j].items() if x >= STRENGTH["small"]]
            used.sort(key=lambda i: (-ev.uses[j][i], -i))
            if not used and (restated := episodes.restated(ev, j, is_refl, behaviour)) is not None:
                used = [restated]
            if (case := episodes.rests_on(ev, j)) is not None:
                used = [case, *(i for i in used if i != case)]  # "所以只有 B 说了真话。"
            if j - 1 not in used and _continues(ev, j):
                used.insert(0, j - 1)
            whole = ev.starts[j - 1]
            if fragment(ev.texts[j]) and whole < j - 1 and whole not in used[:2]:
                # "* 1!) = 168." also uses the step its sentence began in
                used = [i for i in used if i != whole]
                used.insert(1 if used and used[0] == j - 1 else 0, whole)
            if (cited := ev.cites[j]) is not None:  # "From step 3, I know f⁻¹(6) = 2."
                used = [cited, *(i for i in used if i != cited)]
            if used:
                out.deductions[j] = used[:MAX_DEDUCTIONS]
    # A second method opened to check and the comparison closing it are about one claim:
    # the one the comparison names ("换个方法验证：……" … "100 − 33 = 67，和前面的结果一样").
    for k in sorted(closing):  # of two comparisons closing one method, the later
        if (opened := branches[k]) is not None and out.kinds.get(opened) == "cross_check":
            out.targets[opened] = out.targets[k]
    out.tainted = replaced.tainted(ev.contents, out.superseded)
    out.redone = replaced.redone(ev.contents, out.superseded, out.tainted, out.targets, behaviour)
    return out


# "Wait" and its kin: a step that stops the work at hand.
_INTERJECTION = re.compile(
    r"\W{0,3}(?:but |so |oh,? )?(?:wait|hold on|hang on|hmm+(?=[,.!])|等一下|等等|等一等|且慢|[哦噢](?=[，,]))",
    re.IGNORECASE,
)


def _abandons(ev: Evidence, j: int, anchor: int | None, behaviour: Sequence[str | None],
              last: dict[str, int]) -> bool:  # fmt: skip
    """Whether "Wait" step j replaces the claim just made without saying it was wrong: it
    (or the plain step after it) finds another result, and the claim's result is never
    written again ("So it prints 4 + 15 = 19." "Wait, Python indexes from 0, so a[1] is 8
    and a[3] is 16." "It prints 8 + 16 = 24."). `last`: the step each value was last
    written in."""
    text = ev.texts[j]
    if anchor is None or not _INTERJECTION.match(text):
        return False
    if (
        lexicon.CHECK_PURPOSE_RE.search(text)
        or "?" in text
        or "？" in text
        or lexicon.FITS_RE.search(text)
    ):
        return False  # "Hmm, let me make sure …", "Hmm, is 1 prime?", "… = 54. Good.": a check
    old, new = ev.contents[anchor].results, ev.contents[j].results
    if not new and j + 1 < len(ev.texts) and behaviour[j + 1] is None:
        new = ev.contents[j + 1].results
    if not old or not new or old & new:
        return False
    # the old result may come back once, right after, as an operand of the new result
    # ("Wait, that's only one way; the ride back takes 3 hours." "Total: 2 + 3 = 5 hours.")
    after = ev.contents[j + 1].exprs if j + 1 < len(ev.contents) else frozenset()
    return all(
        last.get(v, -1) <= j
        or (last.get(v, -1) == j + 1 and any(v in OPERAND.findall(e) for e in after))
        for v in old
    )


def _redoes(ev: Evidence, j: int, window: range) -> int | None:
    """The latest step in `window` that wrote one of step j's calculations with the same
    numbers and another operator or order ("3 − 4" for "4 − 3"), or with the same operators
    and one number changed; or None."""
    if any(ev.contents[i].exprs & ev.contents[j].exprs for i in window):
        return None  # it writes a recent calculation again as it was: no other one redone
    mine = [(OPERAND.findall(e), re.sub(OPERAND, "#", e)) for e in ev.contents[j].exprs]
    for i in reversed(window):
        for e in ev.contents[i].exprs - ev.contents[j].exprs:
            nums, ops = OPERAND.findall(e), re.sub(OPERAND, "#", e)
            for n, o in mine:
                if sorted(n) == sorted(nums):  # another operator, or the order turned round
                    return i
                if o == ops and sum(a != b for a, b in zip(n, nums, strict=True)) == 1:
                    return i
    return None


# An answer announced: "答：", "Answer:", "The final answer is …".
# A step that rewrites the equation before it ("展开：60t + 300 = 80t − 240。", "移项：…",
# "Expanding: …", "Subtract 3x from both sides: …") or puts numbers into it ("代入 10：…").
_TRANSFORMS = re.compile(
    r"\W{0,3}(?:展开|移项|化简|整理|去括号|合并同类项|两边同时|两边都|约分|通分|代入|带入"
    r"|(?:substitut|plug)\w{0,4}(?![\w'’])"
    r"|(?:expand|simplify|rearrang|collect|factor)(?:ing|ed|e|s)?(?![\w'’])"
    r"|(?:subtract|add|divid|multiply)\w{0,3} [^.:\n]{0,24}?both sides)",
    re.IGNORECASE,
)


_WORD = re.compile(r"[a-z]{3,}")


def _continues(ev: Evidence, j: int) -> bool:
    """Whether plain step j carries on from step j - 1: it opens with a conclusion ("so",
    因此) or rewrites its equation (展开, "Expanding"), refers back to it ("these
    students", 这些), finishes its expression ("= 40320"), is what it announced with a
    colon ("In base 10 this is:"), or shares content with it: a value, two terms, or one
    word neither took from the question ("TTT" then "P(TTT) = 1/8"; a pair of Chinese
    characters is too common for that).
    Step j - 1 may be a check or an alternative: the plain step
    after "Actually, from a to b there are b - a + 1" or "Let me count the digits" works
    it out (on datasets/labelled.jsonl this raised the deduction links typed strong_logic
    from 0.598 to 0.612 on tune and 0.580 to 0.604 on holdout)."""
    text = ev.texts[j]
    a, b = ev.contents[j], ev.contents[j - 1]
    return (
        lexicon.cue_kind(text) == "conclusion"
        or _TRANSFORMS.match(text) is not None
        or lexicon.REFERS_BACK_RE.search(text[:80]) is not None
        or fragment(text)
        or ev.texts[j - 1].rstrip().endswith((":", "："))
        or bool(a.values & b.values)
        or len(a.terms & b.terms) >= SHARED_TERMS
        or any(_WORD.fullmatch(t) for t in a.terms & b.terms - ev.asked[j] - ev.asked[j - 1])
        or bool(a.terms & ev.introduced[j - 1])  # "设这个数是 x。" "3x + 14 = 5x − 6"
    )


def _converts_given(ev: Evidence, j: int, window: range) -> int | None:
    """The latest step in `window` that calculated with a given that step j writes again
    in other units, or None."""
    mine = ev.contents[j].values
    given = [v for v in mine & ev.given if any(converts(v, w) for w in mine - {v})]
    return next((i for i in reversed(window) for e in ev.contents[i].exprs
                 if any(v in OPERAND.findall(e) for v in given)), None)  # fmt: skip


def _check_kind(text: str) -> str:
    """A check by a second method also opens an alternative: "cross_check"."""
    return "cross_check" if lexicon.checks_another_way(text) else "check"


def _reflection_target(
    ev: Evidence,
    j: int,
    is_refl: Sequence[bool],
    energy: Energy,
    previous: int | None,
    anchor: int | None,
    corrected: int | None,
    ends: Sequence[bool],
    named: dict[int, float],
    says_wrong: bool,
) -> int | None:
    """`previous`: the target of step j - 1 if it checks, `corrected` if it corrects and
    step j owns up to a slip; `anchor`: `episodes.anchors`; `ends`: the steps that end a
    check's lookahead (checks and alternatives); `named`: `episodes.rejections`;
    `says_wrong`: whether step j corrects without naming a value (in words, or by a "Wait"
    that drops the claim's result for good: `_abandons`)."""
    if named:  # a rejected value or a redo with another value names the corrected step
        return max(named, key=lambda i: (named[i], i))
    if ev.cites[j] is not None:  # "I see, step 3 was wrong": the step it names
        return ev.cites[j]
    if ev.reruns[j] is not None and not lexicon.says_wrong(ev.texts[j]):
        return ev.reruns[j]  # "Then, 2863 + 1 = 2864." again: where it was first claimed
    if anchor is not None and says_wrong:
        # A correction redoes an earlier expression or result ("算错了，144 ÷ 8 应该是 18"),
        # else "Wait, no, that's not right" rejects the claim just made.
        # Owning up right after a correction ("I slipped in the first step") goes on with it.
        # A result that differs from a recent one by a slip of the pen redoes that step
        # ("10 × 2.35 + 2 × 2.35 makes 28.20, so I was a dollar off" after "… = 27.20"), not
        # the steps whose values it computes from.
        window = range(max(0, anchor - NEAR_CORRECTION), anchor + 1)
        mine = ev.contents[j]
        slips = [i for i in window if any(slip(v, w) for v in mine.results
                                          for w in ev.contents[i].results - mine.values)]  # fmt: skip
        if slips:  # of two, the one whose calculation it writes again ("3 × 8.5 … 25.5")
            return max(slips, key=lambda i: (ev.producers[j].get(i, 0.0), i))
        # The same calculation redone with another operation or operand ("应该是 12 − 8 = 4"
        # after "12 + 8 = 20", "宽是 18 ÷ 3" after "宽是 18 ÷ 2").
        if (other := _redoes(ev, j, window)) is not None:
            return other
        # A given written again in other units ("I mixed metres and centimetres: 2 m is
        # 200 cm") takes back the calculation that used it as it was.
        if (other := _converts_given(ev, j, window)) is not None:
            return other
        redone = {i: x for i, x in ev.producers[j].items() if x >= STRENGTH["result"]}
        if redone:
            best = max(redone, key=lambda i: (redone[i], i))
            # Taking a value on without redoing its calculation, it corrects the claim that
            # restated the value, not the step that computed it: "So the hypotenuse is
            # 225." "Oh wait, I forgot to take the square root: √225 = 15."
            if anchor > best == ev.origins[anchor] and not mine.exprs & ev.contents[best].exprs:
                return anchor
            return best
        if corrected is not None:
            return corrected
        if lexicon.DOUBLE_COUNTED_RE.search(ev.texts[j]):
            return anchor  # "15 … 被算了两次": the total that took it twice, not its list
        # Naming no value, it corrects the recent step it is about ("不放回的话，第二次……
        # 概率应该是 2/4" corrects "第二次……也是 3/5", not the product after it).
        near = {i: x for i, x in ev.scores[j].items() if anchor - NEAR_CORRECTION <= i <= anchor}
        best = max(near, key=lambda i: (near[i], i), default=anchor)
        # a single digit ("两个速度") is too weak to pass over the claim just made
        better = near.get(best, 0.0) > max(near.get(anchor, 0.0), STRENGTH["small"])
        return best if better else anchor
    cand = _weighed(ev, j, is_refl)
    own = max(cand.values(), default=0.0)
    if own >= MIN_EVIDENCE and lexicon.LOOKS_BACK_RE.search(ev.texts[j]):
        # "Wait, but earlier I thought it would be 20 bits": the earlier work it names,
        # not the claim just made nor what the next steps compute
        return _best(cand, j, energy)
    if (own < SELF_CONTAINED or not ev.contents[j].results) and (
        case := episodes.case_concluded(ev, j)
    ) is not None:
        return case
    carries = set(cand) == {j - 1} and not episodes.corrects(ev, j - 1)
    # The reply to the question a check put ("…是从货车出发算起的吗？" "是的，300 千米是…")
    # is about what that check was about, whatever values the reply explains it with.
    # So does a verdict on it opening the step ("That seems right: the product is even in
    # 27 of the 36 outcomes, …").
    replies = _JUDGES.match(ev.texts[j]) is not None or (
        _REPLY.match(ev.texts[j]) is not None and ev.texts[j - 1].rstrip().endswith(("?", "？"))
    )
    # So does a step arriving at a result of the step that check is about ("So 2x = 42 and
    # x = 21, the same as before." after "As one more check, use the gap: …").
    arrives = previous is not None and any(
        not small(v) for v in ev.contents[j].results & ev.contents[previous].results - ev.given
    )
    if (
        previous is not None
        and (own < MIN_EVIDENCE or carries or replies or arrives)
        and not _NEW_CHECK.match(ev.texts[j])
    ):
        # "I slipped in the first step", or "492 + 308 = 800. ✓" after "let me verify the
        # money: 12 × 41 = 492 and 7 × 44 = 308": it goes on with the check before it (a
        # check of a correction's values checks the correction)
        return previous
    if own < MIN_EVIDENCE and not ev.contents[j].values:
        # A check of words, not numbers ("Check Lee: the cat is neither the dog nor the
        # fish"): the recent plain step naming most of the same things from the question.
        for i in range(max(0, j - ASKED_WINDOW), j):
            if not is_refl[i] and (o := len(ev.asked[j] & ev.asked[i])) >= ASKED_SHARED:
                cand[i] = cand.get(i, 0.0) + min(STRENGTH["terms_max"], STRENGTH["term"] * o)
    # Without other evidence a check is about the claim just made: the latest step that
    # is not itself part of a check.
    if anchor is not None:
        # "So 756 - 168 = 588" again: the step that first said it, where that one says it
        # all ("for each of the 10 pairs, 168 ways" combines values of two steps)
        if ev.contents[anchor].values <= ev.contents[ev.origins[anchor]].values:
            anchor = ev.origins[anchor]
        cand[anchor] = cand.get(anchor, 0.0) + STRENGTH["recent"]
    # The steps that carry out the check say what it checks ("let me check the students
    # again" is followed by the multiplication it redoes).
    whole = own >= SELF_CONTAINED and ev.reaches(j)
    another = lexicon.checks_another_way(ev.texts[j])
    for k in range(j + 1, j + 1 if whole else min(len(ev.scores), j + 1 + LOOKAHEAD)):
        # A check of its own, or a new branch, ends this one; a verdict right after it
        # that opens with no cue of its own ("12 × 8 = 96 m, the same as before.") closes it.
        verdict = (
            k == j + 1 and lexicon.cue_kind(ev.texts[k]) is None and not episodes.corrects(ev, k)
        )
        if ends[k] and not verdict:
            break
        reached = ev.contents[k].values
        for i, x in _weighed(ev, k, is_refl).items():
            # A second method starts from the givens anew: what it checks is a result it
            # reaches (a single digit says too little), not where its operands were written.
            if i < j and (
                not another or any(not small(v) for v in reached & ev.contents[i].results)
            ):
                cand[i] = cand.get(i, 0.0) + STRENGTH["lookahead"] * x
        if ends[k]:
            break
    if max(cand.values(), default=0.0) < MIN_EVIDENCE:
        return None
    return _best(cand, j, energy)


# A check that opens on its own ("Let me re-read: …", 再看题目：…) goes on with no check before it.
_NEW_CHECK = re.compile(
    r"\W{0,3}(?:(?:but|and|so|now|ok(?:ay)?)[, ]{1,2})?let(?:['’]s| me| us) (?:re-?read|re-?check|double-check"
    r"|check|verify|look at)|\W{0,3}(?:再看(?:一下)?题目|重新读题|再读一遍题目)",
    re.IGNORECASE,
)
_REPLY = re.compile(r"\W{0,3}(?:yes|no|yep|indeed|是的|对|不是|没错)(?:[,，:：.。!！]| —)", re.I)
_JUDGES = re.compile(
    r"\W{0,3}(?:(?:that|this|it)(?:['’]s| is| seems| looks| sounds)(?: about)? (?:right|correct"
    r"|reasonable|plausible|consistent)|(?:这|这个结果)(?:是)?(?:对的|合理的|正确的))(?![\w'’])",
    re.IGNORECASE,
)


def _best(cand: dict[int, float], j: int, energy: Energy) -> int:
    """The candidate with the most evidence; energy breaks ties, then the later step."""
    return max(cand, key=lambda i: (round(cand[i] + 0.25 * energy(j, i), 6), i))


def _weighed(ev: Evidence, k: int, is_refl: Sequence[bool]) -> dict[int, float]:
    """Step k's evidence. A check of a check points at what the first check verified,
    unless only it fits; a correction that computes a result states the claim now standing,
    checked in full."""
    return {
        i: x
        * (STRENGTH["reflection_target"] if is_refl[i] and not episodes.restates(ev, i) else 1.0)
        for i, x in ev.scores[k].items()
    }
