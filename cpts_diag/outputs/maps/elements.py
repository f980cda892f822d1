"""The folium elements of the web maps: feature layers sent as compact arrays (decoded by ``static/map.js``),
legend rows, title, source and banner (``templates/fragments/map.html.j2``), view fitting."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from cpts_diag import fr_format as fr
from cpts_diag.outputs.html import esc, script_json
from cpts_diag.outputs.maps import layout
from cpts_diag.outputs.maps.classes import (
    CONFLICT_COLOR,
    FICTITIOUS_BANNER,
    MASKED_COLOR,
    MASKED_HATCH,
    MASKED_LABEL,
    NEIGHBOUR_COLOR,
    ORPHAN_COLOR,
    ORPHAN_LABEL,
    OUTLINE_COLOR,
    Classification,
    classify,
)
from cpts_diag.outputs.maps.geometry import data_bounds, name_column
from cpts_diag.outputs.templating import Markup, css, macro


def map_macro(name: str, /, *args, **kwargs) -> str:
    """One macro of ``templates/fragments/map.html.j2`` rendered as a plain ``str``."""
    return str(macro("fragments/map.html.j2", name)(*args, **kwargs))


class FeatureLayer(Layer):
    """GeoJSON layer with per-feature style index and plain-text tooltips.

    Features arrive as compact arrays (see :func:`_features`) decoded to GeoJSON in the browser; their
    properties are only ``s`` (index into ``styles``; without ``style_idx``, every feature takes the first
    style) and ``t`` (tooltip texts). ``styles`` may be a list of views (lists of styles) and ``style_idx`` then
    has one column per view: ``layer.cptsView(v)`` in the browser restyles the features as view ``v`` (one
    geometry, several choropleths). Each tooltip is a ``(heading, [(label, value)...])`` pair or None; the
    browser builds it with ``textContent``, so no user text is ever parsed as HTML. The layer registers
    itself in ``window.cptsDiag.layers[role]`` for tests.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = window.cptsDiag.featureLayer({{ this._parent.get_name() }}, "
        "{{ this.role|tojson }}, {{ this.data }}, {{ this.styles }}, {{ this.labels }}, "
        "{{ this.interactive|tojson }}, {{ this.highlight|tojson }});"
        "{% endmacro %}"
    )

    def __init__(
        self,
        gdf: gpd.GeoDataFrame,
        style_idx: Sequence[int] | np.ndarray | None,
        tips: Sequence[Any],
        styles: Sequence[dict[str, Any]] | Sequence[Sequence[dict[str, Any]]],
        role: str,
        name: str,
        interactive: bool = True,
        highlight: bool = False,
        decimals: int = 5,
    ):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "CptsLayer"
        self.role = role
        features, labels = _features(gdf, style_idx, tips, decimals)
        self.n_features = len(features)
        self.data = script_json({"k": 10**decimals, "f": features})
        self.labels = script_json(labels)
        views = styles if styles and isinstance(styles[0], (list, tuple)) else [styles]
        self.styles = script_json([list(v) for v in views])
        self.interactive = bool(interactive)
        self.highlight = bool(highlight)


class _Decorations(MacroElement):
    """CSS, hatch patterns, title, fictitious banner, legend and French controls."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        {{ this.body }}
        {% endmacro %}
        {% macro script(this, kwargs) %}
        window.cptsDiag.decorate({{ this._parent.get_name() }}, {{ this.fictitious|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, body: str, fictitious: bool):
        super().__init__()
        self._name = "CptsDecorations"
        self.css = css("map.css")
        self.body = body
        self.fictitious = fictitious


def legend_row(text: str, fill: str | None = None, **swatch: Any) -> str:
    """Legend row: ``text`` after a small inline SVG symbol that prints with its colours: a box filled with ``fill``
    or with the pattern ``cls``, or a ``line`` of ``width`` (``dash``)."""
    return map_macro("legend_row", Markup(map_macro("swatch", fill=fill, **swatch)), text)


def _fmt_value(x: Any, decimals: int, integral: bool) -> str:
    """Tooltip text: a French number (masked label when missing), other values as they are."""
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) or fr.is_missing(x):
        return fr.number(x, 0 if integral else decimals, missing=MASKED_LABEL.lower())
    return str(x)


def column_texts(values: pd.Series, decimals: int, integral: bool, unit: str | None = None) -> list[str]:
    """Tooltip text of each value of a column; ``unit`` follows every value that is not masked."""
    return [_fmt_value(v, decimals, integral) + (f" {unit}" if unit and not fr.is_missing(v) else "") for v in values]


def extra_columns(gdf: gpd.GeoDataFrame, tooltip_fields: Any, decimals: int) -> list[tuple[str, list[str]]]:
    """``(label, texts)`` of the extra tooltip columns present in ``gdf``: ``{column: label}`` or columns."""
    if not tooltip_fields:
        return []
    pairs = tooltip_fields.items() if isinstance(tooltip_fields, Mapping) else ((c, c) for c in tooltip_fields)
    fields = [(str(c), str(lab)) for c, lab in pairs]
    return [(lab, column_texts(gdf[c], decimals, is_integral(gdf[c]))) for c, lab in fields if c in gdf.columns]


def commune_headings(gdf: gpd.GeoDataFrame) -> list[str]:
    """Tooltip heading of each commune: « nom (code) », or the code alone when the name is missing."""
    names, codes = (gdf[c] if c in gdf.columns else [None] * len(gdf) for c in ("nom", "code_insee"))
    return [str(c) if fr.is_missing(n) else f"{n} ({c})" for n, c in zip(names, codes)]


def tooltips(headings: Sequence[Any], columns: list[tuple[str, list[str]]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Tooltips from a heading per feature and ``(label, texts)`` columns."""
    return [(str(h), [(str(lab), str(texts[i])) for lab, texts in columns]) for i, h in enumerate(headings)]


