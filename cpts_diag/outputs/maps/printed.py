"""The printed map (matplotlib): the classes and French legend of the web map, the frame of
:data:`~cpts_diag.outputs.maps.layout.FRAME_RULE` (main part, insets, panels), neighbours' names clear of the
territory."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from cpts_diag import fr_format as fr
from cpts_diag.outputs.maps import layout
from cpts_diag.outputs.maps.classes import (
    BORDER_COLOR,
    FICTITIOUS_BANNER,
    MASKED_COLOR,
    MASKED_HATCH,
    NEIGHBOUR_COLOR,
    ORPHAN_COLOR,
    ORPHAN_LABEL,
    OUTLINE_COLOR,
    PLAIN_COLOR,
    classify,
)
from cpts_diag.outputs.maps.geometry import as_gdf, auto_crs, dissolve_outline, frame_of, name_column, require_crs
from cpts_diag.outputs.maps.spec import MapSpec

if TYPE_CHECKING:
    from matplotlib.artist import Artist


def static_map(
    spec: MapSpec, ax: Any = None, *, figsize: tuple[float, float] | None = None, label_neighbours: bool = True
):
    """Printed map (a matplotlib Figure) of ``spec``, with the same classes and French legend as its web map.

    Projected in EPSG:2154 for metropolitan data (local UTM zone elsewhere, or ``spec.crs``). Masked values: grey
    hatched; orphans: purple hatched; territory outline thick black; neighbours thin dashed with their names
    (``label_neighbours=False`` writes none; there are no tooltips on paper), each inside its own polygon and clear
    of the territory, or left out when it does not fit; title on top, source note at the bottom, red banner for
    fictitious data. Framed by ``spec.fit_main_part`` (:data:`cpts_diag.outputs.maps.layout.FRAME_RULE`: distant
    parts in insets with their communes, distance and direction, scattered islands in panels).

    Drawn into ``ax`` when given (its figure is returned), else into a new Figure of ``figsize`` inches:
    by default 8.3 in wide (A4 width), height following the map's shape, legend below the map.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    communes, value_col, orphans, neighbours = spec.communes, spec.value_col, spec.orphans, spec.neighbours
    require_crs(communes, "communes")
    crs = spec.crs if spec.crs is not None else auto_crs(communes)
    com = communes.to_crs(crs)
    orph = orphans.to_crs(crs) if orphans is not None and len(orphans) else None
    neigh = neighbours.to_crs(crs) if neighbours is not None and len(neighbours) else None
    outl = as_gdf(spec.outline)
    if spec.outline is None:
        merged = dissolve_outline(com)
        outl = gpd.GeoDataFrame(geometry=[merged], crs=crs) if merged is not None else None
    elif outl is not None:
        outl = outl.to_crs(crs)
    frame = frame_of(com, outl, orph if spec.fit_orphans else None, spec.fit_main_part)
    if frame is None:
        raise ValueError("static_map: nothing to draw (no commune geometry)")

    # what is drawn, in this order, on the map and on each inset or panel: (layer, plot keywords)
    layers: list[tuple[Any, dict]] = []
    handles: list[Artist] = []
    if neigh is not None:
        layers.append(
            (neigh, {"facecolor": "#f4f4f4", "edgecolor": NEIGHBOUR_COLOR, "linewidth": 0.6, "linestyle": "--"})
        )
    if value_col is None:
        layers.append((com, {"facecolor": PLAIN_COLOR, "edgecolor": "#5b7fa6", "linewidth": 0.4}))
        handles.append(Patch(facecolor=PLAIN_COLOR, edgecolor="#5b7fa6", label="Commune du territoire"))
        legend_title = None
    else:
        cls = classify(com[value_col], spec.classes, spec.palette, spec.decimals)
        idx = cls.assign(com[value_col])
        for i, (c, lab) in enumerate(zip(cls.colors, cls.labels)):
            layers.append((com[idx == i], {"facecolor": c, "edgecolor": BORDER_COLOR, "linewidth": 0.4}))
            handles.append(Patch(facecolor=c, edgecolor="#777777", linewidth=0.5, label=lab))
        masked = com[idx < 0]
        layers.append(
            (masked, {"facecolor": MASKED_COLOR, "edgecolor": MASKED_HATCH, "hatch": "////", "linewidth": 0.4})
        )
        label_m = spec.missing_label + (f" ({fr.integer(len(masked))})" if len(masked) else "")
        handles.append(Patch(facecolor=MASKED_COLOR, edgecolor=MASKED_HATCH, hatch="////", label=label_m))
        legend_title = fr.figure_text(spec.legend_title)
    if orph is not None:
        hatched: dict[str, Any] = {"facecolor": "#ffffff", "edgecolor": ORPHAN_COLOR, "hatch": "\\\\\\\\"}
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
        boxes: list[tuple[float, float, float, float]] = []
        if frame.layout == "insets":
            bounds, boxes = layout.place_insets(bounds, frame.others, frame.main.geometry)
        x0, y0, x1, y1 = bounds
        shape = (y1 - y0) / max(x1 - x0, 1.0)
    own = ax is None
    if own:
        figsize = figsize or (8.3, float(np.clip(8.3 * shape, 3.5, 9.0)) + 2.2)  # A4 width, legend below
        ax = Figure(figsize=figsize, layout="constrained").add_subplot()
    fig = ax.figure
    ax.set_axis_off()

    if frame.layout == "panels":
        for k, (part, view) in enumerate(zip(frame.parts, layout.panel_views(frame.parts))):
            row, col = divmod(k, ncols)
            rect = [col / ncols + 0.01, 1 - (row + 1) / nrows + 0.01, 1 / ncols - 0.02, 1 / nrows - 0.02]
            _draw_part(ax.inset_axes(rect), layers, part, view)
    else:
        ax.set_aspect("equal")
        _paint(ax, layers)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        for part, (bx0, by0, bx1, by1) in zip(frame.others, boxes):
            inset = ax.inset_axes([bx0, by0, bx1 - bx0, by1 - by0], transform=ax.transData)
            _draw_part(inset, layers, part, layout.view_of(part))

    # the legend labels are French texts and numbers of this module: no mathtext to escape
    legend_kw = dict(
        handles=handles, title=legend_title, fontsize=7.5, title_fontsize=8, frameon=False, alignment="left"
    )
    if own:
        fig.legend(loc="outside lower center", ncols=2 if len(handles) > 4 else 1, **legend_kw)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), **legend_kw)
    if spec.title:
        (fig.suptitle if own else ax.set_title)(fr.figure_text(spec.title), fontsize=12, fontweight="bold")
    if spec.fictitious:
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
    if spec.source:
        note = f"Source : {fr.figure_text(spec.source)}"
        if own:
            fig.supxlabel(note, fontsize=7, x=0.01, ha="left", color="#444444")
        else:
            ax.text(0.0, -0.02, note, transform=ax.transAxes, fontsize=7, va="top", color="#444444")
    nc = name_column(neigh, spec.neighbour_name_col) if neigh is not None and label_neighbours else None
    if neigh is not None and nc and frame.layout != "panels":
        avoid = shapely.union_all([frame.main.geometry, *(shapely.box(*b) for b in boxes)])
        _label_regions(ax, neigh.geometry, neigh[nc], avoid)
    return fig


