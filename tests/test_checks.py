"""Tests of cpts_diag.checks on a tiny hand-made COG and unit squares (tests/fake_cog.py)."""

import csv
import json

import pandas as pd
import pytest

from cpts_diag import settings
from cpts_diag.checks import CheckReport, check_perimeters, check_region, territory_findings
from cpts_diag.errors import InputError
from cpts_diag.outputs.check_text import format_text
from cpts_diag.reference import load_reference
from fake_cog import CURRENT_13, POP, check, table, write_cog

NNBSP = "\u202f"


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    return load_reference(write_cog(tmp_path_factory.mktemp("cog")))


# ----------------------------------------------------------------- orphans, study area


def test_orphans_default_study_area(ref):
    """Six communes of the ten of département 13 listed: more than half, the département is the study area."""
    listed = ["13001", "13002", "13010", "13020", "13030", "13055"]
    assert len(CURRENT_13) == 10
    r = check(ref, *[("T1", c) for c in listed])
    assert r.study_area == ["13"]
    expected = sorted(set(CURRENT_13) - set(listed))
    assert [o["code_insee"] for o in r.orphans] == expected == ["13003", "13004", "13005", "13006"]
    o = r.orphans[0]
    assert o == {"code_insee": "13003", "name": "Charlie", "population": 3000, "departement": "13"}
    assert r.outside_file == []
    assert r.summary["n_orphans"] == len(expected)
    assert r.summary["orphan_population"] == sum(POP[c] for c in expected)
    assert r.summary["n_communes"] == 6 and r.summary["population_total"] == sum(POP[c] for c in listed)
    assert f"Orpheline : 13003 Charlie (3{NNBSP}000 hab.)" in format_text(r)
    assert "plus de la moitié" in r.study_area_rule


def test_a_departement_listed_for_half_or_less_is_outside_the_file(ref):
    """Five communes of ten (exactly half): not the study area; the other five are « hors fichier »."""
    listed = ["13001", "13002", "13010", "13020", "13030"]
    r = check(ref, *[("T1", c) for c in listed])
    assert r.study_area == [] and r.orphans == []
    assert [o["code_insee"] for o in r.outside_file] == sorted(set(CURRENT_13) - set(listed))
    assert r.outside_file[0] == {"code_insee": "13003", "name": "Charlie", "population": 3000, "departement": "13"}
    assert (r.summary["n_orphans"], r.summary["n_outside_file"]) == (0, 5)
    assert any("Bouches-du-Rhône (13) : 5 sur 10 (50" in n for n in r.notes)
    text = format_text(r)
    assert "Orpheline" not in text
    assert "Communes hors fichier" in text and "Bouches-du-Rhône (13) : 5" in text
    # declaring the study area makes them orphans
    declared = check(ref, *[("T1", c) for c in listed], departements=["13"])
    assert [o["code_insee"] for o in declared.orphans] == [o["code_insee"] for o in r.outside_file]
    assert declared.outside_file == [] and "déclarée" in declared.study_area_rule


def test_study_area_options(ref):
    rows = [("T1", c) for c in CURRENT_13]
    r = check(ref, *rows)
    assert r.orphans == []
    r = check(ref, *rows, regions=["93"])
    assert r.study_area == ["13", "84"]
    assert [o["code_insee"] for o in r.orphans] == ["84001", "84002"]
    r = check(ref, *rows, departements=["26"])
    assert r.study_area == ["26"] and [o["code_insee"] for o in r.orphans] == ["26001"]
    assert (r.summary["n_communes"], r.summary["n_study_area_communes"], r.summary["n_study_area_covered"]) == (
        len(CURRENT_13),
        1,
        0,
    )
    r = check(ref, *rows, regions=["93"], departements=["26"])
    assert r.study_area == ["13", "26", "84"]
    assert [o["code_insee"] for o in r.orphans] == ["26001", "84001", "84002"]
    with pytest.raises(InputError, match="région inconnu"):
        check(ref, *rows, regions=["99"])
    with pytest.raises(InputError, match="département inconnu"):
        check(ref, *rows, departements=["2C"])


