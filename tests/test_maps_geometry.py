"""Tests of cpts_diag.outputs.maps.geometry: coverage simplification for the web (hand-made polygons)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Polygon, box

from cpts_diag.outputs.maps.geometry import web_geometry
from map_helpers import SIZE, X0, Y0


def _zigzag_pair():
    """Two squares sharing a jagged border (amplitude 15 m every 100 m)."""
    xs = np.arange(0, SIZE + 1, 100.0)
    zig = [(X0 + SIZE + (15.0 if i % 2 else 0.0), Y0 + x) for i, x in enumerate(xs)]
    left = Polygon([(X0, Y0)] + zig + [(X0, Y0 + SIZE)])
    right = Polygon([(X0 + 2 * SIZE, Y0), (X0 + 2 * SIZE, Y0 + SIZE)] + zig[::-1])
    return gpd.GeoDataFrame({"code_insee": ["13001", "13002"]}, geometry=[left, right], crs=2154).to_crs(4326)


def test_web_geometry_keeps_shared_border():
    gdf = _zigzag_pair()
    out = web_geometry(gdf, tolerance_m=80, decimals=5)
    assert out.crs.to_epsg() == 4326
    assert list(out["code_insee"]) == ["13001", "13002"]
    before = shapely.get_num_coordinates(np.asarray(gdf.geometry.array)).sum()
    after = shapely.get_num_coordinates(np.asarray(out.geometry.array)).sum()
    assert after < before / 2  # the zigzag went away
    coords = shapely.get_coordinates(np.asarray(out.geometry.array))
    assert np.allclose(coords * 1e5, np.round(coords * 1e5), atol=1e-6)  # rounded to 5 decimals
    a, b = out.to_crs(2154).geometry
    assert a.intersection(b).length > 0.99 * SIZE  # still one shared border
    assert a.intersection(b).area < 1.0  # no overlap
    gap = a.union(b).area - (a.area + b.area)
    assert abs(gap) < 1.0  # no gap between them
    assert a.union(b).geom_type == "Polygon"  # no sliver hole either


def test_web_geometry_outside_metropole():
    # squares in La Réunion (UTM 40S): simplified in a local projection, not Lambert-93
    gdf = gpd.GeoDataFrame(
        {"code_insee": ["97411", "97415"]},
        geometry=[box(340_000, 7_660_000, 345_000, 7_665_000), box(345_000, 7_660_000, 350_000, 7_665_000)],
        crs=2975,
    ).to_crs(4326)
    out = web_geometry(gdf)
    assert out.geometry.is_valid.all()
    assert np.allclose(out.total_bounds, gdf.total_bounds, atol=1e-4)
    a, b = out.to_crs(2975).geometry
    assert a.intersection(b).length > 0.99 * 5_000
