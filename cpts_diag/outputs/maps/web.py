"""Web (folium, offline) and printed (matplotlib) maps of CPTS territories.

Maps are sent to ARS delegations who open them offline on administration
networks and print them, hence:

* web maps embed Leaflet (JS and CSS from the ``xstatic-leaflet`` package)
  and no other resource: no CDN, no background tiles unless asked;
* geometries are simplified as a coverage (neighbours keep sharing their
  borders) and coordinates rounded, to keep files small;
* every text a user reads is French and HTML-escaped; masked values are drawn
  in their own grey hatched class, never as zero; fictitious data carry a
  visible red banner.

Examples
--------
>>> m = commune_map(communes, "apl", label="APL médecins généralistes",
...                 unit="consultations/an/hab.", source="DREES, APL 2023, commune")
... # skipped: needs the communes of a diagnostic  # doctest: +SKIP
>>> save_offline_map(m, "carte.html")  # skipped: writes a file  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import functools
import itertools
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from cpts_diag import fr_format as fr
from cpts_diag.io.atomic import atomic_write_text
from cpts_diag.outputs import map_layout
from cpts_diag.outputs.html import esc, script_json
from cpts_diag.outputs.templating import Markup, css, macro
from cpts_diag.tiers import tier_label

__all__ = [
    "MASKED_LABEL",
    "ORPHAN_LABEL",
    "FICTITIOUS_BANNER",
    "PALETTES",
    "TIER_COLORS",
    "Classification",
    "MapView",
    "classify",
    "web_geometry",
    "commune_map",
    "proposal_map",
    "region_map",
    "map_html",
    "save_offline_map",
    "static_map",
]

MASKED_LABEL = "Donnée masquée ou indisponible"
ORPHAN_LABEL = "Commune orpheline"
FICTITIOUS_BANNER = "Données fictives — exemple de démonstration"

#: 5-class sequential ColorBrewer palettes (colorbrewer2.org).
PALETTES: dict[str, list[str]] = {
    "YlOrRd": ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    "YlGnBu": ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
    "Blues": ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
    "Greens": ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],
    "Purples": ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
    "OrRd": ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"],
    "PuBu": ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"],
    "RdPu": ["#feebe2", "#fbb4b9", "#f768a1", "#c51b8a", "#7a0177"],
}
DEFAULT_PALETTE = "YlGnBu"

#: Fixed colours of the ACI size tiers (ColorBrewer Set2, colour-blind safe).
TIER_COLORS: dict[str, str] = {"T1": "#66c2a5", "T2": "#fc8d62", "T3": "#8da0cb", "T4": "#e78ac3"}
TIER_LABELS: dict[str, str] = {
    tier_label(i, short=True): f"{tier_label(i).capitalize()} ({tier_label(i, short=True)})" for i in range(1, 5)
}

#: Colours of the candidate territories of a proposal map (ColorBrewer Dark2 then Set1, qualitative), in turn.
CANDIDATE_COLORS = [
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#377eb8",
    "#e41a1c",
    "#984ea3",
    "#ff7f00",
    "#4daf4a",
]
CONFLICT_COLOR = "#d7191c"
NEAR_THRESHOLD_COLOR = "#08306b"

MASKED_COLOR = "#d9d9d9"
MASKED_HATCH = "#8c8c8c"
ORPHAN_COLOR = "#6a3d9a"
PLAIN_COLOR = "#c6dbef"
OUTLINE_COLOR = "#111111"
NEIGHBOUR_COLOR = "#6f6f6f"
BORDER_COLOR = "#ffffff"

_METRO_BOUNDS = (-5.5, 41.0, 10.0, 51.5)  # lon/lat box of metropolitan France (Corsica included)
_NAME_COLUMNS = ("cpts", "nom", "name", "territoire")


# ---------------------------------------------------------------------------
# classification
# ---------------------------------------------------------------------------
@dataclass
class Classification:
    """Classes of a choropleth: the one object that decides both the class of each value and the legend labels.

    ``breaks`` are the interior thresholds (class ``i`` holds ``breaks[i-1] <= v < breaks[i]``); ``labels`` and
    ``colors`` the French legend label and hex colour of each class; ``decimals`` those of the labels and of the
    values shown on the maps. A value is classed as it is shown (rounded to ``decimals`` as
    :func:`cpts_diag.fr_format.number` writes it), so a value shown on a limit falls in the class the legend says.
    Give the same object to the printed and the web map (their ``classes``) and both draw the same classes.
    """

    breaks: list[float]
    labels: list[str]
    colors: list[str]
    decimals: int = 1

    def assign(self, values: Any) -> np.ndarray:
        """Class index of each value, ``-1`` for a missing (masked) value."""
        v = _shown(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float), self.decimals)
        out = np.searchsorted(np.asarray(self.breaks, dtype=float), v, side="right").astype(int)
        out[np.isnan(v)] = -1
        return out


@dataclass
class MapView:
    """Another choropleth of the same communes on a web map, chosen by a switch in its legend (the geometry is
    sent once: the switch restyles it).

    ``value_col`` is classed by ``classes`` (a :class:`Classification`, e.g. ordered categories); ``label`` names
    the view in the switch and its legend (with ``unit``); ``missing_label`` is its grey hatched class (« non
    disponible »…); ``text_col``: a column of the tooltip texts of the view (default: the value); ``title``: the
    map's title while the view is shown (default: the map's title).
    """

    value_col: str
    label: str
    classes: Classification
    unit: str | None = None
    missing_label: str = MASKED_LABEL
    text_col: str | None = None
    title: str | None = None


def _shown(values: np.ndarray, decimals: int) -> np.ndarray:
    """Values as the maps show them: rounded to ``decimals`` the way :func:`fr_format.number` rounds."""
    return np.array([float(f"{x:.{decimals}f}") if np.isfinite(x) else x for x in values], dtype=float)


def _decimals_of(breaks: Sequence[float], decimals: int) -> int:
    """At least ``decimals``, and enough (up to 6) for each break to be written exactly in a label."""
    while decimals < 6 and any(float(f"{b:.{decimals}f}") != b for b in breaks):
        decimals += 1
    return decimals


def _palette_colors(palette: Any, n: int) -> list[str]:
    """``n`` colours from a ColorBrewer name (``"_r"`` reverses) or a list of colours."""
    if palette is None:
        palette = DEFAULT_PALETTE
    if not isinstance(palette, str):
        colors = [str(c) for c in palette]
        if len(colors) < n:
            raise ValueError(f"palette has {len(colors)} colours, {n} needed")
        pick = np.round(np.linspace(0, len(colors) - 1, n)).astype(int)
        return [colors[i] for i in pick]
    name, reverse = (palette[:-2], True) if palette.endswith("_r") else (palette, False)
    if name in PALETTES and n == len(PALETTES[name]):
        colors = list(PALETTES[name])
    else:
        from matplotlib import colormaps
        from matplotlib.colors import to_hex

        cmap = colormaps[name]
        colors = [to_hex(cmap(x)) for x in np.linspace(0.08, 0.92, n)] if n > 1 else [to_hex(cmap(0.6))]
    return colors[::-1] if reverse else colors


def classify(
    values: Any,
    classes: int | Sequence[float] | Classification | None = None,
    palette: Any = None,
    decimals: int = 1,
) -> Classification:
    """Build choropleth classes with French labels.

    * ``values``: non-numeric, None and NaN are masked and get no class.
    * ``classes``: number of quantile classes (default 5), or the interior thresholds, e.g. ``[2.5, 3, 4]``
      for classes ``< 2,5``, ``2,5 à < 3``..., or a :class:`Classification` already made (returned as is).
      Quantile thresholds are rounded to ``decimals`` (shown in the labels) so labels are exact; a threshold
      given with more decimals raises ``decimals`` to write it exactly.
    * ``palette``: ColorBrewer sequential name (``"YlGnBu"`` default, ``"_r"`` suffix reverses) or explicit
      colours.

    Values are compared to the thresholds as they are shown, rounded to ``decimals``: 2,46 shown « 2,5 » with
    one decimal is in the class « 2,5 et plus ».

    Examples
    --------
    >>> c = classify([1, 2, 3, None], classes=[2.5])
    >>> c.labels
    ['moins de 2,5', '2,5 et plus']
    >>> c.assign([1, 2.46, 2.44, 3, None]).tolist()
    [0, 1, 0, 1, -1]
    """
    if isinstance(classes, Classification):
        return classes
    v = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(dtype=float)
    v = v[~np.isnan(v)]
    if classes is None or isinstance(classes, (int, np.integer)):
        if len(v) == 0:
            return Classification([], [], [], decimals)
        k = 5 if classes is None else max(int(classes), 1)
        qs = np.unique(_shown(np.quantile(v, [i / k for i in range(1, k)]), decimals))
        low, high = _shown(np.array([v.min(), v.max()]), decimals)
        breaks = [float(b) for b in qs if low < b <= high]
    else:
        breaks = sorted(float(b) for b in classes)
        decimals = _decimals_of(breaks, decimals)
    f = lambda b: fr.number(b, decimals)  # noqa: E731
    if breaks:
        labels = [f"moins de {f(breaks[0])}"]
        labels += [f"de {f(a)} à moins de {f(b)}" for a, b in itertools.pairwise(breaks)]
        labels.append(f"{f(breaks[-1])} et plus")
    elif len(v) == 0:
        labels = ["toutes valeurs"]
    elif v.min() == v.max():
        labels = [f(v.min())]
    else:
        labels = [f"de {f(v.min())} à {f(v.max())}"]
    return Classification(breaks, labels, _palette_colors(palette, len(labels)), decimals)


# ---------------------------------------------------------------------------
# geometry for the web
# ---------------------------------------------------------------------------
def _auto_crs(*gdfs: gpd.GeoDataFrame) -> Any:
    """EPSG:2154 for metropolitan data, else the local UTM zone of the data (frames with a CRS)."""
    in_4326 = (g.geometry.to_crs(4326) for g in gdfs)
    bounds = _data_bounds([g[~(g.isna() | g.is_empty)] for g in in_4326])
    if bounds is None:
        return 2154
    x0, y0, x1, y1 = bounds
    mx0, my0, mx1, my1 = _METRO_BOUNDS
    if x0 >= mx0 and y0 >= my0 and x1 <= mx1 and y1 <= my1:
        return 2154
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    info = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(x0, y0, x1, y1))
    return f"{info[0].auth_name}:{info[0].code}" if info else 3857


def _require_crs(gdf: gpd.GeoDataFrame, what: str) -> None:
    if gdf.crs is None:
        raise ValueError(f"{what}: GeoDataFrame has no CRS (expected EPSG:4326)")


def _simplify_array(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Coverage simplification when the array is a valid coverage, else per geometry.

    Invalid polygons (e.g. an outline whose tiny hole collapsed in reprojection) are made valid first;
    an input GEOS still refuses to coverage-simplify is simplified geometry by geometry.
    """
    out = geoms.copy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if tolerance <= 0 or not ok.any():
        return out
    part = geoms[ok]  # a copy (boolean indexing)
    poly = np.isin(shapely.get_type_id(part), (3, 6))
    bad = poly & ~shapely.is_valid(part)  # e.g. a collapsed hole after reprojection: dropped
    if bad.any():
        part[bad] = shapely.make_valid(part[bad], method="structure", keep_collapsed=False)
    if poly.all():
        try:
            out[ok] = _coverage_simplify_most(part, tolerance)
            return out
        except shapely.errors.GEOSException:
            pass
    out[ok] = shapely.simplify(part, tolerance, preserve_topology=True)
    return out