def test_multi_departement_and_regions(ref):
    r = check(ref, ("T1", "13001"), ("T1", "84001"), ("T2", "13002"), ("T2", "26001"), ("T3", "13003"))
    assert r.multi_departement == [
        {"territory": "T1", "departements": ["13", "84"], "regions": ["93"]},
        {"territory": "T2", "departements": ["13", "26"], "regions": ["84", "93"]},
    ]
    # 13: 3 communes of 10, 84: 1 of 2 (half, not more), 26: its only commune
    assert r.study_area == ["26"] and r.orphans == []
    assert [o["code_insee"] for o in r.outside_file] == sorted(
        (set(CURRENT_13) | {"84002"}) - {"13001", "13002", "13003"}
    )
    r = check(ref, ("T1", "13001"), ("T1", "84001"), ("T2", "13002"), ("T2", "26001"), regions=["93"])
    assert r.study_area == ["13", "84"] and r.outside_file == []
    assert [o["code_insee"] for o in r.orphans] == sorted((set(CURRENT_13) | {"84002"}) - {"13001", "13002"})


# ------------------------------------------------------------------------------ report


def test_to_dict_keys_and_json(ref):
    r = check(ref, ("T1", "13001"), ("T1", "13999"), ("T2", "13010", None, True), ("T3", "13010", None, True))
    d = json.loads(json.dumps(r.to_dict()))
    for key in (
        "territories",
        "overlaps",
        "orphans",
        "uncovered_arrondissements",
        "outdated_codes",
        "unknown_codes",
        "duplicates",
        "discontiguous",
        "enclaves",
        "multi_departement",
        "study_area",
        "geometry_checks",
        "notes",
        "warnings",
        "summary",
        "blocking",
    ):
        assert key in d
    assert set(d["territories"][0]) >= {
        "name",
        "population",
        "population_min",
        "population_max",
        "tier",
        "tier_min",
        "tier_max",
        "approximate",
        "n_communes",
        "departements",
        "regions",
    }
    assert d["blocking"] is True and d["geometry_checks"] is False
    assert d["summary"]["n_unknown_codes"] == 1 and d["summary"]["n_overlaps"] == 1
    assert any("géométriques non effectués" in n for n in d["notes"])


def test_perimeters_object_warnings_and_source(ref, tmp_path):
    from cpts_diag.io.perimeters import Perimeters

    p = Perimeters(
        table=table(("T1", "13001")), warnings=["ligne 2 : zéro initial restauré"], source=tmp_path / "x.csv"
    )
    r = check_perimeters(p, ref, geometries=None)
    assert r.warnings == ["ligne 2 : zéro initial restauré"] and r.source == "x.csv"
    text = format_text(r)
    assert "zéro initial restauré" in text and "x.csv" in text and "COG 2026" in text


# ----------------------------------------------------------------------------- outputs


def test_report_is_a_dataclass_with_exit_code():
    r = CheckReport()
    assert r.exit_code == 0 and not r.blocking
    r.overlaps = [{"code_insee": "1", "name": "", "territories": ["a", "b"], "kind": "infracommunal"}]
    assert r.exit_code == 0
    r.overlaps.append({"code_insee": "2", "name": "", "territories": ["a", "b"], "kind": "conflict"})
    assert r.exit_code == 1


# ------------------------------------------------- real communes outside PACA (data/)

DATA = settings.DATA_DIR


