"""Verifiers of claims a step makes (bondkd.quantities.verifiers): each claim form on a
right and a wrong example, English and Chinese, and every function on long adversarial
inputs (its regexes must stay linear)."""

from __future__ import annotations

import time

import pytest

from bondkd.quantities import verifiers as v

# -- brackets (Dyck) ----------------------------------------------------------------------

DYCK_OK = [
    "We should process each input one by one and keep track of the stack configuration.",
    "stack: empty",
    "( ; stack: (",
    "< ; stack: ( <",
    "[ ; stack: ( < [",
    "] ; stack: ( <",
    'Now, we have reached the end. The final stack is "( <".',
    'We will need to pop out "<", "(" one by one in that order.',
    'So, we need ">", ")". So the answer is > )',
]


def test_dyck_clean_trace_passes():
    assert v.dyck_checks(DYCK_OK) == []
    assert v.dyck_checks(DYCK_OK, "( < [ ]") == []


def test_dyck_wrong_push_is_found_at_its_step():
    bad = [*DYCK_OK]
    bad[4] = "[ ; stack: ( ["  # drops the '<'
    found = v.dyck_checks(bad)
    assert found[0][0] == 4 and "( < [" in found[0][1]


def test_dyck_closer_that_matches_nothing():
    bad = ["stack: empty", "( ; stack: (", "] ; stack: empty"]
    assert v.dyck_checks(bad)[0][0] == 2


def test_dyck_an_error_is_reported_once_not_at_every_later_step():
    bad = ["stack: empty", "( ; stack: ( (", "[ ; stack: ( ( [", "] ; stack: ( ("]
    assert [k for k, _ in v.dyck_checks(bad)] == [1]


def test_dyck_pops_needs_and_answer_follow_the_final_stack():
    wrong_pop = [*DYCK_OK]
    wrong_pop[7] = 'We will need to pop out "(", "<" one by one in that order.'
    assert v.dyck_checks(wrong_pop)[0][0] == 7
    wrong_answer = [*DYCK_OK]
    wrong_answer[8] = 'So, we need ">", ")". So the answer is > ) )'
    assert v.dyck_checks(wrong_answer)[0][0] == 8
    # "twice" is not a plain list of symbols: nothing is claimed that can be read exactly
    twice = [
        *DYCK_OK[:6],
        'The final stack is "( ( <".',
        'We will need to pop out "<", then "(" twice.',
    ]
    twice[5] = "( ; stack: ( ( <"
    assert all(k != 7 for k, _ in v.dyck_checks(twice))


def test_dyck_with_the_question_finds_a_misread_symbol():
    misread = ["stack: empty", "( ; stack: (", "< ; stack: ( <", "> ; stack: (", ") ; stack: empty"]
    assert v.dyck_checks(misread) == []  # consistent with itself
    found = v.dyck_checks(misread, "( < [ ] > )")
    assert found[0][0] == 3 and "'['" in found[0][1]


def test_dyck_with_the_question_finds_an_early_end():
    short = ["stack: empty", "( ; stack: (", "< ; stack: ( <", 'The final stack is "( <".']
    assert v.dyck_checks(short, "( < [ ]")[0][0] == 3


def test_dyck_chinese():
    ok = ["栈：空", "( ；栈：(", "[ ；栈：( [", "] ；栈：(", ") ；栈：空"]
    assert v.dyck_checks(ok) == []
    bad = [*ok]
    bad[3] = "] ；栈：( ["
    assert v.dyck_checks(bad)[0][0] == 3


def test_dyck_ignores_text_that_only_mentions_a_stack():
    assert v.dyck_checks(["The stack is tall.", "Pop the stack (carefully)."]) == []


# -- alphabetical order ---------------------------------------------------------------

