"""Tests of cpts_diag.commune_geo: loaders of the embedded areas, adjacency, land masses and display polygons.

Expectations are read from the raw files of data/ with the csv and sqlite3 modules (a GeoPackage is an
SQLite database), never through the loaders under test.
"""

import csv
import math
import sqlite3
from pathlib import Path

import pytest
from shapely.geometry import box

from cpts_diag import settings
from cpts_diag.commune_geo import display_polygons, load_commune_geo
from cpts_diag.errors import InputError
from geo_expect import display_area_km2
from geo_expect import display_polygons as raw_display

DATA = Path(__file__).resolve().parent.parent / "data"


def _csv(name):
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _float(text):
    return float(text) if text != "" else math.nan


@pytest.fixture(scope="module")
def raw_units():
    return {r["code_insee"]: r for r in _csv("communes_geo_cog2026.csv")}


@pytest.fixture(scope="module")
def raw_pairs():
    return _csv("communes_adjacence_cog2026.csv")


@pytest.fixture(scope="module")
def geo():
    return load_commune_geo()


def test_units_are_the_rows_of_the_raw_file(geo, raw_units):
    units = geo.units
    assert len(units) == len(raw_units) and set(units.index) == set(raw_units)
    assert all(isinstance(c, str) for c in units.index)
    for code, raw in raw_units.items():
        row = units.loc[code]
        assert (row["type"], row["contour"], row["masse_terrestre"]) == (
            raw["type"],
            raw["contour"],
            raw["masse_terrestre"],
        ), code
        for column in ("superficie_km2", "limite_exterieure_km"):
            expected = _float(raw[column])
            assert (math.isnan(row[column]) and math.isnan(expected)) or row[column] == expected, (code, column)


def test_known_units(geo, raw_units):
    assert {c for c, r in raw_units.items() if r["type"] == "ARM"} == (
        {f"751{i:02d}" for i in range(1, 21)}
        | {f"6938{i}" for i in range(1, 10)}
        | {f"132{i:02d}" for i in range(1, 17)}
    )
    assert geo.units.loc["05061", "superficie_km2"] == float(raw_units["05061"]["superficie_km2"])
    assert geo.units.loc["01001", "type"] == "COM"  # leading zero kept


def test_areas_and_units_without_polygon(geo, raw_units):
    no_polygon = {c for c, r in raw_units.items() if r["contour"] == "aucun"}
    assert no_polygon and geo.without_polygon == no_polygon
    assert all(raw_units[c]["superficie_km2"] == "" for c in no_polygon)  # unknown, never zero
    areas = geo.areas
    assert set(areas.index) == {c for c, r in raw_units.items() if r["superficie_km2"] != ""}
    assert not (set(areas.index) & no_polygon)
    assert areas["2A004"] == float(raw_units["2A004"]["superficie_km2"])


def test_exposed_units_touch_the_sea_or_a_border_over_100_m(geo, raw_units):
    exposed = set(geo.exposed[geo.exposed].index)
    assert exposed == {
        c for c, r in raw_units.items() if r["limite_exterieure_km"] and float(r["limite_exterieure_km"]) >= 0.1
    }
    assert "2A004" in exposed and "05061" not in exposed  # Ajaccio on the sea, Gap inland


def test_corsica_is_not_on_the_mainland(geo):
    masses = geo.units["masse_terrestre"]
    corsica = set(masses[masses.index.str.startswith(("2A", "2B"))])
    assert masses["05061"] == masses["13201"] == masses["75056"]  # Gap, Marseille 1er, Paris: the mainland
    assert masses["05061"] not in corsica and masses["2A004"] in corsica


def test_links_by_kind(geo, raw_pairs):
    def pairs(*kinds):
        return {(r["a"], r["b"]) for r in raw_pairs if r["lien"] in kinds}

    assert set(geo.pairs["lien"]) == {"contact", "proche", "mer_ou_etranger", "possible"}
    for kinds in (("contact",), ("proche",), ("contact", "mer_ou_etranger"), ("possible",)):
        got = geo.links(*kinds)
        assert list(got.columns) == ["a", "b"]
        assert set(zip(got["a"], got["b"])) == pairs(*kinds) and len(got) == len(pairs(*kinds))
    assert (geo.pairs["a"] < geo.pairs["b"]).all()


def test_loading_is_cached_per_folder(geo):
    assert load_commune_geo() is geo


def test_a_hand_made_folder(tmp_path):
    (tmp_path / "communes_geo_cog2026.csv").write_text(
        "code_insee,type,superficie_km2,limite_exterieure_km,masse_terrestre,contour\n"
        "01001,COM,15.5,0.0,01001,admin-express\n"
        "01002,COM,9.25,0.25,01001,france-geojson-2018\n"
        "2A004,COM,,,,aucun\n",
        encoding="utf-8",
    )
    (tmp_path / "communes_adjacence_cog2026.csv").write_text(
        "a,b,lien\n01001,01002,contact\n01002,2A004,possible\n", encoding="utf-8"
    )
    geo = load_commune_geo(tmp_path)
    assert list(geo.units.index) == ["01001", "01002", "2A004"]
    assert geo.areas.to_dict() == {"01001": 15.5, "01002": 9.25}
    assert geo.without_polygon == {"2A004"}
    assert geo.exposed.to_dict() == {"01001": False, "01002": True, "2A004": False}
    assert geo.links("possible").values.tolist() == [["01002", "2A004"]]


def test_missing_embedded_data_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path)
    with pytest.raises(InputError, match="cpts-diag data build"):
        load_commune_geo()
    with pytest.raises(InputError, match="communes_contours_cog2026.gpkg"):
        display_polygons(["05061"])


