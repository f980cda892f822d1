"""Tests of cpts_diag.geometry on hand-made 1 km squares in projected coordinates."""

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
from shapely.geometry import Polygon, box

from cpts_diag.errors import InputError
from cpts_diag.geometry import (
    adjacency_pairs,
    align_to_cog,
    area_km2,
    components,
    find_enclaves,
    projected_crs,
    read_commune_polygons,
    territory_outlines,
)

X0, Y0 = 900_000.0, 6_300_000.0  # somewhere in Provence, Lambert-93
KM = 1000.0


def square(i, j, x0=X0, y0=Y0, size=KM):
    """1 km square at grid cell (i, j)."""
    return box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)


def frame(cells, crs="EPSG:2154"):
    """GeoDataFrame from {code: geometry}."""
    return gpd.GeoDataFrame({"code_insee": list(cells)}, geometry=list(cells.values()), crs=crs)


def grid(rows, cols, code0=13001):
    """rows x cols grid of squares; codes numbered row by row; returns (gdf, code[i, j])."""
    cells, at = {}, {}
    for j in range(rows):
        for i in range(cols):
            code = f"{code0 + j * cols + i:05d}"
            cells[code] = square(i, j)
            at[(i, j)] = code
    return frame(cells), at


def pair_set(pairs):
    return set(zip(pairs["a"], pairs["b"]))


# ------------------------------------------------------------------ projected_crs


@pytest.mark.parametrize(
    "dep, crs",
    [
        ("01", "EPSG:2154"),
        ("13", "EPSG:2154"),
        ("2A", "EPSG:2154"),
        ("2B", "EPSG:2154"),
        ("95", "EPSG:2154"),
        ("971", "EPSG:5490"),
        ("972", "EPSG:5490"),
        ("973", "EPSG:2972"),
        ("974", "EPSG:2975"),
        ("976", "EPSG:4471"),
    ],
)
def test_projected_crs_table(dep, crs):
    assert projected_crs(dep) == crs


def test_projected_crs_names_match_drom():
    names = {d: pyproj.CRS(projected_crs(d)).name for d in ("971", "973", "974", "976")}
    assert names == {
        "971": "RGAF09 / UTM zone 20N",
        "973": "RGFG95 / UTM zone 22N",
        "974": "RGR92 / UTM zone 40S",
        "976": "RGM04 / UTM zone 38S",
    }


@pytest.mark.parametrize("dep", ["20", "96", "975", "977", "", "XX"])
def test_projected_crs_unknown(dep):
    with pytest.raises(InputError, match="département inconnu"):
        projected_crs(dep)


# ------------------------------------------------------------------------- areas


def test_area_km2_is_the_ellipsoid_area_not_lambert93():
    # a 10 km square near Ajaccio: Lambert-93 says 100 km², the ellipsoid (and LAEA EPSG:3035, an equal-area
    # projection) 99.55 km² — Lambert-93 is not equal-area, +0.45 % in Corsica
    sq = gpd.GeoDataFrame(geometry=[box(1_190_000, 6_100_000, 1_200_000, 6_110_000)], crs="EPSG:2154")
    equal_area = sq.to_crs("EPSG:3035").area.iloc[0] / 1e6
    assert area_km2(sq).iloc[0] == pytest.approx(equal_area, rel=1e-6)
    assert area_km2(sq.to_crs("EPSG:4326")).iloc[0] == pytest.approx(equal_area, rel=1e-6)  # any input CRS
    assert sq.area.iloc[0] / 1e6 / equal_area - 1 > 0.004


def test_area_km2_in_a_drom_and_without_geometry():
    # 1 km square of RGR92 / UTM 40S (La Réunion) against a global equal-area projection (EPSG:6933)
    sq = gpd.GeoDataFrame(geometry=[box(340_000, 7_660_000, 341_000, 7_661_000), None], crs="EPSG:2975")
    areas = area_km2(sq)
    assert areas.iloc[0] == pytest.approx(sq.iloc[:1].to_crs("EPSG:6933").area.iloc[0] / 1e6, rel=1e-6)
    assert pd.isna(areas.iloc[1])  # no geometry: unknown, never zero
    # no CRS: WGS84 assumed
    lonlat = gpd.GeoDataFrame(geometry=sq.iloc[:1].to_crs("EPSG:4326").geometry.to_numpy())
    assert area_km2(lonlat).iloc[0] == pytest.approx(areas.iloc[0], rel=1e-9)


