"""Tests of cpts_diag.outputs.maps (hand-made squares, no shared data)."""

from __future__ import annotations

import os
import re

import folium
import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

matplotlib.use("Agg")

from cpts_diag.outputs import maps  # noqa: E402
from cpts_diag.outputs.html import esc  # noqa: E402

XSS = "<script>alert(1)</script>"
X0, Y0 = 900_000.0, 6_300_000.0  # Lambert-93, Provence
SIZE = 5_000.0


def squares(n_cols=3, n_rows=2, values=None, prefix="13", crs=2154):
    """Grid of 5 km squares (EPSG:2154) returned in EPSG:4326."""
    geoms, codes, names = [], [], []
    for r in range(n_rows):
        for c in range(n_cols):
            x, y = X0 + c * SIZE, Y0 + r * SIZE
            geoms.append(box(x, y, x + SIZE, y + SIZE))
            i = r * n_cols + c + 1
            codes.append(f"{prefix}{i:03d}")
            names.append(f"Commune {i}")
    gdf = gpd.GeoDataFrame({"code_insee": codes, "nom": names}, geometry=geoms, crs=crs)
    if values is not None:
        gdf["valeur"] = values
    return gdf.to_crs(4326)


def own_code(html):
    """The page without the inlined Leaflet library (whose source mentions leafletjs.com links)."""
    js, css = maps._leaflet_assets()
    assert js in html and css in html
    return html.replace(js, "").replace(css, "")


EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


def layers_of(m):
    return {c.role: c for c in m._children.values() if hasattr(c, "role")}


# ---------------------------------------------------------------------------
# web_geometry
# ---------------------------------------------------------------------------
def _zigzag_pair():
    """Two squares sharing a jagged border (amplitude 15 m every 100 m)."""
    xs = np.arange(0, SIZE + 1, 100.0)
    zig = [(X0 + SIZE + (15.0 if i % 2 else 0.0), Y0 + x) for i, x in enumerate(xs)]
    left = Polygon([(X0, Y0)] + zig + [(X0, Y0 + SIZE)])
    right = Polygon([(X0 + 2 * SIZE, Y0), (X0 + 2 * SIZE, Y0 + SIZE)] + zig[::-1])
    return gpd.GeoDataFrame({"code_insee": ["13001", "13002"]}, geometry=[left, right], crs=2154).to_crs(4326)


def test_web_geometry_keeps_shared_border():
    gdf = _zigzag_pair()
    out = maps.web_geometry(gdf, tolerance_m=80, decimals=5)
    assert out.crs.to_epsg() == 4326
    assert list(out["code_insee"]) == ["13001", "13002"]
    before = shapely.get_num_coordinates(np.asarray(gdf.geometry.array)).sum()
    after = shapely.get_num_coordinates(np.asarray(out.geometry.array)).sum()
    assert after < before / 2  # the zigzag went away
    coords = shapely.get_coordinates(np.asarray(out.geometry.array))
    assert np.allclose(coords * 1e5, np.round(coords * 1e5), atol=1e-6)  # rounded to 5 decimals
    a, b = out.to_crs(2154).geometry
    assert a.intersection(b).length > 0.99 * SIZE  # still one shared border
    assert a.intersection(b).area < 1.0  # no overlap
    gap = a.union(b).area - (a.area + b.area)
    assert abs(gap) < 1.0  # no gap between them
    assert a.union(b).geom_type == "Polygon"  # no sliver hole either


def test_web_geometry_outside_metropole():
    # squares in La Réunion (UTM 40S): simplified in a local projection, not Lambert-93
    gdf = gpd.GeoDataFrame(
        {"code_insee": ["97411", "97415"]},
        geometry=[box(340_000, 7_660_000, 345_000, 7_665_000), box(345_000, 7_660_000, 350_000, 7_665_000)],
        crs=2975,
    ).to_crs(4326)
    out = maps.web_geometry(gdf)
    assert out.geometry.is_valid.all()
    assert np.allclose(out.total_bounds, gdf.total_bounds, atol=1e-4)
    a, b = out.to_crs(2975).geometry
    assert a.intersection(b).length > 0.99 * 5_000


