"""Snapshot of the HTML that the package renders, to prove a refactoring leaves it unchanged.

Usage::

    PYTHONPATH=. python benchmarks/snapshot_html.py OUT_DIR        # write one file per output
    diff -r BEFORE_DIR AFTER_DIR                                    # compare two snapshots

Outputs: the batch index page for a fixed batch document, the standalone page skeleton
(``html.html_page``, the unavailable-map page), the notebook-report page wrapper, and every report
section of three PACA territories (a rural one, one with an infra-communal commune, one with
arrondissements) with the embedded FICTITIOUS CPAM example and without CPAM. Only the report date of
the header and the random cell ids of nbconvert are normalised. Never run by the tests (it computes three diagnostics).
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

TERRITORIES = ("CPTS Guil Durance", "CPTS Nice Centre - Nice Est", "CPTS Marseille-7")
SECTIONS = (
    "header",
    "method",
    "territory_overview",
    "territory_map",
    "communes_table",
    "tier_section",
    "demography",
    "care_supply",
    "access",
    "synthesis",
    "sources_and_limits",
    "write_outputs",
)

ENTRIES = [
    {
        "name": "CPTS <Zéro> & Cie",
        "slug": "cpts-zero",
        "status": "ok",
        "outputs": {
            "rapport": "cpts-zero/rapport.html",
            "carte": "cpts zéro/carte.html",
            "indicateurs": "cpts-zero/indicateurs.xlsx",
        },
        "population": 41000,
        "tier": 2,
        "fictitious": True,
        "key_figures": {
            "APL <MG>": {"text": "2,5 consultations"},
            "Part 75+": 12.25,
            "Communes": 7,
            "Bool": True,
            "Vide": None,
            "Dict": {"value": 3.0, "unit": "%"},
            "Dict nd": {"value": None, "unit": "%"},
        },
    },
    {
        "name": "CPTS Nice",
        "slug": "nice",
        "status": "inchangé",
        "population": None,
        "population_min": 10000,
        "population_max": 90000,
        "tier_min": 1,
        "tier_max": 4,
        "outputs": {},
    },
    {"name": "CPTS Échec", "slug": "echec", "status": "échec", "error": "fichier <illisible> & cassé"},
    {"name": "CPTS Autre", "slug": "autre", "status": "bizarre"},
]


def _write(out: Path, name: str, text: str) -> None:
    (out / name).write_text(text, encoding="utf-8")


def main(out: Path) -> None:
    from cpts_diag.outputs import html
    from cpts_diag.reports import index_page
    from cpts_diag.reports import runner as report
    from cpts_diag.reports import sections as report_sections
    from cpts_diag.reports.report_data import load_report_data

    out.mkdir(parents=True, exist_ok=True)
    common = dict(generated="01/01/2026 à 10:00")
    _write(
        out,
        "index_full.html",
        index_page.render_index(
            ENTRIES,
            perimeters_name="périmètres <v2>.csv",
            extra_links=[("synthese_regionale.html", "Synthèse"), ("controle/a b.html", "Contrôle <x>")],
            interrupted=True,
            **common,
        ),
    )
    _write(out, "index_empty.html", index_page.render_index([], sources=[], **common))
    _write(
        out, "index_nofict.html", index_page.render_index(ENTRIES[1:], fictitious=False, sources=["a & b"], **common)
    )
    folder = out / "_batch"
    (folder / "cpts-zero").mkdir(parents=True, exist_ok=True)
    (folder / "cpts-zero" / "rapport.html").write_text("x", encoding="utf-8")
    _write(out, "index_out_dir.html", index_page.render_index(ENTRIES, out_dir=folder, **common))
    _write(out, "page_plain.html", html.html_page('Titre <x> & "y"', "<p>corps</p>"))
    _write(out, "page_css.html", html.html_page("Titre", "<p>corps</p>", "body { color: red; }"))
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Titre\n\ntexte")])
    _write(
        out,
        "report_page.html",
        re.sub(r'id="cell-id=[0-9a-f]+"', 'id="cell-id=ID"', report.notebook_to_html(nb, "Rapport <x>")),
    )

    today = _dt.date.today().strftime("%d/%m/%Y")
    for i, territory in enumerate(TERRITORIES):
        for cpam in ("exemple", "aucun"):
            data = load_report_data(territory, None, cpam, None, None, None)
            for name in SECTIONS:
                section = getattr(report_sections, name)(data)
                text = section.html.replace(f"produit le {today}", "produit le DATE")
                _write(
                    out,
                    f"t{i}_{cpam}_{name}.html",
                    text + "\n---text---\n" + section.text + "\n---extra---\n" + repr(sorted(section.extra)),
                )
            _write(out, f"t{i}_{cpam}_unavailable_map.html", report_sections._unavailable_map_html(data))
            _write(
                out,
                f"t{i}_{cpam}_comparison.html",
                report_sections.comparison_table(data, list(report_sections.KEY_FIGURES), "légende <x>"),
            )
    # branches the embedded data do not reach: a CPAM file, INSEE ages and BPE files given, an output folder
    data = load_report_data(TERRITORIES[0], None, "exemple", None, None, out / "_report")
    for mode in ("exemple", "fichier", "aucun"):
        variant = copy.copy(data)
        variant.cpam_mode, variant.insee_ages, variant.bpe = mode, Path("ages.csv"), Path("bpe.csv")
        for name in ("method", "demography", "care_supply"):
            _write(out, f"variant_{mode}_{name}.html", getattr(report_sections, name)(variant).html)
    _write(out, "variant_write_outputs.html", report_sections.write_outputs(data).html)
    _write(out, "variant_territory_map.html", report_sections.territory_map(data).html)
    carte = (out / "_report" / "carte.html").read_text("utf-8")
    _write(out, "variant_carte.html", re.sub(r"[0-9a-f]{32}", "ID", carte))
    shutil.rmtree(out / "_report")
    shutil.rmtree(out / "_batch")
    # web maps (legend, title, banner, source, style sheet); folium's random element ids normalised
    from cpts_diag.outputs.maps.offline import map_html
    from cpts_diag.outputs.maps.spec import MapSpec
    from cpts_diag.outputs.maps.web import region_map

    def map_page(m) -> str:
        return re.sub(r"[0-9a-f]{32}", "ID", map_html(m))

    _write(out, "map_commune.html", map_page(report_sections._web_map(data)))
    com = data.map_communes.copy()
    com["cpts"], com["taille"] = data.territory, 1
    tiers = MapSpec(com, "taille", orphans=data.orphans, title="Région <test> l'été", source="INSEE & DREES")
    _write(out, "map_region_tiers.html", map_page(region_map(replace(tiers, fictitious=True))))
    values = MapSpec(com, "apl_mg_2023", label="APL", unit="c/an")
    _write(out, "map_region_values.html", map_page(region_map(values, tiles=True)))
    _notebook_displays(out)
    print(f"{len(list(out.iterdir()))} files in {out}")


def _notebook_displays(out: Path) -> None:
    """What notebooks 01 (check) and 03 (regional synthesis) display, with their default parameters."""
    import tempfile

    import IPython.display

    from cpts_diag.reports import check_notebook, regional

    shown: list[str] = []

    def capture(*objs, raw=False, **_kw):
        for obj in objs:
            html = obj["text/html"] if raw else obj._repr_html_() if hasattr(obj, "_repr_html_") else None
            shown.append(html if html is not None else type(obj).__name__)

    display = IPython.display.display
    IPython.display.display = capture
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = check_notebook.run_check("", "93", [], "")
            for step in (
                check_notebook.show_check_summary,
                check_notebook.show_findings,
                check_notebook.show_check_maps,
                check_notebook.show_territories,
                lambda r: check_notebook.write_check_files(r, tmp),
                check_notebook.show_sources,
            ):
                step(report)
            synthesis = regional.regional_synthesis("", "93", "exemple")
            for step in (
                regional.show_regional_table,
                regional.show_regional_maps,
                lambda s: regional.write_regional_map(s, tmp),
                regional.show_regional_sources,
            ):
                step(synthesis)
            text = "\n=====\n".join(shown).replace(tmp, "TMP")
    finally:
        IPython.display.display = display
    text = re.sub(r"[0-9a-f]{32}", "ID", text)
    _write(out, "notebooks_displays.html", re.sub(r"\(\d+ Ko\)", "(N Ko)", text))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