def _coverage_simplify_most(part: np.ndarray, tolerance: float) -> np.ndarray:
    """Coverage simplification of the polygons that form a valid coverage, the others one by one.

    Polygons whose edges do not match their neighbours' (the arrondissements of Paris, Lyon, Marseille, simplified
    apart, and the communes around them) are simplified one by one; the rest keep sharing their borders, so that
    dissolving them leaves no sliver. Raises GEOSException when GEOS refuses the coverage.
    """
    if shapely.coverage_is_valid(part):
        return shapely.coverage_simplify(part, tolerance)
    bad = ~shapely.is_empty(shapely.coverage_invalid_edges(part))
    rest = part[~bad]
    if not len(rest) or not shapely.coverage_is_valid(rest):
        raise shapely.errors.GEOSException("not a coverage")
    out = part.copy()
    out[~bad] = shapely.coverage_simplify(rest, tolerance)
    out[bad] = shapely.simplify(part[bad], tolerance, preserve_topology=True)
    return out


def _round_array(geoms: Any, decimals: int) -> Any:
    """Coordinates of a geometry or an array of geometries rounded to ``decimals``."""
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def _web_layers(
    layers: Sequence[gpd.GeoDataFrame | None], tolerance_m: float, decimals: int, crs: Any
) -> list[gpd.GeoDataFrame | None]:
    """Simplify several layers together (one coverage when they do not overlap).

    Returns copies in EPSG:4326 with rounded coordinates; shared borders, also
    between layers, stay identical when the union of the layers is a coverage.
    """
    present = [g for g in layers if g is not None and len(g)]
    if not present:
        return [None if g is None else g.to_crs(4326) if g.crs else g for g in layers]
    for g in present:
        _require_crs(g, "web_geometry")
    if crs is None:
        crs = _auto_crs(*present)
    projected = [None if g is None else g.to_crs(crs) for g in layers]
    arrays = [None if g is None else np.asarray(g.geometry.array, dtype=object) for g in projected]
    sizes = [0 if a is None else len(a) for a in arrays]
    flat = np.concatenate([a for a in arrays if a is not None])
    ok = ~(shapely.is_missing(flat) | shapely.is_empty(flat))
    joint = (
        tolerance_m > 0
        and ok.any()
        and np.isin(shapely.get_type_id(flat[ok]), (3, 6)).all()
        and shapely.coverage_is_valid(flat[ok])
    )
    if joint:
        flat[ok] = shapely.coverage_simplify(flat[ok], tolerance_m)
        parts = np.split(flat, np.cumsum(sizes)[:-1])
    else:
        parts = [None if a is None else _simplify_array(a, tolerance_m) for a in arrays]
    for i, (g, arr) in enumerate(zip(projected, parts)):
        if g is not None:
            geo = gpd.GeoSeries(arr, index=g.index, crs=crs).to_crs(4326)
            rounded = _round_array(np.asarray(geo.array, dtype=object), decimals)
            projected[i] = g.set_geometry(gpd.GeoSeries(rounded, index=g.index, crs=4326), crs=4326)
    return projected


def web_geometry(
    gdf: gpd.GeoDataFrame, tolerance_m: float = 80, decimals: int = 5, crs: Any = None
) -> gpd.GeoDataFrame:
    """Light geometries for web maps: coverage simplification and rounding.

    ``gdf`` holds polygons with a CRS (usually EPSG:4326); ``tolerance_m`` is the simplification tolerance
    in metres (0 disables it), ``decimals`` those of the output longitudes/latitudes (5 ≈ 1 m), ``crs`` the
    projected CRS of the simplification (default EPSG:2154 for metropolitan data, the local UTM zone
    elsewhere: DROM).

    Returns a copy in EPSG:4326. When the polygons form a valid coverage (no overlap) they are simplified
    together with :func:`shapely.coverage_simplify`, so neighbours keep an identical shared border; every
    coordinate is rounded the same way.
    """
    return _web_layers([gdf], tolerance_m, decimals, crs)[0]


def _dissolve_outline(gdf: gpd.GeoDataFrame) -> Any:
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms):
        return None
    try:
        merged = shapely.coverage_union_all(geoms) if shapely.coverage_is_valid(geoms) else None
    except shapely.errors.GEOSException:  # pragma: no cover - defensive
        merged = None
    if merged is None or merged.is_empty or not merged.is_valid:
        merged = shapely.union_all(shapely.make_valid(geoms))
    return merged


