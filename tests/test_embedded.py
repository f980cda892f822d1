"""The one resolver and cached reader of the embedded data files (cpts_diag.io.embedded)."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest

from cpts_diag import settings
from cpts_diag.errors import InputError
from cpts_diag.io.embedded import dataset_path, load_dataset

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name: str, sep: str = ",") -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=sep))


def test_dataset_path_of_the_default_folder_and_of_another(tmp_path):
    assert dataset_path("communes") == settings.DATA_DIR / "communes_cog2026.csv"
    assert dataset_path("communes", tmp_path) == tmp_path / "communes_cog2026.csv"


def test_text_columns_read_as_in_the_file():
    """Bretagne, Ain, Grand Est, Occitanie, La Réunion: every cell as written, codes with their zeros."""
    rows = _rows("communes_cog2026.csv")
    table = load_dataset("communes")
    assert table.to_dict("records") == rows
    current = table[table["type"] == "commune-actuelle"].set_index("code_insee")
    assert current.loc[["29019", "01053", "67482", "31555", "97411"], "departement"].tolist() == [
        "29",
        "01",
        "67",
        "31",
        "974",
    ]


def test_numbers_are_floats_and_an_empty_cell_is_unknown():
    raw = {r["code_insee"]: r for r in _rows("communes_geo_cog2026.csv")}
    table = load_dataset("commune_areas").set_index("code_insee")
    assert raw["15031"]["superficie_km2"] == ""  # Celles (Cantal), restored in 2025: no polygon
    assert math.isnan(table.loc["15031", "superficie_km2"])
    assert table.loc["29019", "superficie_km2"] == float(raw["29019"]["superficie_km2"])  # Brest


def test_further_published_columns_are_text():
    raw = _rows("bv2022_indicateurs.csv")
    table = load_dataset("bv_indicators")
    assert list(table.columns) == list(raw[0])
    assert table.iloc[0].tolist() == list(raw[0].values())


def test_the_caller_gets_a_copy():
    first = load_dataset("regions")
    first.loc[:, "nom"] = "changé"
    assert load_dataset("regions").set_index("code").loc["53", "nom"] == "Bretagne"


def test_a_missing_declared_column_names_the_file(tmp_path):
    rows = _rows("regions.csv")
    with open(tmp_path / "regions.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["code", "nom"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(InputError) as err:
        load_dataset("regions", tmp_path)
    assert str(err.value) == (
        f"fichier « {tmp_path / 'regions.csv'} » : colonne « zone » absente : données à reconstruire "
        "(cpts-diag data build)"
    )


def test_a_rewritten_file_is_read_again(tmp_path):
    shutil.copy(DATA / "regions.csv", tmp_path / "regions.csv")
    assert load_dataset("regions", tmp_path).set_index("code").loc["53", "nom"] == "Bretagne"
    text = (tmp_path / "regions.csv").read_text(encoding="utf-8").replace("Bretagne", "Breizh")
    (tmp_path / "regions.csv").write_text(text, encoding="utf-8")
    assert load_dataset("regions", tmp_path).set_index("code").loc["53", "nom"] == "Breizh"


def test_published_decimal_commas_are_read_as_numbers():
    """INSEE mortality rates are published « 6,40 »: declared ``published``, read as floats, empty = unknown."""
    raw = _rows("mortalite_brute_2013_2018.csv")
    table = load_dataset("mortality")
    assert len(table) == len(raw)
    for row, (_, got) in zip(raw, table.iterrows(), strict=True):
        assert got["code"] == row["code"]  # EPCI SIREN and département codes stay text
        if row["taux"] == "":
            assert math.isnan(got["taux"])
        else:
            assert got["taux"] == float(row["taux"].replace(",", "."))
    dep = table[table["niveau"] == "departement"].set_index("code")
    assert dep.loc["29", "taux"] == float(next(r for r in raw if r["code"] == "29")["taux"].replace(",", "."))


def test_an_optional_column_absent_from_an_older_build_is_unknown(tmp_path):
    """Adjacency built before the border lengths (no ``frontiere_km``): lengths unknown (NaN), never 0."""
    (tmp_path / "communes_adjacence_cog2026.csv").write_text(
        "a,b,lien\n29019,29075,contact\n01053,01283,possible\n", encoding="utf-8"
    )
    table = load_dataset("adjacency", tmp_path)
    assert table[["a", "b", "lien"]].values.tolist() == [["29019", "29075", "contact"], ["01053", "01283", "possible"]]
    assert table["frontiere_km"].isna().all() and table["frontiere_km"].dtype == float


def test_no_other_module_reads_a_csv_itself():
    """One loader: outside build/ (which writes data/), only io.embedded reads data/ and io.tables user files."""
    package = Path(__file__).resolve().parent.parent / "cpts_diag"
    readers = {
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if "read_csv(" in p.read_text(encoding="utf-8") and p.relative_to(package).parts[0] != "build"
    }
    assert readers == {"io/embedded.py", "io/tables.py"}
