"""Tests of cpts_diag.outputs.check_workbook: every sheet of the check workbook of a real Finistère file
(tests/finistere_check.py), each value computed from the raw embedded COG in the test."""

import pandas as pd
import pytest

from cpts_diag.checks import check_perimeters
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.outputs.check_workbook import check_workbook_sheets, perimeter_sheet
from finistere_check import DOUARNENEZ, FOUESNANT, communes, members, pieces, write_file

THRESHOLDS = (40_000, 80_000, 175_000)  # ACI size tiers 1 to 4 (avenant 2 de l'ACI CPTS)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    report = check_perimeters(read_perimeters(write_file(tmp_path_factory.mktemp("finistere"))), departements=["29"])
    sheets, notes = check_workbook_sheets(report)
    cog = communes()
    mine = members(cog)
    covered = {c for codes in mine.values() for c in codes}
    orphans = cog[(cog["departement"] == "29") & ~cog.index.isin(covered)].sort_index()
    outside = cog[(cog["departement"] == "56") & ~cog.index.isin(covered)].sort_index()
    return report, sheets, notes, cog, mine, orphans, outside


def test_summary_sheet(case):
    _, sheets, _, cog, mine, orphans, outside = case
    values = dict(zip(sheets["Synthèse"]["Indicateur"], sheets["Synthèse"]["Valeur"]))
    covered = sorted({c for codes in mine.values() for c in codes})
    assert values["Résultat"] == "BLOQUANT"
    assert values["Zone d'étude (départements)"] == "29"
    assert values["Territoires"] == 2
    assert values["Communes couvertes"] == len(covered) == 13
    assert values["dont dans la zone d'étude"] == 12
    assert values["Population totale couverte"] == cog.loc[covered, "population"].sum()
    assert values["Communes orphelines"] == len(orphans) == 265
    assert values["Population des communes orphelines"] == orphans["population"].sum()
    assert values["Communes hors fichier (information, pas des orphelines)"] == len(outside)
    assert (values["Chevauchements"], values["dont conflits (bloquants)"]) == (1, 1)
    assert (values["Codes périmés"], values["Codes inconnus (bloquants)"], values["Doublons"]) == (1, 1, 1)
    assert (values["Territoires discontinus"], values["Enclaves"]) == (1, 0)
    assert values["Noms de communes discordants avec leur code"].startswith("non vérifié")


def test_territories_sheet(case):
    _, sheets, _, cog, mine, _, _ = case
    got = sheets["Territoires"].set_index("Territoire")
    assert list(got.index) == [DOUARNENEZ, FOUESNANT]
    for name, codes in mine.items():
        population = int(cog.loc[codes, "population"].sum())
        nearest = min(THRESHOLDS, key=lambda t: abs(population - t))
        row = got.loc[name]
        assert (row["Communes"], row["Population"], row["Approximatif"]) == (len(codes), population, "non")
        assert row["Taille ACI"] == 1 + sum(population >= t for t in THRESHOLDS)
        assert (row["Écart au seuil le plus proche (hab.)"], row["Seuil le plus proche"]) == (
            population - nearest,
            nearest,
        )
        assert row["Départements"] == ", ".join(sorted(set(cog.loc[codes, "departement"])))
    assert got.loc[DOUARNENEZ, "Population"] == 18_304 and got.loc[FOUESNANT, "Taille ACI"] == 2


def test_overlaps_sheet(case):
    _, sheets, _, cog, mine, _, _ = case
    shared = set(mine[DOUARNENEZ]) & set(mine[FOUESNANT])
    assert shared == {"29046"}
    assert sheets["Chevauchements"].to_dict("records") == [
        {
            "Code INSEE": "29046",
            "Commune ou arrondissement": cog.at["29046", "nom"],
            "Type": "conflit",
            "Bloquant": "oui",
            "Nombre de territoires": 2,
            "Territoires": f"{FOUESNANT} ; {DOUARNENEZ}",
        }
    ]


def test_orphans_and_outside_file_sheets(case):
    report, sheets, notes, cog, _, orphans, outside = case
    orph = sheets["Orphelines"]
    assert list(orph["Code INSEE"]) == list(orphans.index)
    assert list(orph["Commune"]) == list(orphans["nom"])
    assert list(orph["Population"]) == list(orphans["population"])
    assert set(orph["Département"]) == {"29"} and set(orph["Enclavée dans"]) == {""}
    out = sheets["Hors fichier"]
    assert list(out["Code INSEE"]) == list(outside.index) and len(out) == 248
    assert list(out["Population"]) == list(outside["population"])
    # the Morbihan communes that touch Guidel (shared border) touch the Fouesnant territory
    adj = pd.read_csv("data/communes_adjacence_cog2026.csv", dtype=str)
    near_guidel = set(adj.loc[(adj["a"] == "56078") & (adj["lien"] == "contact"), "b"]) | set(
        adj.loc[(adj["b"] == "56078") & (adj["lien"] == "contact"), "a"]
    )
    touching = set(out.loc[out["Territoires voisins"] == FOUESNANT, "Code INSEE"])
    assert {c for c in near_guidel if c.startswith("56")} <= touching
    assert notes["Hors fichier"][0].startswith("Information : communes des départements du fichier hors zone")


