"""Energies + behaviour + content links -> typed bonds and step roles.

Bands give a bond's type from its energy; behaviour and content refine them, because cues
and shared content are direct evidence of what a step does while a band is only a
strength:

| bond                                                        | type         |
|-------------------------------------------------------------|--------------|
| a reflecting step -> the step whose content it checks       | reflection   |
| an exploring step -> the step it branches from              | exploratory  |
| a step -> a step whose results it computes with (links.py)  | strong_logic |
| a plain step -> a step it uses, deduction score >= deduction | strong_logic |
| any other, E >= strong                                      | strong_logic |
| any other, E >= exploratory                                 | exploratory  |
| any other, E < exploratory                                  | no bond      |

The step a reflection checks is the one its content points at (bondkd.molecule.links:
the value it rejects, the expression or result it recomputes); only with no content
evidence is it the partner with the most coherence and energy. An energy in the reflection
band without a checking step is a weak bridge (exploratory): hydrogen bonds need a step
that checks. Floors are per backend (`BondConfig.model` / `.lexical`, calibrated in
benchmarks/calibrate_bands.py). Each step keeps at most `max_per_step` bonds, so weak
bonds cannot swamp the graph of a long trace: a check or an alternative its content links,
then its strongest; a plain step the steps it most likely uses (`_deduction_score` plus
nearness, `DEDUCTION_PRIOR`), not the far pairs with the most energy.

Roles: reflection / exploration come from behaviour; a step with an outgoing
strong_logic bond is deep_reasoning; the rest are normal.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from bondkd.config import Bands
from bondkd.energy.combine import COMPONENTS, PairEnergies
from bondkd.molecule import links
from bondkd.molecule.evidence import Evidence
from bondkd.schema import Bond, BondType, Components, Role
from bondkd.steps import lexicon

Behaviour = Literal["reflection", "exploration"] | None
ASKS_AFTER = 3  # steps before this restate the problem, questions and all
REDO_AFTER = 4  # steps after a correction within which "let me redo …" is its redone work
# A plain step's partners are ranked by the deduction score (`_deduction_score`: energy and
# coherence, less the further back, more for the steps whose results its content takes)
# plus `near` for the two steps before it, which it mostly uses; the bond is strong_logic
# from `Bands.deduction` up, nearness not counted: a fact stated after another uses
# nothing. Chosen on the tune part of datasets/labelled.jsonl (docs/benchmarks.md).
DEDUCTION_PRIOR = {"near": 0.4, "far": 0.3, "used": 0.6}

# Reaching a contradiction inside a supposition ("Suppose A is a knave. ... a
# contradiction", 假设甲说真话……矛盾) closes that case: a deduction, not a look back.
# A supposed case ends on a contradiction, or on finding everything consistent: its verdict.
_CONTRADICTION = re.compile(
    r"矛盾|(?<=[，,])(?:这|都|也)?没(?:有)?问题(?=[。！!]|$)"
    r"|(?<![\w'’])(?:contradict\w{0,6}|consistent(?=[ \t]*[.!]))",
    re.IGNORECASE,
)


# A conclusion hedged ("So, maybe it's actually 19 bits.", "So perhaps the leading zero
# is dropped.") draws from what came before; it opens no alternative ("So, maybe I can
# first convert it to base 10" does).
_HEDGED_CONCLUSION = re.compile(
    r"\W{0,3}(?:so|then|therefore|thus),? (?:maybe|perhaps|possibly)(?! (?:i|we) )(?![\w'’])",
    re.IGNORECASE,
)


def behaviours(texts: list[str], ev: Evidence | None = None) -> list[Behaviour]:
    """What each step does, from its cues. Nothing before the first step that claims more
    than what the task is (`lexicon.STATES_TASK_RE`) checks: there is nothing to check yet.
    With the content evidence `ev`, a step rejecting an earlier value ("400 − 208 = 192,
    not 182") is a correction too, whose redone work ("Redo the roots: …") checks nothing."""
    out: list[Behaviour] = []
    cues: dict[str, tuple[str | None, bool, bool]] = {}  # a looping trace repeats its steps
    claimed = False  # whether a step before states more than the task: something to check
    corrected_at = -REDO_AFTER - 1  # the latest step that said something was wrong
    for k, text in enumerate(texts):
        if (cue := cues.get(text)) is None:
            kind = lexicon.cue_kind(text)
            if kind == "exploration" and _HEDGED_CONCLUSION.match(text):
                kind = "conclusion"  # "So, maybe it's actually 19 bits.": no new branch
            if lexicon.checks_another_way(text):
                kind = "reflection"  # "换个方法验证：…", "Another way to see it: … Same."
            elif kind != "exploration" and lexicon.opens_alternative(text):
                kind = "exploration"  # "Wait, perhaps using the gap method."
            elif kind in (None, "sequence") and lexicon.opens_case(text):
                kind = "exploration"  # "如果是小红做的：小明和小红都说了假话，不符合。"
            wrong = lexicon.says_wrong(text)
            reflects = kind != "exploration" and (
                kind == "reflection" or lexicon.has_cue(text, "reflection") or wrong
            )
            cue = cues[text] = (kind, reflects, wrong)
        kind, reflects, wrong = cue
        if reflects and (not claimed or _closes_case(texts, k)):
            reflects = False
        claimed = claimed or not lexicon.STATES_TASK_RE.match(text)
        if wrong or (ev is not None and ev.rejects[k]):
            corrected_at = k
        if reflects and lexicon.REDO_RE.match(text) and corrected_at >= k - REDO_AFTER:
            # "重新算：…", "Let me redo the rest of the table" soon after a correction redoes
            # what it took back
            reflects = False
        # A question the trace asks itself once under way ("So, which is it?") re-examines
        # what it found; early on it restates the problem.
        asks = k >= ASKS_AFTER and kind != "exploration" and text.rstrip().endswith(("?", "？"))
        if k > 0 and (reflects or asks):
            out.append("reflection")
        elif k > 0 and (kind == "exploration" or (kind is None and _sibling_case(texts, k))):
            out.append("exploration")
        else:
            out.append(None)
    return out


def _sibling_case(texts: list[str], k: int) -> bool:
    """Whether step k supposes a case that the step after it answers with another case
    settled there ("If Ann is second, Cal is third." "If Ann is first, that is out."):
    the first of the cases, though it needs no verdict of its own."""
    return (
        k + 1 < len(texts)
        and lexicon.SUPPOSES_RE.match(texts[k]) is not None
        and lexicon.opens_case(texts[k + 1])
    )


def _closes_case(texts: list[str], k: int, reach: int = 3) -> bool:
    """Whether step k reflects only by reaching a contradiction (or "Consistent."), inside a
    supposition it or one of the `reach` steps before it makes: that closes the case (a
    deduction)."""
    text = texts[k]
    if not (m := _CONTRADICTION.search(text)):
        return False
    rest = _CONTRADICTION.sub(" ", text)
    if lexicon.has_cue(rest, "reflection") or lexicon.says_wrong(rest):
        return False
    return bool(lexicon.SUPPOSES_RE.match(text[: m.start()])) or any(
        lexicon.SUPPOSES_RE.match(t) for t in texts[max(0, k - reach) : k]
    )


def band(energy: float, config: Bands) -> BondType | None:
    if energy >= config.strong:
        return "strong_logic"
    if energy >= config.reflection:
        return "reflection"
    if energy >= config.exploratory:
        return "exploratory"
    return None


def build_bonds(
    pe: PairEnergies,
    behaviour: list[Behaviour],
    config: Bands,
    max_per_step: int = 3,
    found: links.Links | None = None,
) -> list[Bond]:
    # Plain lists: indexing numpy arrays one element at a time was most of the cost here
    # on long traces (a 1 MB trace has ~140,000 candidate pairs).
    energy: list[float] = pe.energy.tolist()
    sources, targets = pe.pairs[:, 0].tolist(), pe.pairs[:, 1].tolist()
    coh = pe.components.get("coherence")
    coherence = None if coh is None else coh.tolist()
    comps = {name: x.tolist() for name in COMPONENTS if (x := pe.components.get(name)) is not None}
    found = found or links.Links()
    by_source: dict[int, list[int]] = {}
    for p, j in enumerate(sources):
        by_source.setdefault(j, []).append(p)
    bonds: list[Bond] = []
    seen: dict[tuple, Components] = {}  # a looping trace repeats its pairs' components
    for j in sorted(by_source):
        at = {targets[p]: p for p in by_source[j]}
        # Content evidence first: it names the step checked or used, whatever the energy.
        special = at.get(found.targets.get(j, -1))
        used = [at[i] for i in found.deductions.get(j, ()) if i in at and at[i] != special]
        ps = [p for p in by_source[j] if energy[p] >= config.exploratory]
        if special is None and behaviour[j] and ps:
            special = _behaviour_partner(energy, targets, coherence, ps)
        plain = behaviour[j] is None
        if plain:  # its partners are the steps it most likely uses
            score = {p: _deduction_score(j, targets[p], energy[p], coherence, p, p in used)
                     for p in {*ps, *used}}  # fmt: skip
            rank = {p: x + (DEDUCTION_PRIOR["near"] if j - targets[p] <= 2 else 0.0)
                    for p, x in score.items()}  # fmt: skip
            kept = sorted(rank, key=lambda p: (-rank[p], -targets[p]))[:max_per_step]
        else:
            forced = ([special] if special is not None else []) + used
            rest = sorted(
                (p for p in ps if p not in forced), key=lambda p: (-energy[p], -targets[p])
            )
            kept = forced + rest[: max(0, max_per_step - len(forced))]
        for p in sorted(kept, key=lambda p: -targets[p]):
            if p == special and behaviour[j]:
                btype: BondType = "reflection" if behaviour[j] == "reflection" else "exploratory"
            elif p in used or (plain and score[p] >= config.deduction):
                btype = "strong_logic"
            else:
                kind = band(energy[p], config)
                btype = "exploratory" if kind == "reflection" else kind  # type: ignore[assignment]
            bonds.append(
                _bond(j, targets[p], energy[p], {k: v[p] for k, v in comps.items()}, btype, seen)
            )
    return bonds


def link_and_bond(
    pe: PairEnergies,
    behaviour: list[Behaviour],
    ev: Evidence,
    config: Bands,
    max_per_step: int = 3,
) -> tuple[list[Bond], list[Behaviour], links.Links]:
    """Content links (energies break their ties), then the typed bonds. Returns the bonds,
    the behaviour with steps that reject an earlier value made reflections, and the links."""
    at = pe.lookup()
    energy = pe.energy.tolist()
    found = links.choose(
        ev, behaviour, lambda j, i: energy[p] if (p := at.get((j, i))) is not None else 0.0
    )
    behaviour = [b if k not in found.targets else "reflection" for k, b in enumerate(behaviour)]
    return build_bonds(pe, behaviour, config, max_per_step, found), behaviour, found


def _deduction_score(
    j: int, i: int, energy: float, coherence: list[float] | None, p: int, used: bool
) -> float:
    """The evidence that plain step j uses step i: energy and shared content (coherence),
    less the further back i is, more when j's content takes i's results (links.py)."""
    c = 0.0 if coherence is None or math.isnan(coherence[p]) else coherence[p]
    far = DEDUCTION_PRIOR["far"] * math.log(j - i)
    return energy + c - far + DEDUCTION_PRIOR["used"] * used


def _behaviour_partner(
    energy: list[float], targets: list[int], coherence: list[float] | None, ps: list[int]
) -> int:
    """The step a reflection checks / an exploration branches from: the partner with the
    most shared evidence (coherence) and energy, the later one on ties."""

    def score(p: int) -> tuple[float, int]:
        c = 0.0 if coherence is None or math.isnan(coherence[p]) else coherence[p]
        return (c + energy[p], targets[p])

    return max(ps, key=score)


def _bond(
    j: int,
    i: int,
    energy: float,
    values: dict[str, float],
    btype: BondType,
    seen: dict[tuple, Components],
) -> Bond:
    key = tuple(
        None if (v := values.get(name)) is None or math.isnan(v) else round(v, 6)
        for name in COMPONENTS
    )
    if (comps := seen.get(key)) is None:  # shared, never mutated: read-only documents
        comps = seen[key] = Components(**dict(zip(COMPONENTS, key, strict=True)))
    return Bond(source=j, target=i, type=btype, energy=round(energy, 6), components=comps)


def roles(n: int, behaviour: list[Behaviour], bonds: list[Bond]) -> list[Role]:
    deep = {b.source for b in bonds if b.type == "strong_logic"}
    out: list[Role] = []
    for k in range(n):
        if behaviour[k] == "reflection":
            out.append("reflection")
        elif behaviour[k] == "exploration":
            out.append("exploration")
        elif k in deep:
            out.append("deep_reasoning")
        else:
            out.append("normal")
    return out
