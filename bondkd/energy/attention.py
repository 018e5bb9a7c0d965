"""Attention component: how much a later step's tokens attend to an earlier step.

The model reads ``question + "\\n\\n" + reasoning`` after a BOS token (so the
attention sink is a token of no step). Each token belongs to the step its
characters overlap most, or to none (question, separators). The engine
(`bondkd.energy.engine`) returns, per layer and head, the summed softmax mass
from the tokens of step j onto the tokens of step i; dividing by j's token count
gives the raw step attention

    raw[j, i] = mean over tokens t of j of  sum over tokens k of i of  A[t, k],

averaged over the selected layers and heads (row j = later step, column i =
earlier step; the diagonal is computed too, consumers use i < j).

Raw mass grows with the length of step i and shrinks with the context length, so
it is compared with a length-proportional spread: a token t that spread its
attention evenly over its visible keys would give step i

    uniform[j, i] = mean over tokens t of j of  |tokens of i visible to t| / |keys visible to t|.

With ``ratio = raw / uniform`` (1 = as much as an even spread, 3 = three times
more), the energy is ``ratio / (1 + ratio)``: an even spread maps to 0.5, a step
attended to three times more than its length share to 0.75, an ignored one to 0.

Long traces are read in overlapping windows of at most `max_tokens` tokens (never
beyond the model's context): each window is the BOS, the question (its last
quarter-window of tokens at most) and a slice of reasoning tokens; consecutive
slices share `overlap` tokens. Only steps lying wholly inside a window count in
it. A pair seen in several windows takes its value from the earliest one, where
step j has the most preceding context; a pair never in one window is NaN.

`receiver_heads=k` keeps, per window, the k heads whose vertical scores (mean over
later rows j > i of each column i of the head's ratio matrix) have the highest
kurtosis: heads that single out a few earlier steps (Thought Anchors' "receiver
heads"), then averages those.

Which layers: by default one, at relative depth 0.55-0.58 (`AttentionConfig.depth`; layer
17 of SmolLM2's 30). Read alone, each layer's attention energy was scored on how well it
ranks labelled earlier steps (the step a reflection checks, the steps a deduction uses,
thought-anchors dependencies) above the other earlier steps; layers 17 and 18 each beat
the 13 layers 12-24 together, and with layer 17 the pipeline types the most labelled
deductions strong_logic, on the tuning part and on the held-out part
(`python benchmarks/layers.py`, tables in docs/benchmarks.md). The forward pass stops
after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bondkd.config import AttentionConfig
from bondkd.energy.engine import capture, depth_layers, resolve_indices
from bondkd.energy.models import LoadedLM
from bondkd.errors import BondkdError

# Forward passes are grouped up to this many (padded) tokens; CPU gains little from
# batching, GPUs a lot, and activations stay modest either way.
BATCH_TOKENS = 16384


@dataclass
class StepAttention:
    raw: np.ndarray  # (S, S) float64 mean mass, row j later, column i earlier; NaN: no window
    energy: np.ndarray  # (S, S) in [0, 1], NaN where no window or nothing visible
    windows: int
    tokens: int
    heads_used: list[tuple[int, int]] = field(default_factory=list)  # (layer, head)
    layers_used: list[int] = field(default_factory=list)
    uniform: np.ndarray | None = None  # (S, S) the mass an even spread would give (`normalise`)


@dataclass
class _Unit:
    """One sequence fed to the model: a whole trace or one of its windows."""

    item: int
    ids: list[int]  # including BOS
    steps: np.ndarray  # (T,) local step of each token, -1 for none
    global_steps: np.ndarray  # (S_local,) trace step index of each local step


# (raw (S_l, S_l), uniform (S_l, S_l), (layer, head)s averaged) for one unit
_Result = tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]


def normalise(raw: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """energy = r / (1 + r) with r = raw / uniform; NaN where either is NaN or uniform <= 0."""
    raw = np.maximum(np.asarray(raw, dtype=np.float64), 0.0)
    uniform = np.asarray(uniform, dtype=np.float64)
    ok = (uniform > 0) & np.isfinite(raw) & np.isfinite(uniform)
    # raw / (raw + uniform) is r / (1 + r) without overflow when uniform is tiny.
    energy = np.divide(raw, raw + uniform, out=np.full_like(raw, np.nan), where=ok)
    return np.clip(energy, 0.0, 1.0)


def token_steps(offsets: np.ndarray, spans: list[tuple[int, int]], shift: int, n_chars: int):
    """(T, 2) character offsets -> (T,) step of each token (most overlapped), -1 for none."""
    char_step = np.full(n_chars + 1, -1, dtype=np.int64)
    for k, (s, e) in enumerate(spans):
        char_step[shift + s : shift + e] = k
    if len(offsets) == 0:
        return np.zeros(0, dtype=np.int64)
    a = np.clip(offsets[:, 0], 0, n_chars)
    b = np.clip(offsets[:, 1], 0, n_chars)
    # A token is uniform iff no step change happens inside [a, b).
    change = np.concatenate([[0], np.cumsum(char_step[1:] != char_step[:-1])])
    last = np.maximum(b - 1, a)
    out = np.where(b > a, char_step[a], -1)
    for t in np.nonzero((b > a) & (change[last] != change[a]))[0]:
        vals = char_step[a[t] : b[t]]
        vals = vals[vals >= 0]
        out[t] = np.bincount(vals).argmax() if len(vals) else -1
    return out


def uniform_mass(steps: np.ndarray, n: int) -> np.ndarray:
    """(T,) step per token (position p sees p + 1 keys) -> (n, n) uniform[j, i] as documented."""
    pos = np.nonzero(steps >= 0)[0]
    seg = steps[pos]
    count = np.bincount(seg, minlength=n).astype(np.float64)
    inv = 1.0 / (pos + 1.0)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, -1)
    np.minimum.at(first, seg, pos)
    np.maximum.at(last, seg, pos)
    mean_inv = np.bincount(seg, weights=inv, minlength=n) / np.maximum(count, 1)
    # Step i wholly before step j: all |i| tokens are visible to every token of j.
    before = last[None, :] < first[:, None]
    out = np.where(before, count[None, :] * mean_inv[:, None], 0.0)
    # Interleaved pairs (the diagonal, in practice) counted exactly.
    overlap = ~before & (first[None, :] <= last[:, None]) & (count[:, None] > 0)
    for j, i in zip(*np.nonzero(overlap), strict=True):
        tj = pos[seg == j]
        ti = pos[seg == i]
        out[j, i] = np.mean(np.searchsorted(ti, tj, side="right") / (tj + 1.0))
    return out


def _kurtosis(v: np.ndarray) -> float:
    d = v - v.mean()
    m2 = float(np.mean(d**2))
    return float(np.mean(d**4) / (m2 * m2)) if m2 > 1e-30 else 0.0


class StepAttentionReader:
    def __init__(self, lm: LoadedLM, config: AttentionConfig | None = None):
        self.lm = lm
        self.config = config or AttentionConfig()
        cfg = lm.model.config
        self.n_layers = int(getattr(cfg, "num_hidden_layers", 0) or getattr(cfg, "n_layer", 0))
        self.n_heads = int(getattr(cfg, "num_attention_heads", 0) or getattr(cfg, "n_head", 0))
        layers = resolve_indices(self.config.layers, self.n_layers, "layer")
        self.layers: list[int] = (
            layers if layers is not None else depth_layers(self.config.depth, self.n_layers)
        )
        if not self.layers:
            raise BondkdError(f"attention depth {self.config.depth} selects no layer")
        self.heads = resolve_indices(self.config.heads, self.n_heads, "head")
        self.window = max(16, min(self.config.max_tokens, lm.n_ctx))
        tok = lm.tokenizer
        self.bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self.pad = 0 if pad is None else pad

    # -- public -----------------------------------------------------------------------
    def read(self, question: str, reasoning: str, spans: list[tuple[int, int]]) -> StepAttention:
        return self.read_batch([(question, reasoning, spans)])[0]

    def read_layers(
        self, question: str, reasoning: str, spans: list[tuple[int, int]]
    ) -> dict[int, StepAttention]:
        """One forward, each selected layer read on its own (mean over the selected heads):
        what `benchmarks/layers.py` ranks layers by."""
        units, tokens = self._units(0, question, reasoning, list(spans))
        per_unit = self._run(units, by_layer=True)
        return {
            layer: self._stitch(
                len(spans), [(u, r[layer]) for u, r in zip(units, per_unit, strict=True)], tokens
            )
            for layer in self.layers
        }

    def read_batch(
        self, items: list[tuple[str, str, list[tuple[int, int]]]]
    ) -> list[StepAttention]:
        """Read several traces, padding each forward pass to its longest sequence."""
        units: list[_Unit] = []
        tokens: list[int] = []
        for k, (question, reasoning, spans) in enumerate(items):
            u, n = self._units(k, question, reasoning, list(spans))
            units.extend(u)
            tokens.append(n)
        results = self._run(units)
        out = []
        for k, (_, _, spans) in enumerate(items):
            mine = [(u, r) for u, r in zip(units, results, strict=True) if u.item == k]
            out.append(self._stitch(len(spans), mine, tokens[k]))
        return out

    # -- windows ----------------------------------------------------------------------
    def _units(self, item: int, question: str, reasoning: str, spans: list[tuple[int, int]]):
        prefix = question + "\n\n" if question else ""
        text = prefix + reasoning
        enc = self.lm.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        ids = list(enc["input_ids"])
        offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        steps = token_steps(offsets, spans, len(prefix), len(text))
        n_tok = len(ids)
        if not spans:
            return [], n_tok
        bos = [] if self.bos is None else [self.bos]
        if len(bos) + n_tok <= self.window:
            lead = np.full(len(bos), -1, dtype=np.int64)
            return [self._unit(item, bos + ids, np.concatenate([lead, steps]))], n_tok
        # Reasoning tokens start at the first token past the prefix or in a step.
        in_step = np.nonzero(steps >= 0)[0]
        past = np.nonzero(offsets[:, 0] >= len(prefix))[0]
        cut = min(in_step[0] if len(in_step) else n_tok, past[0] if len(past) else n_tok)
        keep_q = min(cut, self.window // 4)
        head_ids = bos + ids[cut - keep_q : cut]
        head_steps = np.full(len(head_ids), -1, dtype=np.int64)
        body = self.window - len(head_ids)
        overlap = min(self.config.overlap, body // 2)
        stride = body - overlap
        n_body = n_tok - cut
        last = max(n_body - body, 0)
        starts = [*range(0, last, stride), last]
        units = []
        for r0 in sorted(set(starts)):
            r1 = min(r0 + body, n_body)
            win = steps[cut + r0 : cut + r1].copy()
            # A step cut by the window edge would be read partly: it does not count here.
            present = set(win[win >= 0].tolist())
            outside = np.concatenate([steps[: cut + r0], steps[cut + r1 :]])
            for s in present & set(outside[outside >= 0].tolist()):
                win[win == s] = -1
            units.append(
                self._unit(
                    item,
                    head_ids + ids[cut + r0 : cut + r1],
                    np.concatenate([head_steps, win]),
                )
            )
        return units, n_tok

    @staticmethod
    def _unit(item: int, ids: list[int], steps: np.ndarray) -> _Unit:
        global_steps, local = np.unique(steps[steps >= 0], return_inverse=True)
        out = np.full(len(steps), -1, dtype=np.int64)
        out[steps >= 0] = local
        return _Unit(item, ids, out, global_steps)

    # -- model ------------------------------------------------------------------------
    def _run(self, units: list[_Unit], by_layer: bool = False) -> list[Any]:
        """Per unit: raw mean mass, uniform spread (both (S_local, S_local)), heads
        averaged; with `by_layer`, one such result per selected layer."""
        order = sorted(range(len(units)), key=lambda k: len(units[k].ids))
        results: dict[int, Any] = {}
        batch: list[int] = []
        for k in [*order, None]:
            longest = max(
                [len(units[x].ids) for x in batch] + [0 if k is None else len(units[k].ids)]
            )
            if batch and (k is None or longest * (len(batch) + 1) > BATCH_TOKENS):
                done = self._forward([units[x] for x in batch], by_layer)
                for x, res in zip(batch, done, strict=True):
                    results[x] = res
                batch = []
            if k is not None:
                batch.append(k)
        return [results[k] for k in range(len(units))]

    def _forward(self, units: list[_Unit], by_layer: bool = False) -> list[Any]:
        model = self.lm.model
        device = next(model.parameters()).device
        t_max = max(len(u.ids) for u in units)
        s_max = max(1, *(len(u.global_steps) for u in units))
        ids = torch.full((len(units), t_max), self.pad, dtype=torch.long)
        steps = torch.full((len(units), t_max), -1, dtype=torch.long)
        for b, u in enumerate(units):
            ids[b, : len(u.ids)] = torch.tensor(u.ids, dtype=torch.long)
            steps[b, : len(u.ids)] = torch.from_numpy(u.steps)
        c = self.config
        layers = self.layers
        heads = self.heads if self.heads is not None else list(range(self.n_heads))
        labels = [(layer, h) for layer in layers for h in heads]
        per_head = by_layer or (c.receiver_heads is not None and c.receiver_heads < len(labels))
        # Right padding with no attention mask is exact: causal attention never lets a
        # real token see the pads after it, and SDPA keeps its fast is_causal path.
        with (
            torch.inference_mode(),
            capture(
                model, steps, s_max, layers, self.heads, c.chunk, stop_early=True, per_head=per_head
            ) as cap,
        ):
            # The base model: the LM head's (B, T, vocab) logits are never needed.
            model.base_model(input_ids=ids.to(device), use_cache=False)
        if per_head:
            mass = cap.stacked().cpu().numpy()  # (L, B, H, S, S)
        else:
            mass = (cap.summed() / len(labels)).cpu().numpy()[None, :, None]  # (1, B, 1, S, S)
        out: list[Any] = []
        for b, u in enumerate(units):
            n = len(u.global_steps)
            # Explicit leading size: with n == 0 (a window holding no whole step) -1 is
            # ambiguous and reshape raises.
            maps = mass[:, b, :, :n, :n].reshape(mass.shape[0] * mass.shape[2], n, n)
            count = np.bincount(u.steps[u.steps >= 0], minlength=n).astype(np.float64)
            maps = maps / np.maximum(count, 1.0)[None, :, None]
            uniform = uniform_mass(u.steps, n)
            if by_layer:
                by = maps.reshape(len(layers), len(heads), n, n).mean(axis=1)
                out.append(
                    {
                        layer: (by[k], uniform, [(layer, h) for h in heads])
                        for k, layer in enumerate(layers)
                    }
                )
            elif per_head:
                chosen = self._receivers(maps, uniform)
                out.append((maps[chosen].mean(axis=0), uniform, [labels[h] for h in chosen]))
            else:
                out.append((maps[0], uniform, labels))
        return out

    def _receivers(self, per_head: np.ndarray, uniform: np.ndarray) -> list[int]:
        """Indices of the heads to average: all, or the top-k by vertical-score kurtosis."""
        n_heads, n, _ = per_head.shape
        k = self.config.receiver_heads or n_heads
        if k >= n_heads or n < 4:
            return list(range(n_heads))
        below = np.tril(np.ones((n, n), dtype=bool), -1)
        ratio = np.divide(
            per_head, uniform[None], out=np.zeros_like(per_head), where=(uniform > 0)[None]
        )
        vertical = (ratio * below).sum(axis=1)[:, :-1] / below.sum(axis=0)[None, :-1]
        kurt = np.array([_kurtosis(v) for v in vertical])
        return sorted(np.argsort(-kurt, kind="stable")[:k].tolist())

    # -- windows back into one trace ---------------------------------------------------
    def _stitch(self, n: int, mine, tokens: int) -> StepAttention:
        raw = np.full((n, n), np.nan)
        uniform = np.full((n, n), np.nan)
        used: set[tuple[int, int]] = set()
        for unit, (local_raw, local_uniform, heads) in mine:  # earliest window first
            g = unit.global_steps
            fill = np.isnan(raw[np.ix_(g, g)])
            raw[np.ix_(g, g)] = np.where(fill, local_raw, raw[np.ix_(g, g)])
            uniform[np.ix_(g, g)] = np.where(fill, local_uniform, uniform[np.ix_(g, g)])
            used.update(heads)
        return StepAttention(
            raw=raw,
            energy=normalise(raw, uniform),
            windows=len(mine),
            tokens=tokens,
            heads_used=sorted(used),
            layers_used=sorted({layer for layer, _ in used}),
            uniform=uniform,
        )
