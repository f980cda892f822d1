"""Tests of cpts_diag.outputs.maps.web (hand-made squares, no shared data): layers, legends, tooltips, banner."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from cpts_diag.outputs.html import esc
from cpts_diag.outputs.maps.classes import (
    FICTITIOUS_BANNER,
    MASKED_LABEL,
    TIER_COLORS,
)
from cpts_diag.outputs.maps.offline import map_html
from cpts_diag.outputs.maps.spec import MapSpec
from cpts_diag.outputs.maps.web import commune_map, proposal_map, region_map
from map_helpers import EXTERNAL, SIZE, X0, XSS, Y0, demo_layers, layers_of, own_code, squares


@pytest.fixture()
def demo():
    return demo_layers()


def test_commune_map_layers_and_legend(demo, tmp_path):
    communes, neighbours, orphans = demo
    m = commune_map(
        MapSpec(
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
    )
    lay = layers_of(m)
    assert {k: v.n_features for k, v in lay.items()} == {"communes": 6, "neighbours": 2, "orphans": 1, "outline": 1}
    html = map_html(m)
    # two masked communes in the grey hatched class, counted in the legend
    assert "Donnée masquée ou indisponible (2)" in html
    assert html.count('"className":"cpts-masked"') == 1
    assert "Source : DREES, APL 2023, commune" in html
    assert "Commune orpheline (sans CPTS)" in html and "Limite du territoire" in html
    assert "APL (consultations/an/hab.)" in html
    assert FICTITIOUS_BANNER not in html
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
    m = commune_map(MapSpec(communes, "valeur", neighbours=neighbours, orphans=orphans))
    html = own_code(map_html(m))
    found = re.search(r"fitBounds\(\s*\[\[([-\d.]+),\s*([-\d.]+)\],\s*\[([-\d.]+),\s*([-\d.]+)\]\]", html)
    assert found
    lat0, lon0, lat1, lon1 = map(float, found.groups())
    x0, y0, x1, y1 = gpd.GeoSeries(list(communes.geometry) + list(orphans.geometry), crs=4326).total_bounds
    assert np.allclose([lat0, lon0, lat1, lon1], [y0, x0, y1, x1], atol=2e-4)
    # neighbours are context: not in the fitted bounds
    assert neighbours.total_bounds[0] < lon0 - 0.01


def test_fictitious_banner_and_plain_map(demo):
    communes, _, _ = demo
    m = commune_map(MapSpec(communes, source="Exemple CPAM, données fictives, commune", outline=False, fictitious=True))
    html = map_html(m)
    assert FICTITIOUS_BANNER in html and 'class="cpts-banner"' in html
    assert "Commune du territoire" in html
    assert set(layers_of(m)) == {"communes"}


def test_region_map_tiers_commune_level():
    communes = squares(4, 2)
    communes["cpts"] = ["A", "A", "B", "B", "A", "A", "C", "C"]
    communes["taille"] = communes["cpts"].map({"A": 1, "B": "T3", "C": None})
    orphans = gpd.GeoDataFrame(
        {"code_insee": ["13099"], "nom": ["Seule"]},
        geometry=[box(X0 + 4 * SIZE, Y0, X0 + 5 * SIZE, Y0 + SIZE)],
        crs=2154,
    ).to_crs(4326)
    m = region_map(MapSpec(communes, "taille", orphans=orphans, title="Région test"))
    lay = layers_of(m)
    assert {k: v.n_features for k, v in lay.items()} == {"territories": 8, "orphans": 1, "outlines": 3}
    html = map_html(m)
    styles = lay["territories"].styles
    assert TIER_COLORS["T1"] in styles and TIER_COLORS["T3"] in styles
    assert "Taille 1 (T1)" in html and "Taille 4 (T4)" in html and "Taille inconnue" in html
    assert "Commune orpheline" in html
    assert not EXTERNAL.search(own_code(html))


def test_region_map_numeric_dissolved():
    terr = gpd.GeoDataFrame(
        {"cpts": ["A", XSS], "apl": [2.1, np.nan]},
        geometry=[box(X0, Y0, X0 + SIZE, Y0 + SIZE), box(X0 + SIZE, Y0, X0 + 2 * SIZE, Y0 + SIZE)],
        crs=2154,
    ).to_crs(4326)
    m = region_map(MapSpec(terr, "apl", classes=[2.5], label="APL moyenne"))
    lay = layers_of(m)
    assert {k: v.n_features for k, v in lay.items()} == {"territories": 2}
    html = map_html(m)
    assert "moins de 2,5" in html and MASKED_LABEL in html
    assert XSS not in html


def test_map_banner_follows_the_flag_not_the_caption():
    import geopandas as gpd
    from shapely.geometry import box

    communes = gpd.GeoDataFrame(
        {"code_insee": ["05061"], "nom": ["Gap"], "valeur": [3.2]}, geometry=[box(6.0, 44.5, 6.1, 44.6)], crs=4326
    )
    flagged = map_html(commune_map(MapSpec(communes, "valeur", source="Exemple CPAM", fictitious=True)))
    assert FICTITIOUS_BANNER in flagged and "cpts-fictitious-note" in flagged
    # a caption that merely mentions the word is not a flag
    plain = map_html(commune_map(MapSpec(communes, "valeur", source="Étude sur les données fictives")))
    assert FICTITIOUS_BANNER not in plain and 'class="cpts-fictitious-note"' not in plain


def _feature_styles(layer):
    """(tooltip heading, style) of each feature of a layer, read from the map's data."""
    import json

    styles = json.loads(layer.styles)[0]  # the styles of the first (here the only) view
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
    m = proposal_map(MapSpec(communes, orphans=orphans, title="Propositions", source="test"), conflicts, near)
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
    html = map_html(m)
    assert "Orpheline proposée à A (1)" in html and "Orpheline sans proposition (1)" in html
    assert 'id="cpts-hatch-conflict"' in html and "Commune en conflit (1)" in html
    assert "à moins de 5 % d&#x27;un seuil de taille (1)" in html or "à moins de 5 % d'un seuil de taille (1)" in html
    assert not EXTERNAL.search(own_code(html))


def test_proposal_map_needs_the_orphans_layer():
    communes = squares(2, 1).assign(cpts="A")
    with pytest.raises(ValueError, match=r"spec\.orphans missing"):
        proposal_map(MapSpec(communes, title="Propositions", source="test"))
    # an empty orphans layer is a check with no orphan: the map is drawn
    m = proposal_map(MapSpec(communes, orphans=communes.iloc[:0].assign(candidate=None, proposal=None)))
    assert {k: v.n_features for k, v in layers_of(m).items()} == {"territories": 2, "outlines": 1}
