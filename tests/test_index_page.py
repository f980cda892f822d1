"""Tests of cpts_diag.reports.index_page: the index.html of a batch (escaping, links, extra links)."""

from __future__ import annotations

import re

from cpts_diag.reports.index_page import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_UNCHANGED,
    find_extra_links,
    render_index,
)

WEIRD = 'CPTS "L\'Étoile" / Nord <script>alert(1)</script>'


def test_index_escapes_names_and_links():
    entries = [
        {
            "name": WEIRD,
            "slug": "cpts-l-etoile-nord-abc123",
            "status": STATUS_OK,
            "outputs": {"rapport": "cpts-l-etoile-nord-abc123/rapport.html", "carte": "a b/carte.html"},
            "population": 35173,
            "tier": 1,
            "key_figures": {"APL <2023>": {"text": "5,5 consultations"}, 'Part "75+"': 12.25},
        },
        {"name": "CPTS <b>B</b>", "slug": "b", "status": STATUS_FAILED, "error": "erreur <i>x</i> & y"},
        {
            "name": "CPTS C",
            "slug": "c",
            "status": STATUS_UNCHANGED,
            "outputs": {},
            "population": None,
            "population_min": 4531,
            "population_max": 362268,
            "tier_min": 1,
            "tier_max": 4,
            "fictitious": True,
        },
    ]
    page = render_index(entries, perimeters_name="<p>.csv", generated="01/01/2026 à 10:00")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "CPTS &quot;L&#x27;Étoile&quot; / Nord" in page
    assert "&lt;b&gt;B&lt;/b&gt;" in page and "erreur &lt;i&gt;x&lt;/i&gt; &amp; y" in page
    assert 'href="cpts-l-etoile-nord-abc123/rapport.html"' in page and 'href="a%20b/carte.html"' in page
    assert "APL &lt;2023&gt; : 5,5 consultations" in page and "12,2" in page
    assert "entre 4\u202f531 et 362\u202f268" in page and "T1 à T4" in page
    assert "Données fictives" in page  # one entry uses the fictitious CPAM example
    assert "3 territoires : 1 produit, 1 inchangé, 1 en échec" in page
    assert "&lt;p&gt;.csv" in page


def test_find_extra_links(tmp_path):
    assert find_extra_links(tmp_path) == []
    (tmp_path / "synthese_regionale.html").write_text("x")
    (tmp_path / "controle_perimetres").mkdir()
    (tmp_path / "controle_perimetres" / "controle_perimetres.xlsx").write_text("x")
    (tmp_path / "controle_perimetres" / "notes.txt").write_text("x")
    rels = [rel for rel, _ in find_extra_links(tmp_path)]
    assert rels == ["synthese_regionale.html", "controle_perimetres/controle_perimetres.xlsx"]


def test_index_has_a_section_per_region_of_the_ars_view_with_its_study_area(tmp_path):
    folder = tmp_path / "region-53-bretagne"
    folder.mkdir()
    (folder / "synthese_regionale.html").write_text("x")
    bretagne = {
        "code": "53",
        "name": "Bretagne",
        "folder": "region-53-bretagne",
        "status": STATUS_OK,
        "declared": False,
        "mostly_covered": True,
        "territories": [WEIRD, "CPTS Redon"],
        "straddling": {"CPTS Redon": ["Pays de la Loire (52)"]},
        "n_communes": 1202,
        "n_covered": 1180,
        "population": 3_449_370,
        "population_covered": 3_400_000,
        "outputs": {
            "synthese": "region-53-bretagne/synthese_regionale.html",
            "carte": "region-53-bretagne/carte_regionale.html",  # not written: no link
        },
        "check": {"n_orphans": 22, "n_overlaps": 1, "n_conflicts": 1, "n_outside_file": 0},
        "study_area": ["22", "29", "35", "56"],
    }
    # a région asked for (--region) that the file barely covers: declared, its orphans said to be all its communes
    forced = dict(bretagne, code="84", name="Auvergne-Rhône-Alpes", folder="x", declared=True, mostly_covered=False)
    forced["outputs"] = {}
    # a région the file barely covers, not asked for: the départements it lists for the most part, or none
    normandie = dict(bretagne, code="28", name="Normandie", folder="y", mostly_covered=False, study_area=["50"])
    normandie["check"] = {"n_orphans": 3, "n_overlaps": 0, "n_conflicts": 0, "n_outside_file": 2610}
    occitanie = dict(normandie, code="76", name="Occitanie", study_area=[], check=dict(normandie["check"], n_orphans=0))
    failed = dict(bretagne, code="52", name="Pays de la Loire", status=STATUS_FAILED, error="<b>cassé</b>")
    regions = [bretagne, failed, forced, normandie, occitanie]
    page = render_index([], regions=regions, out_dir=tmp_path, perimeters_name="f.csv")
    assert "<script" not in page.lower()
    assert "<h3>Bretagne (53) — " in page and 'href="region-53-bretagne/synthese_regionale.html"' in page
    assert "carte_regionale.html" not in page  # only files present are linked
    assert "2 territoires ayant au moins une commune dans la région" in page
    assert "CPTS Redon (aussi : Pays de la Loire (52))" in page
    assert "1\u202f180 sur 1\u202f202" in page and "22 communes orphelines" in page and "1 conflit" in page
    assert "Échec : &lt;b&gt;cassé&lt;/b&gt;" in page
    sections = {
        m.group(1): m.group(2) for m in re.finditer(r"<h3>[^<]*\((\d+)\) — .*?</h3>\s*<p>(.*?)</p>", page, re.DOTALL)
    }
    assert set(sections) == {"53", "52", "84", "28", "76"}
    assert "zone d&#x27;étude : la région entière, dont le fichier contient plus de la moitié" in sections["53"]
    assert "zone d&#x27;étude : la région, déclarée (--region)" in sections["84"]
    assert "attention : région demandée que le fichier couvre en petite partie" in sections["84"]
    assert "attention" not in sections["53"] + sections["28"] + sections["76"]
    assert "zone d&#x27;étude : Manche (50), seul département de la région dont le fichier liste plus" in sections["28"]
    assert "3 communes orphelines" in sections["28"] and "2\u202f610 communes « hors fichier »" in sections["28"]
    assert "zone d&#x27;étude : aucune" in sections["76"] and "0 commune orpheline" in sections["76"]
    assert "zone d" not in sections["52"]  # failed: no study area to report
    assert "Régions touchées sans vue régionale" not in page


def test_index_marks_the_territories_with_perimeter_findings():
    entries = [
        {
            "name": "CPTS A",
            "slug": "a",
            "status": STATUS_OK,
            "perimeter": {"blocking": True, "bloquant": 1, "à vérifier": 2, "information": 0},
        },
        {
            "name": "CPTS B",
            "slug": "b",
            "status": STATUS_OK,
            "perimeter": {"blocking": False, "bloquant": 0, "à vérifier": 0, "information": 0},
        },
        {"name": "CPTS C", "slug": "c", "status": STATUS_OK},  # a report of an earlier version: unknown
    ]
    html = render_index(entries)
    names = {name: html.split(f"<tr><td>{name}", 1)[1].split("</td>", 1)[0] for name in ("CPTS A", "CPTS B", "CPTS C")}
    assert names["CPTS A"] == (
        '<br><small class="pm">périmètre : <span class="pm-ko">1 bloquant</span>, '
        '<span class="pm-check">2 à vérifier</span></small>'
    )
    assert names["CPTS B"] == '<br><small class="pm">périmètre : aucun constat</small>'
    assert names["CPTS C"] == ""  # unknown: nothing said