SORT_OK = [
    "I should start by looking at the first letter of the words in the list. The first "
    'letter: "pear": "p" (16). "apple": "a" (1). "plum": "p" (16). "fig": "f" (6). '
    '"kiwi": "k" (11). "date": "d" (4).',
    'We now have: (1) "apple" < (4) "date" < (6) "fig" < (11) "kiwi" < (16) ["pear" ? "plum"].',
    'Now let\'s sort this subpart ["pear" ? "plum"] by looking at their second letters. '
    'The second letter: "pear": "e" (5). "plum": "l" (12).',
    'We now have: (5) "pear" < (12) "plum" for the subpart. Hence, we have "apple" < "date" '
    '< "fig" < "kiwi" < "pear" < "plum".',
    "I have now sorted all the words. The answer is apple date fig kiwi pear plum",
]
WORDS = "pear apple plum fig kiwi date"


def test_sorting_clean_trace_passes():
    assert v.sorting_checks(SORT_OK) == []
    assert v.sorting_checks(SORT_OK, WORDS) == []


@pytest.mark.parametrize(
    ("k", "text"),
    [
        (0, SORT_OK[0].replace('"fig": "f" (6)', '"fig": "f" (7)')),  # wrong alphabet index
        (2, SORT_OK[2].replace('"plum": "l" (12)', '"plum": "u" (21)')),  # wrong second letter
        (1, SORT_OK[1].replace('(1) "apple" < (4) "date"', '(4) "date" < (1) "apple"')),  # order
        (1, SORT_OK[1].replace('(6) "fig"', '(9) "fig"')),  # placed under the wrong letter
        (1, SORT_OK[1].replace('["pear" ? "plum"]', '["pear" ? "fig"]')),  # tie across letters
        (3, SORT_OK[3].replace('< "fig" ', "")),  # restated list drops a word
        (4, "I have now sorted all the words. The answer is apple date fig pear kiwi plum"),
        (4, "I have now sorted all the words. The answer is apple date fig kiwi plum"),  # drop
    ],
)
def test_sorting_wrong_claims_are_found(k, text):
    bad = [*SORT_OK]
    bad[k] = text
    found = v.sorting_checks(bad)
    assert found and found[0][0] == k, found


def test_sorting_a_typo_in_a_copied_word_is_not_a_lost_word():
    typo = [*SORT_OK]
    typo[4] = "I have now sorted all the words. The answer is apple date fig kiwi pear plumm"
    assert v.sorting_checks(typo) == []


def test_sorting_a_subpart_is_not_a_restated_list():
    sub = ['Sort: "bat" < "bee" < "bin" < "bog" < "bus" < "cat".',
           'Now the subpart sorted: "bat" < "bee" < "bin" < "bog" < "bus".']  # fmt: skip
    assert v.sorting_checks(sub) == []


def test_sorting_chinese():
    ok = ['按字母顺序排序。看第一个字母："banana": "b" (2)。"apple": "a" (1)。"cherry": "c" (3)。',
          '得到 "apple" < "banana" < "cherry"。']  # fmt: skip
    assert v.sorting_checks(ok) == []
    bad = [ok[0], '得到 "banana" < "apple" < "cherry"。']
    assert v.sorting_checks(bad)[0][0] == 1


def test_sorting_needs_a_sorting_trace():
    # '<' between quoted strings in a trace that sorts nothing is not an order claim
    assert v.sorting_checks(['Compare "zebra" < "apple" as Python strings: False.']) == []


# -- swaps ----------------------------------------------------------------------------

SWAP_OK = [
    "At the start: Alice: Gatsby, Bob: Ulysses, Claire: Moby Dick.",
    "Alice and Claire swap: Alice: Moby Dick, Bob: Ulysses, Claire: Gatsby.",
    "Bob and Claire swap: Alice: Moby Dick, Bob: Gatsby, Claire: Ulysses.",
    "At the end of the semester, Alice has Moby Dick. So the answer is (C)",
]
SWAP_Q = (
    "At the start of the semester, they each buy one new book: Alice gets The Great Gatsby, "
    "Bob gets Ulysses, and Claire gets Moby Dick. First, Alice and Claire swap books. Then, "
    "Bob and Claire swap books. At the end of the semester, Alice has"
)