def _as_gdf(obj: Any) -> gpd.GeoDataFrame | None:
    """GeoDataFrame from a GeoDataFrame, GeoSeries or shapely geometry (EPSG:4326 assumed); None from None or False."""
    if obj is None or obj is False:
        return None
    if isinstance(obj, gpd.GeoDataFrame):
        return obj
    if isinstance(obj, gpd.GeoSeries):
        return gpd.GeoDataFrame(geometry=obj)
    if isinstance(obj, shapely.Geometry):
        return gpd.GeoDataFrame(geometry=[obj], crs=4326)
    raise TypeError(f"territory_outline: expected a GeoDataFrame, GeoSeries or shapely geometry, got {type(obj)!r}")


# ---------------------------------------------------------------------------
# folium elements
# ---------------------------------------------------------------------------
def _map_macro(name: str, /, *args, **kwargs) -> str:
    """One macro of ``templates/fragments/map.html.j2`` rendered as a plain ``str``."""
    return str(macro("fragments/map.html.j2", name)(*args, **kwargs))


class _FeatureLayer(Layer):
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
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
        var styles = {{ this.styles }}, view = 0;
        var layer = L.geoJSON((function (d) {
            function ring(r) {
                var x = 0, y = 0, out = [];
                for (var i = 0; i < r.length; i += 2) {
                    x += r[i]; y += r[i + 1];
                    out.push([x / d.k, y / d.k]);
                }
                if (out.length) { out.push(out[0]); }
                return out;
            }
            return {type: "FeatureCollection", features: d.f.map(function (a) {
                return {type: "Feature", properties: {s: a[0], t: a[1]},
                        geometry: {type: "MultiPolygon", coordinates: a[2].map(function (p) {
                            return p.map(ring); })}};
            })};
        })({{ this.data }}), {
            interactive: {{ this.interactive|tojson }},
            style: function (f) {
                var s = f.properties.s;
                return styles[view][Array.isArray(s) ? s[view] : s];
            },
            onEachFeature: function (f, layer) {
                if (f.properties.t) {
                    layer.bindTooltip(function () {
                        var t = f.properties.t, labels = {{ this.labels }};
                        var div = document.createElement("div"), b = document.createElement("b");
                        b.textContent = t[0];
                        div.appendChild(b);
                        if (t.length > 1) {
                            var table = document.createElement("table");
                            for (var i = 1; i < t.length; i++) {
                                var tr = table.insertRow(), th = document.createElement("th"),
                                    td = document.createElement("td");
                                th.textContent = labels[i - 1] || "";
                                td.textContent = t[i];
                                tr.appendChild(th);
                                tr.appendChild(td);
                            }
                            div.appendChild(table);
                        }
                        return div;
                    }, {sticky: true, className: "cpts-tip"});
                }
                {%- if this.highlight %}
                layer.on("mouseover", function () { this.setStyle({weight: 2.5}); });
                layer.on("mouseout", function () { {{ this.get_name() }}.resetStyle(this); });
                {%- endif %}
            }
        });
        if (styles.length > 1) {
            layer.cptsView = function (v) { view = v; layer.setStyle(layer.options.style); };
        }
        return layer;
        })();
        window.cptsDiag = window.cptsDiag || {layers: {}};
        window.cptsDiag.map = {{ this._parent.get_name() }};
        window.cptsDiag.layers[{{ this.role|tojson }}] = {{ this.get_name() }};
        {% endmacro %}
        """
    )

    def __init__(
        self,
        gdf: gpd.GeoDataFrame,
        style_idx: Sequence[int] | None,
        tips: Sequence[Any],
        styles: list[dict],
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
        (function (map) {
            L.control.zoom({position: "topleft", zoomInTitle: "Zoom avant",
                            zoomOutTitle: "Zoom arrière"}).addTo(map);
            L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);
            if (map.attributionControl) { map.attributionControl.setPrefix("Leaflet"); }
            {%- if this.fictitious %}
            document.body.classList.add("cpts-fictitious");
            {%- endif %}
            window.cptsDiag = window.cptsDiag || {layers: {}};
            window.cptsDiag.map = map;
            document.querySelectorAll(".cpts-switch input").forEach(function (input) {
                input.addEventListener("change", function () {
                    var v = parseInt(input.value, 10);
                    Object.values(window.cptsDiag.layers).forEach(function (layer) {
                        if (layer.cptsView) { layer.cptsView(v); }
                    });
                    document.querySelectorAll(".cpts-view").forEach(function (g) {
                        g.hidden = parseInt(g.getAttribute("data-view"), 10) !== v;
                    });
                    var title = document.querySelector(".cpts-title");
                    if (title && input.getAttribute("data-title")) {
                        title.textContent = input.getAttribute("data-title");
                    }
                });
            });
            document.querySelectorAll(".cpts-zoom").forEach(function (b) {
                b.addEventListener("click", function () {
                    map.fitBounds(JSON.parse(b.getAttribute("data-bounds")),
                                  {paddingTopLeft: [12, 48], paddingBottomRight: [12, 12]});
                });
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, body: str, fictitious: bool):
        super().__init__()
        self._name = "CptsDecorations"
        self.css = css("map.css")
        self.body = body
        self.fictitious = fictitious


def _legend_row(text: str, fill: str | None = None, **swatch: Any) -> str:
    """Legend row: ``text`` after a small inline SVG symbol that prints with its colours.

    The symbol is a box filled with ``fill`` or with the pattern ``cls``, or a ``line`` of ``width`` (``dash``).
    """
    return _map_macro("legend_row", Markup(_map_macro("swatch", fill=fill, **swatch)), text)


def _fmt_value(x: Any, decimals: int, integral: bool) -> str:
    """Tooltip text: a French number (masked label when missing), other values as they are."""
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) or fr.is_missing(x):
        return fr.number(x, 0 if integral else decimals, missing=MASKED_LABEL.lower())
    return str(x)


def _column_texts(values: pd.Series, decimals: int, integral: bool, unit: str | None = None) -> list[str]:
    """Tooltip text of each value of a column; ``unit`` follows every value that is not masked."""
    return [_fmt_value(v, decimals, integral) + (f" {unit}" if unit and not fr.is_missing(v) else "") for v in values]


def _extra_columns(gdf: gpd.GeoDataFrame, tooltip_fields: Any, decimals: int) -> list[tuple[str, list[str]]]:
    """``(label, texts)`` of the extra tooltip columns present in ``gdf``: ``{column: label}`` or columns."""
    if not tooltip_fields:
        return []
    pairs = tooltip_fields.items() if isinstance(tooltip_fields, Mapping) else ((c, c) for c in tooltip_fields)
    fields = [(str(c), str(lab)) for c, lab in pairs]
    return [(lab, _column_texts(gdf[c], decimals, _is_integral(gdf[c]))) for c, lab in fields if c in gdf.columns]


def _commune_headings(gdf: gpd.GeoDataFrame) -> list[str]:
    """Tooltip heading of each commune: « nom (code) », or the code alone when the name is missing."""
    names, codes = (gdf[c] if c in gdf.columns else [None] * len(gdf) for c in ("nom", "code_insee"))
    return [str(c) if fr.is_missing(n) else f"{n} ({c})" for n, c in zip(names, codes)]


def _tips(headings: Sequence[Any], columns: list[tuple[str, list[str]]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Tooltips from a heading per feature and ``(label, texts)`` columns."""
    return [(str(h), [(str(lab), str(texts[i])) for lab, texts in columns]) for i, h in enumerate(headings)]


def _is_integral(series: pd.Series) -> bool:
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
    gdf: gpd.GeoDataFrame, style_idx: Sequence[int] | None, tips: Sequence[Any], decimals: int = 5
) -> tuple[list[list], list[str]]:
    """Compact features and tooltip labels.

    Each feature is ``[style, tooltip, polygons]``: ``tooltip`` is
    ``[heading, value1, value2...]`` (or 0 for none), the value labels being
    returned once for the layer; polygons are lists of delta-encoded integer
    rings (see :func:`_encode_ring`). Decoded in the browser to GeoJSON
    MultiPolygons (one SVG path per feature).
    """
    scale = 10.0**decimals
    labels: list[str] = next(([k for k, _ in t[1]] for t in tips if t), [])
    out = []
    style_idx = itertools.repeat(0) if style_idx is None else style_idx
    for geom, s, t in zip(np.asarray(gdf.geometry.array, dtype=object), style_idx, tips):
        polys = map_layout.polygons(geom)
        if not polys:
            continue
        enc = [
            [_encode_ring(p.exterior.coords, scale)] + [_encode_ring(r.coords, scale) for r in p.interiors]
            for p in polys
        ]
        tip = [t[0]] + [v for _, v in t[1]] if t else 0
        out.append([int(s) if np.ndim(s) == 0 else [int(x) for x in s], tip, enc])
    return out, labels


