"""Indicators of the deeper diagnostic: population trend, income, professionals, nurse zonage, mortality.

:func:`add_open_indicators` completes the diagnostics of :func:`cpts_diag.indicators.diagnose_all` with rows in the
same format (:data:`cpts_diag.schema.INDICATOR_COLUMNS`: value, bounds, unit, source, vintage, level of the source,
coverage, quality) for the territory, its départements, its région(s) and France, and with per-unit columns in
``Diagnostic.communes``; coverage, split communes (Nice, Toulon) and missing values follow the conventions of
:mod:`cpts_diag.indicators`.

Population trend: the mean annual growth rate ``(P_2023 / P_start) ** (1 / years) - 1`` is computed like for like
over the units whose start population is harmonised to COG 2026 (see :mod:`cpts_diag.io.open_data`); units of a
group of communes split since the start vintage count only when the whole group is in the territory, otherwise they
are left out (coverage below 100 %).

Income: a territory's median income cannot be computed from commune medians. What is shown is the range of the
commune medians and their distribution weighted by the persons of the fiscal households (Filosofi 2019) — labelled
as such, quartiles only when they describe a distribution (:func:`income_is_a_distribution`), else the communes' own
medians (``revenu_median_2019``) — beside the official median standard of living of the départements (INSEE 2021,
the only official aggregate available here).

Mortality: crude rate (not age-standardised) of the EPCI of each commune, averaged with the population 2016 (middle
of the 2013–2018 period) as weight; départements: the INSEE figure; région and France: population-weighted mean of
their départements (approchée).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cpts_diag.indicator_data import SOURCES, sources_table
from cpts_diag.io.embedded import load_dataset, parse_numbers
from cpts_diag.io.open_data import POP_VINTAGES, ZONAGE_LEVELS, load_open_data, weighted_quantile
from cpts_diag.professions import AMELI_DENOMINATORS, AMELI_PROFESSIONS
from cpts_diag.schema import FRANCE_ZONES, FULL_COVERAGE, INDICATOR_COLUMNS, LEVELS, THEMES, Level, Quality, Theme
from cpts_diag.territories import france_name, unit_population

#: Growth-rate periods: id -> (start vintage, years to 2023).
TREND_PERIODS = {"evolution_pop_2016_2023": ("2016", 7), "evolution_pop_2019_2023": ("2019", 4)}
_MEDIAN_DEP_COLUMN = "Médiane du niveau de vie 2021"
_AMELI_LEVEL = {Level.DEPARTEMENT: "département", Level.REGION: "région", Level.FRANCE: "France"}
#: Income quartiles are shown from this many communes with a median on, when none weighs over the share below.
MIN_INCOME_COMMUNES = 5
MAX_INCOME_WEIGHT_SHARE = 0.5


def _zonage_label(levels: set[float]) -> str:
    """French label of a unit's nurse zonage from the levels (1–5) of its parts, « n.d. » when unknown."""
    if len(levels) > 1:
        return "plusieurs niveaux (par arrondissement)"
    return ZONAGE_LEVELS.get(int(levels.pop()), ("", "n.d."))[1] if levels else "n.d."


