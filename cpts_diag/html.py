"""Small shared helpers for user-facing text and HTML output.

French number formatting (decimal comma, narrow no-break space as thousands
separator), HTML escaping, JSON safe to embed in ``<script>`` and atomic text
writes.

Examples
--------
>>> fmt_number(12345.678)
'12\\u202f345,7'
>>> fmt_int(1399.0)
'1\\u202f399'
>>> fmt_pct(12.34)
'12,3\\u202f%'
>>> esc('<b>"A" & B</b>')
'&lt;b&gt;&quot;A&quot; &amp; B&lt;/b&gt;'
"""

from __future__ import annotations

import html as _html
import json
import math
import numbers
from typing import Any

from cpts_diag.atomic import atomic_write_text  # re-exported

__all__ = [
    "NNBSP",
    "MISSING_TEXT",
    "is_missing",
    "fmt_number",
    "fmt_int",
    "fmt_pct",
    "fmt_population",
    "esc",
    "script_json",
    "html_page",
    "json_ready",
    "atomic_write_text",
]

#: Narrow no-break space (U+202F), the French thousands separator.
NNBSP = "\u202f"

#: Text shown in place of a masked or unavailable value.
MISSING_TEXT = "n.d."


def is_missing(x: Any) -> bool:
    """Return True when ``x`` is None, NaN, pandas NA/NaT or not a number.

    Parameters
    ----------
    x : object
        Value to test.

    Returns
    -------
    bool
        True for values that must be shown as masked / unavailable.

    Examples
    --------
    >>> is_missing(float("nan")), is_missing(None), is_missing(0)
    (True, True, False)
    """
    if x is None:
        return True
    if isinstance(x, bool):
        return False
    if isinstance(x, numbers.Number):
        try:
            return math.isnan(float(x))
        except (TypeError, ValueError):
            return True
    try:  # pandas.NA, NaT, numpy scalars
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _group(int_digits: str) -> str:
    """Insert narrow no-break spaces every three digits (from the right)."""
    out = []
    for i, ch in enumerate(reversed(int_digits)):
        if i and i % 3 == 0:
            out.append(NNBSP)
        out.append(ch)
    return "".join(reversed(out))


def fmt_number(x: Any, decimals: int = 1, missing: str = MISSING_TEXT) -> str:
    """Format a number the French way.

    Parameters
    ----------
    x : float or int
        Value; None/NaN give ``missing``.
    decimals : int, default 1
        Number of decimals kept (rounded).
    missing : str, default "n.d."
        Text returned for a missing (masked) value.

    Returns
    -------
    str
        E.g. ``"12 345,7"`` with a narrow no-break space (U+202F).

    Examples
    --------
    >>> fmt_number(-1234.56, 2).replace(NNBSP, " ")
    '-1 234,56'
    >>> fmt_number(None)
    'n.d.'
    """
    if is_missing(x):
        return missing
    value = float(x)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    text = f"{abs(value):.{max(int(decimals), 0)}f}"
    int_part, _, dec_part = text.partition(".")
    sign = "-" if value < 0 and float(text) != 0 else ""
    out = sign + _group(int_part)
    if dec_part:
        out += "," + dec_part
    return out


def fmt_int(x: Any, missing: str = MISSING_TEXT) -> str:
    """Format a number rounded to an integer, French thousands separator.

    Examples
    --------
    >>> fmt_int(886040).replace(NNBSP, " ")
    '886 040'
    """
    return fmt_number(x, 0, missing=missing)


def fmt_pct(x: Any, decimals: int = 1, *, ratio: bool = False, missing: str = MISSING_TEXT) -> str:
    """Format a percentage the French way (``"12,3 %"``, narrow no-break space).

    Parameters
    ----------
    x : float
        Value in percent points (``12.3``), or a ratio (``0.123``) when
        ``ratio=True``.
    decimals : int, default 1
        Number of decimals.
    ratio : bool, default False
        Multiply by 100 first.
    missing : str, default "n.d."
        Text returned for a missing value.

    Examples
    --------
    >>> fmt_pct(0.1234, ratio=True)
    '12,3\\u202f%'
    """
    if is_missing(x):
        return missing
    value = float(x) * (100.0 if ratio else 1.0)
    return fmt_number(value, decimals) + NNBSP + "%"


def fmt_population(population: Any, low: Any = None, high: Any = None, missing: Any = MISSING_TEXT) -> Any:
    """Population when known, else its bounds ("entre a et b"), else ``missing``.

    Examples
    --------
    >>> fmt_population(85696.0).replace(NNBSP, " ")
    '85 696'
    >>> fmt_population(None, 4531, 362268).replace(NNBSP, " ")
    'entre 4 531 et 362 268'
    >>> fmt_population(None, None, None, missing=None) is None
    True
    """
    if not is_missing(population):
        return fmt_int(population)
    if not is_missing(low) and not is_missing(high):
        return f"entre {fmt_int(low)} et {fmt_int(high)}"
    return missing


def esc(text: Any) -> str:
    """Escape any value for HTML text or attribute context (None gives ``""``).

    Examples
    --------
    >>> esc("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    """
    if text is None:
        return ""
    return _html.escape(str(text), quote=True)


def json_ready(value: Any) -> Any:
    """Plain JSON value: containers made lists/dicts, numpy scalars made Python, missing values None.

    Examples
    --------
    >>> json_ready({"a": (1, float("nan")), 2: None})
    {'a': [1, None], '2': None}
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_ready(v) for v in value]
    if is_missing(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def html_page(title: str, body: str, css: str = "") -> str:
    """A standalone French HTML page (no external resource): escaped title, inline CSS, ``body`` as is."""
    style = f"<style>{css}</style>\n" if css else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n{style}</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def script_json(obj: Any) -> str:
    """Serialise ``obj`` to compact JSON that is safe inside an HTML ``<script>``.

    ``<``, ``>``, ``&`` and the JS line separators U+2028/U+2029 are written
    as ``\\uXXXX`` escapes, so no string can close the script element.

    Examples
    --------
    >>> script_json({"a": "</script>"})
    '{"a":"\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
