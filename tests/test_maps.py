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
    # a value is classed as it is shown: 2,49 is shown « 2,5 » with one decimal, 2,449 « 2,4 »
    assert g.assign([2.5, 2.49, 2.449, 4.0]).tolist() == [1, 1, 0, 3]
    assert maps.classify([1], classes=[2.25], decimals=1).labels == ["moins de 2,25", "2,25 et plus"]
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
    assert maps.FICTITIOUS_BANNER in flagged and "cpts-fictitious-note" in flagged
    # a caption that merely mentions the word is not a flag
    plain = maps.map_html(maps.commune_map(communes, "valeur", source="Étude sur les données fictives"))
    assert maps.FICTITIOUS_BANNER not in plain and 'class="cpts-fictitious-note"' not in plain


# ---------------------------------------------------------------------------
# real territories outside PACA: frame, distant islands, classes, labels
# ---------------------------------------------------------------------------
def _cog():
    import pandas as pd

    from cpts_diag import settings

    cog = pd.read_csv(settings.DATA_DIR / "communes_cog2026.csv", dtype=str, keep_default_na=False)
    return cog[cog["type"] == "commune-actuelle"]


def _territory(codes=(), epci=(), departement=None, values=None):
    """Embedded display polygons (EPSG:4326) of real communes, named from the COG file, with a ``valeur``."""
    from cpts_diag.commune_geo import display_polygons

    cog = _cog()
    keep = cog["code_insee"].isin(set(codes)) | cog["epci_siren"].isin(set(epci))
    if departement:
        keep |= cog["departement"] == departement
    wanted = cog[keep]
    gdf = display_polygons(wanted["code_insee"]).merge(wanted[["code_insee", "nom"]], on="code_insee")
    gdf["valeur"] = np.linspace(1.0, 5.0, len(gdf)) if values is None else values
    return gdf


def _pieces_2154(gdf, epsg=2154):
    """Polygon pieces of the union of ``gdf`` in ``epsg``, largest first (computed here with shapely)."""
    union = shapely.union_all(gdf.to_crs(epsg).geometry.to_numpy())
    parts = list(getattr(union, "geoms", [union]))
    return sorted(parts, key=lambda p: -p.area)


def _main_axes(fig):
    return fig.axes[0]


def _limits(ax):
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    return x0, y0, x1, y1


def _fill(bounds, limits):
    """Share of the width and of the height of ``limits`` that ``bounds`` spans."""
    return (bounds[2] - bounds[0]) / (limits[2] - limits[0]), (bounds[3] - bounds[1]) / (limits[3] - limits[1])


