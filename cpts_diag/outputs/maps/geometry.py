"""Map geometry: projection (Lambert-93 in metropolitan France, the local UTM zone elsewhere), light geometries
for the web (coverage simplification, rounding), dissolved outlines and the frame of a territory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_diag.outputs.maps import layout

_METRO_BOUNDS = (-5.5, 41.0, 10.0, 51.5)  # lon/lat box of metropolitan France (Corsica included)
_NAME_COLUMNS = ("cpts", "nom", "name", "territoire")


def auto_crs(*gdfs: gpd.GeoDataFrame) -> Any:
    """EPSG:2154 for metropolitan data, else the local UTM zone of the data (frames with a CRS)."""
    in_4326 = (g.geometry.to_crs(4326) for g in gdfs)
    bounds = data_bounds([g[~(g.isna() | g.is_empty)] for g in in_4326])
    if bounds is None:
        return 2154
    x0, y0, x1, y1 = bounds
    mx0, my0, mx1, my1 = _METRO_BOUNDS
    if x0 >= mx0 and y0 >= my0 and x1 <= mx1 and y1 <= my1:
        return 2154
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    info = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(x0, y0, x1, y1))
    return f"{info[0].auth_name}:{info[0].code}" if info else 3857


def data_bounds(gdfs: Sequence[gpd.GeoDataFrame | None]) -> tuple[float, float, float, float] | None:
    """``(x0, y0, x1, y1)`` around the frames of ``gdfs`` that have a non-empty geometry; None when none has."""
    bounds = [g.total_bounds for g in gdfs if g is not None and len(g) and not g.geometry.is_empty.all()]
    if not bounds:
        return None
    b = np.array(bounds)
    return b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()


def require_crs(gdf: gpd.GeoDataFrame, what: str) -> None:
    if gdf.crs is None:
        raise ValueError(f"{what}: GeoDataFrame has no CRS (expected EPSG:4326)")


def simplify_array(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Coverage simplification when the array is a valid coverage, else per geometry. Invalid polygons (e.g. an
    outline whose tiny hole collapsed in reprojection) are made valid first; an input GEOS still refuses to
    coverage-simplify is simplified geometry by geometry."""
    out = geoms.copy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if tolerance <= 0 or not ok.any():
        return out
    part = geoms[ok]  # a copy (boolean indexing)
    poly = np.isin(shapely.get_type_id(part), (3, 6))
    bad = poly & ~shapely.is_valid(part)  # e.g. a collapsed hole after reprojection: dropped
    if bad.any():
        part[bad] = shapely.make_valid(part[bad], method="structure", keep_collapsed=False)
    if poly.all():
        try:
            out[ok] = _coverage_simplify_most(part, tolerance)
            return out
        except shapely.errors.GEOSException:
            pass
    out[ok] = shapely.simplify(part, tolerance, preserve_topology=True)
    return out


def _coverage_simplify_most(part: np.ndarray, tolerance: float) -> np.ndarray:
    """Coverage simplification of the polygons that form a valid coverage, the others one by one.

    Polygons whose edges do not match their neighbours' (the arrondissements of Paris, Lyon, Marseille, simplified
    apart, and the communes around them) are simplified one by one; the rest keep sharing their borders, so that
    dissolving them leaves no sliver. Raises GEOSException when GEOS refuses the coverage.
    """
    if shapely.coverage_is_valid(part):
        return shapely.coverage_simplify(part, tolerance)
    bad = ~shapely.is_empty(shapely.coverage_invalid_edges(part))
    rest = part[~bad]
    if not len(rest) or not shapely.coverage_is_valid(rest):
        raise shapely.errors.GEOSException("not a coverage")
    out = part.copy()
    out[~bad] = shapely.coverage_simplify(rest, tolerance)
    out[bad] = shapely.simplify(part[bad], tolerance, preserve_topology=True)
    return out


