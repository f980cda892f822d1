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


def test_printed_map_and_carte_share_one_set_of_classes(data):
    """The printed map and carte.html show the same class limits and put each commune in the same class;
    carte.html shows each APL of data/apl_mg_communes_2022_2023.csv (read here) with two decimals."""
    import json
    import re

    from matplotlib.colors import to_hex
    from matplotlib.patches import Patch

    from cpts_diag.outputs import maps
    from cpts_diag.reports import sections

    fig = sections._printed_map(data)
    legend = fig.legends[0]
    printed = {
        to_hex(h.get_facecolor()): t.get_text()
        for h, t in zip(legend.legend_handles, legend.get_texts())
        if isinstance(h, Patch) and not h.get_hatch()  # the classes (masked and orphan patches are hatched)
    }
    m = sections._web_map(data)
    html = maps.map_html(m)
    web = dict(re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"[^>]*/></svg><span>([^<]+)</span>', html))
    assert len(printed) >= 2 and {c: web[c] for c in printed} == printed
    with open(settings.DATA_DIR / "apl_mg_communes_2022_2023.csv", encoding="utf-8", newline="") as fh:
        apl = {r["code_insee"]: float(r["apl_mg_2023"]) for r in csv.DictReader(fh) if r["code_insee"] in CODES}
    layer = next(c for c in m._children.values() if getattr(c, "role", None) == "communes")
    styles = json.loads(layer.styles)
    for style, tip, _ in json.loads(layer.data)["f"]:
        code = tip[0][-6:-1]
        assert tip[1].startswith(f"{apl[code]:.2f}".replace(".", ","))
        assert styles[style]["fillColor"] in printed


def _raw_landmarks(regions) -> list[dict]:
    with open(settings.DATA_DIR / "financement_aci.csv", encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["portee"] in ("nationale", *regions)]


def _raw_regions(codes) -> list[str]:
    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return sorted({r["region"] for r in csv.DictReader(fh) if r["code_insee"] in codes})


def test_tier_section_shows_only_national_landmarks_in_bretagne(data):
    import html as _html

    from cpts_diag.reports.sections import tier_section

    page = _html.unescape(tier_section(data).html)
    assert _raw_regions(CODES) == ["53"]
    shown = _raw_landmarks(["53"])
    assert shown and all(r["portee"] == "nationale" for r in shown)
    for r in shown:
        assert r["repere"] in page and f"{r['source']} ({r['date_source']})" in page
    assert "Normandie" not in page and "Auvergne" not in page  # no other région's FIR aid
    assert "Aucun repère propre à la région Bretagne (53)" in page


@pytest.mark.parametrize(
    "codes, regions",
    [
        (("01053",), ["84"]),  # Bourg-en-Bresse (Ain): the AuRA aid for writing the projet de santé
        (("50410", "35222"), ["28", "53"]),  # Pontorson (Manche) and Pleine-Fougères (Ille-et-Vilaine)
    ],
)
def test_tier_section_shows_the_landmarks_of_the_territory_regions(tmp_path, codes, regions):
    import html as _html

    from cpts_diag.reports.report_data import load_report_data
    from cpts_diag.reports.sections import tier_section

    perimeters = tmp_path / "p.csv"
    perimeters.write_text("cpts;code_insee\n" + "".join(f"T;{c}\n" for c in codes), encoding="utf-8")
    page = _html.unescape(tier_section(load_report_data("T", perimeters, cpam="aucun")).html)
    assert _raw_regions(codes) == regions
    with open(settings.DATA_DIR / "financement_aci.csv", encoding="utf-8", newline="") as fh:
        every = list(csv.DictReader(fh))
    for r in every:
        assert (r["repere"] in page) == (r["portee"] in ("nationale", *regions)), r["repere"]
    regional = [r for r in every if r["portee"] in regions]
    assert regional  # Normandie and AuRA each have one
    for r in regional:
        amount = f"{int(r['taille_1']):,}".replace(",", "\u202f")
        assert f"{amount}\u202f€" in page and r["source"] in page
    if len(regions) > 1:
        assert "Territoire sur 2 régions (Normandie (28), Bretagne (53))" in page
        assert "Aucun repère propre à la région Bretagne (53)" in page