# ---------------------------------------------------------------------------
# classes
# ---------------------------------------------------------------------------
def test_classify_quantiles_and_breaks():
    c = maps.classify(list(range(1, 11)) + [None, "secret"])
    assert len(c.labels) == 5 and len(c.colors) == 5
    assert c.colors == maps.PALETTES["YlGnBu"]
    assert c.labels[0].startswith("moins de ") and c.labels[-1].endswith(" et plus")
    idx = c.assign([1, 10, None, "secret"])
    assert idx.tolist() == [0, 4, -1, -1]
    g = maps.classify([1.0, 2.6, 3.1, 4.2], classes=[2.5, 3, 4], decimals=1)
    assert g.labels == ["moins de 2,5", "de 2,5 à moins de 3,0", "de 3,0 à moins de 4,0", "4,0 et plus"]
    assert g.assign([2.5, 2.49, 4.0]).tolist() == [1, 0, 3]
    assert maps.classify([2, 2, 2]).labels == ["2,0"]
    assert maps.classify([None, None]).labels == []
    assert (
        maps.classify([1, 2, 3], palette="Blues_r", classes=[2]).colors[0]
        != maps.classify([1, 2, 3], palette="Blues", classes=[2]).colors[0]
    )


# ---------------------------------------------------------------------------
# commune_map / offline HTML
# ---------------------------------------------------------------------------
@pytest.fixture()
def demo():
    communes = squares(3, 2, values=[1.2, 2.5, np.nan, 3.9, 4.4, None])
    neighbours = gpd.GeoDataFrame(
        {"cpts": [XSS, 'CPTS L\'Étang "Nord"']},
        geometry=[box(X0 - SIZE, Y0, X0, Y0 + 2 * SIZE), box(X0, Y0 + 2 * SIZE, X0 + 3 * SIZE, Y0 + 3 * SIZE)],
        crs=2154,
    ).to_crs(4326)
    orphans = gpd.GeoDataFrame(
        {"code_insee": ["13099"], "nom": ["Orpheline-sur-Mer"]},
        geometry=[box(X0 + 3 * SIZE, Y0, X0 + 4 * SIZE, Y0 + SIZE)],
        crs=2154,
    ).to_crs(4326)
    return communes, neighbours, orphans


def test_commune_map_layers_and_legend(demo, tmp_path):
    communes, neighbours, orphans = demo
    m = maps.commune_map(
        communes,
        "valeur",
        label="APL",
        unit="consultations/an/hab.",
        neighbours=neighbours,
        orphans=orphans,
        title=f"CPTS {XSS}",
        source="DREES, APL 2023, commune",
        tooltip_fields={"code_insee": "Code commune"},
    )
    lay = layers_of(m)
    assert {k: v.n_features for k, v in lay.items()} == {"communes": 6, "neighbours": 2, "orphans": 1, "outline": 1}
    html = maps.map_html(m)
    # two masked communes in the grey hatched class, counted in the legend
    assert "Donnée masquée ou indisponible (2)" in html
    assert html.count('"className":"cpts-masked"') == 1
    assert "Source : DREES, APL 2023, commune" in html
    assert "Commune orpheline (sans CPTS)" in html and "Limite du territoire" in html
    assert "APL (consultations/an/hab.)" in html
    assert maps.FICTITIOUS_BANNER not in html
    # user text escaped everywhere
    assert XSS not in html
    assert f"CPTS {esc(XSS)}" in html
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html  # tooltip data, JSON-escaped
    assert "<title>CPTS &lt;script&gt;" in html
    # no CDN resource, Leaflet inlined, French page
    assert not EXTERNAL.search(own_code(html))
    for cdn in ("cdn.jsdelivr", "code.jquery", "bootstrapcdn", "cdnjs", "fontawesome"):
        assert cdn not in html
    assert ".leaflet-pane" in html  # Leaflet CSS inlined
    assert '"1.9.3"' in html  # Leaflet JS inlined (its version string)
    assert '<html lang="fr">' in html
    assert "$(" not in html.split("</head>")[1]


