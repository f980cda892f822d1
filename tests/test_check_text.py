"""Tests of cpts_diag.outputs.check_text: the French wording of the check of a real Finistère file
(tests/finistere_check.py), the figures computed from the raw embedded COG in the test."""

import pytest

from cpts_diag import fr_format as fr
from cpts_diag.checks import check_perimeters, territory_findings
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.outputs.check_text import (
    format_text,
    perimeter_items,
    proposal_text,
    territory_size_text,
    threshold_text,
)
from finistere_check import DOUARNENEZ, FOUESNANT, communes, members, write_file


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    report = check_perimeters(read_perimeters(write_file(tmp_path_factory.mktemp("finistere"))), departements=["29"])
    cog = communes()
    return report, cog, members(cog)


NNBSP = "\u202f"  # thousands separator of the default (HTML) style; the terminal style uses a plain space


def _n(value, sep: str = " ") -> str:
    return f"{int(value):,}".replace(",", sep)


def test_format_text_counts_and_findings(case):
    report, cog, mine = case
    covered = {c for codes in mine.values() for c in codes}
    orphans = cog[(cog["departement"] == "29") & ~cog.index.isin(covered)]
    lines = format_text(report).splitlines()
    assert lines[0] == "Contrôle des périmètres de CPTS — cpts_finistere.csv"
    counts = dict(line.strip().split(" : ", 1) for line in lines[3:22])
    assert counts["Territoires".ljust(38)] == "2"
    assert counts["Communes orphelines".ljust(38)] == f"{len(orphans)} ({_n(orphans['population'].sum(), NNBSP)} hab.)"
    assert (
        counts["Population totale couverte".ljust(38)]
        == f"{_n(cog.loc[sorted(covered), 'population'].sum(), NNBSP)} hab."
    )
    assert "Résultat : BLOQUANT — 1 code(s) inconnu(s) et 1 conflit(s) de chevauchement" in lines
    assert f"  Code inconnu : 29999 — {FOUESNANT} (ligne 16)" in lines
    assert f"  Doublon : 29087 Le Juch — {DOUARNENEZ} (lignes 3, 7)" in lines
    # 265 orphans: summarised, the first 10 shown, the rest counted
    assert f"  par département : Finistère (29) : {len(orphans)}" in lines
    first = orphans.sort_index().iloc[0]
    assert f"  Orpheline : {first.name} {first['nom']} ({_n(first['population'], NNBSP)} hab.)" in lines
    assert f"  … et {len(orphans) - 10} autres : liste complète dans le classeur" in "\n".join(lines)


def test_territory_size_and_threshold_text(case):
    report, cog, mine = case
    record = next(t for t in report.territories if t["name"] == FOUESNANT)
    population = int(cog.loc[mine[FOUESNANT], "population"].sum())
    assert territory_size_text(record) == f"{_n(population, NNBSP)} hab. — taille 2"
    assert threshold_text(record) is None  # 56 184 hab.: more than 5 % above 40 000
    near = {**record, "near_threshold": True, "tier_margin": 1_500, "tier_threshold": 40_000}
    assert threshold_text(near, fr.Style.TERMINAL) == "proche d'un seuil : 1 500 hab. au-dessus du seuil de 40 000"
    assert threshold_text({**record, "near_threshold": None}).startswith("proximité d'un seuil non vérifiable")


def test_proposal_text_of_the_conflict(case):
    report, cog, mine = case
    conflict = next(p for p in report.proposals if p["kind"] == "overlap")
    text = proposal_text(conflict, fr.Style.TERMINAL)
    douarnenez = int(cog.loc[mine[DOUARNENEZ], "population"].sum())
    fouesnant_without = int(cog.loc[mine[FOUESNANT], "population"].sum() - cog.at["29046", "population"])
    assert text.startswith(f"Conflit 29046 Douarnenez ({_n(cog.at['29046', 'population'])} hab.) — à garder dans : 1. ")
    assert f"1. {DOUARNENEZ} (" in text and f"{_n(douarnenez)} hab., taille 1" in text
    assert fouesnant_without >= 40_000  # still tier 2 without Douarnenez: no change of tier
    assert f"{FOUESNANT} sans elle : {_n(fouesnant_without)} hab., taille 2 |" in text


def test_perimeter_items_of_one_territory(case):
    report, cog, _ = case
    items = perimeter_items(territory_findings(report, DOUARNENEZ), style=fr.Style.TERMINAL)
    assert [i["level"] for i in items] == ["bloquant", "à vérifier", "à vérifier", "à vérifier"]
    conflict, outdated = items[0], next(i for i in items if i["finding"] == "outdated_codes")
    assert conflict["text"] == (
        f"Douarnenez (29046, {_n(cog.at['29046', 'population'])}\u00a0hab.) est aussi dans {FOUESNANT} : sa "
        "population est comptée dans les deux territoires"
    )
    assert outdated["text"].startswith("Ligne 2 : 29283 → 29046 Douarnenez (")
    assert outdated["population"] == cog.at["29046", "population"]
