"""The questions to answer: an Easy Dataset style tag tree grown from a topic, with
questions generated at each leaf, or the questions of a JSONL file.

Each tag request carries the full tag path, so a child stays inside its parent's domain;
each question request carries its leaf's path and the questions already made there. A
node that got too few distinct items asks again, a little hotter (up to `ATTEMPTS`
requests, each a distinct cache entry), listing what it has. Duplicates (after Unicode and punctuation
normalisation) are dropped within a node, and across leaves in tree order, so the result
does not depend on which thread finished first.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bondkd.errors import BondkdError, InputError
from bondkd.generate.ask import Answer, Asker, derive_seed
from bondkd.generate.config import GenerateConfig
from bondkd.read.formats import QUESTION_FIELDS
from bondkd.teachers.prompts import ReplyError, parse_list, question_request, tag_request

ATTEMPTS = 3


@dataclass
class Question:
    id: str
    text: str
    tag_path: list[str] = field(default_factory=list)
    reference: str | None = None
    source: dict[str, Any] = field(default_factory=dict)  # file and line, for lineage


@dataclass
class Rejected:
    """A reply that did not parse, or a request that got none: one rejected-file line."""

    stage: str
    reason: str
    answer: Answer
    tag_path: list[str] = field(default_factory=list)
    question: Question | None = None


def norm(text: str) -> str:
    """Dedup key: NFKC, case-folded, without whitespace and punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in text if not (c.isspace() or unicodedata.category(c)[0] in "PS"))


def question_id(text: str) -> str:
    return "q-" + hashlib.sha1(norm(text).encode()).hexdigest()[:12]


def _children(
    asker: Asker, cfg: GenerateConfig, stage: str, path: list[str], n: int
) -> tuple[list[str], list[Rejected]]:
    """Up to n distinct tags (stage 'tags') or questions ('questions') under `path`."""
    got: dict[str, str] = {norm(p): p for p in path} if stage == "tags" else {}
    mine: list[str] = []
    rejected: list[Rejected] = []
    for attempt in range(ATTEMPTS):
        make = tag_request if stage == "tags" else question_request
        request = make(
            path,
            n,
            mine,
            # each retry a little hotter: a small model asked again at the same temperature
            # tends to repeat the very items it gave before
            temperature=min(2.0, cfg.tree_temperature + 0.3 * attempt),
            seed=derive_seed(cfg.seed, stage, path, attempt),
            sample=attempt,
        )
        answer = asker.ask(stage, request)
        if answer.reply is None:
            rejected.append(Rejected(stage, f"teacher_error: {answer.error}", answer, path))
            break  # the teacher is failing; a later run retries this request
        try:
            items = parse_list(answer.reply, stage)
        except ReplyError as e:
            asker.count(stage, unparsed=1)
            rejected.append(Rejected(stage, f"unparsed: {e}", answer, path))
            continue
        for item in items:
            key = norm(item)
            if key and key not in got and len(mine) < n:
                got[key] = item
                mine.append(item)
        if len(mine) >= n:
            break
    asker.progress.advance(stage)
    return mine, rejected


def tag_leaves(asker: Asker, cfg: GenerateConfig) -> tuple[list[list[str]], int, list[Rejected]]:
    """Leaf tag paths of the tree (topic first) in tree order, and the number of tags made.
    A tag whose own children all failed is not a leaf: it is left out."""
    assert cfg.topic is not None
    n, frontier, rejected = cfg.tags_per_level, [[cfg.topic.strip()]], []
    made = 0
    planned = sum(n**level for level in range(cfg.levels))
    asker.progress.start("tags", planned)
    done = 0
    for level in range(cfg.levels):
        nxt: list[list[str]] = []
        for path, (tags, bad) in zip(
            frontier,
            asker.map(lambda p: _children(asker, cfg, "tags", p, n), frontier),
            strict=True,
        ):
            nxt.extend([*path, t] for t in tags)
            rejected.extend(bad)
        done += len(frontier)
        made += len(nxt)
        frontier = nxt
        # a node with fewer children than asked for shrinks the rest of the tree
        asker.progress.total("tags", done + len(frontier) * planned_below(n, cfg.levels, level))
        if not frontier:
            break
    asker.progress.finish("tags")
    return frontier, made, rejected


def planned_below(n: int, levels: int, level: int) -> int:
    """Tag requests still to come per node of the frontier after `level`."""
    return sum(n**k for k in range(levels - level - 1))


def leaf_questions(
    asker: Asker, cfg: GenerateConfig, leaves: list[list[str]]
) -> tuple[list[Question], list[Rejected]]:
    asker.progress.start("questions", len(leaves))
    n, seen, out, rejected = cfg.questions_per_tag, set(), [], []
    results = asker.map(lambda p: _children(asker, cfg, "questions", p, n), leaves)
    for path, (texts, bad) in zip(leaves, results, strict=True):
        rejected.extend(bad)
        for text in texts:
            if norm(text) not in seen:
                seen.add(norm(text))
                out.append(Question(question_id(text), text, path[1:]))
    asker.progress.finish("questions")
    return out, rejected


def load_questions(path: Path) -> list[Question]:
    """Questions from JSONL: a question under one of QUESTION_FIELDS, optional `id`,
    `reference` (or `answer`), `tag_path` (or `tags`)."""
    out: list[Question] = []
    ids: dict[str, int] = {}
    name = str(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as e:
        raise BondkdError(f"{name}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise BondkdError(f"{name}: not valid UTF-8 (byte {e.start})") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(name, n, None, f"invalid JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(rec, dict):
            raise InputError(name, n, None, "expected a JSON object")
        q = next((rec[k] for k in QUESTION_FIELDS if k in rec), None)
        if not isinstance(q, str) or not q.strip():
            raise InputError(name, n, "question", "missing or not a non-empty string")
        qid = rec.get("id", f"line-{n}")
        if not isinstance(qid, (str, int)) or isinstance(qid, bool):
            raise InputError(name, n, "id", "expected a string or an integer")
        qid = str(qid)
        if qid in ids:
            raise InputError(name, n, "id", f"duplicate id {qid!r} (first on line {ids[qid]})")
        ids[qid] = n
        ref = rec.get("reference", rec.get("answer"))
        if ref is not None and not isinstance(ref, (str, int, float)):
            raise InputError(name, n, "reference", "expected a string or a number")
        tags = rec.get("tag_path", rec.get("tags", []))
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InputError(name, n, "tag_path", "expected an array of strings")
        out.append(Question(qid, q.strip(), tags, None if ref is None else str(ref), {"line": n}))
    if not out:
        raise BondkdError(f"{name}: no questions")
    return out
