"""Energies + behaviour -> typed bonds and step roles.

Bands give a bond's type from its energy; behaviour refines them, because cues are
direct evidence of what a step does while a band is only a strength:

| bond                                              | type                  |
|---------------------------------------------------|-----------------------|
| a reflecting step -> the step it checks           | reflection            |
| an exploring step -> the step it branches from    | exploratory           |
| any other, E >= strong                            | strong_logic          |
| any other, E >= exploratory                       | exploratory           |
| any other, E < exploratory                        | no bond               |

An energy in the reflection band without a checking step is a weak bridge
(exploratory): hydrogen bonds need a step that checks. Floors are per backend
(`BondConfig.model` / `.lexical`, calibrated in benchmarks/calibrate_bands.py).
Each step keeps at most `max_per_step` bonds (its strongest, plus the behaviour
bond), so weak bonds cannot swamp the graph of a long trace.

Roles: reflection / exploration come from behaviour; a step with an outgoing
strong_logic bond is deep_reasoning; the rest are normal.
"""

from __future__ import annotations

import math
from typing import Literal

from bondkd.config import Bands
from bondkd.energy.combine import COMPONENTS, PairEnergies
from bondkd.schema import Bond, BondType, Components, Role
from bondkd.steps import lexicon

Behaviour = Literal["reflection", "exploration"] | None


def behaviours(texts: list[str]) -> list[Behaviour]:
    """What each step does, from its cues. Step 0 has nothing earlier to check."""
    out: list[Behaviour] = []
    cues: dict[str, tuple[str | None, bool]] = {}  # a looping trace repeats its steps
    for k, text in enumerate(texts):
        if (cue := cues.get(text)) is None:
            kind = lexicon.cue_kind(text)
            cue = cues[text] = (kind, kind == "reflection" or lexicon.has_cue(text, "reflection"))
        kind, reflects = cue
        if k > 0 and reflects:
            out.append("reflection")
        elif k > 0 and kind == "exploration":
            out.append("exploration")
        else:
            out.append(None)
    return out


def band(energy: float, config: Bands) -> BondType | None:
    if energy >= config.strong:
        return "strong_logic"
    if energy >= config.reflection:
        return "reflection"
    if energy >= config.exploratory:
        return "exploratory"
    return None


def build_bonds(
    pe: PairEnergies, behaviour: list[Behaviour], config: Bands, max_per_step: int = 3
) -> list[Bond]:
    # Plain lists: indexing numpy arrays one element at a time was most of the cost here
    # on long traces (a 1 MB trace has ~140,000 candidate pairs).
    energy: list[float] = pe.energy.tolist()
    sources, targets = pe.pairs[:, 0].tolist(), pe.pairs[:, 1].tolist()
    coh = pe.components.get("coherence")
    coherence = None if coh is None else coh.tolist()
    comps = {name: x.tolist() for name in COMPONENTS if (x := pe.components.get(name)) is not None}
    by_source: dict[int, list[int]] = {}
    for p, j in enumerate(sources):
        by_source.setdefault(j, []).append(p)
    bonds: list[Bond] = []
    for j in sorted(by_source):
        ps = [p for p in by_source[j] if energy[p] >= config.exploratory]
        if not ps:
            continue
        special = _behaviour_partner(energy, targets, coherence, ps) if behaviour[j] else None
        ps.sort(key=lambda p: (-energy[p], -targets[p]))
        kept = ps[:max_per_step]
        if special is not None and special not in kept:
            kept[-1] = special
        for p in sorted(kept, key=lambda p: -targets[p]):
            kind = behaviour[j] if p == special else band(energy[p], config)
            if kind == "reflection" and p != special:
                kind = "exploratory"  # hydrogen bonds need a step that checks this one
            btype: BondType = {"reflection": "reflection", "exploration": "exploratory"}.get(
                kind or "", kind
            )  # type: ignore[assignment]
            bonds.append(
                _bond(j, targets[p], energy[p], {k: v[p] for k, v in comps.items()}, btype)
            )
    return bonds


def _behaviour_partner(
    energy: list[float], targets: list[int], coherence: list[float] | None, ps: list[int]
) -> int:
    """The step a reflection checks / an exploration branches from: the partner with the
    most shared evidence (coherence) and energy, the later one on ties."""

    def score(p: int) -> tuple[float, int]:
        c = 0.0 if coherence is None or math.isnan(coherence[p]) else coherence[p]
        return (c + energy[p], targets[p])

    return max(ps, key=score)


def _bond(j: int, i: int, energy: float, values: dict[str, float], btype: BondType) -> Bond:
    comps = {
        name: None if (v := values.get(name)) is None or math.isnan(v) else round(v, 6)
        for name in COMPONENTS
    }
    return Bond(
        source=j, target=i, type=btype, energy=round(energy, 6), components=Components(**comps)
    )


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
