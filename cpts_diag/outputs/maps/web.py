"""The web maps (folium, offline): the communes of a territory (:func:`commune_map`), the territories of a région
(:func:`region_map`) and the proposals of a perimeter check (:func:`proposal_map`), each drawn from a
:class:`~cpts_diag.outputs.maps.spec.MapSpec`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.outputs.maps import elements as el
from cpts_diag.outputs.maps import geometry as geo
from cpts_diag.outputs.maps.classes import (
    BORDER_COLOR,
    CANDIDATE_COLORS,
    CONFLICT_COLOR,
    NEAR_THRESHOLD_COLOR,
    NEIGHBOUR_COLOR,
    ORPHAN_COLOR,
    OUTLINE_COLOR,
    PLAIN_COLOR,
    TIER_COLORS,
    TIER_LABELS,
)
from cpts_diag.outputs.maps.spec import MapSpec
from cpts_diag.outputs.templating import Markup


def commune_map(spec: MapSpec, *, tiles: bool = False, simplify_m: float = 80, round_decimals: int = 5) -> folium.Map:
    """Web map of the communes of a territory (choropleth of ``spec.value_col`` or plain), offline-ready.

    The communes' tooltips give « nom (code) », the value (with its unit; masked values say so) and
    ``spec.tooltip_fields``; the view is framed as :func:`~cpts_diag.outputs.maps.printed.static_map` frames the
    printed map, each distant part (or, for scattered islands, each group) one click away in the legend.
    ``tiles``: an OpenStreetMap background layer (needs internet) and a layer control; by default the background
    is plain. ``simplify_m``, ``round_decimals``: passed to :func:`~cpts_diag.outputs.maps.geometry.web_geometry`
    (0 disables the simplification). No CDN resource: Leaflet is inlined by
    :func:`~cpts_diag.outputs.maps.offline.map_html`.
    """
    communes, orphans, neighbours, crs = spec.communes, spec.orphans, spec.neighbours, spec.crs
    geo.require_crs(communes, "communes")
    outline_gdf = geo.as_gdf(spec.outline)
    fcrs = crs if crs is not None else geo.auto_crs(communes)
    frame = geo.frame_of(
        communes.to_crs(fcrs),
        outline_gdf.to_crs(fcrs) if outline_gdf is not None else None,
        orphans.to_crs(fcrs) if spec.fit_orphans and orphans is not None and len(orphans) else None,
        spec.fit_main_part,
    )
    com, orph, neigh, outl = geo.web_layers(
        [communes, orphans, neighbours, outline_gdf], simplify_m, round_decimals, crs
    )
    assert com is not None, "web_layers returns a frame for each frame given"
    if spec.outline is None:
        merged = geo.dissolve_outline(com)
        outl = gpd.GeoDataFrame(geometry=[merged], crs=4326) if merged is not None else None

    base = {"color": BORDER_COLOR, "weight": 0.8, "opacity": 1, "fillOpacity": 0.9}
    value_col, label, legend_title, columns = spec.value_col, spec.label, spec.legend_title, []
    styles: Sequence[dict[str, Any]] | Sequence[Sequence[dict[str, Any]]]
    if value_col is None:
        idx, styles = np.zeros(len(com), dtype=int), [dict(base, fillColor=PLAIN_COLOR, color="#5b7fa6")]
        rows = [el.legend_row("Commune du territoire", PLAIN_COLOR)]
    else:
        values = com[value_col]
        idx, styles, rows, cls = el.choropleth(values, spec, base, True)
        columns.append((label or value_col, el.column_texts(values, cls.decimals, el.is_integral(values), spec.unit)))
    if views := spec.views:  # one geometry, several choropleths: a switch, then one legend per view
        indices, all_styles, groups = [idx], [styles], [(legend_title, rows)]
        for view in views:
            vals = com[view.value_col]
            v_spec = MapSpec(com, classes=view.classes, decimals=0, missing_label=view.missing_label)
            v_idx, v_styles, v_rows, v_cls = el.choropleth(vals, v_spec, base, True)
            indices.append(v_idx)
            all_styles.append(v_styles)
            groups.append((view.label + (f" ({view.unit})" if view.unit else ""), v_rows))
            texts = com[view.text_col].astype(str).tolist() if view.text_col else None
            columns.append(
                (view.label, texts or el.column_texts(vals, v_cls.decimals, el.is_integral(vals), view.unit))
            )
        names = [label or value_col or "Communes", *(v.label for v in views)]
        titles = [spec.title, *(v.title or spec.title for v in views)]
        rows = [el.map_macro("layer_switch", [(i, n, t) for i, (n, t) in enumerate(zip(names, titles))])]
        rows += [el.map_macro("legend_group", i, title, [Markup(r) for r in g]) for i, (title, g) in enumerate(groups)]
        idx, styles, legend_title = np.column_stack(indices), all_styles, None
    tips = el.tooltips(el.commune_headings(com), columns + el.extra_columns(com, spec.tooltip_fields, spec.decimals))

    m = el.new_map(tiles)
    if neigh is not None and len(neigh):
        el.neighbour_layer(neigh, spec.neighbour_name_col, round_decimals).add_to(m)
    el.FeatureLayer(com, idx, tips, styles, "communes", "Communes", highlight=True, decimals=round_decimals).add_to(m)
    if orph is not None and len(orph):
        el.add_orphans(m, rows, orph, round_decimals)
    if outl is not None and len(outl):
        el.outline_layer(outl, "outline", "Limite du territoire", 3, round_decimals).add_to(m)
        rows.append(el.legend_row("Limite du territoire", line=OUTLINE_COLOR, width=3))
    if neigh is not None and len(neigh):
        rows.append(el.legend_row("Territoire voisin", line=NEIGHBOUR_COLOR, width=1.2, dash="4 3"))
    if zoom := el.fit_frame(m, frame, fcrs, [com, orph, outl] if spec.fit_orphans else [com, outl]):
        rows.append(zoom)
    return el.finish(m, rows, legend_title, spec, tiles)


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
    spec: MapSpec, *, name_col: str = "cpts", tiles: bool = False, simplify_m: float = 120, round_decimals: int = 4
) -> folium.Map:
    """Regional web map of territories, coloured by ACI tier or by a value.

    * ``spec.communes``: either one row per territory (polygons already dissolved) or one row per commune
      (``code_insee``, ``nom``) with the territory in ``name_col``: then communes are filled and each territory
      gets an outline. A commune listed in several territories (infra-communal split) is drawn once, its
      tooltip listing all of them.
    * ``spec.value_col``: tier column (1–4, "T1"… "taille 1"; categorical fixed colours) or a numeric column
      (classes as in :func:`commune_map`). Missing: grey hatched "Donnée masquée ou indisponible".
    * ``spec.orphans``: orphan communes, hatched, tooltip "Commune orpheline".
    * ``simplify_m``, ``round_decimals``: lighter defaults than :func:`commune_map` (120 m, 4 decimals ≈ 10 m)
      keep a regional map of ~950 communes under 1 MB (about 0,76 MB for PACA).
    """
    territories, value_col, label = spec.communes, spec.value_col, spec.label
    geo.require_crs(territories, "territories")
    if name_col not in territories.columns:
        raise ValueError(f"territories: column {name_col!r} missing")
    commune_level = "code_insee" in territories.columns and territories[name_col].duplicated().any()
    terr = territories
    if commune_level:
        terr = territories.drop_duplicates("code_insee").reset_index(drop=True)
        terr["_territoires"] = terr["code_insee"].map(_territory_names(territories, name_col))
    shapes, orph = geo.web_layers([terr, spec.orphans], simplify_m, round_decimals, spec.crs)
    assert shapes is not None, "web_layers returns a frame for each frame given"

    value_col = value_col if value_col is not None and value_col in shapes.columns else None
    base = {"color": BORDER_COLOR, "weight": 0.5} if commune_level else {"color": "#555555", "weight": 1}
    base |= {"opacity": 1, "fillOpacity": 0.9}
    columns = [("CPTS", shapes["_territoires"].tolist())] if commune_level else []
    if value_col is None:
        idx = np.zeros(len(shapes), dtype=int)
        styles = [dict(base, fillColor=PLAIN_COLOR)]
        legend = [el.legend_row("Territoire de CPTS", PLAIN_COLOR)]
        legend_title = None
    elif (values := shapes[value_col]).notna().any() and values.dropna().map(_tier_key).notna().all():
        keys = list(TIER_COLORS)
        tk = values.map(_tier_key)
        idx = np.array([keys.index(k) if k in keys else len(keys) for k in tk], dtype=int)
        styles = [dict(base, fillColor=TIER_COLORS[k]) for k in keys] + [el.masked_style(base)]
        legend = [el.legend_row(TIER_LABELS[k], TIER_COLORS[k]) for k in keys]
        if (idx == len(keys)).any():
            legend.append(el.legend_row("Taille inconnue", cls="cpts-hatch-masked"))
        legend_title = label or "Taille de la CPTS (ACI)"
        columns.append(("Taille", [TIER_LABELS.get(k, "inconnue") for k in tk]))
    else:
        idx, styles, legend, cls = el.choropleth(values, spec, base)
        legend_title = spec.legend_title
        columns.append((label or value_col, el.column_texts(values, cls.decimals, False, spec.unit)))
    headings = el.commune_headings(shapes) if commune_level else [str(n) for n in shapes[name_col]]
    tips = el.tooltips(headings, columns + el.extra_columns(shapes, spec.tooltip_fields, spec.decimals))

    m = el.new_map(tiles)
    layer_name = "Communes" if commune_level else "Territoires"
    el.FeatureLayer(
        shapes, idx, tips, styles, "territories", layer_name, highlight=True, decimals=round_decimals
    ).add_to(m)
    if orph is not None and len(orph):
        el.add_orphans(m, legend, orph, round_decimals)
    if commune_level:
        outl = _outlines(territories, shapes, name_col, round_decimals)
        el.outline_layer(outl, "outlines", "Limites des CPTS", 1.6, round_decimals).add_to(m)
        legend.append(el.legend_row("Limite de CPTS", line=OUTLINE_COLOR, width=1.6))
    el.fit(m, [shapes, orph])
    return el.finish(m, legend, legend_title, spec, tiles)


def _territory_names(communes: gpd.GeoDataFrame, name_col: str) -> pd.Series:
    """By commune code: the territories that list it (« A ; B » for a commune split between territories)."""
    return communes.groupby("code_insee", sort=False)[name_col].agg(
        lambda s: " ; ".join(dict.fromkeys(str(v) for v in s if not fr.is_missing(v)))
    )


def _outlines(communes: gpd.GeoDataFrame, shapes: gpd.GeoDataFrame, name_col: str, decimals: int) -> gpd.GeoDataFrame:
    """One dissolved outline (``name``, geometry) per territory of ``communes``, from the web ``shapes`` of its
    communes (so that outlines follow the simplified borders)."""
    dissolved = []
    for name, part in communes.groupby(name_col, sort=True):
        geom = geo.dissolve_outline(shapes[shapes["code_insee"].isin(part["code_insee"])])
        if geom is not None:
            dissolved.append({"name": name, "geometry": geo.round_array(geom, decimals)})
    return gpd.GeoDataFrame(dissolved, geometry="geometry", crs=4326)


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
    spec: MapSpec,
    conflicts: gpd.GeoDataFrame | None = None,
    near: gpd.GeoDataFrame | None = None,
    *,
    name_col: str = "cpts",
    simplify_m: float = 120,
    round_decimals: int = 4,
) -> folium.Map:
    """Web map (offline) of the proposals of a perimeter check (``spec``: communes, orphans, title, source, crs).

    * ``spec.communes``: one row per commune (or arrondissement) of a territory: ``code_insee``, ``nom`` and the
      territory in ``name_col``; drawn pale, each territory outlined. The territories that are some orphan's first
      candidate are tinted with their own colour (:data:`CANDIDATE_COLORS`; two touching ones never share one).
    * ``spec.orphans``: orphan communes (and uncovered arrondissements): ``code_insee``, ``nom``, ``candidate`` (the
      first candidate territory, None without one: hatched as orphans elsewhere) and ``proposal`` (tooltip text),
      filled with their candidate's colour.
    * ``conflicts``: communes claimed in conflict (``code_insee``, ``proposal``; drawn with their polygon among
      ``communes``), hatched red.
    * ``near``: outlines of the territories within 5 % of an ACI threshold (``cpts``, ``proposal``), thick dashed
      navy.
    """
    communes, orphans, crs = spec.communes, spec.orphans, spec.crs
    geo.require_crs(communes, "communes")
    if orphans is None:
        raise ValueError("proposal_map: spec.orphans missing (the orphan communes, possibly none)")
    # the territories' communes and the orphans simplified as one layer: they keep sharing their borders
    terr = communes.drop_duplicates("code_insee").reset_index(drop=True)
    both = pd.concat([terr[["code_insee", "nom", "geometry"]], orphans[["code_insee", "nom", "geometry"]]])
    both = geo.web_geometry(
        gpd.GeoDataFrame(both, geometry="geometry", crs=communes.crs), simplify_m, round_decimals, crs
    )
    shapes = terr.set_geometry(both.geometry.iloc[: len(terr)].to_numpy(), crs=4326)
    orph = orphans.reset_index(drop=True).set_geometry(both.geometry.iloc[len(terr) :].to_numpy(), crs=4326)
    confl = None
    if conflicts is not None and len(conflicts):
        tip = dict(zip(conflicts["code_insee"], conflicts["proposal"]))
        confl = shapes[shapes["code_insee"].isin(tip)].assign(proposal=lambda d: d["code_insee"].map(tip))
    (nearby,) = geo.web_layers([near], simplify_m, round_decimals, crs)
    outlines = _outlines(communes, shapes, name_col, round_decimals)
    candidates = sorted({c for c in orphans["candidate"] if not fr.is_missing(c)}) if len(orphans) else []
    color = _candidate_colors(candidates, outlines)
    own = shapes["code_insee"].map(_territory_names(communes, name_col))
    base = {"color": BORDER_COLOR, "weight": 0.5, "opacity": 1}
    styles = [dict(base, fillColor=PLAIN_COLOR, fillOpacity=0.7)]
    styles += [dict(base, fillColor=color[name], fillOpacity=0.35) for name in candidates]
    idx = [next((1 + candidates.index(n) for n in str(v).split(" ; ") if n in color), 0) for v in own]
    tips = el.tooltips(el.commune_headings(shapes), [("CPTS", own.tolist())])
    legend = [el.legend_row("Commune d'un territoire", PLAIN_COLOR)]

    m = el.new_map(False)
    el.FeatureLayer(
        shapes, idx, tips, styles, "territories", "Communes", highlight=True, decimals=round_decimals
    ).add_to(m)
    el.outline_layer(outlines, "outlines", "Limites des CPTS", 1.4, round_decimals).add_to(m)
    legend.append(el.legend_row("Limite de CPTS", line=OUTLINE_COLOR, width=1.4))

    if orph is not None and len(orph):
        orphan_style = {"color": "#222222", "weight": 1.6, "opacity": 1, "fillOpacity": 0.95, "dashArray": "4 2"}
        o_styles = [dict(orphan_style, fillColor=color[name]) for name in candidates]
        o_styles.append(dict(orphan_style, fillColor=ORPHAN_COLOR, className="cpts-orphan"))
        o_idx = [candidates.index(c) if c in color else len(candidates) for c in orph["candidate"]]
        o_tips = el.tooltips(el.commune_headings(orph), [("Proposition", orph["proposal"].astype(str).tolist())])
        el.FeatureLayer(
            orph, o_idx, o_tips, o_styles, "proposals", "Propositions", highlight=True, decimals=round_decimals
        ).add_to(m)
        for name in candidates:
            n = int((orph["candidate"] == name).sum())
            legend.append(el.legend_row(f"Orpheline proposée à {name} ({fr.integer(n)})", color[name]))
        n_none = int(sum(c not in color for c in orph["candidate"]))
        if n_none:
            legend.append(el.legend_row(f"Orpheline sans proposition ({fr.integer(n_none)})", cls="cpts-hatch-orphan"))
    if confl is not None and len(confl):
        style = {"color": CONFLICT_COLOR, "weight": 2, "opacity": 1, "fillOpacity": 1, "className": "cpts-conflict"}
        c_tips = el.tooltips(el.commune_headings(confl), [("Proposition", confl["proposal"].astype(str).tolist())])
        el.FeatureLayer(
            confl, None, c_tips, [style], "conflicts", "Conflits", highlight=True, decimals=round_decimals
        ).add_to(m)
        legend.append(el.legend_row(f"Commune en conflit ({fr.integer(len(confl))})", cls="cpts-hatch-conflict"))
    if nearby is not None and len(nearby):
        style = {"color": NEAR_THRESHOLD_COLOR, "weight": 4, "opacity": 0.9, "fill": False, "dashArray": "10 5"}
        n_tips = el.tooltips([str(n) for n in nearby[name_col]], [("", nearby["proposal"].astype(str).tolist())])
        el.FeatureLayer(
            nearby, None, n_tips, [style], "near_threshold", "Proches d'un seuil", decimals=round_decimals
        ).add_to(m)
        legend.append(
            el.legend_row(
                f"CPTS à moins de 5 % d'un seuil de taille ({fr.integer(len(nearby))})",
                line=NEAR_THRESHOLD_COLOR,
                width=4,
                dash="8 4",
            )
        )
    el.fit(m, [shapes, orph, confl])
    return el.finish(m, legend, "Propositions de rattachement", spec, False)
