"""Batches of teacher targets for training: tokens, labels, token->step map, S×S targets.

`BondCollator(tokenizer)` turns a list of `TeacherTarget` into the tensors that
`bondkd.distill.trainer.bond_distill_loss` (and any HF `Trainer`) consumes; `TargetDataset`
gives random access to a targets directory. Alignment is by characters: the teacher's
step spans index `target.text`, the student's fast tokenizer reports character offsets,
so teacher and student tokenizers may differ.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from bondkd.distill.student import spans_to_token_steps
from bondkd.distill.targets import TargetReader, TeacherTarget
from bondkd.errors import BondkdError

IGNORE = -100  # label of tokens that take no part in the cross-entropy
# Keys the collator adds beside the model's own inputs; `bond_distill_loss` pops them.
BOND_KEYS = ("token_steps", "teacher_energy", "teacher_attention", "has_attention", "bond_types")


def target_record(t: TeacherTarget) -> dict[str, Any]:
    """A target as plain lists, sparse like the shards (O(S) per trace): the row format
    of `hf_dataset`. Pair values are read at `pairs`; attention is None when absent."""
    j, i = t.pairs[:, 0], t.pairs[:, 1]
    return {
        "id": t.id,
        "question": t.question,
        "text": t.text,
        "spans": t.spans.tolist(),
        "pairs": t.pairs.tolist(),
        "energy": t.energy[j, i].tolist(),
        "attention": None if t.attention is None else t.attention[j, i].tolist(),
        "bond_types": t.bond_types[j, i].tolist(),
        "stability": float(t.stability),
        "accepted": bool(t.accepted),
    }


def target_from_record(rec: Mapping[str, Any]) -> TeacherTarget:
    """Inverse of `target_record` (dense S×S matrices rebuilt from the pairs)."""
    spans = np.asarray(rec["spans"], np.int64).reshape(-1, 2)
    pairs = np.asarray(rec["pairs"], np.int64).reshape(-1, 2)
    s = len(spans)

    def dense(values: Any, dtype: Any) -> np.ndarray:
        m = np.zeros((s, s), dtype)
        m[pairs[:, 0], pairs[:, 1]] = np.asarray(values, dtype)
        return m

    att = rec.get("attention")
    return TeacherTarget(
        id=str(rec["id"]),
        text=rec["text"],
        question=rec["question"],
        spans=spans,
        pairs=pairs,
        energy=dense(rec["energy"], np.float32),
        attention=None if att is None else dense(att, np.float32),
        bond_types=dense(rec["bond_types"], np.int8),
        stability=float(rec["stability"]),
        accepted=bool(rec["accepted"]),
    )


def hf_dataset(targets: Iterable[TeacherTarget] | str | Path) -> Any:
    """A `datasets.Dataset` of `target_record` rows (for trainers that demand one, such
    as `trl.SFTTrainer`); `BondCollator` accepts its rows as they are. Built in memory:
    the sparse rows are small next to the tokens a trainer reads anyway."""
    # Optional (comes with trl); by name, as the repository's own datasets/ folder would
    # shadow the package for mypy.
    datasets: Any = importlib.import_module("datasets")

    if isinstance(targets, str | Path):
        targets = TargetReader(targets)
    ints, floats = datasets.List(datasets.Value("int64")), datasets.List(datasets.Value("float32"))
    features = datasets.Features(
        {
            **{k: datasets.Value("string") for k in ("id", "question", "text")},
            **{"spans": datasets.List(ints), "pairs": datasets.List(ints)},
            **{
                "energy": floats,
                "attention": floats,
                "bond_types": datasets.List(datasets.Value("int8")),
            },
            **{"stability": datasets.Value("float64"), "accepted": datasets.Value("bool")},
        }
    )
    return datasets.Dataset.from_list([target_record(t) for t in targets], features=features)


class TargetDataset(Dataset[TeacherTarget]):
    """A map-style dataset over a targets directory (or an open `TargetReader`).

    Items are `TeacherTarget`s, read lazily: the reader caches only the last shard, so
    a shuffled sampler over many shards reloads a shard per item (shards are
    uncompressed npz, a fast read). Each DataLoader worker gets its own copy of the reader.
    """

    def __init__(self, targets: str | Path | TargetReader):
        self.reader = targets if isinstance(targets, TargetReader) else TargetReader(targets)

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, k: int) -> TeacherTarget:
        return self.reader[k]


def _whole_steps(offsets: np.ndarray, spans: np.ndarray, shift: int) -> np.ndarray:
    """(S,) bool: step spans (shifted into the row's text) that the tokens (T, 2) cover
    from start to end; specials and padding, with offsets (0, 0), cover nothing."""
    real = offsets[offsets[:, 1] > offsets[:, 0]]
    if not len(real):
        return np.zeros(len(spans), dtype=bool)
    lo, hi = int(real[:, 0].min()), int(real[:, 1].max())
    return (spans[:, 0] + shift >= lo) & (spans[:, 1] + shift <= hi)


class BondCollator:
    """list[TeacherTarget] (or `target_record` dicts, e.g. `hf_dataset` rows) -> dict
    of tensors, right-padded.

    Each row's text is ``prompt.format(question=t.question) + t.text``; the teacher's
    spans are shifted by the prompt's length. Rows are tokenised with offsets
    (`tokenizer` must be a fast tokenizer), truncated to `max_length` tokens (on the
    tokenizer's `truncation_side`, right by default). Steps that truncation cuts, wholly
    or in part, are dropped (their tokens get step -1: a part of a step would be compared
    with a target computed on all of it). S is the largest number of steps any row
    keeps, and a step with no token is masked out by the collector's `step_mask`. No EOS
    is appended beyond what the tokenizer adds itself.

    Returns, with B rows, T = longest row's tokens, S as above::

        input_ids          (B, T) long    padded with pad_token_id (else eos, else 0)
        attention_mask     (B, T) long    1 = real token
        labels             (B, T) long    input_ids, -100 on padding and, unless
                                          train_on_prompt, on the prompt's tokens
        token_steps        (B, T) long    teacher step of each token, -1: none
        teacher_energy     (B, S, S) f32  [b, j, i] pair energy, 0 off the pairs
        teacher_attention  (B, S, S) f32  attention component, NaN -> 0, 0 if absent
        has_attention      (B,)   bool    the row's target has an attention component
        bond_types         (B, S, S) long codes of bondkd.distill.loss.BOND_CODES
    """

    def __init__(
        self,
        tokenizer: Any,
        max_length: int = 256,
        prompt: str = "{question}\n\n",
        train_on_prompt: bool = False,
    ):
        if not getattr(tokenizer, "is_fast", False):
            raise BondkdError(
                "BondCollator needs a fast tokenizer (character offsets align the teacher's "
                "steps with the student's tokens)"
            )
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        self.tokenizer, self.max_length = tokenizer, int(max_length)
        self.prompt, self.train_on_prompt = prompt, train_on_prompt
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else (tokenizer.eos_token_id or 0))

    def __call__(self, features: Sequence[TeacherTarget | Mapping[str, Any]]) -> dict[str, Tensor]:
        if not features:
            raise ValueError("BondCollator: empty batch")
        targets = [t if isinstance(t, TeacherTarget) else target_from_record(t) for t in features]
        prefixes = [self.prompt.format(question=t.question) for t in targets]
        enc = self.tokenizer(
            [p + t.text for p, t in zip(prefixes, targets, strict=True)],
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.max_length,
            add_special_tokens=True,
        )
        ids_rows: list[list[int]] = enc["input_ids"]
        b, t_max = len(targets), max(len(r) for r in ids_rows)
        ids = torch.full((b, t_max), self.pad_id, dtype=torch.long)
        attn_mask = torch.zeros(b, t_max, dtype=torch.long)
        labels = torch.full((b, t_max), IGNORE, dtype=torch.long)
        steps = torch.full((b, t_max), -1, dtype=torch.long)
        for r, (row, offsets, prefix, t) in enumerate(
            zip(ids_rows, enc["offset_mapping"], prefixes, targets, strict=True)
        ):
            n = len(row)
            if n == 0:
                continue
            ids[r, :n] = torch.tensor(row, dtype=torch.long)
            attn_mask[r, :n] = 1
            off = np.asarray(offsets, dtype=np.int64).reshape(n, 2)
            row_steps = spans_to_token_steps(off, t.spans.tolist(), shift=len(prefix))
            if n >= self.max_length:  # maybe truncated: drop the steps it cut in part
                row_steps[~_whole_steps(off, t.spans, len(prefix))[row_steps.clamp_min(0)]] = -1
            steps[r, :n] = row_steps
            # The completion starts at the first token reaching past the prompt; leading
            # specials (BOS, offsets (0, 0)) count as prompt, trailing ones (EOS) do not.
            past = np.nonzero(off[:, 1] > len(prefix))[0]
            start = 0 if self.train_on_prompt else (int(past[0]) if len(past) else n)
            labels[r, start:n] = ids[r, start:n]

        s = max(1, int(steps.max()) + 1)  # steps cut by truncation are dropped
        energy = torch.zeros(b, s, s, dtype=torch.float32)
        attention = torch.zeros(b, s, s, dtype=torch.float32)
        types = torch.zeros(b, s, s, dtype=torch.long)
        has_att = torch.zeros(b, dtype=torch.bool)
        for r, t in enumerate(targets):
            k = min(s, t.n_steps)
            energy[r, :k, :k] = torch.from_numpy(np.asarray(t.energy, np.float32)[:k, :k])
            types[r, :k, :k] = torch.from_numpy(np.asarray(t.bond_types, np.int64)[:k, :k])
            if t.attention is not None:
                att = np.nan_to_num(np.asarray(t.attention, np.float32)[:k, :k], nan=0.0)
                attention[r, :k, :k] = torch.from_numpy(att)
                has_att[r] = True
        return {
            "input_ids": ids,
            "attention_mask": attn_mask,
            "labels": labels,
            "token_steps": steps,
            "teacher_energy": energy,
            "teacher_attention": attention,
            "has_attention": has_att,
            "bond_types": types,
        }
