"""Tests of cpts_diag.outputs.export: Excel workbooks (codes as text, notes, formats) and GeoPackages."""

import os

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from cpts_diag.outputs.export import write_geopackage, write_workbook


@pytest.fixture
def communes():
    return pd.DataFrame(
        {
            "Code commune": ["01001", "2A004", "13201"],
            "Nom": ["L'Abergement-Clémenciat", "Ajaccio", "Marseille 1er"],
            "Département": ["01", "2A", "13"],
            "Population": [860, 68916, 39436],
            "APL": [1.942, np.nan, 6.36],
            "Secteurs": [["a", "b"], [], ("c",)],
        }
    )


def _sheet(path, name):
    wb = openpyxl.load_workbook(path)
    return wb[name]


def test_codes_are_written_as_text_with_their_leading_zeros(communes, tmp_path):
    path = write_workbook(tmp_path / "communes.xlsx", {"Communes": communes})
    assert path == tmp_path / "communes.xlsx"
    ws = _sheet(path, "Communes")
    assert [c.value for c in ws[1]] == list(communes.columns)
    for row, (code, dep) in enumerate([("01001", "01"), ("2A004", "2A"), ("13201", "13")], start=2):
        for cell, expected in ((ws.cell(row, 1), code), (ws.cell(row, 3), dep)):
            assert cell.value == expected and cell.data_type == "s" and cell.number_format == "@"


def test_numbers_stay_numbers_and_missing_values_stay_empty(communes, tmp_path):
    ws = _sheet(write_workbook(tmp_path / "c.xlsx", {"Communes": communes}), "Communes")
    pop = ws.cell(3, 4)
    assert pop.value == 68916 and pop.data_type == "n" and pop.number_format == "#,##0"
    apl = ws.cell(2, 5)
    assert apl.value == pytest.approx(1.942) and apl.data_type == "n" and apl.number_format == "#,##0.0##"
    assert ws.cell(3, 5).value is None  # NaN: an empty cell, never 0
    assert [ws.cell(r, 6).value for r in (2, 3, 4)] == ["a, b", None, "c"]  # "" is written as no value


def test_integer_codes_of_a_numeric_column_become_text(tmp_path):
    df = pd.DataFrame({"Code INSEE": [1001, 13055], "Région": [84, 93], "Valeur": [1, 2]})
    ws = _sheet(write_workbook(tmp_path / "x.xlsx", {"S": df}, text_columns=["Valeur"]), "S")
    assert [(ws.cell(r, 1).value, ws.cell(r, 1).data_type) for r in (2, 3)] == [("1001", "s"), ("13055", "s")]
    assert ws.cell(2, 2).value == "84" and ws.cell(3, 3).value == "2"  # listed in text_columns


def test_notes_above_the_table_and_frozen_header(communes, tmp_path):
    notes = {"Communes": ["Source : INSEE", "Données fictives : exemple"]}
    ws = _sheet(write_workbook(tmp_path / "n.xlsx", {"Communes": communes}, notes=notes), "Communes")
    assert [ws.cell(r, 1).value for r in (1, 2, 3, 4)] == [
        "Source : INSEE",
        "Données fictives : exemple",
        None,
        "Code commune",
    ]
    assert ws.cell(5, 1).value == "01001"
    assert ws.freeze_panes == "A5"
    assert ws.cell(4, 1).font.bold


def test_sheet_names_are_cut_to_31_characters(tmp_path):
    long = "Indicateurs de l'offre de soins par commune"
    wb = openpyxl.load_workbook(
        write_workbook(tmp_path / "l.xlsx", {long: pd.DataFrame({"a": [1]}), "B": pd.DataFrame()})
    )
    assert wb.sheetnames == [long[:31], "B"]


def test_a_failed_workbook_leaves_the_previous_file(communes, tmp_path, monkeypatch):
    path = write_workbook(tmp_path / "c.xlsx", {"Communes": communes})
    before = path.read_bytes()

    def broken_save(self, filename):
        raise OSError("disque plein")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(OSError, match="disque plein"):
        write_workbook(path, {"Autre": communes})
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.xlsx"]


def test_geopackage_layers_read_back_and_empty_layers_are_skipped(tmp_path):
    communes = gpd.GeoDataFrame(
        {"code_insee": ["01001", "01002"], "population": [860, 270]},
        geometry=[box(5.0, 46.0, 5.1, 46.1), box(5.1, 46.0, 5.2, 46.1)],
        crs=4326,
    )
    empty = communes.iloc[0:0]
    path = write_geopackage(tmp_path / "p.gpkg", {"communes": communes, "orphelines": empty, "rien": None})
    assert dict(pyogrio.list_layers(path)).keys() == {"communes"}
    back = pyogrio.read_dataframe(path, layer="communes")
    assert back["code_insee"].tolist() == ["01001", "01002"]
    assert back.crs.to_epsg() == 4326 and back.geometry.iloc[1].equals(box(5.1, 46.0, 5.2, 46.1))
    assert os.listdir(tmp_path) == ["p.gpkg"]


def test_a_geopackage_without_any_layer_is_refused_and_not_written(tmp_path):
    with pytest.raises(ValueError, match="aucune couche"):
        write_geopackage(tmp_path / "vide.gpkg", {"communes": None})
    assert os.listdir(tmp_path) == []
