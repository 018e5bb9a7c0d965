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
from bondkd.quantities import sources
from bondkd.quantities.dataflow import find_flow_issues, givens, is_arithmetic
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
    assert steps(["normal"] * 8) == 3
    # Past the fitted range (long_steps working steps) the step term is not counted at all.
    assert cfg.long_steps == 9 and steps(["normal"] * 40) == 0
    assert stability_features(["normal"] * 40, [], [], [], 0, cfg.model_copy(
        update={"long_steps": 0}))["steps"] == 3  # fmt: skip


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


# -- sourcing: constants, units, words and stated facts (issue 16 item 5) ----------------


def test_a_clean_discount_problem_has_no_breaks():
    # 八折 gives × 0.8 and the one decimal its answer has
    q = "一件衣服原价 99 元，商店打八折出售，现价多少元？"
    assert find_flow_issues(q, ["打八折就是乘以 0.8。", "99 × 0.8 = 79.2（元）。"], "79.2") == []
    q2 = "一件外套原价 350 元，打七五折出售，便宜了多少元？"
    steps = ["七五折就是原价的 0.75 倍，便宜的是 0.25。", "350 × 0.25 = 87.5（元）。"]
    assert find_flow_issues(q2, steps, "87.5") == []
    # "× 8 ÷ 10" computes with the discount's digits
    assert find_flow_issues("原价 120 元，打8折，现价多少？", ["120 × 8 ÷ 10 = 96。"], "96") == []


def test_the_question_licenses_the_answer_precision_only_where_its_words_do():
    q = "Tom has 10 apples and shares them among 3 friends. How many does each get?"
    got = kinds(find_flow_issues(q, ["10 / 3 = 3.33 apples each."], "3.33"))
    assert got == [("implausible_answer", "3.33")]
    q_avg = "Tom scored 10, 9 and 8 points and 1 bonus. What is his average per game of 3?"
    assert "implausible_answer" not in {
        f.kind for f in find_flow_issues(q_avg, ["10 + 9 + 8 + 1 = 28, 28 / 3 = 9.33."], "9.33")
    }
    q_yuan = "笔记本每本 3 元 5 角，买 3 本要多少元？"
    assert "implausible_answer" not in {
        f.kind for f in find_flow_issues(q_yuan, ["3.5 × 3 = 10.5（元）。"], "10.5")
    }


def test_a_product_of_decimals_licenses_the_places_of_each():
    q = "A car uses 6.5 liters per 100 km and fuel costs $1.80 a liter. Fuel for 420 km?"
    steps = ["420 / 100 = 4.2.", "4.2 × 6.5 = 27.3 liters.", "27.3 × 1.80 = $49.14."]
    assert find_flow_issues(q, steps, "$49.14") == []
    # a whole-number question still licenses no places
    q_whole = "A car uses 6 liters per 100 km and fuel costs $2 a liter. Fuel for 420 km?"
    assert ("implausible_answer", "$50.45") in kinds(find_flow_issues(q_whole, steps, "$50.45"))


@pytest.mark.parametrize(
    ("question", "steps", "answer"),
    [
        # the low end of a range is no given to compute with
        ("从1到100的整数中，能被3整除的有多少个？", ["100 ÷ 3 = 33.3，取整得 33 个。"], "33"),
        ("How many integers from 1 to 50 are multiples of 7?", ["50 / 7 = 7.14, so 7."], "7"),
        # solving rewrites the equation: 25 is never written again
        ("解方程 3x + 7 = 25。", ["两边同时减去7，得到 3x = 18。", "x = 18 ÷ 3 = 6。"], "6"),
        # the parties named again (甲乙两人) are no quantity
        (
            "甲乙两人相距30千米，相向而行，速度和是每小时10千米，几小时后相遇？",
            ["30 ÷ 10 = 3（小时）。"],
            "3",
        ),
    ],
)
def test_givens_that_need_no_use(question, steps, answer):
    assert "unused_quantity" not in {f.kind for f in find_flow_issues(question, steps, answer)}


def test_a_result_written_as_a_fraction_carries_the_flow():
    q = "A bag has 5 red and 7 blue marbles. Two are drawn. What is the probability both are red?"
    steps = ["There are 5 + 7 = 12 marbles.", "The first is red with probability 5/12.",
             "Then 4 red remain among 11.", "Both red: 5/12 × 4/11 = 20/132 = 5/33."]  # fmt: skip
    assert find_flow_issues(q, steps, "5/33") == []


def test_an_assigned_value_is_still_a_given():
    q = "If x = 5 and y is 3 more than x, what is y + 20?"
    got = kinds(find_flow_issues(q, ["y = 3 + 20 = 23."], "23"))
    assert ("unused_quantity", "5") in got


