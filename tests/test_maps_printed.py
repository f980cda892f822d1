"""Tests of cpts_diag.outputs.maps.printed, on hand-made squares and on real territories outside PACA (frame,
distant islands, classes shared with the web map, labels)."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cpts_diag.outputs.maps.classes import (
    FICTITIOUS_BANNER,
    classify,
)
from cpts_diag.outputs.maps.offline import map_html
from cpts_diag.outputs.maps.printed import static_map
from cpts_diag.outputs.maps.spec import MapSpec
from cpts_diag.outputs.maps.web import commune_map
from map_helpers import demo_layers, layers_of, own_code


@pytest.fixture()
def demo():
    return demo_layers()


def test_static_map(demo, tmp_path):
    communes, neighbours, orphans = demo
    fig = static_map(
        MapSpec(
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
    )
    texts = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "Donnée masquée ou indisponible (2)" in texts
    assert "Commune orpheline (sans CPTS)" in texts and "Limite du territoire" in texts
    assert any(t.startswith("moins de") for t in texts)
    assert fig.legends[0].get_title().get_text() == "APL (c/an/hab.)"
    assert fig._suptitle.get_text() == r"CPTS \$test\$"  # no mathtext from user text
    all_text = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert FICTITIOUS_BANNER in all_text
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
    res = static_map(MapSpec(communes, None, title="Territoire", source="INSEE, COG 2026"), ax=ax)
    assert res is fig
    assert ax.get_legend() is not None
    assert ax.get_title() == "Territoire"


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

    before = static_map(MapSpec(com, "valeur", fit_main_part=False), figsize=(8.0, 6.2))
    after = static_map(MapSpec(com, "valeur"), figsize=(8.0, 6.2))
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
    html = map_html(commune_map(MapSpec(com, "valeur")))
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
    fig = static_map(MapSpec(coast, "valeur"))
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
        fig = static_map(MapSpec(island, "valeur"))
        assert fig.axes[0].child_axes == []  # no inset: the island is the territory
        pieces = _pieces_2154(island)
        whole = shapely.union_all(pieces).bounds
        assert min(_fill(whole, _limits(fig.axes[0]))) > 0.85 or max(_fill(whole, _limits(fig.axes[0]))) > 0.9
        assert "Hors du cadre" not in map_html(commune_map(MapSpec(island, "valeur")))


@pytest.mark.parametrize(
    "departement, epsg",
    [("974", 2975), ("971", 5490), ("976", 4471), ("2A", 2154)],
    ids=["reunion", "guadeloupe", "mayotte", "corse-du-sud"],
)
def test_drom_and_corsica_keep_one_frame(departement, epsg):
    """A whole DROM (Guadeloupe with Marie-Galante, Mayotte with Petite-Terre) or Corse-du-Sud: one frame."""
    com = _territory(departement=departement)
    fig = static_map(MapSpec(com, "valeur"))
    assert fig.axes[0].child_axes == []
    whole = shapely.union_all(_pieces_2154(com, epsg)).bounds
    limits = _limits(fig.axes[0])
    if departement != "2A":  # the map's own UTM zone: compare shapes, not coordinates
        width, height = whole[2] - whole[0], whole[3] - whole[1]
        assert np.isclose((limits[2] - limits[0]) / (limits[3] - limits[1]), width / height, rtol=0.05)
    else:
        assert min(_fill(whole, limits)) > 0.85
    assert "Hors du cadre" not in map_html(commune_map(MapSpec(com, "valeur")))


PONANT = ["29155", "29084", "29083", "29082", "22016", "56069", "56085", "56086", "56009", "56114", "56152", "56241"]
PONANT += ["56087", "56088", "85113", "17004"]


def test_scattered_islands_in_panels_at_one_scale():
    """Îles du Ponant (Bretagne, Pays de la Loire, Nouvelle-Aquitaine): 16 island communes, 12 groups."""
    com = _territory(codes=PONANT)
    assert len(com) == 16
    fig = static_map(MapSpec(com, "valeur", title="Îles du Ponant"))
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
    html = map_html(commune_map(MapSpec(com, "valeur")))
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
    classes = classify(com["valeur"], decimals=2)
    assert len(classes.breaks) == 4
    values = com["valeur"].to_numpy(copy=True)
    for i, b in enumerate(classes.breaks):  # on the limit, just under it (shown on it), under it (shown under)
        values[3 * i : 3 * i + 3] = [b, b - 0.004, b - 0.006]
    com["valeur"] = values

    fig = static_map(MapSpec(com, "valeur", classes=classes, label="APL"))
    m = commune_map(MapSpec(com, "valeur", classes=classes, label="APL", unit="c/an/hab."), simplify_m=0)
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
    html = map_html(m)
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
    fig = static_map(MapSpec(territory, "valeur", neighbours=neighbours, fit_orphans=False), figsize=(8.0, 6.2))
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