def is_integral(series: pd.Series) -> bool:
    """True when the column has values and all are whole numbers."""
    values = series.dropna()
    num = pd.to_numeric(values, errors="coerce")
    return not values.empty and bool(num.notna().all() and np.isclose(num.to_numpy(dtype=float) % 1, 0).all())


def _encode_ring(coords: np.ndarray, scale: float) -> list[int]:
    """Flat delta-encoded integer ring: x0, y0, dx1, dy1... (closing point dropped)."""
    q = np.round(np.asarray(coords)[:, :2] * scale).astype(np.int64)
    if (q[0] == q[-1]).all():
        q = q[:-1]
    return np.diff(q, axis=0, prepend=0).ravel().tolist()


def _features(
    gdf: gpd.GeoDataFrame, style_idx: Sequence[int] | np.ndarray | None, tips: Sequence[Any], decimals: int = 5
) -> tuple[list[list], list[str]]:
    """Compact features and tooltip labels. Each feature is ``[style, tooltip, polygons]``: ``tooltip`` is
    ``[heading, value1, value2...]`` (or 0 for none), the value labels being returned once for the layer; polygons
    are lists of delta-encoded integer rings (:func:`_encode_ring`), decoded in the browser to GeoJSON
    MultiPolygons (one SVG path per feature)."""
    scale = 10.0**decimals
    labels: list[str] = next(([k for k, _ in t[1]] for t in tips if t), [])
    out = []
    indices: Iterable[Any] = itertools.repeat(0) if style_idx is None else style_idx  # an int or a row per feature
    for geom, s, t in zip(np.asarray(gdf.geometry.array, dtype=object), indices, tips):
        polys = layout.polygons(geom)
        if not polys:
            continue
        enc = [
            [_encode_ring(p.exterior.coords, scale)] + [_encode_ring(r.coords, scale) for r in p.interiors]
            for p in polys
        ]
        tip = [t[0]] + [v for _, v in t[1]] if t else 0
        out.append([int(s) if np.ndim(s) == 0 else [int(x) for x in s], tip, enc])
    return out, labels


def new_map(tiles: bool) -> folium.Map:
    m = folium.Map(
        tiles=None, zoom_control=False, control_scale=False, prefer_canvas=False, location=[46.6, 2.5], zoom_start=6
    )
    m.default_js = []
    m.default_css = []
    if tiles:
        folium.TileLayer(
            tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            attr="© les contributeurs d’OpenStreetMap",
            name="Fond OpenStreetMap",
            max_zoom=19,
            overlay=False,
            control=True,
        ).add_to(m)
    return m


def figure_of(m: folium.Map) -> Figure:
    """The branca Figure (the page) that ``m`` belongs to."""
    root = m.get_root()
    assert isinstance(root, Figure)  # folium.Map always belongs to a branca Figure
    return root


def fit(m: folium.Map, gdfs: Sequence[gpd.GeoDataFrame | None]) -> None:
    """Centre ``m`` on the frames of ``gdfs`` and fit its view to them."""
    _fit_bounds(m, data_bounds(gdfs))


def _fit_bounds(m: folium.Map, bounds: Sequence[float] | None) -> None:
    """Centre ``m`` on ``bounds`` (lon/lat) and fit its view to them."""
    if bounds is None or not np.all(np.isfinite(bounds)):
        return
    x0, y0, x1, y1 = bounds
    m.location = [float((y0 + y1) / 2), float((x0 + x1) / 2)]
    m.fit_bounds(
        [[float(y0), float(x0)], [float(y1), float(x1)]], padding_top_left=(12, 48), padding_bottom_right=(12, 12)
    )


def _lonlat_bounds(geom: Any, crs: Any) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(b) for b in gpd.GeoSeries([geom], crs=crs).to_crs(4326).total_bounds)
    return x0, y0, x1, y1


