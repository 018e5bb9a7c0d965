import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bondkd.config import AnalyzeConfig, DataflowConfig, StabilityConfig
from bondkd.measure.stability_fit import design, fit, grouped_cv, predict
from bondkd.molecule.molecule import doc_features, signed_weights, stability_features
from bondkd.pipeline import Analyzer
from bondkd.quantities.dataflow import find_flow_issues, givens
from bondkd.read.formats import parse_record

ROOT = Path(__file__).resolve().parents[1]
Q = "Tom has 3 boxes with 4 apples each and gives away 5 apples. How many are left?"


def kinds(issues):
    return sorted((f.kind, f.quantity) for f in issues)


def test_a_sound_chain_has_no_breaks():
    steps = ["Each box has 4 apples, so 3 * 4 = 12 apples.", "He gives away 5: 12 - 5 = 7."]
    assert find_flow_issues(Q, steps, "7") == []
    # the answer can come from the text when the record has no answer field
    assert find_flow_issues(Q, [*steps, "The answer is 7."], None) == []


def test_dropped_given_dead_end_and_unsourced_operand():
    steps = ["3 * 4 = 12 apples.", "He also had 9 pears: 9 + 2 = 11.", "So 12 - 8 = 4."]
    got = kinds(find_flow_issues(Q, steps, "4"))
    # 5 is never used; 11 feeds nothing; 9 is written before it is computed with, 8 is not
    assert got == [("dead_end", "11"), ("unsourced", "8"), ("unused_quantity", "5")]


def test_percent_forms_and_results_without_operators():
    q = "A shirt costs $20 and is 25% off. What does it cost?"
    # 25% is used as 0.75; "so" states a result from the numbers before it
    assert find_flow_issues(q, ["20 * 0.75 = 15 dollars."], "15") == []
    q2 = "She has 5 apples and buys 3 more. How many now?"
    assert find_flow_issues(q2, ["She has 5 apples and buys 3 more, so she has 8."], "8") == []


def test_chinese_trace():
    q = "小明有3盒苹果，每盒4个，送出5个，还剩几个？"
    steps = ["首先，3×4=12个。", "因此，12-5=7个。"]
    assert find_flow_issues(q, steps, "7") == []
    issues = find_flow_issues(q, ["首先，3×4=12个。"], "12")
    assert kinds(issues) == [("unused_quantity", "5")]


def test_an_answer_with_several_numbers_walks_back_from_each():
    q = "A rectangle has a perimeter of 34 cm and an area of 60 cm². What are its sides?"
    steps = ["l + w = 34 / 2 = 17 and l × w = 60.", "So l = 17 − 5 = 12 and w = 60 / 12 = 5."]
    assert find_flow_issues(q, steps, "12 cm by 5 cm") == []


def test_without_a_final_answer_every_given_is_unused():
    issues = find_flow_issues(Q, ["We compute 9 * 4 and think."], None)
    assert kinds(issues) == [("unsourced", "9"), *(("unused_quantity", q) for q in "345")]
    # a refusal is not a sound trace just because it computes nothing
    assert len(find_flow_issues(Q, ["I'm sorry, I cannot help with that."], None)) == 3


def test_costs_and_constants_come_from_the_config():
    cfg = DataflowConfig(unused_quantity=2.5, constants=[8])
    issues = find_flow_issues(Q, ["3 * 4 = 12 apples.", "So 12 - 8 = 4."], "4", cfg)
    assert kinds(issues) == [("unused_quantity", "5")] and issues[0].value == 2.5
    assert givens(Q) == 3 and givens("no numbers") == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 +-*/=.,%x×得是so如果\n", max_size=40), max_size=5))
@example(steps=[".1"])  # the answer is quoted as written, not as its canonical "0.1"
def test_never_raises_and_quantities_are_written_text(steps):
    for f in find_flow_issues(Q, steps, None):
        assert f.step is None or 0 <= f.step < len(steps)
        assert f.quantity in (Q if f.step is None else steps[f.step])


