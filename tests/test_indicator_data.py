"""Tests of cpts_diag.indicator_data: the registry of sources and the embedded indicator tables."""

from cpts_diag.indicator_data import load_indicator_data


def test_loading_is_cached():
    assert load_indicator_data() is load_indicator_data()