# ------------------------------------------------------------------------------ unit frames
class _Context:
    """Per-unit values of every COG 2026 unit and the comparison groups, built once per reference and data."""

    def __init__(self, reference):
        self.reference = reference
        data = load_open_data()
        com = reference.communes
        france = com[com["zone"].isin(FRANCE_ZONES)]
        # population history: per unit, and the groups of split communes per vintage
        self._hist = {y: data.pop_hist[f"pop_{y}"].dropna().to_dict() for y in POP_VINTAGES}
        self._pop = unit_population(reference).dropna().to_dict()
        self.groups: dict[str, list[tuple[set[str], float]]] = {y: [] for y in POP_VINTAGES}
        self.group_of: dict[str, dict[str, int]] = {y: {} for y in POP_VINTAGES}
        for year, unites, pop in data.pop_groups[["annee", "unites", "population"]].itertuples(index=False):
            self.group_of[year].update(dict.fromkeys(unites, len(self.groups[year])))
            self.groups[year].append((set(unites), float(pop)))
        # Filosofi rows by COG 2026 unit (several rows when communes merged since); units split since 2019
        # (the groups of the 2020 to 2022 vintages) have no reliable median
        filo = data.filosofi
        units_2026 = set(france.index) | set(reference.arrondissements.index)
        unit = filo["code"].where(filo["code"].isin(units_2026), filo["code"].map(reference.former))
        self.filo = filo.assign(unit=unit)[unit.notna()]
        self.filo_unreliable = set().union(*(self.group_of[y] for y in ("2020", "2021", "2022")))
        unique = self.filo[~self.filo["unit"].duplicated(keep=False)].set_index("unit")
        self._median, self.persons = unique["q2"], unique["nbpers"]
        # nurse zonage, by unit; PLM communes are published by arrondissement
        self.zonage = data.zonage
        self.arr_of = {c: list(g.index) for c, g in reference.arrondissements.groupby("commune_parente")}
        mort = data.mortality
        self.mort_epci = mort[mort["niveau"] == "epci"].set_index("code")["taux"].to_dict()
        self.mort_dep = mort[mort["niveau"] == "departement"].set_index("code")["taux"].to_dict()
        dep_ind = load_dataset("departement_indicators").set_index("code")
        self.dep_median = parse_numbers(dep_ind[_MEDIAN_DEP_COLUMN])
        # comparison groups (départements, régions, France) and the cache of their rows
        self.fr_frame = pd.DataFrame(
            {
                "unit": france.index.astype(str).tolist(),
                "code_insee": france.index.astype(str).tolist(),
                "population": france["population"].to_numpy(dtype=float),
                "infracommunal": False,
                "departement": france["departement"].to_numpy(),
                "region": france["region"].to_numpy(),
            }
        )
        self.dep_pop_2023 = self.fr_frame.groupby("departement")["population"].sum().to_dict()
        self.fr_frame["pop_2016"] = [self.pop_start(u, "2016") for u in self.fr_frame["unit"].tolist()]
        self.dep_pop_2016 = self.fr_frame.groupby("departement")["pop_2016"].sum(min_count=1).to_dict()
        # France's growth rate since a vintage leaves out the départements none of whose units has a population
        # then (Mayotte in 2016): the name of France's group for that rate
        self.france_since = {}
        units = self.fr_frame["unit"]
        for year, _years in TREND_PERIODS.values():
            known = units.map(self._hist[year]).notna() | units.isin(list(self.group_of[year]))
            left_out = set(self.fr_frame["departement"]) - set(self.fr_frame.loc[known, "departement"])
            self.france_since[year] = france_name(reference, left_out)
        # (level, code) -> profession -> (headcount, density per 100,000)
        self.ameli_by_level: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
        for rec in data.ameli.itertuples(index=False):
            self.ameli_by_level.setdefault((rec.niveau, rec.code), {})[rec.profession] = (rec.effectif, rec.densite)
        self.comparisons: dict[tuple[str, str], list[dict]] = {}

    def population(self, unit: str) -> float:
        return self._pop.get(unit, float("nan"))

    def pop_start(self, unit: str, year: str) -> float:
        return self._hist[year].get(unit, float("nan"))

    def median_of(self, unit: str) -> float:
        """The unit's own Filosofi 2019 median (NaN when absent, merged since or split since)."""
        return float("nan") if unit in self.filo_unreliable else float(self._median.get(unit, np.nan))

    def zonage_of(self, unit: str) -> list[tuple[float, float]]:
        """(zonage level or NaN, population) of the unit, by arrondissement for Paris, Lyon, Marseille."""
        if unit in self.arr_of and unit not in self.zonage.index:
            return [(float(self.zonage.get(a, np.nan)), self.population(a)) for a in self.arr_of[unit]]
        return [(float(self.zonage.get(unit, np.nan)), self.population(unit))]


