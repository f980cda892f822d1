"""Commune polygons: loading, alignment to the current COG, adjacency, components, areas.

Commune polygons are published in WGS84 (EPSG:4326) and simplified upstream, so neighbouring communes may be
separated by small gaps or overlap slightly: adjacency is defined with a distance tolerance rather than by exact
touching. Areas are measured on the ellipsoid (geodesic, no projection); distances in a projected CRS chosen per
département: Lambert-93 for metropolitan France, the official UTM CRS of each DROM.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from cpts_diag.codes import CodeFormatError, normalize_code
from cpts_diag.errors import InputError
from cpts_diag.io.tables import HEADER_ALIASES, find_column

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"

# DROM -> official projected CRS (names checked with pyproj).
_DROM_CRS = {
    "971": "EPSG:5490",  # RGAF09 / UTM zone 20N (Guadeloupe)
    "972": "EPSG:5490",  # RGAF09 / UTM zone 20N (Martinique)
    "973": "EPSG:2972",  # RGFG95 / UTM zone 22N (Guyane)
    "974": "EPSG:2975",  # RGR92 / UTM zone 40S (La Réunion)
    "976": "EPSG:4471",  # RGM04 / UTM zone 38S (Mayotte)
}
_METRO = {f"{i:02d}" for i in range(1, 96) if i != 20} | {"2A", "2B"}

# Share of a group's outer boundary allowed to lie away from its territory.
_ENCLAVE_UNCOVERED_MAX = 0.01


def projected_crs(departement: str) -> str:
    """Return the projected CRS used for metric computations in a département.

    "EPSG:2154" (Lambert-93) for metropolitan France including Corsica ("01" ... "95", "2A", "2B"), the
    official UTM CRS of the DROM ("971" ... "976") otherwise; InputError for an unknown département.

    Examples
    --------
    >>> projected_crs("2A"), projected_crs("974")
    ('EPSG:2154', 'EPSG:2975')
    """
    dep = str(departement).strip().upper().zfill(2)  # "4" -> "04" (padding makes no other code valid)
    crs = LAMBERT93 if dep in _METRO else _DROM_CRS.get(dep)
    if crs is None:
        raise InputError("département inconnu, pas de projection disponible", value=departement)
    return crs


def _crs_of_codes(codes: Iterable[str]) -> pd.Series:
    """Projected CRS of each commune code, indexed like ``codes``: the DROM's own (from the first three
    characters of the code), Lambert-93 for metropolitan and unknown codes."""
    series = codes if isinstance(codes, pd.Series) else pd.Series(list(codes), dtype=object)
    return series.astype(str).str[:3].map(_DROM_CRS).fillna(LAMBERT93)


def _with_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``gdf`` with EPSG:4326 assumed when it has no CRS."""
    return gdf.set_crs(WGS84) if gdf.crs is None else gdf


