"""What reads like a number but is none: digits inside names, list markers and ordinals,
the count of parties just named, place values, digit counts and number bases
(bondkd.quantities.numbers)."""

from bondkd import quantities as Q


def values(text: str) -> list[float]:
    return [q.value for q in Q.numbers(text)]


def test_digits_inside_names_are_not_numbers():
    assert values("R2D2 met H2O and x2 near n_1") == []
    assert values("It weighs 5kg") == [5]


def test_list_markers_and_ordinals_are_positions():
    assert values("1. First take the 2nd box.\n2. Then add 3 pens.\nStep 3: done") == [3]
    assert values("第一步，第3天买了 5 个") == [5]


def test_a_count_of_the_parties_just_named_is_no_quantity():
    assert [q.raw for q in Q.numbers("甲乙两人相距30千米，A、B两车同时出发")] == ["30"]
    assert [q.raw for q in Q.numbers("他买了两个苹果")] == ["两"]


def test_place_values_and_digit_counts_are_no_numbers():
    # the tens digit, the hundreds digit, a three-digit number; three teachers are three
    assert [q.value for q in Q.numbers("十位有 3 种，个位有 2 种")] == [3, 2]
    assert [q.value for q in Q.numbers("百位不能是 0，否则就不是三位数了。")] == [0]
    assert [q.value for q in Q.numbers("三位老师和十位同学")] == [3, 10]


def test_number_bases_are_no_numbers():
    # a way of writing numbers, not a quantity; a triangle's base of 10 is one
    text = "Convert 42 from base 10 to base-8: 52. In base 2, it is 101010. 十六进制的 10 是 16"
    assert [q.value for q in Q.numbers(text)] == [42, 52, 101010, 10, 16]
    assert [q.value for q in Q.numbers("a triangle with base 10 and height 6")] == [10, 6]
