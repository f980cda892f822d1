"""The French formatting layer: numbers, percentages, values with bounds, populations, missing values.

Two typographies, chosen by ``style`` where outputs differ:

* :attr:`Style.HTML` (default; reports, maps, notebooks, sentences, check messages): narrow no-break
  space (U+202F) as thousands separator, bounds written « entre a et b »;
* :attr:`Style.TERMINAL` (alias :attr:`Style.EXCEL`; aligned terminal columns and Excel text cells):
  plain space as thousands separator, bounds written « a–b ».

Both use the decimal comma, « ≥ a » / « ≤ b » for a one-sided bound and « n.d. » for a missing value.
Tiers are labelled by :func:`cpts_diag.tiers.tier_label`.

Examples
--------
>>> number(1234567.891).replace(NNBSP, "_")
'1_234_567,9'
>>> number(1234567.891, style=Style.TERMINAL)
'1 234 567,9'
>>> value_text(float("nan"), 12557, 370294, 0, style=Style.TERMINAL)
'12 557–370 294'
>>> value_text(4.786, 4.734, 4.791, 2)
'4,79 (entre 4,73 et 4,79)'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from enum import Enum
from typing import Any

#: Narrow no-break space (U+202F), the French thousands separator (and before « % »).
NNBSP = "\u202f"
#: No-break space (U+00A0), between a number and its unit.
NBSP = "\u00a0"
#: Text shown in place of a masked or unavailable value.
MISSING = "n.d."


# Units shown with 0 or 2 decimals; every other unit (densities, rates, %, km²...) gets 1.
_DECIMALS = {
    **dict.fromkeys(
        ("hab.", "communes", "taille", "médecins", "patients", "bénéficiaires", "€", "professionnels", "équipements"), 0
    ),
    **dict.fromkeys(("consultations/an/hab.", "%/an"), 2),
}


def unit_decimals(unit: str) -> int:
    """Decimals shown for a value in ``unit`` (APL: 2, counts: 0, other values: 1)."""
    return _DECIMALS.get(unit, 1)


class Style(Enum):
    """Typography of an output (see the module docstring)."""

    HTML = "html"
    TERMINAL = "terminal"
    EXCEL = "terminal"  # alias: Excel text cells are written like terminal cells


def is_missing(x: Any) -> bool:
    """Return True when ``x`` is None, NaN or pandas NA/NaT (any other value, text included, is not missing).

    Examples
    --------
    >>> is_missing(float("nan")), is_missing(None), is_missing(0)
    (True, True, False)
    """
    if x is None:
        return True
    if isinstance(x, numbers.Number):
        try:
            return math.isnan(float(x))  # type: ignore[arg-type]  # complex: TypeError below
        except (TypeError, ValueError):
            return True
    try:  # pandas.NA, NaT, numpy scalars
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def number(x: Any, decimals: int = 1, *, missing: Any = MISSING, style: Style = Style.HTML) -> Any:
    """A number the French way: thousands separator, decimal comma; ``missing`` when None/NaN.

    Examples
    --------
    >>> number(-1234.56, 2, style=Style.TERMINAL), number(-0.04), number(None), number(float("inf"))
    ('-1 234,56', '0,0', 'n.d.', '∞')
    """
    if is_missing(x):
        return missing
    value = float(x)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    text = f"{abs(value):,.{max(int(decimals), 0)}f}"
    sign = "-" if value < 0 and text.strip("0,.") else ""  # no « -0,0 »
    return sign + text.replace(",", NNBSP if style is Style.HTML else " ").replace(".", ",")


def integer(x: Any, *, missing: Any = MISSING, style: Style = Style.HTML) -> Any:
    """A number rounded to an integer (:func:`number` with no decimal).

    Examples
    --------
    >>> integer(999.6).replace(NNBSP, " ")
    '1 000'
    """
    return number(x, 0, missing=missing, style=style)


def percent(
    x: Any, decimals: int = 1, *, ratio: bool = False, missing: Any = MISSING, style: Style = Style.HTML
) -> Any:
    """A percentage (``"12,3 %"``, narrow no-break space in HTML); ``ratio=True`` multiplies by 100.

    Examples
    --------
    >>> percent(0.1234, ratio=True) == "12,3\\u202f%"
    True
    """
    if is_missing(x):
        return missing
    sep = NNBSP if style is Style.HTML else " "
    return number(float(x) * (100.0 if ratio else 1.0), decimals, style=style) + sep + "%"


def value_text(
    value: Any,
    low: Any = None,
    high: Any = None,
    decimals: int | None = None,
    *,
    unit: str = "",
    show_unit: bool = True,
    missing: Any = MISSING,
    style: Style = Style.HTML,
) -> Any:
    """A value with its bounds (masked or approximate values), ``missing`` when nothing is known.

    ``decimals`` defaults to :func:`unit_decimals` of ``unit``. Bounds equal at the shown precision
    collapse into the value; bounds that add nothing to the value (all three equal as shown) are left
    out; one bound alone gives « ≥ a » or « ≤ b » (e.g. the area of France, known for all but four
    communes). ``unit`` follows the value (narrow no-break space before « % », no-break space before
    any other unit).

    Examples
    --------
    >>> value_text(float("nan"), 4531, 362268, 0, unit="hab.").replace(NNBSP, " ").replace(NBSP, "~")
    'entre 4 531 et 362 268~hab.'
    >>> value_text(4.786, 4.734, 4.791, 2, style=Style.TERMINAL)
    '4,79 (4,73–4,79)'
    >>> value_text(float("nan"), 12, None, 0), value_text(float("nan"), 5.01, 4.99, 1)
    ('≥ 12', '5,0')
    """
    if decimals is None:
        decimals = unit_decimals(unit)

    def one(x):
        return number(x, decimals, style=style)

    html = style is Style.HTML
    suffix = "" if not (unit and show_unit) else (NNBSP if unit == "%" else NBSP if html else " ") + unit
    has_v, has_lo, has_hi = not is_missing(value), not is_missing(low), not is_missing(high)
    if has_lo and has_hi and one(low) == one(high):
        if not has_v:
            value, has_v = low, True
        has_lo = has_hi = False
    if has_lo and has_hi:
        span = f"entre {one(low)} et {one(high)}" if html else f"{one(low)}–{one(high)}"
        return f"{one(value)}{suffix} ({span})" if has_v else span + suffix
    if has_v:
        return one(value) + suffix
    if has_lo:
        return f"≥ {one(low)}{suffix}"
    if has_hi:
        return f"≤ {one(high)}{suffix}"
    return missing


def population(
    pop: Any, low: Any = None, high: Any = None, *, missing: Any = MISSING, style: Style = Style.HTML
) -> Any:
    """A population when known, else its bounds (« entre a et b »), else ``missing``.

    Examples
    --------
    >>> population(85696.0).replace(NNBSP, " ")
    '85 696'
    >>> population(None, 4531, 362268).replace(NNBSP, " ")
    'entre 4 531 et 362 268'
    >>> population(None, None, None, missing=None) is None
    True
    """
    return value_text(pop, low, high, 0, missing=missing, style=style)


def yes_no(value: Any) -> str:
    """« oui » or « non »."""
    return "oui" if value else "non"


def enumeration(items: Sequence[Any]) -> str:
    """Items joined the French way.

    Examples
    --------
    >>> enumeration(["Apt"]), enumeration(["Apt", "Gap", "Nice"])
    ('Apt', 'Apt, Gap et Nice')
    """
    items = [str(i) for i in items]
    return ", ".join(items[:-1]) + " et " + items[-1] if len(items) > 1 else "".join(items)


def figure_text(text: Any) -> str:
    """Text for a matplotlib figure: ``$`` escaped, never read as mathtext."""
    return str(text).replace("$", r"\$")
