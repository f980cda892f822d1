"""Maps opened in an offline headless Chromium (marked ``browser``)."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from browser import browser_errors, chrome, open_page  # noqa: F401  (chrome is a fixture)
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.outputs.maps.classes import FICTITIOUS_BANNER, PALETTES, Classification
from cpts_diag.outputs.maps.offline import save_offline_map
from cpts_diag.outputs.maps.spec import MapSpec, MapView
from cpts_diag.outputs.maps.web import commune_map, region_map

pytestmark = pytest.mark.browser

X0, Y0, SIZE = 900_000.0, 6_300_000.0, 5_000.0
SCRIPT_NAME = "<script>window.__pwned = 1</script>"
IMG_NAME = '<img src=x onerror="window.__pwned = 2">'
QUOTED_NAME = 'CPTS L\'Étang "Nord"'
READY = "window.L && window.cptsDiag && window.cptsDiag.map"


def _gdf(data, geoms):
    return gpd.GeoDataFrame(data, geometry=geoms, crs=2154).to_crs(4326)


@pytest.fixture(scope="module")
def layers():
    cells = [
        box(X0 + c * SIZE, Y0 + r * SIZE, X0 + (c + 1) * SIZE, Y0 + (r + 1) * SIZE) for r in range(2) for c in range(3)
    ]
    communes = _gdf(
        {
            "code_insee": [f"13{i:03d}" for i in range(1, 7)],
            "nom": ["Aix", "Bouc", "Cabriès", "Dorée", "Éguilles", SCRIPT_NAME],
            "apl": [1.2, 2.5, np.nan, 3.9, 4.4, None],
        },
        cells,
    )
    neighbours = _gdf(
        {"cpts": [SCRIPT_NAME, IMG_NAME, QUOTED_NAME]},
        [
            box(X0 - SIZE, Y0, X0, Y0 + 2 * SIZE),
            box(X0, Y0 + 2 * SIZE, X0 + 3 * SIZE, Y0 + 3 * SIZE),
            box(X0, Y0 - SIZE, X0 + 3 * SIZE, Y0),
        ],
    )
    orphans = _gdf(
        {"code_insee": ["13099"], "nom": ["Orpheline-sur-Mer"]}, [box(X0 + 3 * SIZE, Y0, X0 + 4 * SIZE, Y0 + SIZE)]
    )
    return communes, neighbours, orphans


def _counts(driver):
    return driver.execute_script(
        "return [document.querySelectorAll('.leaflet-overlay-pane svg path').length,"
        " document.querySelectorAll('.leaflet-overlay-pane svg path.leaflet-interactive').length,"
        " document.querySelectorAll('canvas').length];"
    )


def _open_all_tooltips(driver):
    return driver.execute_script(
        """
        var texts = [];
        Object.values(window.cptsDiag.layers).forEach(function (group) {
            group.eachLayer(function (l) {
                if (l.getTooltip()) {
                    l.openTooltip(l.getCenter());
                    texts.push(l.getTooltip().getElement().textContent);
                    l.closeTooltip();
                }
            });
        });
        return texts;
        """
    )


def test_network_is_off(chrome, tmp_path):  # noqa: F811
    page = tmp_path / "vide.html"
    page.write_text("<!DOCTYPE html><html lang='fr'><body>test</body></html>", encoding="utf-8")
    open_page(chrome, page)
    result = chrome.execute_async_script(
        "var done = arguments[0];"
        "fetch('https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js')"
        ".then(function () { done('en ligne'); }).catch(function () { done('hors ligne'); });"
    )
    assert result == "hors ligne"
    browser_errors(chrome)  # empty the log


def test_commune_map_offline(chrome, layers, tmp_path):  # noqa: F811
    communes, neighbours, orphans = layers
    m = commune_map(
        MapSpec(
            communes,
            "apl",
            label="APL médecins généralistes",
            unit="consultations/an/hab.",
            neighbours=neighbours,
            orphans=orphans,
            title=f"CPTS {SCRIPT_NAME}",
            source="CPAM (exemple), données fictives, 2024, commune",
            fictitious=True,
            tooltip_fields={"code_insee": "Code commune"},
        )
    )
    path = save_offline_map(m, tmp_path / "carte.html")
    open_page(chrome, path, ready=READY)
    time.sleep(0.3)

    assert chrome.execute_script("return typeof L === 'object' && L.version") == "1.9.3"
    total, interactive, canvases = _counts(chrome)
    # 6 communes + 3 neighbours + 1 orphan are interactive; + 1 territory outline (not interactive)
    assert (total, interactive, canvases) == (11, 10, 0)
    assert browser_errors(chrome) == []
    assert chrome.execute_script("return window.__pwned") is None

    # escaped user text shows literally
    title = chrome.execute_script("return document.querySelector('.cpts-title').textContent")
    assert title == f"CPTS {SCRIPT_NAME}"
    assert chrome.execute_script("return document.title") == f"CPTS {SCRIPT_NAME}"
    tips = _open_all_tooltips(chrome)
    assert len(tips) == 10
    assert any(SCRIPT_NAME in t for t in tips)
    assert any(IMG_NAME in t for t in tips)
    assert any(QUOTED_NAME in t for t in tips)
    assert any("Commune orpheline" in t for t in tips)
    assert any("Cabriès (13003)" in t and "donnée masquée" in t for t in tips)
    assert any("4,4\u202fconsultations" in t or "4,4 consultations" in t for t in tips)
    assert chrome.execute_script("return window.__pwned") is None
    assert chrome.execute_script("return document.querySelectorAll('img').length") == 0

    # legend, masked hatch, fictitious banner
    legend = chrome.execute_script("return document.querySelector('.cpts-legend').innerText")
    assert "Donnée masquée ou indisponible (2)" in legend
    assert "Source : CPAM (exemple), données fictives, 2024, commune" in legend
    banner = chrome.execute_script(
        "var b = document.querySelector('.cpts-banner'), r = b.getBoundingClientRect();"
        "return [b.textContent, r.height > 0, getComputedStyle(b).backgroundColor];"
    )
    assert banner == [FICTITIOUS_BANNER, True, "rgb(192, 0, 0)"]
    fills = chrome.execute_script(
        "return Array.from(document.querySelectorAll('path.cpts-masked, path.cpts-orphan'))"
        ".map(function (p) { return getComputedStyle(p).fill; });"
    )
    assert len(fills) == 3 and all(f.startswith("url(") for f in fills)
    chrome.save_screenshot("/tmp/carte_test.png")
    assert browser_errors(chrome) == []


def test_region_map_offline(chrome, layers, tmp_path):  # noqa: F811
    communes, _, orphans = layers
    communes = communes.assign(cpts=["A", "A", "B", "B", "A", SCRIPT_NAME], taille=[1, 1, 3, 3, 1, None])
    m = region_map(MapSpec(communes, "taille", orphans=orphans, title="CPTS de la région"))
    path = save_offline_map(m, tmp_path / "region.html")
    open_page(chrome, path, ready=READY)
    time.sleep(0.3)
    total, interactive, _ = _counts(chrome)
    assert (total, interactive) == (6 + 1 + 3, 6 + 1)  # communes + orphan, + 3 CPTS outlines
    assert browser_errors(chrome) == []
    tips = _open_all_tooltips(chrome)
    assert any(SCRIPT_NAME in t for t in tips)
    assert chrome.execute_script("return window.__pwned") is None
    chrome.save_screenshot("/tmp/carte_test_region.png")


def test_distant_island_one_click_away(chrome, tmp_path):  # noqa: F811
    """CC du Pays Fouesnantais (Finistère): the map opens on the mainland; the legend's button shows the Glénan,
    another brings the mainland back. Bounds computed here from the embedded polygons with shapely."""
    import pandas as pd
    import shapely

    from cpts_diag import settings
    from cpts_diag.commune_geo import display_polygons

    cog = pd.read_csv(settings.DATA_DIR / "communes_cog2026.csv", dtype=str, keep_default_na=False)
    cog = cog[cog["type"] == "commune-actuelle"]
    codes = cog.loc[cog["epci_siren"] == "242900660", "code_insee"]
    com = display_polygons(codes).merge(cog[["code_insee", "nom"]], on="code_insee")
    assert len(com) == len(codes) == 7
    com["apl"] = np.linspace(2.0, 5.0, len(com))
    union = shapely.union_all(com.to_crs(2154).geometry.to_numpy())
    pieces = sorted(union.geoms, key=lambda p: -p.area)
    glenan = gpd.GeoSeries([p for p in pieces[1:] if p.distance(pieces[0]) > 5_000], crs=2154).to_crs(4326)
    mainland = gpd.GeoSeries([pieces[0]], crs=2154).to_crs(4326)
    path = save_offline_map(commune_map(MapSpec(com, "apl")), tmp_path / "carte.html")
    open_page(chrome, path, ready=READY)
    time.sleep(0.3)
    view = "var b = window.cptsDiag.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];"

    def shows(bounds):
        w, s, e, n = chrome.execute_script(view)
        x0, y0, x1, y1 = bounds.total_bounds
        return w <= x0 and s <= y0 and e >= x1 and n >= y1

    assert shows(mainland) and not shows(glenan)
    buttons = chrome.execute_script(
        "return Array.from(document.querySelectorAll('.cpts-zoom')).map(function (b) { return b.textContent; });"
    )
    assert buttons[0].startswith("Fouesnant — à ") and buttons[0].endswith(" km au sud")
    assert buttons[-1] == "Revenir au territoire"
    chrome.execute_script("document.querySelectorAll('.cpts-zoom')[0].click();")
    time.sleep(0.5)
    assert shows(glenan) and not shows(mainland)
    chrome.execute_script("document.querySelectorAll('.cpts-zoom')[1].click();")
    time.sleep(0.5)
    assert shows(mainland)
    assert browser_errors(chrome) == []


def test_proposal_map_of_the_paca_check_renders_offline(chrome, tmp_path):  # noqa: F811
    """The proposal map of the PACA check: every orphan drawn in its candidate's colour with the proposal in its
    tooltip, the territories near a threshold outlined, no error, nothing fetched."""
    from browser import layer_tooltips
    from cpts_diag import settings
    from cpts_diag.checks import check_perimeters
    from cpts_diag.outputs.check_outputs import proposal_web_map

    report = check_perimeters(read_perimeters(settings.DEFAULT_PERIMETERS))
    path = save_offline_map(proposal_web_map(report), tmp_path / "carte_propositions.html")
    open_page(chrome, path, READY)
    assert browser_errors(chrome) == []
    tips = layer_tooltips(chrome, "proposals")
    orphans = [o["code_insee"] for o in report.orphans] + [a["code"] for a in report.uncovered_arrondissements]
    assert len(tips) == len(orphans) == 46
    aubignosc = next(t for t in tips if "(04013)" in t)
    assert "à rattacher à" in aubignosc and "CPTS Alpes Bléone Durance" in aubignosc
    near = layer_tooltips(chrome, "near_threshold")
    assert len(near) == report.summary["n_near_threshold"] == 8
    assert any("CPTS Cerebellum Pays des Sorgues et Luberon" in t and "1 461" in t.replace("\u202f", " ") for t in near)
    fills = chrome.execute_script(
        """
        var out = {};
        window.cptsDiag.layers.proposals.eachLayer(function (l) {
            out[l.getTooltip().getElement().textContent.slice(0, 60)] = getComputedStyle(l.getElement()).fill;
        });
        return out;
        """
    )
    assert len(set(fills.values())) > 5  # orphans in the colours of their candidates


def test_a_second_view_is_one_click_away_with_its_own_legend(chrome, layers, tmp_path):  # noqa: F811
    """Two choropleths of one geometry: the switch in the legend restyles the communes, shows the legend of the
    view chosen (and only it), changes the title; the outline stays above."""
    communes, neighbours, orphans = layers
    communes = communes.assign(quintile=[1, 5, np.nan, 3, 2, 4])
    view = MapView(
        "quintile",
        "Quintile",
        Classification([2, 3, 4, 5], ["q1", "q2", "q3", "q4", "q5"], PALETTES["YlOrRd"], 0),
        missing_label="non disponible",
        title="Titre du quintile",
    )
    m = commune_map(MapSpec(communes, "apl", label="APL", neighbours=neighbours, title="Titre APL", views=[view]))
    path = save_offline_map(m, tmp_path / "carte.html")
    open_page(chrome, path, ready=READY)
    time.sleep(0.3)
    state = """return [Array.from(document.querySelectorAll('.cpts-view')).map(g => !g.hidden),
        document.querySelector('.cpts-title').textContent,
        Array.from(document.querySelectorAll('.leaflet-overlay-pane svg path.leaflet-interactive'))
             .map(p => p.getAttribute('fill')),
        document.querySelector('.cpts-legend').innerText];"""
    shown, title, fills, legend = chrome.execute_script(state)
    assert shown == [True, False] and title == "Titre APL"
    assert "APL" in legend and "q5" not in legend
    chrome.execute_script("document.querySelectorAll('.cpts-switch input')[1].click();")
    time.sleep(0.2)
    shown, title, fills2, legend = chrome.execute_script(state)
    assert shown == [False, True] and title == "Titre du quintile"
    assert "q5" in legend and "non disponible (1)" in legend
    colours = PALETTES["YlOrRd"]
    assert [colours[0], colours[4], colours[2], colours[1], colours[3]] == [
        f for f in fills2 if f in colours
    ] and fills2 != fills
    on_top = chrome.execute_script(
        "var paths = document.querySelectorAll('.leaflet-overlay-pane svg path');"
        "return paths[paths.length - 1].getAttribute('fill');"
    )
    assert on_top == "none"  # the territory outline, drawn last, is still above the communes
    chrome.execute_script("document.querySelectorAll('.cpts-switch input')[0].click();")
    time.sleep(0.2)
    assert chrome.execute_script(state)[2] == fills
    assert browser_errors(chrome) == []