def _inset_box(fig, inset):
    """Where ``inset`` lies on the printed map, in the main map's coordinates (after the figure is drawn)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    to_data = _main_axes(fig).transData.inverted()
    (x0, y0), (x1, y1) = to_data.transform(inset.get_window_extent().get_points())
    return shapely.box(x0, y0, x1, y1)


def _buttons(html):
    """(label, [[lat0, lon0], [lat1, lon1]]) of the zoom buttons of a web map."""
    import html as html_lib
    import json

    found = re.findall(r'<button type="button" class="cpts-zoom" data-bounds="([^"]+)">([^<]+)</button>', html)
    return [(html_lib.unescape(label), json.loads(html_lib.unescape(b))) for b, label in found]


def test_glenan_drawn_in_an_inset_so_that_the_mainland_fills_the_map():
    """CC du Pays Fouesnantais (Finistère): the Glénan (Fouesnant, 29058) are 13 km off the coast."""
    com = _territory(epci=["242900660"])
    assert "29058" in set(com["code_insee"]) and len(com) == 7
    pieces = _pieces_2154(com)
    mainland = pieces[0]
    glenan = [p for p in pieces[1:] if p.distance(mainland) > 5_000]
    assert glenan and all(p.centroid.y < mainland.bounds[1] for p in glenan)  # south of the mainland

    before = maps.static_map(com, "valeur", figsize=(8.0, 6.2), fit_main_part=False)
    after = maps.static_map(com, "valeur", figsize=(8.0, 6.2))
    fill_before = _fill(mainland.bounds, _limits(_main_axes(before)))
    fill_after = _fill(mainland.bounds, _limits(_main_axes(after)))
    assert min(fill_before) < 0.55  # one frame around everything: the mainland in half the height
    assert min(fill_after) > 0.9 and max(fill_after) > 0.9  # the mainland fills the printed map
    # the Glénan are drawn, in an inset that says where they are
    insets = _main_axes(after).child_axes
    assert len(insets) == 1
    x0, y0, x1, y1 = _limits(insets[0])
    for p in glenan:
        assert x0 <= p.bounds[0] and p.bounds[2] <= x1 and y0 <= p.bounds[1] and p.bounds[3] <= y1
    caption = " ".join(t.get_text() for t in insets[0].texts)
    assert "Fouesnant" in caption and "km au sud" in caption
    assert "Fouesnant" not in " ".join(t.get_text() for t in _main_axes(before).texts)
    # the inset covers none of the mainland
    assert not _inset_box(after, insets[0]).intersects(mainland)

    # the web map fits the mainland too; the Glénan are one click away
    html = maps.map_html(maps.commune_map(com, "valeur"))
    fit = re.search(r"fitBounds\(\s*\[\[([-\d.]+),\s*([-\d.]+)\],\s*\[([-\d.]+),\s*([-\d.]+)\]\]", own_code(html))
    lat0, lon0, lat1, lon1 = map(float, fit.groups())
    land = gpd.GeoSeries([mainland], crs=2154).to_crs(4326).total_bounds
    assert np.allclose([lat0, lon0, lat1, lon1], [land[1], land[0], land[3], land[2]], atol=2e-3)
    buttons = dict(_buttons(html))
    assert "Hors du cadre :" in html
    (label,) = [k for k in buttons if k.startswith("Fouesnant")]
    (la0, lo0), (la1, lo1) = buttons[label]
    isles = gpd.GeoSeries(glenan, crs=2154).to_crs(4326).total_bounds
    assert la0 <= isles[1] + 2e-3 and la1 >= isles[3] - 2e-3 and lo0 <= isles[0] + 2e-3 and lo1 >= isles[2] - 2e-3
    assert "Revenir au territoire" in buttons


def test_yeu_in_an_inset_and_an_island_alone_is_not_distant_from_itself():
    """CC Océan Marais de Monts with L'Île-d'Yeu (Vendée); Belle-Île alone (Morbihan); Yeu alone."""
    coast = _territory(epci=["248500258"], codes=["85113"])
    fig = maps.static_map(coast, "valeur")
    (inset,) = _main_axes(fig).child_axes
    caption = " ".join(t.get_text() for t in inset.texts)
    assert caption.startswith("L'Île-d'Yeu") and "km" in caption
    yeu = _pieces_2154(_territory(codes=["85113"]))[0]
    x0, y0, x1, y1 = _limits(inset)
    assert x0 <= yeu.bounds[0] and yeu.bounds[2] <= x1 and y0 <= yeu.bounds[1] and yeu.bounds[3] <= y1
    main_x0, _, _, _ = _limits(_main_axes(fig))
    assert yeu.bounds[2] < main_x0  # Yeu is west of the printed frame
    mainland = _pieces_2154(coast)[0]
    assert min(_fill(mainland.bounds, _limits(_main_axes(fig)))) > 0.7
    assert not _inset_box(fig, inset).intersects(mainland)

    for codes in (["56009", "56114", "56152", "56241"], ["85113"]):  # Belle-Île (4 communes), Yeu
        island = _territory(codes=codes)
        fig = maps.static_map(island, "valeur")
        assert fig.axes[0].child_axes == []  # no inset: the island is the territory
        pieces = _pieces_2154(island)
        whole = shapely.union_all(pieces).bounds
        assert min(_fill(whole, _limits(fig.axes[0]))) > 0.85 or max(_fill(whole, _limits(fig.axes[0]))) > 0.9
        assert "Hors du cadre" not in maps.map_html(maps.commune_map(island, "valeur"))


@pytest.mark.parametrize(
    "departement, epsg",
    [("974", 2975), ("971", 5490), ("976", 4471), ("2A", 2154)],
    ids=["reunion", "guadeloupe", "mayotte", "corse-du-sud"],
)
def test_drom_and_corsica_keep_one_frame(departement, epsg):
    """A whole DROM (Guadeloupe with Marie-Galante, Mayotte with Petite-Terre) or Corse-du-Sud: one frame."""
    com = _territory(departement=departement)
    fig = maps.static_map(com, "valeur")
    assert fig.axes[0].child_axes == []
    whole = shapely.union_all(_pieces_2154(com, epsg)).bounds
    limits = _limits(fig.axes[0])
    if departement != "2A":  # the map's own UTM zone: compare shapes, not coordinates
        width, height = whole[2] - whole[0], whole[3] - whole[1]
        assert np.isclose((limits[2] - limits[0]) / (limits[3] - limits[1]), width / height, rtol=0.05)
    else:
        assert min(_fill(whole, limits)) > 0.85
    assert "Hors du cadre" not in maps.map_html(maps.commune_map(com, "valeur"))


PONANT = ["29155", "29084", "29083", "29082", "22016", "56069", "56085", "56086", "56009", "56114", "56152", "56241"]
PONANT += ["56087", "56088", "85113", "17004"]


def test_scattered_islands_in_panels_at_one_scale():
    """Îles du Ponant (Bretagne, Pays de la Loire, Nouvelle-Aquitaine): 16 island communes, 12 groups."""
    com = _territory(codes=PONANT)
    assert len(com) == 16
    fig = maps.static_map(com, "valeur", title="Îles du Ponant")
    panels = _main_axes(fig).child_axes
    assert 5 <= len(panels) <= 12
    spans = [a.get_xlim()[1] - a.get_xlim()[0] for a in panels]
    assert np.allclose(spans, spans[0])  # one scale: sizes compare
    # every island commune is whole in a panel that names it
    for code, name, geom in zip(com["code_insee"], com["nom"], com.to_crs(2154).geometry):
        holders = [a for a in panels if name in " ".join(t.get_text() for t in a.texts)]
        assert holders, (code, name)
        x0, y0, x1, y1 = _limits(holders[0])
        b = geom.bounds
        assert x0 <= b[0] and b[2] <= x1 and y0 <= b[1] and b[3] <= y1, name
    # web map: every group one click away
    html = maps.map_html(maps.commune_map(com, "valeur"))
    assert len(_buttons(html)) == len(panels)


def _parse_fr(text):
    return float(text.replace("\u202f", "").replace(" ", "").replace(",", "."))


def _label_range(label):
    """(low, high) of a legend label (« moins de a », « de a à moins de b », « a et plus »)."""
    num = r"(-?[\d\u202f ]+(?:,\d+)?)"
    if m := re.fullmatch(f"moins de {num}", label):
        return -np.inf, _parse_fr(m.group(1))
    if m := re.fullmatch(f"de {num} à moins de {num}", label):
        return _parse_fr(m.group(1)), _parse_fr(m.group(2))
    if m := re.fullmatch(f"{num} et plus", label):
        return _parse_fr(m.group(1)), np.inf
    raise AssertionError(label)


def _printed_colours(fig, gdf_2154):
    """Fill colour of each commune on the printed map: the collection whose path holds its representative point."""
    from matplotlib.colors import to_hex

    ax = _main_axes(fig)
    out = []
    for geom in gdf_2154.geometry:
        p = geom.representative_point()
        found = {
            to_hex(c.get_facecolor()[0])
            for c in ax.collections
            if len(c.get_facecolor()) and any(path.contains_point((p.x, p.y)) for path in c.get_paths())
        }
        found.discard("#ffffff")
        assert len(found) == 1, found
        out.append(found.pop())
    return out


def _web_classes(m):
    """(heading, value text, fill colour) of each commune of a web map, read from the map's data."""
    import json

    layer = layers_of(m)["communes"]
    styles = json.loads(layer.styles)[0]  # the first view (the only one here)
    return [(f[1][0], f[1][1], styles[f[0]]["fillColor"]) for f in json.loads(layer.data)["f"]]


