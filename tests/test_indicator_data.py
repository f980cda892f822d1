"""Tests of cpts_diag.indicator_data: the registry of sources and the embedded indicator tables.

Values are compared with the raw files of data/ read with the csv module.
"""

import csv
import dataclasses
import math
from pathlib import Path

import pandas as pd

from cpts_diag.indicator_data import (
    SOURCE_COLUMNS,
    SOURCES,
    attach_codes,
    load_indicator_data,
    short_source,
    sources_table,
    user_source,
)
from cpts_diag.reference import load_reference
from cpts_diag.schema import Quality

DATA = Path(__file__).resolve().parent.parent / "data"
USER_FILES = {"insee_ages", "bpe", "cpam"}


def _csv(name):
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------ registry
def test_every_source_says_who_when_where_and_under_which_license():
    assert SOURCES
    for key, s in SOURCES.items():
        assert s.key == key
        for field in ("label", "producer", "vintage", "level", "license", "short"):
            assert getattr(s, field).strip(), (key, field)
    labels = [s.label for s in SOURCES.values()]
    assert len(set(labels)) == len(labels)


def test_embedded_sources_name_an_existing_file_user_sources_none():
    for key, s in SOURCES.items():
        if key in USER_FILES:
            assert s.file == "", key
        else:
            assert (DATA / s.file).is_file(), (key, s.file)


def test_only_the_example_cpam_table_is_fictitious():
    assert [k for k, s in SOURCES.items() if s.fictitious] == ["cpam_fictif"]
    example = SOURCES["cpam_fictif"]
    assert example.file == "exemple_cpam_FICTIF_paca.csv"
    assert "fictives" in example.label.lower() and "FICTIF" in example.short
    assert Quality.FICTITIOUS == "données fictives"


def test_user_source_for_a_file_given_by_the_user(tmp_path):
    path = tmp_path / "cpam_2025.csv"
    s = user_source("cpam", path, vintage="2025")
    assert s == dataclasses.replace(SOURCES["cpam"], file=str(path), vintage="2025")
    assert not s.fictitious
    assert user_source("bpe") == SOURCES["bpe"]


def test_a_user_file_that_declares_fictitious_data_is_relabelled(tmp_path):
    path = tmp_path / "ma_table.csv"
    s = user_source("cpam", path, vintage="2025", fictitious=True)
    assert s.fictitious and s.file == str(path) and s.vintage == "2025"
    assert s.label == SOURCES["cpam"].label + " — DONNÉES FICTIVES"
    assert s.short == SOURCES["cpam"].short + " FICTIF"
    assert s.note.startswith("Le fichier déclare des données fictives")


def test_the_embedded_example_keeps_its_own_entry(tmp_path):
    path = tmp_path / "exemple_cpam_FICTIF_paca.csv"
    s = user_source("cpam", path, vintage="2025", fictitious=True)
    assert s == dataclasses.replace(SOURCES["cpam_fictif"], file=str(path))  # its vintage is its own


def test_short_source_names():
    assert short_source(SOURCES["apl"].label) == SOURCES["apl"].short
    relabelled = SOURCES["cpam"].label + " — DONNÉES FICTIVES"
    assert short_source(relabelled, fictitious=True) == SOURCES["cpam"].short + " FICTIF"
    assert short_source(relabelled) == SOURCES["cpam"].short
    assert short_source("Une source inconnue") == "Une source inconnue"


def test_sources_table_one_row_per_label_in_order():
    table = sources_table([SOURCES["apl"], SOURCES["cog"], SOURCES["apl"], SOURCES["cpam_fictif"]])
    assert list(table.columns) == SOURCE_COLUMNS
    assert list(table["source"]) == [SOURCES["apl"].label, SOURCES["cog"].label, SOURCES["cpam_fictif"].label]
    assert table["fictitious"].tolist() == [False, False, True]
    assert table.iloc[0]["producer"] == "DREES"
    assert sources_table([]).columns.tolist() == SOURCE_COLUMNS


# ------------------------------------------------------------------------------ loading
def test_loading_is_cached():
    assert load_indicator_data() is load_indicator_data()


