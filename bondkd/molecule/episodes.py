"""How a trace's checks and methods are laid out, read from its evidence: which steps
reflect (`reflecting`), the claim each check follows (`anchors`), where a second method
began (`branches`), which step of the first method a comparison of methods is about
(`compared`), what a check takes back (`rejections`), and every pair
`bondkd.molecule.links.choose` may link (`pairs`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bondkd import quantities
from bondkd.molecule.content import small
from bondkd.molecule.evidence import (
    LOOKAHEAD,
    LOOKBACK,
    MAX_DEDUCTIONS,
    RERUN,
    RERUN_GAP,
    Evidence,
    states_something,
)
from bondkd.steps import lexicon

SHARED_TERMS = 2  # content terms a step shares with the one before to carry on from it
RESTATE_WINDOW = 3  # steps back a conclusion taking no value looks for the claim it restates
ANSWER_WINDOW = 16  # steps back an answer taking no value looks for the conclusion it states
# Steps back that a check after a case analysis looks for the cases' openings.
CASE_WINDOW = 12
# A conclusion drawn mid-sentence: "…, so the first case is the only one left".
_CONCLUDES = re.compile(r"[,，;；:：]\s*(?:so|thus|hence|therefore|所以|因此)(?![A-Za-z])", re.I)
# A comparison of methods naming no value is about the first method's step, of the
# SAYS_REACH before the second began, that shares at least SAYS_AGAIN terms with it, most.
SAYS_REACH, SAYS_AGAIN = 12, 3


def pairs(ev: Evidence, behaviour: Sequence[str | None]) -> list[tuple[int, int]]:
    """Every pair `choose` may link: for a check, its own candidates, those of the
    steps that may carry out the check and of the step before (a check goes on), and
    the claim it follows and where that was first made; for a plain step, the steps
    whose values it uses most (its predecessor is a candidate pair already)."""
    out: set[tuple[int, int]] = set()
    n = len(ev.scores)
    is_refl = reflecting(ev, behaviour)
    claim, branch = anchors(ev, is_refl), branches(ev, behaviour, is_refl)
    for j, anchor in enumerate(claim):
        if (cited := ev.cites[j]) is not None:
            out.add((j, cited))
        if (first := compared(ev, j, is_refl, claim, branch[j])) is not None:
            out.add((j, first))
        elif is_refl[j]:
            for k in range(j - 1, min(n, j + 1 + LOOKAHEAD)):
                for i in ev.scores[k]:
                    if i < j:
                        out.update({(j, i), (j, ev.starts[i])})
            if anchor is not None:
                out.update({(j, anchor), (j, ev.origins[anchor])})
            if (case := case_concluded(ev, j)) is not None:
                out.add((j, case))
        elif behaviour[j] is None:  # the steps a deduction may use
            used = sorted(ev.uses[j], key=lambda i: (-ev.uses[j][i], -i))
            out.update((j, i) for i in used[:MAX_DEDUCTIONS])
            if (said := restated(ev, j, is_refl, behaviour)) is not None:
                out.add((j, said))
            if (case := rests_on(ev, j)) is not None:
                out.add((j, case))
    return sorted(out)


def anchors(ev: Evidence, is_refl: Sequence[bool]) -> list[int | None]:
    """For each step, the latest earlier step that states something (`states_something`) and is
    not itself part of a check: the claim a check is about when nothing else says."""
    out: list[int | None] = [None]
    for j in range(1, len(ev.contents)):
        # A correction that computes a result states the claim now standing ("So he needs
        # 14 days, not 13.", "不对，……应该用除法：270 ÷ 0.9 = 300 元"); other checks only
        # look back.
        states = not is_refl[j - 1] or restates(ev, j - 1)
        last = j - 1 if states and states_something(ev.contents[j - 1]) else out[-1]
        out.append(last)
    return out


def branches(
    ev: Evidence, behaviour: Sequence[str | None], is_refl: Sequence[bool]
) -> list[int | None]:
    """For each step, the latest earlier step that opened another method: an
    alternative, or the first step of a check. A correction opens none: the steps
    after it replace the work it rejects rather than set a second method beside it."""
    out: list[int | None] = [None]
    for k in range(1, len(ev.contents)):
        opens = behaviour[k - 1] == "exploration" or (
            is_refl[k - 1] and not (k > 1 and is_refl[k - 2]) and not corrects(ev, k - 1)
        )
        out.append(k - 1 if k > 1 and opens else out[-1])
    return out


def compared(ev: Evidence, j: int, is_refl: Sequence[bool], anchors: list[int | None],
             branch: int | None) -> int | None:  # fmt: skip
    """For a check that sets two methods side by side ("Both methods give 12"), the
    step it is about: a correction since the second method began (`branch`) that
    computed the value the check names, else the latest step before it that computed
    (else wrote) that value, else the latest plain step
    since then that computed it, or else the value the second method ended with;
    naming no value, the first method's step it says again (most terms shared); failing
    all, the first method's last claim. None for any other step."""
    text = ev.texts[j]
    if branch is None or not is_refl[j]:
        return None
    if not lexicon.COMPARES_RE.search(text) and not (
        lexicon.SAME_RESULT_RE.search(text) and not lexicon.checks_another_way(text)
    ):
        return None
    last = anchors[j]
    # The value both reached: the one the check names (its own results first, the last
    # first: "10t = 30, t = 3"), else the second method's last.
    own = [quantities.canon(q.value) for q in reversed(quantities.results(ev.texts[j]))]
    named = own + sorted(v for v in ev.contents[j].values - set(own) if not small(v))
    found = quantities.results(ev.texts[last]) if last is not None and last >= branch else []
    # (a check that only re-ran the first method, "和刚才一样", is not where it found it)
    earlier = [i for i in range(branch - 1, max(-1, branch - 1 - LOOKBACK), -1)
               if not is_refl[i] or corrects(ev, i)]  # fmt: skip
    # Else a plain step since then computed it ("The sum is 2 + 3 = 5." "By Vieta's
    # formula the sum is 5, which matches."): the check itself is the second method.
    since = [i for i in range(j - 1, branch - 1, -1) if named and not is_refl[i]]
    values = named or [quantities.canon(q.value) for q in found[-1:]]
    # A correction since the second method began put the first right: a value it computed
    # is the first method's now ("I added wrong before: it's 15" … "both methods agree on 15").
    fixed = [i for i in range(j - 1, branch - 1, -1) if corrects(ev, i)]
    # (or the work redone after it: "t = 3 秒，之前我把 ½ 漏掉了", then "v = 10 × 3 = 30")
    fixed += [i for i in range(j - 1, fixed[-1], -1) if not is_refl[i]] if fixed else []
    for kind, steps in (
        ("results", fixed),
        ("results", earlier),
        ("values", earlier),
        ("results", since),
    ):
        for value in values:
            for i in steps:
                if value in getattr(ev.contents[i], kind):
                    return i
    # Naming no value ("结论一样，说真话的是乙。"), the first method's step it says again.
    mine = ev.contents[j].terms
    said = {
        i: n for i in earlier[:SAYS_REACH] if (n := len(mine & ev.contents[i].terms)) >= SAYS_AGAIN
    }
    if said:
        return max(said, key=lambda i: (said[i], i))
    return anchors[branch] if anchors[branch] is not None else branch - 1