# ------------------------------------------------------------------------- group computations
def _pop_sum(frame: pd.DataFrame, ctx: _Context, year: str) -> tuple[float, float, float]:
    """(value, low, high) of the harmonised population of a vintage; NaN value when only bounds."""
    known, partial, unknown, seen = 0.0, 0.0, 0, set()
    units = set(frame["unit"])
    for u in frame["unit"].tolist():
        v, g = ctx.pop_start(u, year), ctx.group_of[year].get(u)
        if not math.isnan(v):
            known += v
        elif g is None:
            unknown += 1
        elif g not in seen:  # a group of communes split since the vintage, counted once
            seen.add(g)
            members, total = ctx.groups[year][g]
            if members <= units:
                known += total
            else:
                partial += total
    if unknown:  # some unit has no value at all: only a minimum, when anything is known
        return float("nan"), (known if known > 0 else float("nan")), float("nan")
    if partial:
        return float("nan"), known, known + partial
    return known, float("nan"), float("nan")


def _trend(frame: pd.DataFrame, ctx: _Context, year: str, years: int) -> tuple[float, float]:
    """(mean annual growth rate in %, coverage) like for like over harmonised units."""
    units = set(frame["unit"])
    p0 = p1 = covered = 0.0
    total = frame["population"].sum()
    seen = set()
    for u, pop in zip(frame["unit"].tolist(), frame["population"].tolist()):
        v, g = ctx.pop_start(u, year), ctx.group_of[year].get(u)
        if not math.isnan(v):
            if not math.isnan(pop):
                p0, p1, covered = p0 + v, p1 + pop, covered + pop
        elif g is not None and g not in seen:  # a split group counts only when whole in the frame
            seen.add(g)
            members, start = ctx.groups[year][g]
            if members <= units:
                now = sum(ctx.population(m) for m in members)
                p0, p1, covered = p0 + start, p1 + now, covered + now
    if p0 <= 0:
        return float("nan"), 0.0
    return 100 * ((p1 / p0) ** (1 / years) - 1), (covered / total if total > 0 else 0.0)


def income_is_a_distribution(weights) -> bool:
    """Whether weighted quartiles describe commune medians with these ``weights`` (persons in fiscal households):
    at least :data:`MIN_INCOME_COMMUNES` communes and none over :data:`MAX_INCOME_WEIGHT_SHARE` of the weight.
    Otherwise the quartiles are the medians of one or two communes (Ajaccio, 78 % of the Pays ajaccien, makes
    Q1 = median = Q3): the communes' own medians are what to show.

    Examples
    --------
    >>> income_is_a_distribution([10, 10, 10, 10, 10]), income_is_a_distribution([60, 10, 10, 10, 10])
    (True, False)
    """
    w = np.asarray(weights, dtype=float)
    w = w[~np.isnan(w)]
    return bool(len(w) >= MIN_INCOME_COMMUNES and w.sum() > 0 and w.max() <= MAX_INCOME_WEIGHT_SHARE * w.sum())


def _income(frame: pd.DataFrame, ctx: _Context) -> dict:
    """Range and weighted quartiles of the commune medians; coverage (population 2023 with a median).

    ``distribution`` is False when the quartiles would not describe a distribution
    (:func:`income_is_a_distribution`): they are then NaN and not shown.
    """
    rows = ctx.filo[ctx.filo["unit"].isin(set(frame["unit"]) - ctx.filo_unreliable)]
    rows = rows[rows["q2"].notna()]
    has = frame["unit"].isin(set(rows["unit"]))
    total = frame["population"].sum()
    cov = float(frame.loc[has, "population"].sum() / total) if total > 0 else 0.0
    v, w = rows["q2"].to_numpy(), rows["nbpers"].to_numpy()
    spread = income_is_a_distribution(w)
    return {  # weighted_quantile is NaN without values
        "min": float(v.min()) if len(v) else np.nan,
        "max": float(v.max()) if len(v) else np.nan,
        "q1": weighted_quantile(v, w, 0.25) if spread else np.nan,
        "p50": weighted_quantile(v, w, 0.5) if spread else np.nan,
        "q3": weighted_quantile(v, w, 0.75) if spread else np.nan,
        "coverage": cov,
        "distribution": spread or not len(v),  # without any median the rows stay, unknown
    }


