"""Tests of cpts_diag.outputs.html: escaping, JSON safe inside <script>, plain JSON values, standalone pages."""

from cpts_diag.outputs.html import esc, script_json

XSS = "<script>alert(1)</script>"


def test_escape_and_script_json():
    assert esc(XSS) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert esc('L\'Étang "Nord" & co') == "L&#x27;Étang &quot;Nord&quot; &amp; co"
    assert esc(None) == ""
    js = script_json({"t": XSS + "\u2028"})
    assert "<" not in js and ">" not in js and "\u2028" not in js
    assert js == '{"t":"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\\u2028"}'