def _name_column(gdf: gpd.GeoDataFrame, preferred: str | None = None) -> str | None:
    if preferred and preferred in gdf.columns:
        return preferred
    return next((c for c in _NAME_COLUMNS if c in gdf.columns), None)


def _new_map(tiles: bool) -> folium.Map:
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


def _data_bounds(gdfs: Sequence[gpd.GeoDataFrame | None]) -> tuple[float, float, float, float] | None:
    """``(x0, y0, x1, y1)`` around the frames of ``gdfs`` that have a non-empty geometry; None when none has."""
    bounds = [g.total_bounds for g in gdfs if g is not None and len(g) and not g.geometry.is_empty.all()]
    if not bounds:
        return None
    b = np.array(bounds)
    return b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()


def _fit(m: folium.Map, gdfs: Sequence[gpd.GeoDataFrame | None]) -> None:
    """Centre ``m`` on the frames of ``gdfs`` and fit its view to them."""
    _fit_bounds(m, _data_bounds(gdfs))


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
    return tuple(float(b) for b in gpd.GeoSeries([geom], crs=crs).to_crs(4326).total_bounds)


def _fit_frame(m: folium.Map, frame: map_layout.Frame | None, crs: Any, everything: Sequence[Any]) -> str | None:
    """Fit ``m`` as the printed map is framed: the main part of a territory with distant parts (``everything``,
    the frames of :func:`_fit`, otherwise). Returns the legend row of buttons that show each part, or None."""
    if frame is None or frame.layout == "single":
        _fit(m, everything)
        return None
    main = _lonlat_bounds(frame.main.geometry, crs)
    parts = [(p.caption(), _lonlat_bounds(p.geometry, crs)) for p in frame.others]
    if frame.layout == "insets":
        _fit_bounds(m, main)
        text, buttons = "Hors du cadre :", [*parts, ("Revenir au territoire", main)]
    else:
        _fit(m, everything)
        text, buttons = "Voir :", [(frame.main.caption(), main), *parts]
    coded = [
        (label, script_json([[round(y0, 5), round(x0, 5)], [round(y1, 5), round(x1, 5)]]))
        for label, (x0, y0, x1, y1) in buttons
    ]
    return _map_macro("zoom_row", text, coded)


def _finish(
    m: folium.Map,
    legend_rows: list[str],
    legend_title: str | None,
    title: str | None,
    source: str | None,
    tiles: bool,
    fictitious: bool,
) -> folium.Map:
    body = _map_macro(
        "decorations",
        Markup(_map_macro("defs", MASKED_COLOR, MASKED_HATCH, ORPHAN_COLOR, CONFLICT_COLOR)),
        FICTITIOUS_BANNER if fictitious else None,
        title,
        legend_title,
        [Markup(row) for row in legend_rows],
        Markup(_map_macro("source", source, fictitious)),
    )
    _Decorations(body, fictitious).add_to(m)
    if title:
        m.get_root().title = esc(title)
    if tiles:
        folium.LayerControl(collapsed=True).add_to(m)
    return m


def _neighbour_layer(neighbours: gpd.GeoDataFrame, name_col: str | None, dec: int = 5) -> _FeatureLayer:
    nc = _name_column(neighbours, name_col)
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
    return _FeatureLayer(neighbours, None, tips, [style], "neighbours", "Territoires voisins", decimals=dec)


def _add_orphans(m: folium.Map, legend: list[str], orphans: gpd.GeoDataFrame, dec: int) -> None:
    """Add the hatched orphan communes to ``m`` and their row to ``legend``."""
    tips = [(h, [("", f"{ORPHAN_LABEL} : sans CPTS")]) for h in _commune_headings(orphans)]
    style = {
        "color": ORPHAN_COLOR,
        "weight": 1.2,
        "opacity": 1,
        "fillColor": ORPHAN_COLOR,
        "fillOpacity": 1,
        "className": "cpts-orphan",
    }
    layer = _FeatureLayer(orphans, None, tips, [style], "orphans", "Communes orphelines", highlight=True, decimals=dec)
    layer.add_to(m)
    legend.append(_legend_row(f"{ORPHAN_LABEL} (sans CPTS)", cls="cpts-hatch-orphan"))


def _outline_layer(outline: gpd.GeoDataFrame, role: str, name: str, weight: float, dec: int) -> _FeatureLayer:
    """Outline layer: unfilled, non-interactive lines of ``weight`` pixels."""
    style = {"color": OUTLINE_COLOR, "weight": weight, "opacity": 1, "fill": False}
    return _FeatureLayer(outline, None, [None] * len(outline), [style], role, name, interactive=False, decimals=dec)


def _masked_style(base: dict) -> dict:
    return dict(base, fillColor=MASKED_COLOR, fillOpacity=1, className="cpts-masked")


def _choropleth(
    values: pd.Series,
    classes: Any,
    palette: Any,
    decimals: int,
    base: dict,
    count_masked: bool = False,
    missing_label: str = MASKED_LABEL,
) -> tuple[np.ndarray, list[dict], list[str], Classification]:
    """Style index of each feature (masked values: the last style), styles, legend rows and the classes.

    The last legend row is the masked class (``missing_label``), with the number of masked features when
    ``count_masked``.
    """
    cls = classify(values, classes, palette, decimals)
    idx = cls.assign(values)
    styles = [dict(base, fillColor=c) for c in cls.colors] + [_masked_style(base)]
    n_masked = int((idx < 0).sum()) if count_masked else 0
    legend = [_legend_row(lab, c) for c, lab in zip(cls.colors, cls.labels)]
    legend.append(
        _legend_row(missing_label + (f" ({fr.integer(n_masked)})" if n_masked else ""), cls="cpts-hatch-masked")
    )
    return np.where(idx < 0, len(cls.colors), idx), styles, legend, cls


