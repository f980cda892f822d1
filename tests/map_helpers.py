"""Hand-made layers and page helpers shared by the map tests (tests/test_maps_*.py)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from cpts_diag.outputs.maps.offline import _leaflet_assets

XSS = "<script>alert(1)</script>"
X0, Y0 = 900_000.0, 6_300_000.0  # Lambert-93, Provence
SIZE = 5_000.0


def squares(n_cols=3, n_rows=2, values=None, prefix="13", crs=2154):
    """Grid of 5 km squares (EPSG:2154) returned in EPSG:4326."""
    geoms, codes, names = [], [], []
    for r in range(n_rows):
        for c in range(n_cols):
            x, y = X0 + c * SIZE, Y0 + r * SIZE
            geoms.append(box(x, y, x + SIZE, y + SIZE))
            i = r * n_cols + c + 1
            codes.append(f"{prefix}{i:03d}")
            names.append(f"Commune {i}")
    gdf = gpd.GeoDataFrame({"code_insee": codes, "nom": names}, geometry=geoms, crs=crs)
    if values is not None:
        gdf["valeur"] = values
    return gdf.to_crs(4326)


def own_code(html):
    """The page without the inlined Leaflet library (whose source mentions leafletjs.com links)."""
    js, css = _leaflet_assets()
    assert js in html and css in html
    return html.replace(js, "").replace(css, "")


EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


def layers_of(m):
    return {c.role: c for c in m._children.values() if hasattr(c, "role")}


def demo_layers():
    """Six communes with values (two masked), two neighbours (one named with a script), one orphan."""
    communes = squares(3, 2, values=[1.2, 2.5, np.nan, 3.9, 4.4, None])
    neighbours = gpd.GeoDataFrame(
        {"cpts": [XSS, 'CPTS L\'Étang "Nord"']},
        geometry=[box(X0 - SIZE, Y0, X0, Y0 + 2 * SIZE), box(X0, Y0 + 2 * SIZE, X0 + 3 * SIZE, Y0 + 3 * SIZE)],
        crs=2154,
    ).to_crs(4326)
    orphans = gpd.GeoDataFrame(
        {"code_insee": ["13099"], "nom": ["Orpheline-sur-Mer"]},
        geometry=[box(X0 + 3 * SIZE, Y0, X0 + 4 * SIZE, Y0 + SIZE)],
        crs=2154,
    ).to_crs(4326)
    return communes, neighbours, orphans
