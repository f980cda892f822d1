"""Paths and defaults, in one place (osmnx-style settings)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = [
    "REPO_DIR",
    "DATA_DIR",
    "REPORTS_DIR",
    "NOTEBOOKS_DIR",
    "DEFAULT_PERIMETERS",
    "DEFAULT_GEOMETRIES",
    "DEFAULT_CPAM",
    "CACHE_DIR",
    "data_path",
]

REPO_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CPTS_DIAG_DATA", REPO_DIR / "data"))
REPORTS_DIR = Path(os.environ.get("CPTS_DIAG_REPORTS", REPO_DIR / "reports"))
NOTEBOOKS_DIR = REPO_DIR / "notebooks"
# Private cache of computed diagnostics shared by the reports of one batch ("0" disables it).
CACHE_DIR = os.environ.get(
    "CPTS_DIAG_CACHE",
    str(Path(tempfile.gettempdir()) / f"cpts_diag-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"),
)

DEFAULT_PERIMETERS = DATA_DIR / "perimetres" / "cpts_paca_ars_2026-01.json"
DEFAULT_GEOMETRIES = DATA_DIR / "communes_paca_cog2026.gpkg"
DEFAULT_CPAM = DATA_DIR / "exemple_cpam_FICTIF_paca.csv"


def data_path(name: str) -> Path:
    """Path of an embedded data file, with a clear error when the data were not built."""
    path = DATA_DIR / name
    if not path.exists():
        from cpts_diag.errors import InputError

        raise InputError(
            "donnée embarquée absente : lancez « cpts-diag data build --source DOSSIER »",
            path=path,
        )
    return path