def test_commune_map_fits_data_bounds(demo):
    communes, neighbours, orphans = demo
    m = maps.commune_map(communes, "valeur", neighbours=neighbours, orphans=orphans)
    html = own_code(maps.map_html(m))
    found = re.search(r"fitBounds\(\s*\[\[([-\d.]+),\s*([-\d.]+)\],\s*\[([-\d.]+),\s*([-\d.]+)\]\]", html)
    assert found
    lat0, lon0, lat1, lon1 = map(float, found.groups())
    x0, y0, x1, y1 = gpd.GeoSeries(list(communes.geometry) + list(orphans.geometry), crs=4326).total_bounds
    assert np.allclose([lat0, lon0, lat1, lon1], [y0, x0, y1, x1], atol=2e-4)
    # neighbours are context: not in the fitted bounds
    assert neighbours.total_bounds[0] < lon0 - 0.01


def test_fictitious_banner_and_plain_map(demo):
    communes, _, _ = demo
    m = maps.commune_map(
        communes, source="Exemple CPAM, données fictives, commune", territory_outline=False, fictitious=True
    )
    html = maps.map_html(m)
    assert maps.FICTITIOUS_BANNER in html and 'class="cpts-banner"' in html
    assert "Commune du territoire" in html
    assert set(layers_of(m)) == {"communes"}


def test_save_offline_map_atomic(demo, tmp_path):
    communes, _, _ = demo
    m = maps.commune_map(communes, "valeur")
    path = maps.save_offline_map(m, tmp_path / "carte.html")
    assert path == tmp_path / "carte.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert os.listdir(tmp_path) == ["carte.html"]
    assert not re.search(r"<script[^>]+src=", text) and not re.search(r"<link[^>]+href=", text)
    # rendering twice gives the same page (Leaflet inlined once)
    assert maps.map_html(m).count("<script>") == text.count("<script>")
    assert "data:image/png;base64," in text and "images/layers" not in text  # icons inlined


def test_tiles_layer_optional(demo):
    communes, _, _ = demo
    html = maps.map_html(maps.commune_map(communes, "valeur"))
    assert "openstreetmap" not in html.lower() and "L.tileLayer" not in html
    html = maps.map_html(maps.commune_map(communes, "valeur", tiles=True))
    assert "tile.openstreetmap.org" in html and "L.tileLayer" in html and "L.control.layers" in html
    assert "contributeurs d\\u2019OpenStreetMap" in html
    assert not re.search(r"""<(script|link)[^>]+(src|href)\s*=\s*["']?https?:""", html)


def test_map_html_refuses_cdn_or_jquery_needs(demo):
    communes, _, _ = demo
    from folium.plugins import MiniMap

    m = maps.commune_map(communes)
    MiniMap().add_to(m)
    with pytest.raises(ValueError, match="external resource"):
        maps.map_html(m)
    m = maps.commune_map(communes)
    folium.Marker([43.5, 5.5], popup=folium.Popup("<b>x</b>", parse_html=True)).add_to(m)
    with pytest.raises(ValueError, match="jQuery"):
        maps.map_html(m)