# --------------------------------------------------------------------- adjacency


def test_adjacency_pairs_tolerance():
    gdf = frame(
        {
            "13004": square(0, 0),  # A
            "13003": square(1, 0),  # B touches A
            "13002": box(X0 + 2020, Y0, X0 + 3020, Y0 + KM),  # C: 20 m from B
            "13001": box(X0 + 3520, Y0, X0 + 4520, Y0 + KM),  # D: 500 m from C
        }
    )
    pairs = adjacency_pairs(gdf, tolerance_m=100)
    assert list(pairs.columns) == ["a", "b"]
    assert pairs.values.tolist() == [["13002", "13003"], ["13003", "13004"]]
    assert pair_set(adjacency_pairs(gdf, tolerance_m=10)) == {("13003", "13004")}
    assert pair_set(adjacency_pairs(gdf, tolerance_m=600)) == {
        ("13002", "13003"),
        ("13003", "13004"),
        ("13001", "13002"),
    }
    # Same result when the polygons come in WGS84.
    assert pair_set(adjacency_pairs(gdf.to_crs(4326), 100)) == pair_set(pairs)


def test_adjacency_pairs_grid_counts_corners():
    gdf, at = grid(3, 3)
    pairs = adjacency_pairs(gdf, tolerance_m=100)
    # 12 edge-sharing + 8 corner-touching pairs in a 3 x 3 grid.
    assert len(pairs) == 20
    assert (pairs["a"] < pairs["b"]).all()
    assert ((pairs.a == at[1, 1]) | (pairs.b == at[1, 1])).sum() == 8
    assert ((pairs.a == at[0, 0]) | (pairs.b == at[0, 0])).sum() == 3


# -------------------------------------------------------------------- components


def test_components_discontiguous_territory():
    gdf = frame(
        {
            "13001": square(0, 0),
            "13002": square(1, 0),  # piece 1
            "13003": square(5, 0),
            "13004": square(6, 0),  # piece 2
            "13005": square(6, 1),  # piece 2
            "13006": square(2, 0),  # not in territory
        }
    )
    pairs = adjacency_pairs(gdf, 100)
    nodes = ["13004", "13001", "13002", "13003", "13005", "13099", "13001"]
    assert components(nodes, pairs) == [["13003", "13004", "13005"], ["13001", "13002"], ["13099"]]
    # 13006 is adjacent to 13002 but outside the nodes; once added, piece 1 grows
    # and the size tie (3 vs 3) is broken by the first code.
    assert components(nodes + ["13006"], pairs) == [["13001", "13002", "13006"], ["13003", "13004", "13005"], ["13099"]]


def test_components_order_ties_by_first_code():
    pairs = pd.DataFrame({"a": ["b", "x"], "b": ["c", "y"]})
    assert components(["y", "x", "c", "b"], pairs) == [["b", "c"], ["x", "y"]]


# ---------------------------------------------------------------------- enclaves


def test_enclave_surrounded_orphan():
    gdf, at = grid(3, 3)
    centre = at[1, 1]
    membership = {c: "T" for c in gdf.code_insee if c != centre}
    pairs = adjacency_pairs(gdf, 100)
    expected = [{"territory": "T", "communes": [centre]}]
    assert find_enclaves([centre], membership, pairs) == expected
    assert find_enclaves([centre], membership, pairs, gdf=gdf) == expected


def test_enclave_survives_simplification_gaps():
    # Ring of 8 squares shrunk by 20 m each side: gaps of 40 m all around the orphan.
    gdf, at = grid(3, 3)
    centre = at[1, 1]
    gdf["geometry"] = [
        g if c == centre else g.buffer(-20, join_style="mitre") for c, g in zip(gdf.code_insee, gdf.geometry)
    ]
    membership = {c: "T" for c in gdf.code_insee if c != centre}
    pairs = adjacency_pairs(gdf, 100)
    assert find_enclaves([centre], membership, pairs, gdf=gdf) == [{"territory": "T", "communes": [centre]}]


