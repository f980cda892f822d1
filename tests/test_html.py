"""Tests of cpts_diag.outputs.html: escaping, JSON safe inside <script>, plain JSON values, standalone pages."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cpts_diag.outputs.html import esc, html_page, json_ready, script_json

XSS = "<script>alert(1)</script>"


def test_escape_and_script_json():
    assert esc(XSS) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc('L\'Étang "Nord" & co') == "L&#x27;Étang &quot;Nord&quot; &amp; co"
    assert esc(None) == ""
    js = script_json({"t": XSS + "\u2028"})
    assert "<" not in js and ">" not in js and "\u2028" not in js
    assert js == '{"t":"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u2028"}'


@pytest.mark.parametrize(
    "obj",
    [
        {"nom": "</script><script>alert(1)</script>"},
        {"nom": "<!-- x -->", "b": "a & b", "c": "\u2028\u2029"},
        ["</SCRIPT>", "</scr" + "ipt >", 1, 2.5, None, True],
    ],
)
def test_script_json_cannot_close_the_script_and_reads_back_equal(obj):
    text = script_json(obj)
    assert "</" not in text and "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    # a page holding it has exactly one closing tag: the real one
    page = f"<script>var d = {text};</script>"
    assert len(re.findall(r"</script", page, flags=re.IGNORECASE)) == 1
    assert json.loads(text) == obj  # \\u003c and friends are plain JSON escapes


def test_script_json_refuses_nan():
    with pytest.raises(ValueError):
        script_json({"valeur": float("nan")})


def test_esc_escapes_every_value_for_text_and_attributes():
    assert esc(3) == "3"
    assert esc(0) == "0"  # only None gives the empty string
    assert esc("a\"b'c") == "a&quot;b&#x27;c"
    attribute = f'<a title="{esc(chr(34) + " onmouseover=alert(1) " + chr(34))}">'
    assert attribute == '<a title="&quot; onmouseover=alert(1) &quot;">'


def test_json_ready_gives_plain_json_values():
    value = {
        1: (np.int64(7), np.float64(2.5), np.bool_(True)),
        "manque": [float("nan"), None, pd.NA, np.nan],
        "chemin": Path("a") / "b.csv",
        "ensemble": {"x"},
        "texte": "é",
    }
    assert json_ready(value) == {
        "1": [7, 2.5, True],
        "manque": [None, None, None, None],
        "chemin": "a/b.csv",
        "ensemble": ["x"],
        "texte": "é",
    }
    out = json_ready({"n": np.int64(7), "f": np.float32(0.5)})
    assert type(out["n"]) is int and type(out["f"]) is float
    json.dumps(json_ready(value), allow_nan=False)


def test_html_page_is_standalone_french_with_escaped_title_and_raw_body():
    page = html_page(f"Synthèse {XSS}", "<p>corps <b>gras</b></p>", css="p { color: red; }")
    assert page.lstrip().startswith("<!DOCTYPE html>") and '<html lang="fr">' in page
    assert '<meta charset="utf-8">' in page
    assert "<title>Synthèse &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
    assert "<p>corps <b>gras</b></p>" in page  # the body is HTML already
    assert "<style>p { color: red; }</style>" in page
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "<style>" not in html_page("T", "<p>x</p>")  # no empty style element
