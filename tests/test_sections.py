"""Tests of cpts_diag.reports.sections (what notebook 02 displays) on a small real territory outside PACA.

Expectations are read from the raw embedded files with the csv module (populations of
data/communes_cog2026.csv), never from the code under test.
"""

from __future__ import annotations

import csv

import openpyxl
import pytest

from cpts_diag import settings

NAME = "CPTS <Rade> & Brest"  # a name with markup: every section must escape it
CODES = ("29019", "29075")  # Brest, Guipavas (Finistère, Bretagne)


def _raw_population(codes) -> int:
    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return sum(int(r["population"]) for r in csv.DictReader(fh) if r["code_insee"] in codes)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from cpts_diag.reports.report_data import load_report_data

    folder = tmp_path_factory.mktemp("brest")
    perimeters = folder / "perimetres.csv"
    perimeters.write_text("cpts;code_insee\n" + "".join(f"{NAME};{c}\n" for c in CODES), encoding="utf-8")
    return load_report_data(NAME, perimeters, cpam="aucun", out_dir=folder / "sorties")


def test_key_figures_and_summary_follow_the_raw_files(data):
    from cpts_diag.reports.sections import key_figures, report_summary

    assert report_summary(data)["population"] == _raw_population(CODES) == 142346 + 15538
    figures = {f["indicator"]: f for f in key_figures(data).values()}
    # APL 2023: mean of the communes' APL weighted by their standardised population (DREES note)
    with open(settings.DATA_DIR / "apl_mg_communes_2022_2023.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["code_insee"] in CODES]
    weights = [float(r["pop_standardisee_2023"]) for r in rows]
    expected = sum(float(r["apl_mg_2023"]) * w for r, w in zip(rows, weights)) / sum(weights)
    assert len(rows) == 2 and figures["apl_mg_2023"]["value"] == pytest.approx(expected, rel=1e-9)
    assert not any(f["fictitious"] for f in figures.values())
    # no CPAM table: the share without a médecin traitant is unknown, never zero
    assert figures.get("part_sans_mt_17_plus", {"value": None})["value"] is None


def test_header_escapes_the_name_and_shows_the_french_population(data):
    from cpts_diag.reports.sections import header

    html = header(data).html
    assert "CPTS &lt;Rade&gt; &amp; Brest" in html and "<Rade>" not in html
    assert "157\u202f884" in html
    assert "fictiv" not in html.lower()  # no CPAM table: nothing fictitious announced


def test_comparison_table_compares_with_the_departement_the_region_and_france(data):
    from cpts_diag.reports.sections import comparison_table

    html = comparison_table(data, ["population"], "légende")
    for column in ("Territoire", "Finistère (29)", "Bretagne", "France"):
        assert f">{column}<" in html, column
    assert "légende" in html


def test_write_outputs_writes_the_map_workbook_and_geopackage(data):
    import pyogrio

    from cpts_diag.reports.sections import write_outputs

    section = write_outputs(data)
    out = data.out_dir
    assert sorted(p.name for p in out.iterdir()) == ["carte.html", "indicateurs.xlsx", "perimetre.gpkg"]
    assert "carte.html" in section.html
    sheets = openpyxl.load_workbook(out / "indicateurs.xlsx").worksheets
    codes = [c for ws in sheets for row in ws.iter_rows() for c in row if c.value in CODES]
    assert codes and all(c.data_type == "s" for c in codes)  # codes as text, never numbers
    layers = {name for name, _ in pyogrio.list_layers(out / "perimetre.gpkg")}
    communes = pyogrio.read_dataframe(out / "perimetre.gpkg", layer="communes" if "communes" in layers else None)
    assert sorted(communes["code_insee"]) == list(CODES)


# ---------------------------------------------------------------------------
# the perimeter findings in every report
# ---------------------------------------------------------------------------
def _cog() -> dict[str, dict]:
    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return {r["code_insee"]: r for r in csv.DictReader(fh) if r["type"] == "commune-actuelle"}


@pytest.fixture(scope="module")
def two_cpts(tmp_path_factory):
    """A two-CPTS file of the Finistère in Windows-1252, Ergué-Gabéric (29051) in both, and the outdated code of
    Étrez (01154, Ain) in the second; the report data of each CPTS."""
    from cpts_diag.reports.report_data import load_report_data

    cog = _cog()
    quimper = sorted(c for c, r in cog.items() if r["epci_siren"] == "200068120")  # CA Quimper Bretagne Occ.
    cap = sorted(c for c, r in cog.items() if r["epci_siren"] == "242900629")  # CC Cap Sizun - Pointe du Raz
    assert "29051" in quimper and "29051" not in cap
    folder = tmp_path_factory.mktemp("finistere")
    path = folder / "cpts_finistère.csv"
    lines = ["Nom CPTS;Code INSEE"] + [f"CPTS Quimper;{c}" for c in quimper]
    lines += [f"CPTS Cap Sizun;{c}" for c in cap + ["29051", "01154"]]
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    data = {
        name: load_report_data(name, path, cpam="aucun", out_dir=folder / name.replace(" ", "_"))
        for name in ("CPTS Quimper", "CPTS Cap Sizun")
    }
    return cog, quimper, cap, data


def test_each_report_says_the_commune_counted_twice_with_its_population(two_cpts):
    from cpts_diag.reports.sections import header, report_summary, territory_overview

    cog, quimper, cap, data = two_cpts
    pop = f"{int(cog['29051']['population']):,}".replace(",", "\u202f")
    for name, other in (("CPTS Quimper", "CPTS Cap Sizun"), ("CPTS Cap Sizun", "CPTS Quimper")):
        d = data[name]
        html = header(d).html
        # the blocking box comes before the key figures, the note sits beside the population
        box = html.index('class="perimetre-alerte bloquant"')
        assert box < html.index('class="kpis"')
        assert f"Ergué-Gabéric (29051, {pop}\u00a0hab.) est aussi dans {other}" in html
        assert f"dont {pop}\u00a0hab. comptés aussi dans {other}" in html
        assert f"dont {pop}\u00a0hab. comptés aussi dans {other}" in territory_overview(d).html
        assert report_summary(d)["perimeter"]["blocking"] is True and report_summary(d)["perimeter"]["bloquant"] == 1
        # the population is the sum of the listed communes, Ergué-Gabéric counted in both
        assert d.summary["population"] == sum(
            int(cog[c]["population"]) for c in set(quimper if name == "CPTS Quimper" else cap + ["29051", "01130"])
        )


def test_the_outdated_code_of_etrez_is_said_with_the_population_it_adds(two_cpts):
    from cpts_diag.reports.sections import header

    cog, _, _, data = two_cpts
    html = header(data["CPTS Cap Sizun"]).html
    bresse = cog["01130"]
    pop = f"{int(bresse['population']):,}".replace(",", "\u202f")
    assert f"01154 → 01130 {bresse['nom']}" in html
    assert f"la population comptée est celle de toute la commune actuelle ({pop}\u00a0hab.)" in html
    assert "Code périmé remplacé" not in header(data["CPTS Quimper"]).html


def test_communes_outside_the_file_are_never_hatched_nor_called_orphans(two_cpts):
    from cpts_diag.reports.sections import header, territory_map

    _, _, _, data = two_cpts
    d = data["CPTS Quimper"]
    assert d.orphans is None  # 24 communes of 277: the Finistère is not the study area
    assert d.perimeter["orphans_touching"] == [] and d.perimeter["outside_file_touching"]
    html = header(d).html
    assert "ce ne sont pas des orphelines" in html
    assert "orphelines de la zone d'étude hachurées" not in territory_map(d).html


def test_the_workbook_and_the_summary_carry_the_perimeter_findings(two_cpts):
    from cpts_diag.reports.sections import write_outputs

    _, _, _, data = two_cpts
    d = data["CPTS Cap Sizun"]
    write_outputs(d)
    wb = openpyxl.load_workbook(d.out_dir / "indicateurs.xlsx")
    assert wb.sheetnames[0] == "Périmètre"
    rows = list(wb["Périmètre"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "Niveau")
    table = rows[start + 1 :]
    assert table[0][:2] == ("bloquant", "Chevauchement") and "Ergué-Gabéric" in table[0][2]
    assert {r[1] for r in table} >= {"Code périmé remplacé", "Territoire discontinu", "Plusieurs départements"}


def test_a_name_that_is_not_its_codes_shows_in_the_box_at_the_top(two_cpts):
    """The same file with a commune-name column (as perim16's reader keeps it): Locronan typed next to 29143."""
    import dataclasses

    from cpts_diag.checks import check_perimeters, territory_findings
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reports.sections import header, report_summary

    cog, _, _, data = two_cpts
    d = data["CPTS Cap Sizun"]
    perims = read_perimeters(d.perimeters_path)
    names = perims.table["code_insee"].map(lambda c: "Locronan" if c == "29143" else cog.get(c, {}).get("nom"))
    perims.table = perims.table.assign(nom_commune=names)
    named = dataclasses.replace(d, perimeter=territory_findings(check_perimeters(perims), "CPTS Cap Sizun"))
    html = header(named).html
    box = html[html.index('class="perimetre-alerte bloquant"') : html.index('class="kpis"')]
    assert "« Locronan » saisi avec le code 29143, qui est Mahalon ; Locronan est 29134" in box
    assert cog["29143"]["nom"] == "Mahalon" and cog["29134"]["nom"] == "Locronan"
    assert report_summary(named)["perimeter"]["à vérifier"] == report_summary(d)["perimeter"]["à vérifier"] + 1
    quimper = dataclasses.replace(
        data["CPTS Quimper"], perimeter=territory_findings(check_perimeters(perims), "CPTS Quimper")
    )
    assert "Locronan" not in header(quimper).html.split('class="kpis"')[0]
