"""Tests of cpts_diag.reports.sections (what notebook 02 displays) on a small real territory outside PACA.

Expectations are read from the raw embedded files with the csv module (populations of
data/communes_cog2026.csv), never from the code under test.
"""

from __future__ import annotations

import csv
import re

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


def test_printed_map_and_carte_share_one_set_of_classes(data):
    """The printed map and carte.html show the same class limits and put each commune in the same class;
    carte.html shows each APL of data/apl_mg_communes_2022_2023.csv (read here) with two decimals."""
    import json
    import re

    from matplotlib.colors import to_hex
    from matplotlib.patches import Patch

    from cpts_diag.outputs.maps.offline import map_html
    from cpts_diag.reports import sections

    fig = sections._printed_map(data)
    legend = fig.legends[0]
    printed = {
        to_hex(h.get_facecolor()): t.get_text()
        for h, t in zip(legend.legend_handles, legend.get_texts())
        if isinstance(h, Patch) and not h.get_hatch()  # the classes (masked and orphan patches are hatched)
    }
    m = sections._web_map(data)
    html = map_html(m)
    web = dict(re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"[^>]*/></svg><span>([^<]+)</span>', html))
    assert len(printed) >= 2 and {c: web[c] for c in printed} == printed
    with open(settings.DATA_DIR / "apl_mg_communes_2022_2023.csv", encoding="utf-8", newline="") as fh:
        apl = {r["code_insee"]: float(r["apl_mg_2023"]) for r in csv.DictReader(fh) if r["code_insee"] in CODES}
    layer = next(c for c in m._children.values() if getattr(c, "role", None) == "communes")
    styles = json.loads(layer.styles)  # one list of styles per view: APL 2023, then the F-EDI quintiles
    for style, tip, _ in json.loads(layer.data)["f"]:
        code = tip[0][-6:-1]
        assert tip[1].startswith(f"{apl[code]:.2f}".replace(".", ","))
        assert styles[0][style[0]]["fillColor"] in printed


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
    assert "ceux de la région du territoire. Aucun repère propre à la région Bretagne (53)" in page


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


# ---------------------------------------------------------------------------
# as the command line: no CPAM table with a user's file, nothing points to a file that was not written
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def unwritten(tmp_path_factory):
    """The same territory with the notebook's defaults: CPAM parameter and output folder left empty."""
    from cpts_diag.reports.report_data import load_report_data

    folder = tmp_path_factory.mktemp("brest-defaut")
    perimeters = folder / "perimetres.csv"
    perimeters.write_text("cpts;code_insee\n" + "".join(f"{NAME};{c}\n" for c in CODES), encoding="utf-8")
    return load_report_data(NAME, perimeters, cpam="", out_dir="")


def test_default_cpam_with_a_users_file_is_no_table(unwritten):
    from cpts_diag.reports.sections import header, sources_and_limits

    assert unwritten.cpam_mode == "aucun" and not unwritten.diag.fictitious
    for section in (header(unwritten), sources_and_limits(unwritten)):
        assert "banner-fictitious" not in section.html and 'class="fictitious-tag"' not in section.html
        assert "Données fictives —" not in section.html


def test_access_says_once_that_the_cpam_indicators_need_the_table(data, unwritten):
    from cpts_diag.reports.sections import access

    for d in (data, unwritten):  # « aucun » given, or the default with a user's file
        html = access(d).html
        assert html.count("ne sont pas publiés en données ouvertes par commune") == 1
        assert "fichier_cpam" in html and "--cpam" in html
        assert "sans médecin traitant</th>" not in html and "couverture 0" not in html
        # the CPAM rows are not in any table; the open-data ALD share (bassin de vie) stays
        assert "Part des patients en ALD (base : population consommante)" not in html
        assert "Part de la population en affection de longue durée (ALD)" in html


def test_example_table_without_the_territorys_communes_is_said_not_tabled(tmp_path):
    """The fictitious example covers PACA only: asked for in Bretagne, it gives no table of « n.d. »."""
    from cpts_diag.reports.report_data import load_report_data
    from cpts_diag.reports.sections import access

    perimeters = tmp_path / "perimetres.csv"
    perimeters.write_text("cpts;code_insee\n" + "".join(f"{NAME};{c}\n" for c in CODES), encoding="utf-8")
    with open(settings.DEFAULT_CPAM, encoding="utf-8", newline="") as fh:
        cpam_codes = {r["code_commune"] for r in csv.DictReader(fh, delimiter=";")}
    assert not cpam_codes & set(CODES) and all(c[:2] in {"04", "05", "06", "13", "83", "84"} for c in cpam_codes)
    data = load_report_data(NAME, perimeters, cpam="exemple")
    html = access(data).html
    assert "ne contient aucune commune de ce territoire" in html and "Provence-Alpes-Côte d'Azur" in html
    assert "couverture 0" not in html and "sans médecin traitant</th>" not in html


def test_nothing_points_to_a_map_that_was_not_written(unwritten, tmp_path, monkeypatch):
    from cpts_diag.reports.sections import access, territory_map, write_outputs

    monkeypatch.chdir(tmp_path)
    shown = " ".join(s.html for s in (territory_map(unwritten), access(unwritten), write_outputs(unwritten)))
    assert "href=" not in shown and "<code>carte.html</code>" not in shown
    assert "fichier joint" not in shown
    assert "Aucun fichier écrit : le paramètre dossier_sortie est vide" in shown
    # the command that writes them, for this file and this territory, runnable from the kernel's folder
    import html as _html
    import re
    import shlex
    from pathlib import Path

    command = _html.unescape(re.search(r"<code>(cpts-diag report [^<]*)</code>", shown).group(1))
    program, verb, path, option, territory = shlex.split(command)
    assert (program, verb, option, territory) == ("cpts-diag", "report", "--territoire", NAME)
    assert (Path.cwd() / path).resolve() == unwritten.perimeters_path.resolve()
    assert list(tmp_path.iterdir()) == []


def test_links_reach_the_written_files_from_the_kernels_folder(data, monkeypatch):
    """The links of the notebook are relative to the kernel's folder (the notebook's, in JupyterLab)."""
    import re
    from pathlib import Path

    from cpts_diag.reports.sections import territory_map, write_outputs

    monkeypatch.chdir(data.out_dir.parent)
    html = territory_map(data).html + write_outputs(data).html
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert set(hrefs) == {"sorties/carte.html", "sorties/indicateurs.xlsx", "sorties/perimetre.gpkg"}
    assert all((Path.cwd() / h).is_file() for h in hrefs)


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


def test_a_territory_near_a_threshold_says_so(tmp_path, raw_communes):
    import html as _html

    from cpts_diag.reports.report_data import load_report_data
    from cpts_diag.reports.sections import header, tier_section

    # an EPCI of the Ain within 5 % of 40 000 inhabitants (found here from the raw COG)
    totals: dict[str, int] = {}
    for r in raw_communes:
        if r["type"] == "commune-actuelle" and r["departement"] == "01" and r["epci_siren"]:
            totals[r["epci_siren"]] = totals.get(r["epci_siren"], 0) + int(r["population"])
    siren, population = next((s, p) for s, p in sorted(totals.items()) if 40_000 <= p <= 42_000)
    codes = [r["code_insee"] for r in raw_communes if r["type"] == "commune-actuelle" and r["epci_siren"] == siren]
    perimeters = tmp_path / "p.csv"
    perimeters.write_text("cpts;code_insee\n" + "".join(f"T;{c}\n" for c in codes), encoding="utf-8")
    data = load_report_data("T", perimeters, cpam="aucun")
    margin = f"{population - 40_000:,}".replace(",", "\u202f")
    page = _html.unescape(tier_section(data).html)
    assert f"Proche d'un seuil : {margin}\u00a0hab. au-dessus du seuil de 40\u202f000 (moins de 5 %)" in page
    assert f"proche d'un seuil : {margin}\u00a0hab. au-dessus du seuil de 40\u202f000" in _html.unescape(
        header(data).html
    )


def test_a_territory_far_from_the_thresholds_says_nothing(data):
    from cpts_diag.reports.sections import tier_section

    population = _raw_population(CODES)  # Brest and Guipavas: far from 175 000
    assert abs(population - 175_000) > 0.05 * 175_000
    assert "threshold-note" not in tier_section(data).html and "Proche d'un seuil" not in tier_section(data).html


# ------------------------------------------------------------------ F-EDI, 75+ and single-parent families
def _epci_codes(siren: str) -> list[str]:
    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return [
            r["code_insee"] for r in csv.DictReader(fh) if r["type"] == "commune-actuelle" and r["epci_siren"] == siren
        ]


def _raw_social(codes) -> dict[str, dict]:
    with open(settings.DATA_DIR / "indicateurs_sociaux_communes.csv", encoding="utf-8", newline="") as fh:
        return {r["code_insee"]: r for r in csv.DictReader(fh) if r["code_insee"] in codes}


def _report_data(tmp_path_factory, name, codes):
    from cpts_diag.reports.report_data import load_report_data

    folder = tmp_path_factory.mktemp("fedi")
    perimeters = folder / "perimetres.csv"
    perimeters.write_text("cpts;code_insee\n" + "".join(f"{name};{c}\n" for c in codes), encoding="utf-8")
    return load_report_data(name, perimeters, cpam="aucun", out_dir=folder / "sorties")


@pytest.fixture(scope="module")
def ardennes(tmp_path_factory):
    """CA Ardenne Métropole (Grand Est, 57 communes, every national F-EDI quintile)."""
    return _report_data(tmp_path_factory, "CA Ardenne Métropole", _epci_codes("200041630"))


@pytest.fixture(scope="module")
def reunion(tmp_path_factory):
    """CA Territoire de la Côte Ouest (La Réunion): no F-EDI (metropolitan France only)."""
    return _report_data(tmp_path_factory, "TCO", _epci_codes("249740101"))


def test_deprivation_names_the_most_deprived_communes_of_the_raw_file(ardennes):
    from cpts_diag.reports.sections import access

    codes = _epci_codes("200041630")
    social = _raw_social(codes)
    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["type"] == "commune-actuelle" and r["code_insee"] in codes]
    populations = {r["code_insee"]: int(r["population"]) for r in rows}
    q5 = [c for c in codes if social[c]["fedi_quintile"] == "5"]
    assert len(q5) == 2
    html = access(ardennes).html
    part = html[html.index("Défavorisation sociale : indice F-EDI 2021") :]
    sentence = part[part.index("Communes du quintile le plus défavorisé") :].split("</p>")[0]
    assert all(f"({c}) ({populations[c]:,}".replace(",", "\u202f") in sentence for c in q5)
    assert sentence.count("hab.)") == 2
    total = sum(populations[c] for c in q5)
    assert f"soit {total:,}".replace(",", "\u202f") + "\u202fhabitants" in sentence
    for k in range(1, 6):  # population 2023 of the communes of each quintile
        pop = sum(populations[c] for c in codes if social[c]["fedi_quintile"] == str(k))
        assert f"quintile {k} : {pop:,}".replace(",", "\u202f") + "\u202fhab." in part
    # the share of quintile 5 in the table: census 2022 weights of the raw file
    weights = {c: float(social[c]["population_2022"]) for c in codes}
    share = 100 * sum(weights[c] for c in q5) / sum(weights.values())
    row = ardennes.diag.indicators.query("indicator == 'fedi_quintile_5_part' and level == 'territoire'").iloc[0]
    assert row["value"] == pytest.approx(share)
    assert f"{share:.1f}".replace(".", ",") in part
    assert "<figure><img" in part and "Quintile national de l'indice de défavorisation F-EDI" in part


