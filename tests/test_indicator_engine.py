"""Tests of cpts_diag.indicator_engine's vectorised arithmetic, on values worked out by hand (the whole pass is
tested against the raw files in tests/test_indicators*.py)."""

import numpy as np

from cpts_diag.indicator_engine import _masked_ratio_bounds, bincount


def test_bincount_sums_weights_per_index_within_the_size():
    # index 5 lies beyond the 4 groups asked for: it is not summed into any of them
    assert bincount(np.array([0, 2, 2, 5]), [1.0, 2.0, 3.0, 4.0], 4).tolist() == [1.0, 0.0, 5.0, 0.0]


def test_masked_ratio_bounds_by_hand():
    # columns: exact 25 / 100; 10 known + at most 10 masked over 100 known + at most 10 masked;
    # an empty base; a base entirely masked (unbounded)
    nl, nb = np.array([25.0, 10.0, 0.0, 5.0]), np.array([0.0, 10.0, 0.0, 0.0])
    dl, db = np.array([100.0, 100.0, 0.0, 0.0]), np.array([0.0, 10.0, 0.0, np.inf])
    value, low, high = _masked_ratio_bounds(nl, nb, dl, db, 100)
    assert value[0] == low[0] == high[0] == 25.0
    assert np.isnan(value[1]) and low[1] == 100 * 10 / 110 and high[1] == 100 * 20 / 100
    assert np.isnan([value[2], low[2], high[2]]).all()  # no base: unknown, never 0
    assert np.isnan(value[3]) and (low[3], high[3]) == (0.0, 100.0)  # anything from 0 to 100 %