# ---------------------------------------------------------------------------
# region_map
# ---------------------------------------------------------------------------
def test_region_map_tiers_commune_level():
    communes = squares(4, 2)
    communes["cpts"] = ["A", "A", "B", "B", "A", "A", "C", "C"]
    communes["taille"] = communes["cpts"].map({"A": 1, "B": "T3", "C": None})
    orphans = gpd.GeoDataFrame(
        {"code_insee": ["13099"], "nom": ["Seule"]},
        geometry=[box(X0 + 4 * SIZE, Y0, X0 + 5 * SIZE, Y0 + SIZE)],
        crs=2154,
    ).to_crs(4326)
    m = maps.region_map(communes, "taille", orphans=orphans, title="Région test")
    lay = layers_of(m)
    assert {k: v.n_features for k, v in lay.items()} == {"territories": 8, "orphans": 1, "outlines": 3}
    html = maps.map_html(m)
    styles = lay["territories"].styles
    assert maps.TIER_COLORS["T1"] in styles and maps.TIER_COLORS["T3"] in styles
    assert "Taille 1 (T1)" in html and "Taille 4 (T4)" in html and "Taille inconnue" in html
    assert "Commune orpheline" in html
    assert not EXTERNAL.search(own_code(html))


def test_region_map_numeric_dissolved():
    terr = gpd.GeoDataFrame(
        {"cpts": ["A", XSS], "apl": [2.1, np.nan]},
        geometry=[box(X0, Y0, X0 + SIZE, Y0 + SIZE), box(X0 + SIZE, Y0, X0 + 2 * SIZE, Y0 + SIZE)],
        crs=2154,
    ).to_crs(4326)
    m = maps.region_map(terr, "apl", classes=[2.5], label="APL moyenne")
    lay = layers_of(m)
    assert {k: v.n_features for k, v in lay.items()} == {"territories": 2}
    html = maps.map_html(m)
    assert "moins de 2,5" in html and maps.MASKED_LABEL in html
    assert XSS not in html


# ---------------------------------------------------------------------------
# static_map
# ---------------------------------------------------------------------------
def test_static_map(demo, tmp_path):
    communes, neighbours, orphans = demo
    fig = maps.static_map(
        communes,
        "valeur",
        label="APL",
        unit="c/an/hab.",
        neighbours=neighbours,
        orphans=orphans,
        title="CPTS $test$",
        source="Exemple, données fictives",
        fictitious=True,
    )
    texts = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "Donnée masquée ou indisponible (2)" in texts
    assert "Commune orpheline (sans CPTS)" in texts and "Limite du territoire" in texts
    assert any(t.startswith("moins de") for t in texts)
    assert fig.legends[0].get_title().get_text() == "APL (c/an/hab.)"
    assert fig._suptitle.get_text() == r"CPTS \$test\$"  # no mathtext from user text
    all_text = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert maps.FICTITIOUS_BANNER in all_text
    assert fig._supxlabel.get_text() == "Source : Exemple, données fictives"
    ax = fig.axes[0]
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 2  # masked communes + orphans
    assert ax.get_xlim()[1] > 1e5  # projected (Lambert-93 metres)
    out = tmp_path / "carte.png"
    fig.savefig(out, dpi=60)
    assert out.stat().st_size > 5_000


def test_static_map_into_existing_axes(demo):
    from matplotlib.figure import Figure

    communes, _, _ = demo
    fig = Figure()
    ax = fig.add_subplot()
    res = maps.static_map(communes, None, ax=ax, title="Territoire", source="INSEE, COG 2026")
    assert res is fig
    assert ax.get_legend() is not None
    assert ax.get_title() == "Territoire"


def test_map_banner_follows_the_flag_not_the_caption():
    import geopandas as gpd
    from shapely.geometry import box

    from cpts_diag.outputs import maps

    communes = gpd.GeoDataFrame(
        {"code_insee": ["05061"], "nom": ["Gap"], "valeur": [3.2]}, geometry=[box(6.0, 44.5, 6.1, 44.6)], crs=4326
    )
    flagged = maps.map_html(maps.commune_map(communes, "valeur", source="Exemple CPAM", fictitious=True))
    assert maps.FICTITIOUS_BANNER in flagged and "cpts-fictive-note" in flagged
    # a caption that merely mentions the word is not a flag
    plain = maps.map_html(maps.commune_map(communes, "valeur", source="Étude sur les données fictives"))
    assert maps.FICTITIOUS_BANNER not in plain and 'class="cpts-fictive-note"' not in plain
