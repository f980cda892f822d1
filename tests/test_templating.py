"""The jinja2 environment: autoescaping as html.escape, strict undefined, fragments, package data."""

from importlib.resources import files

import jinja2
import pytest

from cpts_diag.outputs import templating
from cpts_diag.outputs.templating import Markup, _join_lines, render_string


def test_values_escaped_like_html_escape():
    out = render_string('<a title="{{ v }}">{{ v }}</a>', v='l\'<b> & "x"')
    assert out == '<a title="l&#x27;&lt;b&gt; &amp; &quot;x&quot;">l&#x27;&lt;b&gt; &amp; &quot;x&quot;</a>'
    assert render_string("{{ v }}", v=Markup("<b>ok</b>")) == "<b>ok</b>"
    assert render_string("[{{ v }}]", v=None) == "[]"


def test_strict_undefined():
    with pytest.raises(jinja2.UndefinedError):
        render_string("{{ missing }}")


def test_french_filters():
    assert render_string("{{ n|integer }} {{ x|number(1) }}", n=41000, x=2.25) == "41\u202f000 2,2"
    assert render_string("{{ p|url_path }}", p="a b/é.html") == "a%20b/%C3%A9.html"


def test_join_lines_rule():
    # next to a tag or a statement: nothing; between words: one space
    assert _join_lines("<p>a\n  b</p>\n<ul>\n") == "<p>a b</p><ul>"
    assert _join_lines("x\n", before_statement=False) == "x "
    assert _join_lines("\n  y", after_statement=False) == " y"


def test_every_template_compiles_and_static_files_are_package_data():
    env = templating.environment()
    names = env.list_templates()
    assert {
        "page.html.j2",
        "index.html.j2",
        "fragments/report_sections.html.j2",
        "fragments/map.html.j2",
        "fragments/notebook.html.j2",
        "fragments/open_report.html.j2",
    } <= set(names)
    for name in names:
        env.get_template(name)
    static = files("cpts_diag.outputs") / "static"
    assert {"index.css", "report.css", "map.css", "notebook.css", "notebook_output.css"} <= {
        p.name for p in static.iterdir()
    }
    assert "\n" not in templating.css("notebook.css", compact=True)


def test_scoped_css_styles_only_inside_the_scope(tmp_path):
    """Every selector of the scoped sheet starts with the scope; the page selectors are the scope itself."""
    import tinycss2

    text = str(templating.scoped_css(".s.s", "report.css"))
    assert "\n" not in text
    parsed = tinycss2.parse_stylesheet(text, skip_whitespace=True)
    selectors, media = [], []
    for rule in parsed:
        if rule.type == "at-rule":
            media.append(tinycss2.serialize(rule.prelude).strip())
            inner = tinycss2.parse_rule_list(rule.content, skip_whitespace=True)
            selectors += [tinycss2.serialize(r.prelude) for r in inner]
        else:
            selectors.append(tinycss2.serialize(rule.prelude))
    parts = [s.strip() for sel in selectors for s in sel.split(",")]
    assert parts and all(p == ".s.s" or p.startswith(".s.s ") for p in parts)
    assert media == ["print"]  # @media kept (scoped), @page left out
    # the report's own rules, read from the file: as many rules, with the same declarations
    raw = tinycss2.parse_stylesheet(templating.css("report.css"), skip_comments=True, skip_whitespace=True)
    qualified = [r for r in raw if r.type == "qualified-rule"]
    assert len([r for r in parsed if r.type == "qualified-rule"]) == len(qualified)
    assert ".s.s{--ink:#1b1b1b;" in text  # :root custom properties given to the scope
    assert ".s.s .kpis li{border:1px solid var(--rule);" in text
    assert ".s.s th,.s.s td{" in text and "text-align:left" in text
    assert "@page" not in text and "size:A4" not in text.replace(" ", "")
