"""Tests of cpts_diag.outputs.maps.layout on hand-made squares (metres): the frame rule at its limits, insets,
labels. Real territories (Glénan, Yeu, Ponant, DROM) are in tests/test_maps_printed.py."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box

from cpts_diag.outputs.maps import layout as ml

KM = 1000.0
MAINLAND = box(0, 0, 20 * KM, 20 * KM)  # largest dimension 20 km: « near » means within 4 km


def _islet(x_km, y_km, side_km=1.0):
    return box(x_km * KM, y_km * KM, (x_km + side_km) * KM, (y_km + side_km) * KM)


def test_a_piece_within_a_fifth_of_the_main_part_belongs_to_it_step_by_step():
    # 3.9 km off the coast, then another 3.9 km further: both in the main part (chained)
    chain = shapely.union_all([MAINLAND, _islet(10, -4.9), _islet(10, -9.8)])
    frame = ml.territory_frame(chain)
    assert frame.layout == "single" and frame.others == ()
    # 4.1 km off (more than 20 % of 20 km): a distant part, and it would enlarge the frame by > 30 %
    far = shapely.union_all([MAINLAND, _islet(10, -12.1)])
    frame = ml.territory_frame(far)
    assert frame.layout == "insets" and len(frame.others) == 1
    assert frame.main.geometry.equals(MAINLAND)
    assert frame.others[0].gap_m == pytest.approx(11.1 * KM)  # from y = 0 down to y = -11.1 km
    assert frame.others[0].caption() == "Partie du territoire — à 11 km au sud"


def test_a_distant_part_inside_the_frame_or_enlarging_it_little_stays_in_place():
    # 6 km away but within the mainland's bounds (a bay): nothing to gain from an inset
    bay = shapely.union_all([box(0, 0, 20 * KM, 4 * KM), box(0, 16 * KM, 20 * KM, 20 * KM), box(0, 0, 4 * KM, 20 * KM)])
    inside = shapely.union_all([bay, _islet(12, 9)])
    assert ml.territory_frame(inside).layout == "single"
    # 4.5 km east of a 20 × 20 km mainland: the frame grows by (25.5 - 20) / 20 = 27.5 % < 30 %; 5.5 km: 32.5 %
    assert ml.territory_frame(shapely.union_all([MAINLAND, _islet(24.5, 10)])).layout == "single"
    assert ml.territory_frame(shapely.union_all([MAINLAND, _islet(25.5, 10)])).layout == "insets"


def test_no_inset_when_the_far_part_is_a_large_share_of_the_territory():
    # an island of 10 × 10 km 15 km away: the main part holds 80 % of the area -> inset
    island = box(5 * KM, -25 * KM, 15 * KM, -15 * KM)
    assert ml.territory_frame(shapely.union_all([MAINLAND, island])).layout == "insets"
    # 12 × 12 km: the main part holds 400 / 544 = 74 % < 75 %: both drawn in place
    big = box(4 * KM, -27 * KM, 16 * KM, -15 * KM)
    assert ml.territory_frame(shapely.union_all([MAINLAND, big])).layout == "single"


def test_scattered_islands_make_panels_north_to_south_and_an_island_alone_is_one_frame():
    islands = [_islet(50 * i, 100 - 30 * i, 2) for i in range(6)]
    frame = ml.territory_frame(shapely.union_all(islands), ([*islands], [f"Île {i}" for i in range(6)]))
    assert frame.layout == "panels"
    assert [p.names for p in frame.parts] == [(f"Île {i}",) for i in range(6)]
    assert [p.caption() for p in frame.parts] == [f"Île {i}" for i in range(6)]  # no direction in panels
    views = ml.panel_views(frame.parts)
    assert len({round(v[2] - v[0], 6) for v in views}) == 1  # one scale
    four = [_islet(50 * i, 0, 2) for i in range(4)]  # 4 groups only: one frame around them
    assert ml.territory_frame(shapely.union_all(four)).layout == "single"
    assert ml.territory_frame(_islet(0, 0, 8)).layout == "single"
    assert ml.territory_frame(shapely.Polygon()) is None


def test_parts_are_named_by_the_communes_they_hold():
    west, east = box(0, 0, 10 * KM, 20 * KM), box(10 * KM, 0, 20 * KM, 20 * KM)
    isle = _islet(22, -15)
    communes = [west, shapely.union_all([east, isle])]
    frame = ml.territory_frame(shapely.union_all(communes), (communes, ["Ouest", "Est-et-l'Île"]))
    assert frame.main.names == ("Ouest", "Est-et-l'Île")
    assert frame.others[0].names == ("Est-et-l'Île",)
    assert frame.others[0].caption("\n") == "Est-et-l'Île\nà 14 km au sud-est"  # hypot(2, 14) = 14.1 km
    many = ml.Part(isle, tuple("ABCDEF"))
    assert many.caption() == "A, B, C, D, …"


def test_insets_go_to_a_free_corner_near_their_part_or_into_a_margin():
    part = ml.Part(_islet(10, -12.1))
    frame = (-1 * KM, -1 * KM, 21 * KM, 21 * KM)
    # an L-shaped territory leaves the lower right corner free
    shape = shapely.union_all([box(0, 0, 6 * KM, 20 * KM), box(0, 14 * KM, 20 * KM, 20 * KM)])
    bounds, (inset,) = ml.place_insets(frame, [part], shape)
    assert bounds == frame
    assert not shapely.box(*inset).intersects(shape)
    assert inset[0] > 10 * KM and inset[1] < 5 * KM  # lower right, the corner nearest to the part (south)
    # a full square leaves no corner: the frame grows downwards, on the side of the part
    bounds, (inset,) = ml.place_insets(frame, [part], MAINLAND)
    assert bounds[1] < frame[1] and bounds[0] == frame[0] and bounds[2:] == frame[2:]
    assert not shapely.box(*inset).intersects(MAINLAND) and inset[1] == bounds[1]
    # the inset shows its part at the map's scale when that is between 22 % and 34 % of the frame
    x0, y0, x1, y1 = ml.view_of(part)
    assert (inset[2] - inset[0]) / (x1 - x0) == pytest.approx((inset[3] - inset[1]) / (y1 - y0))


def test_label_box_stays_inside_its_view_and_off_what_it_must_avoid():
    territory = box(0, 0, 10, 10)
    neighbour = box(10, 0, 30, 10)
    at = ml.label_position(neighbour, (6, 2), (-5, -5, 35, 15), territory.buffer(0.5))
    assert at is not None
    x, y = at
    label = box(x - 3, y - 1, x + 3, y + 1)
    assert neighbour.contains(label) and label.distance(territory) >= 0.5
    # a narrow neighbour: the label may overflow it (never onto the territory) by less than half its box
    x, y = ml.label_position(box(10, 0, 14, 10), (6, 2), (-5, -5, 35, 15), territory.buffer(0.5))
    assert box(x - 3, y - 1, x + 3, y + 1).distance(territory) >= 0.5
    assert ml.label_position(box(10, 0, 12.5, 10), (6, 2), (-5, -5, 35, 15), territory.buffer(0.5)) is None
    # cut by the view: the box stays inside it
    x, y = ml.label_position(neighbour, (6, 2), (-5, -5, 20, 15), territory.buffer(0.5))
    assert x + 3 <= 20
