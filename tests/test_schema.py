"""The vocabulary of indicator rows: str enums that read, print and serialise as the French words."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd

from cpts_diag.schema import INDICATOR_COLUMNS, LEVELS, THEMES, Level, Quality, Theme


def test_members_are_the_words_of_the_rows():
    assert [str(lv) for lv in LEVELS] == ["territoire", "departement", "region", "france"]
    assert [f"{q}" for q in Quality] == ["exacte", "approchée", "partiellement masquée", "données fictives"]
    assert THEMES[0] == "Territoire" and THEMES[-1] == "Santé et social" and len(THEMES) == 5
    assert Level.REGION == "region" and "region" == Level.REGION and Level("france") is Level.FRANCE
    assert {"territoire": 1}[Level.TERRITORY] == 1  # same hash as the plain word: dict keys match


def test_json_and_excel_receive_plain_words(tmp_path):
    assert json.dumps({"level": Level.TERRITORY, "quality": Quality.APPROXIMATE}, ensure_ascii=False) == (
        '{"level": "territoire", "quality": "approchée"}'
    )
    path = tmp_path / "t.xlsx"
    pd.DataFrame({"niveau": [Level.DEPARTEMENT], "thème": [Theme.ACCESS]}).to_excel(path, index=False)
    sheet = openpyxl.load_workbook(path).active
    assert [sheet["A2"].value, sheet["B2"].value] == ["departement", "Accès aux soins"]
    assert type(sheet["A2"].value) is str


def test_a_pandas_column_of_members_compares_with_words():
    levels = pd.Series([Level.TERRITORY, Level.FRANCE, "region"])
    assert (levels == "france").tolist() == [False, True, False]
    assert levels.map(LEVELS.index).tolist() == [0, 3, 2]
    assert len(INDICATOR_COLUMNS) == len(set(INDICATOR_COLUMNS)) == 15
