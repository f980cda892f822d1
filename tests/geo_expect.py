"""Expectations computed by the tests from the embedded display polygons, independently of the package.

The display polygons (``data/communes_contours_cog2026.gpkg``) are a coverage simplification of the
source polygons the package measured its areas on: a territory's area agrees with theirs within
``AREA_TOLERANCE`` or ``AREA_TOLERANCE_KM2`` (measured over all communes of France: median ratio 1.000;
totals of a few communes stay within 3 %, a tiny territory such as Petite-Terre (10 km²) within 0.5 km²).
"""

import functools
from pathlib import Path

import geopandas as gpd
import pandas as pd

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
AREA_TOLERANCE = 0.04
AREA_TOLERANCE_KM2 = 1.0

# Projected CRS written out here on purpose (not imported from the package).
_CRS = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}


@functools.lru_cache(maxsize=1)
def display_polygons() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(DATA_DIR / "communes_contours_cog2026.gpkg", layer="communes")
    gdf["code_insee"] = gdf["code_insee"].astype(str)
    return gdf


def display_area_km2(codes) -> float:
    """Sum of the areas (km²) of the display polygons of ``codes``, each in its local projected CRS."""
    gdf = display_polygons()
    sub = gdf[gdf["code_insee"].isin(set(codes))]
    total = 0.0
    for epsg, part in sub.groupby(sub["code_insee"].map(lambda c: _CRS.get(c[:3], 2154))):
        total += part.to_crs(epsg).area.sum() / 1e6
    return total


def embedded_units() -> pd.DataFrame:
    """The embedded per-unit attributes (areas, land masses), read with pandas as plain text."""
    return pd.read_csv(DATA_DIR / "communes_geo_cog2026.csv", dtype=str, keep_default_na=False)