def test_code_sheets(case):
    _, sheets, _, cog, _, _, _ = case
    replacing = cog.index[cog["anciens_codes"].str.split("|").map(lambda codes: "29283" in codes)].tolist()
    assert replacing == ["29046"]
    outdated = sheets["Codes périmés"].drop(columns="Explication").to_dict("records")
    assert outdated == [
        {
            "Code donné": "29283",
            "Code actuel": "29046",
            "Commune actuelle": cog.at["29046", "nom"],
            "Territoire": DOUARNENEZ,
            "Ligne": 2,
        }
    ]
    assert "29999" not in cog.index and not cog["anciens_codes"].str.contains("29999").any()
    unknown = sheets["Codes inconnus"].to_dict("records")
    assert unknown == [{"Code donné": "29999", "Territoire": FOUESNANT, "Ligne": 16}]
    assert sheets["Doublons"].to_dict("records") == [
        {
            "Territoire": DOUARNENEZ,
            "Code INSEE": "29087",
            "Commune": cog.at["29087", "nom"],
            "Lignes": "3, 7",
            "Codes donnés": "29087",
            "Après correspondance des codes": "non",
        }
    ]


def test_geometry_sheets(case):
    _, sheets, notes, cog, mine, _, _ = case
    expected = pieces(mine[FOUESNANT])
    assert [len(p) for p in expected] == [7, 1, 1]
    disc = sheets["Discontinuités"]
    assert list(disc["Territoire"]) == [FOUESNANT] * 3 and list(disc["Nombre de morceaux"]) == [3] * 3
    assert list(disc["Codes INSEE"]) == [", ".join(p) for p in expected]
    assert list(disc["Population"]) == [cog.loc[p, "population"].sum() for p in expected]
    assert pieces(mine[DOUARNENEZ]) == [sorted(mine[DOUARNENEZ])]  # one piece: not listed
    for title in ("Enclaves", "Séparés par la mer", "Non vérifiable", "Noms et codes", "Arr. non couverts"):
        assert sheets[title].empty and notes[title][0] == "Aucun constat."
    assert sheets["Multi-départements"].to_dict("records") == [
        {"Territoire": FOUESNANT, "Départements": "29, 56", "Régions": "53"}
    ]


def test_proposals_sheet(case):
    _, sheets, _, cog, mine, orphans, _ = case
    props = sheets["Propositions"]
    conflict = props[props["Type"] == "Conflit"]
    assert set(conflict["Code(s) INSEE"]) == {"29046"}
    assert sorted(conflict["Territoire proposé"]) == sorted([DOUARNENEZ, FOUESNANT])
    orph = props[props["Type"] == "Orpheline"]
    assert set(orph["Code(s) INSEE"]) == set(orphans.index)
    assert list(props["Population"]) == list(cog.loc[props["Code(s) INSEE"], "population"])
    # an orphan added to a territory: the territory's population plus the orphan's
    before = {name: cog.loc[codes, "population"].sum() for name, codes in mine.items()}
    after = orph["Territoire proposé"].map(before) + orph["Population"]
    assert list(orph["Population du territoire après"]) == list(after)
    assert list(props.columns[:7]) == [
        "Type",
        "Code(s) INSEE",
        "Commune(s)",
        "Population",
        "Département",
        "Rang",
        "Territoire proposé",
    ]


def test_sources_sheet(case):
    _, sheets, _, _, _, _, _ = case
    sources = list(sheets["Sources"]["Source"])
    assert "INSEE, Code officiel géographique (COG 2026)" in sources
    assert "périmètres : cpts_finistere.csv" in sources


def test_sheets_without_geometry_say_not_checked(tmp_path):
    report = check_perimeters(read_perimeters(write_file(tmp_path)), departements=["29"], geometries=None)
    sheets, notes = check_workbook_sheets(report)
    for title in ("Discontinuités", "Enclaves", "Séparés par la mer", "Non vérifiable"):
        assert sheets[title].empty
        assert notes[title] == ["Contrôle non effectué : aucun contour de communes disponible."]
    values = dict(zip(sheets["Synthèse"]["Indicateur"], sheets["Synthèse"]["Valeur"]))
    assert values["Territoires discontinus"] == "non vérifié"
    assert sheets["Propositions"].empty
    assert notes["Propositions"][:2] == [
        "Aucun constat.",
        "Propositions non établies : elles demandent la contiguïté des communes.",
    ]


def test_perimeter_sheet_of_one_territory(case):
    from cpts_diag.checks import territory_findings

    report, _, _, cog, _, _, _ = case
    df, notes = perimeter_sheet(territory_findings(report, DOUARNENEZ))
    rows = list(zip(df["Niveau"], df["Constat"]))
    assert rows[0] == ("bloquant", "Chevauchement")  # blocking first
    assert set(rows) == {
        ("bloquant", "Chevauchement"),
        ("à vérifier", "Code périmé remplacé"),
        ("à vérifier", "Doublon"),
        ("à vérifier", "Communes orphelines voisines"),
    }
    overlap = df[df["Constat"] == "Chevauchement"].iloc[0]
    assert overlap["Population concernée (hab.)"] == cog.at["29046", "population"]
    assert notes[0] == (
        f"Contrôle du périmètre de {DOUARNENEZ} dans le fichier de périmètres : constats bloquants en premier."
    )
