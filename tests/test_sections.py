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


def test_france_cell_names_what_france_leaves_out(data):
    """France's 2016-2023 growth rate has no Mayotte (population 2016 not published), F-EDI covers metropolitan
    France only: their France cells say so; the population of France leaves nothing out."""
    from cpts_diag.reports.sections import comparison_table

    html = comparison_table(data, ["evolution_pop_2016_2023", "fedi_2021", "population"])
    assert "0,42<br><small>France hors Mayotte</small>" in html
    assert "<small>France métropolitaine</small>" in html
    assert html.count("<small>France") == 2


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
