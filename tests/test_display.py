"""What the notebooks display: outputs styled as in the report inside JupyterLab, plain in exported pages."""

from __future__ import annotations

import re

import pandas as pd

from cpts_diag.outputs.templating import css
from cpts_diag.reports.display import PAGE_STYLE_SHEETS, exported_html, notebook_html, table_html


def test_notebook_output_carries_its_scoped_style_and_the_export_takes_it_off():
    fragment = table_html(pd.DataFrame({"Commune": ["Quimper"], "Population": [63_283]}))
    shown = notebook_html(fragment)
    style, body = re.fullmatch(r"<style>(.*?)</style>(.*)", shown, flags=re.DOTALL).groups()
    assert body == f'<div class="cpts-diag">{fragment}</div>'
    # every rule of the style applies inside the output only (one rule per "{...}", its selectors before it)
    for selectors in re.findall(r"(?:^|})([^{}@]+)\{", style):
        for selector in selectors.split(","):
            assert selector.strip().startswith(".cpts-diag.cpts-diag"), selector
    # the report's card, alignment and fictitious-data rules are all there
    for rule in (".kpis li{", "td.num,", ".banner-fictitious{", "tr.fictitious-row td,", ".faiblesse{"):
        assert rule in style, rule
    assert exported_html(shown) == fragment
    assert exported_html(fragment) == fragment  # anything else as is
    assert fragment.count("<style") == 0  # tables and notes no longer carry a style sheet each


def test_page_style_sheets_exist():
    for name in PAGE_STYLE_SHEETS:
        assert len(css(name)) > 200