# ---------------------------------------------------------------------------
# public web maps
# ---------------------------------------------------------------------------
def commune_map(
    communes: gpd.GeoDataFrame,
    value_col: str | None = None,
    label: str | None = None,
    unit: str | None = None,
    classes: int | Sequence[float] | None = None,
    palette: Any = None,
    territory_outline: Any = None,
    neighbours: gpd.GeoDataFrame | None = None,
    orphans: gpd.GeoDataFrame | None = None,
    tooltip_fields: Any = None,
    title: str | None = None,
    source: str | None = None,
    tiles: bool = False,
    *,
    decimals: int = 1,
    simplify_m: float = 80,
    round_decimals: int = 5,
    crs: Any = None,
    neighbour_name_col: str | None = None,
    fit_orphans: bool = True,
    fit_main_part: bool = True,
    fictitious: bool = False,
    missing_label: str = MASKED_LABEL,
    views: Sequence[MapView] = (),
) -> folium.Map:
    """Web map of the communes of a territory (choropleth or plain), offline-ready.

    * ``communes``: communes with ``code_insee``, ``nom`` and the value column(s).
    * ``value_col``: column to map; NaN / non-numeric values are drawn in the grey hatched class
      "Donnée masquée ou indisponible". None: plain fill.
    * ``label``, ``unit``: indicator name and unit (legend title, tooltip); ``decimals``: those of the value in
      labels and tooltips.
    * ``classes``: number of quantile classes (default 5), interior thresholds, or a :class:`Classification`
      (then it decides the classes, colours, legend labels and the decimals of the values, ``palette`` and
      ``decimals`` aside: give the same one to :func:`static_map` and both maps agree); ``palette``: sequential
      ColorBrewer name (default ``"YlGnBu"``; ``"_r"`` reverses) or colours.
    * ``territory_outline`` (GeoDataFrame, GeoSeries or geometry): thick outline; None (default) dissolves
      ``communes``; False draws none.
    * ``neighbours``: neighbouring territories (thin dashed outlines, name in the tooltip, column
      ``neighbour_name_col``, by default the first of cpts, nom, name, territoire).
    * ``orphans``: orphan communes (``code_insee``, ``nom``), hatched, tooltip "Commune orpheline";
      ``fit_orphans=False`` leaves them out of the fitted view, when they are context around a territory.
    * ``fit_main_part``: frame the view as :func:`static_map` frames the printed map
      (:data:`~cpts_diag.outputs.map_layout.FRAME_RULE`): fitted to the main part of a territory that has distant
      parts, each distant part (or, for scattered islands, each group) one click away in the legend; False
      fits everything.
    * ``tooltip_fields``: extra columns in the tooltip, ``{column: French label}`` or columns.
    * ``title``; ``source``: source line (source, vintage, level).
    * ``tiles``: add an OpenStreetMap background layer (needs internet) and a layer control; by default the
      background is plain.
    * ``simplify_m``, ``round_decimals``, ``crs``: passed to :func:`web_geometry` (0 disables the simplification).
    * ``fictitious``: the mapped data are fictitious (``Source.fictitious``): red banner "Données fictives —
      exemple de démonstration" and a warning under the source line.
    * ``missing_label``: legend label of the grey hatched class of ``value_col``.
    * ``views``: other choropleths of the communes (:class:`MapView`); the legend then opens with a switch
      between ``label`` and the views, each with its own legend (the first shown), and their values join the
      tooltips.

    The map is fitted to the communes, outline and orphans (see ``fit_main_part``) and uses no CDN resource
    (Leaflet is inlined by :func:`map_html`/:func:`save_offline_map`).
    """
    _require_crs(communes, "communes")
    outline_gdf = _as_gdf(territory_outline)
    fcrs = crs if crs is not None else _auto_crs(communes)
    frame = _frame_of(
        communes.to_crs(fcrs),
        outline_gdf.to_crs(fcrs) if outline_gdf is not None else None,
        orphans.to_crs(fcrs) if fit_orphans and orphans is not None and len(orphans) else None,
        fit_main_part,
    )
    com, orph, neigh, outl = _web_layers([communes, orphans, neighbours, outline_gdf], simplify_m, round_decimals, crs)
    if territory_outline is None:
        merged = _dissolve_outline(com)
        outl = gpd.GeoDataFrame(geometry=[merged], crs=4326) if merged is not None else None

    base = {"color": BORDER_COLOR, "weight": 0.8, "opacity": 1, "fillOpacity": 0.9}
    legend_title, columns = None, []
    if value_col is None:
        idx, styles = np.zeros(len(com), dtype=int), [dict(base, fillColor=PLAIN_COLOR, color="#5b7fa6")]
        rows = [_legend_row("Commune du territoire", PLAIN_COLOR)]
    else:
        values = com[value_col]
        idx, styles, rows, cls = _choropleth(values, classes, palette, decimals, base, True, missing_label)
        legend_title = (label or value_col) + (f" ({unit})" if unit else "")
        columns.append((label or value_col, _column_texts(values, cls.decimals, _is_integral(values), unit)))
    if views:  # one geometry, several choropleths: a switch, then one legend per view
        indices, all_styles, groups = [idx], [styles], [(legend_title, rows)]
        for view in views:
            vals = com[view.value_col]
            v_idx, v_styles, v_rows, v_cls = _choropleth(vals, view.classes, None, 0, base, True, view.missing_label)
            indices.append(v_idx)
            all_styles.append(v_styles)
            groups.append((view.label + (f" ({view.unit})" if view.unit else ""), v_rows))
            texts = com[view.text_col].astype(str).tolist() if view.text_col else None
            columns.append((view.label, texts or _column_texts(vals, v_cls.decimals, _is_integral(vals), view.unit)))
        names = [label or value_col or "Communes", *(v.label for v in views)]
        titles = [title, *(v.title or title for v in views)]
        rows = [_map_macro("layer_switch", [(i, n, t) for i, (n, t) in enumerate(zip(names, titles))])]
        rows += [_map_macro("legend_group", i, title, [Markup(r) for r in g]) for i, (title, g) in enumerate(groups)]
        idx, styles, legend_title = np.column_stack(indices), all_styles, None
    tips = _tips(_commune_headings(com), columns + _extra_columns(com, tooltip_fields, decimals))

    m = _new_map(tiles)
    if neigh is not None and len(neigh):
        _neighbour_layer(neigh, neighbour_name_col, round_decimals).add_to(m)
    _FeatureLayer(com, idx, tips, styles, "communes", "Communes", highlight=True, decimals=round_decimals).add_to(m)
    if orph is not None and len(orph):
        _add_orphans(m, rows, orph, round_decimals)
    if outl is not None and len(outl):
        _outline_layer(outl, "outline", "Limite du territoire", 3, round_decimals).add_to(m)
        rows.append(_legend_row("Limite du territoire", line=OUTLINE_COLOR, width=3))
    if neigh is not None and len(neigh):
        rows.append(_legend_row("Territoire voisin", line=NEIGHBOUR_COLOR, width=1.2, dash="4 3"))
    zoom = _fit_frame(m, frame, fcrs, [com, orph, outl] if fit_orphans else [com, outl])
    if zoom:
        rows.append(zoom)
    return _finish(m, rows, legend_title, title, source, tiles, fictitious)


def _tier_key(x: Any) -> str | None:
    """'T1', 1, '1', 'taille 1' -> 'T1'; anything else -> None."""
    if fr.is_missing(x):
        return None
    s = str(x).strip().lower().replace("taille", "").replace("t", "").strip()
    try:
        f = float(s)
    except ValueError:
        return None
    return f"T{int(f)}" if f in (1, 2, 3, 4) else None


def region_map(
    territories: gpd.GeoDataFrame,
    value_col: str | None = "taille",
    label: str | None = None,
    unit: str | None = None,
    classes: int | Sequence[float] | None = None,
    palette: Any = None,
    orphans: gpd.GeoDataFrame | None = None,
    tooltip_fields: Any = None,
    title: str | None = None,
    source: str | None = None,
    tiles: bool = False,
    *,
    name_col: str = "cpts",
    decimals: int = 1,
    simplify_m: float = 120,
    round_decimals: int = 4,
    crs: Any = None,
    fictitious: bool = False,
) -> folium.Map:
    """Regional web map of territories, coloured by ACI tier or by a value.

    * ``territories``: either one row per territory (polygons already dissolved) or one row per commune
      (``code_insee``, ``nom``) with the territory in ``name_col``: then communes are filled and each territory
      gets an outline. A commune listed in several territories (infra-communal split) is drawn once, its
      tooltip listing all of them.
    * ``value_col``: tier column (1–4, "T1"… "taille 1"; categorical fixed colours) or a numeric column
      (classes as in :func:`commune_map`). Missing: grey hatched "Donnée masquée ou indisponible".
    * ``orphans``: orphan communes, hatched, tooltip "Commune orpheline".
    * ``simplify_m``, ``round_decimals``, ``crs``: passed to :func:`web_geometry`; lighter defaults than
      :func:`commune_map` (120 m, 4 decimals ≈ 10 m) keep a regional map of ~950 communes under 1 MB (about
      0,76 MB for PACA).
    * the other parameters are those of :func:`commune_map`.
    """
    _require_crs(territories, "territories")
    if name_col not in territories.columns:
        raise ValueError(f"territories: column {name_col!r} missing")
    commune_level = "code_insee" in territories.columns and territories[name_col].duplicated().any()
    terr = territories
    if commune_level:
        names = territories.groupby("code_insee", sort=False)[name_col].agg(
            lambda s: " ; ".join(dict.fromkeys(str(v) for v in s if not fr.is_missing(v)))
        )
        terr = territories.drop_duplicates("code_insee").reset_index(drop=True)
        terr["_territoires"] = terr["code_insee"].map(names)
    shapes, orph = _web_layers([terr, orphans], simplify_m, round_decimals, crs)

    values = shapes[value_col] if value_col is not None and value_col in shapes.columns else None
    base = {"color": BORDER_COLOR, "weight": 0.5} if commune_level else {"color": "#555555", "weight": 1}
    base |= {"opacity": 1, "fillOpacity": 0.9}
    columns = [("CPTS", shapes["_territoires"].tolist())] if commune_level else []
    if values is None:
        idx = np.zeros(len(shapes), dtype=int)
        styles = [dict(base, fillColor=PLAIN_COLOR)]
        legend = [_legend_row("Territoire de CPTS", PLAIN_COLOR)]
        legend_title = None
    elif values.notna().any() and values.dropna().map(_tier_key).notna().all():
        keys = list(TIER_COLORS)
        tk = values.map(_tier_key)
        idx = np.array([keys.index(k) if k in keys else len(keys) for k in tk], dtype=int)
        styles = [dict(base, fillColor=TIER_COLORS[k]) for k in keys] + [_masked_style(base)]
        legend = [_legend_row(TIER_LABELS[k], TIER_COLORS[k]) for k in keys]
        if (idx == len(keys)).any():
            legend.append(_legend_row("Taille inconnue", cls="cpts-hatch-masked"))
        legend_title = label or "Taille de la CPTS (ACI)"
        columns.append(("Taille", [TIER_LABELS.get(k, "inconnue") for k in tk]))
    else:
        idx, styles, legend, cls = _choropleth(values, classes, palette, decimals, base)
        legend_title = (label or value_col) + (f" ({unit})" if unit else "")
        columns.append((label or value_col, _column_texts(values, cls.decimals, False, unit)))
    headings = _commune_headings(shapes) if commune_level else [str(n) for n in shapes[name_col]]
    tips = _tips(headings, columns + _extra_columns(shapes, tooltip_fields, decimals))

    m = _new_map(tiles)
    layer_name = "Communes" if commune_level else "Territoires"
    layer = _FeatureLayer(shapes, idx, tips, styles, "territories", layer_name, highlight=True, decimals=round_decimals)
    layer.add_to(m)
    if orph is not None and len(orph):
        _add_orphans(m, legend, orph, round_decimals)
    if commune_level:
        dissolved = []
        for name, part in territories.groupby(name_col, sort=True):
            geom = _dissolve_outline(shapes[shapes["code_insee"].isin(part["code_insee"])])
            if geom is not None:
                dissolved.append({"name": name, "geometry": _round_array(geom, round_decimals)})
        outl = gpd.GeoDataFrame(dissolved, geometry="geometry", crs=4326)
        _outline_layer(outl, "outlines", "Limites des CPTS", 1.6, round_decimals).add_to(m)
        legend.append(_legend_row("Limite de CPTS", line=OUTLINE_COLOR, width=1.6))
    _fit(m, [shapes, orph])
    return _finish(m, legend, legend_title, title, source, tiles, fictitious)


