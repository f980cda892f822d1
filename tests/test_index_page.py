"""Tests of cpts_diag.reports.index_page: the index.html of a batch (escaping, links, extra links)."""

from __future__ import annotations

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
