"""The shipped sample traces and the hand-labelled set are well formed.

Only the standard library is used: the parsers are tested elsewhere, and these tests must
hold for the data files on their own.
"""

from __future__ import annotations

import ast
import contextlib
import json
import operator
import re
from pathlib import Path

import pytest

from bondkd.read.spans import locate_steps

DATA = Path(__file__).resolve().parents[1] / "datasets"
ANNOTATION = re.compile(r"<<([^=<>]+)=([^<>]+)>>([0-9.,]*)")
CJK = re.compile(r"[\u4e00-\u9fff]")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _calc(expr: str) -> float:
    """Value of a calculator expression (numbers, + - * /, parentheses)."""

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return ev(node.left) / ev(node.right)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError(f"unsupported calculator expression: {expr!r}")

    return ev(ast.parse(expr, mode="eval").body)


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def _annotations(text: str) -> list[tuple[float, float, float | None]]:
    """(expression value, annotated value, stated value after the annotation)."""
    out = []
    for expr, value, stated in ANNOTATION.findall(text):
        stated = stated.replace(",", "").rstrip(".")
        out.append((_calc(expr), float(value), float(stated) if stated else None))
    return out


def test_datasets_is_not_a_python_package() -> None:
    # datasets/__init__.py would shadow the Hugging Face `datasets` library.
    assert not (DATA / "__init__.py").exists()
    assert not list(DATA.glob("*.py"))


@pytest.mark.parametrize("path", sorted(DATA.glob("*.json")), ids=lambda p: p.name)
def test_every_json_file_parses_as_a_record(path: Path) -> None:
    rec = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(rec, dict)
    assert rec["question"].strip()
    assert (rec.get("reasoning") or rec.get("response") or "").strip()