def _candidate_colors(names: list[str], outlines: gpd.GeoDataFrame) -> dict[str, str]:
    """A colour of :data:`CANDIDATE_COLORS` per territory of ``names``, two touching territories never sharing one
    (greedy, in name order; ``outlines``: ``name`` and dissolved geometry in EPSG:4326)."""
    geoms = dict(zip(outlines["name"], outlines.geometry))
    color: dict[str, str] = {}
    for name in names:
        geom = geoms.get(name)
        taken = {
            color[other]
            for other in color
            if geom is not None and geoms.get(other) is not None and geom.distance(geoms[other]) < 1e-3
        }
        free = [c for c in CANDIDATE_COLORS if c not in taken] or CANDIDATE_COLORS
        used = list(color.values())
        color[name] = min(free, key=lambda c: (used.count(c), CANDIDATE_COLORS.index(c)))
    return color


def proposal_map(
    communes: gpd.GeoDataFrame,
    orphans: gpd.GeoDataFrame,
    conflicts: gpd.GeoDataFrame | None = None,
    near: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    source: str | None = None,
    *,
    name_col: str = "cpts",
    simplify_m: float = 120,
    round_decimals: int = 4,
    crs: Any = None,
) -> folium.Map:
    """Web map (offline) of the proposals of a perimeter check.

    * ``communes``: one row per commune (or arrondissement) of a territory: ``code_insee``, ``nom`` and the
      territory in ``name_col``; drawn pale, each territory outlined. The territories that are some orphan's first
      candidate are tinted with their own colour (:data:`CANDIDATE_COLORS`; two touching ones never share one).
    * ``orphans``: orphan communes (and uncovered arrondissements): ``code_insee``, ``nom``, ``candidate`` (the first
      candidate territory, None without one: hatched as orphans elsewhere) and ``proposal`` (tooltip text),
      filled with their candidate's colour.
    * ``conflicts``: communes claimed in conflict (``code_insee``, ``proposal``; drawn with their polygon among
      ``communes``), hatched red.
    * ``near``: outlines of the territories within 5 % of an ACI threshold (``cpts``, ``proposal``), thick dashed
      navy.
    """
    _require_crs(communes, "communes")
    # the territories' communes and the orphans simplified as one layer: they keep sharing their borders
    terr = communes.drop_duplicates("code_insee").reset_index(drop=True)
    both = pd.concat([terr[["code_insee", "nom", "geometry"]], orphans[["code_insee", "nom", "geometry"]]])
    both = web_geometry(gpd.GeoDataFrame(both, geometry="geometry", crs=communes.crs), simplify_m, round_decimals, crs)
    shapes = terr.set_geometry(both.geometry.iloc[: len(terr)].to_numpy(), crs=4326)
    orph = orphans.reset_index(drop=True).set_geometry(both.geometry.iloc[len(terr) :].to_numpy(), crs=4326)
    confl = None
    if conflicts is not None and len(conflicts):
        tip = dict(zip(conflicts["code_insee"], conflicts["proposal"]))
        confl = shapes[shapes["code_insee"].isin(tip)].assign(proposal=lambda d: d["code_insee"].map(tip))
    (nearby,) = _web_layers([near], simplify_m, round_decimals, crs)
    dissolved = []
    for name, part in communes.groupby(name_col, sort=True):
        geom = _dissolve_outline(shapes[shapes["code_insee"].isin(part["code_insee"])])
        if geom is not None:
            dissolved.append({"name": name, "geometry": _round_array(geom, round_decimals)})
    outlines = gpd.GeoDataFrame(dissolved, geometry="geometry", crs=4326)
    candidates = sorted({c for c in orphans["candidate"] if not fr.is_missing(c)}) if len(orphans) else []
    color = _candidate_colors(candidates, outlines)
    names = communes.groupby("code_insee", sort=False)[name_col].agg(
        lambda s: " ; ".join(dict.fromkeys(str(v) for v in s if not fr.is_missing(v)))
    )
    own = shapes["code_insee"].map(names)
    base = {"color": BORDER_COLOR, "weight": 0.5, "opacity": 1}
    styles = [dict(base, fillColor=PLAIN_COLOR, fillOpacity=0.7)]
    styles += [dict(base, fillColor=color[name], fillOpacity=0.35) for name in candidates]
    idx = [next((1 + candidates.index(n) for n in str(v).split(" ; ") if n in color), 0) for v in own]
    tips = _tips(_commune_headings(shapes), [("CPTS", own.tolist())])
    legend = [_legend_row("Commune d'un territoire", PLAIN_COLOR)]

    m = _new_map(False)
    _FeatureLayer(shapes, idx, tips, styles, "territories", "Communes", highlight=True, decimals=round_decimals).add_to(
        m
    )
    _outline_layer(outlines, "outlines", "Limites des CPTS", 1.4, round_decimals).add_to(m)
    legend.append(_legend_row("Limite de CPTS", line=OUTLINE_COLOR, width=1.4))

    if orph is not None and len(orph):
        orphan_style = {"color": "#222222", "weight": 1.6, "opacity": 1, "fillOpacity": 0.95, "dashArray": "4 2"}
        o_styles = [dict(orphan_style, fillColor=color[name]) for name in candidates]
        o_styles.append(dict(orphan_style, fillColor=ORPHAN_COLOR, className="cpts-orphan"))
        o_idx = [candidates.index(c) if c in color else len(candidates) for c in orph["candidate"]]
        o_tips = _tips(_commune_headings(orph), [("Proposition", orph["proposal"].astype(str).tolist())])
        layer = _FeatureLayer(
            orph, o_idx, o_tips, o_styles, "proposals", "Propositions", highlight=True, decimals=round_decimals
        )
        layer.add_to(m)
        for name in candidates:
            n = int((orph["candidate"] == name).sum())
            legend.append(_legend_row(f"Orpheline proposée à {name} ({fr.integer(n)})", color[name]))
        n_none = int(sum(c not in color for c in orph["candidate"]))
        if n_none:
            legend.append(_legend_row(f"Orpheline sans proposition ({fr.integer(n_none)})", cls="cpts-hatch-orphan"))
    if confl is not None and len(confl):
        style = {"color": CONFLICT_COLOR, "weight": 2, "opacity": 1, "fillOpacity": 1, "className": "cpts-conflict"}
        c_tips = _tips(_commune_headings(confl), [("Proposition", confl["proposal"].astype(str).tolist())])
        _FeatureLayer(
            confl, None, c_tips, [style], "conflicts", "Conflits", highlight=True, decimals=round_decimals
        ).add_to(m)
        legend.append(_legend_row(f"Commune en conflit ({fr.integer(len(confl))})", cls="cpts-hatch-conflict"))
    if nearby is not None and len(nearby):
        style = {"color": NEAR_THRESHOLD_COLOR, "weight": 4, "opacity": 0.9, "fill": False, "dashArray": "10 5"}
        n_tips = _tips([str(n) for n in nearby[name_col]], [("", nearby["proposal"].astype(str).tolist())])
        _FeatureLayer(
            nearby, None, n_tips, [style], "near_threshold", "Proches d'un seuil", decimals=round_decimals
        ).add_to(m)
        legend.append(
            _legend_row(
                f"CPTS à moins de 5 % d'un seuil de taille ({fr.integer(len(nearby))})",
                line=NEAR_THRESHOLD_COLOR,
                width=4,
                dash="8 4",
            )
        )
    _fit(m, [shapes, orph, confl])
    return _finish(m, legend, "Propositions de rattachement", title, source, False, False)


