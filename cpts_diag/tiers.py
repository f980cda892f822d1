"""ACI CPTS size tiers and the financing landmarks attached to them.

Tiers (ACI CPTS 2019, seed 003: "-40 K hab / 40-80 K hab / 80-175 K hab / +175 K hab"). The texts do not
say on which side an exact boundary value falls; the rule here is **half-open: each threshold belongs to
the upper tier**:

* taille 1: population < 40 000
* taille 2: 40 000 <= population < 80 000
* taille 3: 80 000 <= population < 175 000
* taille 4: population >= 175 000
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpts_diag import settings

__all__ = ["NATIONAL", "TIER_THRESHOLDS", "TIER_RULE", "tier_of", "tiers_of", "tier_label", "financing_landmarks"]

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
    from cpts_diag.fr_format import is_missing

    def one(t) -> str:
        return f"T{int(t)}" if short else f"taille {int(t)}"

    if not is_missing(tier):
        return one(tier)
    if is_missing(tier_min) or is_missing(tier_max):
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
    df = pd.read_csv(settings.data_path("financement_aci.csv"), dtype={"portee": str, "date_source": str})
    if regions is None:
        return df
    return df[(df["portee"] == NATIONAL) | df["portee"].isin([str(r) for r in regions])].reset_index(drop=True)
