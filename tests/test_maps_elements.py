"""Tests of cpts_diag.outputs.maps.elements: the compact features the browser decodes, tooltips, the layer script."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Polygon

from cpts_diag.outputs.maps.elements import FeatureLayer, column_texts, new_map, tooltips
from cpts_diag.outputs.maps.offline import map_html


def _decode(ring: list[int], k: float) -> list[tuple[float, float]]:
    """What static/map.js does with a ring: running sums of the deltas, divided by the scale, closed."""
    xy = np.cumsum(np.asarray(ring, dtype=float).reshape(-1, 2), axis=0) / k
    return [*map(tuple, xy), tuple(xy[0])]


def test_features_are_delta_encoded_rings_that_decode_to_the_rounded_polygon():
    outer = [(5.0, 43.0), (5.00123, 43.0), (5.00123, 43.00201), (5.0, 43.00201)]
    hole = [(5.0004, 43.0004), (5.0008, 43.0004), (5.0008, 43.0008)]
    gdf = gpd.GeoDataFrame(geometry=[Polygon(outer, [hole])], crs=4326)
    layer = FeatureLayer(gdf, [0], [("Commune A (01001)", [("APL", "2,5")])], [{}], "communes", "Communes")
    data = json.loads(layer.data)
    assert data["k"] == 10**5
    ((style, tip, polygons),) = data["f"]
    assert style == 0 and tip == ["Commune A (01001)", "2,5"] and json.loads(layer.labels) == ["APL"]
    ((exterior, interior),) = polygons
    # by hand: first point scaled (500000, 4300000), then the differences to the previous point, closing point dropped
    assert exterior == [500000, 4300000, 123, 0, 0, 201, -123, 0]
    assert _decode(exterior, 1e5) == [(x, y) for x, y in [*outer, outer[0]]]
    assert np.allclose(_decode(interior, 1e5), [*hole, hole[0]])


def test_page_defines_the_package_script_once_and_each_layer_calls_it_with_its_data():
    gdf = gpd.GeoDataFrame(geometry=[Polygon([(0, 0), (1, 0), (1, 1)])], crs=4326)
    m = new_map(False)
    layers = [
        FeatureLayer(gdf, None, [None], [{"color": c}], role, role, interactive=False)
        for c, role in (("#111111", "outline"), ("#222222", "outlines"))
    ]
    for layer in layers:
        layer.add_to(m)
    page = map_html(m)
    assert page.count("window.cptsDiag.featureLayer = function") == 1
    assert page.count("window.cptsDiag.featureLayer(") == 2
    for layer, color in zip(layers, ("#111111", "#222222")):
        call = (
            f"var {layer.get_name()} = window.cptsDiag.featureLayer({m.get_name()}, "
            f'"{layer.role}", {layer.data}, [[{{"color":"{color}"}}]], [], false, false);'
        )
        assert call in page


def test_tooltip_texts_say_masked_values_and_carry_the_unit_of_known_ones():
    texts = column_texts(pd.Series([2.456, None, 3.0]), 1, False, "c/an")
    assert texts == ["2,5 c/an", "donnée masquée ou indisponible", "3,0 c/an"]
    tips = tooltips(["A (01001)", "B (01002)"], [("APL", texts[:2]), ("EPCI", ["CC X", "CC Y"])])
    assert tips == [
        ("A (01001)", [("APL", "2,5 c/an"), ("EPCI", "CC X")]),
        ("B (01002)", [("APL", "donnée masquée ou indisponible"), ("EPCI", "CC Y")]),
    ]