def test_jsonl_files_parse_except_the_deliberately_malformed_lines() -> None:
    bad, good = [], 0
    for path in sorted(DATA.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            assert line.strip(), f"{path.name}:{n}: blank line"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                bad.append((path.name, n))
                continue
            assert isinstance(rec, dict), f"{path.name}:{n}"
            good += 1
    assert bad == [("gate_demo.jsonl", 7), ("mixed.jsonl", 6)]
    assert good >= 24 + 3 + 8


def test_gsm8k_short_has_one_correct_annotated_step_per_line() -> None:
    rec = _load("gsm8k_short.json")
    lines = rec["reasoning"].split("\n")
    assert len(lines) >= 3
    for line in lines:
        notes = _annotations(line)
        assert len(notes) == 1, line
        truth, value, stated = notes[0]
        assert truth == pytest.approx(value) and stated == pytest.approx(value), line
    assert float(rec["answer"]) == pytest.approx(_annotations(lines[-1])[0][1])
    assert rec["answer"] == rec["reference"]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def test_reflective_long_makes_an_early_error_then_rechecks_the_same_numbers() -> None:
    rec = _load("reflective_long.json")
    sentences = _sentences(rec["reasoning"])
    assert 25 <= len(sentences) <= 40
    assert rec["reasoning"].count("\n\n") >= 3
    wrong = next(i for i, s in enumerate(sentences) if "17 × 24 = 418" in s)
    wait = next(i for i, s in enumerate(sentences) if s.startswith("Wait, let me check"))
    fix = next(i for i, s in enumerate(sentences) if "17 × 24 is 408, not 418" in s)
    assert wrong <= 6 and wrong + 3 <= wait < fix
    assert any(s.startswith(("Therefore", "So ")) for s in sentences)
    assert rec["answer"] == rec["reference"]
    assert rec["answer"].lstrip("$") in sentences[-1]


def test_chinese_reflective_is_sectioned_and_verifies_an_earlier_product() -> None:
    rec = _load("chinese_reflective.json")
    text = rec["response"]
    assert "reasoning" not in rec
    think, answer = text.split("【最终答案】")
    assert think.startswith("【思考过程】") and answer.strip()
    for cue in ("首先", "然后", "因此", "所以", "等等，让我验证一下", "验证："):
        assert cue in think, cue
    steps = think.splitlines()
    first = next(i for i, s in enumerate(steps) if "48 × 35 =" in s)
    check = next(i for i, s in enumerate(steps) if s.startswith("等等，让我验证一下"))
    assert first < check and "48 × 35" in steps[check]
    assert rec["reference"] in answer


def test_exploratory_tries_a_second_approach_and_compares() -> None:
    text = _load("exploratory.json")["reasoning"]
    paragraphs = text.split("\n\n")
    alt = next(i for i, p in enumerate(paragraphs) if p.startswith("Alternatively"))
    assert 0 < alt < len(paragraphs) - 1
    assert "Comparing" in paragraphs[alt + 1]


def test_contradiction_has_uncorrected_clash_bad_annotation_and_wrong_answer() -> None:
    rec = _load("contradiction.json")
    lines = rec["reasoning"].split("\n")
    clash = [i for i, s in enumerate(lines) if re.search(r"the total is (45|52) ", s)]
    assert len(clash) == 2
    between = " ".join(lines[clash[0] : clash[1] + 1]).lower()
    assert not re.search(r"\b(wait|actually|let me check|mistake)\b", between)
    notes = [n for line in lines for n in _annotations(line)]
    assert any(stated is not None and stated != value for _, value, stated in notes)
    last_value = notes[-1][1]
    assert float(rec["answer"].lstrip("$")) != last_value
    assert rec["answer"] != rec["reference"]


def test_hostile_payloads_sit_in_every_text_field() -> None:
    rec = _load("hostile.json")
    assert "<script>" in rec["id"]
    assert "onerror=" in rec["question"] and "</script>" in rec["question"]
    paragraphs = rec["reasoning"].split("\n\n")
    assert len(paragraphs) >= 3
    assert all(re.search(r"<|javascript:|\{\{", p) for p in paragraphs)
    for payload in ("<script>alert(1)</script>", "javascript:alert(1)", "</script>", "onerror="):
        assert payload in rec["reasoning"]
    assert "<script>" in rec["answer"]


def test_r1_think_records() -> None:
    rows = _jsonl("r1_think.jsonl")
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"prompt", "response"}
        m = re.fullmatch(r"<think>(.+)</think>(.+)", row["response"], flags=re.S)
        assert m and m.group(1).strip() and m.group(2).strip()
    assert sum(bool(CJK.search(r["response"])) for r in rows) == 1


def test_mixed_covers_every_layout() -> None:
    rows = []
    for line in (DATA / "mixed.jsonl").read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            rows.append(json.loads(line))
    blobs = [json.dumps(r, ensure_ascii=False) for r in rows]
    layouts = {
        "canonical": any("reasoning" in r and "question" in r for r in rows),
        "steps": any(isinstance(r.get("steps"), list) for r in rows),
        "messages": any("messages" in r for r in rows),
        "reasoning_content": any("reasoning_content" in b for b in blobs),
        "sharegpt": any(r.get("conversations", [{}])[0].get("from") == "human" for r in rows),
        "gsm8k": any(re.search(r"\n#### \d+$", str(r.get("answer", ""))) for r in rows),
        "sky-t1": any("<|begin_of_thought|>" in b and "<|end_of_solution|>" in b for b in blobs),
        "sectioned": any("【思考过程】" in str(r.get("response", "")) for r in rows),
        "s1": any("thinking_trajectories" in r for r in rows),
        "r1": any(str(r.get("response", "")).startswith("<think>") for r in rows),
    }
    assert all(layouts.values()), layouts


def _labelled() -> list[dict]:
    return _jsonl("labelled.jsonl")


def _text(r: dict) -> str:
    return r.get("reasoning") or "\n\n".join(r["steps"])


def _is_long(r: dict) -> bool:
    return len(_text(r)) >= 3000 and len(r["steps"]) >= 30