def test_display_polygons_of_given_codes():
    wanted = ["13055", "13201", "05061", "15031", "2A004"]
    with sqlite3.connect(DATA / "communes_contours_cog2026.gpkg") as db:
        expected = set(
            db.execute(
                f"SELECT code_insee, type FROM communes WHERE code_insee IN ({','.join('?' * len(wanted))})", wanted
            ).fetchall()
        )
    assert ("15031", "COM") not in expected  # a commune without polygon
    gdf = display_polygons(wanted)
    assert gdf.crs.to_epsg() == 4326
    assert set(zip(gdf["code_insee"], gdf["type"])) == expected
    assert list(gdf.index) == list(range(len(gdf)))
    gap = gdf[gdf["code_insee"] == "05061"].geometry.iloc[0]
    assert display_area_km2(["05061"]) == pytest.approx(108.8611, rel=0.04)  # embedded area, display tolerance
    assert gap.geom_type in ("Polygon", "MultiPolygon")


def test_display_polygons_refuse_odd_codes_and_read_a_bbox():
    assert len(display_polygons(["05061') OR ('1'='1"])) == 0
    assert len(display_polygons([])) == 0
    around_gap = (6.07, 44.55, 6.09, 44.57)  # the town centre of Gap (Hautes-Alpes)
    gdf = display_polygons(bbox=around_gap)
    assert "05061" in set(gdf["code_insee"])
    assert gdf.geometry.intersects(box(*around_gap)).all()
    assert len(gdf) < 20


@pytest.mark.parametrize(
    "departement, lambert93_excess",
    [("2A", 0.004), ("974", None), ("971", None), ("56", None)],  # Corse-du-Sud, La Réunion, Guadeloupe, Morbihan
)
def test_departement_area_is_the_geodesic_area(raw_units, raw_communes, departement, lambert93_excess):
    """The embedded areas are measured on the ellipsoid: a département's sum is within 0.1 % of the geodesic area
    of its display polygons (they differ only by the 450 m display simplification), where Lambert-93 was not."""
    current = [r for r in raw_communes if r["type"] == "commune-actuelle"]
    codes = [r["code_insee"] for r in current if r["departement"] == departement]
    embedded = sum(_float(raw_units[c]["superficie_km2"]) for c in codes)
    geodesic = display_area_km2(codes)
    assert embedded == pytest.approx(geodesic, rel=1e-3), departement
    if lambert93_excess:  # the former measure: Lambert-93, not an equal-area projection (+0.45 % in Corsica)
        shapes = raw_display()
        lambert = shapes[shapes["code_insee"].isin(codes)].to_crs(2154).area.sum() / 1e6
        assert lambert / geodesic - 1 > lambert93_excess


# --------------------------------------------------------------------------- shared borders


def _border_m(a, b, epsg: int) -> float:
    """Shared border (m) of two display polygons, recomputed here: the part of each one's boundary within 5 m of
    the other, the smaller of the two."""
    gdf = raw_display()
    geoms = gdf.set_index("code_insee").geometry.to_crs(epsg)
    ga, gb = geoms[a], geoms[b]
    return min(ga.boundary.intersection(gb.buffer(5, 2)).length, gb.boundary.intersection(ga.buffer(5, 2)).length)


@pytest.mark.parametrize(
    "a, b, epsg",
    [
        ("29019", "29075", 2154),  # Brest, Guipavas (Finistère)
        ("01053", "01344", 2154),  # Bourg-en-Bresse, Saint-Denis-lès-Bourg (Ain)
        ("67218", "67482", 2154),  # Illkirch-Graffenstaden, Strasbourg (Bas-Rhin)
        ("31069", "31555", 2154),  # Blagnac, Toulouse (Haute-Garonne)
        ("97411", "97418", 2975),  # Saint-Denis, Sainte-Marie (La Réunion)
        ("13201", "13202", 2154),  # Marseille 1er and 2e arrondissements
    ],
)
def test_border_lengths_are_those_of_the_display_polygons(raw_pairs, a, b, epsg):
    row = next(r for r in raw_pairs if (r["a"], r["b"]) == (a, b))
    assert row["lien"] == "contact"
    assert float(row["frontiere_km"]) == pytest.approx(_border_m(a, b, epsg) / 1000, abs=0.0006)
    assert float(row["frontiere_km"]) > 0.5


def test_borders_of_an_inland_commune_add_up_to_its_perimeter(geo, raw_pairs):
    # Ambérieu-en-Bugey (01004) touches neither the sea nor a border: its borders with its neighbours make its
    # whole boundary (each pair measured within 5 m, so a few metres more at each end of a border)
    code = "01004"
    assert float(_csv_unit(code)["limite_exterieure_km"]) == 0.0
    total = sum(float(r["frontiere_km"]) for r in raw_pairs if code in (r["a"], r["b"]) and r["lien"] == "contact")
    perimeter = raw_display().set_index("code_insee").geometry.to_crs(2154)[code].length / 1000
    assert total == pytest.approx(perimeter, rel=0.01)


def _csv_unit(code):
    return next(r for r in _csv("communes_geo_cog2026.csv") if r["code_insee"] == code)


def test_borders_of_the_loader(geo, raw_pairs):
    borders = geo.borders()
    contact = [r for r in raw_pairs if r["lien"] == "contact"]
    assert len(borders) == len(contact) and list(borders.columns) == ["a", "b", "km"]
    expected = {(r["a"], r["b"]): float(r["frontiere_km"]) for r in contact}
    got = dict(zip(zip(borders["a"], borders["b"]), borders["km"]))
    assert got == expected
    assert all(r["frontiere_km"] == "" for r in raw_pairs if r["lien"] != "contact")
