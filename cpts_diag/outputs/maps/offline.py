"""The standalone offline page of a web map: Leaflet (from xstatic-leaflet) and the package's map script
(``static/map.js``) inlined, folium's CDN resources removed, written atomically."""

from __future__ import annotations

import base64
import functools
import os
import re
from pathlib import Path
from typing import Any

import folium
from branca.element import Element

from cpts_diag.io.atomic import atomic_write_text
from cpts_diag.outputs.maps.elements import figure_of
from cpts_diag.outputs.templating import script

_EXTERNAL_RE = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE
)


@functools.lru_cache(maxsize=1)
def _leaflet_assets() -> tuple[str, str]:
    """Leaflet JS and CSS from xstatic-leaflet, images inlined as data URIs (read once per process)."""
    from xstatic.pkg import leaflet as xleaflet

    base = Path(xleaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match) -> str:
        img = base / match.group(1)
        if not img.is_file():
            return "none"
        return f"url(data:image/png;base64,{base64.b64encode(img.read_bytes()).decode('ascii')})"

    css = re.sub(r"url\(\s*['\"]?(images/[\w.-]+\.png)['\"]?\s*\)", data_uri, css)
    js = re.sub(r"\n//# sourceMappingURL=\S*\s*$", "\n", js)
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    css = re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)
    return js, css


def _strip_cdn(el: Any) -> None:
    """Drop default CDN resources of ``el`` and its descendants (instance attributes)."""
    for attr in ("default_js", "default_css"):
        if hasattr(el, attr):
            setattr(el, attr, [(n, u) for n, u in getattr(el, attr) if n not in _CDN_NAMES])
    for child in getattr(el, "_children", {}).values():
        _strip_cdn(child)


_CDN_NAMES = set(
    "leaflet jquery bootstrap awesome_markers leaflet_css bootstrap_css"
    " glyphicons_css awesome_markers_font_css awesome_markers_css awesome_rotate_css".split()
)


class _RawHtml(Element):
    """Fixed HTML rendered as it is (not parsed as a template)."""

    def __init__(self, markup: str):
        super().__init__("{{ this.markup }}")
        self.markup = markup


def map_html(m: folium.Map) -> str:
    """Standalone offline HTML of a folium map (French page, Leaflet and ``static/map.js`` inlined, folium's CDN
    resources removed); ``m`` may be rendered again: Leaflet is inlined once. Raises ValueError if the page still
    needs an external script/style (e.g. a folium plugin) or jQuery, which would not work offline."""
    _strip_cdn(m)
    js, css = _leaflet_assets()
    leaflet = _RawHtml(f"<style>{css}</style>\n<script>{js}</script>\n<script>{script('map.js')}</script>")
    root = figure_of(m)
    root.header.add_child(leaflet, name="cpts_inline_leaflet")
    html = root.render()
    ext = _EXTERNAL_RE.search(html)
    if ext:
        raise ValueError(f"map needs an external resource, not usable offline: {ext.group(0)[:120]}")
    if re.search(r"\$\(|jQuery", html.replace(js, "")):
        raise ValueError("map code needs jQuery (e.g. an HTML popup), not available offline")
    html = re.sub(r"<html>", '<html lang="fr">', html, count=1)
    if "<meta charset" not in html:
        html = html.replace("<head>", '<head>\n<meta charset="utf-8">', 1)
    return html


def save_offline_map(m: folium.Map, path: str | os.PathLike) -> Path:
    """Write the standalone offline HTML of ``m`` atomically; return the path."""
    return atomic_write_text(path, map_html(m))