@pytest.fixture(scope="module")
def docs():
    rows = [json.loads(x) for x in (ROOT / "tests/fixtures/gsm8k_dev_sample.jsonl").open()]
    traces = [parse_record(r, source=f"sample:{k + 1}") for k, r in enumerate(rows)]
    mols = list(Analyzer(AnalyzeConfig(backend="lexical")).analyze_many(traces))
    return [m.doc for m in mols], np.array([r["is_correct"] for r in rows]), rows


def test_stability_is_the_logistic_of_its_features_and_records_its_costs(docs):
    ds, _, _ = docs
    cfg = StabilityConfig()
    w = signed_weights(cfg)
    for d in ds:
        feats = doc_features(d, cfg)
        assert set(feats) == set(w)
        z = cfg.bias + sum(w[k] * v for k, v in feats.items())
        assert d.stability == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-6)
        # each recorded item carries the cost its kind has in the config
        assert all(f.value == getattr(cfg.flow, f.kind) for f in d.dataflow)
        standing = [c for c in d.conflicts if c.resolved_by is None]
        assert all(c.value == getattr(cfg.conflicts, c.kind) for c in standing)
    names, x = design(ds, cfg)
    assert np.allclose(predict(names, x, cfg), [d.stability for d in ds], atol=1e-6)


def test_steps_that_check_or_explore_do_not_count_and_the_count_is_capped():
    cfg = StabilityConfig(step_cap=3)

    def steps(roles):
        return stability_features(roles, [], [], [], 0, cfg)["steps"]

    assert steps(["normal"] * 3) == 2
    assert steps(["normal", "reflection", "exploration", "deep_reasoning"]) == 1
    assert steps(["normal"] * 40) == 3


def test_fit_keeps_signs_and_recovers_a_planted_model():
    rng = np.random.default_rng(0)
    names = list(signed_weights(StabilityConfig()))
    x = rng.poisson(1.0, size=(4000, len(names))).astype(float)
    truth = dict.fromkeys(names, 0.0) | {"flow.unused_quantity": -1.5, "givens_reached": 0.8}
    truth["steps"] = 0.7  # the wrong sign for a cost: the fit must clamp it to 0
    z = -0.5 + x @ np.array([truth[n] for n in names])
    y = rng.random(len(z)) < 1 / (1 + np.exp(-z))
    cfg = fit(names, x, y, StabilityConfig(), l2=0.1, prior=None)
    assert cfg.flow.unused_quantity == pytest.approx(1.5, abs=0.2)
    assert cfg.given_gain == pytest.approx(0.8, abs=0.15)
    assert cfg.step_cost == 0.0 and cfg.bond_weight >= 0.0
    assert cfg.flow.constants == StabilityConfig().flow.constants  # not a weight: kept
    # an even prior moves only the bias, by minus the logit of the base rate
    even = fit(names, x, y, StabilityConfig(), l2=0.1)
    rate = y.mean()
    assert even.bias == pytest.approx(cfg.bias - np.log(rate / (1 - rate)), abs=2e-4)
    assert even.flow.unused_quantity == cfg.flow.unused_quantity


def test_grouped_cv_on_the_sample(docs):
    ds, y, rows = docs
    groups = [r["id"].split("-")[0] for r in rows]
    out = grouped_cv(ds, y, groups, StabilityConfig())
    lo, hi = out["ci95"]
    assert 0.5 < out["auroc"] <= 1.0 and lo <= out["auroc"] <= hi
    assert isinstance(out["config"], StabilityConfig)


def test_chains_and_checks_after_the_answer_are_not_breaks():
    q = "There are 17 classes with 24 students each. How many students?"
    steps = [
        "17 × 24 = 17 × 20 + 17 × 4 = 340 + 68 = 408 students.",  # 20, 4, 340, 68 right of =
        "Check: about 17 × 25 = 425, close to 408.",  # after the answer: checking
    ]
    assert find_flow_issues(q, steps, "408") == []
    # the same check before the answer is a dead end with an unsourced operand
    got = kinds(find_flow_issues(q, steps[::-1], "408"))
    assert ("dead_end", "425") in got and ("unsourced", "25") in got
