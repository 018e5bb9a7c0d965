"""Logical-coherence component: cue words and shared quantities.

Each piece of evidence that step j builds on step i has a strength in [0, 1];
they combine by noisy-OR, ``coherence = 1 - prod(1 - s_k)``, so any single
strong cue suffices and more evidence only raises the value, staying in [0, 1].

Evidence (strengths in `STRENGTH`, measured on GSM8K and the labelled set):
- j reuses a quantity that i introduced (first appeared, or was computed, in i);
- j and i share a quantity that came from elsewhere (e.g. the question): weaker;
- j and i share rare content terms (variables, names): scaled Jaccard;
- i is j's predecessor: a base value, raised when j opens with a conclusion
  cue (therefore / so / 因此 / 所以) or a sequence cue (then / 然后).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bondkd import quantities
from bondkd.steps import lexicon

STRENGTH = {
    "introduced_1": 0.75,  # j reuses one quantity first stated in i
    "introduced_2": 0.9,  # ... two or more
    "shared_number": 0.3,
    "terms_max": 0.5,  # cap of the scaled term Jaccard
    "adjacent": 0.35,
    "adjacent_conclusion": 0.8,
    "adjacent_sequence": 0.5,
}


@dataclass(frozen=True, slots=True)
class StepFeatures:
    cue: str | None  # lexicon.cue_kind of the step's opening
    numbers: frozenset[str]  # canonical numbers in the step
    introduced: frozenset[str]  # numbers whose first appearance (after the question) is here
    terms: frozenset[str]  # content terms without numbers


def step_features(question: str, texts: list[str]) -> list[StepFeatures]:
    seen = {quantities.canon(q.value) for q in quantities.numbers(question)}
    out: list[StepFeatures] = []
    read: dict[str, tuple[str | None, frozenset[str], frozenset[str]]] = {}  # steps repeat
    for text in texts:
        if (got := read.get(text)) is None:
            nums = frozenset(quantities.canon(q.value) for q in quantities.numbers(text))
            terms = frozenset(t for t in quantities.terms(text) if not t.startswith("#"))
            got = read[text] = (lexicon.cue_kind(text), nums, terms)
        cue, nums, terms = got
        out.append(StepFeatures(cue, nums, nums - seen, terms))
        seen |= nums
    return out


def coherence(features: list[StepFeatures], pairs: np.ndarray) -> np.ndarray:
    """pairs (P, 2) rows (j, i) -> coherence (P,) in [0, 1]."""
    out = np.zeros(len(pairs))
    for p, (j, i) in enumerate(pairs.tolist()):
        out[p] = pair_coherence(features[j], features[i], adjacent=(i == j - 1))
    return out


def pair_coherence(fj: StepFeatures, fi: StepFeatures, *, adjacent: bool) -> float:
    evidence: list[float] = []
    reused = len(fj.numbers & fi.introduced)
    if reused:
        evidence.append(STRENGTH["introduced_2" if reused >= 2 else "introduced_1"])
    elif fj.numbers & fi.numbers:
        evidence.append(STRENGTH["shared_number"])
    union = len(fj.terms | fi.terms)
    if union:
        jac = len(fj.terms & fi.terms) / union
        evidence.append(min(STRENGTH["terms_max"], 1.5 * jac))
    if adjacent:
        key = {"conclusion": "adjacent_conclusion", "sequence": "adjacent_sequence"}
        evidence.append(STRENGTH[key.get(fj.cue or "", "adjacent")])
    miss = 1.0
    for s in evidence:
        miss *= 1.0 - s
    return 1.0 - miss