@pytest.mark.parametrize(
    ("question", "steps", "answer"),
    [
        ("How many eggs are in 3 cartons of a dozen each?", ["3 × 12 = 36 eggs."], "36"),
        ("Ann reads for 3 hours. How many minutes?", ["3 × 60 = 180 minutes."], "180"),
        ("A pie is cut in half and each half into 4. How many pieces?", ["2 × 4 = 8."], "8"),
        ("Sam has twelve cards and buys 4 packs of 5. How many?", ["12 + 4 × 5 = 32."], "32"),
        ("A wheel has radius 2 m. Its circumference?", ["2 × 3.14 × 2 = 12.56 m."], "12.56"),
        ("一打鸡蛋，吃掉 5 个，还剩几个？", ["一打是 12 个，12 − 5 = 7（个）。"], "7"),
        ("小明有 40 元，花了一半，还剩多少元？", ["40 × 0.5 = 20（元）。"], "20"),
        ("一根绳子长 18 米，打对折后长多少米？", ["18 ÷ 2 = 9（米）。"], "9"),
        (
            "一个三角形两个角是 50 度和 60 度，第三个角是多少度？",
            ["180 − 50 − 60 = 70（度）。"],
            "70",
        ),
    ],
)
def test_words_units_and_constants_source_operands(question, steps, answer):
    assert [f for f in find_flow_issues(question, steps, answer) if f.kind == "unsourced"] == []


def test_stated_domain_facts_are_sourced():
    q = "What is the mass of 2 moles of carbon dioxide?"
    steps = [
        "The molar mass of carbon is 12.01 g/mol and of oxygen 16.00 g/mol.",
        "CO2: 12.01 + 2 × 16.00 = 44.01 g/mol.",
        "2 × 44.01 = 88.02 g.",
    ]
    assert [f for f in find_flow_issues(q, steps, "88.02") if f.kind == "unsourced"] == []
    # a looked-up constant written with its unit where it is used is a fact too
    q2 = "A ball falls for 2 s. How fast is it then?"
    got = kinds(find_flow_issues(q2, ["v = 9.8 m/s² × 2 = 19.6 m/s."], "19.6"))
    assert not [k for k in got if k[0] == "unsourced"]
    # a bare number from nowhere still is not
    got = kinds(find_flow_issues(q2, ["It moves 2 × 7.3 = 14.6 m/s."], "14.6"))
    assert ("unsourced", "7.3") in got


def test_exact_fractions_roots_and_algebra_license_precision_and_sign():
    q = "Two dice are rolled. What is the chance that the sum of 2 dice is even?"
    got = kinds(find_flow_issues(q, ["18 / 36 = 0.5, and 13/18 after the rule."], "13/18"))
    assert not [k for k in got if k[0] == "implausible_answer"]
    q_root = "What is $\\sqrt{3}$ to 3 places?"
    got = kinds(find_flow_issues(q_root, ["3 ** 0.5 = 1.732"], "1.732"))
    assert not [k for k in got if k[0] == "implausible_answer"]
    q_alg = "Find the minimum of the function f(x) = x^2 + 2x."
    got = kinds(find_flow_issues(q_alg, ["f(-1) = 1 - 2 = -1"], "-1"))
    assert not [k for k in got if k[0] == "implausible_answer"]
    # a word problem keeps both checks
    q_word = "Tom has 5 apples and eats 2. How many are left?"
    assert ("implausible_answer", "-3") in kinds(find_flow_issues(q_word, ["2 - 5 = -3"], "-3"))
    assert sources.signed(q_alg) and not sources.signed("A 5-year-old has COVID-19.")


def test_sources_read_domain_words():
    assert {"0.8", "0.2", "8"} <= sources.licensed("商店打八折")
    assert {"0.75", "0.25"} <= sources.licensed("七五折")
    assert "0.85" in sources.licensed("8.5折")
    assert {"0.5", "2"} <= sources.licensed("打对折") and "0.5" in sources.licensed("一半")
    assert "12" in sources.licensed("a dozen eggs") and "12" in sources.licensed("一打")
    assert "2" in sources.licensed("a pair of shoes") and "2" in sources.licensed("翻倍")
    assert "2" in sources.licensed("一双鞋")
    assert {"60", "3600"} <= sources.licensed("for 2 hours")
    assert "0.25" in sources.licensed("a quarter of it")
    # words that only look like a discount or a half
    assert sources.licensed("三折叠伞") == set() and sources.licensed("一折") == set()
    assert sources.precision("打八折") == 1 and sources.precision("七五折") == 2
    assert sources.precision("3 元 5 角") == 2 and sources.precision("百分之二十，共 30 元") == 0
    assert sources.precision("How many apples?") == 0


