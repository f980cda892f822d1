"""Open data of the deeper diagnostic: building the compact embedded files and loading them.

Five open sources complete the diagnostic (issue 10); each is built by ``cpts-diag data build`` into a
small CSV of ``data/`` (described in data/SOURCES.md) and loaded here, once:

* populations municipales 2016, 2019–2022 (INSEE, via ``@etalab/decoupage-administratif``), each
  published in its own COG, harmonised to COG 2026 by :func:`harmonise_vintage`;
* Filosofi 2019 median disposable income per commune (INSEE), codes as published;
* the Assurance Maladie 2024 counts and densities of libéral professionals by département, région and
  France;
* the ARS nurse zonage per commune (arrondissement in Paris, Lyon, Marseille);
* INSEE crude mortality 2013–2018 by EPCI (geography ~2020) and département.

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

import functools
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag import settings

__all__ = [
    "AMELI_DENOMINATORS",
    "AMELI_INHABITANTS",
    "AMELI_PROFESSIONS",
    "FILES",
    "POP_VINTAGES",
    "SOCIAL_COLUMNS",
    "SOCIAL_WEIGHT_VINTAGE",
    "ZONAGE_LEVELS",
    "OpenData",
    "harmonise_vintage",
    "load_open_data",
    "read_vintage_package",
    "social_indicator_table",
]

#: Population vintages harmonised to COG 2026 (2023 is the population légale of the COG 2026 file).
POP_VINTAGES = ("2016", "2019", "2020", "2021", "2022")
#: npm package version holding each vintage (see ../shared/opendata/population-historique/PROVENANCE.md).
VINTAGE_PACKAGES = {"2016": "0.8.0", "2019": "1.1.1", "2020": "2.3.1", "2021": "4.0.0", "2022": "4.1.0"}

#: Embedded files (under data/).
FILES = {
    "pop_hist": "populations_historiques_cog2026.csv",
    "pop_groups": "populations_historiques_groupes.csv",
    "filosofi": "filosofi_2019_communes.csv",
    "ameli": "ameli_professionnels_liberaux_2024.csv",
    "zonage": "zonage_infirmiers_communes.csv",
    "mortality": "mortalite_brute_2013_2018.csv",
    "social": "indicateurs_sociaux_communes.csv",
}

#: Commune-level social indicators of ``FILES["social"]``: column -> (source file, published field).
SOCIAL_COLUMNS = {
    "part_75_plus": ("part_personnes_agees_communes.json", "part_personnes_agees_75_plus"),
    "part_familles_monoparentales": ("famille_monoparentale_communes.json", "part_familles_monoparentales"),
    "fedi_2021": ("fedi_communes.json", "EDI"),
}
#: Vintage whose populations weight the social indicators (census 2022, the year of the shares).
SOCIAL_WEIGHT_VINTAGE = "2022"

#: ARS nurse zonage levels: level -> (published token, French label).
ZONAGE_LEVELS = {
    1: ("1_Tres_sous_dotee", "très sous-dotée"),
    2: ("2_Sous_dotee", "sous-dotée"),
    3: ("3_intermediaire", "intermédiaire"),
    4: ("4_Tres_dotee", "très dotée"),
    5: ("5_Sur_dotee", "sur-dotée"),
}

#: Professions kept from the Assurance Maladie file: published name -> (id, French label).
AMELI_PROFESSIONS = {
    "Ensemble des médecins généralistes": ("medecins_generalistes", "Médecins généralistes libéraux"),
    "Infirmiers": ("infirmiers", "Infirmiers libéraux"),
    "Masseurs-kinésithérapeutes": ("kinesitherapeutes", "Masseurs-kinésithérapeutes libéraux"),
    "Ensemble des chirurgiens-dentistes": ("chirurgiens_dentistes", "Chirurgiens-dentistes libéraux"),
    "Sages-femmes": ("sages_femmes", "Sages-femmes libérales"),
    "Orthophonistes": ("orthophonistes", "Orthophonistes libéraux"),
    "Pédicures-podologues": ("pedicures_podologues", "Pédicures-podologues libéraux"),
    "Orthoptistes": ("orthoptistes", "Orthoptistes libéraux"),
    "Psychiatres": ("psychiatres", "Psychiatres libéraux"),
    "Pédiatres": ("pediatres", "Pédiatres libéraux"),
    "Ophtalmologues": ("ophtalmologues", "Ophtalmologues libéraux"),
    "Gynécologues médicaux et obstétriciens": ("gynecologues", "Gynécologues (médicaux et obstétriciens) libéraux"),
    "Cardiologues": ("cardiologues", "Cardiologues libéraux"),
    "Ensemble des médecins spécialistes (hors généralistes)": (
        "medecins_specialistes",
        "Médecins spécialistes libéraux (hors généralistes)",
    ),
}

#: Population to which the Assurance Maladie relates a profession's published density (per 100,000), when it
#: is not the inhabitants: id -> French noun phrase. The file does not say it; effectif × 100,000 / densité
#: gives the denominator, e.g. France 2024: 14.5 M for the sages-femmes (women aged 15 to 49), 29.6 M for the
#: gynécologues (women aged 15 and over), 11.5 M for the pédiatres (children under 15), 68.6 M for the others.
AMELI_DENOMINATORS = {
    "sages_femmes": "femmes de 15 à 49 ans",
    "gynecologues": "femmes de 15 ans et plus",
    "pediatres": "enfants de moins de 15 ans",
}
#: Denominator of every other Ameli density.
AMELI_INHABITANTS = "habitants"

_DELEGATED = ("commune-deleguee", "commune-associee")


# ------------------------------------------------------------------------------------- build
def read_vintage_package(path: Path) -> list[tuple[str, str, float | None, str | None, list[str]]]:
    """Records of one ``@etalab/decoupage-administratif`` tarball, unchanged.

    Returns (code, type, population or None, parent for a déléguée/associée, anciensCodes) per record of
    type commune actuelle, arrondissement municipal, commune déléguée or associée.
    """
    with tarfile.open(path) as tar:
        records = json.load(tar.extractfile("package/data/communes.json"))
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
        group = tuple(sorted(group_of[unit]))
        totals[group] = totals.get(group, 0.0) + pop
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


# ------------------------------------------------------------------------------------ loading
@dataclass(frozen=True)
class OpenData:
    """The embedded open data of the deeper diagnostic.

    * ``pop_hist``: indexed by COG 2026 unit (commune or arrondissement municipal), float ``pop_YYYY`` for
      :data:`POP_VINTAGES` (NaN when the unit cannot be harmonised alone);
    * ``pop_groups``: ``annee``, ``unites`` (tuple of units), ``population``: groups of units split since the vintage;
    * ``filosofi``: ``code`` (as published), ``nbpers`` (persons in fiscal households 2019), ``q2`` (median
      disposable income per consumption unit, €), NaN when absent;
    * ``ameli``: ``profession`` (id), ``niveau`` (departement | region | france), ``code``, ``effectif``,
      ``densite`` (per 100,000 of ``population_reference``: inhabitants, or the population of
      :data:`AMELI_DENOMINATORS`);
    * ``zonage``: nurse zonage level (1–5, float; NaN when « résultat non disponible ») by published code;
    * ``mortality``: ``niveau`` (epci | departement), ``code``, ``nom``, ``periode``, ``taux`` (‰, NaN when absent).
    """

    pop_hist: pd.DataFrame
    pop_groups: pd.DataFrame
    filosofi: pd.DataFrame
    ameli: pd.DataFrame
    zonage: pd.Series
    mortality: pd.DataFrame


def _num(series: pd.Series) -> pd.Series:
    text = series.astype(str).str.replace(",", ".", regex=False).str.strip()
    return pd.to_numeric(text, errors="coerce").astype(float)


@functools.lru_cache(maxsize=4)
def load_open_data(data_dir: str | Path | None = None) -> OpenData:
    """Load the embedded open data of the deeper diagnostic (cached).

    Raises InputError when a file is missing (data not built).
    """
    base = Path(data_dir) if data_dir else settings.DATA_DIR

    def read(key):
        path = settings.data_path(FILES[key]) if base == settings.DATA_DIR else base / FILES[key]
        return pd.read_csv(path, dtype=str, keep_default_na=False)

    hist = read("pop_hist").set_index("code_insee")
    pop_hist = pd.DataFrame({f"pop_{y}": _num(hist[f"pop_{y}"]) for y in POP_VINTAGES}, index=hist.index)
    groups = read("pop_groups")
    pop_groups = groups.assign(
        unites=[tuple(u.split("|")) for u in groups["unites"]], population=_num(groups["population"])
    )
    filo = read("filosofi")
    filosofi = pd.DataFrame({"code": filo["CODGEO"], "nbpers": _num(filo["NBPERS19"]), "q2": _num(filo["Q219"])})
    ameli = read("ameli")
    ameli = ameli.assign(effectif=_num(ameli["effectif"]), densite=_num(ameli["densite"]))
    zon = read("zonage")
    zonage = pd.Series(_num(zon["niveau"]).to_numpy(), index=zon["code"], name="zonage")
    mort = read("mortality")
    mortality = mort.assign(taux=_num(mort["taux"]))
    return OpenData(
        pop_hist=pop_hist, pop_groups=pop_groups, filosofi=filosofi, ameli=ameli, zonage=zonage, mortality=mortality
    )


def weighted_quantile(values, weights, q: float) -> float:
    """Weighted quantile (lower value at which the cumulated weight reaches ``q``); NaN when empty.

    Examples
    --------
    >>> weighted_quantile([10, 20, 30], [1, 1, 2], 0.5)
    20.0
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = ~np.isnan(v) & ~np.isnan(w) & (w > 0)
    v, w = v[ok], w[ok]
    if not len(v):
        return float("nan")
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w) / w.sum()
    return float(v[np.searchsorted(cum, q - 1e-12)])
