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

from typing import Literal

import numpy as np

from bondkd.config import Bands
from bondkd.energy.combine import COMPONENTS, PairEnergies
from bondkd.schema import Bond, BondType, Components, Role
from bondkd.steps import lexicon

Behaviour = Literal["reflection", "exploration"] | None


def behaviours(texts: list[str]) -> list[Behaviour]:
    """What each step does, from its cues. Step 0 has nothing earlier to check."""
    out: list[Behaviour] = []
    for k, text in enumerate(texts):
        kind = lexicon.cue_kind(text)
        if k > 0 and (kind == "reflection" or lexicon.has_cue(text, "reflection")):
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
    by_source: dict[int, list[int]] = {}
    for p, (j, _i) in enumerate(pe.pairs.tolist()):
        by_source.setdefault(j, []).append(p)
    bonds: list[Bond] = []
    for j in sorted(by_source):
        ps = [p for p in by_source[j] if pe.energy[p] >= config.exploratory]
        if not ps:
            continue
        special = _behaviour_partner(pe, ps) if behaviour[j] else None
        ps.sort(key=lambda p: (-pe.energy[p], -pe.pairs[p, 1]))
        kept = ps[:max_per_step]
        if special is not None and special not in kept:
            kept[-1] = special
        for p in sorted(kept, key=lambda p: -pe.pairs[p, 1]):
            kind = behaviour[j] if p == special else band(float(pe.energy[p]), config)
            if kind == "reflection" and p != special:
                kind = "exploratory"  # hydrogen bonds need a step that checks this one
            btype: BondType = {"reflection": "reflection", "exploration": "exploratory"}.get(
                kind or "", kind
            )  # type: ignore[assignment]
            bonds.append(_bond(pe, p, btype))
    return bonds


def _behaviour_partner(pe: PairEnergies, ps: list[int]) -> int:
    """The step a reflection checks / an exploration branches from: the partner with the
    most shared evidence (coherence) and energy, the later one on ties."""
    coh = pe.components.get("coherence")

    def score(p: int) -> tuple[float, int]:
        c = 0.0 if coh is None or np.isnan(coh[p]) else float(coh[p])
        return (c + float(pe.energy[p]), int(pe.pairs[p, 1]))

    return max(ps, key=score)


def _bond(pe: PairEnergies, p: int, btype: BondType) -> Bond:
    comps: dict[str, float | None] = {}
    for name in COMPONENTS:
        x = pe.components.get(name)
        v = None if x is None or np.isnan(x[p]) else round(float(x[p]), 6)
        comps[name] = v
    return Bond(
        source=int(pe.pairs[p, 0]),
        target=int(pe.pairs[p, 1]),
        type=btype,
        energy=round(float(pe.energy[p]), 6),
        components=Components(**comps),
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