def test_swaps_clean_trace_passes():
    assert v.swap_checks(SWAP_OK) == []
    assert v.swap_checks(SWAP_OK, SWAP_Q) == []


def test_swap_with_a_wrong_state_is_found():
    bad = [*SWAP_OK]
    bad[2] = "Bob and Claire swap: Alice: Gatsby, Bob: Ulysses, Claire: Moby Dick."
    assert v.swap_checks(bad)[0][0] == 2


def test_an_item_held_twice_is_found():
    bad = [*SWAP_OK]
    bad[2] = "Bob and Claire swap: Alice: Moby Dick, Bob: Gatsby, Claire: Gatsby."
    assert any("two people" in d for k, d in v.swap_checks(bad) if k == 2)


def test_final_claim_must_match_the_last_state():
    bad = [*SWAP_OK]
    bad[3] = "At the end of the semester, Alice has Ulysses. So the answer is (B)"
    assert v.swap_checks(bad) == [(3, v.swap_checks(bad)[0][1])]


def test_abbreviated_states_are_checked_against_the_question_swaps():
    states = ["A: Gatsby, B: Ulysses, C: Moby Dick", "A: Moby Dick, B: Ulysses, C: Gatsby",
              "A: Moby Dick, B: Gatsby, C: Ulysses"]  # fmt: skip
    assert v.swap_checks(states, SWAP_Q) == []
    wrong = [*states]
    wrong[2] = "A: Ulysses, B: Gatsby, C: Moby Dick"  # Alice and Bob swapped instead
    assert v.swap_checks(wrong, SWAP_Q)[0][0] == 2


def test_swaps_chinese():
    ok = ["开始时：爱丽丝：黑球，鲍勃：白球，克莱尔：红球。",
          "然后爱丽丝和鲍勃交换：爱丽丝：白球，鲍勃：黑球，克莱尔：红球。"]  # fmt: skip
    assert v.swap_checks(ok) == []
    bad = [ok[0], "然后爱丽丝和鲍勃交换：爱丽丝：红球，鲍勃：黑球，克莱尔：白球。"]
    assert v.swap_checks(bad)[0][0] == 1


def test_key_value_prose_is_not_a_swap_state():
    prose = ["Note: the ball is red, Answer: 5.", "Then: Bob: 3 apples, Alice: 4 apples."]
    assert v.swap_checks(prose) == []
    amounts = ["Alice and Bob swap seats.", "Cost: 10, Price: 12.", "Cost: 12, Price: 12."]
    assert v.swap_checks(amounts) == []  # amounts are not items that change hands


# -- substitution, orders, identities -------------------------------------------------


def test_substitution_of_named_values():
    ok = ["Let's calculate A = (2 + 3) = 5.", "Let's calculate B = (4 - 6) = -2.",
          "Then, the final equation is A - B = 5 - (-2) = 7."]  # fmt: skip
    assert v.substitution_checks(ok) == []
    bad = [*ok]
    bad[2] = "Then, the final equation is A - B = 5 - 2 = 3."
    assert v.substitution_checks(bad)[0][0] == 2


def test_substitution_needs_every_name_known():
    assert v.substitution_checks(["A = 5.", "So A + Q = 5 + 1 = 6."]) == []


ORDER_OK = [
    "To answer the question, I need to identify the positions of all five books.",
    "The red book is the second from the left. So from left to right: first can be any "
    "book, then second is the red book, then third, fourth and fifth can be any book.",
    "The blue book is to the right of the red book. So from left to right: first can be any "
    "book, then second is the red book, then third is the blue book, then fourth and fifth "
    "can be any book.",
]


def test_orders_clean_trace_passes():
    assert v.order_checks(ORDER_OK) == []