@pytest.fixture(scope="module")
def cog():
    """Plain-Python view of data/communes_cog2026.csv: records, current communes by code, adjacency."""
    with open(DATA / "communes_cog2026.csv", encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    current = {r["code_insee"]: r for r in records if r["type"] == "commune-actuelle"}
    with open(DATA / "communes_adjacence_cog2026.csv", encoding="utf-8", newline="") as f:
        links = list(csv.DictReader(f))
    with open(DATA / "communes_geo_cog2026.csv", encoding="utf-8", newline="") as f:
        geo = {r["code_insee"]: r for r in csv.DictReader(f)}
    return {"records": records, "current": current, "links": links, "geo": geo}


def _named(rows):
    """Canonical table with the commune names typed in the file: (cpts, code, typed name[, arrondissement])."""
    return pd.DataFrame(
        [
            {
                "cpts": row[0],
                "code_insee": row[1],
                "arrondissement": row[3] if len(row) > 3 else None,
                "infracommunal": False,
                "line": line,
                "nom_commune": row[2],
            }
            for line, row in enumerate(rows, start=2)
        ]
    )


def _codes_named(cog, name):
    return sorted({r["code_insee"] for r in cog["records"] if r["nom"] == name})


def test_a_name_typed_next_to_another_communes_code_is_reported(cog):
    """Locronan typed next to 29143, which is Mahalon (Finistère): the finding names both codes."""
    r = check_perimeters(
        _named([("CPTS Ouest Cornouaille", "29143", "Locronan"), ("CPTS Ouest Cornouaille", "29003", "Audierne")]),
        geometries=None,
    )
    assert r.name_mismatches == [
        {
            "line": 2,
            "territory": "CPTS Ouest Cornouaille",
            "code_insee": "29143",
            "typed_name": "Locronan",
            "cog_name": cog["current"]["29143"]["nom"],
            "codes_with_typed_name": _codes_named(cog, "Locronan"),
        }
    ]
    assert cog["current"]["29143"]["nom"] == "Mahalon" and _codes_named(cog, "Locronan") == ["29134"]
    assert not r.blocking and r.exit_code == 0  # a valid code: to check, not blocking
    assert r.summary["n_name_mismatches"] == 1
    assert "« Locronan » saisi avec le code 29143, qui est Mahalon ; Locronan est 29134" in format_text(r)
    assert json.loads(json.dumps(r.to_dict()))["name_mismatches"][0]["codes_with_typed_name"] == ["29134"]


def test_usual_spellings_arrondissements_and_former_names_are_not_mismatches(cog):
    rows = [
        ("T", "38421", "ST MARTIN D HERES"),  # Saint-Martin-d'Hères (Isère)
        ("T", "01001", "Abergement-Clemenciat (L')"),  # INSEE's former upper-case style, Ain
        ("T", "29051", "ergue gaberic"),  # Finistère
        ("T", "97418", "Ste-Marie"),  # La Réunion
        ("T", "97101", "Abymes"),  # Les Abymes, Guadeloupe: article left out
        ("T", "89048", "Boeurs en Othe"),  # Bœurs-en-Othe, Yonne
        ("T", "02201", "CŒUVRES ET VALSERY"),
        ("T", "13204", "Marseille 4e Arrondissement"),
        ("T", "75115", "Paris 15e"),
        ("T", "75116", "Paris XVIe"),
        ("T", "69123", "Lyon 3e", "69383"),  # Lyon with the arrondissement in its own column
        ("T", "13055", "Marseille", "13205"),
        ("T", "13206", "MARSEILLE 13006"),  # postcode of the 6th arrondissement
        ("T", "01154", "Étrez"),  # former code, former name (commune déléguée of Bresse Vallons)
        ("T", "01130", "Cras-sur-Reyssouze"),  # the commune déléguée sharing the code of Bresse Vallons
        ("T", "29019", "Brest (29)"),
        ("T", "29143", "Mahallon"),  # a spelling variant: no commune bears it
    ]
    r = check_perimeters(_named(rows), geometries=None)
    assert r.name_mismatches == []
    assert cog["current"]["97101"]["nom"] == "Les Abymes" and cog["current"]["89048"]["nom"] == "Bœurs-en-Othe"


def test_names_that_differ_from_their_code_are_reported_even_in_arrondissements(cog):
    rows = [
        ("T", "01130", "Étrez"),  # Étrez is 01154, a part of Bresse Vallons: the code is the whole commune
        ("T", "13055", "Marseille 4e"),  # the whole of Marseille, not its 4th arrondissement
        ("T", "75115", "Paris 16e"),
        ("T", "29019", "Brets"),  # no commune's name, and not close enough to Brest
    ]
    r = check_perimeters(_named(rows), geometries=None)
    found = {m["code_insee"]: (m["cog_name"], m["codes_with_typed_name"]) for m in r.name_mismatches}
    assert found == {
        "01130": (cog["current"]["01130"]["nom"], _codes_named(cog, "Étrez")),
        "13055": ("Marseille", _codes_named(cog, "Marseille 4e Arrondissement")),
        "75115": ("Paris 15e Arrondissement", _codes_named(cog, "Paris 16e Arrondissement")),
        "29019": ("Brest", []),
    }
    assert _codes_named(cog, "Étrez") == ["01154"]
    assert "aucune commune ne s'appelle « Brets » au COG 2026" in format_text(r)


def test_names_are_checked_only_where_the_table_has_them():
    plain = pd.DataFrame(
        [{"cpts": "T", "code_insee": "29143", "arrondissement": None, "infracommunal": False, "line": 2}]
    )
    assert check_perimeters(plain, geometries=None).name_mismatches == []
    blank = plain.assign(nom_commune=[None])
    assert check_perimeters(blank, geometries=None).name_mismatches == []


def _departement(cog, dep):
    return sorted(c for c, r in cog["current"].items() if r["departement"] == dep)


def _epci(cog, siren):
    return sorted(c for c, r in cog["current"].items() if r["epci_siren"] == siren)


def test_a_few_cpts_of_the_finistere_leave_the_rest_outside_the_file(cog):
    """Two EPCI of the Finistère (Quimper, Cap Sizun): far from half of the département. No orphan; the other
    communes of the Finistère are « hors fichier », counted in one line."""
    quimper, cap_sizun = _epci(cog, "200068120"), _epci(cog, "242900629")
    rows = [("CPTS Quimper", c) for c in quimper] + [("CPTS Cap Sizun", c) for c in cap_sizun]
    r = check_perimeters(table(*rows), geometries=None)
    finistere = _departement(cog, "29")
    expected = sorted(set(finistere) - set(quimper) - set(cap_sizun))
    assert r.study_area == [] and r.orphans == []
    assert [o["code_insee"] for o in r.outside_file] == expected
    assert len(expected) == len(finistere) - 24 == 253
    assert {o["departement"] for o in r.outside_file} == {"29"}
    text = format_text(r)
    assert f"Communes hors fichier                  : {len(expected)} (information, pas des orphelines : " in text
    assert f"Finistère (29) : {len(expected)})" in text
    assert "Orpheline" not in text and len(text.splitlines()) < 60


def test_most_of_the_ain_makes_it_the_study_area(cog):
    """More than half of the communes of the Ain listed: the others are orphans, and the long list is summarised
    on screen (counts by département, the first ten), in full in the JSON."""
    ain = _departement(cog, "01")
    listed = ain[: len(ain) // 2 + 1]
    r = check_perimeters(table(*[("CPTS Ain", c) for c in listed]), geometries=None)
    assert r.study_area == ["01"] and r.outside_file == []
    orphans = sorted(set(ain) - set(listed))
    assert [o["code_insee"] for o in r.orphans] == orphans
    assert r.summary["orphan_population"] == sum(int(cog["current"][c]["population"]) for c in orphans)
    text = format_text(r)
    assert f"par département : Ain (01) : {len(orphans)}" in text
    shown = [line for line in text.splitlines() if line.startswith("  Orpheline : ")]
    assert [line.split()[2] for line in shown] == orphans[:10]
    assert f"… et {len(orphans) - 10} autres : liste complète" in text
    # one commune fewer than half: the Ain is outside the study area, the rest is « hors fichier »
    fewer = ain[: len(ain) // 2]
    r = check_perimeters(table(*[("CPTS Ain", c) for c in fewer]), geometries=None)
    assert 2 * len(fewer) <= len(ain) and r.study_area == [] and r.orphans == []
    assert [o["code_insee"] for o in r.outside_file] == sorted(set(ain) - set(fewer))


def _region(cog, region):
    return sorted(c for c, r in cog["current"].items() if r["region"] == region)


def test_the_view_of_a_region_the_file_barely_covers_calls_no_commune_an_orphan(cog):
    """Quimper (Finistère) and a CPTS on the Couesnon (Pleine-Fougères, Ille-et-Vilaine, and Pontorson, Manche):
    Bretagne's view has no study area (neither the région nor any of its départements listed for more than half),
    its communes outside the file are « hors fichier »; those of the Manche are not its concern (Normandie's view
    has them). Declared (--region), Bretagne's communes outside the file are its orphans."""
    quimper = _epci(cog, "200068120")
    rows = [("CPTS Quimper", c) for c in quimper] + [("CPTS Couesnon", "35222"), ("CPTS Couesnon", "50410")]
    perimeters = table(*rows)
    listed = {c for _, c in rows}
    bretagne = check_region(perimeters, "53", geometries=None)
    assert [t["name"] for t in bretagne.territories] == ["CPTS Quimper", "CPTS Couesnon"]
    assert bretagne.study_area == [] and bretagne.orphans == []
    in_finistere_or_ille = sorted(set(_departement(cog, "29") + _departement(cog, "35")) - listed)
    assert [o["code_insee"] for o in bretagne.outside_file] == in_finistere_or_ille
    n, covered = len(_region(cog, "53")), len(quimper) + 1
    assert "les départements de la région Bretagne (53) dont le fichier liste plus de la moitié" in (
        bretagne.study_area_rule
    )
    assert f"ne contient que {covered} de ses {n:,} communes".replace(",", NNBSP) in bretagne.study_area_rule
    normandie = check_region(perimeters, "28", geometries=None)
    assert [t["name"] for t in normandie.territories] == ["CPTS Couesnon"] and normandie.orphans == []
    assert [o["code_insee"] for o in normandie.outside_file] == [c for c in _departement(cog, "50") if c != "50410"]
    declared = check_region(perimeters, "53", declared=True, geometries=None)
    assert declared.study_area == ["22", "29", "35", "56"] and declared.outside_file == []
    assert [o["code_insee"] for o in declared.orphans] == sorted(set(_region(cog, "53")) - listed)
    assert declared.study_area_rule.startswith("zone d'étude déclarée (région Bretagne (53))")
    with pytest.raises(InputError, match="aucun territoire n'a de commune dans la région 84"):
        check_region(perimeters, "84", geometries=None)


def test_the_view_of_a_region_takes_the_departements_the_file_mostly_lists_or_the_whole_region(cog):
    """More than half of the Ain (Auvergne-Rhône-Alpes): the view's study area is the Ain alone. All of La Réunion
    but its two smallest communes (more than half of the communes and of the population): the whole région."""
    ain = _departement(cog, "01")
    listed = ain[: len(ain) // 2 + 1]
    r = check_region(table(*[("CPTS Ain", c) for c in listed]), "84", geometries=None)
    assert r.study_area == ["01"] and r.outside_file == []
    assert [o["code_insee"] for o in r.orphans] == sorted(set(ain) - set(listed))
    reunion = sorted(_region(cog, "04"), key=lambda c: int(cog["current"][c]["population"]))
    left_out = reunion[:2]
    rows = [("CPTS Réunion", c) for c in reunion[2:]]
    r = check_region(table(*rows), "04", geometries=None)
    assert r.study_area == ["974"] and [o["code_insee"] for o in r.orphans] == sorted(left_out)
    assert r.study_area_rule.startswith("zone d'étude de la vue régionale : la région La Réunion (04) entière")


def test_communes_outside_the_file_surrounded_by_one_territory_are_not_an_enclave(cog):
    """A commune of the Ain away from borders, all of whose neighbours form one territory: outside the file, it is
    « non vérifiable » (the file does not say whether another CPTS holds it); declared in the study area, it is an
    enclave."""
    neighbours: dict[str, set[str]] = {}
    for link in cog["links"]:
        neighbours.setdefault(link["a"], set()).add(link["b"])
        neighbours.setdefault(link["b"], set()).add(link["a"])
    geo = cog["geo"]
    candidates = [
        c
        for c in _departement(cog, "01")
        if float(geo[c]["limite_exterieure_km"]) == 0
        and geo[c]["masse_terrestre"]
        and all(geo.get(n, {}).get("masse_terrestre") for n in neighbours[c])
        and all(cog["current"].get(n, {}).get("departement") == "01" for n in neighbours[c])
    ]
    inner = candidates[0]
    ring = sorted(neighbours[inner])
    r = check_perimeters(table(*[("CPTS Autour", c) for c in ring]))
    assert r.enclaves == [] and [o["code_insee"] for o in r.outside_file if o["code_insee"] == inner] == [inner]
    [u] = [u for u in r.unverifiable if u["check"] == "enclave"]
    assert (u["territory"], u["communes"], u["outside_file"]) == ("CPTS Autour", [inner], True)
    assert f"Enclave possible dans CPTS Autour : {inner}" in format_text(r)
    assert r.touching[inner] == ["CPTS Autour"]
    declared = check_perimeters(table(*[("CPTS Autour", c) for c in ring]), departements=["01"])
    assert [(e["territory"], e["communes"]) for e in declared.enclaves] == [("CPTS Autour", [inner])]


def test_territory_findings_of_a_two_cpts_file(cog):
    """Ergué-Gabéric in both CPTS, Étrez (former code) in one: each territory gets what concerns it."""
    quimper, cap_sizun = _epci(cog, "200068120"), _epci(cog, "242900629")
    rows = [("CPTS Quimper", c) for c in quimper] + [("CPTS Cap Sizun", c) for c in cap_sizun + ["29051", "01154"]]
    r = check_perimeters(table(*rows))
    pop = int(cog["current"]["29051"]["population"])
    q, c = territory_findings(r, "CPTS Quimper"), territory_findings(r, "CPTS Cap Sizun")
    for mine, other in ((q, "CPTS Cap Sizun"), (c, "CPTS Quimper")):
        assert mine["blocking"] is True and mine["shared_population"] == pop
        assert mine["overlaps"] == [
            {
                "code_insee": "29051",
                "name": "Ergué-Gabéric",
                "kind": "conflict",
                "population": pop,
                "other_territories": [other],
            }
        ]
    assert q["outdated_codes"] == [] and q["discontiguous"] is None
    [o] = c["outdated_codes"]
    bresse = cog["current"]["01130"]
    assert (o["code"], o["current_code"], o["current_name"], o["population"], o["counted"]) == (
        "01154",
        "01130",
        bresse["nom"],
        int(bresse["population"]),
        True,
    )
    assert c["discontiguous"]["n_pieces"] == 3  # Cap Sizun, Ergué-Gabéric, Bresse Vallons
    assert c["multi_departement"]["departements"] == ["01", "29"]
    # neighbours of Quimper outside the file, from the adjacency file
    contact = [(x["a"], x["b"]) for x in cog["links"] if x["lien"] == "contact"]
    around = {b for a, b in contact if a in quimper} | {a for a, b in contact if b in quimper}
    expected = sorted(around - set(quimper) - set(cap_sizun))
    assert [x["code_insee"] for x in q["outside_file_touching"]] == expected
    assert q["orphans_touching"] == []
    json.dumps(q) and json.dumps(c)
