"""Record layouts → `schema.Trace`: detect the layout of one JSON object and parse it.

Reasoning text is always a verbatim slice of one source field (only surrounding whitespace
is trimmed off extracted slices), because step spans index into it. Pre-segmented `steps`
are the one exception: the reasoning is then their join with `STEP_JOINER`.

Detection order (first rule that matches wins; `fmt=` / `--format NAME` skips it):

1. a `steps` or `reasoning` key → ``canonical``; except a `reasoning` string in the sectioned
   layout (【思考过程】…【最终答案】) with no `steps` and no `answer` → ``zh_sections``;
2. `thinking_trajectories` → ``s1``;
3. a `messages` list, then a `conversations` list: the last assistant turn decides, as in 5
   (``r1`` for `reasoning_content` or think tags, ``sky_t1``, ``zh_sections``), else the
   container: ``messages`` / ``sharegpt`` (plain text);
4. a top-level `reasoning_content` string → ``r1`` (DeepSeek API style);
5. the text fields response, content, output, completion, generation, text (in that order)
   are tried for think tags → ``r1``, then Sky-T1 markers → ``sky_t1``, then section
   headers → ``zh_sections``;
6. an `answer` string with a `#### N` line → ``gsm8k``;
7. a `solution` string → ``gsm8k_solutions`` (a final `A: N` line is the answer). A whole
   GSM8K model_solutions row (`ground_truth` + one object per generator) holds several
   traces and is refused with a pointer to the benchmark that expands it;
8. anything else → ``RecordError`` "unknown layout".

`Trace.format` is the detected (or forced) name. Ids may be strings or integers; unknown
keys are ignored; a known key with the wrong type is an error naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bondkd.errors import json_kind
from bondkd.read.markup import MARKUPS, Markup, Text, clean, headers, plain, trim
from bondkd.read.spans import StepNotFound, locate_steps
from bondkd.schema import STEP_JOINER, Trace

FORMATS: tuple[str, ...] = tuple(
    [
        "canonical",
        "r1",
        "sky_t1",
        "s1",
        "messages",
        "sharegpt",
        "gsm8k",
        "zh_sections",
        "gsm8k_solutions",
    ]
)
TEXT_FIELDS = ("response", "content", "output", "completion", "generation", "text", "reasoning")
QUESTION_FIELDS = ("question", "prompt", "problem", "instruction", "input")
_ASSISTANT = {"assistant", "gpt", "model", "bot", "chatgpt"}
_USER = {"user", "human"}
_HINT = (
    "canonical (reasoning/steps), r1 (<think> in response, or reasoning_content), sky_t1 "
    "(<|begin_of_thought|>), s1 (thinking_trajectories), messages, sharegpt (conversations), "
    "gsm8k (answer with '#### N'), zh_sections (【思考过程】…【最终答案】), gsm8k_solutions (solution)"
)


class RecordError(ValueError):
    """A record that cannot become a Trace; `field` names the offending key when there is one."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"field '{field}': {message}" if field else message)


@dataclass
class _Parsed:
    reasoning: str
    field: str  # where the reasoning came from, for "empty reasoning"
    answer: str | None = None
    reference: str | None = None
    question: str | None = None  # from the chat: preferred over the record's question field
    fallback: str | None = None  # from a 【问题】 section: used when there is neither
    steps: list[str] | None = None