def area_km2(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Area of each row in km², measured on the ellipsoid (geodesic area, ``pyproj.Geod`` of WGS84).

    ``gdf`` may be in any CRS (EPSG:4326 assumed when none is set); no projection distorts the areas (Lambert-93
    adds about 0.4 % in Corsica). Returns float areas named ``area_km2`` with the index of ``gdf`` (NaN without
    geometry).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> cell = gpd.GeoDataFrame(geometry=[box(2, 46, 3, 47)], crs="EPSG:4326")  # geodesic edges, 46-47° N
    >>> round(float(area_km2(cell).iloc[0]), 1)
    8532.8
    """
    geod = pyproj.CRS(WGS84).get_geod()
    assert geod is not None  # WGS84 has its ellipsoid
    geoms = _with_crs(gdf).geometry.to_crs(WGS84)
    values = [np.nan if g is None or g.is_empty else abs(geod.geometry_area_perimeter(g)[0]) / 1e6 for g in geoms]
    return pd.Series(values, index=gdf.index, dtype=float, name="area_km2")


def _first_ten(codes: list[str]) -> str:
    """The first ten codes, comma-separated, with " ..." when there are more."""
    return ", ".join(codes[:10]) + (" ..." if len(codes) > 10 else "")


def _normalize_codes(values: pd.Series, path: Path, notes: list[str]) -> pd.Series:
    """Codes normalised by :func:`cpts_diag.codes.normalize_code`; InputError naming the entity."""
    codes, repaired = [], []
    for i, raw in enumerate(values.tolist(), start=1):
        try:
            code, note = normalize_code(raw)
        except CodeFormatError as exc:
            if exc.reason == "valeur vide":
                raise InputError("code commune manquant", path=path, line=i, line_label="entité") from None
            raise InputError(
                f"code commune invalide : {exc.reason}", path=path, line=i, value=raw, line_label="entité"
            ) from None
        if note:
            repaired.append(f"{raw} → {code}")
        codes.append(code)
    if repaired:
        notes.append(
            f"{len(repaired)} code(s) commune corrigé(s) (zéro initial restauré ou ancien code "
            f"de la Corse) : {_first_ten(repaired)}"
        )
    return pd.Series(codes, index=values.index, dtype=str)


def _polygonal(geom):
    """Polygonal part of a geometry (None if it has none)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def read_commune_polygons(path, code_field: str | None = None) -> gpd.GeoDataFrame:
    """Read commune polygons from a GeoJSON, GeoPackage or any vector file readable by pyogrio (first layer).

    ``code_field``, the attribute holding the commune code, is detected when omitted among the aliases of
    :data:`cpts_diag.io.tables.HEADER_ALIASES` (``code_insee``, ``insee_com``, ``codgeo``...).

    Returns columns ``code_insee`` (str), ``nom`` (when a name field exists) and ``geometry``, in EPSG:4326
    (reprojected if needed, assumed when the file declares no CRS). Invalid geometries are repaired with
    ``shapely.make_valid``; features sharing a code are merged. What was done is listed in French in
    ``result.attrs["notes"]``. Raises InputError for a missing file, an unreadable or non-vector file, no code
    field, a missing or malformed code, no polygon, coordinates not in degrees without a CRS.
    """
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise InputError("fichier de contours introuvable", path=path)
    if path.is_dir() and path.suffix.lower() != ".gdb":
        raise InputError("un fichier de contours est attendu, pas un dossier", path=path)
    try:
        raw = gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError("fichier illisible comme fichier géographique (GeoJSON, GeoPackage...)", path=path) from exc
    except Exception as exc:  # pyogrio raises various errors on corrupt files
        raise InputError(f"lecture impossible du fichier géographique ({type(exc).__name__})", path=path) from exc
    if not isinstance(raw, gpd.GeoDataFrame) or raw.geometry.name not in raw.columns:
        raise InputError("le fichier ne contient pas de géométries", path=path)

    fields = [c for c in raw.columns if c != raw.geometry.name]
    names = [str(c) for c in fields]
    available = f"champs disponibles : {', '.join(names) or 'aucun'}"
    if code_field is not None:
        i = next((i for i, c in enumerate(names) if c.lower() == code_field.lower()), None)
        if i is None:
            raise InputError(f"champ « {code_field} » absent ; {available}", path=path)
    else:
        i = find_column(names, "code_commune")
        if i is None:
            raise InputError(
                f"aucun champ de code commune trouvé (attendu : {', '.join(HEADER_ALIASES['code_commune'])}) "
                f"; {available}",
                path=path,
            )
    name_i = find_column(names, "nom_commune", exclude={i})

    if len(raw) == 0:
        raise InputError("le fichier ne contient aucune entité", path=path)
    notes: list[str] = []
    codes = _normalize_codes(raw[fields[i]], path, notes)
    out = gpd.GeoDataFrame({"code_insee": codes.to_numpy()}, geometry=raw.geometry.to_numpy(), crs=raw.crs)
    if name_i is not None:
        nom = raw[fields[name_i]].astype(object)
        out.insert(1, "nom", nom.map(str).where(nom.notna(), None).to_numpy())

    # CRS: assume WGS84 when absent, refuse projected coordinates without a CRS.
    if out.crs is None:
        minx, miny, maxx, maxy = out.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise InputError(
                "coordonnées hors des bornes en degrés et aucune projection déclarée dans le fichier", path=path
            )
        out = out.set_crs(WGS84)
        notes.append("aucune projection déclarée : WGS84 (EPSG:4326) supposé")
    elif not out.crs.equals(WGS84):
        notes.append(f"reprojeté de {out.crs.to_string()} en WGS84 (EPSG:4326)")
        out = out.to_crs(WGS84)
    # Projected coordinates in a GeoJSON declared (or defaulted) as WGS84.
    minx, miny, maxx, maxy = out.total_bounds
    if not np.isnan(minx) and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(
            "coordonnées incompatibles avec la projection déclarée (valeurs hors des bornes en degrés)", path=path
        )

    # Geometry repair and polygon-only filter.
    geoms = out.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        notes.append(f"{int(invalid.sum())} géométrie(s) invalide(s) réparée(s)")
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    empty = np.array([g is None for g in geoms])
    if empty.all():
        raise InputError("le fichier ne contient aucun polygone", path=path)
    if empty.any():
        dropped = sorted(set(out.loc[empty, "code_insee"]))
        notes.append(f"{len(dropped)} commune(s) sans polygone ignorée(s) : {_first_ten(dropped)}")
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs)).loc[~empty]

    # Several features for one code (multi-part commune split in features): merge.
    dup = out["code_insee"].duplicated(keep=False)
    if dup.any():
        merged = sorted(set(out.loc[dup, "code_insee"]))
        out = out.dissolve(by="code_insee", as_index=False, sort=False)
        notes.append(f"{len(merged)} code(s) présent(s) sur plusieurs entités, polygones réunis : {_first_ten(merged)}")
    out = out[[c for c in ("code_insee", "nom", "geometry") if c in out.columns]].reset_index(drop=True)
    out.attrs["notes"] = notes
    return out


