"""The gate in memory: checks, score and vetoes, lineage, config, calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tomllib

from bondkd.config import AnalyzeConfig, ConfigError, StabilityConfig
from bondkd.gate import GateConfig, filter_records, load_gate_config
from bondkd.gate.calibrate import FEATURES, fit, grouped_cv_auroc, predict
from bondkd.gate.config import Rule, to_toml
from bondkd.measure.metrics import auroc
from bondkd.molecule.molecule import flow_soundness
from bondkd.pipeline import analyze

DATA = Path(__file__).resolve().parents[1] / "datasets"
GOOD = {
    "id": "good",
    "question": "Tom has 3 boxes with 4 apples each. How many apples does he have?",
    "reasoning": "Each box holds 4 apples.\nSo 3 boxes hold 3 * 4 = <<3*4=12>>12 apples.",
    "answer": "12",
}


def _load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _gate(records: list, **cfg) -> list[dict]:
    return list(filter_records(records, GateConfig(**cfg)))


def _check(out: dict, name: str) -> dict:
    return next(c for c in out["bondkd"]["checks"] if c["name"] == name)


def test_one_output_per_record_in_order_with_fields_kept():
    recs = [GOOD, {"foo": 1}, [1, 2], {**GOOD, "id": "x", "extra": {"k": [1]}}]
    out = _gate(recs)
    assert [o["bondkd"]["line"] for o in out] == [1, 2, 3, 4]
    assert {k: v for k, v in out[3].items() if k != "bondkd"} == recs[3]
    assert out[1]["bondkd"]["verdict"] == "rejected"
    assert out[1]["bondkd"]["reasons"][0].startswith("parse_error: unknown layout")
    assert out[2] == {"raw": [1, 2], "bondkd": out[2]["bondkd"]}
    block = out[0]["bondkd"]
    assert block["id"] == "good" and 0 <= block["score"] <= 1
    assert block["config_hash"] == GateConfig().hash() and block["bondkd_version"]
    assert block["molecule"]["steps"] == 2 and set(block["molecule"]["bonds"]) == {
        "strong_logic", "reflection", "exploratory",
    }  # fmt: skip
    for c in block["checks"]:
        assert c["status"] in ("pass", "fail", "abstain", "error")
        assert c["score"] is None or 0 <= c["score"] <= 1


def test_existing_bondkd_block_is_replaced_and_noted():
    [out] = _gate([{**GOOD, "bondkd": {"verdict": "accepted", "stale": True}}])
    assert "stale" not in out["bondkd"] and out["bondkd"]["notes"]


def test_missing_id_gets_the_line_number():
    out = _gate([GOOD, {k: v for k, v in GOOD.items() if k != "id"}])
    assert out[1]["bondkd"]["id"] == "line-2"


def test_stability_check_is_the_molecules_own_verdict():
    trace = _load("contradiction.json")
    mol = analyze(trace, AnalyzeConfig(backend="lexical"))
    [out] = _gate([trace])
    c = _check(out, "stability")
    assert c["score"] == round(mol.stability, 4)
    assert c["status"] == ("pass" if mol.accepted else "fail")
    assert out["bondkd"]["stability"] == round(mol.stability, 4)


def test_self_consistency_reads_the_molecules_conflicts():
    [out] = _gate([_load("contradiction.json")])
    c = _check(out, "self_consistency")
    assert c["status"] == "fail"
    text = " ".join(c["evidence"])
    assert "calc_mismatch" in text and "value_clash" in text and "answer_mismatch" in text
    assert c["score"] == 0.0  # three standing conflicts at 0.5 each
    # a kind stability gives no weight to still counts here
    [only] = _gate([{**GOOD, "answer": "13"}])
    c = _check(only, "self_consistency")
    assert c["score"] == 0.5 and "answer_mismatch" in c["evidence"][0]


@pytest.mark.parametrize(
    "text",
    ["I'm sorry, but I cannot help with that.", "很抱歉，我无法回答这个问题。", "无法回答。"],
)
def test_refusals_are_vetoed_in_english_and_chinese(text):
    [out] = _gate([{**GOOD, "reasoning": text, "answer": None}])
    c = _check(out, "refusal")
    assert c["status"] == "fail" and c["veto"]
    assert out["bondkd"]["verdict"] == "rejected"
    assert any(r.startswith("veto (refusal)") for r in out["bondkd"]["reasons"])


def test_length_bounds():
    [short] = _gate([GOOD], length={"min": 500, "max": 1000})
    assert _check(short, "length")["status"] == "fail"
    [ok] = _gate([GOOD], length={"unit": "tokens", "min": 5, "max": 100})
    assert _check(ok, "length")["status"] == "pass"


@pytest.mark.parametrize(
    ("answer", "reference", "ok"),
    [
        ("12", "#### 12", True),
        ("The answer is 12.0", "12", True),
        ("\\boxed{12}", "A: 12", True),
        ("$1,200", "1200", True),
        ("13", "#### 12", False),
        ("10001", "#### 10000", False),  # integers match exactly, whatever rel_tol
    ],
)
def test_reference_match_is_numeric_tolerant(answer, reference, ok):
    [out] = _gate([{**GOOD, "answer": answer, "reference": reference}])
    c = _check(out, "reference")
    assert c["status"] == ("pass" if ok else "fail")
    assert "numeric" in c["evidence"][0]
    assert (out["bondkd"]["verdict"] == "rejected") if not ok else True


def test_reference_abstains_without_one_and_can_be_turned_off():
    [out] = _gate([GOOD])
    assert _check(out, "reference")["status"] == "abstain"
    [off] = _gate([{**GOOD, "reference": "99"}], reference={"enabled": False})
    assert all(c["name"] != "reference" for c in off["bondkd"]["checks"])


def test_domain_rules_veto():
    rules = {
        "rules": [Rule(field="response", must_not=[r"apples?\b"]), Rule(field="id", must=["^g"])]
    }
    [out] = _gate([GOOD], rules=rules)
    c = _check(out, "rules")
    assert c["status"] == "fail" and c["veto"] and len(c["evidence"]) == 1
    assert out["bondkd"]["verdict"] == "rejected"


def test_consensus_compares_answers_to_the_same_question():
    b = {**GOOD, "id": "b", "reasoning": "3 boxes of 4 apples make 3 * 4 = 12 apples."}
    c = {**GOOD, "id": "c", "answer": "13", "reasoning": "3 * 4 = 13."}
    out = _gate([GOOD, b, c, {**c, "id": "c-copy"}])
    scores = [_check(o, "consensus")["score"] for o in out]
    # equally sound votes: 12 holds 2 of the 3 votes; the copy of c is not a second opinion
    assert scores[:3] == pytest.approx([2 / 3, 2 / 3, 1 / 3], abs=1e-4)
    [alone] = _gate([GOOD])
    assert _check(alone, "consensus")["status"] == "abstain"
    grouped = _gate([{**GOOD, "group": "g"}, {**GOOD, "question": "other", "group": "g"}])
    assert _check(grouped[0], "consensus")["score"] == 1.0


def test_consensus_votes_weigh_dataflow_soundness():
    # two answers, one each: the one that drops a given (3) and computes with 9 weighs less
    sloppy = {**GOOD, "id": "s", "answer": "13", "reasoning": "4 + 9 = 13 apples."}
    out = _gate([GOOD, sloppy])
    w = [
        flow_soundness(r["question"], r["reasoning"], r["answer"], StabilityConfig())
        for r in (GOOD, sloppy)
    ]
    assert w[0] > w[1]
    scores = [_check(o, "consensus")["score"] for o in out]
    assert scores == pytest.approx([w[0] / sum(w), w[1] / sum(w)], abs=1e-4)
    assert "0 of 1 other answers agree with 12" in _check(out[0], "consensus")["evidence"][0]


def test_dedup_keeps_the_first_and_names_it():
    near = {**GOOD, "id": "near", "reasoning": GOOD["reasoning"] + " "}
    other = {**GOOD, "id": "other", "question": "A different question about 9 trains."}
    out = _gate([GOOD, {**GOOD, "id": "copy"}, near, other], dedup={"near": 0.8})
    checks = [_check(o, "dedup") for o in out]
    assert checks[0]["status"] == "pass" and checks[3]["status"] == "pass"
    assert checks[1]["veto"] and "of line 1 (id good," in checks[1]["evidence"][0]
    assert checks[2]["veto"]  # whitespace-only difference: exact after normalising


def test_grounding_finds_unsourced_operands_and_unused_quantities():
    bad = {**GOOD, "reasoning": "Each box has 4 apples.\nSo 9 * 4 = <<9*4=36>>36 apples."}
    [out] = _gate([bad])
    ev = " ".join(_check(out, "grounding")["evidence"])
    assert "computes with 9" in ev and "question's 3 never flows" in ev
    [good] = _gate([GOOD])
    assert _check(good, "grounding")["evidence"] == []


def test_redundancy_finds_loops():
    loop = {
        **GOOD,
        "reasoning": "\n".join(["Let me think about the boxes again."] * 4 + [GOOD["reasoning"]]),
    }
    [out] = _gate([loop])
    c = _check(out, "redundancy")
    assert c["status"] == "fail" and any("loop" in e for e in c["evidence"])


def test_a_check_that_raises_is_an_error_not_a_rejection(monkeypatch):
    from bondkd.gate import checks

    def boom(item, cfg, ctx):
        raise RuntimeError("broken check")

    monkeypatch.setitem(checks.CHECKS, "echo", boom)
    [out] = _gate([GOOD])
    c = _check(out, "echo")
    assert c["status"] == "error" and "broken check" in c["evidence"][0]
    assert not c["veto"]


def test_verdict_is_score_over_threshold_and_no_veto():
    [out] = _gate([GOOD], threshold=0.0)
    assert out["bondkd"]["verdict"] == "accepted"
    [out] = _gate([GOOD], threshold=1.0)
    assert out["bondkd"]["verdict"] == "rejected"
    assert out["bondkd"]["reasons"][0].startswith("score ")


def test_chinese_trace_goes_through():
    [out] = _gate([_load("chinese_reflective.json")])
    mol = out["bondkd"]["molecule"]
    assert mol["roles"]["reflection"] >= 1
    # 48 × 35 = 1580 (step 1) is corrected by step 4: superseded, and no error stands.
    assert mol["superseded"] == {1: 4} and mol["first_error"] is None


def test_the_gate_records_the_first_unresolved_error():
    [out] = _gate([_load("contradiction.json")])
    first = out["bondkd"]["molecule"]["first_error"]
    assert first is not None and first["step"] == 3 and first["kind"] == "value_clash"
    assert _check(out, "refusal")["status"] == "pass"


# -- config ---------------------------------------------------------------------------
def test_config_toml_round_trip_and_errors(tmp_path):
    cfg = GateConfig(rules={"rules": [Rule(field="answer", must=[r"\d"], veto=False)]})
    text = to_toml(cfg.model_dump(mode="json"))
    assert GateConfig.model_validate(tomllib.loads(text)) == cfg
    path = tmp_path / "gate.toml"
    path.write_text("threshold = 0.7\n[length]\nmax = 50\n")
    loaded = load_gate_config(path, backend="lexical")
    assert loaded.threshold == 0.7 and loaded.length.max == 50
    assert loaded.hash() != GateConfig().hash()
    path.write_text("[length]\nmaxx = 5\n")
    with pytest.raises(ConfigError, match=r"length\.maxx"):
        load_gate_config(path)


# -- calibration ----------------------------------------------------------------------
def test_fit_and_grouped_cv_on_separable_data():
    rng = np.random.default_rng(0)
    n = 400
    y = rng.random(n) < 0.4
    scores = {name: rng.random(n) for name in FEATURES}
    scores["consensus"] = np.where(y, 0.7, 0.2) + 0.2 * rng.random(n)
    scores["echo"][::7] = np.nan  # abstentions take the neutral value
    w = fit(scores, y)
    assert w.weights["consensus"] > 1 and auroc(predict(w, scores), y) > 0.95
    # a check that scores bad records higher may not earn a negative weight
    scores["redundancy"] = np.where(y, 0.2, 0.8)
    w2 = fit(scores, y)
    assert w2.weights["redundancy"] == 0.0 and all(v >= 0 for v in w2.weights.values())
    # the bias is moved from the labels' base rate to an even prior
    rate = y.mean()
    want = fit(scores, y, prior=None).bias - np.log(rate / (1 - rate))
    assert w2.bias == pytest.approx(want, abs=1e-4)  # weights are rounded to 4 places
    cv = grouped_cv_auroc(scores, y, [str(i // 4) for i in range(n)], boot=100)
    assert cv["auroc"] > 0.95 and cv["ci95"][0] <= cv["auroc"] <= cv["ci95"][1]