def test_printed_and_web_fedi_maps_colour_each_commune_by_its_raw_quintile(ardennes):
    import json

    from matplotlib.colors import to_hex
    from matplotlib.patches import Patch

    from cpts_diag.outputs import open_report
    from cpts_diag.outputs.maps.classes import PALETTES
    from cpts_diag.outputs.maps.offline import map_html
    from cpts_diag.reports import sections

    social = _raw_social(_epci_codes("200041630"))
    colors = PALETTES["YlOrRd"]
    fig = sections._printed_fedi_map(ardennes)
    box = fig.axes[0].get_legend()  # beside the map
    legend = {
        t.get_text(): to_hex(h.get_facecolor())
        for h, t in zip(box.legend_handles, box.get_texts())
        if isinstance(h, Patch)
    }
    assert legend["1 : le moins défavorisé"] == colors[0] and legend["5 : le plus défavorisé"] == colors[4]
    assert "non disponible" in legend
    m = sections._web_map(ardennes)
    html = map_html(m)
    assert open_report.FEDI_LABEL in html and 'name="cpts-view"' in html
    layer = next(c for c in m._children.values() if getattr(c, "role", None) == "communes")
    styles = json.loads(layer.styles)
    for style, tip, _ in json.loads(layer.data)["f"]:
        code = tip[0][-6:-1]
        quintile = int(social[code]["fedi_quintile"])
        assert styles[1][style[1]]["fillColor"] == colors[quintile - 1], code
        assert f"quintile {quintile} sur 5" in " ".join(tip)
        assert f"{float(social[code]['part_75_plus']):.1f}".replace(".", ",") + "\u202f%" in tip