def _nonblank(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _kind(value: object) -> str:
    return json_kind(value)


def _opt_str(rec: dict, key: str, numbers: bool = False) -> str | None:
    value = rec.get(key)
    if value is None or isinstance(value, str):
        return value
    if numbers and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise RecordError(key, f"expected a string, got {_kind(value)}")


# --- where texts live ---


def _chat_turn(rec: dict, key: str) -> Text:
    """The last assistant turn of a chat container, with the user turn before it."""
    turns = rec.get(key)
    if not isinstance(turns, list):
        raise RecordError(key, f"expected an array of turns, got {_kind(turns)}")
    bad = next((n for n, t in enumerate(turns) if not isinstance(t, dict)), None)
    if bad is not None:
        raise RecordError(f"{key}[{bad}]", f"expected an object, got {_kind(turns[bad])}")
    roles = [str(t.get("role", t.get("from", ""))).lower() for t in turns]
    last = max((n for n, r in enumerate(roles) if r in _ASSISTANT), default=None)
    if last is None:
        raise RecordError(key, "no assistant turn")
    turn, tkey = turns[last], "content" if "content" in turns[last] else "value"
    text, where = turn.get(tkey), f"{key}[{last}]"
    thought = next((k for k in ("reasoning_content", "reasoning") if _nonblank(turn.get(k))), None)
    if not (isinstance(text, str) or (text is None and thought)):
        raise RecordError(f"{where}.{tkey}", f"expected a string, got {_kind(text)}")
    asked = [
        t.get("content", t.get("value"))
        for t, r in zip(turns[:last], roles[:last], strict=True)
        if r in _USER
    ]
    return Text(
        f"{where}.{tkey}",
        text or "",
        turn[thought] if thought else None,
        f"{where}.{thought}" if thought else None,
        next((q for q in reversed(asked) if isinstance(q, str)), None),
    )


def _try_chat(rec: dict, key: str) -> Text | None:
    try:
        return _chat_turn(rec, key)
    except RecordError:
        return None


def _texts(rec: dict, chats: bool = True) -> list[Text]:
    """Candidate texts in detection order: reasoning_content, text fields, chat turns."""
    out = []
    if _nonblank(thought := rec.get("reasoning_content")):
        out.append(Text("content", _opt_str(rec, "content") or "", thought, "reasoning_content"))
    out += [Text(k, rec[k]) for k in TEXT_FIELDS if isinstance(rec.get(k), str)]
    chat = [_try_chat(rec, k) for k in ("messages", "conversations")] if chats else []
    return out + [t for t in chat if t is not None]


def _question(rec: dict) -> str | None:
    found = {k: _opt_str(rec, k) for k in QUESTION_FIELDS}
    if found["instruction"] and found["input"]:  # Alpaca: the input completes the instruction
        return found["instruction"] + "\n\n" + found["input"]
    return next((v for v in found.values() if v and v.strip()), None)


# --- one parser per layout ---


def _canonical(rec: dict) -> _Parsed:
    steps = rec.get("steps")
    answer = _opt_str(rec, "answer", numbers=True)
    if steps is None:
        reasoning = _opt_str(rec, "reasoning")
        if reasoning is None:
            raise RecordError("reasoning", "missing (canonical records need reasoning or steps)")
        return _Parsed(reasoning, "reasoning", answer)
    if not isinstance(steps, list) or not steps:
        raise RecordError("steps", f"expected a non-empty array of strings, got {_kind(steps)}")
    for n, step in enumerate(steps):
        if not isinstance(step, str):
            raise RecordError(f"steps[{n}]", f"expected a string, got {_kind(step)}")
        if not step.strip():
            raise RecordError(f"steps[{n}]", "empty step")
    reasoning = _opt_str(rec, "reasoning")
    if reasoning is None or reasoning == STEP_JOINER.join(steps):
        return _Parsed(STEP_JOINER.join(steps), "steps", answer, steps=list(steps))
    # Both given, as public datasets do: the steps are the source's chunks of the
    # published text. Keep both, but only if every step is really there, in order.
    try:
        locate_steps(reasoning, steps)
    except StepNotFound as e:
        raise RecordError(f"steps[{e.index}]", str(e)) from None
    return _Parsed(reasoning, "reasoning", answer, steps=list(steps))


def _markup_layout(name: str, fn: Callable[[Text], Markup | None]) -> Callable[[dict], _Parsed]:
    def parse(rec: dict) -> _Parsed:
        for t in _texts(rec):
            found = fn(t)
            if found is not None:
                return _Parsed(*found[:3], question=t.question, fallback=found.question)
        where = ", ".join(k for k in TEXT_FIELDS if k in rec) or "no text field"
        raise RecordError(None, f"no {name} markup found ({where}; nor in a chat's last turn)")

    return parse


def _chat(key: str) -> Callable[[dict], _Parsed]:
    def parse(rec: dict) -> _Parsed:
        t = _chat_turn(rec, key)
        found = next((m for _, fn in MARKUPS if (m := fn(t)) is not None), None) or plain(t)
        return _Parsed(*found[:3], question=t.question, fallback=found.question)

    return parse


def _s1(rec: dict) -> _Parsed:
    tt = rec.get("thinking_trajectories")
    if isinstance(tt, list) and len(tt) == 1:
        tt = tt[0]
    if isinstance(tt, list) and tt and all(isinstance(x, str) for x in tt):
        tt = STEP_JOINER.join(tt)  # several trajectories have no single source field
    if not isinstance(tt, str):
        raise RecordError("thinking_trajectories", f"expected string(s), got {_kind(tt)}")
    return _Parsed(
        trim(tt, 0, len(tt)),
        "thinking_trajectories",
        clean(_opt_str(rec, "attempt")),
        reference=clean(_opt_str(rec, "solution", numbers=True)),
    )


# The value runs to the line's last non-blank character: a lazy (.*?) before [ \t]*$ would
# retry the blanks at every character of a long line.
_HASHES = re.compile(r"^[ \t]*####[ \t]*((?:.*[^ \t\n])?)[ \t]*$", re.M)
_A_LINE = re.compile(r"^[ \t]*A:[ \t]*((?:.*[^ \t\n])?)[ \t]*$", re.M)


def _last_line(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The final non-blank line when it matches `pattern`."""
    found = [m for m in pattern.finditer(text) if m.group(1) and not text[m.end() :].strip()]
    return found[-1] if found else None


def _gsm8k(rec: dict) -> _Parsed:
    text = _opt_str(rec, "answer") or ""
    m = next((m for m in reversed(list(_HASHES.finditer(text))) if m.group(1)), None)
    if m is None:
        raise RecordError("answer", "no '#### N' line (GSM8K layout)")
    # The human solution states N itself, so N is both its own answer and the reference.
    return _Parsed(trim(text, 0, m.start()), "answer", m.group(1), reference=m.group(1))


def _gsm8k_solution(rec: dict) -> _Parsed:
    text = _opt_str(rec, "solution")
    if text is None:
        raise RecordError("solution", "missing")
    m = _last_line(_A_LINE, text)
    ref = None
    truth = _opt_str(rec, "ground_truth")
    if truth:
        t = _last_line(_A_LINE, truth) or _last_line(_HASHES, truth)
        ref = t.group(1) if t else None
    if m is None:
        return _Parsed(trim(text, 0, len(text)), "solution", reference=ref)
    return _Parsed(trim(text, 0, m.start()), "solution", m.group(1), reference=ref)


_PARSERS: dict[str, Callable[[dict], _Parsed]] = {
    "canonical": _canonical,
    "s1": _s1,
    "messages": _chat("messages"),
    "sharegpt": _chat("conversations"),
    "gsm8k": _gsm8k,
    "gsm8k_solutions": _gsm8k_solution,
    **{name: _markup_layout(name, fn) for name, fn in MARKUPS},
}


def detect_format(obj: dict) -> str:
    """The layout name of a record (see the module docstring for the order)."""
    if "steps" in obj or "reasoning" in obj:
        r = obj.get("reasoning")
        if isinstance(r, str) and "steps" not in obj and "answer" not in obj and headers(r):
            return "zh_sections"
        return "canonical"
    if "thinking_trajectories" in obj:
        return "s1"
    for key, container in (("messages", "messages"), ("conversations", "sharegpt")):
        if isinstance(obj.get(key), list):
            turn = _try_chat(obj, key)
            if turn is not None:
                for name, fn in MARKUPS:
                    if fn(turn) is not None:
                        return name
            return container
    tops = _texts(obj, chats=False)
    for name, fn in MARKUPS:
        if any(fn(t) is not None for t in tops):
            return name
    if isinstance(obj.get("answer"), str) and _HASHES.search(obj["answer"]):
        return "gsm8k"
    if "ground_truth" in obj and any(isinstance(v, dict) and "solution" in v for v in obj.values()):
        raise RecordError(
            None,
            "a GSM8K model_solutions row holds one solution per generator; expand it into "
            "{question, solution} records (as benchmarks/gsm8k_auroc.py does)",
        )
    if isinstance(obj.get("solution"), str):
        return "gsm8k_solutions"
    keys = ", ".join(sorted(map(str, obj))[:12]) or "(none)"
    plain = [t.field for t in tops]
    why = f"; no reasoning markup in {', '.join(plain)}" if plain else ""
    raise RecordError(
        None, f"unknown layout: keys {keys}{why}; expected one of {_HINT} (use --format)"
    )


def parse_record(
    obj: object,
    *,
    fmt: str | None = None,
    source: str | None = None,
    default_id: str | None = None,
) -> Trace:
    """One JSON value → Trace, detecting the layout unless `fmt` forces one; `default_id`
    names a record that has no id of its own."""
    if not isinstance(obj, dict):
        raise RecordError(None, f"expected a JSON object, got {_kind(obj)}")
    if fmt is not None and fmt not in _PARSERS:
        raise RecordError(None, f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    name = fmt or detect_format(obj)
    p = _PARSERS[name](obj)
    if not p.reasoning.strip():
        raise RecordError(p.field, "empty reasoning")
    rid = obj.get("id")
    if isinstance(rid, bool) or not (rid is None or isinstance(rid, str | int)):
        raise RecordError("id", f"expected a string or integer, got {_kind(rid)}")
    reference = _opt_str(obj, "reference", numbers=True)
    question = p.question or _question(obj) or p.fallback
    return Trace(
        id=default_id if rid is None else str(rid),
        question=question or "",
        reasoning=p.reasoning,
        steps=p.steps,
        answer=p.answer,
        reference=reference if reference is not None else p.reference,
        format=name,
        source=source,
    )