def _zonage(frame: pd.DataFrame, ctx: _Context) -> dict:
    """Population by nurse zonage level; shares over the population with a level."""
    pops = {lv: 0.0 for lv in ZONAGE_LEVELS}
    covered = 0.0
    for u in frame["unit"].tolist():
        for level, pop in ctx.zonage_of(u):
            if not math.isnan(level) and not math.isnan(pop):
                pops[int(level)] += pop
                covered += pop
    total = frame["population"].sum()
    return {"pops": pops, "covered": covered, "coverage": covered / total if total > 0 else 0.0}


def _mortality(frame: pd.DataFrame, ctx: _Context) -> tuple[float, float]:
    """(crude rate of the units' EPCI weighted by their population 2016, coverage)."""
    num = den = covered = 0.0
    epci = frame["code_insee"].map(ctx.reference.communes["epci_siren"]).fillna("")
    for u, siren, pop in zip(frame["unit"].tolist(), epci.tolist(), frame["population"].tolist()):
        rate = ctx.mort_epci.get(siren, np.nan) if siren else np.nan
        if math.isnan(rate):
            continue
        weight = ctx.pop_start(u, "2016")
        weight = pop if math.isnan(weight) else weight
        num, den, covered = num + rate * weight, den + weight, covered + pop
    total = frame["population"].sum()
    return (num / den if den > 0 else float("nan")), (covered / total if total > 0 else 0.0)


# ----------------------------------------------------------------------------------- rows
def _quality(coverage: float, approx: bool) -> str:
    if coverage < FULL_COVERAGE:
        return Quality.MASKED
    return Quality.APPROXIMATE if approx else Quality.EXACT


def _combine_ratio(v_all, v_cert):
    """A ratio with and without the split communes: value with them, bounds when they differ."""
    if math.isnan(v_cert) or math.isnan(v_all) or np.isclose(v_all, v_cert):
        return v_all, float("nan"), float("nan")
    return v_all, min(v_all, v_cert), max(v_all, v_cert)


#: Income rows: key of :func:`_income` -> (indicator id, French label). The weight is NBPERS19 of Filosofi:
#: the number of persons of the fiscal households, not the population.
_WEIGHT = "pondéré par le nombre de personnes des ménages fiscaux"
_INCOME_ROWS = {
    "min": ("revenu_median_communes_min", "Revenu médian communal le plus bas (par unité de consommation)"),
    "q1": ("revenu_median_communes_q1", f"1er quartile des revenus médians communaux ({_WEIGHT})"),
    "p50": (
        "revenu_median_communes_p50",
        f"Médiane des revenus médians communaux ({_WEIGHT.replace('pondéré', 'pondérée')} ; n'est pas le revenu "
        "médian du territoire)",
    ),
    "q3": ("revenu_median_communes_q3", f"3e quartile des revenus médians communaux ({_WEIGHT})"),
    "max": ("revenu_median_communes_max", "Revenu médian communal le plus haut (par unité de consommation)"),
}
_QUARTILES = ("q1", "p50", "q3")


