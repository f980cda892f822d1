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
    assert {"index.css", "report.css", "map.css", "notebook.css"} <= {p.name for p in static.iterdir()}
    assert "\n" not in templating.css("notebook.css", compact=True)