def test_the_75_plus_and_single_parent_shares_of_a_drom_territory_follow_the_raw_file(reunion):
    codes = _epci_codes("249740101")
    social = _raw_social(codes)
    weights = {c: float(social[c]["population_2022"]) for c in codes}
    for indicator in ("part_75_plus", "part_familles_monoparentales"):
        expected = sum(float(social[c][indicator]) * w for c, w in weights.items()) / sum(weights.values())
        row = reunion.diag.indicators.query(f"indicator == '{indicator}' and level == 'territoire'").iloc[0]
        assert row["value"] == pytest.approx(expected)


def test_fedi_is_not_available_in_la_reunion_never_zero(reunion):
    import json

    from cpts_diag.reports.sections import _web_map, access, header, key_figures

    part = access(reunion).html.split("Défavorisation sociale : indice F-EDI 2021")[1]
    assert "Non disponible pour ce territoire" in part and "<figure" not in part
    territory_cells = re.findall(r'<th scope="row">.*?</th>\s*<td class="num">([^<]*)<', part.split("</table>")[0])
    assert territory_cells == ["n.d."] * 6  # the mean score and the five quintiles: unknown, never 0
    figures = {f["indicator"]: f for f in key_figures(reunion).values()}
    assert figures["fedi_quintile_5_part"]["value"] is None and figures["fedi_quintile_5_part"]["text"] == "n.d."
    assert "aucun habitant" not in header(reunion).html.split("quintile 5")[0][-300:]
    layer = next(c for c in _web_map(reunion)._children.values() if getattr(c, "role", None) == "communes")
    styles = json.loads(layer.styles)
    for style, tip, _ in json.loads(layer.data)["f"]:
        assert styles[1][style[1]].get("className") == "cpts-masked" and "non disponible" in tip


