"""Expectations computed by the tests from the embedded display polygons, independently of the package.

The display polygons (``data/communes_contours_cog2026.gpkg``) are a coverage simplification of the
source polygons the package measured its areas on (on the ellipsoid): a territory's area agrees with the
geodesic area of the display polygons within ``AREA_TOLERANCE`` or ``AREA_TOLERANCE_KM2`` (measured over
all communes of France: median ratio 1.000; totals of a few communes stay within 3 %, a tiny territory such
as Petite-Terre (10 km²) within 0.5 km²); a large département within 0.1 % (Corse-du-Sud 0.05 %).
"""

import functools
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import Geod

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
AREA_TOLERANCE = 0.04
AREA_TOLERANCE_KM2 = 1.0

# The WGS84 ellipsoid, written out here on purpose (not taken from the package).
_GEOD = Geod(a=6378137.0, f=1 / 298.257223563)


@functools.lru_cache(maxsize=1)
def display_polygons() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(DATA_DIR / "communes_contours_cog2026.gpkg", layer="communes")
    gdf["code_insee"] = gdf["code_insee"].astype(str)
    return gdf


def display_area_km2(codes) -> float:
    """Sum of the geodesic areas (km², on the WGS84 ellipsoid) of the display polygons of ``codes``."""
    gdf = display_polygons()
    sub = gdf[gdf["code_insee"].isin(set(codes))]
    return sum(abs(_GEOD.geometry_area_perimeter(g)[0]) for g in sub.geometry) / 1e6


def embedded_units() -> pd.DataFrame:
    """The embedded per-unit attributes (areas, land masses), read with pandas as plain text."""
    return pd.read_csv(DATA_DIR / "communes_geo_cog2026.csv", dtype=str, keep_default_na=False)