def _padded(bounds: Sequence[float], share: float) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = bounds
    pad = share * max(x1 - x0, y1 - y0, 1.0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _polygon_paths(geoms: Any) -> list:
    """One matplotlib Path per (multi)polygon (its rings as one compound path, holes included)."""
    from matplotlib.path import Path as MplPath

    out = []
    for geom in geoms:
        rings = [
            MplPath(np.asarray(ring.coords)[:, :2], closed=True)
            for poly in layout.polygons(geom)
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


def _draw_part(iax: Any, layers: list[tuple[Any, dict]], part: layout.Part, view: Sequence[float]) -> None:
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
        0.03, 0.97, fr.figure_text(part.caption("\n")), transform=iax.transAxes, fontsize=6.5, va="top", color="#333333"
    )


def _label_regions(ax: Any, geometries: Any, names: Any, avoid: Any, fontsize: float = 6.5) -> None:
    """Write each name inside its polygon (``geometries``, map CRS), its whole text box clear of ``avoid`` (the
    territory and the insets, with a margin) and of the names already written; a name that fits nowhere is left
    out."""
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
    for geom, name in zip(geometries, names):
        if geom is None or geom.is_empty or fr.is_missing(name):
            continue
        for text in _label_variants(fr.figure_text(name)):  # on one line, else on two
            lines = text.split("\n")
            width = max(text_to_path.get_text_width_height_descent(line, prop, ismath=False)[0] for line in lines)
            size = ((width + 2) * per_pt, 1.3 * len(lines) * fontsize * per_pt)
            at = layout.label_position(geom, size, view, blocked)
            if at is not None:
                break
        if at is None:
            continue
        t = ax.text(*at, text, fontsize=fontsize, color="#555555", ha="center", va="center", style="italic")
        t.set_in_layout(False)
        w, h = size
        blocked = blocked.union(shapely.box(at[0] - w / 2, at[1] - h / 2, at[0] + w / 2, at[1] + h / 2).buffer(margin))


def _label_variants(text: str) -> list[str]:
    """``text`` on one line, then (when it has spaces) broken at the space nearest to its middle."""
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if not spaces:
        return [text]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return [text, text[:cut] + "\n" + text[cut + 1 :]]
