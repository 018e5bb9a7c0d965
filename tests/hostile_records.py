"""Records and CLI helpers shared by the hostile-input tests (test_hostile_io, test_outputs)."""

from __future__ import annotations

import json
from pathlib import Path

LEX = ("--backend", "lexical")
DEEP = 100_000  # far past any recursion limit, wherever the parser is called from


def record(i: int, **extra: object) -> dict:
    a, b = 3 + i % 7, 4 + i % 11
    return {
        "id": f"r{i}",
        "question": f"A farm has {a} rows of {b} trees (farm {i}). How many trees?",
        "reasoning": f"There are {a} rows of {b} trees.\nSo {a} * {b} = {a * b} trees.",
        "answer": str(a * b),
        **extra,
    }


def jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return path


def good(i: int) -> str:
    return json.dumps(record(i), ensure_ascii=False)


def with_field(i: int, key: str, raw_json: str) -> str:
    """A record line whose field `key` holds `raw_json` verbatim (not valid Python JSON)."""
    return json.dumps(record(i))[:-1] + f', "{key}": {raw_json}}}'


def filter_args(tmp: Path, src: Path, *more: str) -> list[str]:
    acc, rej = str(tmp / "acc.jsonl"), str(tmp / "rej.jsonl")
    return ["filter", str(src), "--accepted", acc, "--rejected", rej, *LEX, "-q", *more]


def strict(text: str) -> object:
    """json.loads that refuses NaN and Infinity, as strict JSON readers do."""

    def refuse(literal: str) -> object:
        raise AssertionError(f"not strict JSON: {literal}")

    return json.loads(text, parse_constant=refuse)


def filter_outputs(tmp: Path) -> list[dict]:
    """Both outputs, read as strict UTF-8 JSON lines."""
    recs = []
    for name in ("acc.jsonl", "rej.jsonl"):
        data = (tmp / name).read_bytes().decode("utf-8")  # strict: no surrogates
        recs += [strict(x) for x in data.splitlines()]
    return recs


def by_line(recs: list[dict]) -> dict[int, dict]:
    lines = [r["bondkd"]["line"] for r in recs]
    assert len(lines) == len(set(lines)), "a line was written twice"
    return {r["bondkd"]["line"]: r for r in recs}


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.startswith("bondkd: error:")]
    assert len(lines) == 1, err
    return lines[0]