def test_printed_and_web_maps_share_classes_at_and_around_rounded_limits():
    """CA du Bassin de Bourg-en-Bresse (Ain): real APL 2023 of its communes, then values set on each limit of
    the classes, 0,004 below (shown on the limit) and 0,006 below (shown under it)."""
    import pandas as pd

    from cpts_diag import settings

    com = _territory(epci=["200071751"])
    assert len(com) == (_cog()["epci_siren"] == "200071751").sum()  # every commune drawn
    apl = pd.read_csv(settings.DATA_DIR / "apl_mg_communes_2022_2023.csv", dtype={"code_insee": str})
    com["valeur"] = com["code_insee"].map(apl.set_index("code_insee")["apl_mg_2023"].astype(float))
    classes = maps.classify(com["valeur"], decimals=2)
    assert len(classes.breaks) == 4
    values = com["valeur"].to_numpy(copy=True)
    for i, b in enumerate(classes.breaks):  # on the limit, just under it (shown on it), under it (shown under)
        values[3 * i : 3 * i + 3] = [b, b - 0.004, b - 0.006]
    com["valeur"] = values

    fig = maps.static_map(com, "valeur", classes=classes, label="APL")
    m = maps.commune_map(com, "valeur", classes=classes, label="APL", unit="c/an/hab.", simplify_m=0)
    printed = _printed_colours(fig, com.to_crs(2154))
    web = _web_classes(m)
    assert [h for h, _, _ in web] == [f"{n} ({c})" for n, c in zip(com["nom"], com["code_insee"])]
    assert printed == [c for _, _, c in web]  # same class for every commune on both maps
    # the legends are the same, and each shown value lies in the class its colour says
    from matplotlib.colors import to_hex
    from matplotlib.patches import Patch

    legend = {
        to_hex(h.get_facecolor()): t.get_text()
        for h, t in zip(fig.legends[0].legend_handles, fig.legends[0].get_texts())
        if isinstance(h, Patch) and not h.get_hatch()
    }
    html = maps.map_html(m)
    web_legend = dict(re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"[^>]*/></svg><span>([^<]+)</span>', html))
    assert web_legend == legend and len(legend) == len(classes.labels) == 5
    for (heading, text, colour), value in zip(web, values):
        shown = _parse_fr(text.split(" c/an")[0])
        assert shown == float(f"{value:.2f}")
        low, high = _label_range(legend[colour])
        assert low <= shown < high, (heading, text, legend[colour])
    # the values placed on and just under a limit are in the class above it
    for i in range(len(classes.breaks)):
        assert {printed[3 * i], printed[3 * i + 1]} == {classes.colors[i + 1]}
        assert printed[3 * i + 2] == classes.colors[i]


def test_neighbour_labels_stay_inside_their_polygon_and_off_the_territory():
    """CA Quimper Bretagne Occidentale with three neighbouring CPTS (Finistère), as the report draws them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    territory = _territory(epci=["200068120"])
    names = {"242900660": "CPTS du Pays Fouesnantais", "242900769": "CPTS Concarneau Cornouaille"}
    names["242900702"] = "CPTS Pays Bigouden Sud"
    cog = _cog()
    rows = []
    for siren, name in names.items():
        part = _territory(epci=[siren])
        rows.append({"cpts": name, "geometry": shapely.union_all(part.to_crs(2154).geometry.to_numpy())})
        assert set(part["code_insee"]) == set(cog.loc[cog["epci_siren"] == siren, "code_insee"])
    neighbours = gpd.GeoDataFrame(rows, crs=2154).to_crs(4326)
    fig = maps.static_map(territory, "valeur", neighbours=neighbours, figsize=(8.0, 6.2), fit_orphans=False)
    FigureCanvasAgg(fig).draw()
    ax = _main_axes(fig)
    outline = shapely.union_all(territory.to_crs(2154).geometry.to_numpy())
    polygons = dict(zip(neighbours["cpts"], neighbours.to_crs(2154).geometry))
    labels = [t for t in ax.texts if t.get_text().replace("\n", " ") in polygons]
    assert len(labels) >= 2
    inverse = ax.transData.inverted()
    for t in labels:
        x, y = t.get_position()
        assert polygons[t.get_text().replace("\n", " ")].contains(shapely.Point(x, y))  # inside its own polygon
        (bx0, by0), (bx1, by1) = inverse.transform(t.get_window_extent().get_points())
        text_box = shapely.box(bx0, by0, bx1, by1)
        assert not text_box.intersects(outline), t.get_text()  # the text covers neither outline nor territory
        assert shapely.box(*_limits(ax)).contains(text_box)  # nor is it cut at the edge


# ---------------------------------------------------------------------------
# proposal map
# ---------------------------------------------------------------------------
def _feature_styles(layer):
    """(tooltip heading, style) of each feature of a layer, read from the map's data."""
    import json

    styles = json.loads(layer.styles)
    return [(f[1][0] if f[1] else None, styles[f[0]]) for f in json.loads(layer.data)["f"]]


def test_proposal_map_colours_orphans_by_their_first_candidate():
    grid = squares(5, 2)  # 13001-13005 bottom row, 13006-13010 top row
    cpts = {"13001": "A", "13002": "A", "13006": "A", "13004": "B", "13005": "B", "13009": "B", "13010": "B"}
    communes = grid[grid["code_insee"].isin(cpts)].assign(cpts=lambda d: d["code_insee"].map(cpts))
    orphans = grid[grid["code_insee"].isin(["13003", "13007", "13008"])].copy()
    orphans["candidate"] = ["A", "B", None]
    orphans["proposal"] = ["vers A", "vers B", "aucune"]
    conflicts = gpd.GeoDataFrame({"code_insee": ["13002"], "proposal": ["garder dans A"]})
    near = communes.dissolve("cpts").reset_index().loc[lambda d: d["cpts"] == "B"].assign(proposal="seuil")
    m = maps.proposal_map(communes, orphans, conflicts, near, title="Propositions", source="test")
    lay = layers_of(m)
    assert {k: v.n_features for k, v in lay.items()} == {
        "territories": 7,
        "outlines": 2,
        "proposals": 3,
        "conflicts": 1,
        "near_threshold": 1,
    }
    orphan_fill = {heading: style.get("fillColor") for heading, style in _feature_styles(lay["proposals"])}
    territory_fill = {heading: style["fillColor"] for heading, style in _feature_styles(lay["territories"])}
    # an orphan has its candidate's colour, which tints that candidate's communes; touching candidates differ
    assert orphan_fill["Commune 3 (13003)"] == territory_fill["Commune 1 (13001)"]
    assert orphan_fill["Commune 7 (13007)"] == territory_fill["Commune 4 (13004)"]
    assert orphan_fill["Commune 3 (13003)"] != orphan_fill["Commune 7 (13007)"]
    no_candidate = dict(_feature_styles(lay["proposals"]))["Commune 8 (13008)"]
    assert no_candidate["className"] == "cpts-orphan"  # hatched as an orphan, no colour of a territory
    assert _feature_styles(lay["conflicts"])[0][1]["className"] == "cpts-conflict"
    html = maps.map_html(m)
    assert "Orpheline proposée à A (1)" in html and "Orpheline sans proposition (1)" in html
    assert 'id="cpts-hatch-conflict"' in html and "Commune en conflit (1)" in html
    assert "à moins de 5 % d&#x27;un seuil de taille (1)" in html or "à moins de 5 % d'un seuil de taille (1)" in html
    assert not EXTERNAL.search(own_code(html))