# ---------------------------------------------------------------------------
# offline HTML
# ---------------------------------------------------------------------------
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


_CDN_NAMES = {
    "leaflet",
    "jquery",
    "bootstrap",
    "awesome_markers",
    "leaflet_css",
    "bootstrap_css",
    "glyphicons_css",
    "awesome_markers_font_css",
    "awesome_markers_css",
    "awesome_rotate_css",
}


def map_html(m: folium.Map) -> str:
    """Standalone offline HTML of a folium map (French page, Leaflet inlined, folium's CDN resources removed).

    ``m`` may be rendered again: Leaflet is inlined once. Raises ValueError if the page still needs an external
    script/style (e.g. a folium plugin) or jQuery, which would not work offline.
    """
    _strip_cdn(m)
    js, css = _leaflet_assets()
    leaflet = Element("{{ this.markup }}")
    leaflet.markup = f"<style>{css}</style>\n<script>{js}</script>"
    root = m.get_root()  # folium.Map always belongs to a branca Figure
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


# ---------------------------------------------------------------------------
# static (printed) map
# ---------------------------------------------------------------------------
def _mpl_text(text: Any) -> str:
    """Escape matplotlib mathtext (``$``) in user text."""
    return str(text).replace("$", r"\$")


def static_map(
    communes: gpd.GeoDataFrame,
    value_col: str | None = None,
    label: str | None = None,
    unit: str | None = None,
    classes: int | Sequence[float] | Classification | None = None,
    palette: Any = None,
    territory_outline: Any = None,
    neighbours: gpd.GeoDataFrame | None = None,
    orphans: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    source: str | None = None,
    ax: Any = None,
    *,
    decimals: int = 1,
    crs: Any = None,
    figsize: tuple[float, float] | None = None,
    neighbour_name_col: str | None = None,
    label_neighbours: bool = True,
    fit_orphans: bool = True,
    fit_main_part: bool = True,
    fictitious: bool = False,
    missing_label: str = MASKED_LABEL,
):
    """Printed map (a matplotlib Figure) with the same classes and French legend as :func:`commune_map`.

    Projected in EPSG:2154 for metropolitan data (local UTM zone elsewhere,
    or ``crs``). Masked values: grey hatched; orphans: purple hatched;
    territory outline thick black; neighbours thin dashed with their names
    (column ``neighbour_name_col``; ``label_neighbours=False`` writes none; there are no tooltips on paper),
    each inside its own polygon and clear of the territory, or left out when it does not fit;
    title on top, source note at the bottom, red banner for fictitious data.
    With ``fit_main_part`` (default) the frame follows :data:`cpts_diag.outputs.map_layout.FRAME_RULE`: fitted to
    the main part of the territory (communes, outline, and orphans with ``fit_orphans``), distant parts in insets
    (their communes, distance and direction written in the inset), a territory of scattered islands in panels;
    False fits one frame to everything (scattered communes that are no territory, e.g. orphans of a région).
    The other parameters are those of :func:`commune_map`.

    Drawn into ``ax`` when given (its figure is returned), else into a new Figure of ``figsize`` inches:
    by default 8.3 in wide (A4 width), height following the map's shape, legend below the map.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    _require_crs(communes, "communes")
    if crs is None:
        crs = _auto_crs(communes)
    com = communes.to_crs(crs)
    orph = orphans.to_crs(crs) if orphans is not None and len(orphans) else None
    neigh = neighbours.to_crs(crs) if neighbours is not None and len(neighbours) else None
    outl = _as_gdf(territory_outline)
    if territory_outline is None:
        merged = _dissolve_outline(com)
        outl = gpd.GeoDataFrame(geometry=[merged], crs=crs) if merged is not None else None
    elif outl is not None:
        outl = outl.to_crs(crs)
    frame = _frame_of(com, outl, orph if fit_orphans else None, fit_main_part)
    if frame is None:
        raise ValueError("static_map: nothing to draw (no commune geometry)")

    # what is drawn, in this order, on the map and on each inset or panel: (layer, plot keywords)
    layers: list[tuple[Any, dict]] = []
    handles = []
    if neigh is not None:
        layers.append(
            (neigh, {"facecolor": "#f4f4f4", "edgecolor": NEIGHBOUR_COLOR, "linewidth": 0.6, "linestyle": "--"})
        )
    if value_col is None:
        layers.append((com, {"facecolor": PLAIN_COLOR, "edgecolor": "#5b7fa6", "linewidth": 0.4}))
        handles.append(Patch(facecolor=PLAIN_COLOR, edgecolor="#5b7fa6", label="Commune du territoire"))
        legend_title = None
    else:
        cls = classify(com[value_col], classes, palette, decimals)
        idx = cls.assign(com[value_col])
        for i, (c, lab) in enumerate(zip(cls.colors, cls.labels)):
            layers.append((com[idx == i], {"facecolor": c, "edgecolor": BORDER_COLOR, "linewidth": 0.4}))
            handles.append(Patch(facecolor=c, edgecolor="#777777", linewidth=0.5, label=lab))
        masked = com[idx < 0]
        layers.append(
            (masked, {"facecolor": MASKED_COLOR, "edgecolor": MASKED_HATCH, "hatch": "////", "linewidth": 0.4})
        )
        label_m = missing_label + (f" ({fr.integer(len(masked))})" if len(masked) else "")
        handles.append(Patch(facecolor=MASKED_COLOR, edgecolor=MASKED_HATCH, hatch="////", label=label_m))
        legend_title = _mpl_text((label or value_col) + (f" ({unit})" if unit else ""))
    if orph is not None:
        hatched = {"facecolor": "#ffffff", "edgecolor": ORPHAN_COLOR, "hatch": "\\\\\\\\"}
        layers.append((orph, {"linewidth": 0.6, **hatched}))
        handles.append(Patch(label=f"{ORPHAN_LABEL} (sans CPTS)", **hatched))
    if outl is not None and len(outl):
        layers.append((outl.boundary, {"color": OUTLINE_COLOR, "linewidth": 2}))
        handles.append(Line2D([], [], color=OUTLINE_COLOR, linewidth=2, label="Limite du territoire"))
    if neigh is not None:
        handles.append(Line2D([], [], color=NEIGHBOUR_COLOR, linewidth=0.8, linestyle="--", label="Territoire voisin"))

    if frame.layout == "panels":
        ncols = math.ceil(math.sqrt(len(frame.parts)))
        nrows = math.ceil(len(frame.parts) / ncols)
        shape = nrows / ncols
    else:
        bounds = _padded(frame.main.geometry.bounds, 0.04)
        boxes = []
        if frame.layout == "insets":
            bounds, boxes = map_layout.place_insets(bounds, frame.others, frame.main.geometry)
        x0, y0, x1, y1 = bounds
        shape = (y1 - y0) / max(x1 - x0, 1.0)
    own = ax is None
    if own:
        if figsize is None:
            width = 8.3
            figsize = (width, float(np.clip(width * shape, 3.5, 9.0)) + 2.2)
        ax = Figure(figsize=figsize, layout="constrained").add_subplot()
    fig = ax.figure
    ax.set_axis_off()

    if frame.layout == "panels":
        for k, (part, view) in enumerate(zip(frame.parts, map_layout.panel_views(frame.parts))):
            r, c = divmod(k, ncols)
            rect = [c / ncols + 0.01, 1 - (r + 1) / nrows + 0.01, 1 / ncols - 0.02, 1 / nrows - 0.02]
            _draw_part(ax.inset_axes(rect), layers, part, view)
    else:
        ax.set_aspect("equal")
        _paint(ax, layers)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        for part, (bx0, by0, bx1, by1) in zip(frame.others, boxes):
            inset = ax.inset_axes([bx0, by0, bx1 - bx0, by1 - by0], transform=ax.transData)
            _draw_part(inset, layers, part, map_layout.view_of(part))

    # the legend labels are French texts and numbers of this module: no mathtext to escape
    legend_kw = dict(
        handles=handles, title=legend_title, fontsize=7.5, title_fontsize=8, frameon=False, alignment="left"
    )
    if own:
        fig.legend(loc="outside lower center", ncols=2 if len(handles) > 4 else 1, **legend_kw)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), **legend_kw)
    if title:
        (fig.suptitle if own else ax.set_title)(_mpl_text(title), fontsize=12, fontweight="bold")
    if fictitious:
        ax.text(
            0.5,
            1.0,
            FICTITIOUS_BANNER,
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            color="white",
            fontsize=10,
            fontweight="bold",
            bbox={"facecolor": "#c00000", "edgecolor": "none", "pad": 3},
        )
    if source:
        note = f"Source : {_mpl_text(source)}"
        if own:
            fig.supxlabel(note, fontsize=7, x=0.01, ha="left", color="#444444")
        else:
            ax.text(0.0, -0.02, note, transform=ax.transAxes, fontsize=7, va="top", color="#444444")
    nc = _name_column(neigh, neighbour_name_col) if neigh is not None and label_neighbours else None
    if nc and frame.layout != "panels":
        avoid = shapely.union_all([frame.main.geometry, *(shapely.box(*b) for b in boxes)])
        _label_regions(ax, neigh.geometry, neigh[nc], avoid)
    return fig


def _padded(bounds: Sequence[float], share: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    pad = share * max(x1 - x0, y1 - y0, 1.0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _frame_of(
    com: gpd.GeoDataFrame, outl: gpd.GeoDataFrame | None, orph: gpd.GeoDataFrame | None, main_part: bool = True
) -> map_layout.Frame | None:
    """:func:`map_layout.territory_frame` of the communes, outline and orphans (one projected CRS), parts named by
    the communes' name column (else their code); one frame around everything when not ``main_part``; None when
    nothing is drawn."""
    shown = [g for g in (com, orph) if g is not None and len(g)]
    merged = _dissolve_outline(pd.concat(shown)) if shown else None
    if outl is not None and len(outl):
        merged = shapely.union_all([g for g in (merged, *outl.geometry) if g is not None and not g.is_empty])
    if merged is None or merged.is_empty:
        return None
    if not main_part:
        return map_layout.Frame("single", map_layout.Part(merged))
    nc = _name_column(com) or ("code_insee" if "code_insee" in com.columns else None)
    names = (np.asarray(com.geometry.array, dtype=object), com[nc].to_numpy()) if nc else None
    return map_layout.territory_frame(merged, names)


def _polygon_paths(geoms: Any) -> list:
    """One matplotlib Path per (multi)polygon (its rings as one compound path, holes included)."""
    from matplotlib.path import Path as MplPath

    out = []
    for geom in geoms:
        rings = [
            MplPath(np.asarray(ring.coords)[:, :2], closed=True)
            for poly in map_layout.polygons(geom)
            for ring in (poly.exterior, *poly.interiors)
        ]
        if rings:
            out.append(MplPath.make_compound_path(*rings))
    return out


def _paint(ax: Any, layers: list[tuple[Any, dict]], view: Sequence[float] | None = None) -> None:
    """Plot each layer (only what meets ``view``, when given) into ``ax``: polygons as one collection of paths per
    layer (as geopandas draws them, without its per-call cost), lines through geopandas."""
    from matplotlib.collections import PathCollection

    for layer, style in layers:
        part = layer if view is None else layer.cx[view[0] : view[2], view[1] : view[3]]
        if not len(part) or part.is_empty.all():
            continue
        geoms = part.geometry if hasattr(part, "geometry") else part
        if geoms.geom_type.isin(["Polygon", "MultiPolygon"]).all():
            collection = PathCollection(_polygon_paths(geoms.to_numpy()), **style)
            ax.add_collection(collection, autolim=True)
            ax.autoscale_view()
        else:
            part.plot(ax=ax, **style)


def _draw_part(iax: Any, layers: list[tuple[Any, dict]], part: map_layout.Part, view: Sequence[float]) -> None:
    """An inset or a panel: the layers within ``view`` (around ``part``), framed, its caption in the band on top."""
    _paint(iax, layers, view)
    iax.set_xlabel("")
    iax.set_ylabel("")
    iax.set_xlim(view[0], view[2])
    iax.set_ylim(view[1], view[3])
    iax.set_aspect("equal")
    iax.set_xticks([])
    iax.set_yticks([])
    iax.set_facecolor("#ffffff")
    for spine in iax.spines.values():
        spine.set_edgecolor("#777777")
        spine.set_linewidth(0.8)
    iax.text(
        0.03, 0.97, _mpl_text(part.caption("\n")), transform=iax.transAxes, fontsize=6.5, va="top", color="#333333"
    )


def _label_regions(ax: Any, geometries: Any, names: Any, avoid: Any, fontsize: float = 6.5) -> list:
    """Write each name inside its polygon (``geometries``, map CRS), its whole text box clear of ``avoid`` (the
    territory and the insets, with a margin) and of the names already written; a name that fits nowhere is left
    out. Returns the texts written."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    fig = ax.figure
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)  # the axes' final size gives the size of a point in map units
    ax.apply_aspect()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    per_pt = (x1 - x0) / (ax.get_position().width * fig.get_figwidth() * 72)
    margin = 5 * per_pt  # points between a label and the territory, another label or the edge
    view = (x0 + margin, y0 + margin, x1 - margin, y1 - margin)
    blocked = avoid.buffer(margin) if avoid is not None else shapely.Point()
    prop = FontProperties(size=fontsize, style="italic")
    texts = []
    for geom, name in zip(geometries, names):
        if geom is None or geom.is_empty or fr.is_missing(name):
            continue
        for text in _label_variants(_mpl_text(name)):  # on one line, else on two
            lines = text.split("\n")
            width = max(text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0] for line in lines)
            size = ((width + 2) * per_pt, 1.3 * len(lines) * fontsize * per_pt)
            at = map_layout.label_position(geom, size, view, blocked)
            if at is not None:
                break
        if at is None:
            continue
        t = ax.text(*at, text, fontsize=fontsize, color="#555555", ha="center", va="center", style="italic")
        t.set_in_layout(False)
        texts.append(t)
        w, h = size
        blocked = blocked.union(shapely.box(at[0] - w / 2, at[1] - h / 2, at[0] + w / 2, at[1] + h / 2).buffer(margin))
    return texts


def _label_variants(text: str) -> list[str]:
    """``text`` on one line, then (when it has spaces) broken at the space nearest to its middle."""
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return [text]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return [text, text[:cut] + "\n" + text[cut + 1 :]]
