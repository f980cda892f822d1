"""Tests of cpts_diag.outputs.maps.offline: the standalone page needs nothing from the network."""

from __future__ import annotations

import os
import re

import folium
import pytest

from cpts_diag.outputs.maps.offline import map_html, save_offline_map
from cpts_diag.outputs.maps.spec import MapSpec
from cpts_diag.outputs.maps.web import commune_map
from map_helpers import demo_layers


@pytest.fixture()
def demo():
    return demo_layers()


def test_save_offline_map_atomic(demo, tmp_path):
    communes, _, _ = demo
    m = commune_map(MapSpec(communes, "valeur"))
    path = save_offline_map(m, tmp_path / "carte.html")
    assert path == tmp_path / "carte.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert os.listdir(tmp_path) == ["carte.html"]
    assert not re.search(r"<script[^>]+src=", text) and not re.search(r"<link[^>]+href=", text)
    # rendering twice gives the same page (Leaflet inlined once)
    assert map_html(m).count("<script>") == text.count("<script>")
    assert "data:image/png;base64," in text and "images/layers" not in text  # icons inlined


def test_tiles_layer_optional(demo):
    communes, _, _ = demo
    html = map_html(commune_map(MapSpec(communes, "valeur")))
    assert "openstreetmap" not in html.lower() and "L.tileLayer" not in html
    html = map_html(commune_map(MapSpec(communes, "valeur"), tiles=True))
    assert "tile.openstreetmap.org" in html and "L.tileLayer" in html and "L.control.layers" in html
    assert "contributeurs d\\u2019OpenStreetMap" in html
    assert not re.search(r"""<(script|link)[^>]+(src|href)\s*=\s*["']?https?:""", html)


def test_map_html_refuses_cdn_or_jquery_needs(demo):
    communes, _, _ = demo
    from folium.plugins import MiniMap

    m = commune_map(MapSpec(communes))
    MiniMap().add_to(m)
    with pytest.raises(ValueError, match="external resource"):
        map_html(m)
    m = commune_map(MapSpec(communes))
    folium.Marker([43.5, 5.5], popup=folium.Popup("<b>x</b>", parse_html=True)).add_to(m)
    with pytest.raises(ValueError, match="jQuery"):
        map_html(m)
