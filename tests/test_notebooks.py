"""Notebooks 01 (perimeter check) and 03 (regional synthesis) executed with papermill on the embedded data.

Each notebook runs once per module (slow); the tests read its displayed outputs and compare them with
values computed here, from the raw data files or the library.
"""

from __future__ import annotations

import csv
import html as _html
import json
import re
from pathlib import Path

import nbformat
import openpyxl
import pytest

from cpts_diag import settings
from cpts_diag.fr_format import integer as fmt_int
from cpts_diag.fr_format import number as fmt_number
from cpts_diag.io.perimeters import read_perimeters

NB01 = settings.NOTEBOOKS_DIR / "01_controle_perimetres.ipynb"
NB03 = settings.NOTEBOOKS_DIR / "03_synthese_regionale.ipynb"


def _html_outputs(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            if "text/html" in data:
                parts.append(data["text/html"])
    return "\n".join(parts)


def _errors(nb) -> list:
    return [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")
    ]


def _execute(src: Path, dest: Path, parameters: dict):
    import papermill as pm

    from cpts_diag.reports.runner import _kernel_env

    _kernel_env()
    return pm.execute_notebook(
        str(src), str(dest), parameters=parameters, kernel_name="python3", progress_bar=False, cwd=str(dest.parent)
    )


# ------------------------------------------------------------------ committed notebooks (fast)


@pytest.mark.parametrize("path", [NB01, NB03], ids=["01", "03"])
def test_committed_without_outputs_and_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_parameter_defaults_run_on_embedded_data():
    import papermill as pm

    # Empty values mean what the command line does without the option: the embedded PACA listing, the default
    # study area of `check`, the région of the file, the CPAM default of io.params.cpam_choice; notebook 03's study
    # area is that of `batch`'s view of the région (zone_etude_region False), as without --region.
    p01 = {k: v["default"] for k, v in pm.inspect_notebook(str(NB01)).items()}
    assert p01 == {
        "perimetres": '""',
        "region": '""',
        "departements": "[]",
        "fichier_geometries": '""',
        "dossier_sortie": '""',
    }
    p03 = {k: v["default"] for k, v in pm.inspect_notebook(str(NB03)).items()}
    assert p03 == {
        "perimetres": '""',
        "territoire": '""',
        "region": '""',
        "fichier_cpam": '""',
        "dossier_sortie": '""',
        "zone_etude_region": "False",
    }


# ------------------------------------------------------------------ notebook 01 (executed)


@pytest.fixture(scope="module")
def nb01(tmp_path_factory):
    out = tmp_path_factory.mktemp("nb01")
    nb = _execute(NB01, out / "01.ipynb", {"dossier_sortie": str(out / "controle")})
    return nb, out


@pytest.fixture(scope="module")
def paca_check():
    from cpts_diag.checks import check_perimeters

    return check_perimeters(read_perimeters(settings.DEFAULT_PERIMETERS), regions=["93"])


def _summary_value(html: str, label: str) -> str:
    m = re.search(rf"<td>{re.escape(_html.escape(label))}</td><td[^>]*>([^<]*)</td>", html)
    assert m, label
    return m.group(1)


@pytest.mark.slow
def test_nb01_counts_match_library(nb01, paca_check):
    nb, _ = nb01
    assert _errors(nb) == []
    html = _html_outputs(nb)
    s = paca_check.summary
    assert _summary_value(html, "Communes orphelines") == fmt_int(s["n_orphans"])
    assert _summary_value(html, "Chevauchements") == fmt_int(s["n_overlaps"])
    assert _summary_value(html, "Codes périmés") == fmt_int(s["n_outdated_codes"])
    assert _summary_value(html, "Territoires") == "70"
    assert s["n_orphans"] == 45  # ARS PACA listing: 902 communes covered out of 947 (946 at COG 2026)
    assert f"Communes orphelines ({s['n_orphans']})" in html


@pytest.mark.slow
def test_nb01_findings_name_communes(nb01, paca_check):
    nb, _ = nb01
    html = _html_outputs(nb)
    for o in paca_check.orphans:
        assert f"<td>{o['code_insee']}</td><td>{_html.escape(o['name'])}</td>" in html
    for o in paca_check.overlaps:  # Nice, Marseille, Toulon
        assert f"<td>{o['code_insee']}</td><td>{_html.escape(o['name'])}</td>" in html
    assert "<td>13201</td><td>Marseille 1er Arrondissement</td>" in html  # uncovered arrondissement
    assert "<td>05120</td><td>05001</td>" in html  # outdated code → current commune


@pytest.mark.slow
def test_nb01_population_table_and_maps(nb01, paca_check):
    nb, _ = nb01
    html = _html_outputs(nb)
    for t in paca_check.territories:
        assert f"<td>{_html.escape(t['name'])}</td>" in html
    gap = next(t for t in paca_check.territories if t["name"] == "CPTS du Gapençais")
    assert (
        f'<td>CPTS du Gapençais</td><td class="num">34</td><td class="num">{fmt_int(gap["population"])}'
        f"</td><td>T{gap['tier']}</td>" in html
    )
    # Static map (PNG) and the offline interactive map (Leaflet inlined, no CDN).
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in (o.get("data") or {})]
    assert len(images) == 1
    frame = re.search(r'<iframe srcdoc="([^"]*)"', html)
    assert frame
    page = _html.unescape(frame.group(1))
    from xstatic.pkg import leaflet as xleaflet

    library = (Path(xleaflet.BASE_DIR) / "leaflet.js").read_text(encoding="utf-8")
    assert library[:2000] in page and "L.map(" in page  # the Leaflet library itself, inlined, and a map drawn
    assert not re.search(r"""<(script|link)\b[^>]*(src|href)=["']https?://""", page)
    assert "Sources : INSEE" in html


