"""Tests of cpts_diag.check_membership (codes, duplicates, overlaps, arrondissements) on a tiny hand-made COG
(tests/fake_cog.py), through check_perimeters."""

import json

import pytest

from cpts_diag.outputs.check_text import format_text
from cpts_diag.reference import load_reference
from fake_cog import check, write_cog

NNBSP = "\u202f"


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    return load_reference(write_cog(tmp_path_factory.mktemp("cog")))


# ------------------------------------------------------------------------------ codes


def test_unknown_code_is_blocking(ref):
    r = check(ref, ("T1", "13001"), ("T1", "13999"))
    assert r.unknown_codes == [{"code": "13999", "territory": "T1", "line": 3}]
    assert r.blocking and r.exit_code == 1
    assert r.territories[0]["n_communes"] == 1 and r.territories[0]["population"] == 1000


def test_only_unknown_codes(ref):
    r = check(ref, ("T1", "13998"), ("T1", "13999"))
    assert [u["code"] for u in r.unknown_codes] == ["13998", "13999"]
    assert r.overlaps == [] and r.orphans == [] and r.study_area == []
    assert r.territories[0]["n_communes"] == 0
    json.dumps(r.to_dict())
    assert "Codes inconnus" in format_text(r)


def test_outdated_code_mapped_and_duplicate_after_mapping(ref):
    r = check(ref, ("T1", "13020"), ("T1", "13021"), ("T2", "13031"))
    assert [(o["code"], o["current_code"], o["current_name"], o["territory"], o["line"]) for o in r.outdated_codes] == [
        ("13021", "13020", "Nouvelle", "T1", 3),
        ("13031", "13030", "Fusionnée", "T2", 4),
    ]
    assert "13020" in r.outdated_codes[0]["note"]
    assert len(r.duplicates) == 1
    d = r.duplicates[0]
    assert (d["territory"], d["code_insee"], d["name"], d["lines"], d["after_mapping"]) == (
        "T1",
        "13020",
        "Nouvelle",
        [2, 3],
        True,
    )
    # the former code counts as the current commune: population once, commune covered
    assert r.territories[0]["population"] == 1500 and r.territories[0]["n_communes"] == 1
    assert "13020" not in {o["code_insee"] for o in r.orphans}
    assert "13030" not in {o["code_insee"] for o in r.orphans}
    assert not r.blocking


def test_plain_duplicate(ref):
    r = check(ref, ("T1", "13001"), ("T1", "13002"), ("T1", "13001"))
    assert [(d["code_insee"], d["lines"], d["after_mapping"]) for d in r.duplicates] == [("13001", [2, 4], False)]
    assert r.territories[0]["population"] == 3000


# --------------------------------------------------------------------------- overlaps


def test_declared_infracommunal_split(ref):
    r = check(ref, ("T1", "13010", None, True), ("T1", "13001"), ("T2", "13010", None, True))
    assert r.overlaps == [
        {"code_insee": "13010", "name": "Grandville", "territories": ["T1", "T2"], "kind": "infracommunal"}
    ]
    assert not r.blocking and r.exit_code == 0
    t1 = r.territories[0]
    assert (t1["approximate"], t1["population"], t1["population_min"], t1["population_max"]) == (
        True,
        None,
        1000,
        51000,
    )
    assert (t1["tier"], t1["tier_min"], t1["tier_max"]) == (None, 1, 2)
    assert t1["split_communes"] == ["Grandville"]
    text = format_text(r)
    assert (
        f"entre 1{NNBSP}000 et 51{NNBSP}000 hab. — taille 1 à 2 (approximatif : Grandville découpée "
        "infra-communalement)" in text
    )


def test_undeclared_multi_claim_is_conflict(ref):
    r = check(ref, ("T1", "13010", None, True), ("T2", "13010", None, False))
    assert [(o["code_insee"], o["kind"]) for o in r.overlaps] == [("13010", "conflict")]
    assert r.blocking and r.exit_code == 1
    r = check(ref, ("T1", "13001"), ("T2", "13001"), ("T3", "13001"))
    assert r.overlaps[0]["territories"] == ["T1", "T2", "T3"] and r.overlaps[0]["kind"] == "conflict"
    assert "CONFLIT" in format_text(r)


def test_arrondissement_split_and_uncovered(ref):
    rows = [("T1", "13055", "13201"), ("T2", "13055", "13202"), ("T2", "13001")]
    r = check(ref, *rows, departements=["13"])
    assert r.overlaps == [
        {"code_insee": "13055", "name": "Marseille", "territories": ["T1", "T2"], "kind": "arrondissement"}
    ]
    assert r.uncovered_arrondissements == [
        {"code": "13203", "name": "Marseille 3e", "population": 80, "commune": "13055", "commune_name": "Marseille"}
    ]
    assert "13055" not in {o["code_insee"] for o in r.orphans}
    assert not r.blocking
    pops = {t["name"]: t["population"] for t in r.territories}
    assert pops == {"T1": 100, "T2": 1120}
    # by default, 3 units listed of the 12 of département 13 (9 communes and Marseille's 3 arrondissements):
    # the missing arrondissement is outside the file like the missing communes, not « non couvert »
    r = check(ref, *rows)
    assert r.study_area == [] and r.uncovered_arrondissements == []
    assert {"code_insee": "13203", "name": "Marseille 3e", "population": 80, "departement": "13"} in r.outside_file
    assert any("Bouches-du-Rhône (13) : 3 sur 12" in n for n in r.notes)


def test_arrondissement_in_two_territories_is_conflict(ref):
    rows = [("T1", "13055", "13201"), ("T2", "13055", "13201"), ("T2", "13055", "13202")]
    r = check(ref, *rows, departements=["13"])
    assert r.overlaps == [
        {"code_insee": "13201", "name": "Marseille 1er", "territories": ["T1", "T2"], "kind": "conflict"}
    ]
    assert [a["code"] for a in r.uncovered_arrondissements] == ["13203"]
    assert r.blocking


def test_plm_whole_and_by_arrondissement_is_conflict(ref):
    r = check(ref, ("T1", "13055", None, False), ("T2", "13055", "13202"))
    assert [(o["code_insee"], o["kind"], o["territories"]) for o in r.overlaps] == [("13055", "conflict", ["T1", "T2"])]
    assert r.uncovered_arrondissements == []  # covered by the whole claim
    assert r.exit_code == 1


def test_plm_whole_in_two_territories_declared_infracommunal(ref):
    r = check(ref, ("T1", "13055", None, True), ("T2", "13055", None, True))
    assert [(o["code_insee"], o["kind"]) for o in r.overlaps] == [("13055", "infracommunal")]
    assert r.uncovered_arrondissements == []


def test_whole_plm_in_one_territory_with_its_arrondissements_is_not_an_overlap(ref):
    r = check(ref, ("T1", "13055", None, False), ("T1", "13055", "13201"))
    assert r.overlaps == [] and r.uncovered_arrondissements == [] and r.duplicates == []
    assert r.territories[0]["population"] == 300
