"""Arithmetic on masked (statistical-secrecy) counts.

Published health and social files hide small counts ("<10", "NS", "secret statistique", blank cells...). A masked
count is **unknown**, never zero: this module parses such cells into a triplet ``(value, masked, upper)`` and sums
them into bounds.

Conventions
-----------
* ``value`` is the count when it is known, NaN when it is masked.
* ``masked`` is True when the cell hides its value.
* ``upper`` is an upper bound of the cell: the value itself when it is known; for a masked cell, the threshold of
  the mask. A cell written ``"<N"`` lies in ``[0, N)`` (integer counts: ``0 .. N-1``); its upper bound is taken as
  ``N`` (a safe, slightly generous bound). ``"<=N"`` / ``"≤N"`` lie in ``[0, N]`` and also get ``N``. Any other
  mask token (``"NS"``, ``"secret"``, blank...) gets the caller's ``default_threshold``.
* The lower bound of every count is 0, so the lower bound of a sum is the sum of the known cells.

Examples
--------
>>> cells = parse_count_column(pd.Series(["12", "<10", "secret", "3", "1 000"]))
>>> total = masked_sum(cells["value"], cells["masked"], cells["upper"])
>>> total.low, total.high, total.n_masked, total.exact
(1015.0, 1035.0, 2, False)
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.text import strip_accents

#: Text tokens meaning "value hidden" (compared after stripping, lower-casing, removing
#: accents and collapsing spaces). Blank cells are masked too.
MASK_TOKENS = frozenset(
    {
        "ns",
        "s",
        "nd",
        "n.d.",
        "n.d",
        "n/d",
        "nc",
        "n.c.",
        "*",
        "**",
        "x",
        "c",
        "secret",
        "secret stat",
        "secret statistique",
        "secret stat.",
        "n/a - secret statistique",
        "n/a-secret statistique",
        "na - secret statistique",
        "n/a",
        "na",
        "-",
        "--",
        "…",
        "...",
    }
)

_LESS_THAN = re.compile(r"^(<=|≤|<|inf\.?\s*(?:a|à)?)\s*(\d+(?:[.,]\d+)?)$")
# spaces used as thousands separators: normal, NBSP, narrow NBSP, thin, figure space
_SPACE_CHARS = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class CountFormatError(ValueError):
    """A cell that is neither a number nor a known mask token.

    ``value`` is the raw cell, ``reason`` why it is rejected (French) and ``position`` the index label of the cell
    in the parsed Series (None for a single value).
    """

    def __init__(self, value, reason: str, position=None):
        self.value = value
        self.reason = reason
        self.position = position
        super().__init__(f"{reason} (valeur « {value} »)")


def _parse_number_text(text: str) -> float | None:
    """Parse French/English number text; None when it is not a number."""
    compact = _SPACE_CHARS.sub("", text)
    if not compact:
        return None
    if "," in compact and "." in compact:
        # the last separator is the decimal one: "1.234,5" or "1,234.5"
        if compact.rfind(",") > compact.rfind("."):
            compact = compact.replace(".", "").replace(",", ".")
        else:
            compact = compact.replace(",", "")
    elif compact.count(",") == 1:
        compact = compact.replace(",", ".")
    return float(compact) if _NUMBER.match(compact) else None


def parse_count(value, default_threshold: float = 10) -> tuple[float, bool, float]:
    """Parse one count cell that may be masked into ``(value, masked, upper)``.

    ``value`` is a number, a text number (``"1 234,5"``, ``"123.4567"``; spaces, non-breaking and thin spaces are
    thousands separators; a single comma is a decimal comma), a mask token (:data:`MASK_TOKENS`, ``"<10"``,
    ``"< 5"``) or blank/None/NaN; ``default_threshold`` as in the module docstring. Raises
    :class:`CountFormatError` on text that is neither a number nor a mask token, or a negative count.

    Examples
    --------
    >>> parse_count("1 234,5")
    (1234.5, False, 1234.5)
    >>> parse_count("<5")
    (nan, True, 5.0)
    >>> parse_count("secret statistique")
    (nan, True, 10.0)
    >>> parse_count(None, default_threshold=11)
    (nan, True, 11.0)
    """
    default = float(default_threshold)
    if value is None or value is pd.NA or value is pd.NaT:
        return math.nan, True, default
    if isinstance(value, bool):
        raise CountFormatError(value, "valeur booléenne au lieu d'un effectif")
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return math.nan, True, default
    else:
        text = str(value)
        token = " ".join(strip_accents(text).lower().split())
        if not token or token in MASK_TOKENS:
            return math.nan, True, default
        m = _LESS_THAN.match(token.replace(" ", "") if token.startswith(("<", "≤")) else token)
        if m:
            return math.nan, True, float(m.group(2).replace(",", "."))
        read = _parse_number_text(text)
        if read is None:
            raise CountFormatError(value, "effectif illisible (ni nombre ni valeur masquée connue)")
        number = read
    if math.isinf(number):
        raise CountFormatError(value, "effectif infini")
    if number < 0:
        raise CountFormatError(value, "effectif négatif")
    return number, False, number


def parse_count_column(series: pd.Series, default_threshold: float = 10) -> pd.DataFrame:
    """Parse a column of count cells (text, numbers or a mix) that may be masked, as :func:`parse_count`.

    The frame has the index of ``series`` and columns ``value`` (float, NaN when masked), ``masked`` (bool),
    ``upper`` (float). :class:`CountFormatError` is raised on the first unreadable cell; its ``position`` is
    the index label of that cell.

    Examples
    --------
    >>> parse_count_column(pd.Series(["3", "<5", ""])).to_dict("list")
    {'value': [3.0, nan, nan], 'masked': [False, True, True], 'upper': [3.0, 5.0, 10.0]}
    """
    index = series.index
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        bad = np.isinf(values) | (values < 0)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raw = series.iloc[pos]
            reason = "effectif négatif" if raw < 0 else "effectif infini"
            raise CountFormatError(raw, reason, index[pos])
        masked = np.isnan(values)
        upper = np.where(masked, float(default_threshold), values)
        return pd.DataFrame({"value": values, "masked": masked, "upper": upper}, index=index)
    # object / string column. Fast path: plain numbers (spaces removed, a lone decimal comma turned into a point);
    # every other cell is parsed by parse_count, once per distinct value.
    raw = series.astype(object)
    compact = raw.astype("string").str.replace(_SPACE_CHARS, "", regex=True)
    lone_comma = (compact.str.count(",") == 1) & ~compact.str.contains(".", regex=False)
    compact = compact.where(~lone_comma.fillna(False), compact.str.replace(",", ".", regex=False))
    fast = pd.to_numeric(compact, errors="coerce").astype(float).to_numpy()
    fast_ok = np.isfinite(fast) & (fast >= 0)
    value, masked, upper = fast.copy(), np.zeros(len(fast), dtype=bool), fast.copy()
    parsed: dict = {}
    cells = raw.to_numpy()
    for at in np.flatnonzero(~fast_ok):
        cell = cells[at]
        key = ("__nan__",) if fr.is_missing(cell) else (type(cell), cell)
        if key not in parsed:
            try:
                parsed[key] = parse_count(None if key == ("__nan__",) else cell, default_threshold)
            except CountFormatError as exc:
                exc.position = index[at]
                raise
        value[at], masked[at], upper[at] = parsed[key]
    return pd.DataFrame({"value": value, "masked": masked, "upper": upper}, index=index)


@dataclass(frozen=True)
class MaskedTotal:
    """Sum of counts some of which are masked.

    ``low`` is the sum of the known cells (every masked cell may be 0), ``high`` adds the upper bounds of the
    masked cells (``inf`` when a masked cell has no bound); ``n_masked`` of the ``n_total`` cells are masked.
    """

    low: float
    high: float
    n_masked: int
    n_total: int

    @property
    def exact(self) -> bool:
        """True when no cell is masked (``low == high`` is then the total)."""
        return self.n_masked == 0

    @property
    def value(self) -> float | None:
        """The total when it is exact, else None (unknown)."""
        return self.low if self.exact else None


def masked_sum(values, masked, upper) -> MaskedTotal:
    """Sum counts with masked cells (triplet columns as returned by :func:`parse_count_column`).

    A cell with ``masked`` False but a NaN value is treated as masked with an unknown bound.

    Examples
    --------
    >>> t = masked_sum([4.0, float("nan"), 6.0], [False, True, False], [4.0, 10.0, 6.0])
    >>> (t.low, t.high, t.n_masked, t.n_total, t.value)
    (10.0, 20.0, 1, 3, None)
    """
    v = np.asarray(values, dtype=float)
    m = np.asarray(masked, dtype=bool) | np.isnan(v)
    u = np.asarray(upper, dtype=float)
    low = float(np.where(m, 0.0, v).sum())
    bounds = np.where(m, np.where(np.isnan(u), np.inf, u), 0.0)
    return MaskedTotal(low=low, high=low + float(bounds.sum()), n_masked=int(m.sum()), n_total=int(v.size))


def masked_sum_by(df: pd.DataFrame, by, value_col: str = "value") -> pd.DataFrame:
    """Grouped :func:`masked_sum`, vectorised: one row per group of ``by`` (as for :meth:`pandas.DataFrame.groupby`),
    columns ``low``, ``high`` (float), ``n_masked``, ``n_cells`` (int) and ``exact`` (bool).

    ``value_col`` holds the known values (NaN when masked); the mask flag and upper-bound columns are ``masked`` /
    ``upper`` for ``value_col`` ``"value"``, else ``f"{value_col}_masked"`` / ``f"{value_col}_upper"`` (the layout
    of :func:`cpts_diag.io.userfiles.read_cpam_table`).

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a", "a", "b"], "value": [1.0, float("nan"), 2.0],
    ...                    "masked": [False, True, False], "upper": [1.0, 5.0, 2.0]})
    >>> masked_sum_by(df, "g")[["low", "high", "n_masked"]].to_dict("index")
    {'a': {'low': 1.0, 'high': 6.0, 'n_masked': 1}, 'b': {'low': 2.0, 'high': 2.0, 'n_masked': 0}}
    """
    prefix = "" if value_col == "value" else f"{value_col}_"
    v = df[value_col].astype(float)
    m = df[f"{prefix}masked"].astype(bool) | v.isna()
    u = df[f"{prefix}upper"].astype(float)
    work = df.assign(
        low=v.where(~m, 0.0),
        bound=u.where(m, 0.0).where(~(m & u.isna()), np.inf),
        n_masked=m.astype(int),
        n_cells=1,
    )
    out = work.groupby(by, sort=True)[["low", "bound", "n_masked", "n_cells"]].sum()
    out["high"] = out["low"] + out.pop("bound")
    out["exact"] = out["n_masked"] == 0
    return out[["low", "high", "n_masked", "n_cells", "exact"]]


def share_bounds(num: MaskedTotal, den: MaskedTotal) -> tuple[float, float]:
    """Bounds ``(low, high)`` of the share ``num / den`` of a sub-population when either total has masked cells.

    ``low = num.low / den.high`` and ``high = num.high / den.low``, clipped to ``[0, 1]`` (a sub-population
    cannot exceed its base). When both totals are exact, ``low == high == num.low / den.low``.
    ``den.low == 0`` gives ``high = 1``; ``den.high == 0`` (empty base) gives ``(nan, nan)``.

    Examples
    --------
    >>> share_bounds(MaskedTotal(10, 20, 1, 3), MaskedTotal(100, 110, 1, 3))
    (0.09090909090909091, 0.2)
    """
    if den.high == 0 or math.isnan(den.high):
        return math.nan, math.nan
    low = num.low / den.high if not math.isinf(den.high) else 0.0
    high = num.high / den.low if den.low > 0 else 1.0
    return min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)