@pytest.mark.slow
def test_nb01_writes_check_files(nb01, paca_check):
    _, out = nb01
    wb = openpyxl.load_workbook(out / "controle" / "controle_perimetres.xlsx", read_only=True)
    rows = list(wb["Orphelines"].iter_rows(values_only=True))
    codes = [r[0] for r in rows if r and isinstance(r[0], str) and re.fullmatch(r"\d[\dAB]\d{3}", r[0])]
    assert codes == [o["code_insee"] for o in paca_check.orphans]
    assert (out / "controle" / "controle_perimetres.gpkg").is_file()


@pytest.mark.slow
def test_nb01_proposals_map_and_what_if(nb01, paca_check):
    nb, out = nb01
    html = _html_outputs(nb)
    # every option of every proposal, ranked, in the proposals table
    first = paca_check.proposals[0]
    assert first["code_insee"] == "04013" and first["candidates"][0]["territory"] == "CPTS Alpes Bléone Durance"
    assert (
        '<td>Orpheline</td><td>04013</td><td>Aubignosc</td><td class="num">616</td><td class="num">1</td>'
        "<td>CPTS Alpes Bléone Durance</td>" in html
    )
    frames = [_html.unescape(f) for f in re.findall(r'<iframe srcdoc="([^"]*)"', html)]
    assert len(frames) == 2 and "Propositions de rattachement — cpts_paca_ars_2026-01.json" in frames[1]
    # the « what if » cell: the first proposal tried, before and after side by side
    assert "+ 04013 Aubignosc (616 hab.) ajoutée à CPTS Alpes Bléone Durance" in _html.unescape(html)
    assert re.search(r'<td>Communes orphelines</td><td class="num">45</td><td class="num">44</td>', html)
    assert "Territoires touchés : avant et après" in html
    corrected = out / "controle" / "perimetres_corriges" / "cpts_paca_ars_2026-01.json"
    listing = json.loads(corrected.read_text(encoding="utf-8"))
    abd = next(t for t in listing["cpts"] if t["nom"] == "CPTS Alpes Bléone Durance")
    assert abd["communes"][-1] == "04013"
    assert (out / "controle" / "carte_propositions.html").is_file()


# ------------------------------------------------------------------ notebook 03 (executed)


@pytest.fixture(scope="module")
def nb03(tmp_path_factory):
    from cpts_diag.reports.batch import run_synthesis

    out = tmp_path_factory.mktemp("nb03")
    page = run_synthesis(None, "93", out, "exemple")
    nb = nbformat.read(out / "synthese_regionale.ipynb", as_version=4)
    return nb, out, page