def test_orphan_on_edge_is_not_enclave():
    # 2 rows x 3 cols; orphan top-middle: its 5 neighbours are all T, its top side is open.
    gdf, at = grid(2, 3)
    orphan = at[1, 1]
    membership = {c: "T" for c in gdf.code_insee if c != orphan}
    pairs = adjacency_pairs(gdf, 100)
    # Neighbour rule alone would call it an enclave; the boundary check does not.
    assert find_enclaves([orphan], membership, pairs) == [{"territory": "T", "communes": [orphan]}]
    assert find_enclaves([orphan], membership, pairs, gdf=gdf) == []


def test_two_orphans_form_one_enclave_group():
    gdf, at = grid(3, 4)
    group = [at[1, 1], at[2, 1]]
    membership = {c: "T" for c in gdf.code_insee if c not in group}
    pairs = adjacency_pairs(gdf, 100)
    assert find_enclaves(group[::-1], membership, pairs, gdf=gdf) == [{"territory": "T", "communes": sorted(group)}]


def test_orphan_between_two_territories_is_not_enclave():
    gdf, at = grid(3, 3)
    centre = at[1, 1]
    membership = {c: "T" for c in gdf.code_insee if c != centre}
    membership[at[0, 0]] = "U"
    pairs = adjacency_pairs(gdf, 100)
    assert find_enclaves([centre], membership, pairs, gdf=gdf) == []


def test_orphan_neighbour_outside_study_area_is_not_enclave():
    gdf, at = grid(3, 3)
    centre = at[1, 1]
    membership = {c: "T" for c in gdf.code_insee if c not in (centre, at[2, 2])}
    pairs = adjacency_pairs(gdf, 100)
    assert find_enclaves([centre], membership, pairs) == []


def test_isolated_orphan_is_not_enclave():
    gdf = frame({"13001": square(0, 0), "13002": square(5, 5)})
    pairs = adjacency_pairs(gdf, 100)
    assert find_enclaves(["13002"], {"13001": "T"}, pairs, gdf=gdf) == []


# --------------------------------------------------------------------- alignment


def test_align_to_cog_merges_and_preserves_area():
    gdf = frame({"05001": square(0, 0), "05120": square(1, 0), "05050": square(3, 0), "05200": square(5, 0)})
    gdf["nom"] = ["Nouvelle", "Ancienne", "Autre", "Renommée"]
    out, notes = align_to_cog(gdf, {"05120": "05001", "05200": "05999", "05777": "05001"})
    assert out["code_insee"].tolist() == ["05001", "05050", "05999"]
    assert out.set_index("code_insee").area.div(1e6).to_dict() == pytest.approx(
        {"05001": 2.0, "05050": 1.0, "05999": 1.0}
    )
    assert out.geometry.iloc[0].geom_type == "Polygon"
    assert out.loc[0, "nom"] == "Nouvelle"
    assert out.crs == gdf.crs
    assert notes == ["05120 fusionnée dans 05001 : polygones réunis", "05200 devenue 05999 (changement de code)"]


def test_align_to_cog_follows_chains_and_noop():
    gdf = frame({"05001": square(0, 0), "05002": square(1, 0), "05003": square(2, 0)})
    out, notes = align_to_cog(gdf, {"05001": "05002", "05002": "05003"})
    assert out["code_insee"].tolist() == ["05003"]
    assert out.area.iloc[0] == pytest.approx(3e6)
    assert len(notes) == 2
    same, none = align_to_cog(gdf, {})
    assert none == [] and same["code_insee"].tolist() == ["05001", "05002", "05003"]


# ------------------------------------------------------------------------ reading


def test_read_commune_polygons_gpkg_lambert(tmp_path):
    bowtie = Polygon([(X0, Y0), (X0 + KM, Y0 + KM), (X0 + KM, Y0), (X0, Y0 + KM)])
    src = gpd.GeoDataFrame(
        {"INSEE_COM": [1001, 13002], "NOM_COM": ["Ain1", "Bdr2"]}, geometry=[square(0, 0), bowtie], crs="EPSG:2154"
    )
    path = tmp_path / "communes.gpkg"
    src.to_file(path)
    gdf = read_commune_polygons(path)
    assert gdf.columns.tolist() == ["code_insee", "nom", "geometry"]
    assert gdf["code_insee"].tolist() == ["01001", "13002"]
    assert gdf["nom"].tolist() == ["Ain1", "Bdr2"]
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.is_valid.all()
    # Repaired bow-tie keeps its two triangles (0.5 km² in total).
    assert gdf.to_crs(2154).area.div(1e6).tolist() == pytest.approx([1.0, 0.5], rel=1e-6)
    assert any("réparée" in n for n in gdf.attrs["notes"])


