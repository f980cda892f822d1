"""The one jinja2 environment of the package: HTML templates and CSS files shipped as package data.

Templates live in ``cpts_diag/outputs/templates/*.html.j2``, style sheets in
``cpts_diag/outputs/static/*.css``. Autoescaping is on for every template: a value is escaped with
:func:`html.escape` (``'`` as ``&#x27;``, ``None`` as nothing) unless it is :class:`markupsafe.Markup` (a fragment
already rendered by a template or marked safe on purpose). The French formatting functions of
:mod:`cpts_diag.fr_format` and :func:`cpts_diag.tiers.tier_label` are filters (``{{ n|integer }}``...).

Examples
--------
>>> render_string("<b>{{ name }}</b> {{ n|integer }}", name="A & <B>", n=41000)
'<b>A &amp; &lt;B&gt;</b> 41\\u202f000'
"""

from __future__ import annotations

import html as _html
import itertools
import os
import re
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import quote

import jinja2
from jinja2.ext import Extension
from jinja2.lexer import TokenStream
from markupsafe import Markup

from cpts_diag import fr_format as fr
from cpts_diag.tiers import tier_label

#: Templates whose names start with this prefix are HTML fragments written one element per line: see
#: :class:`_JoinLines`.
FRAGMENTS = "fragments/"
_LINE_BREAK = re.compile(r"[ \t]*\n\s*")


def _join_lines(text: str, after_statement: bool = True, before_statement: bool = True) -> str:
    r"""Template text of a fragment without its line breaks.

    A break (with the spaces around it) disappears when it follows ``>`` or a statement (``{% ... %}``,
    a comment, the start of the template) or precedes ``<`` or a statement; otherwise (between words or
    values ``{{ ... }}``) it becomes one space.

    Examples
    --------
    >>> _join_lines("<p>a\n b</p>\n<ul>\n")
    '<p>a b</p><ul>'
    >>> _join_lines("\nentre", after_statement=False)
    ' entre'
    """

    def repl(m: re.Match) -> str:
        before, after = text[m.start() - 1 : m.start()], text[m.end() : m.end() + 1]
        tag_before = before == ">" or (before == "" and after_statement)
        tag_after = after == "<" or (after == "" and before_statement)
        return "" if tag_before or tag_after else " "

    return _LINE_BREAK.sub(repl, text)


