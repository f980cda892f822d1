"""What a map shows: one :class:`MapSpec`, built once by each caller and given alike to the web maps
(:mod:`cpts_diag.outputs.maps.web`) and the printed map (:func:`cpts_diag.outputs.maps.printed.static_map`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd

from cpts_diag.outputs.maps.classes import MASKED_LABEL, Classification


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


@dataclass(frozen=True, eq=False)
class MapSpec:
    """What a map shows (projected, simplified and drawn by each map its own way).

    * ``communes``: the mapped polygons with a CRS: communes (``code_insee``, ``nom``, the value columns) or, for a
      regional map, territories (one row each, or one row per commune with the territory in a name column).
    * ``value_col``: column to map; NaN / non-numeric values are drawn in the grey hatched class ``missing_label``
      (« Donnée masquée ou indisponible »). None: plain fill.
    * ``label``, ``unit``: indicator name and unit (legend title, tooltip); ``decimals``: those of the values in
      labels and tooltips.
    * ``classes``: number of quantile classes (default 5), interior thresholds, or a :class:`Classification`
      (then it decides the classes, colours, legend labels and the decimals of the values, ``palette`` and
      ``decimals`` aside); ``palette``: sequential ColorBrewer name (default ``"YlGnBu"``; ``"_r"`` reverses) or
      colours.
    * ``outline`` (GeoDataFrame, GeoSeries or geometry): the territory's thick outline; None dissolves
      ``communes``; False draws none.
    * ``neighbours``: neighbouring territories (thin dashed outlines; name in the tooltip or on paper, column
      ``neighbour_name_col``, by default the first of cpts, nom, name, territoire).
    * ``orphans``: orphan communes (``code_insee``, ``nom``), hatched; ``fit_orphans=False`` leaves them out of the
      frame, when they are context around a territory.
    * ``fit_main_part``: frame by :data:`~cpts_diag.outputs.maps.layout.FRAME_RULE` (the main part of a territory,
      distant parts in insets on paper and one click away on the web, scattered islands in panels); False fits one
      frame to everything (scattered communes that are no territory, e.g. orphans of a région).
    * ``tooltip_fields``: extra columns in the web tooltips, ``{column: French label}`` or columns.
    * ``views``: other choropleths of the communes on the web map (:class:`MapView`): the legend then opens with a
      switch between ``label`` and the views.
    * ``title``; ``source``: source line (source, vintage, level); ``fictitious``: the mapped data are fictitious
      (``Source.fictitious``): red banner « Données fictives — exemple de démonstration ».
    * ``crs``: projected CRS of the drawing and of the simplification (default EPSG:2154 for metropolitan data,
      the local UTM zone elsewhere: DROM).
    """

    communes: gpd.GeoDataFrame
    value_col: str | None = None
    label: str | None = None
    unit: str | None = None
    classes: int | Sequence[float] | Classification | None = None
    palette: Any = None
    decimals: int = 1
    missing_label: str = MASKED_LABEL
    outline: Any = None
    neighbours: gpd.GeoDataFrame | None = None
    neighbour_name_col: str | None = None
    orphans: gpd.GeoDataFrame | None = None
    fit_orphans: bool = True
    fit_main_part: bool = True
    tooltip_fields: Any = None
    views: Sequence[MapView] = ()
    title: str | None = None
    source: str | None = None
    fictitious: bool = False
    crs: Any = None

    @property
    def legend_title(self) -> str | None:
        """The legend title of the mapped value: its label (else its column) and unit; None for a plain map."""
        if self.value_col is None:
            return None
        return (self.label or self.value_col) + (f" ({self.unit})" if self.unit else "")
