"""Tests of cpts_diag.outputs.indicator_outputs: terminal table, JSON rows, Excel workbook, the fictitious flag."""

import json

import openpyxl
import pytest

from cpts_diag import settings
from cpts_diag.indicators import diagnose, diagnose_all
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.outputs.indicator_outputs import (
    FICTITIOUS_BANNER,
    format_indicator_table,
    indicator_rows_json,
    write_indicator_workbook,
)
from helpers import indicator_row as _row
from helpers import perimeter_table as _perimeters


def test_table_banner_only_with_fictitious_data():
    real = diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS du Gapençais")
    demo = diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS du Gapençais", cpam=settings.DEFAULT_CPAM)
    text = format_indicator_table(demo)
    assert text.splitlines()[0] == FICTITIOUS_BANNER
    assert "données fictives" in text
    plain = format_indicator_table(real)
    assert "FICTIVES" not in plain
    pop = int(real.summary["population"])
    assert f"{pop // 1000} {pop % 1000:03d}" in plain  # "62 547"
    assert "Dép. 04" in plain and "Région 93" in plain and "France" in plain


def test_json_rows_keys_and_region_code_collision():
    # 26 Drôme (région 84) and 84 Vaucluse (région 93): "84" is both a département and a région code
    diag = diagnose_all(_perimeters({"T": ["26281", "84001"]}))["T"]
    rows = indicator_rows_json(diag)
    json.dumps(rows, allow_nan=False)
    keys = ("indicator", "label", "level", "territory_value", "territory_low", "territory_high", "comparisons")
    keys += ("unit", "source", "vintage", "source_level", "coverage", "quality")
    assert all(tuple(r) == keys for r in rows)
    first = rows[0]
    assert set(first["comparisons"]) == {"26", "84", "region_84", "93", "France"}
    assert first["territory_value"] == diag.summary["population"]
    assert first["comparisons"]["France"] == _row(diag, "population", "france")["value"]


def test_workbook_sheets_codes_and_notes(tmp_path):
    diag = diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS du Gapençais", cpam=settings.DEFAULT_CPAM)
    path = write_indicator_workbook(diag, tmp_path / "indicateurs.xlsx")
    wb = openpyxl.load_workbook(path)
    assert {
        "Territoire",
        "Démographie",
        "Offre de soins",
        "Accès aux soins",
        "Santé et social",
        "Communes",
        "Sources",
    } <= set(wb.sheetnames)

    def texts(ws, n=4):
        return [str(c.value) for row in ws.iter_rows(max_row=n) for c in row if c.value is not None]

    assert any("Données fictives" in t for t in texts(wb["Accès aux soins"]))
    assert not any("Données fictives" in t for t in texts(wb["Territoire"]))
    ws = wb["Communes"]
    header_row = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Code commune")
    first = ws.cell(header_row + 1, 1)
    assert isinstance(first.value, str) and len(first.value) == 5 and first.number_format == "@"
    assert first.value.startswith("0")  # 04… / 05…: the leading zero is kept


# ------------------------------------------------------------------ the fictitious flag, as data
@pytest.fixture(scope="module")
def gap_diagnostics():
    from cpts_diag import settings
    from cpts_diag.indicators import diagnose

    assert settings.DEFAULT_CPAM.name == "exemple_cpam_FICTIF_paca.csv"
    return (
        diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS du Gapençais", cpam=settings.DEFAULT_CPAM),
        diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS du Gapençais"),
    )


def test_fictitious_flag_reaches_every_output(gap_diagnostics, tmp_path):
    from openpyxl import load_workbook

    from cpts_diag.outputs.indicator_outputs import FICTITIOUS_BANNER, format_indicator_table, write_indicator_workbook
    from cpts_diag.synthesis import derive_findings

    demo, real = gap_diagnostics
    assert demo.fictitious and not real.fictitious
    assert demo.sources["fictitious"].any() and not real.sources["fictitious"].any()
    # terminal
    assert format_indicator_table(demo).startswith(FICTITIOUS_BANNER)
    assert "FICTI" not in format_indicator_table(real)
    # synthesis
    findings = derive_findings(demo)
    assert any(f.fictitious for f in findings.strengths + findings.weaknesses)
    real_findings = derive_findings(real)
    assert not any(f.fictitious for f in real_findings.strengths + real_findings.weaknesses)
    # Excel
    texts = {}
    for name, diag in (("demo", demo), ("real", real)):
        path = write_indicator_workbook(diag, tmp_path / f"{name}.xlsx")
        wb = load_workbook(path, read_only=True)
        texts[name] = " ".join(
            str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None
        )
    assert "Données fictives" in texts["demo"] and "fictives" not in texts["real"].lower()
