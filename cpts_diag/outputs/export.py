"""Shareable files, written atomically (:mod:`cpts_diag.io.atomic`): Excel workbooks a chargé de mission opens as
is, and GeoPackages for QGIS."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cpts_diag.io.atomic import atomic_path

if TYPE_CHECKING:
    import geopandas

# Columns whose values are codes: always written as text, never as numbers.
CODE_COLUMN_HINTS = ("code", "insee", "département", "departement", "région", "region", "siren", "arrondissement")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
_NOTE_FONT = Font(italic=True, color="7F0000")
_MAX_WIDTH = 60


def _cell_value(value):
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _number_format(series: pd.Series) -> str | None:
    if pd.api.types.is_integer_dtype(series):  # not booleans
        return "#,##0"
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        values = values[~np.isnan(values)]
        if len(values) and (values == np.round(values)).all() and np.abs(values).max() >= 100:
            return "#,##0"
        return "#,##0.0##"
    return None


def write_workbook(
    path: str | Path,
    sheets: Mapping[str, pd.DataFrame],
    text_columns: Iterable[str] | None = None,
    notes: Mapping[str, list[str]] | None = None,
) -> Path:
    """Write DataFrames as formatted sheets of one workbook.

    Headers are the DataFrame column names (give them in French), bold on a dark fill, frozen; code columns (names
    containing "code", "insee", "département", ... or listed in ``text_columns``) are written as text with the "@"
    format so Excel keeps leading zeros; numbers get a number format; columns are sized to their content.
    ``notes`` adds lines above a sheet's table (sources, warnings such as "Données fictives").
    """
    text_columns = set(text_columns or ())
    wb = Workbook()
    wb.remove(wb.active)
    for title, df in sheets.items():
        ws = wb.create_sheet(title=str(title)[:31])
        lines = (notes or {}).get(title, [])
        for i, line in enumerate(lines, start=1):
            ws.cell(row=i, column=1, value=line).font = _NOTE_FONT
        start = len(lines) + 2 if lines else 1  # a blank row between the notes and the table
        for j, name in enumerate(df.columns, start=1):
            cell = ws.cell(row=start, column=j, value=str(name))
            cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            series = df[name]
            as_text = name in text_columns or any(hint in str(name).lower() for hint in CODE_COLUMN_HINTS)
            fmt = "@" if as_text else _number_format(series)
            width = len(str(name))
            for i, value in enumerate(series.tolist(), start=start + 1):
                value = _cell_value(value)
                if value is None:  # an empty cell: nothing written, no format to carry
                    continue
                if as_text:
                    value = str(value)
                cell = ws.cell(row=i, column=j, value=value)
                if fmt:
                    cell.number_format = fmt
                width = max(width, len(str(value)))
            ws.column_dimensions[get_column_letter(j)].width = min(_MAX_WIDTH, width + 2)
        ws.freeze_panes = ws.cell(row=start + 1, column=1)
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def write_geopackage(path: str | Path, layers: Mapping[str, geopandas.GeoDataFrame]) -> Path:
    """Write several layers into one GeoPackage, atomically (empty layers are skipped)."""
    path = Path(path)
    layers = {name: gdf for name, gdf in layers.items() if gdf is not None and len(gdf)}
    with atomic_path(path) as tmp:
        if not layers:
            raise ValueError("aucune couche à écrire")
        for i, (name, gdf) in enumerate(layers.items()):
            gdf.to_file(tmp, layer=name, driver="GPKG", mode="a" if i else "w")
    return path