def _resolve(code: str, code_map: Mapping[str, str]) -> str:
    """Follow ``code_map`` until a code that is not remapped (cycle-safe)."""
    seen = {code}
    while code in code_map and code_map[code] != code:
        code = code_map[code]
        if code in seen:
            break
        seen.add(code)
    return code


def align_to_cog(gdf: gpd.GeoDataFrame, code_map: Mapping[str, str]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Align commune polygons of an older COG to current codes.

    ``code_map`` maps a former code to the current one (merged or renumbered communes); chains (A -> B -> C) are
    followed and codes absent from the map are kept. Returns the polygons with one row per current code (polygons
    sharing a current code are unioned; other columns are taken from the row already bearing the current code when
    there is one), and French notes describing each change (« 05120 fusionnée dans 05001 : polygones réunis »).
    """
    old = gdf["code_insee"].astype(str)
    new = old.map(lambda c: _resolve(c, code_map))
    changed = old != new
    if not changed.any():
        return gdf.reset_index(drop=True).copy(), []

    work = gdf.assign(code_insee=new.to_numpy(), _keeps_code=(~changed).to_numpy(), _order=np.arange(len(gdf)))
    counts = new.value_counts()
    notes = [
        f"{o} fusionnée dans {n} : polygones réunis" if counts[n] > 1 else f"{o} devenue {n} (changement de code)"
        for o, n in sorted(zip(old[changed], new[changed]))
    ]

    # Row already bearing the current code first, so its attributes are kept.
    work = work.sort_values(["_keeps_code", "_order"], ascending=[False, True])
    multi = work["code_insee"].map(counts) > 1
    if multi.any():
        dissolved = work.loc[multi].dissolve(by="code_insee", as_index=False, sort=False, aggfunc="first")
        work = pd.concat([work.loc[~multi], dissolved[work.columns]], ignore_index=True)
    work = work.sort_values("_order").drop(columns=["_keeps_code", "_order"])
    return gpd.GeoDataFrame(work, geometry=gdf.geometry.name, crs=gdf.crs).reset_index(drop=True), notes


def adjacency_pairs(gdf: gpd.GeoDataFrame, tolerance_m: float = 100.0, with_distance: bool = False) -> pd.DataFrame:
    """Pairs of communes whose polygons are within ``tolerance_m`` metres.

    The tolerance absorbs the gaps left by upstream simplification. Each commune is projected in the CRS of its
    département (communes of different CRS groups — metropolitan France and each DROM — cannot be neighbours).
    EPSG:4326 is assumed when ``gdf`` has no CRS. Returns columns ``a`` and ``b`` (str codes, ``a < b``), one row
    per pair, sorted, and with ``with_distance`` the column ``distance_m`` (distance between the polygons, metres).
    """
    gdf = _with_crs(gdf)
    codes = gdf["code_insee"].astype(str).to_numpy(dtype=object)
    crs_of = _crs_of_codes(codes).to_numpy(dtype=object)
    frames = []
    for target in pd.unique(crs_of):
        idx = np.flatnonzero(crs_of == target)
        geoms = gdf.geometry.iloc[idx].to_crs(target).to_numpy()
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="dwithin", distance=float(tolerance_m))
        keep = left < right
        a, b = codes[idx[left[keep]]], codes[idx[right[keep]]]
        frame = pd.DataFrame({"a": np.where(a < b, a, b), "b": np.where(a < b, b, a)}, dtype=object)
        if with_distance:
            frame["distance_m"] = shapely.distance(geoms[left[keep]], geoms[right[keep]])
        frames.append(frame)
    columns = ["a", "b"] + (["distance_m"] if with_distance else [])
    pairs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    pairs = pairs[pairs["a"] != pairs["b"]].drop_duplicates(["a", "b"])
    pairs = pairs.sort_values(["a", "b"]).reset_index(drop=True)
    return pairs.astype({"a": str, "b": str})


def components(nodes: Iterable[str], pairs: pd.DataFrame) -> list[list[str]]:
    """Connected components of ``nodes`` (duplicates ignored) under the adjacency ``pairs``.

    ``pairs`` has columns ``a`` and ``b``; pairs with an end outside ``nodes`` are ignored. Each component is
    sorted; components are sorted by size (largest first), then by first code. Isolated nodes are singletons.

    Examples
    --------
    >>> import pandas as pd
    >>> components(["1", "2", "3"], pd.DataFrame({"a": ["1"], "b": ["2"]}))
    [['1', '2'], ['3']]
    """
    links: dict[str, list[str]] = {str(n): [] for n in nodes}
    # numpy arrays: iterating a pandas string column costs a method call per element
    for a, b in zip(pairs["a"].astype(str).to_numpy(dtype=object), pairs["b"].astype(str).to_numpy(dtype=object)):
        if a in links and b in links:
            links[a].append(b)
            links[b].append(a)
    comps, seen = [], set()
    for start in links:
        if start not in seen:
            seen.add(start)
            comp = [start]
            for node in comp:  # breadth-first: comp grows while it is walked
                for other in links[node]:
                    if other not in seen:
                        seen.add(other)
                        comp.append(other)
            comps.append(sorted(comp))
    return sorted(comps, key=lambda c: (-len(c), c[0]))


def find_enclaves(
    orphans: Iterable[str],
    membership: Mapping[str, str],
    pairs: pd.DataFrame,
    gdf: gpd.GeoDataFrame | None = None,
    tolerance_m: float = 100.0,
) -> list[dict]:
    """Groups of orphan communes enclosed in a single territory.

    Orphans (communes in no territory; codes present in ``membership``, code -> territory name, are ignored) are
    grouped into connected components among themselves under the adjacency ``pairs`` (:func:`adjacency_pairs`). A
    group is an enclave of territory T when it has at least one neighbour, every neighbour outside the group
    belongs to T and, when the commune polygons ``gdf`` are given, its outer boundary is covered by T: the part of
    it farther than ``tolerance_m`` from T's neighbouring communes is under 1 % of it. A group on the coast or on
    the edge of the study area is thus not an enclave; nor is, with ``gdf``, a group with a commune missing from
    ``gdf``.

    Returns ``{"territory": T, "communes": [codes]}`` dicts sorted by territory then first code.
    """
    orphan_set = {str(o) for o in orphans} - set(membership)
    a, b = (pairs[c].astype(str).to_numpy(dtype=object) for c in ("a", "b"))
    neighbours: dict[str, set[str]] = {}
    for x, y in itertools.chain(zip(a, b), zip(b, a)):
        if x in orphan_set:
            neighbours.setdefault(x, set()).add(y)
    geo = None if gdf is None else _with_crs(gdf).set_index(gdf["code_insee"].astype(str).to_numpy()).geometry

    found = []
    for group in components(orphan_set, pairs):
        around = set().union(*(neighbours.get(c, set()) for c in group)) - set(group)
        if not around or any(n not in membership for n in around):
            continue
        territories = {membership[n] for n in around}
        if len(territories) != 1:
            continue
        territory = territories.pop()
        if geo is not None and not _boundary_covered(geo, group, sorted(around), tolerance_m):
            continue
        found.append({"territory": territory, "communes": group})
    return sorted(found, key=lambda d: (str(d["territory"]), d["communes"][0]))


def _boundary_covered(geo: gpd.GeoSeries, group: list[str], around: list[str], tolerance_m: float) -> bool:
    """True when the group's exterior boundary lies within tolerance of ``around``."""
    if any(c not in geo.index for c in group):
        return False
    around = [c for c in around if c in geo.index]
    if not around:
        return False
    target = Counter(_crs_of_codes(group)).most_common(1)[0][0]  # the most frequent CRS of the group
    inner = geo.loc[group].to_crs(target).to_numpy()
    outer = geo.loc[around].to_crs(target).to_numpy()
    ring = shapely.multilinestrings(
        [p.exterior for p in shapely.get_parts(shapely.union_all(inner)) if p.geom_type == "Polygon"]
    )
    total = shapely.length(ring)
    if total == 0:
        return False
    cover = shapely.buffer(shapely.union_all(outer), tolerance_m, quad_segs=4)
    uncovered = shapely.length(shapely.difference(ring, cover))
    return uncovered / total < _ENCLAVE_UNCOVERED_MAX


def territory_outlines(gdf: gpd.GeoDataFrame, membership_df: pd.DataFrame) -> gpd.GeoDataFrame:
    """One outline per territory: union of the polygons of its communes.

    ``membership_df`` has the columns ``cpts`` and ``code_insee`` (e.g. the canonical perimeter table; repeated
    rows, such as arrondissements, count once). Returns columns ``territory``, ``n_communes`` (communes with a
    polygon) and ``geometry``, in the CRS of ``gdf``, sorted by territory: ``shapely.coverage_union_all`` when
    the polygons form a valid coverage, ``shapely.union_all`` otherwise. Codes without a polygon are listed in
    ``result.attrs["missing"]`` (territory -> codes).
    """
    members = membership_df[["cpts", "code_insee"]].astype({"code_insee": str}).drop_duplicates()
    geo = gdf.set_index(gdf["code_insee"].astype(str).to_numpy()).geometry
    geo = geo[~geo.index.duplicated()]
    rows, missing = [], {}
    for territory, codes in members.groupby("cpts", sort=True)["code_insee"]:
        present = codes.isin(geo.index)
        if not present.all():
            missing[territory] = sorted(codes[~present])
        geoms = geo.loc[codes[present]].to_numpy()
        union = None
        if len(geoms):
            union = (shapely.coverage_union_all if shapely.coverage_is_valid(geoms) else shapely.union_all)(geoms)
        rows.append({"territory": territory, "n_communes": len(geoms), "geometry": union})
    out = gpd.GeoDataFrame(rows, columns=["territory", "n_communes", "geometry"], geometry="geometry", crs=gdf.crs)
    out.attrs["missing"] = missing
    return out