def test_apl_values_are_the_published_ones():
    data = load_indicator_data()
    raw = {r["code_insee"]: r for r in _csv("apl_mg_communes_2022_2023.csv")}
    for code in ("01001", "05061", "13201"):
        row = data.apl[data.apl["code"] == code].iloc[0]
        for column in ("apl_mg_2023", "apl_mg_moins65_2022", "pop_totale_2023"):
            assert row[column] == float(raw[code][column]), (code, column)
    marseille_1 = data.apl[data.apl["code"] == "13201"].iloc[0]
    assert (marseille_1["code_insee"], marseille_1["arrondissement"]) == ("13055", "13201")
    assert data.apl["code_insee"].notna().all()


def test_bassin_de_vie_values_and_masked_tokens():
    data = load_indicator_data()
    link = {r["code_insee"]: r["bv2022"] for r in _csv("communes_bv2022.csv")}
    bv = {r["code"]: r for r in _csv("bv2022_indicateurs.csv")}
    code = "01002"
    raw = bv[link[code]]
    assert data.bv.loc[code, "bv2022"] == link[code] == "01004"
    assert data.bv.loc[code, "bassin_de_vie"] == raw["libelle"]
    # published "N/A - secret statistique": unknown, never zero, and the token is kept
    assert raw["Part des bénéf. en ALD dans la pop 2024"] == "N/A - secret statistique"
    assert math.isnan(data.bv.loc[code, "part_ald"])
    assert data.bv.loc[code, "part_ald_statut"] == "N/A - secret statistique"
    assert data.bv.loc[code, "part_moins_15"] == float(raw["Part des pers. âgées de - 15 ans 2022"])
    assert data.bv.loc[code, "part_moins_15_statut"] == ""
    assert "part_75_plus" not in data.bv  # replaced by the commune shares of the census 2022


def test_departement_gp_counts():
    data = load_indicator_data()
    for r in _csv("departements_indicateurs.csv"):
        assert data.departements.loc[r["code"], "nb_mg_bpe_2024"] == float(r["Médecin généraliste (en nombre) 2024"])


def test_attach_codes_resolves_arrondissements_and_former_codes():
    ref = load_reference()
    delegated = next(
        r
        for r in _csv("communes_cog2026.csv")
        if r["type"] == "commune-deleguee" and r["code_insee"] != r["commune_parente"]
    )
    out = attach_codes(["05061", "13201", delegated["code_insee"], "99999"], ref)
    assert list(out.columns) == ["code", "code_insee", "arrondissement"]
    assert out["code"].tolist() == ["05061", "13201", delegated["code_insee"], "99999"]
    assert out["code_insee"].tolist()[:3] == ["05061", "13055", delegated["commune_parente"]]
    assert pd.isna(out.loc[3, "code_insee"])
    assert out.loc[1, "arrondissement"] == "13201"
    assert out["arrondissement"].isna().tolist() == [True, False, True, True]


def test_a_folder_without_polygons_gives_unknown_areas_with_a_note(tmp_path):
    import shutil

    for s in ("cog", "apl", "bv", "bv_table", "departements", "rp_social"):
        shutil.copyfile(DATA / SOURCES[s].file, tmp_path / SOURCES[s].file)
    for name in ("departements.csv", "regions.csv", "epci.csv", "changements_codes_2018_2024.csv"):
        shutil.copyfile(DATA / name, tmp_path / name)
    data = load_indicator_data(tmp_path)
    assert data.areas.empty
    assert data.notes == ["superficies des communes absentes : superficie et densité non disponibles"]
    assert len(data.apl) == len(load_indicator_data().apl)


def test_commune_social_indicators_are_the_rows_of_the_built_file():
    data = load_indicator_data()
    rows = _csv("indicateurs_sociaux_communes.csv")
    assert len(data.social) == len(rows) and data.social.index.is_unique
    for r in rows[:: max(1, len(rows) // 500)] + [x for x in rows if x["code_insee"] in ("13201", "75056", "97611")]:
        for column, text in r.items():
            if column != "code_insee":
                value = data.social.at[r["code_insee"], column]
                assert (math.isnan(value) and text == "") or value == float(text), (r["code_insee"], column)
    # Mayotte: no census shares, no F-EDI: unknown (NaN), never zero
    assert data.social.loc["97611", ["part_75_plus", "fedi_2021"]].isna().all()
    assert data.social.at["97611", "population_2022"] > 0
