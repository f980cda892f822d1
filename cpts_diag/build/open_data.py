"""Build of the deeper open data: population vintages harmonised to COG 2026, commune social indicators.

Harmonisation of a vintage to COG 2026
--------------------------------------
Each code of the vintage is linked to the COG 2026 units (communes actuelles, arrondissements
municipaux) it covers: itself when still current, the commune whose ``anciens_codes`` lists it (fusion,
change of code), and — for a défusion — every current commune that was then a commune déléguée or
associée of it, or one of its ``anciensCodes``, or split from it in the INSEE change table. Linked units
form groups; a group with one unit gives that unit's population exactly (merged communes summed). A
group of several units (a commune split since) has only its total: the per-unit value is unknown and the
total is kept in the groups file, so that a territory holding the whole group is still exact and one
holding part of it gets bounds.

Examples
--------
>>> vintage = [("01001", "commune-actuelle", 100, None, []), ("01002", "commune-actuelle", 50, None, [])]
>>> units, groups, lost = harmonise_vintage(vintage, {"01001"}, {"01002": "01001"}, {}, [])
>>> units
{'01001': 150}
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag.errors import InputError
from cpts_diag.io.open_data import weighted_quantile

#: npm package version holding each vintage (see ../shared/opendata/population-historique/PROVENANCE.md).
VINTAGE_PACKAGES = {"2016": "0.8.0", "2019": "1.1.1", "2020": "2.3.1", "2021": "4.0.0", "2022": "4.1.0"}

#: Commune-level social indicators of the dataset ``social``: column -> (source file, field).
SOCIAL_COLUMNS = {
    "part_75_plus": ("part_personnes_agees_communes.json", "part_personnes_agees_75_plus"),
    "part_familles_monoparentales": ("famille_monoparentale_communes.json", "part_familles_monoparentales"),
    "fedi_2021": ("fedi_communes.json", "EDI"),
}
_DELEGATED = ("commune-deleguee", "commune-associee")


def read_vintage_package(path: Path) -> list[tuple[str, str, float | None, str | None, list[str]]]:
    """Records of one ``@etalab/decoupage-administratif`` tarball, unchanged.

    Returns (code, type, population or None, parent for a déléguée/associée, anciensCodes) per record of
    type commune actuelle, arrondissement municipal, commune déléguée or associée.
    """
    with tarfile.open(path) as tar:
        member = tar.extractfile("package/data/communes.json")
        if member is None:  # a folder or a link where the package has its file
            raise InputError("paquet sans fichier package/data/communes.json", path=path)
        records = json.load(member)
    out = []
    for r in records:
        kind = r.get("type", "commune-actuelle")
        if kind not in ("commune-actuelle", "arrondissement-municipal", *_DELEGATED):
            continue
        pop = r.get("population")
        parent = r.get("chefLieu") if kind in _DELEGATED else None
        out.append(
            (str(r["code"]), kind, None if pop is None else float(pop), parent, list(r.get("anciensCodes") or []))
        )
    return out


def harmonise_vintage(
    records, units_2026: set[str], former: dict[str, str], splits: dict[str, list[str]], lost_out: list | None = None
):
    """Harmonise one population vintage to the COG 2026 units.

    ``records`` are the (code, type, population, parent, anciens_codes) of the vintage
    (:func:`read_vintage_package`); ``units_2026`` the COG 2026 communes actuelles and
    arrondissements municipaux; ``former`` maps a former code to its COG 2026 commune
    (:func:`cpts_diag.reference.former_code_map`); ``splits`` a code to the codes split from it
    (INSEE change table, ``typemodif == "d"``); ``lost_out``, when given, is filled with the
    vintage codes that could not be placed (code, population).

    Returns ``units`` (COG 2026 unit -> population, for units harmonised exactly: one unit per
    group), ``groups`` (list of (tuple of units, population): groups of several COG 2026 units,
    communes split since the vintage, with their total) and ``lost`` (list of (code, population):
    vintage codes that match no COG 2026 unit).
    """
    records = list(records)
    # a unit listed without population (a commune restored after the census of the vintage: 85165 and 85212 in
    # the 2021 populations, counted in 85084) is not present: its parent's population holds it
    present = {c for c, kind, pop, *_ in records if kind in ("commune-actuelle", "arrondissement-municipal") and pop}
    links = [(parent, code) for code, kind, _pop, parent, _ in records if kind in _DELEGATED and parent]
    links += [(code, old) for code, kind, *_, anciens in records if kind == "commune-actuelle" for old in anciens]
    links += [(old, new) for old, news in splits.items() for new in news]
    children: dict[str, set[str]] = {}  # a vintage code -> the COG 2026 units it then held, absent from the vintage
    for code, unit in links:
        if unit in units_2026 and unit not in present and unit != code:
            children.setdefault(code, set()).add(unit)

    lost = [] if lost_out is None else lost_out
    placed = []
    group_of: dict[str, set[str]] = {}  # unit -> every unit linked to it so far
    for code, kind, pop, _parent, _anciens in records:
        if kind not in ("commune-actuelle", "arrondissement-municipal") or pop is None:
            continue
        if kind == "arrondissement-municipal":
            targets = {code} if code in units_2026 else set()
        else:
            base = code if code in units_2026 else former.get(code)
            targets = ({base} if base else set()) | children.get(code, set())
        if not targets:
            lost.append((code, pop))
            continue
        group = targets.union(*(group_of.get(t, ()) for t in targets))
        group_of.update(dict.fromkeys(group, group))
        placed.append((min(targets), pop))
    totals: dict[tuple[str, ...], float] = {}
    for unit, pop in placed:
        key = tuple(sorted(group_of[unit]))
        totals[key] = totals.get(key, 0.0) + pop
    units = {group[0]: int(round(pop)) for group, pop in totals.items() if len(group) == 1}
    groups = [(group, int(round(pop))) for group, pop in totals.items() if len(group) > 1]
    return units, groups, lost


def social_indicator_table(
    published: dict[str, dict[str, float]], units: pd.Series, code_weights: dict[str, float], former: dict[str, str]
) -> pd.DataFrame:
    """Commune-level social indicators on the COG 2026 units, with the census populations that weight them.

    ``published``: column of :data:`SOCIAL_COLUMNS` -> {published code: value}; ``units``: population of the
    census year harmonised to COG 2026 (:data:`SOCIAL_WEIGHT_VINTAGE`), indexed by commune and arrondissement
    code, NaN for a commune restored since; ``code_weights``: the same census population by code of that
    vintage's own COG; ``former``: former code -> COG 2026 commune.

    A published code is its unit, or the unit that holds it since (``former``); several codes of one unit (a
    commune merged since) give their mean weighted by ``code_weights`` (NaN when a weight is missing). The
    weight ``population_2022`` of a unit is its harmonised population, or — for a commune that has lost part of
    itself since (15141 Neussargues-Moissac, 2025) — its population as published that year, which is what its
    value describes. ``fedi_quintile``: national quintile of ``fedi_2021`` (1 least, 5 most deprived), each
    quintile a fifth of the population of the units with a score (weighted quantiles).

    Examples
    --------
    >>> units = pd.Series({"01001": 100.0, "01002": 300.0})
    >>> t = social_indicator_table({"part_75_plus": {"01001": 10.0, "01009": 20.0, "01002": 5.0}}, units,
    ...                            {"01001": 50.0, "01009": 50.0, "01002": 300.0}, {"01009": "01001"})
    >>> t[["code_insee", "population_2022", "part_75_plus"]].values.tolist()
    [['01001', 100.0, 15.0], ['01002', 300.0, 5.0]]
    """
    out = pd.DataFrame({"code_insee": units.index.astype(str), "population_2022": units.to_numpy(dtype=float)})
    out["population_2022"] = out["population_2022"].fillna(out["code_insee"].map(code_weights).astype(float))
    unit_set = set(out["code_insee"])
    for column in SOCIAL_COLUMNS:
        values = pd.Series(published.get(column, {}), dtype=float).dropna()
        codes = values.index.astype(str)
        frame = pd.DataFrame(
            {
                "unit": [c if c in unit_set else former.get(c) for c in codes],
                "value": values.to_numpy(),
                "weight": [code_weights.get(c, np.nan) for c in codes],
            }
        ).dropna(subset=["unit"])
        frame["weighted"] = frame["value"] * frame["weight"]
        by_unit = frame.groupby("unit").agg(
            n=("value", "size"), value=("value", "first"), weighted=("weighted", "sum"), weight=("weight", "sum")
        )
        by_unit["known"] = frame["weight"].notna().groupby(frame["unit"]).all()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(by_unit["known"] & (by_unit["weight"] > 0), by_unit["weighted"] / by_unit["weight"], np.nan)
        combined = pd.Series(np.where(by_unit["n"] == 1, by_unit["value"], mean), index=by_unit.index)
        out[column] = out["code_insee"].map(combined).astype(float)
    scored = out["fedi_2021"].notna() & out["population_2022"].notna()
    score, weight = out.loc[scored, "fedi_2021"], out.loc[scored, "population_2022"]
    cuts = [weighted_quantile(score, weight, q) for q in (0.2, 0.4, 0.6, 0.8)]
    quintile = 1 + sum((out["fedi_2021"] > cut).astype(int) for cut in cuts)
    out["fedi_quintile"] = quintile.where(out["fedi_2021"].notna())
    return out