def reflecting(ev: Evidence, behaviour: Sequence[str | None]) -> list[bool]:
    """A step checks when its cues say so, it rejects a value stated earlier, it redoes
    a calculation with another value, unless it carries out the check before it
    (`rejections`), or it redoes an earlier calculation alike within a check ("Let me
    convert it again." … "6 × 4096 = 24576"): a re-run verifies what it repeats."""
    out: list[bool] = []
    check = None  # the latest reflecting step, until a new branch
    for k, b in enumerate(behaviour):
        # a recap or the answer stated ends the check: what it writes again concludes
        concludes = lexicon.SUMS_UP_RE.match(ev.texts[k]) or lexicon.STATES_ANSWER_RE.match(
            ev.texts[k]
        )
        rerun = check is not None and k - check <= RERUN and not concludes
        out.append(
            b == "reflection"
            or bool(ev.rejects[k])
            or bool(ev.redos[k] and not _carries(k, behaviour))
            or (rerun and (ev.reruns[k] is not None or again(ev, k)))
        )
        # the steps after a correction redo the work it replaced, and those after a second
        # method work it out ("再用方程验证一下" … "x = 35 − 12 = 23"): they re-run no check
        if out[-1]:
            check = None if corrects(ev, k) or lexicon.checks_another_way(ev.texts[k]) else k
        elif b == "exploration" or concludes:
            check = None
    return out


def again(ev: Evidence, k: int) -> bool:
    """Whether step k calculates again what a step well before it first stated."""
    return bool(ev.contents[k].exprs) and ev.origins[k] <= k - RERUN_GAP


