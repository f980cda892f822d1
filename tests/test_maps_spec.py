"""Tests of cpts_diag.outputs.maps.spec: one MapSpec read alike by the web and the printed maps."""

from __future__ import annotations

from dataclasses import replace

from cpts_diag.outputs.maps.classes import FICTITIOUS_BANNER
from cpts_diag.outputs.maps.offline import map_html
from cpts_diag.outputs.maps.printed import static_map
from cpts_diag.outputs.maps.spec import MapSpec
from cpts_diag.outputs.maps.web import commune_map
from map_helpers import demo_layers, layers_of


def test_legend_title_is_label_and_unit_or_the_column():
    communes, _, _ = demo_layers()
    assert MapSpec(communes, "valeur", label="APL", unit="c/an").legend_title == "APL (c/an)"
    assert MapSpec(communes, "valeur").legend_title == "valeur"
    assert MapSpec(communes).legend_title is None


def _printed_texts(fig) -> list[str]:
    texts = [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes for t in ax.texts]
    texts += [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    return texts


def test_one_spec_decides_outline_orphans_title_and_banner_on_both_maps():
    communes, neighbours, orphans = demo_layers()
    spec = MapSpec(communes, "valeur", orphans=orphans, title="Titre", source="Source test", fictitious=True)
    web, fig = commune_map(spec), static_map(spec)
    assert set(layers_of(web)) == {"communes", "orphans", "outline"}
    page, printed = map_html(web), _printed_texts(fig)
    assert FICTITIOUS_BANNER in page and FICTITIOUS_BANNER in printed
    assert "Limite du territoire" in page and "Limite du territoire" in printed
    assert fig._suptitle.get_text() == "Titre" and "<title>Titre</title>" in page

    plain = replace(spec, outline=False, orphans=None, neighbours=neighbours, fictitious=False)
    web, fig = commune_map(plain), static_map(plain)
    assert set(layers_of(web)) == {"communes", "neighbours"}
    page, printed = map_html(web), _printed_texts(fig)
    assert FICTITIOUS_BANNER not in page and FICTITIOUS_BANNER not in printed
    assert "Limite du territoire" not in page and "Limite du territoire" not in printed
    assert "Territoire voisin" in page and "Territoire voisin" in printed