def test_labelled_records_are_well_formed() -> None:
    rows = _labelled()
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        where = r["id"]
        assert {"id", "lang", "question", "steps", "answer", "labels"} <= set(r), where
        assert r["lang"] in ("en", "zh"), where
        assert bool(CJK.search(" ".join(r["steps"]))) == (r["lang"] == "zh"), where
        # A public trace cut off at its source has no answer: "" says so.
        assert r["question"].strip() and isinstance(r["answer"], str), where
        assert r.get("split", "tune") in ("tune", "holdout"), where
        steps = r["steps"]
        assert len(steps) >= 3 and all(isinstance(s, str) and s.strip() for s in steps), where
        if r.get("reasoning"):  # public data: the steps are pieces of the published text
            assert len(locate_steps(r["reasoning"], steps)) == len(steps), where
        labels = r["labels"]
        assert {"reflection", "exploration"} <= set(labels), where
        assert set(labels) <= {"reflection", "exploration", "correction", "deduction"}, where
        for src, tgt in labels["reflection"].items():
            assert re.fullmatch(r"\d+", src), where
            assert isinstance(tgt, int) and 0 <= tgt < int(src) < len(steps), (where, src, tgt)
        for src, tgt in labels.get("correction", {}).items():  # corrections are reflections
            assert labels["reflection"].get(src) == tgt, (where, src)
        for src, tgts in labels.get("deduction", {}).items():
            assert 1 <= len(tgts) <= 3 and all(0 <= t < int(src) < len(steps) for t in tgts)
        expl = labels["exploration"]
        assert len(set(expl)) == len(expl), where
        assert all(isinstance(k, int) and 0 < k < len(steps) for k in expl), where


def test_labelled_set_size_and_label_counts() -> None:
    """Issue 16: >= 60 traces and >= 200 labelled links, >= 15 long traces from public
    data, >= 15 Chinese, and a holdout part no threshold is tuned on."""
    rows = _labelled()
    langs = [r["lang"] for r in rows]
    assert len(rows) >= 60 and langs.count("zh") >= 15
    links = [(int(s), t) for r in rows for s, t in r["labels"]["reflection"].items()]
    deduced = sum(len(v) for r in rows for v in r["labels"].get("deduction", {}).values())
    corrected = sum(len(r["labels"].get("correction", {})) for r in rows)
    assert len(links) + deduced + corrected >= 200
    assert sum(len(r["labels"]["exploration"]) for r in rows) >= 10
    assert any(s - t >= 5 for s, t in links)  # long-range checks exist
    assert any(not r["labels"]["reflection"] and not r["labels"]["exploration"] for r in rows)
    assert sum(_is_long(r) and "source" in r for r in rows) >= 15
    assert {r.get("split", "tune") for r in rows if _is_long(r)} == {"tune", "holdout"}


def test_labelled_readme_counts_match_the_data() -> None:
    rows = _labelled()

    def count(lang: str, key: str) -> int:
        return sum(len(r["labels"][key]) for r in rows if r["lang"] == lang)

    en = sum(r["lang"] == "en" for r in rows)

    def links(key: str) -> int:
        return sum(
            len(v) if isinstance(v, list) else 1
            for r in rows
            for v in r["labels"].get(key, {}).values()
        )

    expected = (
        f"Counts: {len(rows)} traces ({en} en, {len(rows) - en} zh; "
        f"{sum(r.get('split') == 'holdout' for r in rows)} holdout, "
        f"{sum(map(_is_long, rows))} long), "
        f"{sum(len(r['steps']) for r in rows)} steps, "
        f"{count('en', 'reflection') + count('zh', 'reflection')} reflection labels "
        f"({count('en', 'reflection')} en, {count('zh', 'reflection')} zh), "
        f"{links('correction')} corrections, {links('deduction')} deduction links, "
        f"{count('en', 'exploration') + count('zh', 'exploration')} exploration labels "
        f"({count('en', 'exploration')} en, {count('zh', 'exploration')} zh)."
    )
    readme = " ".join((DATA / "README.md").read_text(encoding="utf-8").split())
    assert expected in readme