@pytest.mark.parametrize(
    "text",
    [
        # the listing contradicts the absolute fact the step restates
        "The green book is the rightmost. So from left to right: first can be any book, then "
        "second is the red book, then third is the blue book, then fourth is the green book.",
        # ... or the relation it restates
        "The green book is to the left of the red book. So from left to right: first can be "
        "any book, then second is the red book, then third is the green book.",
        # a position past the count, an object placed twice
        "So from left to right: first is the red book, then sixth is the green book.",
        "So from left to right: first is the red book, then second is the red book.",
    ],
)
def test_order_contradictions_are_found(text):
    assert v.order_checks([*ORDER_OK, text])[0][0] == 3


def test_order_ignores_placeholders_and_alternatives():
    vague = "So from left to right: first is an unknown book, then second or third is the blue "
    vague += "book, then fourth is an unknown book."
    assert v.order_checks([*ORDER_OK, vague]) == []


def test_identity_chains():
    assert v.identity_checks([r"\[ (x+1)(x^2+1) = x^3 + x^2 + x + 1 \]"]) == []  # two sides
    assert v.identity_checks([r"\( (x+1)^2 = x^2 + 2x + 1 = x^2 + 2x + 1 \)"]) == []
    bad = v.identity_checks([r"\[ (x+1)(x^2+1) = (x^2+1)^2 - x^2 + 1 = x^4 + 2 \]"])
    assert bad and bad[0][0] == 0
    # 当 x<1 时 (Chinese text around a formula)
    assert v.identity_checks(["当 $x<1$ 时，$f = -(x-1)+3x = 2x+1 = 1+2x$。"]) == []
    assert v.identity_checks(["当 $x<1$ 时，$f = -(x-1)+3x = 2x-1 = 2x-1$。"])[0][0] == 0


def test_identity_leaves_equations_and_the_imaginary_unit_alone():
    assert v.identity_checks([r"\(x^2 = x = 1\)"]) == []  # solved, not rewritten
    assert v.identity_checks([r"\((1+i)^2 = 1 + 2i + i^2 = 2i\)"]) == []


def test_identity_leaves_constrained_variables_alone():
    # x^2 = x - 1 holds for the roots of the equation: the rewrite uses it
    steps = [r"Solve \(x^2 - x + 1 = 0\).", r"\(x^3 = x(x^2) = x(x - 1) = x^2 - x\)"]
    assert v.identity_checks(steps) == []


# -- all together -----------------------------------------------------------------------


def test_failed_checks_in_step_order_and_clean_elsewhere():
    bad = [*DYCK_OK]
    bad[4] = "[ ; stack: ( ["
    found = v.failed_checks(bad)
    assert found == sorted(found, key=lambda c: c[0]) and found[0][0] == 4
    plain = ["Janet has 3 apples.", "She buys 2 more, so 3 + 2 = 5.", "The answer is 5."]
    assert v.failed_checks(plain) == []
    assert v.failed_checks([]) == []


ADVERSARIAL = [
    '"a" < ', '"a" ? ', '["a" ? ', "( ; stack: ", "stack: ( ", "] ; stack: ", "Alice: x, ",
    "A: x, ", "Alice and Bob swap: ", "Alice has ", "first is the ", "from left to right: ",
    "second is the a, then ", "\\(", "\\[", "$", "$$", "x = ", "A - B = ", "(x+1) = ",
    '"w": "a" (1). ', "pop out \"(\", ", "we need \")\", ", "The answer is a ", "栈：( ",
    "爱丽丝：黑球，", "和鲍勃交换", "=", "(", "\\", '"', "?", "<",
]  # fmt: skip


@pytest.mark.parametrize("unit", ADVERSARIAL)
def test_every_verifier_is_linear_on_long_runs(unit):
    """20,000 characters of one repeated unit, as one step and as many short ones, with
    a sorting cue so every verifier reads them; a linear pass takes milliseconds."""
    n = 20_000 // len(unit) + 1
    text = "sort alphabetically " + unit * n + "\x00"
    for texts in ([text], [unit] * min(n, 2_000)):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            v.failed_checks(texts, text)
            best = min(best, time.perf_counter() - t0)
            if best < 0.5:
                break
        assert best < 0.5, f"{unit!r}: {best:.2f} s"