def _group_rows(frame: pd.DataFrame, level: Level, code: str, name: str, ctx: _Context) -> list[dict]:
    """Every row of one group (territory, département, région or France) from its population units (``frame``:
    unit, code_insee, population, infracommunal, as :func:`cpts_diag.territories.population_units`)."""
    infra = frame["infracommunal"].to_numpy(dtype=bool)
    split = bool(infra.any())
    certain = frame[~infra] if split else frame
    rows: list[dict] = []
    nan = float("nan")

    def add(ind, label, theme, value, low, high, unit, source, vintage, source_level, coverage, quality):
        """Append one indicator row of this group (values in the order of :data:`INDICATOR_COLUMNS`)."""
        values = (ind, label, theme, level, code, name, float(value), float(low), float(high), unit, source.label)
        row = dict(zip(INDICATOR_COLUMNS, (*values, vintage, source_level, float(coverage), quality)))
        rows.append(row | {"_source_key": source.key})

    # -- population history and trend
    src_pop = SOURCES["pop_hist"]
    for year in POP_VINTAGES:
        v, lo, hi = _pop_sum(frame, ctx, year)
        if split:
            vc, loc, _hic = _pop_sum(certain, ctx, year)
            lo, hi, v = (vc if not math.isnan(vc) else loc), (v if not math.isnan(v) else hi), nan
        cov = 1.0
        if math.isnan(v) and math.isnan(hi):
            known = [not math.isnan(ctx.pop_start(u, year)) or u in ctx.group_of[year] for u in frame["unit"]]
            cov = float(frame.loc[known, "population"].sum() / max(frame["population"].sum(), 1))
        quality = _quality(cov, split or not math.isnan(hi))
        label = f"Population municipale {year} (COG 2026)"
        add(f"population_{year}", label, Theme.DEMOGRAPHY, v, lo, hi, "hab.", src_pop, year, "commune", cov, quality)
    for ind, (start, years) in TREND_PERIODS.items():
        v, cov = _trend(frame, ctx, start, years)
        v, lo, hi = _combine_ratio(v, _trend(certain, ctx, start, years)[0] if split else nan)
        label, quality = f"Taux d'évolution annuel moyen de la population {start}-2023", _quality(cov, split)
        add(ind, label, Theme.DEMOGRAPHY, v, lo, hi, "%/an", src_pop, f"{start}-2023", "commune", cov, quality)
        if level == Level.FRANCE:  # France's rate leaves out the départements without a start population
            rows[-1]["level_name"] = ctx.france_since[start]

    # -- income (distribution of commune medians)
    inc = _income(frame, ctx)
    filo, quality = (SOURCES["filosofi"], "2019", "commune"), _quality(inc["coverage"], split)
    for key, (ind, label) in _INCOME_ROWS.items():
        if inc["distribution"] or key not in _QUARTILES:  # few communes: their own medians, not quartiles
            add(ind, label, Theme.SOCIAL, inc[key], nan, nan, "€", *filo, inc["coverage"], quality)
    if level == Level.DEPARTEMENT:
        med = ctx.dep_median.get(code, np.nan)
        label = "Médiane du niveau de vie (officielle, département)"
        dep_stats, cov = (SOURCES["dep_stats"], "2021", "département"), 0.0 if math.isnan(med) else 1.0
        add("niveau_vie_median_departement", label, Theme.SOCIAL, med, nan, nan, "€", *dep_stats, cov, Quality.EXACT)

    # -- nurse zonage
    src_z = (SOURCES["zonage_inf"], "2024", "commune")
    z = _zonage(frame, ctx)
    zc = _zonage(certain, ctx) if split else None
    quality = _quality(z["coverage"], split)
    for lv, (_tok, lab) in ZONAGE_LEVELS.items():
        v = 100 * z["pops"][lv] / z["covered"] if z["covered"] > 0 else nan
        v_cert = 100 * zc["pops"][lv] / zc["covered"] if zc is not None and zc["covered"] > 0 else nan
        v, lo, hi = _combine_ratio(v, v_cert)
        label = f"Part de la population en zone « {lab} » (zonage infirmiers)"
        add(f"zonage_infirmiers_part_{lv}", label, Theme.SUPPLY, v, lo, hi, "%", *src_z, z["coverage"], quality)
    under = z["pops"][1] + z["pops"][2]
    lo = zc["pops"][1] + zc["pops"][2] if zc is not None else under
    v, lo, hi = (under, nan, nan) if np.isclose(lo, under) else (nan, lo, under)  # bounds when the split matters
    if z["coverage"] < FULL_COVERAGE:
        v, lo = nan, under if math.isnan(lo) else lo
    label = "Population en zone très sous-dotée ou sous-dotée (zonage infirmiers)"
    add("zonage_infirmiers_pop_sous_dotee", label, Theme.SUPPLY, v, lo, hi, "hab.", *src_z, z["coverage"], quality)

    # -- mortality
    lo = hi = nan
    if level == Level.DEPARTEMENT:
        rate = ctx.mort_dep.get(code, np.nan)
        source_level, cov, quality = "département", 0.0 if math.isnan(rate) else 1.0, Quality.EXACT
    elif level in (Level.REGION, Level.FRANCE):
        num = den = 0.0
        dep_codes = sorted(set(frame["departement"]))
        for d in dep_codes:
            dep_rate = ctx.mort_dep.get(d, np.nan)
            pop = ctx.dep_pop_2016.get(d, np.nan)
            if not math.isnan(dep_rate) and not math.isnan(pop):
                num, den = num + dep_rate * pop, den + pop
        rate = num / den if den else np.nan
        total = sum(ctx.dep_pop_2023.get(d, 0.0) for d in dep_codes)
        cov = sum(ctx.dep_pop_2023.get(d, 0.0) for d in dep_codes if not math.isnan(ctx.mort_dep.get(d, np.nan)))
        cov = cov / total if total else 0.0
        source_level = "département (moyenne pondérée par la population 2016)"
        quality = _quality(cov, True)
    else:
        rate, cov = _mortality(frame, ctx)
        rate, lo, hi = _combine_ratio(rate, _mortality(certain, ctx)[0] if split else nan)
        source_level, quality = "EPCI", _quality(cov, True)
    label, unit = "Taux brut de mortalité (non standardisé sur l'âge)", "décès pour 1 000 hab./an"
    src_m = (SOURCES["mortalite"], "2013-2018", source_level)
    add("mortalite_brute", label, Theme.SOCIAL, rate, lo, hi, unit, *src_m, cov, quality)

    # -- libéral professionals (Assurance Maladie): comparison levels only
    if level != Level.TERRITORY:
        am = ctx.ameli_by_level.get((level, code), {})
        for pid, label in AMELI_PROFESSIONS.values():
            rec = am.get(pid)
            meta = (SOURCES["ameli"], "2024", _AMELI_LEVEL[level], 0.0 if rec is None else 1.0, Quality.EXACT)
            eff, dens = (np.nan, np.nan) if rec is None else (rec[0], rec[1] / 10.0)  # per 100,000 -> per 10,000
            unit = f"pour 10 000 {AMELI_DENOMINATORS[pid]}" if pid in AMELI_DENOMINATORS else "pour 10 000 hab."
            add(f"ps_{pid}_effectif", f"{label} (effectif)", Theme.SUPPLY, eff, nan, nan, "professionnels", *meta)
            add(f"ps_{pid}_densite", f"{label} (densité)", Theme.SUPPLY, dens, nan, nan, unit, *meta)
    return rows


