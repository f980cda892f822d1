"""Tests of cpts_diag.masked: parsing masked counts, bounded sums and shares."""

import math

import numpy as np
import pandas as pd
import pytest

from cpts_diag.masked import (
    CountFormatError,
    MaskedTotal,
    masked_sum,
    masked_sum_by,
    parse_count,
    parse_count_column,
    share_bounds,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("12", 12.0),
        (7, 7.0),
        (3.5, 3.5),
        ("1 234,5", 1234.5),
        ("1\u00a0234", 1234.0),
        ("1\u202f234", 1234.0),
        ("123.4567", 123.4567),
        ("123,4567", 123.4567),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        (" 0 ", 0.0),
    ],
)
def test_parse_count_numbers(raw, expected):
    value, masked, upper = parse_count(raw)
    assert value == pytest.approx(expected)
    assert masked is False
    assert upper == pytest.approx(expected)


@pytest.mark.parametrize(
    "raw, upper",
    [
        ("<10", 10.0),
        ("< 5", 5.0),
        ("<5", 5.0),
        ("<11", 11.0),
        ("<=3", 3.0),
        ("NS", 10.0),
        ("ns", 10.0),
        ("s", 10.0),
        ("S", 10.0),
        ("secret", 10.0),
        ("Secret statistique", 10.0),
        ("N/A - secret statistique", 10.0),
        ("nd", 10.0),
        ("n.d.", 10.0),
        ("*", 10.0),
        ("", 10.0),
        ("   ", 10.0),
        (None, 10.0),
        (float("nan"), 10.0),
        (pd.NA, 10.0),
    ],
)
def test_parse_count_masked(raw, upper):
    value, masked, bound = parse_count(raw)
    assert math.isnan(value)
    assert masked is True
    assert bound == upper


def test_parse_count_default_threshold_only_for_tokens_without_threshold():
    assert parse_count("secret", default_threshold=5)[2] == 5.0
    assert parse_count("<11", default_threshold=5)[2] == 11.0


@pytest.mark.parametrize("raw", ["abc", "12 patients", "-3", "1,2,3", True])
def test_parse_count_rejects(raw):
    with pytest.raises(CountFormatError):
        parse_count(raw)


def test_parse_count_column_mixed_and_positions():
    series = pd.Series(["12", "<10", "30", "secret", "1 000"], index=[10, 11, 12, 13, 14])
    out = parse_count_column(series)
    assert list(out.index) == [10, 11, 12, 13, 14]
    assert out["masked"].tolist() == [False, True, False, True, False]
    assert out["value"].tolist()[0] == 12.0 and out["value"].tolist()[4] == 1000.0
    assert out["value"].isna().tolist() == [False, True, False, True, False]
    assert out["upper"].tolist() == [12.0, 10.0, 30.0, 10.0, 1000.0]


def test_parse_count_column_numeric_dtype_nan_is_masked():
    out = parse_count_column(pd.Series([1.0, np.nan, 4.0]), default_threshold=11)
    assert out["masked"].tolist() == [False, True, False]
    assert out["upper"].tolist() == [1.0, 11.0, 4.0]


def test_parse_count_column_excel_objects():
    out = parse_count_column(pd.Series([300, "<10", None, 2.5], dtype=object))
    assert out["masked"].tolist() == [False, True, True, False]
    assert out["upper"].tolist() == [300.0, 10.0, 10.0, 2.5]


def test_parse_count_column_error_carries_position():
    with pytest.raises(CountFormatError) as info:
        parse_count_column(pd.Series(["1", "2", "douze"], index=["a", "b", "c"]))
    assert info.value.position == "c"
    assert info.value.value == "douze"


def test_parse_count_column_thousand_rows():
    series = pd.Series([str(i) if i % 10 else "<5" for i in range(1000)])
    out = parse_count_column(series)
    assert out["masked"].sum() == 100
    # known cells: 1..999 except multiples of 10
    assert out["value"].sum() == sum(i for i in range(1000) if i % 10)


def test_masked_sum_two_of_five_masked():
    cells = parse_count_column(pd.Series(["12", "<10", "30", "secret", "1 000"]))
    total = masked_sum(cells["value"], cells["masked"], cells["upper"])
    # known: 12 + 30 + 1000 = 1042; masked: "<10" -> at most 10, "secret" -> at most 10
    assert total.low == 1042.0
    assert total.high == 1062.0
    assert total.n_masked == 2
    assert total.n_total == 5
    assert not total.exact
    assert total.value is None


def test_masked_sum_exact():
    total = masked_sum([1.0, 2.0, 3.5], [False, False, False], [1.0, 2.0, 3.5])
    assert total.exact and total.value == 6.5 and total.high == 6.5


def test_masked_sum_empty_is_exact_zero():
    total = masked_sum([], [], [])
    assert (total.low, total.high, total.n_total, total.exact) == (0.0, 0.0, 0, True)


def test_masked_sum_unknown_bound_is_infinite():
    total = masked_sum([1.0, np.nan], [False, True], [1.0, np.nan])
    assert total.low == 1.0 and math.isinf(total.high)


def test_masked_sum_by_groups():
    df = pd.DataFrame(
        {
            "cpts": ["A", "A", "A", "B", "B"],
            "n": [12.0, np.nan, 30.0, np.nan, 5.0],
            "n_masked": [False, True, False, True, False],
            "n_upper": [12.0, 10.0, 30.0, 5.0, 5.0],
        }
    )
    out = masked_sum_by(df, "cpts", "n")
    assert out.loc["A", "low"] == 42.0 and out.loc["A", "high"] == 52.0
    assert out.loc["B", "low"] == 5.0 and out.loc["B", "high"] == 10.0
    assert out.loc["A", "n_masked"] == 1 and out.loc["A", "n_cells"] == 3
    assert out.loc["B", "n_cells"] == 2
    assert not out.loc["A", "exact"]


def test_masked_sum_by_matches_masked_sum():
    cells = parse_count_column(pd.Series(["12", "<10", "30", "secret", "1 000"]))
    cells["g"] = "x"
    out = masked_sum_by(cells, "g")
    total = masked_sum(cells["value"], cells["masked"], cells["upper"])
    assert (out.loc["x", "low"], out.loc["x", "high"]) == (total.low, total.high)


def test_share_bounds_by_hand():
    num = MaskedTotal(low=10, high=20, n_masked=1, n_total=3)
    den = MaskedTotal(low=100, high=110, n_masked=1, n_total=3)
    low, high = share_bounds(num, den)
    assert low == pytest.approx(10 / 110)
    assert high == pytest.approx(20 / 100)


def test_share_bounds_exact():
    low, high = share_bounds(MaskedTotal(25, 25, 0, 2), MaskedTotal(200, 200, 0, 2))
    assert low == high == 0.125


def test_share_bounds_clipped_to_one():
    low, high = share_bounds(MaskedTotal(5, 15, 1, 2), MaskedTotal(8, 18, 1, 2))
    assert low == pytest.approx(5 / 18)
    assert high == 1.0  # 15 / 8 clipped


def test_share_bounds_zero_base():
    low, high = share_bounds(MaskedTotal(0, 10, 1, 1), MaskedTotal(0, 10, 1, 1))
    assert (low, high) == (0.0, 1.0)
    low, high = share_bounds(MaskedTotal(0, 0, 0, 1), MaskedTotal(0, 0, 0, 1))
    assert math.isnan(low) and math.isnan(high)