def round_array(geoms: Any, decimals: int) -> Any:
    """Coordinates of a geometry or an array of geometries rounded to ``decimals``."""
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def web_layers(
    layers: Sequence[gpd.GeoDataFrame | None], tolerance_m: float, decimals: int, crs: Any
) -> list[gpd.GeoDataFrame | None]:
    """Simplify several layers together: copies in EPSG:4326 with rounded coordinates; shared borders, also between
    layers, stay identical when the union of the layers is a coverage (no overlap)."""
    present = [g for g in layers if g is not None and len(g)]
    if not present:
        return [None if g is None else g.to_crs(4326) if g.crs else g for g in layers]
    for g in present:
        require_crs(g, "web_geometry")
    if crs is None:
        crs = auto_crs(*present)
    projected = [None if g is None else g.to_crs(crs) for g in layers]
    arrays = [None if g is None else np.asarray(g.geometry.array, dtype=object) for g in projected]
    sizes = [0 if a is None else len(a) for a in arrays]
    flat = np.concatenate([a for a in arrays if a is not None])
    ok = ~(shapely.is_missing(flat) | shapely.is_empty(flat))
    joint = (
        tolerance_m > 0
        and ok.any()
        and np.isin(shapely.get_type_id(flat[ok]), (3, 6)).all()
        and shapely.coverage_is_valid(flat[ok])
    )
    parts: Sequence[np.ndarray | None]
    if joint:
        flat[ok] = shapely.coverage_simplify(flat[ok], tolerance_m)
        parts = np.split(flat, np.cumsum(sizes)[:-1])
    else:
        parts = [None if a is None else simplify_array(a, tolerance_m) for a in arrays]
    for i, (g, arr) in enumerate(zip(projected, parts)):
        if g is not None:
            geo = gpd.GeoSeries(arr, index=g.index, crs=crs).to_crs(4326)
            rounded = round_array(np.asarray(geo.array, dtype=object), decimals)
            projected[i] = g.set_geometry(gpd.GeoSeries(rounded, index=g.index, crs=4326), crs=4326)
    return projected


def web_geometry(
    gdf: gpd.GeoDataFrame, tolerance_m: float = 80, decimals: int = 5, crs: Any = None
) -> gpd.GeoDataFrame:
    """Light geometries for web maps (:func:`web_layers` of one layer): a copy in EPSG:4326.

    ``gdf`` holds polygons with a CRS (usually EPSG:4326); ``tolerance_m`` is the simplification tolerance
    in metres (0 disables it), ``decimals`` those of the output longitudes/latitudes (5 ≈ 1 m), ``crs`` the
    projected CRS of the simplification (default EPSG:2154 for metropolitan data, the local UTM zone
    elsewhere: DROM).
    """
    return web_layers([gdf], tolerance_m, decimals, crs)[0]


def dissolve_outline(gdf: gpd.GeoDataFrame) -> Any:
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        return None
    try:
        merged = shapely.coverage_union_all(geoms) if shapely.coverage_is_valid(geoms) else None
    except shapely.errors.GEOSException:  # pragma: no cover - defensive
        merged = None
    if merged is None or merged.is_empty or not merged.is_valid:
        merged = shapely.union_all(shapely.make_valid(geoms))
    return merged


def as_gdf(obj: Any) -> gpd.GeoDataFrame | None:
    """GeoDataFrame from a GeoDataFrame, GeoSeries or shapely geometry (EPSG:4326 assumed); None from None or False."""
    if obj is None or obj is False:
        return None
    if isinstance(obj, gpd.GeoDataFrame):
        return obj
    if isinstance(obj, gpd.GeoSeries):
        return gpd.GeoDataFrame(geometry=obj)
    if isinstance(obj, shapely.Geometry):
        return gpd.GeoDataFrame(geometry=[obj], crs=4326)
    raise TypeError(f"territory_outline: expected a GeoDataFrame, GeoSeries or shapely geometry, got {type(obj)!r}")


def name_column(gdf: gpd.GeoDataFrame, preferred: str | None = None) -> str | None:
    if preferred and preferred in gdf.columns:
        return preferred
    return next((c for c in _NAME_COLUMNS if c in gdf.columns), None)


def frame_of(
    com: gpd.GeoDataFrame, outl: gpd.GeoDataFrame | None, orph: gpd.GeoDataFrame | None, main_part: bool = True
) -> layout.Frame | None:
    """:func:`layout.territory_frame` of the communes, outline and orphans (one projected CRS), parts named by
    the communes' name column (else their code); one frame around everything when not ``main_part``; None when
    nothing is drawn."""
    shown = [g for g in (com, orph) if g is not None and len(g)]
    merged = dissolve_outline(pd.concat(shown)) if shown else None
    if outl is not None and len(outl):
        merged = shapely.union_all([g for g in (merged, *outl.geometry) if g is not None and not g.is_empty])
    if merged is None or merged.is_empty:
        return None
    if not main_part:
        return layout.Frame("single", layout.Part(merged))
    nc = name_column(com) or ("code_insee" if "code_insee" in com.columns else None)
    names = (np.asarray(com.geometry.array, dtype=object), com[nc].to_numpy()) if nc else None
    return layout.territory_frame(merged, names)