def test_a_zero_count_is_said_in_words(ardennes, reunion):
    from cpts_diag.reports.sections import key_figures

    for data in (ardennes, reunion):
        for label, f in key_figures(data).items():
            if f["value"] == 0 and f["unit"] == "hab.":
                assert f["text"] == "aucun habitant", label
            assert not f["text"].startswith("0\u00a0hab"), label


def test_workbook_gives_the_social_data_per_commune_with_source_and_never_zero(ardennes, reunion, tmp_path):
    from cpts_diag.outputs.indicator_outputs import write_indicator_workbook

    for data, siren in ((ardennes, "200041630"), (reunion, "249740101")):
        social = _raw_social(_epci_codes(siren))
        path = write_indicator_workbook(data.diag, tmp_path / f"{siren}.xlsx")
        wb = openpyxl.load_workbook(path, read_only=True)
        rows = [r for r in wb["Communes"].iter_rows(values_only=True)]
        notes = " ".join(str(r[0]) for r in rows[:4] if r and r[0])
        assert "Santé publique France, indice de défavorisation F-EDI 2021" in notes and "niveau commune" in notes
        assert "INSEE, recensement 2022" in notes and "jamais zéro" in notes
        header = next(i for i, r in enumerate(rows) if r and r[0] == "Code commune")
        head = rows[header]
        col = {name: head.index(name) for name in head if name}
        quintile = col["Quintile national F-EDI 2021 (5 = le plus défavorisé ; vide = non disponible)"]
        old = col["Part des 75 ans et plus (%)"]
        for r in rows[header + 1 :]:
            raw = social[r[col["Code commune"]]]
            assert r[quintile] == (float(raw["fedi_quintile"]) if raw["fedi_quintile"] else None)
            assert r[old] == pytest.approx(float(raw["part_75_plus"]))
        social_sheet = [r for r in wb["Santé et social"].iter_rows(values_only=True)]
        head = next(r for r in social_sheet if r and r[0] == "Indicateur")
        fedi = next(r for r in social_sheet if r and str(r[0]).startswith("Indice de défavorisation F-EDI"))
        assert fedi[head.index("France : champ")] == "France métropolitaine"
        assert (fedi[head.index("Territoire")] is None) == (siren == "249740101")  # La Réunion: n.d., not 0


def test_method_speaks_of_fictitious_data_only_where_the_report_uses_them(data):
    import dataclasses

    from cpts_diag.reports.sections import method

    real = method(data).html
    assert "Par ailleurs, quand deux indicateurs" in real and "fictiv" not in real
    demo = method(dataclasses.replace(data, cpam_mode="exemple")).html
    assert "des données fictives n'écartent jamais de données réelles" in demo.replace("&#x27;", "'")
    assert "<strong>exemple fictif</strong>" in demo