def restates(ev: Evidence, k: int) -> bool:
    """Whether step k takes back a claim and states the one now standing: it rejects a
    value ("14 days, not 13"), or says something was wrong and computes a result."""
    return bool(ev.rejects[k]) or (corrects(ev, k) and bool(ev.contents[k].results))


def corrects(ev: Evidence, k: int) -> bool:
    """Whether step k takes something back: a value it rejects, or it says so."""
    return bool(ev.rejects[k]) or lexicon.says_wrong(ev.texts[k])


def _carries(k: int, behaviour: Sequence[str | None]) -> bool:
    return k > 0 and behaviour[k - 1] == "reflection" and behaviour[k] is None


def rejections(ev: Evidence, j: int, behaviour: Sequence[str | None]) -> dict[int, float]:
    """The earlier steps reflection step j says are wrong: the values and expressions it
    rejects, and a calculation it redoes with another value unless it carries out the
    check before it ("Let me check the students again." "17 × 24 = 408."): then it is
    that check's evidence, and an explicit correction after it says what was wrong."""
    out = dict(ev.rejects[j])
    if not _carries(j, behaviour):
        for i, x in ev.redos[j].items():
            out[i] = out.get(i, 0.0) + x
    return out


def surviving_case(ev: Evidence, end: int) -> int | None:
    """For a case analysis ending at step `end` ("Suppose A is a knight. … fits." "Suppose
    instead … a contradiction."), the last step of the one case that no contradiction or
    misfit closed: the case its conclusion rests on, and a check after that conclusion
    checks. None when the steps before `end` open fewer than two cases, or more survive."""
    opens = [i for i in range(max(0, end + 1 - CASE_WINDOW), end + 1)
             if lexicon.SUPPOSES_RE.match(ev.texts[i])]  # fmt: skip
    if len(opens) < 2:
        return None
    ends = [*(o - 1 for o in opens[1:]), end]
    alive = [last for start, last in zip(opens, ends, strict=True)
             if not any(lexicon.CASE_FAILS_RE.search(t) for t in ev.texts[start : last + 1])]  # fmt: skip
    return alive[0] if len(alive) == 1 else None


def rests_on(ev: Evidence, j: int) -> int | None:
    """For a plain conclusion right after a case analysis ("所以只有 B 说了真话。"), the
    case that survived (`surviving_case`), else None."""
    concludes = lexicon.cue_kind(ev.texts[j]) == "conclusion"
    return surviving_case(ev, j - 1) if j and concludes else None


def case_concluded(ev: Evidence, j: int) -> int | None:
    """For a check right after the conclusion of a case analysis ("So A is a knight." "Let
    me check A's case."), the case that survived (`surviving_case`), else None."""
    after = j >= 2 and (
        lexicon.cue_kind(ev.texts[j - 1]) == "conclusion"
        or _CONCLUDES.search(ev.texts[j - 1]) is not None
    )
    return surviving_case(ev, j - 2) if after else None


def restated(ev: Evidence, j: int, is_refl: Sequence[bool],
              behaviour: Sequence[str | None]) -> int | None:  # fmt: skip
    """For a conclusion or an answer that takes no value from anywhere ("答：甲总说真话。"
    after "所以只有甲总说真话的情况成立。" and a check), the plain step it restates: the
    latest of the RESTATE_WINDOW before it sharing SHARED_TERMS content terms with it."""
    if lexicon.cue_kind(ev.texts[j]) != "conclusion" and not lexicon.STATES_ANSWER_RE.match(
        ev.texts[j]
    ):
        return None
    terms = ev.contents[j].terms
    if lexicon.STATES_ANSWER_RE.match(ev.texts[j]):
        # The answer states the work's conclusion, even after a long check or a second
        # method ("答：乙说了真话。" after "因此说真话的是乙。" and ten steps of checking).
        for k in range(j - 1, max(-1, j - 1 - ANSWER_WINDOW), -1):
            if (
                not is_refl[k]
                and behaviour[k] is None
                and lexicon.cue_kind(ev.texts[k]) == "conclusion"
                and terms & ev.contents[k].terms
            ):
                return k
    for k in range(j - 1, max(-1, j - 1 - RESTATE_WINDOW), -1):
        if (
            not is_refl[k]
            and behaviour[k] is None
            and len(terms & ev.contents[k].terms) >= SHARED_TERMS
        ):
            return k
    return None
