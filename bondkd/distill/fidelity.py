"""Fidelity of a student's step attention to its teacher's molecule, on held-out targets.

Measures (docs/concepts.md, "Measuring structural fidelity", says why net of distance leads):

- spearman_net: Spearman between the student's step attention and the teacher's attention
  component over the candidate pairs that have one, ranked within each distance j − i
  (`spearman_within`): which earlier steps, at equal distance, the student leans on;
- bond_agreement: the molecule rebuilt with the student's attention in place of the
  teacher's (same pairs, semantic and coherence parts, bands); share of candidate pairs
  whose bond type (none included) equals the teacher's;
- spearman: the plain Spearman, dominated by distance (`recency_spearman` is its
  baseline: a reader that knows nothing but distance);
- lm_loss: token-mean cross-entropy on the reasoning tokens.

Used by examples/distill_gsm8k.py, examples/other_student.py and examples/recipe.py.
"""

from __future__ import annotations

import numpy as np
import torch

from bondkd.config import AnalyzeConfig
from bondkd.distill.targets import BOND_CODES
from bondkd.energy import coherence
from bondkd.energy.combine import PairEnergies
from bondkd.measure.compare import spearman, spearman_within
from bondkd.molecule.bonds import behaviours, link_and_bond
from bondkd.molecule.evidence import gather

METRICS = ("spearman_net", "bond_agreement", "spearman", "lm_loss")


def student_energy(model, collector, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(CE loss, student energy (B, S, S), step_mask (B, S)) for one collated batch."""
    s = batch["teacher_attention"].shape[-1]
    with collector.capture(batch["token_steps"], n_steps=s) as cap:
        out = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=batch["labels"],
        )
    energy, mask = cap.result(normalised=True)
    return out.loss, energy, mask


def bond_types_with(t, att: np.ndarray, cfg: AnalyzeConfig) -> np.ndarray:
    """(S, S) bond-type codes of target `t` when `att` (S, S) replaces its attention
    component: energy = (W·E − w_a·att_teacher + w_a·att) / W where the teacher had one."""
    w = cfg.energy.model_weights
    total = w.attention + w.semantic + w.coherence
    j, i = t.pairs[:, 0], t.pairs[:, 1]
    teacher = t.attention[j, i]
    has = ~np.isnan(teacher)
    energy = t.energy[j, i].astype(np.float64)
    energy[has] += w.attention * (att[j, i][has] - teacher[has]) / total
    texts = [t.text[a:b] for a, b in t.spans.tolist()]
    coh = coherence.coherence(coherence.step_features(t.question, texts), t.pairs)
    comps: dict[str, np.ndarray | None] = {
        "attention": np.where(has, att[j, i], np.nan),
        "coherence": coh,
    }
    pe = PairEnergies(t.pairs, comps, np.clip(energy, 0, 1))
    out = np.zeros_like(t.bond_types)
    ev = gather(t.question, texts)
    typed, _, _ = link_and_bond(pe, behaviours(texts, ev), ev, cfg.bands(), cfg.bonds.max_per_step)
    for b in typed:
        out[b.source, b.target] = BOND_CODES[b.type]
    return out


def attention_spearman(t, att: np.ndarray, s: int, net_of_distance: bool = False) -> float | None:
    """Spearman between a reader's step attention `att` (S, S) and the teacher's
    attention component over the candidate pairs that have one, among the first `s`
    steps; None below 3 such pairs. `net_of_distance`: ranked within each distance
    j − i (`spearman_within`), so what distance alone explains counts for nothing."""
    j, i = t.pairs[:, 0], t.pairs[:, 1]
    ok = ~np.isnan(t.attention[j, i]) & (j < s)
    if ok.sum() < 3:
        return None
    x, y = att[j, i][ok], t.attention[j, i][ok]
    return spearman_within(x, y, (j - i)[ok]) if net_of_distance else spearman(x, y)


def recency_spearman(test: list) -> float:
    """The same Spearman for a reader that knows nothing but distance (a later step
    leans on the nearest earlier ones): what a model gets without reading the text."""
    rhos = []
    for t in test:
        j, i = np.indices((t.n_steps, t.n_steps))
        rho = attention_spearman(t, -(j - i).astype(np.float64), t.n_steps)
        if rho is not None:
            rhos.append(rho)
    return float(np.mean(rhos))


@torch.no_grad()
def evaluate(model, collector, test: list, collate, batch: int) -> dict[str, float]:
    """The measures of this module's docstring for `model` read through `collector`, on
    held-out targets `test` (`bondkd.distill.targets.Target`s) batched by `collate`
    (a `BondCollator`); the mean over traces, and how many traces each mean covers."""
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    cfg = AnalyzeConfig()
    rhos, nets, agree, tokens, nll = [], [], [], 0, 0.0
    for k in range(0, len(test), batch):
        chunk = test[k : k + batch]
        b = {k: v.to(device) if k != "token_steps" else v for k, v in collate(chunk).items()}
        ce, energy, seen = student_energy(model, collector, b)
        n = int((b["labels"][:, 1:] != -100).sum())
        tokens, nll = tokens + n, nll + float(ce) * n
        for r, t in enumerate(chunk):
            # Only steps the student read are compared (the collator drops the steps
            # truncation cuts, wholly or in part: they keep no token).
            s = int(seen[r].sum())
            att = np.zeros((t.n_steps, t.n_steps))
            att[:s, :s] = energy[r, :s, :s].double().cpu().numpy()
            if (rho := attention_spearman(t, att, s)) is not None:
                rhos.append(rho)
            if (net := attention_spearman(t, att, s, net_of_distance=True)) is not None:
                nets.append(net)
            j, i = t.pairs[:, 0], t.pairs[:, 1]
            if (read := j < s).any():
                mine = bond_types_with(t, att, cfg)
                agree.append(float(np.mean(mine[j, i][read] == t.bond_types[j, i][read])))
    model.train(was_training)
    return {"spearman": float(np.mean(rhos)), "spearman_net": float(np.mean(nets)),
            "bond_agreement": float(np.mean(agree)), "lm_loss": nll / tokens,
            "traces": len(test), "spearman_traces": len(rhos), "net_traces": len(nets)}  # fmt: skip