class _JoinLines(Extension):
    """Drop the line breaks of the template text of fragments (never those of the values printed), by the rule of
    :func:`_join_lines`: fragments, concatenated without separators by the notebooks, are written one element per
    line, indented, and still give compact HTML. Write ``{{ "\\n" }}`` for a line break in the output."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        """Remove the indentation of every line of a fragment."""
        if (name or "").startswith(FRAGMENTS):
            return re.sub(r"^[ \t]+", "", source, flags=re.MULTILINE)
        return source

    def filter_stream(self, stream: TokenStream):
        if not (stream.name or "").startswith(FRAGMENTS):
            yield from stream
            return
        tokens = list(stream)
        types = ["block_end", *(token.type for token in tokens), "block_begin"]  # the template's start and end
        for token, previous, following in zip(tokens, types, types[2:]):
            if token.type == "data":
                text = _join_lines(token.value, previous != "variable_end", following != "variable_begin")
                token = token._replace(value=text)
            yield token


def _finalize(value: Any) -> Any:
    """Escape every printed value the way the package always did (``None`` prints nothing)."""
    if hasattr(value, "__html__"):
        return value
    return Markup("" if value is None else _html.escape(str(value), quote=True))


def url_path(rel: Any) -> str:
    """A relative path as a URL: each segment percent-quoted (``os.sep`` read as ``/``).

    Examples
    --------
    >>> url_path("cpts zéro/carte.html")
    'cpts%20z%C3%A9ro/carte.html'
    """
    return "/".join(quote(part, safe="") for part in str(rel).replace(os.sep, "/").split("/"))


@cache
def css(name: str, compact: bool = False) -> Markup:
    """Content of the style sheet ``cpts_diag/outputs/static/<name>`` (read once per process); ``compact``: its
    lines joined without separator (a sheet written one rule per line, embedded on one line)."""
    text = (files("cpts_diag.outputs") / "static" / name).read_text(encoding="utf-8")
    return Markup("".join(text.splitlines()) if compact else text)


@cache
def script(name: str) -> Markup:
    """Content of the script ``cpts_diag/outputs/static/<name>`` (read once per process), safe inside a
    ``<script>`` element (``</script`` written ``<\\/script``)."""
    text = (files("cpts_diag.outputs") / "static" / name).read_text(encoding="utf-8")
    return Markup(re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE))


#: Selectors of the page itself in a style sheet: :func:`scoped_css` gives their declarations to the scope.
_PAGE_SELECTORS = ("html", "body", ":root")


def _scoped_rules(rules, scope: str) -> list[str]:
    """CSS text of parsed ``rules`` with every selector prefixed by ``scope`` (see :func:`scoped_css`)."""
    import tinycss2

    out = []
    for rule in rules:
        if rule.type == "qualified-rule":
            # the selector list split at its top-level commas
            commas = itertools.groupby(rule.prelude, lambda t: t.type == "literal" and t.value == ",")
            selectors = (tinycss2.serialize(list(tokens)).strip() for comma, tokens in commas if not comma)
            scoped = [scope if text in _PAGE_SELECTORS else f"{scope} {text}" for text in selectors]
            declarations = tinycss2.parse_declaration_list(rule.content, skip_comments=True, skip_whitespace=True)
            body = ";".join(
                f"{d.name}:{_LINE_BREAK.sub(' ', tinycss2.serialize(d.value)).strip()}"
                + ("!important" if d.important else "")
                for d in declarations
                if d.type == "declaration"
            )
            out.append(",".join(scoped) + "{" + body + "}")
        elif rule.type == "at-rule" and rule.lower_at_keyword == "media":
            inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
            out.append(f"@media {tinycss2.serialize(rule.prelude).strip()}{{{''.join(_scoped_rules(inner, scope))}}}")
        # other at-rules (@page: the printed page box) cannot apply to a part of a page: left out
    return out


@cache
def scoped_css(scope: str, *names: str) -> Markup:
    """The style sheets ``names`` of ``static/`` rewritten to style only the elements inside ``scope``.

    Every selector is prefixed with ``scope`` (a selector, e.g. ``".cpts-diag.cpts-diag"``); the page's own
    selectors (``html``, ``body``, ``:root``) become ``scope`` itself; ``@media`` blocks are scoped likewise and
    ``@page`` rules left out. Parsed with tinycss2; the result is one line, read once per process.

    Examples
    --------
    >>> scoped_css(".s", "report.css").startswith(".s{--ink:")
    True
    """
    import tinycss2

    rules = []
    for name in names:
        parsed = tinycss2.parse_stylesheet(str(css(name)), skip_comments=True, skip_whitespace=True)
        rules += _scoped_rules(parsed, scope)
    return Markup("".join(rules))


@cache
def environment() -> jinja2.Environment:
    """The package's jinja2 environment (created once): autoescape, strict undefined, French filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cpts_diag.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
        extensions=[_JoinLines],
    )
    env.filters.update(
        {name: getattr(fr, name) for name in ("number", "integer", "percent", "value_text", "population")}
    )
    env.filters.update(tier_label=tier_label, url_path=url_path)
    env.tests["missing"] = fr.is_missing
    env.globals.update(css=css, NNBSP=fr.NNBSP)
    return env


def render(name: str, /, **context: Any) -> str:
    """Render the template ``cpts_diag/outputs/templates/<name>`` with ``context``; a plain ``str``."""
    return str(environment().get_template(name).render(**context))


def macro(name: str, macro_name: str):
    """The macro ``macro_name`` of the template ``name``, callable from Python (returns ``Markup``)."""
    return getattr(environment().get_template(name).module, macro_name)


def render_string(source: str, /, **context: Any) -> str:
    """Render a template given as text (same environment, same filters)."""
    return str(environment().from_string(source).render(**context))
