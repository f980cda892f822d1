"""Where things go on a map: the frame of a territory, its distant parts, and label positions.

A territory with a distant island (the Glénan in Fouesnant, Yeu with the coast facing it) would squeeze its
mainland into a corner of a frame fitted to every piece. :func:`territory_frame` splits the pieces of a
territory into its main part and the groups of pieces far from it, by the rule stated in :data:`FRAME_RULE`;
:func:`place_insets` finds where the insets of a printed map go; :func:`label_position` places a label inside
its own polygon, clear of the territory. Everything here works in a projected CRS (metres).

Examples
--------
>>> from shapely.geometry import box
>>> mainland, island = box(0, 0, 20_000, 20_000), box(8_000, -30_000, 9_000, -29_000)
>>> frame = territory_frame(mainland.union(island))
>>> frame.layout, frame.main.geometry.bounds, len(frame.others)
('insets', (0.0, 0.0, 20000.0, 20000.0), 1)
>>> frame.others[0].caption()
'Partie du territoire — à 29 km au sud'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from cpts_diag import fr_format as fr

#: Pieces closer to the main part than this share of its largest dimension belong to it (step by step).
NEAR_SHARE = 0.2
#: Insets only when the main part holds at least this share of the territory's area.
MAIN_AREA_SHARE = 0.75
#: A distant group goes into an inset when it would enlarge the main part's frame by more than this (area).
FRAME_GROWTH = 0.3
MAX_INSETS = 4
#: Panels (one per group of islands) when a territory has no main part and at least MIN_PANELS groups.
MIN_PANELS = 5
MAX_PANELS = 12

FRAME_RULE = (
    "Carte imprimée : le cadre montre la partie principale du territoire (son plus grand morceau et les "
    "morceaux situés à moins de 20 % de sa plus grande dimension, de proche en proche). Quand elle fait au "
    "moins les trois quarts de la surface du territoire, un groupe de morceaux plus éloigné qui agrandirait le "
    "cadre de plus de 30 % est dessiné dans un encart (4 au plus) ; un territoire d'îles dispersées, sans partie "
    "principale (5 groupes ou plus), est dessiné en vignettes, une par groupe."
)

_WINDS = ("à l'est", "au nord-est", "au nord", "au nord-ouest", "à l'ouest", "au sud-ouest", "au sud", "au sud-est")


def polygons(geom: Any) -> list[Any]:
    """Polygonal parts of a geometry (lines and points of a collection are dropped)."""
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    return [p for part in getattr(geom, "geoms", []) for p in polygons(part)]  # lines and points give none


@dataclass(frozen=True)
class Part:
    """A group of pieces of a territory: its geometry, the communes it holds, where it lies from the main part."""

    geometry: Any
    names: tuple[str, ...] = ()
    gap_m: float = 0.0
    direction: str = ""

    def caption(self, sep: str = " — ") -> str:
        """French caption: the communes (four at most) and, for a distant part, ``sep``, its distance and direction."""
        names = list(self.names[:4]) + (["…"] if len(self.names) > 4 else [])
        text = ", ".join(names) if names else "Partie du territoire"
        if not self.direction:
            return text
        km = self.gap_m / 1000
        where = "à moins de 1 km" if km < 1 else f"à {fr.integer(km, style=fr.Style.TERMINAL)} km"
        return f"{text}{sep}{where} {self.direction}"


@dataclass(frozen=True)
class Frame:
    """How a territory is framed: ``layout`` "single" (one frame, ``others`` empty), "insets" (``main`` in the
    frame, each of ``others`` in an inset) or "panels" (``main`` and ``others`` each in a panel of its own)."""

    layout: str
    main: Part
    others: tuple[Part, ...] = ()

    @property
    def parts(self) -> tuple[Part, ...]:
        return (self.main, *self.others)


def _extent(bounds: Sequence[float]) -> float:
    return max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1.0)


def _union_bounds(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float, float]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _area(bounds: Sequence[float]) -> float:
    return max(bounds[2] - bounds[0], 1.0) * max(bounds[3] - bounds[1], 1.0)


def _grow(pieces: list[Any], tree: shapely.STRtree, seed: int, distance=None) -> list[int]:
    """Pieces reached from ``seed`` by steps shorter than ``distance`` (metres), or than NEAR_SHARE of the
    largest dimension of what is reached so far when ``distance`` is None."""
    members, frontier = {seed}, [seed]
    bounds = pieces[seed].bounds
    while frontier:
        step = distance if distance is not None else NEAR_SHARE * _extent(bounds)
        found = tree.query([pieces[i] for i in frontier], predicate="dwithin", distance=step)[1]
        new = sorted(set(found.tolist()) - members)
        if not new and distance is None:  # the extent may have grown since these pieces were first tried
            grown = tree.query([pieces[i] for i in members], predicate="dwithin", distance=step)[1]
            new = sorted(set(grown.tolist()) - members)
        members.update(new)
        frontier = new
        for i in new:
            bounds = _union_bounds(bounds, pieces[i].bounds)
    return sorted(members)


def _direction(origin: Any, target: Any) -> str:
    """Wind (« au sud »...) from the centre of ``origin`` to that of ``target``."""
    a, b = origin.centroid, target.centroid
    angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x)) % 360
    return _WINDS[int(((angle + 22.5) % 360) // 45)]


def _names(geom: Any, names: Any) -> tuple[str, ...]:
    """Names (``(geometries, names)``) of the communes that have a piece in ``geom``, in their order."""
    if names is None:
        return ()
    geoms, labels = names
    inside = shapely.area(shapely.intersection(np.asarray(geoms, dtype=object), geom)) > 0
    return tuple(dict.fromkeys(str(n) for n, ok in zip(labels, inside) if ok and not fr.is_missing(n)))


def territory_frame(geometry: Any, names: tuple[Any, Any] | None = None) -> Frame | None:
    """The frame of a territory (projected ``geometry``) by the rule of :data:`FRAME_RULE`, each part named from
    ``names`` (``(geometries, names)`` of its communes); None when empty."""
    pieces = sorted(polygons(geometry), key=lambda p: -p.area)
    if not pieces:
        return None
    tree = shapely.STRtree(pieces)
    main = _grow(pieces, tree, 0)
    main_geom = shapely.union_all([pieces[i] for i in main])
    step = NEAR_SHARE * _extent(main_geom.bounds)
    left, groups = set(range(len(pieces))) - set(main), []
    while left:
        group = [i for i in _grow(pieces, tree, min(left), step) if i in left]
        left -= set(group)
        groups.append(shapely.union_all([pieces[i] for i in group]))
    whole = Part(shapely.union_all(pieces), _names(geometry, names))
    if not groups:
        return Frame("single", whole)

    def part(geom: Any, origin: Any = None) -> Part:
        if origin is None:
            return Part(geom, _names(geom, names))
        return Part(geom, _names(geom, names), float(geom.distance(origin)), _direction(origin, geom))

    total = sum(p.area for p in pieces)
    if main_geom.area >= MAIN_AREA_SHARE * total:
        frame = main_geom.bounds
        grows = [_area(_union_bounds(frame, g.bounds)) / _area(frame) - 1 for g in groups]
        far = [g for g, grow in zip(groups, grows) if grow > FRAME_GROWTH]
        if not far:
            return Frame("single", whole)
        kept = shapely.union_all([main_geom] + [g for g, grow in zip(groups, grows) if grow <= FRAME_GROWTH])
        if len(far) <= MAX_INSETS:
            return Frame("insets", part(kept), tuple(part(g, kept) for g in far))
    if MIN_PANELS <= len(groups) + 1 <= MAX_PANELS:
        by_place = sorted([main_geom, *groups], key=lambda g: (-round(g.centroid.y, -3), g.centroid.x))
        first, *rest = (part(g) for g in by_place)
        return Frame("panels", first, tuple(rest))
    return Frame("single", whole)


def view_of(part: Part, caption_band: float = 0.2) -> tuple[float, float, float, float]:
    """Bounds shown for ``part`` in an inset or a panel: its bounds padded by 8 %, and a band on top for its caption."""
    x0, y0, x1, y1 = part.geometry.bounds
    pad = 0.08 * _extent(part.geometry.bounds)
    y1 += pad
    return x0 - pad, y0 - pad, x1 + pad, y1 + caption_band * (y1 - y0 + pad)


def panel_views(parts: Sequence[Part], caption_band: float = 0.2) -> list[tuple[float, float, float, float]]:
    """Bounds shown in the panels of ``parts``: one scale for all (sizes compare), each centred on its part."""
    views = [view_of(p, 0) for p in parts]
    side = max(_extent(v) for v in views)
    out = []
    for x0, y0, x1, y1 in views:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        out.append((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2 + caption_band * side))
    return out


def place_insets(
    frame: Sequence[float], parts: Sequence[Part], avoid: Any, share: tuple[float, float] = (0.22, 0.34)
) -> tuple[tuple[float, float, float, float], list[tuple[float, float, float, float]]]:
    """Boxes ``(x0, y0, x1, y1)`` of the insets of ``parts`` on a map of bounds ``frame`` (same CRS).

    Each inset shows :func:`view_of` its part, at the scale of the map when its largest side then measures
    between ``share`` of the frame's largest dimension, else enlarged or reduced to that range. An inset goes into
    the corner of the frame nearest to where its part lies that touches neither ``avoid`` (the territory drawn in
    the frame) nor another inset; when no corner is free, the frame is extended on the side of the part. Returns
    the (possibly extended) frame and the boxes, in the order of ``parts``.
    """
    x0, y0, x1, y1 = frame
    size = _extent(frame)
    gap = 0.02 * size
    taken = avoid
    out = []
    for p in parts:
        vx0, vy0, vx1, vy1 = view_of(p)
        w, h = vx1 - vx0, vy1 - vy0
        scale = float(np.clip(max(w, h), share[0] * size, share[1] * size)) / max(w, h)
        w, h = w * scale, h * scale
        target = p.geometry.centroid
        corners = [
            (x0 + gap, y0 + gap),
            (x1 - gap - w, y0 + gap),
            (x0 + gap, y1 - gap - h),
            (x1 - gap - w, y1 - gap - h),
        ]
        free = [
            (math.hypot(cx + w / 2 - target.x, cy + h / 2 - target.y), (cx, cy, cx + w, cy + h))
            for cx, cy in corners
            if not shapely.box(cx, cy, cx + w, cy + h).intersects(taken)
        ]
        if free:
            box = min(free)[1]
        else:  # a margin on the side of the part
            dx, dy = target.x - (x0 + x1) / 2, target.y - (y0 + y1) / 2
            if abs(dy) * (x1 - x0) >= abs(dx) * (y1 - y0):
                bx = float(np.clip(target.x - w / 2, x0, max(x1 - w, x0)))
                if dy < 0:
                    y0 -= h + gap
                    box = (bx, y0, bx + w, y0 + h)
                else:
                    y1 += h + gap
                    box = (bx, y1 - h, bx + w, y1)
            else:
                by = float(np.clip(target.y - h / 2, y0, max(y1 - h, y0)))
                if dx < 0:
                    x0 -= w + gap
                    box = (x0, by, x0 + w, by + h)
                else:
                    x1 += w + gap
                    box = (x1 - w, by, x1, by + h)
        taken = shapely.union_all([taken, shapely.box(*box).buffer(gap)])
        out.append(box)
    return (x0, y0, x1, y1), out


def label_position(
    region: Any, size: tuple[float, float], view: Sequence[float], avoid: Any = None
) -> tuple[float, float] | None:
    """Centre of a ``size`` (width, height) label box inside ``view`` that touches nothing of ``avoid``.

    The centre lies in ``region`` (the polygon the label names) and at least half of the box too; among such
    boxes the one most inside the region wins, then the one nearest to a representative point of the region;
    None when no box fits (the label is better left out).
    """
    w, h = size
    x0, y0, x1, y1 = view
    if region is None or region.is_empty or w >= x1 - x0 or h >= y1 - y0:
        return None
    zone = region.intersection(shapely.box(x0 + w / 2, y0 + h / 2, x1 - w / 2, y1 - h / 2))
    if avoid is not None and not avoid.is_empty:
        zone = zone.difference(avoid.buffer(h / 2))
    if zone.is_empty:
        return None
    anchor = zone.representative_point()
    zx0, zy0, zx1, zy1 = zone.bounds
    xs, ys = np.meshgrid(np.linspace(zx0, zx1, 15), np.linspace(zy0, zy1, 15))
    pts = np.concatenate([[anchor.x], xs.ravel()]), np.concatenate([[anchor.y], ys.ravel()])
    points = shapely.points(*pts)
    keep = shapely.intersects(points, zone)
    cx, cy = pts[0][keep], pts[1][keep]
    boxes = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    if avoid is not None and not avoid.is_empty:
        clear = ~shapely.intersects(boxes, avoid)
        cx, cy, boxes = cx[clear], cy[clear], boxes[clear]
    if not len(boxes):
        return None
    inside = shapely.area(shapely.intersection(boxes, region)) / (w * h)
    if inside.max() < 0.5:
        return None
    order = np.lexsort((np.hypot(cx - anchor.x, cy - anchor.y), -np.round(inside, 2)))
    return float(cx[order[0]]), float(cy[order[0]])