def _regional_rows(html: str) -> list[str]:
    table = re.search(r'<table class="cpts-t cpts-regional">(.*?)</table>', html, re.DOTALL)
    assert table
    body = table.group(1).split("<tbody>", 1)[1]
    return re.findall(r"<tr[^>]*>.*?</tr>", body, re.DOTALL)


@pytest.mark.slow
def test_nb03_region_table(nb03, raw_communes):
    nb, _, _ = nb03
    assert _errors(nb) == []
    rows = _regional_rows(_html_outputs(nb))
    territories = [r for r in rows if not r.startswith('<tr class="ref">')]
    refs = [r for r in rows if r.startswith('<tr class="ref">')]
    assert len(territories) == 70  # the 70 CPTS of PACA (ARS, 01/2026)
    assert len(refs) == 2
    # Région row: population légale 2023 of the communes of PACA, summed from the raw COG file.
    pop = sum(
        int(float(r["population"])) for r in raw_communes if r["type"] == "commune-actuelle" and r["region"] == "93"
    )
    assert "Provence-Alpes-Côte d&#x27;Azur" in refs[0] and f">{fmt_int(pop)}<" in refs[0]
    # France row: named by what most of its values cover (no value for Mayotte), F-EDI for metropolitan France only,
    # both recomputed from the raw census and F-EDI file weighted by the census 2022 population
    assert ">France hors Mayotte<" in refs[1]
    with open(settings.DATA_DIR / "indicateurs_sociaux_communes.csv", encoding="utf-8", newline="") as fh:
        social = {r["code_insee"]: r for r in csv.DictReader(fh)}
    actual = {
        r["code_insee"] for r in raw_communes if r["type"] == "commune-actuelle" and r["zone"] in ("metro", "drom")
    }
    shares = [
        (float(r["part_75_plus"]), float(r["population_2022"]))
        for c, r in social.items()
        if c in actual and r["part_75_plus"]
    ]
    old = sum(v * w for v, w in shares) / sum(w for _v, w in shares)
    scores = [(float(r["fedi_2021"]), float(r["population_2022"])) for r in social.values() if r["fedi_2021"]]
    score = sum(v * w for v, w in scores) / sum(w for _v, w in scores)
    cells = re.findall(r'<td class="num">([^<]*)</td>', refs[1])
    assert fmt_number(old, 1) in cells and f"{fmt_number(score, 1)} (métropole)" in cells
    # A territory row: Gapençais, population from the library, tier 2.
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.territories import resolve_members, territory_table

    table = territory_table(resolve_members(read_perimeters(settings.DEFAULT_PERIMETERS)))
    gap = table.set_index("cpts").loc["CPTS du Gapençais"]
    row = next(r for r in territories if ">CPTS du Gapençais<" in r)
    assert f">{fmt_int(gap['population'])}<" in row and f">T{int(gap['tier'])}<" in row


@pytest.mark.slow
def test_nb03_fictitious_flag_and_maps(nb03):
    nb, _, _ = nb03
    html = _html_outputs(nb)
    assert "DONNÉES FICTIVES" in html and "Données fictives" in html
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in (o.get("data") or {})]
    assert len(images) == 4  # tiers, APL, coverage, orphans
    assert html.count("<iframe srcdoc=") == 2


@pytest.mark.slow
def test_nb03_outputs(nb03):
    nb, out, page = nb03
    carte = out / "carte_regionale.html"
    assert carte.is_file() and carte.stat().st_size <= 1_000_000
    text = carte.read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link)\b[^>]*(src|href)=["']https?://""", text)
    assert "CPTS du Gapençais" in text
    assert page == out / "synthese_regionale.html"
    doc = page.read_text(encoding="utf-8")
    assert '<html lang="fr">' in doc and "Synthèse régionale des CPTS" in doc
    assert doc.count("<style") == 1 and 'class="cpts-diag"' not in doc  # style sheets once, in the head
    assert "regional.show_regional_table" not in doc and "regional_synthesis(" not in doc  # no code
    assert not re.search(r"""<(script|link|img)\b[^>]*(src|href)=["']https?://""", doc)
    assert not list(out.glob(".synthese.*"))  # temporary folder removed
    params = json.dumps(nb.metadata["papermill"]["parameters"])
    assert '"region": "93"' in params
