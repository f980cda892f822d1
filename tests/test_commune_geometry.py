"""Tests of cpts_diag.build.commune_geometry (adjacency links and shared borders of the build) on hand-made squares
in Lambert-93 (the embedded files it makes are tested against the raw polygons in tests/test_commune_geo.py)."""

import math

import geopandas as gpd
from shapely.geometry import box

from cpts_diag.build.commune_geometry import (
    ADJACENCY_TOLERANCE_M,
    BORDER_TOLERANCE_M,
    NEAR_MAX_M,
    _border_km,
    _linked_pairs,
)
from cpts_diag.commune_geo import CONTACT, NEAR

X, Y = 350_000, 6_790_000  # near Rennes (Ille-et-Vilaine: Lambert-93)


def _squares():
    """A and B share a 1 km side; C lies 200 m east of B (near, not in contact); D is 1 km away from all."""
    cells = {"35001": (0, 1000), "35002": (1000, 2000), "35003": (2200, 3200), "35004": (5200, 6200)}
    return gpd.GeoDataFrame(
        {"code_insee": list(cells)}, geometry=[box(X + a, Y, X + b, Y + 1000) for a, b in cells.values()], crs=2154
    )


def test_links_are_contact_within_100_m_and_near_within_300_m():
    assert ADJACENCY_TOLERANCE_M < 200 <= NEAR_MAX_M  # the case below tests the two thresholds
    pairs = _linked_pairs(_squares())
    links = {(a, b): lien for a, b, lien in pairs[["a", "b", "lien"]].itertuples(index=False)}
    assert links == {("35001", "35002"): CONTACT, ("35002", "35003"): NEAR}


def test_shared_border_is_the_common_side_within_its_tolerance():
    squares = _squares().to_crs(4326)
    pairs = _linked_pairs(_squares())
    border = _border_km(squares, pairs)
    by_pair = dict(zip(zip(pairs["a"], pairs["b"]), border))
    # the 1 km side, plus at most the two ends of the perpendicular sides inside the tolerance buffer
    assert 0.999 <= by_pair[("35001", "35002")] <= 1.0 + 2 * BORDER_TOLERANCE_M / 1000 + 0.001
    assert math.isnan(by_pair[("35002", "35003")])  # no border between near communes
