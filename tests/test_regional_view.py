"""The ARS view of a listing (cpts_diag.reports.regional_view) on real communes of Bretagne and Pays de la Loire.

The listing is built by the test from the embedded COG (data/communes_cog2026.csv, data/epci.csv, read with the
csv module): every EPCI of the two régions is a territory, written the way users have it (CSV in Windows-1252,
« ; », French headers), except Leff Armor Communauté (its communes are orphans of Bretagne); Redon Agglomération
straddles the two régions; Pontorson (Manche, Normandie) is added to the Pays de Dol, so that the file touches
Normandie without covering it (its view calls no commune an orphan); Rennes is also listed in Vitré Communauté
(an overlap in Bretagne). Every expectation is computed from the raw files, never by the code under test.
"""

from __future__ import annotations

import csv
import html as _html
import re
from pathlib import Path

import pandas as pd
import pytest

from cpts_diag import settings
from cpts_diag.errors import InputError

LEFT_OUT = "200069086"  # CC Leff Armor Communauté
REDON = "243500741"  # CA Redon Agglomération: communes in Ille-et-Vilaine, Morbihan and Loire-Atlantique
DOL = "200070670"  # CC du Pays de Dol et de la Baie du Mont Saint-Michel
VITRE = "200039022"  # CA Vitré Communauté
PONTORSON, RENNES = "50410", "35238"
STRADDLE = "à cheval sur une autre région"


@pytest.fixture(scope="module")
def cog() -> dict[str, dict]:
    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return {r["code_insee"]: r for r in csv.DictReader(fh) if r["type"] == "commune-actuelle"}


@pytest.fixture(scope="module")
def epci_names() -> dict[str, str]:
    with open(settings.DATA_DIR / "epci.csv", encoding="utf-8", newline="") as fh:
        return {r["siren"]: r["nom"] for r in csv.DictReader(fh)}


def _listing(cog, epci_names) -> list[tuple[str, str]]:
    """(territory, code) rows of the test listing, in file order."""
    rows = []
    for siren in sorted({r["epci_siren"] for r in cog.values() if r["region"] in ("52", "53") and r["epci_siren"]}):
        if siren == LEFT_OUT:
            continue
        name = f"CPTS {epci_names[siren]}"
        rows += [(name, code) for code, r in cog.items() if r["epci_siren"] == siren]
        if siren == DOL:
            rows.append((name, PONTORSON))
        if siren == VITRE:
            rows.append((name, RENNES))
    return rows


def _write(path: Path, rows) -> Path:
    text = "Nom de la CPTS;Code INSEE\r\n" + "".join(f"{name};{code}\r\n" for name, code in rows)
    path.write_bytes(text.encode("cp1252"))
    return path


def _expected(cog, rows) -> dict[str, dict]:
    """Per région touched: territories, straddling territories, communes and population covered, and the study
    area of its view: the région when the file holds more than half of its communes and population (its communes
    outside the file are orphans), else its départements listed for more than half (none here: the communes of
    the départements the file touches there are « hors fichier »)."""
    regions_of: dict[str, set] = {}
    for name, code in rows:
        regions_of.setdefault(name, set()).add(cog[code]["region"])
    listed = {code for _, code in rows}
    out = {}
    for region in sorted({cog[c]["region"] for c in listed}):
        communes = {c: r for c, r in cog.items() if r["region"] == region}
        pop = sum(int(r["population"]) for r in communes.values())
        covered = [c for c in communes if c in listed]
        names = list(dict.fromkeys(n for n, c in rows if cog[c]["region"] == region))
        share_communes = len(covered) / len(communes)
        share_population = sum(int(communes[c]["population"]) for c in covered) / pop
        whole = share_communes > 0.5 and share_population > 0.5
        touched = {communes[c]["departement"] for c in covered}
        out[region] = {
            "territories": names,
            "straddling": sorted(n for n in names if len(regions_of[n]) > 1),
            "whole": whole,
            "orphans": sorted(set(communes) - listed) if whole else [],
            "outside_file": []
            if whole
            else sorted(c for c in communes if communes[c]["departement"] in touched and c not in listed),
            "share_communes": share_communes,
            "share_population": share_population,
            "population": pop,
            "n_communes": len(communes),
            "n_covered": len(covered),
        }
    return out


@pytest.fixture(scope="module")
def listing(tmp_path_factory, cog, epci_names):
    folder = tmp_path_factory.mktemp("ars")
    rows = _listing(cog, epci_names)
    return {"path": _write(folder / "cpts_bretagne_pdl.csv", rows), "rows": rows, "folder": folder}