def test_read_commune_polygons_explicit_field(tmp_path):
    src = gpd.GeoDataFrame({"c": ["2A004"], "x": ["13001"]}, geometry=[square(0, 0)], crs="EPSG:2154").to_crs(4326)
    path = tmp_path / "c.geojson"
    src.to_file(path, driver="GeoJSON")
    assert read_commune_polygons(path, code_field="C")["code_insee"].tolist() == ["2A004"]
    with pytest.raises(InputError, match="champ « absent » absent"):
        read_commune_polygons(path, code_field="absent")


def test_read_commune_polygons_codes_use_the_one_normaliser(tmp_path):
    src = gpd.GeoDataFrame(
        {"Code_INSEE": ["20004", "4001"], "Libelle": ["Ajaccio", "Aiglun"]},
        geometry=[square(0, 0), square(2, 0)],
        crs=2154,
    )
    path = tmp_path / "corse.gpkg"
    src.to_file(path)
    gdf = read_commune_polygons(path)
    assert gdf["code_insee"].tolist() == ["2A004", "04001"]
    assert gdf["nom"].tolist() == ["Ajaccio", "Aiglun"]
    assert (
        "2 code(s) commune corrigé(s) (zéro initial restauré ou ancien code de la Corse) : "
        "20004 → 2A004, 4001 → 04001" in gdf.attrs["notes"]
    )
    bad = tmp_path / "zero.gpkg"
    gpd.GeoDataFrame({"insee_com": ["00123"]}, geometry=[square(0, 0)], crs=2154).to_file(bad)
    with pytest.raises(InputError) as info:
        read_commune_polygons(bad)
    assert str(info.value) == (
        f"fichier « {bad} », entité 1 : code commune invalide : département 00 inexistant (valeur « 00123 »)"
    )


def test_read_commune_polygons_errors(tmp_path):
    with pytest.raises(InputError, match="introuvable"):
        read_commune_polygons(tmp_path / "nope.geojson")
    text = tmp_path / "pas_carte.geojson"
    text.write_text("ceci n'est pas un fichier géographique\n", encoding="utf-8")
    with pytest.raises(InputError, match="fichier « .*pas_carte.geojson »"):
        read_commune_polygons(text)
    nocode = tmp_path / "nocode.gpkg"
    gpd.GeoDataFrame({"libelle": ["x"]}, geometry=[square(0, 0)], crs=2154).to_file(nocode)
    with pytest.raises(InputError, match="aucun champ de code commune"):
        read_commune_polygons(nocode)
    bad = tmp_path / "bad.gpkg"
    gpd.GeoDataFrame({"code": ["13001", "1300X"]}, geometry=[square(0, 0), square(1, 0)], crs=2154).to_file(bad)
    with pytest.raises(InputError, match="entité 2 : code commune invalide"):
        read_commune_polygons(bad)
    # Lambert-93 coordinates in a GeoJSON (which defaults to WGS84).
    projected = tmp_path / "projected.geojson"
    projected.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"code": "13001"}, "geometry": {"type": "Polygon", '
        '"coordinates": [[[900000, 6300000], [901000, 6300000], '
        "[901000, 6301000], [900000, 6300000]]]}}]}",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="hors des bornes en degrés"):
        read_commune_polygons(projected)


# ----------------------------------------------------------------------- outlines


def test_territory_outlines():
    gdf = frame({"13001": square(0, 0), "13002": square(1, 0), "13003": square(5, 0), "13004": square(7, 0)})
    members = pd.DataFrame(
        {"cpts": ["B", "A", "A", "B", "B", "A"], "code_insee": ["13003", "13001", "13002", "13004", "13003", "13999"]}
    )
    out = territory_outlines(gdf, members)
    assert out["territory"].tolist() == ["A", "B"]
    assert out["n_communes"].tolist() == [2, 2]
    assert out.area.div(1e6).tolist() == pytest.approx([2.0, 2.0])
    assert out.geometry.geom_type.tolist() == ["Polygon", "MultiPolygon"]
    assert out.attrs["missing"] == {"A": ["13999"]}
    assert out.crs == gdf.crs
