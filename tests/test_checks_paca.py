"""check_perimeters on the real ARS PACA listing (01/2026), against expectations recomputed here.

Expectations are computed with plain ``json`` + ``csv`` from the embedded raw files
(data/perimetres/cpts_paca_ars_2026-01.json and data/communes_cog2026.csv), independently of the
code under test; discontinuity is recomputed with shapely buffers on the embedded polygons.
"""

import csv
import json
from collections import defaultdict
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely

from cpts_diag.checks import check_perimeters
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.outputs.check_outputs import write_check_outputs

DATA = Path(__file__).resolve().parent.parent / "data"
LISTING = DATA / "perimetres" / "cpts_paca_ars_2026-01.json"
POLYGONS = DATA / "communes_contours_cog2026.gpkg"


@pytest.fixture(scope="module")
def raw():
    """Plain-Python view of the listing and of the COG."""
    listing = json.loads(LISTING.read_text(encoding="utf-8"))["cpts"]
    with open(DATA / "communes_cog2026.csv", encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    current = {r["code_insee"]: r for r in records if r["type"] == "commune-actuelle"}
    # a commune déléguée may share its code with its commune nouvelle: the current record wins
    by_code = {**{r["code_insee"]: r for r in records}, **current}

    def to_current(code):
        if code in current:
            return code
        r = by_code[code]  # every code of the listing is in the COG
        if r["type"] in ("commune-deleguee", "commune-associee"):
            return r["commune_parente"]
        return next(k for k, c in current.items() if code in c["anciens_codes"].split("|"))

    members = {}  # cpts -> set of current codes
    for c in listing:
        members[c["nom"]] = {to_current(code) for code in c["communes"]}
    return {"listing": listing, "by_code": by_code, "current": current, "to_current": to_current, "members": members}


@pytest.fixture(scope="module")
def report():
    return check_perimeters(read_perimeters(LISTING))


def test_overlaps(raw, report):
    claims = defaultdict(set)
    for name, codes in raw["members"].items():
        for code in codes:
            claims[code].add(name)
    multi = {code: sorted(names) for code, names in claims.items() if len(names) >= 2}
    assert {o["code_insee"]: o["territories"] for o in report.overlaps} == multi
    # kinds: by arrondissement when every claimant lists arrondissements, infra-communal when every
    # claimant names the commune in its "infra" list
    by_name = {c["nom"]: c for c in raw["listing"]}
    expected_kind = {}
    for code, names in multi.items():
        commune = raw["current"][code]["nom"]
        if all(by_name[n].get("arrondissements") for n in names):
            expected_kind[code] = "arrondissement"
        elif all(commune in (by_name[n].get("infra") or []) for n in names):
            expected_kind[code] = "infracommunal"
        else:
            expected_kind[code] = "conflict"
    assert {o["code_insee"]: o["kind"] for o in report.overlaps} == expected_kind
    assert set(expected_kind) == {"06088", "13055", "83137"}  # Nice, Marseille, Toulon
    # no arrondissement is listed twice
    arrs = [a for c in raw["listing"] for a in c.get("arrondissements", [])]
    assert len(arrs) == len(set(arrs))
    assert not report.blocking and report.exit_code == 0


def test_orphans_of_paca(raw, report):
    covered = set().union(*raw["members"].values())
    paca = {k: r for k, r in raw["current"].items() if r["region"] == "93"}
    expected = {k: (r["nom"], int(r["population"])) for k, r in paca.items() if k not in covered}
    assert {o["code_insee"]: (o["name"], o["population"]) for o in report.orphans} == expected
    assert len(expected) == 45 and "04209" in expected  # Sisteron
    # the default study area (départements of member communes) is PACA here
    deps = sorted({raw["current"][c]["departement"] for c in covered})
    assert report.study_area == deps == ["04", "05", "06", "13", "83", "84"]
    again = check_perimeters(read_perimeters(LISTING), regions=["93"], geometries=None)
    assert [o["code_insee"] for o in again.orphans] == [o["code_insee"] for o in report.orphans]
    assert report.summary["orphan_population"] == sum(p for _, p in expected.values())


def test_uncovered_marseille_arrondissements(raw, report):
    listed = {a for c in raw["listing"] for a in c.get("arrondissements", [])}
    marseille = {
        k: r
        for k, r in raw["by_code"].items()
        if r["type"] == "arrondissement-municipal" and r["commune_parente"] == "13055"
    }
    expected = sorted(set(marseille) - listed)
    assert [a["code"] for a in report.uncovered_arrondissements] == expected == ["13201"]
    assert report.uncovered_arrondissements[0]["population"] == int(marseille["13201"]["population"])


def test_outdated_codes_and_duplicates(raw, report):
    expected = set()
    for c in raw["listing"]:
        for code in c["communes"]:
            if code not in raw["current"]:
                expected.add((code, raw["to_current"](code), c["nom"]))
    assert {(o["code"], o["current_code"], o["territory"]) for o in report.outdated_codes} == expected
    assert ("05120", "05001", "CPTS Guil Durance") in expected
    dups = set()
    for c in raw["listing"]:
        given = defaultdict(list)  # current code -> codes as written
        for code in c["communes"]:
            given[raw["to_current"](code)].append(code)
        dups |= {(c["nom"], cur, len(set(g)) > 1) for cur, g in given.items() if len(g) > 1}
    assert {(d["territory"], d["code_insee"], d["after_mapping"]) for d in report.duplicates} == dups
    assert ("CPTS Guil Durance", "05001", True) in dups
    assert report.unknown_codes == []


def test_populations_and_tiers(raw, report):
    by_code = raw["by_code"]
    thresholds = (40_000, 80_000, 175_000)

    def tier(pop):
        return 1 + sum(pop >= t for t in thresholds)

    terr = {t["name"]: t for t in report.territories}
    assert len(terr) == len(raw["listing"]) == 70
    for c in raw["listing"]:
        t = terr[c["nom"]]
        infra_names = set(c.get("infra") or [])
        exact = infra = 0
        for code in raw["members"][c["nom"]]:
            if code == "13055" and c.get("arrondissements"):
                exact += sum(int(by_code[a]["population"]) for a in c["arrondissements"])
            elif raw["current"][code]["nom"] in infra_names:
                infra += int(by_code[code]["population"])
            else:
                exact += int(by_code[code]["population"])
        assert t["n_communes"] == len(raw["members"][c["nom"]])
        assert (t["population_min"], t["population_max"]) == (exact, exact + infra), c["nom"]
        assert t["approximate"] is (infra > 0)
        assert (t["tier_min"], t["tier_max"]) == (tier(exact), tier(exact + infra))
        if infra == 0:
            assert t["population"] == exact and t["tier"] == tier(exact)
        else:
            assert t["population"] is None
        assert t["departements"] == sorted({raw["current"][k]["departement"] for k in raw["members"][c["nom"]]})
    multi = {n for n, codes in raw["members"].items() if len({raw["current"][k]["departement"] for k in codes}) > 1}
    assert {m["territory"] for m in report.multi_departement} == multi


def test_discontiguous_recomputed_with_buffers(raw, report):
    """Communes whose display polygons, buffered by 50 m, intersect are neighbours; count the pieces."""
    assert report.geometry_checks
    gdf = gpd.read_file(POLYGONS, layer="communes").to_crs("EPSG:2154")
    gdf = gdf[gdf["code_insee"].isin({c for codes in raw["members"].values() for c in codes})]
    geo = dict(zip(gdf["code_insee"], shapely.buffer(gdf.geometry.to_numpy(), 50.0)))
    expected = {}
    for name, codes in raw["members"].items():
        codes = sorted(codes)
        piece = {c: c for c in codes}

        def root(c, piece=piece):
            while piece[c] != c:
                c = piece[c]
            return c

        for i, a in enumerate(codes):
            for b in codes[i + 1 :]:
                if geo[a].intersects(geo[b]):
                    piece[root(a)] = root(b)
        n = len({root(c) for c in codes})
        if n > 1:
            expected[name] = n
    assert {d["territory"]: d["n_pieces"] for d in report.discontiguous} == expected


def test_exports_on_paca(raw, report, tmp_path):
    written = write_check_outputs(report, tmp_path)
    wb = openpyxl.load_workbook(written[0])
    ws = wb["Orphelines"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Code INSEE"
    codes = [r[0] for r in rows[1:]]
    assert codes == [o["code_insee"] for o in report.orphans]
    assert all(isinstance(c, str) and len(c) == 5 for c in codes)
    assert "04013" in codes  # leading zero kept
    layers = dict(pyogrio.list_layers(written[1]))
    assert set(layers) == {"territoires", "communes", "orphelines"}
    # one feature per (CPTS, unit): Marseille is drawn by the arrondissements each CPTS lists
    n_units = sum(
        len(raw["members"][c["nom"]] - {"13055"}) + len(c["arrondissements"])
        if c.get("arrondissements")
        else len(raw["members"][c["nom"]])
        for c in raw["listing"]
    )
    assert pyogrio.read_info(written[1], layer="communes")["features"] == n_units
    assert pyogrio.read_info(written[1], layer="territoires")["features"] == 70
    # 45 orphan communes and the uncovered arrondissement 13201 (Marseille 1er)
    orphans = gpd.read_file(written[1], layer="orphelines")
    assert len(orphans) == 46 and "13201" in set(orphans["code_insee"])
