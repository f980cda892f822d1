"""ACI CPTS size tiers and the financing landmarks attached to them.

Tiers (ACI CPTS 2019, seed 003: "-40 K hab / 40-80 K hab / 80-175 K hab / +175 K hab"). The texts do not say on
which side an exact boundary value falls; the rule here is **half-open: each threshold belongs to the upper tier**:

* taille 1: population < 40 000
* taille 2: 40 000 <= population < 80 000
* taille 3: 80 000 <= population < 175 000
* taille 4: population >= 175 000

A territory's **tier margin** is the signed number of inhabitants from the nearest threshold (82 471 -> +2 471 over
80 000, 78 000 -> -2 000 under 80 000); a territory is **near a threshold** when its population is within
:data:`NEAR_THRESHOLD_SHARE` (5 %) of one: 76 000 to 84 000 around 80 000. Its funding may change with a few
communes more or less.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.io.embedded import load_dataset

TIER_THRESHOLDS = (40_000, 80_000, 175_000)
TIER_RULE = (
    "Taille ACI : 1 si < 40 000 hab., 2 de 40 000 à 79 999, 3 de 80 000 à 174 999, 4 à partir de "
    "175 000 (chaque seuil appartient à la taille supérieure ; règle du projet, les textes ne tranchent pas)."
)


def tiers_of(population) -> np.ndarray:
    """Vectorised tier (1-4) of populations; NaN stays NaN (returned as float array)."""
    pop = np.asarray(population, dtype=float)
    tiers = np.searchsorted(np.asarray(TIER_THRESHOLDS, dtype=float), pop, side="right") + 1.0
    return np.where(np.isnan(pop), np.nan, tiers)


def tier_of(population: float) -> int:
    """ACI tier (1-4) of one population."""
    if population is None or np.isnan(population):
        raise ValueError("population inconnue")
    return int(tiers_of([population])[0])


#: A population within this share of a threshold is near it (its tier may change with a few communes).
NEAR_THRESHOLD_SHARE = 0.05
NEAR_THRESHOLD_RULE = (
    "proche d'un seuil : population à moins de 5 % d'un seuil de taille (38 000 à 42 000, 76 000 à 84 000, "
    "166 250 à 183 750 hab.)"
)


def tier_margin(population) -> tuple[int, int] | None:
    """(signed inhabitants from the nearest threshold, that threshold), or None for an unknown population.

    A population exactly halfway between two thresholds (60 000, 127 500) is measured from the upper one.

    Examples
    --------
    >>> tier_margin(82_471), tier_margin(78_000), tier_margin(40_000), tier_margin(60_000), tier_margin(None)
    ((2471, 80000), (-2000, 80000), (0, 40000), (-20000, 80000), None)
    """
    if fr.is_missing(population):
        return None
    pop = round(float(population))
    threshold = min(TIER_THRESHOLDS, key=lambda t: (abs(pop - t), -t))
    return pop - threshold, threshold


def near_threshold(population_min, population_max=None) -> int | None:
    """The threshold that a population (or the bounds of an approximate one) comes within
    :data:`NEAR_THRESHOLD_SHARE` of, else None (also for an unknown population).

    Examples
    --------
    >>> near_threshold(82_471), near_threshold(70_000), near_threshold(36_000, 39_000), near_threshold(None)
    (80000, None, 40000, None)
    """
    low, high = population_min, (population_min if population_max is None else population_max)
    if fr.is_missing(low) or fr.is_missing(high):
        return None
    for t in TIER_THRESHOLDS:
        if float(low) <= t * (1 + NEAR_THRESHOLD_SHARE) and float(high) >= t * (1 - NEAR_THRESHOLD_SHARE):
            return t
    return None


def margin_label(margin: int, threshold: int, style=None) -> str:
    """French text of a tier margin: « 2 471 hab. au-dessus du seuil de 80 000 », « 2 000 hab. sous le seuil de
    80 000 » (``style``: a :class:`cpts_diag.fr_format.Style`, HTML by default).

    Examples
    --------
    >>> from cpts_diag.fr_format import Style
    >>> margin_label(2471, 80000, Style.TERMINAL), margin_label(-2000, 80000, Style.TERMINAL)
    ('2 471 hab. au-dessus du seuil de 80 000', '2 000 hab. sous le seuil de 80 000')
    >>> margin_label(0, 40000, Style.TERMINAL)
    'exactement au seuil de 40 000 (taille 2)'
    """
    style = style or fr.Style.HTML
    space = "\u00a0" if style == fr.Style.HTML else " "
    seuil = f"seuil de {fr.integer(threshold, style=style)}"
    if margin == 0:
        return f"exactement au {seuil} ({tier_label(tier_of(threshold))})"
    side = "au-dessus du" if margin > 0 else "sous le"
    return f"{fr.integer(abs(margin), style=style)}{space}hab. {side} {seuil}"


def tier_label(
    tier=None,
    tier_min=None,
    tier_max=None,
    *,
    short: bool = False,
    explain: bool = False,
    unknown: str = "taille indéterminée",
) -> str:
    """The one French label of an ACI tier, exact or bounded (approximate population).

    ``tier`` is the tier when known (None/NaN/NA otherwise), ``tier_min`` and ``tier_max`` its bounds when the
    population is only known within bounds. ``short`` gives the table form (« T2 », « T1 à T4 ») instead of
    « taille 2 », « taille 1 à 4 »; ``explain`` writes bounds for a report reader: « taille indéterminée (de 1
    à 4 selon la population retenue) ». ``unknown`` is returned when neither the tier nor its bounds are known.

    Examples
    --------
    >>> tier_label(3), tier_label(None, 1, 4), tier_label(None, 1, 4, short=True), tier_label(None, 2, 2)
    ('taille 3', 'taille 1 à 4', 'T1 à T4', 'taille 2')
    >>> tier_label(None, 1, 2, explain=True)
    'taille indéterminée (de 1 à 2 selon la population retenue)'
    >>> tier_label(None, unknown="n.d.")
    'n.d.'
    """

    def one(t) -> str:
        return f"T{int(t)}" if short else f"taille {int(t)}"

    if not fr.is_missing(tier):
        return one(tier)
    if fr.is_missing(tier_min) or fr.is_missing(tier_max):
        return unknown
    lo, hi = int(tier_min), int(tier_max)
    if lo == hi:
        return one(lo)
    if explain:
        return f"taille indéterminée (de {lo} à {hi} selon la population retenue)"
    return f"{one(lo)} à T{hi}" if short else f"{one(lo)} à {hi}"


#: Value of the ``portee`` column of a landmark that holds everywhere in France (else a région code).
NATIONAL = "nationale"


def financing_landmarks(regions=None) -> pd.DataFrame:
    """Financing landmarks per tier, with their scope and sources (data/financement_aci.csv).

    Column ``portee`` is :data:`NATIONAL` or the code of the one région where the landmark holds (e.g. an
    ARS start-up aid paid from its FIR). ``regions`` None gives every landmark; otherwise the national ones
    and those of these région codes (a territory's own régions), in file order.

    Examples
    --------
    >>> sorted(set(financing_landmarks(["53"])["portee"]))
    ['nationale']
    >>> sorted(set(financing_landmarks(["28", "53"])["portee"]))
    ['28', 'nationale']
    """
    df = load_dataset("aci_financing")
    if regions is None:
        return df
    return df[(df["portee"] == NATIONAL) | df["portee"].isin([str(r) for r in regions])].reset_index(drop=True)
