"""Small shared helpers for HTML output: escaping, JSON safe to embed in ``<script>``, standalone pages.

Pages and fragments are rendered by jinja2 templates (:mod:`cpts_diag.outputs.templating`); French number
formatting lives in :mod:`cpts_diag.fr_format`."""

from __future__ import annotations

import html as _html
import json
from typing import Any

from cpts_diag.fr_format import is_missing
from cpts_diag.outputs.templating import Markup, render


def esc(text: Any) -> str:
    """Escape any value for HTML text or attribute context (None gives ``""``).

    Examples
    --------
    >>> esc("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    """
    return "" if text is None else _html.escape(str(text), quote=True)


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
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def html_page(title: str, body: str, css: str = "") -> str:
    """A standalone French HTML page (no external resource): escaped title, inline CSS, ``body`` as is."""
    return render("page.html.j2", title=title, body=Markup(body), style=Markup(css))


def script_json(obj: Any) -> str:
    """Serialise ``obj`` to compact JSON that is safe inside an HTML ``<script>``: ``<``, ``>``, ``&`` and the JS
    line separators U+2028/U+2029 are written as ``\\uXXXX`` escapes, so no string can close the script element.

    Examples
    --------
    >>> script_json({"a": "</script>"})
    '{"a":"\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate({ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})
