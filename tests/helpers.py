"""Small helpers shared by several test files (imported by name, like geo_expect)."""

from __future__ import annotations

import pandas as pd


def populations(codes):
    """Populations of commune or arrondissement codes, from the COG 2026 reference."""
    from cpts_diag.reference import load_reference

    communes = load_reference().communes
    return [float(communes.at[c, "population"]) for c in codes]


def perimeter_table(territories: dict) -> pd.DataFrame:
    """Canonical perimeter table from {territory: [codes]} (Marseille arrondissements as 132xx codes)."""
    rows = []
    for name, codes in territories.items():
        for code in codes:
            arr = code if code.startswith("132") else None
            rows.append(
                {
                    "cpts": name,
                    "code_insee": "13055" if arr else code,
                    "arrondissement": arr,
                    "infracommunal": False,
                    "line": len(rows) + 2,
                }
            )
    return pd.DataFrame(rows)


def indicator_row(diag, indicator, level="territoire", code=None):
    """The one indicator row of ``diag`` for ``indicator`` at ``level`` (and ``code``)."""
    ind = diag.indicators
    sel = ind[(ind["indicator"] == indicator) & (ind["level"] == level)]
    if code is not None:
        sel = sel[sel["level_code"] == code]
    assert len(sel) == 1, (indicator, level, len(sel))
    return sel.iloc[0]
