"""The spec's assertion helpers say how far a value missed in numbers a reader can tell apart."""

import re

import pytest

from spec_tests.assertions import assert_in_interval, assert_within


def message(check, *args) -> str:
    with pytest.raises(AssertionError) as failure:
        check(*args, "the quantity")
    return str(failure.value)


def test_a_near_miss_prints_enough_digits_to_tell_the_value_from_the_bounds():
    text = message(assert_in_interval, 2000000.000266, 2e6, 2e6)
    value, low, high = re.match(r"the quantity: (\S+) is outside \[(\S+), (\S+)\]", text).groups()
    assert value != low and low == high, text
    assert message(assert_in_interval, 5.0, 1.0, 2.0).startswith("the quantity: 5 is outside [1, 2] by 3, 6 × the interval's half-width")


def test_a_one_sided_bound_reports_the_miss_against_the_end_that_was_missed():
    text = message(assert_in_interval, 0.00976, 0.0690177, float("inf"))
    assert "by 0.0593, 0.86 × the size of that end" in text, text
    assert "× the interval's half-width" not in text, text


def test_a_nan_is_reported_as_nan():
    assert "nan is outside [0, 1] by nan" in message(assert_in_interval, float("nan"), 0.0, 1.0)


def test_an_elementwise_miss_leads_with_the_multiple_of_the_tolerance():
    text = message(assert_within, [1.0, 2.5], [1.0, 2.0], 1e-3)
    assert text.startswith("the quantity: off by 5e+02 × the allowed rounding (1 of 2 entries out of tolerance)"), text
