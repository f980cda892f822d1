"""Colours, legend labels and the classes of a choropleth: :func:`classify` builds one :class:`Classification`
that decides both the class of each value and its legend label, for the web and the printed maps alike."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.tiers import tier_label

MASKED_LABEL = "Donnée masquée ou indisponible"
ORPHAN_LABEL = "Commune orpheline"
FICTITIOUS_BANNER = "Données fictives — exemple de démonstration"

#: 5-class sequential ColorBrewer palettes (colorbrewer2.org).
PALETTES: dict[str, list[str]] = {
    "YlOrRd": ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    "YlGnBu": ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
    "Blues": ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
    "Greens": ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],
    "Purples": ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
    "OrRd": ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"],
    "PuBu": ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"],
    "RdPu": ["#feebe2", "#fbb4b9", "#f768a1", "#c51b8a", "#7a0177"],
}
DEFAULT_PALETTE = "YlGnBu"

#: Fixed colours of the ACI size tiers (ColorBrewer Set2, colour-blind safe).
TIER_COLORS: dict[str, str] = {"T1": "#66c2a5", "T2": "#fc8d62", "T3": "#8da0cb", "T4": "#e78ac3"}
TIER_LABELS: dict[str, str] = {
    tier_label(i, short=True): f"{tier_label(i).capitalize()} ({tier_label(i, short=True)})" for i in range(1, 5)
}

#: Colours of the candidate territories of a proposal map (ColorBrewer Dark2 then Set1, qualitative), in turn.
CANDIDATE_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]  # Dark2
CANDIDATE_COLORS += ["#377eb8", "#e41a1c", "#984ea3", "#ff7f00", "#4daf4a"]  # Set1
CONFLICT_COLOR = "#d7191c"
NEAR_THRESHOLD_COLOR = "#08306b"

MASKED_COLOR = "#d9d9d9"
MASKED_HATCH = "#8c8c8c"
ORPHAN_COLOR = "#6a3d9a"
PLAIN_COLOR = "#c6dbef"
OUTLINE_COLOR = "#111111"
NEIGHBOUR_COLOR = "#6f6f6f"
BORDER_COLOR = "#ffffff"


@dataclass
class Classification:
    """Classes of a choropleth: the one object that decides both the class of each value and the legend labels.

    ``breaks`` are the interior thresholds (class ``i`` holds ``breaks[i-1] <= v < breaks[i]``); ``labels`` and
    ``colors`` the French legend label and hex colour of each class; ``decimals`` those of the labels and of the
    values shown on the maps. A value is classed as it is shown (rounded to ``decimals`` as
    :func:`cpts_diag.fr_format.number` writes it), so a value shown on a limit falls in the class the legend says.
    Give the same object to the printed and the web map (their ``classes``) and both draw the same classes.
    """

    breaks: list[float]
    labels: list[str]
    colors: list[str]
    decimals: int = 1

    def assign(self, values: Any) -> np.ndarray:
        """Class index of each value, ``-1`` for a missing (masked) value."""
        v = _shown(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float), self.decimals)
        out = np.searchsorted(np.asarray(self.breaks, dtype=float), v, side="right").astype(int)
        out[np.isnan(v)] = -1
        return out


def _shown(values: np.ndarray, decimals: int) -> np.ndarray:
    """Values as the maps show them: rounded to ``decimals`` the way :func:`fr_format.number` rounds."""
    return np.array([float(f"{x:.{decimals}f}") if np.isfinite(x) else x for x in values], dtype=float)


def _decimals_of(breaks: Sequence[float], decimals: int) -> int:
    """At least ``decimals``, and enough (up to 6) for each break to be written exactly in a label."""
    while decimals < 6 and any(float(f"{b:.{decimals}f}") != b for b in breaks):
        decimals += 1
    return decimals


def _palette_colors(palette: Any, n: int) -> list[str]:
    """``n`` colours from a ColorBrewer name (``"_r"`` reverses) or a list of colours."""
    if palette is None:
        palette = DEFAULT_PALETTE
    if not isinstance(palette, str):
        colors = [str(c) for c in palette]
        if len(colors) < n:
            raise ValueError(f"palette has {len(colors)} colours, {n} needed")
        pick = np.round(np.linspace(0, len(colors) - 1, n)).astype(int)
        return [colors[i] for i in pick]
    name, reverse = (palette[:-2], True) if palette.endswith("_r") else (palette, False)
    if name in PALETTES and n == len(PALETTES[name]):
        colors = list(PALETTES[name])
    else:
        from matplotlib import colormaps
        from matplotlib.colors import to_hex

        cmap = colormaps[name]
        colors = [to_hex(cmap(x)) for x in np.linspace(0.08, 0.92, n)] if n > 1 else [to_hex(cmap(0.6))]
    return colors[::-1] if reverse else colors


def classify(
    values: Any,
    classes: int | Sequence[float] | Classification | None = None,
    palette: Any = None,
    decimals: int = 1,
) -> Classification:
    """Build choropleth classes with French labels.

    * ``values``: non-numeric, None and NaN are masked and get no class.
    * ``classes``: number of quantile classes (default 5), or the interior thresholds, e.g. ``[2.5, 3, 4]``
      for classes ``< 2,5``, ``2,5 à < 3``..., or a :class:`Classification` already made (returned as is).
      Quantile thresholds are rounded to ``decimals`` (shown in the labels) so labels are exact; a threshold
      given with more decimals raises ``decimals`` to write it exactly.
    * ``palette``: ColorBrewer sequential name (``"YlGnBu"`` default, ``"_r"`` suffix reverses) or explicit
      colours.

    Values are compared to the thresholds as they are shown, rounded to ``decimals``: 2,46 shown « 2,5 » with
    one decimal is in the class « 2,5 et plus ».

    Examples
    --------
    >>> c = classify([1, 2, 3, None], classes=[2.5])
    >>> c.labels
    ['moins de 2,5', '2,5 et plus']
    >>> c.assign([1, 2.46, 2.44, 3, None]).tolist()
    [0, 1, 0, 1, -1]
    """
    if isinstance(classes, Classification):
        return classes
    v = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(dtype=float)
    v = v[~np.isnan(v)]
    if classes is None or isinstance(classes, (int, np.integer)):
        if len(v) == 0:
            return Classification([], [], [], decimals)
        k = 5 if classes is None else max(int(classes), 1)
        qs = np.unique(_shown(np.quantile(v, [i / k for i in range(1, k)]), decimals))
        low, high = _shown(np.array([v.min(), v.max()]), decimals)
        breaks = [float(b) for b in qs if low < b <= high]
    else:
        breaks = sorted(float(b) for b in classes)
        decimals = _decimals_of(breaks, decimals)
    f = lambda b: fr.number(b, decimals)  # noqa: E731
    if breaks:
        labels = [f"moins de {f(breaks[0])}"]
        labels += [f"de {f(a)} à moins de {f(b)}" for a, b in itertools.pairwise(breaks)]
        labels.append(f"{f(breaks[-1])} et plus")
    elif len(v) == 0:
        labels = ["toutes valeurs"]
    elif v.min() == v.max():
        labels = [f(v.min())]
    else:
        labels = [f"de {f(v.min())} à {f(v.max())}"]
    return Classification(breaks, labels, _palette_colors(palette, len(labels)), decimals)
