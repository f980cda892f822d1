"""Tests of cpts_diag.outputs.simulation_outputs: the French wording of a simulation on a real Finistère file
(tests/finistere_check.py): Locronan added to the Douarnenez territory, Douarnenez removed from the Fouesnant
one. Expected figures from the raw embedded files, read in the test."""

import pandas as pd
import pytest

from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.outputs.simulation_outputs import (
    applied_lines,
    findings_frame,
    format_simulation_text,
    territories_frame,
)
from cpts_diag.simulation import parse_change, simulate
from finistere_check import DATA, DOUARNENEZ, FOUESNANT, communes, members, write_file


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    perimeters = read_perimeters(write_file(tmp_path_factory.mktemp("finistere")))
    changes = [parse_change(f"29134={DOUARNENEZ}", "ajouter"), parse_change(f"29046={FOUESNANT}", "retirer")]
    sim = simulate(perimeters, changes, departements=["29"])
    cog = communes()
    before = members(cog)
    after = {DOUARNENEZ: before[DOUARNENEZ] + ["29134"], FOUESNANT: [c for c in before[FOUESNANT] if c != "29046"]}
    return sim, cog, before, after


def _n(value) -> str:
    return f"{int(value):,}".replace(",", " ")  # the terminal style: a plain space between thousands


def test_applied_lines(case):
    sim, cog, _, _ = case
    assert applied_lines(sim) == [
        f"+ 29134 {cog.at['29134', 'nom']} ({cog.at['29134', 'population']} hab.) ajoutée à {DOUARNENEZ}",
        f"− 29046 Douarnenez (14\u202f068 hab.) retirée de {FOUESNANT} (ligne(s) 15)",
    ]


def test_territories_frame(case):
    sim, cog, before, after = case
    frame = territories_frame(sim)
    assert list(frame["Territoire"].unique()) == [DOUARNENEZ, FOUESNANT]
    for name in (DOUARNENEZ, FOUESNANT):
        rows = frame[frame["Territoire"] == name].set_index("Mesure")
        pop_before, pop_after = (int(cog.loc[m[name], "population"].sum()) for m in (before, after))
        assert rows.at["Population", "Avant"] == f"{pop_before:,} hab.".replace(",", "\u202f").replace(" h", "\u00a0h")
        assert rows.at["Population", "Après"] == f"{pop_after:,} hab.".replace(",", "\u202f").replace(" h", "\u00a0h")
        assert (rows.at["Communes", "Avant"], rows.at["Communes", "Après"]) == (
            str(len(before[name])),
            str(len(after[name])),
        )
        tier = {p: 1 + sum(p >= t for t in (40_000, 80_000, 175_000)) for p in (pop_before, pop_after)}
        assert (rows.at["Taille ACI", "Avant"], rows.at["Taille ACI", "Après"]) == (
            f"taille {tier[pop_before]}",
            f"taille {tier[pop_after]}",
        )
        assert rows.at["Population", "Source"] == "INSEE, populations légales 2023, COG 2026, niveau commune"


def test_share_of_75_plus_aggregated_by_population(case):
    sim, _, before, after = case
    social = pd.read_csv(DATA / "indicateurs_sociaux_communes.csv", dtype={"code_insee": str}).set_index("code_insee")

    def share(codes):
        part = social.loc[codes]
        return (part["population_2022"] * part["part_75_plus"]).sum() / part["population_2022"].sum()

    frame = territories_frame(sim).set_index(["Territoire", "Mesure"])
    for name in (DOUARNENEZ, FOUESNANT):
        row = frame.loc[(name, "Part des 75 ans et plus")]
        assert row["Avant"] == f"{share(before[name]):.1f}".replace(".", ",") + "\u202f%"
        assert row["Après"] == f"{share(after[name]):.1f}".replace(".", ",") + "\u202f%"


def test_findings_frame(case):
    sim, cog, _, _ = case
    frame = findings_frame(sim).set_index("Constat")
    assert list(frame.index) == ["Chevauchements", "Communes orphelines", "Territoires discontinus"]
    assert (frame.at["Chevauchements", "Avant"], frame.at["Chevauchements", "Après"]) == (1, 0)
    assert frame.at["Chevauchements", "Disparaît"] == f"29046 Douarnenez ({FOUESNANT}, {DOUARNENEZ})"
    orphans = len(cog[cog["departement"] == "29"]) - 12  # 12 Finistère communes listed before
    assert (frame.at["Communes orphelines", "Avant"], frame.at["Communes orphelines", "Après"]) == (
        orphans,
        orphans - 1,
    )
    assert frame.at["Communes orphelines", "Disparaît"] == f"29134 {cog.at['29134', 'nom']}"
    assert frame.at["Territoires discontinus", "Apparaît"] == f"{FOUESNANT} (2 morceaux)"
    assert frame.at["Territoires discontinus", "Disparaît"] == f"{FOUESNANT} (3 morceaux)"


def test_format_simulation_text(case):
    sim, cog, before, after = case
    lines = format_simulation_text(sim).splitlines()
    assert lines[0] == "Simulation de modifications — cpts_finistere.csv (le fichier d'origine n'est pas modifié)"
    pop_before, pop_after = (int(cog.loc[m[FOUESNANT], "population"].sum()) for m in (before, after))
    words = [" ".join(line.split()) for line in lines]  # the measures are padded to one width
    assert f"Population : {_n(pop_before)} hab. → {_n(pop_after)} hab." in words
    assert "Résultat : avant, BLOQUANT ; après, BLOQUANT" in lines  # the unknown code 29999 stays
    assert f"  Chevauchements : 1 → 0 (disparaît : 29046 Douarnenez ({FOUESNANT}, {DOUARNENEZ}))" in lines
    assert "Aucun fichier écrit (--out DOSSIER pour écrire le fichier corrigé, que check relit)" in lines
