"""The one resolver and the one cached reader of the embedded data files (:data:`cpts_diag.datasets.DATASETS`).

Examples
--------
>>> dataset_path("communes").name
'communes_cog2026.csv'
>>> load_dataset("regions").set_index("code").loc["53", "nom"]
'Bretagne'
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag import settings
from cpts_diag.datasets import DATASETS, FLOAT
from cpts_diag.errors import InputError
from cpts_diag.io.atomic import file_state


def dataset_path(key: str, data_dir: str | Path | None = None) -> Path:
    """Path of the embedded file ``key`` in ``data_dir`` (default: the data folder, with a clear error when it is
    not built)."""
    name = DATASETS[key].file
    base = Path(data_dir) if data_dir else settings.DATA_DIR
    return settings.data_path(name) if base == settings.DATA_DIR else base / name


def load_dataset(key: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """The table ``key`` read with its declared columns (text as str, "" kept; numbers as float, NaN when empty),
    further columns as text. Cached per file state (:func:`cpts_diag.io.atomic.file_state`); returns a copy the
    caller may change.

    Raises InputError naming the file when a declared column is missing (data built by an older version), unless
    the dataset declares it ``optional`` (then empty).
    """
    return _load(key, file_state(dataset_path(key, data_dir))).copy()


def parse_numbers(series: pd.Series) -> pd.Series:
    """Numbers as a producer publishes them to float: decimal commas read; blanks and tokens (« s », « N/A -
    résultat non disponible »...) NaN.

    >>> parse_numbers(pd.Series(["6,40", "s", "", "12"])).tolist()
    [6.4, nan, nan, 12.0]
    """
    text = series.astype(str).str.replace(",", ".", regex=False).str.strip()
    return pd.to_numeric(text, errors="coerce").astype(float)


@functools.lru_cache(maxsize=32)
def _load(key: str, state: tuple) -> pd.DataFrame:
    dataset, path = DATASETS[key], state[0]
    header = pd.read_csv(path, sep=dataset.sep, nrows=0).columns
    missing = [c for c in dataset.columns if c not in header and c not in dataset.optional]
    if missing:
        raise InputError(f"colonne « {missing[0]} » absente : données à reconstruire (cpts-diag data build)", path=path)
    numbers = [c for c, kind in dataset.columns.items() if kind == FLOAT]
    plain = [] if dataset.published else numbers
    frame = pd.read_csv(
        path,
        sep=dataset.sep,
        dtype={c: float if c in plain else str for c in header},
        keep_default_na=False,
        na_values={c: [""] for c in plain},
    )
    for column in numbers if dataset.published else ():
        frame[column] = parse_numbers(frame[column])
    for column in dataset.optional:
        if column not in header:
            frame[column] = np.nan if column in numbers else ""
    return frame
