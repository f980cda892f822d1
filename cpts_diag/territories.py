"""Territory membership resolved against the COG, and territory populations and tiers.

A perimeter lists codes as users wrote them. :func:`resolve_members` maps each to a current commune (and an
arrondissement municipal when given), and :func:`territory_table` gives each territory its population légale, with
bounds when a commune is split infra-communally.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.reference import ARRONDISSEMENT, Reference, load_reference
from cpts_diag.tiers import tiers_of

MEMBER_COLUMNS = ["cpts", "code_given", "code_insee", "arrondissement", "infracommunal", "line", "status", "note"]

#: A file is taken as the listing of a région when it holds more than this share of the région's communes AND of
#: its population (:func:`region_coverage` ``mostly_covered``): only such a file can say that a commune of the
#: région has no CPTS.
REGION_COVERAGE_SHARE = 0.5


def resolve_members(perimeters, reference: Reference | None = None) -> pd.DataFrame:
    """Resolve a canonical perimeter table (or Perimeters) against the COG.

    Returns one row per input row with columns ``MEMBER_COLUMNS``: ``code_insee`` is the current commune (NA for
    an unknown code), ``arrondissement`` the arrondissement municipal (given in its own column, or as the code
    itself), ``status`` that of the code as given (current | arrondissement | former | unknown; an explicit
    arrondissement column keeps the commune's status).
    """
    reference = reference or load_reference()
    table = getattr(perimeters, "table", perimeters).reset_index(drop=True)
    resolved = reference.resolve_codes(table["code_insee"])
    arr_given = table.get("arrondissement", pd.Series(pd.NA, index=table.index)).astype(object)
    arr_given = arr_given.where(arr_given.notna() & (arr_given.astype(str) != ""), pd.NA)
    arrondissement = resolved["arrondissement"].where(resolved["status"] == ARRONDISSEMENT, arr_given)
    infra = table.get("infracommunal", pd.Series(False, index=table.index)).fillna(False).astype(bool)
    return pd.DataFrame(
        {
            "cpts": table["cpts"].astype(str),
            "code_given": table["code_insee"].astype(str),
            "code_insee": resolved["code_current"].astype(object),
            "arrondissement": arrondissement.astype(object),
            "infracommunal": infra.to_numpy(),
            "line": table["line"].to_numpy() if "line" in table else np.arange(1, len(table) + 1),
            "status": resolved["status"],
            "note": resolved["note"],
        }
    )[MEMBER_COLUMNS]


def unit_population(reference: Reference) -> pd.Series:
    """Population légale by code of every current commune and arrondissement municipal (codes never shared)."""
    return pd.concat([reference.communes["population"], reference.arrondissements["population"]])


def population_units(members: pd.DataFrame, reference: Reference | None = None) -> pd.DataFrame:
    """The distinct population units of each territory, with their population légale.

    A unit is a commune, or an arrondissement municipal when the territory lists the commune by arrondissement (a
    commune listed whole absorbs its arrondissements listed in the same territory). Columns: cpts, code_insee,
    arrondissement, unit (code of the unit), infracommunal, population, departement, region.
    """
    reference = reference or load_reference()
    known = members[members["code_insee"].notna()]
    whole = known[known["arrondissement"].isna()]
    whole_keys = set(zip(whole["cpts"], whole["code_insee"]))
    by_arr = known[known["arrondissement"].notna()]
    absorbed = [(c, k) in whole_keys for c, k in zip(by_arr["cpts"], by_arr["code_insee"])]
    units = pd.concat([whole, by_arr[~np.asarray(absorbed, dtype=bool)]], ignore_index=True)
    units["unit"] = units["arrondissement"].fillna(units["code_insee"])
    # An arrondissement municipal is an exact unit, whatever the file says of the commune.
    units["infracommunal"] = units["infracommunal"] & units["arrondissement"].isna()
    units = units.groupby(["cpts", "unit"], sort=False, as_index=False).agg(
        code_insee=("code_insee", "first"),
        arrondissement=("arrondissement", "first"),
        infracommunal=("infracommunal", "any"),
    )
    units["population"] = units["unit"].map(unit_population(reference)).astype(float)
    units["departement"] = units["code_insee"].map(reference.communes["departement"])
    units["region"] = units["code_insee"].map(reference.communes["region"])
    return units


def _sorted_distinct(units: pd.DataFrame, column: str) -> pd.Series:
    """Sorted distinct values of ``column`` per territory (vectorised, no per-group Python sort)."""
    pairs = units[["cpts", column]].dropna().drop_duplicates().sort_values(["cpts", column])
    return pairs.groupby("cpts", sort=False)[column].agg(list)


def territory_table(
    members: pd.DataFrame, reference: Reference | None = None, units: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per territory: communes, population légale (with bounds) and ACI tier.

    ``population_min`` leaves out communes split infra-communally, ``population_max`` counts them in full;
    ``approximate`` is True when they differ, and then ``population`` and ``tier`` are NA unless both bounds give
    the same tier (``tier`` only). Unknown codes are left out (reported by the checks). ``units``:
    :func:`population_units`, when the caller has them.
    """
    reference = reference or load_reference()
    units = (population_units(members, reference) if units is None else units).copy()
    units["pop_certain"] = units["population"].where(~units["infracommunal"], 0.0)
    grouped = units.groupby("cpts", sort=False)
    table = pd.DataFrame(
        {
            "n_communes": grouped["code_insee"].nunique(),
            "population_min": grouped["pop_certain"].sum(),
            "population_max": grouped["population"].sum(),
            "departements": _sorted_distinct(units, "departement"),
            "regions": _sorted_distinct(units, "region"),
        }
    ).reindex(pd.Index(pd.unique(members["cpts"]), name="cpts"))  # every territory, in the order of the members
    table["n_communes"] = table["n_communes"].fillna(0).astype(int)
    for col in ("departements", "regions"):
        table[col] = [v if isinstance(v, list) else [] for v in table[col]]
    table["approximate"] = (table["population_min"] != table["population_max"]) & table["population_max"].notna()
    table["population"] = table["population_max"].where(~table["approximate"])
    table["tier_min"] = tiers_of(table["population_min"])
    table["tier_max"] = tiers_of(table["population_max"])
    table["tier"] = table["tier_min"].where(table["tier_min"] == table["tier_max"])
    table = table.astype({"tier": "Int64", "tier_min": "Int64", "tier_max": "Int64"})
    columns = [
        "n_communes",
        "population",
        "population_min",
        "population_max",
        "approximate",
        "tier",
        "tier_min",
        "tier_max",
        "departements",
        "regions",
    ]
    return table[columns].reset_index()


def territories_in_region(perimeters, region: str, reference: Reference | None = None) -> list[str]:
    """Names of the territories with at least one commune in région ``region`` (code), in file order."""
    reference = reference or load_reference()
    table = territory_table(resolve_members(perimeters, reference), reference)
    return [name for name, regions in zip(table["cpts"], table["regions"]) if region in regions]


def region_coverage(
    perimeters, reference: Reference | None = None, members: pd.DataFrame | None = None
) -> pd.DataFrame:
    """How much of each région the territories of a perimeter set cover.

    One row per région holding a member commune, by région code (index ``region``): ``name``; ``n_communes``
    and ``population`` of the région (its communes actuelles, populations légales); ``n_covered`` and
    ``population_covered``, the same over its communes listed by a territory (whole, by arrondissement or
    in part); ``mostly_covered``, both shares above :data:`REGION_COVERAGE_SHARE` (the file is a listing of
    the région); ``territories``, the names of the territories with a commune in it (file order), and
    ``straddling``, those of them that also have communes in other régions -> the codes of those régions.
    ``members``: :func:`resolve_members` of ``perimeters`` when the caller has it.
    """
    reference = reference or load_reference()
    members = resolve_members(perimeters, reference) if members is None else members
    table = territory_table(members, reference)
    communes = reference.communes
    covered = pd.Index(members["code_insee"].dropna().astype(str).unique()).intersection(communes.index)
    covered_by_region = communes.loc[covered].groupby("region")["population"].agg(["size", "sum"])
    all_by_region = communes.groupby("region")["population"].agg(["size", "sum"])
    rows = []
    for code in covered_by_region.index:
        here = [(n, regions) for n, regions in zip(table["cpts"], table["regions"]) if code in regions]
        rows.append(
            {
                "region": code,
                "name": reference.region_name(code),
                "n_communes": int(all_by_region.at[code, "size"]),
                "population": float(all_by_region.at[code, "sum"]),
                "n_covered": int(covered_by_region.at[code, "size"]),
                "population_covered": float(covered_by_region.at[code, "sum"]),
                "mostly_covered": bool(
                    covered_by_region.at[code, "size"] > REGION_COVERAGE_SHARE * all_by_region.at[code, "size"]
                    and covered_by_region.at[code, "sum"] > REGION_COVERAGE_SHARE * all_by_region.at[code, "sum"]
                ),
                "territories": [n for n, _ in here],
                "straddling": {n: [r for r in regions if r != code] for n, regions in here if len(regions) > 1},
            }
        )
    columns = ["region", "name", "n_communes", "population", "n_covered", "population_covered", "mostly_covered"]
    return pd.DataFrame(rows, columns=[*columns, "territories", "straddling"]).set_index("region")


def france_name(reference: Reference, left_out) -> str:
    """Name of France's group when its figure leaves the départements ``left_out`` out (they have no data).

    Examples
    --------
    >>> ref = load_reference()
    >>> france_name(ref, []), france_name(ref, ["976"]), france_name(ref, ["971", "972", "973", "974", "976"])
    ('France', 'France hors Mayotte', 'France métropolitaine')
    """
    left_out = sorted(left_out)
    drom = reference.departements.index[reference.departements["zone"] == "drom"]
    if not left_out:
        return "France"
    if left_out == sorted(drom):
        return "France métropolitaine"
    if len(left_out) > 5:
        return f"France hors {len(left_out)} départements"
    names = [reference.departement_name(d) for d in left_out]
    return "France hors " + fr.enumeration(names)