def test_plan_gives_each_region_of_the_file_its_view(listing, cog):
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reports.regional_view import plan_regions

    expected = _expected(cog, listing["rows"])
    assert set(expected) == {"28", "52", "53"}
    assert {r for r, e in expected.items() if e["whole"]} == {"52", "53"}  # Normandie: a few communes only
    perims = read_perimeters(listing["path"])
    plans = plan_regions(perims)
    by_share = sorted(expected, key=lambda c: (-expected[c]["share_population"], c))
    assert [p["code"] for p in plans] == by_share and by_share[-1] == "28"  # largest coverage first
    plans = {p["code"]: p for p in plans}
    for code, e in expected.items():
        assert plans[code]["territories"] == e["territories"]
        assert sorted(plans[code]["straddling"]) == e["straddling"]
        assert plans[code]["n_communes"] == e["n_communes"] and plans[code]["n_covered"] == e["n_covered"]
        assert plans[code]["mostly_covered"] == e["whole"] and not plans[code]["declared"]
    redon = "CPTS CA Redon Agglomération"
    assert plans["53"]["straddling"][redon] == ["Pays de la Loire (52)"]
    assert plans["52"]["straddling"][redon] == ["Bretagne (53)"]
    assert plans["28"]["folder"] == "region-28-normandie"
    # A région asked for is alone and declared as study area; one the file does not touch is an error.
    [normandie] = plan_regions(perims, region="28")
    assert (normandie["code"], normandie["declared"], normandie["mostly_covered"]) == ("28", True, False)
    with pytest.raises(InputError, match="aucun territoire"):
        plan_regions(perims, region="84")
    with pytest.raises(InputError, match="code région inconnu"):
        plan_regions(perims, region="99")


def _table_rows(page: str) -> list[str]:
    table = re.search(r'<table class="cpts-t cpts-regional">(.*?)</table>', page, re.DOTALL)
    assert table
    body = table.group(1).split("<tbody>", 1)[1]
    return [_html.unescape(r) for r in re.findall(r"<tr[^>]*>.*?</tr>", body, re.DOTALL)]


@pytest.fixture(scope="module")
def views(listing):
    from cpts_diag.reports.regional_view import run_regional_views

    out = listing["folder"] / "sorties"
    first = run_regional_views(listing["path"], out_dir=out, cpam="aucun")
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("region-*/*")}
    second = run_regional_views(listing["path"], out_dir=out, cpam="aucun", previous=first)
    return {"out": out, "first": {r["code"]: r for r in first}, "second": second, "mtimes": mtimes}


@pytest.mark.slow
def test_each_region_gets_its_check_synthesis_and_map_with_its_study_area(views, listing, cog):
    import pyogrio

    from cpts_diag.reports.regional_view import REGION_FILES

    out, records = views["out"], views["first"]
    expected = _expected(cog, listing["rows"])
    assert {c: r["status"] for c, r in records.items()} == {"52": "ok", "53": "ok", "28": "ok"}
    folders = ["region-28-normandie", "region-52-pays-de-la-loire", "region-53-bretagne"]
    assert sorted(p.name for p in out.iterdir()) == folders
    for code in ("52", "53", "28"):
        folder = out / records[code]["folder"]
        assert sorted(p.name for p in folder.iterdir()) == sorted(REGION_FILES.values())  # nothing else left
        assert {k: out / v for k, v in records[code]["outputs"].items()} == {
            k: folder / v for k, v in REGION_FILES.items()
        }
        # Bretagne and Pays de la Loire, mostly in the file: the région is the study area, its communes outside the
        # file are the orphans. Normandie, barely touched: no study area, no orphan, its communes « hors fichier ».
        e = expected[code]
        gpkg = folder / "controle_perimetres.gpkg"
        present = {name for name, _ in pyogrio.list_layers(gpkg)}  # an empty layer is not written
        layers = {
            name: pyogrio.read_dataframe(gpkg, layer=name, read_geometry=False)["code_insee"].tolist()
            if name in present
            else []
            for name in ("orphelines", "hors_fichier")
        }
        assert sorted(layers["orphelines"]) == e["orphans"]
        assert sorted(layers["hors_fichier"]) == e["outside_file"]
        assert records[code]["check"]["n_orphans"] == len(e["orphans"])
        assert records[code]["check"]["n_outside_file"] == len(e["outside_file"])
        deps = sorted({r["departement"] for r in cog.values() if r["region"] == code}) if e["whole"] else []
        assert records[code]["study_area"] == deps
        study = pd.read_excel(folder / "controle_perimetres.xlsx", sheet_name=None, dtype=str)
        summary = next(df for name, df in study.items() if "Zone d'étude (départements)" in df.iloc[:, 0].tolist())
        values = dict(zip(summary.iloc[:, 0], summary.iloc[:, 1]))
        assert values["Zone d'étude (départements)"] == (", ".join(deps) or "aucun")
        rule = values["Règle de la zone d'étude"]
        assert rule.startswith(
            "zone d'étude de la vue régionale : " + ("la région" if e["whole"] else "les départements")
        )
        # The synthesis lists the territories with a commune in the région, the straddling ones said so.
        page = (folder / "synthese_regionale.html").read_text(encoding="utf-8")
        rows = _table_rows(page)
        territories = [r for r in rows if 'class="ref"' not in r]
        names = [re.match(r"<tr>\s*<td>(.*?)</td>", r, re.DOTALL).group(1) for r in territories]
        straddling = e["straddling"]
        assert names == [n + (f" ({STRADDLE})" if n in straddling else "") for n in e["territories"]]
        assert straddling and f"Territoires {STRADDLE}" in _html.unescape(page)
        region_row = next(r for r in rows if 'class="ref"' in r)
        assert f">{e['population']:,}<".replace(",", "\u202f") in region_row
        title = re.search(r"<title>(.*?)</title>", page).group(1)
        assert code in title and records[code]["name"] in _html.unescape(title)
        text = _html.unescape(page)
        if e["whole"]:
            assert f"Zone d'étude des communes orphelines : la région {records[code]['name']} entière." in text
        else:
            assert "Zone d'étude des communes orphelines : aucune, aucune commune n'est dite orpheline." in text
            assert "Communes orphelines (sans CPTS)" not in text and "Aucune commune orpheline dans la zone" in text
        assert (folder / "carte_regionale.html").stat().st_size > 10_000
    # The overlap (Rennes in Vitré Communauté too) is a finding of Bretagne only.
    assert records["53"]["check"]["n_overlaps"] == 1 and records["52"]["check"]["n_overlaps"] == 0
    assert not list(out.glob(".*"))  # no temporary folder left