def _unit_columns(frame: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    """Per-unit values added to ``Diagnostic.communes``."""
    out = pd.DataFrame(index=frame.index)
    out["population_2016"] = [ctx.pop_start(u, "2016") for u in frame["unit"]]
    out["evolution_pop_2016_2023"] = [
        100 * ((pop / p0) ** (1 / 7) - 1) if p0 and not math.isnan(p0) and pop > 0 else np.nan
        for p0, pop in zip(out["population_2016"].tolist(), frame["population"].tolist())
    ]
    out["revenu_median_2019"] = [ctx.median_of(u) for u in frame["unit"]]
    persons = frame["unit"].map(ctx.persons).to_numpy(dtype=float)  # the weight of each median shown
    out["personnes_menages_fiscaux_2019"] = np.where(out["revenu_median_2019"].isna(), np.nan, persons)
    out["zonage_infirmiers"] = [
        _zonage_label({lv for lv, _p in ctx.zonage_of(u) if not math.isnan(lv)}) for u in frame["unit"].tolist()
    ]
    epci = frame["code_insee"].map(ctx.reference.communes["epci_siren"]).fillna("")
    out["mortalite_brute_epci"] = [ctx.mort_epci.get(s, np.nan) if s else np.nan for s in epci]
    return out


# ------------------------------------------------------------------------------- public API
_CONTEXTS: dict = {}


def _comparison(ctx: _Context, level: Level, code: str) -> list[dict]:
    """Rows of a comparison group (département, région or France), computed once per context."""
    if (level, code) not in ctx.comparisons:
        fr_frame, reference = ctx.fr_frame, ctx.reference
        if level == Level.DEPARTEMENT:
            frame, name = fr_frame[fr_frame["departement"] == code], reference.departement_name(code)
        elif level == Level.REGION:
            frame, name = fr_frame[fr_frame["region"] == code], reference.region_name(code)
        else:
            frame, name = fr_frame, "France"
        ctx.comparisons[(level, code)] = _group_rows(frame, level, code, name, ctx)
    return ctx.comparisons[(level, code)]


def add_open_indicators(diagnostics: dict, units: pd.DataFrame, reference) -> dict:
    """Add the open-data indicators to every diagnostic (in place; returns ``diagnostics``).

    ``diagnostics`` is the output of the vectorised pass of :func:`cpts_diag.indicators.diagnose_all`,
    ``units`` the population units of all territories (:func:`cpts_diag.territories.population_units`).
    """
    key = (id(reference), id(load_open_data()))
    if key not in _CONTEXTS:  # built once per reference and data: comparison rows are shared
        _CONTEXTS.clear()
        _CONTEXTS[key] = _Context(reference)
    ctx = _CONTEXTS[key]

    by_terr = dict(tuple(units.groupby("cpts", sort=False)))
    for name, diag in diagnostics.items():
        frame = by_terr.get(name)
        if frame is None:
            continue
        rows = _group_rows(frame, Level.TERRITORY, name, name, ctx)
        for d in diag.summary.get("departements", []):
            rows += _comparison(ctx, Level.DEPARTEMENT, d)
        for r in diag.summary.get("regions", []):
            rows += _comparison(ctx, Level.REGION, r)
        rows += _comparison(ctx, Level.FRANCE, "FR")
        new = pd.DataFrame(rows)
        extra = sources_table(SOURCES[k] for k in new["_source_key"])
        first = new["indicator"].map({k: i for i, k in enumerate(dict.fromkeys(new["indicator"]))}).to_numpy()
        rank = new["level"].map(LEVELS.index).to_numpy()
        new = new.iloc[np.lexsort((new["level_code"].to_numpy(), rank, first))][INDICATOR_COLUMNS]
        combined = pd.concat([diag.indicators, new], ignore_index=True)
        theme_rank = combined["theme"].map({t: i for i, t in enumerate(THEMES)})
        diag.indicators = combined.iloc[np.argsort(theme_rank.to_numpy(), kind="stable")].reset_index(drop=True)
        # per-unit columns, aligned on the territory's units
        cols = _unit_columns(frame, ctx).set_axis(frame["unit"].to_numpy())
        unit_key = diag.communes["unit"].astype(str).to_numpy()
        for c in cols.columns:
            diag.communes[c] = cols[c].reindex(unit_key).to_numpy()
        diag.sources = pd.concat([diag.sources, extra], ignore_index=True).drop_duplicates("source", ignore_index=True)
    return diagnostics
