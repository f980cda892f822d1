"""The one jinja2 environment of the package: HTML templates and CSS files shipped as package data.

Templates live in ``cpts_diag/templates/*.html.j2``, style sheets in ``cpts_diag/static/*.css``. Autoescaping
is on for every template: a value is escaped unless it is :class:`markupsafe.Markup` (a fragment already
rendered by a template or marked safe on purpose). Values are escaped with :func:`html.escape` (``'`` as
``&#x27;``, ``None`` as nothing), as the package did before templates, so that outputs stay byte-identical.
The French formatting functions of :mod:`cpts_diag.fr_format` and :func:`cpts_diag.tiers.tier_label` are
filters (``{{ n|integer }}``, ``{{ x|number(1) }}``...).

Examples
--------
>>> render_string("<b>{{ name }}</b> {{ n|integer }}", name="A & <B>", n=41000)
'<b>A &amp; &lt;B&gt;</b> 41\\u202f000'
"""

from __future__ import annotations

import html as _html
import os
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from cpts_diag import fr_format as fr
from cpts_diag.tiers import tier_label

__all__ = ["Markup", "css", "environment", "render", "render_string", "url_path"]


def _finalize(value: Any) -> Any:
    """Escape every printed value the way the package always did (``None`` prints nothing)."""
    if hasattr(value, "__html__"):
        return value
    if value is None:
        return ""
    return Markup(_html.escape(str(value), quote=True))


def url_path(rel: Any) -> str:
    """A relative path as a URL: each segment percent-quoted (``os.sep`` read as ``/``).

    Examples
    --------
    >>> url_path("cpts zéro/carte.html")
    'cpts%20z%C3%A9ro/carte.html'
    """
    rel = str(rel).replace(os.sep, "/")
    return "/".join(quote(part, safe="") for part in rel.split("/"))


@cache
def css(name: str) -> Markup:
    """Content of the style sheet ``cpts_diag/static/<name>`` (read once per process)."""
    return Markup((files("cpts_diag") / "static" / name).read_text(encoding="utf-8"))


@cache
def environment() -> jinja2.Environment:
    """The package's jinja2 environment (created once): autoescape, strict undefined, French filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cpts_diag", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(
        number=fr.number,
        integer=fr.integer,
        percent=fr.percent,
        value_text=fr.value_text,
        population=fr.population,
        tier_label=tier_label,
        url_path=url_path,
    )
    env.tests["missing"] = fr.is_missing
    env.globals["css"] = css
    return env


def render(name: str, /, **context: Any) -> str:
    """Render the template ``cpts_diag/templates/<name>`` with ``context``; a plain ``str``."""
    return str(environment().get_template(name).render(**context))


def render_string(source: str, /, **context: Any) -> str:
    """Render a template given as text (same environment, same filters)."""
    return str(environment().from_string(source).render(**context))