def fit_frame(m: folium.Map, frame: layout.Frame | None, crs: Any, everything: Sequence[Any]) -> str | None:
    """Fit ``m`` as the printed map is framed: the main part of a territory with distant parts (``everything``,
    the frames of :func:`fit`, otherwise). Returns the legend row of buttons that show each part, or None."""
    if frame is None or frame.layout == "single":
        fit(m, everything)
        return None
    main = _lonlat_bounds(frame.main.geometry, crs)
    parts = [(p.caption(), _lonlat_bounds(p.geometry, crs)) for p in frame.others]
    if frame.layout == "insets":
        _fit_bounds(m, main)
        text, buttons = "Hors du cadre :", [*parts, ("Revenir au territoire", main)]
    else:
        fit(m, everything)
        text, buttons = "Voir :", [(frame.main.caption(), main), *parts]
    coded = [
        (label, script_json([[round(y0, 5), round(x0, 5)], [round(y1, 5), round(x1, 5)]]))
        for label, (x0, y0, x1, y1) in buttons
    ]
    return map_macro("zoom_row", text, coded)


def finish(m: folium.Map, legend_rows: list[str], legend_title: str | None, spec: Any, tiles: bool) -> folium.Map:
    """Add the decorations of ``spec`` (a MapSpec: title, source, fictitious banner) and the legend to ``m``."""
    body = map_macro(
        "decorations",
        Markup(map_macro("defs", MASKED_COLOR, MASKED_HATCH, ORPHAN_COLOR, CONFLICT_COLOR)),
        FICTITIOUS_BANNER if spec.fictitious else None,
        spec.title,
        legend_title,
        [Markup(row) for row in legend_rows],
        Markup(map_macro("source", spec.source, spec.fictitious)),
    )
    _Decorations(body, spec.fictitious).add_to(m)
    if spec.title:
        figure_of(m).title = esc(spec.title)
    if tiles:
        folium.LayerControl(collapsed=True).add_to(m)
    return m


def neighbour_layer(neighbours: gpd.GeoDataFrame, name_col: str | None, dec: int = 5) -> FeatureLayer:
    nc = name_column(neighbours, name_col)
    names = neighbours[nc] if nc else [None] * len(neighbours)
    tips = [("Territoire voisin", []) if fr.is_missing(n) else (str(n), [("", "Territoire voisin")]) for n in names]
    style = {
        "color": NEIGHBOUR_COLOR,
        "weight": 1,
        "opacity": 0.9,
        "fillColor": "#f0f0f0",
        "fillOpacity": 0.35,
        "dashArray": "4 3",
    }
    return FeatureLayer(neighbours, None, tips, [style], "neighbours", "Territoires voisins", decimals=dec)


def add_orphans(m: folium.Map, legend: list[str], orphans: gpd.GeoDataFrame, dec: int) -> None:
    """Add the hatched orphan communes to ``m`` and their row to ``legend``."""
    tips = [(h, [("", f"{ORPHAN_LABEL} : sans CPTS")]) for h in commune_headings(orphans)]
    style = {
        "color": ORPHAN_COLOR,
        "weight": 1.2,
        "opacity": 1,
        "fillColor": ORPHAN_COLOR,
        "fillOpacity": 1,
        "className": "cpts-orphan",
    }
    layer = FeatureLayer(orphans, None, tips, [style], "orphans", "Communes orphelines", highlight=True, decimals=dec)
    layer.add_to(m)
    legend.append(legend_row(f"{ORPHAN_LABEL} (sans CPTS)", cls="cpts-hatch-orphan"))


def outline_layer(outline: gpd.GeoDataFrame, role: str, name: str, weight: float, dec: int) -> FeatureLayer:
    """Outline layer: unfilled, non-interactive lines of ``weight`` pixels."""
    style = {"color": OUTLINE_COLOR, "weight": weight, "opacity": 1, "fill": False}
    return FeatureLayer(outline, None, [None] * len(outline), [style], role, name, interactive=False, decimals=dec)


def masked_style(base: dict) -> dict:
    return dict(base, fillColor=MASKED_COLOR, fillOpacity=1, className="cpts-masked")


def choropleth(
    values: pd.Series, spec: Any, base: dict, count_masked: bool = False
) -> tuple[np.ndarray, list[dict], list[str], Classification]:
    """Style index of each feature (masked values: the last style), styles, legend rows and the classes of
    ``values`` by the classes, palette, decimals and missing label of ``spec`` (a MapSpec). The last legend row is
    the masked class, with the number of masked features when ``count_masked``."""
    cls = classify(values, spec.classes, spec.palette, spec.decimals)
    idx = cls.assign(values)
    styles = [dict(base, fillColor=c) for c in cls.colors] + [masked_style(base)]
    n_masked = int((idx < 0).sum()) if count_masked else 0
    legend = [legend_row(lab, c) for c, lab in zip(cls.colors, cls.labels)]
    legend.append(
        legend_row(spec.missing_label + (f" ({fr.integer(n_masked)})" if n_masked else ""), cls="cpts-hatch-masked")
    )
    return np.where(idx < 0, len(cls.colors), idx), styles, legend, cls