@pytest.mark.slow
def test_rerun_keeps_unchanged_regions_and_redoes_a_changed_one(views, listing, cog):
    import pyogrio

    from cpts_diag.reports.regional_view import run_regional_views

    out = views["out"]
    assert {r["code"]: r["status"] for r in views["second"]} == {"52": "inchangé", "53": "inchangé", "28": "inchangé"}
    assert {p: p.stat().st_mtime_ns for p in out.glob("region-*/*")} == views["mtimes"]
    assert all(r["fingerprint"] == views["first"][r["code"]]["fingerprint"] for r in views["second"])
    # The line of Rennes in Vitré Communauté now lists a commune of Leff Armor (the other lines keep their number):
    # only Bretagne changes, one overlap and one orphan fewer.
    leff = min(c for c, r in cog.items() if r["epci_siren"] == LEFT_OUT)
    rows = [(n, leff) if (n, c) == ("CPTS CA Vitré Communauté", RENNES) else (n, c) for n, c in listing["rows"]]
    _write(listing["path"], rows)
    third = {r["code"]: r for r in run_regional_views(listing["path"], out_dir=out, previous=views["second"])}
    assert {c: r["status"] for c, r in third.items()} == {"52": "inchangé", "53": "ok", "28": "inchangé"}
    assert third["53"]["check"]["n_overlaps"] == 0
    folder = out / third["53"]["folder"]
    orphans = pyogrio.read_dataframe(folder / "controle_perimetres.gpkg", layer="orphelines", read_geometry=False)
    assert sorted(orphans["code_insee"]) == _expected(cog, rows)["53"]["orphans"]
    assert leff not in set(orphans["code_insee"]) and len(orphans) == views["first"]["53"]["check"]["n_orphans"] - 1
    assert (folder / "synthese_regionale.html").stat().st_mtime_ns > views["mtimes"][folder / "synthese_regionale.html"]


@pytest.mark.slow
def test_index_has_a_section_per_region_with_its_study_area(views, listing):
    from cpts_diag.reports.index_page import render_index

    out = views["out"]
    page = _html.unescape(render_index([], regions=list(views["first"].values()), out_dir=out, perimeters_name="x.csv"))
    for code, name in (("53", "Bretagne"), ("52", "Pays de la Loire"), ("28", "Normandie")):
        record = views["first"][code]
        assert f"<h3>{name} ({code})" in page
        for rel in record["outputs"].values():
            if not rel.endswith(".ipynb"):
                assert f'href="{rel}"' in page
    section = page.split("<h3>Normandie (28)")[1].split("<h3>")[0]
    assert "zone d'étude : aucune" in section and "0 commune orpheline" in section
    assert f"{views['first']['28']['check']['n_outside_file']} communes « hors fichier »" in section.replace(
        "\u202f", ""
    )
    assert "--region" not in section
    assert "CPTS CA Redon Agglomération (aussi : Pays de la Loire (52))" in page
