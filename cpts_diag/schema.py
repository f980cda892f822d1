"""The vocabulary of an indicator row, shared by every module that builds or reads one.

Str-valued enums: a member equals (and prints as) the French word users read, so rows, JSON, Excel and HTML
carry the same text as plain strings would.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Geographic level of an indicator row: the territory, then its comparison groups."""

    TERRITORY = "territoire"
    DEPARTEMENT = "departement"
    REGION = "region"
    FRANCE = "france"


class Quality(StrEnum):
    """Quality of an indicator value; the value is the French word users read."""

    EXACT = "exacte"
    APPROXIMATE = "approchée"
    MASKED = "partiellement masquée"
    FICTITIOUS = "données fictives"


class Theme(StrEnum):
    """Theme of an indicator, in the order the report shows them."""

    TERRITORY = "Territoire"
    DEMOGRAPHY = "Démographie"
    SUPPLY = "Offre de soins"
    ACCESS = "Accès aux soins"
    SOCIAL = "Santé et social"


LEVELS = tuple(Level)
THEMES = tuple(Theme)

#: Columns of ``Diagnostic.indicators``, one row per (indicator, level).
INDICATOR_COLUMNS = [
    "indicator",
    "label",
    "theme",
    "level",
    "level_code",
    "level_name",
    "value",
    "value_low",
    "value_high",
    "unit",
    "source",
    "vintage",
    "source_level",
    "coverage",
    "quality",
]

#: A coverage at or above this share is complete (float rounding of population sums).
FULL_COVERAGE = 1 - 1e-9
#: Zones of the COG counted in France (métropole and DROM; not the COM).
FRANCE_ZONES = ("metro", "drom")