def test_superseded_steps_are_neither_dead_ends_nor_unsourced():
    q = "A crate holds 23 rows of 18 bottles. How many bottles?"
    steps = ["23 × 18 = 424 bottles, using 7 extra.", "No: 23 × 18 = 414.", "So 414 bottles."]
    got = kinds(find_flow_issues(q, steps, "414"))
    assert ("dead_end", "424") in got
    assert kinds(find_flow_issues(q, steps, "414", exempt={0})) == []


# -- is_arithmetic: dataflow abstains on reasoning that does not compute ---------------


@pytest.mark.parametrize(
    ("question", "steps"),
    [
        (Q, ["3 * 4 = 12 apples.", "12 - 5 = 7."]),
        ("小明有3盒苹果，每盒4个，送出5个，还剩几个？", ["3×4=12个。", "12-5=7个。"]),
        ("((-1 + 2) * 3) =", ["(-1 + 2) = 1.", "(1 * 3) = 3.", "So the answer is 3."]),
        ("Tom has 5 apples and buys 3 more.", ["He has 5 and 3, so 8.", "Then 8 + 2 is 10."]),
    ],
)
def test_reasoning_that_computes_is_arithmetic(question, steps):
    assert is_arithmetic(question, steps)


@pytest.mark.parametrize(
    ("question", "steps"),
    [
        (  # BIG-Bench word sorting: letters numbered, nothing computed
            "Sort: norwegian coset tribal",
            [
                'The first letter: "norwegian": "n" (14). "coset": "c" (3). "tribal": "t" (20).',
                'We now have: (3) "coset" < (14) "norwegian" < (20) "tribal".',
            ],
        ),
        (  # bracket matching
            "Complete the sequence: [ { ( ) }",
            [
                "We should process each input one by one and keep track of the stack.",
                "Thought 1: [ ; stack: [",
                "Thought 2: { ; stack: [ {",
                "So the answer is ].",
            ],
        ),
        (  # a logic puzzle
            "Three books on a shelf: the red one is left of the blue one ...",
            [
                "The red book is left of the blue book.",
                "The green book is the rightmost.",
                "So the order is red, blue, green.",
            ],
        ),
        (  # a proof without numbers
            "Prove that the square root of two is irrational.",
            [
                "Suppose sqrt(2) = p/q in lowest terms.",
                "Then p^2 = 2q^2, so p is even.",
                "Write p = 2k; then q is even too, a contradiction.",
            ],
        ),
        (  # chemistry explained in words, with a few numbers
            "为什么钠和水反应会产生氢气？",
            [
                "钠是活泼金属，最外层有 1 个电子，容易失去电子。"
                "水分子中的氢元素被还原，生成氢气，同时生成氢氧化钠。"
                "反应放出大量的热，钠会熔成小球，在水面上游动，并发出嘶嘶的响声。"
                "这个反应说明钠的金属性很强，因此实验室里钠要保存在煤油中，避免与空气和水接触。"
                "反应的化学方程式是 2Na + 2H2O = 2NaOH + H2↑。"
            ],
        ),
    ],
)
def test_reasoning_that_does_not_compute_is_not(question, steps):
    assert not is_arithmetic(question, steps)


def test_arithmetic_decides_on_the_longcot_dev_sources():
    # Decided from the data: BIG-Bench-Mistake's word sorting, bracket, logic and
    # object-tracking tasks never compute; its arithmetic task always does.
    path = ROOT.parent / "shared/data/longcot/bbmistake.dev.jsonl"
    if not path.exists():
        pytest.skip("the longcot dev data is not here")
    seen: dict[str, list[bool]] = {}
    for line in path.open():
        r = json.loads(line)
        task = r["meta"]["task"]
        if len(seen.setdefault(task, [])) < 40 and r["steps"]:
            seen[task].append(is_arithmetic(r["question"], r["steps"]))
    assert all(seen.pop("multistep_arithmetic"))
    assert seen and not any(any(v) for v in seen.values())


_LONG = [
    "八" * 30000 + "折",
    "七五" * 15000 + "折",
    "8." * 15000 + "折",
    "9" * 30000 + "折",
    "打对" * 15000,
    "half dozen " * 3000,
    "hours" * 6000,
    "小时分钟" * 7500,
    "g/mo" * 7500,
    "12.01 g/" * 4000,
    "3 元 5 角 " * 3000,
    "保留两位" * 7500,
    "nearest " * 4000,
    "1 + 1 = 2, " * 3000,
]


@pytest.mark.parametrize("text", _LONG, ids=range(len(_LONG)))
def test_sourcing_and_abstaining_read_long_text_in_linear_time(text):
    # A hang guard: a quadratic scan of 30,000 characters takes tens of seconds here.
    import time

    start = time.perf_counter()
    sources.licensed(text), sources.precision(text), sources.fact_at(text, 0)
    is_arithmetic(text, [text, text[: len(text) // 2]])
    find_flow_issues(text[:2000], [text], None)
    assert time.perf_counter() - start < 10.0
