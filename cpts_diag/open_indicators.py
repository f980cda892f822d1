"""Indicators of the deeper diagnostic: population trend, income, professionals, nurse zonage, mortality.

:func:`add_open_indicators` completes the diagnostics of :func:`cpts_diag.indicators.diagnose_all` with
rows in the same format (:data:`cpts_diag.indicators.INDICATOR_COLUMNS`: value, bounds, unit, source,
vintage, level of the source, coverage, quality) for the territory, its départements, its région(s) and
France, and with per-unit columns in ``Diagnostic.communes``.

Conventions (same as :mod:`cpts_diag.indicators`)
------------------------------------------------
* ``coverage`` is the share of the population légale 2023 of the group living in units with data.
* A commune split below the commune level (Nice, Toulon) is computed with and without it: counts are
  then bounds, ratios the value with it and bounds; quality « approchée ».
* A masked or missing value is unknown, never zero: it lowers the coverage and is listed.

Population trend: the mean annual growth rate ``(P_2023 / P_start) ** (1 / years) - 1`` is computed
like for like over the units whose start population is harmonised to COG 2026 (see
:mod:`cpts_diag.io.open_data`); units of a group of communes split since the start vintage count only when
the whole group is in the territory, otherwise they are left out (coverage below 100 %).

Income: a territory's median income cannot be computed from commune medians. What is shown is the
range of the commune medians and their distribution weighted by the persons of the fiscal households
(Filosofi 2019) — labelled as such — beside the official median standard of living of the départements
(INSEE 2021, the only official aggregate available here).

Mortality: crude rate (not age-standardised) of the EPCI of each commune, averaged with the population
2016 (middle of the 2013–2018 period) as weight; départements: the INSEE figure; région and France:
population-weighted mean of their départements (approchée).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cpts_diag.indicator_data import SOURCES, Quality, sources_table
from cpts_diag.io.open_data import AMELI_PROFESSIONS, POP_VINTAGES, ZONAGE_LEVELS, load_open_data, weighted_quantile

__all__ = ["TREND_PERIODS", "add_open_indicators", "zonage_label"]

EXACT, APPROXIMATE, MASKED = Quality.EXACT.value, Quality.APPROXIMATE.value, Quality.MASKED.value
_FULL = 1 - 1e-9
#: Growth-rate periods: id -> (start vintage, years to 2023).
TREND_PERIODS = {"evolution_pop_2016_2023": ("2016", 7), "evolution_pop_2019_2023": ("2019", 4)}
_FRANCE_ZONES = ("metro", "drom")
_MEDIAN_DEP_COLUMN = "Médiane du niveau de vie 2021"


def zonage_label(level) -> str:
    """French label of a nurse zonage level (1–5), « n.d. » when unknown."""
    try:
        return ZONAGE_LEVELS[int(level)][1]
    except (TypeError, ValueError, KeyError):
        return "n.d."


# ------------------------------------------------------------------------------ unit frames
class _Context:
    """Per-unit values of every COG 2026 unit, built once per :func:`add_open_indicators` call."""

    def __init__(self, reference):
        self.reference = reference
        self.data = load_open_data()
        com = reference.communes
        self.france = com[com["zone"].isin(_FRANCE_ZONES)]
        self.units_2026 = set(self.france.index) | set(reference.arrondissements.index)
        # population history: per unit, and the groups of split communes per vintage
        self.hist = self.data.pop_hist
        self._hist = {y: self.hist[f"pop_{y}"].dropna().to_dict() for y in POP_VINTAGES}
        self._pop = {
            **reference.communes["population"].dropna().to_dict(),
            **reference.arrondissements["population"].dropna().to_dict(),
        }
        self.groups = {y: [] for y in POP_VINTAGES}
        self.group_of: dict[str, dict[str, int]] = {y: {} for y in POP_VINTAGES}
        for year, unites, pop in zip(
            self.data.pop_groups["annee"], self.data.pop_groups["unites"], self.data.pop_groups["population"]
        ):
            idx = len(self.groups[year])
            self.groups[year].append((set(unites), float(pop)))
            for u in unites:
                self.group_of[year][u] = idx
        # Filosofi rows by COG 2026 unit (several rows when communes merged since)
        filo = self.data.filosofi
        code = filo["code"]
        unit = code.where(code.isin(self.units_2026), code.map(reference.former))
        self.filo = filo.assign(unit=unit)[unit.notna()]
        split_since_2019 = set()
        for year in ("2020", "2021", "2022"):
            split_since_2019 |= set(self.group_of[year])
        self.filo_unreliable = split_since_2019
        self.filo_by_unit = self.filo.groupby("unit")
        self.filo_count = self.filo["unit"].value_counts()
        # nurse zonage, by unit; PLM communes are published by arrondissement
        self.zonage = self.data.zonage
        arr = reference.arrondissements
        self.arr_of = {c: list(g.index) for c, g in arr.groupby("commune_parente")}
        # mortality
        mort = self.data.mortality
        self.mort_epci = mort[mort["niveau"] == "epci"].set_index("code")["taux"].to_dict()
        self.mort_dep = mort[mort["niveau"] == "departement"].set_index("code")["taux"].to_dict()
        dep_ind = pd.read_csv(_dep_indicators_path(), dtype=str, keep_default_na=False).set_index("code")
        self.dep_median = pd.to_numeric(dep_ind[_MEDIAN_DEP_COLUMN].str.replace(",", "."), errors="coerce")

    def population(self, unit: str) -> float:
        return self._pop.get(unit, float("nan"))

    def pop_start(self, unit: str, year: str) -> float:
        return self._hist[year].get(unit, float("nan"))

    def median_of(self, unit: str) -> float:
        """The unit's own Filosofi 2019 median (NaN when absent, merged since or split since)."""
        if unit in self.filo_unreliable or self.filo_count.get(unit, 0) != 1:
            return float("nan")
        return float(self.filo_by_unit.get_group(unit)["q2"].iloc[0])

    def zonage_of(self, unit: str) -> list[tuple[str, float]]:
        """(zonage level or NaN, population) of the unit, by arrondissement for Paris, Lyon, Marseille."""
        if unit in self.arr_of and unit not in self.zonage.index:
            return [(float(self.zonage.get(a, np.nan)), self.population(a)) for a in self.arr_of[unit]]
        return [(float(self.zonage.get(unit, np.nan)), self.population(unit))]


def _dep_indicators_path():
    from cpts_diag import settings

    return settings.data_path(SOURCES["departements"].file)


def _frame(units, ctx: _Context) -> pd.DataFrame:
    """Unit frame: unit, code_insee, population (2023), infra, departement, region."""
    return pd.DataFrame(
        {
            "unit": units["unit"].astype(str).to_numpy(),
            "code_insee": units["code_insee"].astype(str).to_numpy(),
            "population": units["population"].to_numpy(dtype=float),
            "infra": units["infracommunal"].to_numpy(dtype=bool),
        }
    )


# ------------------------------------------------------------------------- group computations
def _pop_sum(frame: pd.DataFrame, ctx: _Context, year: str) -> tuple[float, float, float]:
    """(value, low, high) of the harmonised population of a vintage; NaN value when only bounds."""
    known, partial, unknown, seen = 0.0, 0.0, 0, set()
    units = set(frame["unit"])
    for u in frame["unit"].tolist():
        v = ctx.pop_start(u, year)
        if not math.isnan(v):
            known += v
            continue
        g = ctx.group_of[year].get(u)
        if g is None:
            unknown += 1
            continue
        if g in seen:
            continue
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
        v = ctx.pop_start(u, year)
        if not math.isnan(v):
            if not math.isnan(pop):
                p0, p1, covered = p0 + v, p1 + pop, covered + pop
            continue
        g = ctx.group_of[year].get(u)
        if g is None or g in seen:
            continue
        seen.add(g)
        members, start = ctx.groups[year][g]
        if members <= units:
            now = sum(ctx.population(m) for m in members)
            p0, p1, covered = p0 + start, p1 + now, covered + now
    if p0 <= 0:
        return float("nan"), 0.0
    return 100 * ((p1 / p0) ** (1 / years) - 1), (covered / total if total > 0 else 0.0)


def _income(frame: pd.DataFrame, ctx: _Context) -> dict:
    """Range and weighted quartiles of the commune medians; coverage (population 2023 with a median)."""
    rows = ctx.filo[ctx.filo["unit"].isin(set(frame["unit"]) - ctx.filo_unreliable)]
    rows = rows[rows["q2"].notna()]
    has = frame["unit"].isin(set(rows["unit"]))
    total = frame["population"].sum()
    cov = float(frame.loc[has, "population"].sum() / total) if total > 0 else 0.0
    v, w = rows["q2"].to_numpy(), rows["nbpers"].to_numpy()
    if not len(v):
        return {"min": np.nan, "max": np.nan, "q1": np.nan, "p50": np.nan, "q3": np.nan, "coverage": cov}
    return {
        "min": float(v.min()),
        "max": float(v.max()),
        "q1": weighted_quantile(v, w, 0.25),
        "p50": weighted_quantile(v, w, 0.5),
        "q3": weighted_quantile(v, w, 0.75),
        "coverage": cov,
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


def _mortality(frame: pd.DataFrame, ctx: _Context) -> tuple[float, float, list[str]]:
    """(population-weighted crude rate of the units' EPCI, coverage, unmatched EPCI SIREN)."""
    num = den = covered = 0.0
    missing = []
    epci = frame["code_insee"].map(ctx.reference.communes["epci_siren"]).fillna("")
    for u, siren, pop in zip(frame["unit"].tolist(), epci.tolist(), frame["population"].tolist()):
        rate = ctx.mort_epci.get(siren, np.nan) if siren else np.nan
        if math.isnan(rate):
            missing.append(siren or "sans EPCI")
            continue
        weight = ctx.pop_start(u, "2016")
        weight = pop if math.isnan(weight) else weight
        num, den, covered = num + rate * weight, den + weight, covered + pop
    total = frame["population"].sum()
    return (num / den if den > 0 else float("nan")), (covered / total if total > 0 else 0.0), missing


# ----------------------------------------------------------------------------------- rows
def _row(
    ind, label, theme, level, code, name, value, low, high, unit, source, vintage, source_level, coverage, quality
):
    def f(x):
        return float("nan") if x is None else float(x)

    return {
        "indicator": ind,
        "label": label,
        "theme": theme,
        "level": level,
        "level_code": code,
        "level_name": name,
        "value": f(value),
        "value_low": f(low),
        "value_high": f(high),
        "unit": unit,
        "source": source.label,
        "vintage": vintage,
        "source_level": source_level,
        "coverage": f(coverage),
        "quality": quality,
        "_source_key": source.key,
    }


def _quality(coverage: float, approx: bool) -> str:
    if coverage < _FULL:
        return MASKED
    return APPROXIMATE if approx else EXACT


def _combine_ratio(v_all, v_cert):
    """A ratio with and without the split communes: value with them, bounds when they differ."""
    if math.isnan(v_cert) or math.isnan(v_all) or np.isclose(v_all, v_cert):
        return v_all, float("nan"), float("nan")
    return v_all, min(v_all, v_cert), max(v_all, v_cert)


def _group_rows(frame: pd.DataFrame, level: str, code: str, name: str, ctx: _Context, dep_codes=()) -> list[dict]:
    """Every row of one group (territory, département, région or France)."""
    infra = frame["infra"].to_numpy(dtype=bool)
    split = bool(infra.any())
    certain = frame[~infra] if split else frame
    rows: list[dict] = []
    src_pop = SOURCES["pop_hist"]

    # -- population history and trend
    for year in POP_VINTAGES:
        v, lo, hi = _pop_sum(frame, ctx, year)
        if split:
            vc, loc, _hic = _pop_sum(certain, ctx, year)
            base = vc if not math.isnan(vc) else loc
            lo, hi, v = base, (v if not math.isnan(v) else hi), float("nan")
        cov = (
            1.0
            if not (math.isnan(v) and math.isnan(hi))
            else float(
                frame.loc[
                    [not math.isnan(ctx.pop_start(u, year)) or u in ctx.group_of[year] for u in frame["unit"]],
                    "population",
                ].sum()
                / max(frame["population"].sum(), 1)
            )
        )
        quality = _quality(cov, split or not math.isnan(hi))
        rows.append(
            _row(
                f"population_{year}",
                f"Population municipale {year} (COG 2026)",
                "Démographie",
                level,
                code,
                name,
                v,
                lo,
                hi,
                "hab.",
                src_pop,
                year,
                "commune",
                cov,
                quality,
            )
        )
    for ind, (start, years) in TREND_PERIODS.items():
        v_all, cov = _trend(frame, ctx, start, years)
        v, lo, hi = v_all, float("nan"), float("nan")
        if split:
            v_cert, _c = _trend(certain, ctx, start, years)
            v, lo, hi = _combine_ratio(v_all, v_cert)
        rows.append(
            _row(
                ind,
                f"Taux d'évolution annuel moyen de la population {start}-2023",
                "Démographie",
                level,
                code,
                name,
                v,
                lo,
                hi,
                "%/an",
                src_pop,
                f"{start}-2023",
                "commune",
                cov,
                _quality(cov, split),
            )
        )

    # -- income (distribution of commune medians)
    src_filo = SOURCES["filosofi"]
    inc = _income(frame, ctx)
    labels = {
        "min": ("revenu_median_communes_min", "Revenu médian communal le plus bas (par unité de consommation)"),
        "q1": ("revenu_median_communes_q1", "1er quartile des revenus médians communaux (pondéré par la population)"),
        "p50": (
            "revenu_median_communes_p50",
            "Médiane des revenus médians communaux (pondérée par la population ; "
            "n'est pas le revenu médian du territoire)",
        ),
        "q3": ("revenu_median_communes_q3", "3e quartile des revenus médians communaux (pondéré par la population)"),
        "max": ("revenu_median_communes_max", "Revenu médian communal le plus haut (par unité de consommation)"),
    }
    for key, (ind, label) in labels.items():
        rows.append(
            _row(
                ind,
                label,
                "Santé et social",
                level,
                code,
                name,
                inc[key],
                None,
                None,
                "€",
                src_filo,
                "2019",
                "commune",
                inc["coverage"],
                _quality(inc["coverage"], split),
            )
        )
    if level == "departement":
        med = ctx.dep_median.get(code, np.nan)
        rows.append(
            _row(
                "niveau_vie_median_departement",
                "Médiane du niveau de vie (officielle, département)",
                "Santé et social",
                level,
                code,
                name,
                med,
                None,
                None,
                "€",
                SOURCES["dep_stats"],
                "2021",
                "département",
                0.0 if math.isnan(med) else 1.0,
                EXACT,
            )
        )

    # -- nurse zonage
    src_z = SOURCES["zonage_inf"]
    z = _zonage(frame, ctx)
    zc = _zonage(certain, ctx) if split else None
    for lv, (_tok, lab) in ZONAGE_LEVELS.items():
        share = 100 * z["pops"][lv] / z["covered"] if z["covered"] > 0 else float("nan")
        v, lo, hi = share, float("nan"), float("nan")
        if split and zc["covered"] > 0:
            v, lo, hi = _combine_ratio(share, 100 * zc["pops"][lv] / zc["covered"])
        rows.append(
            _row(
                f"zonage_infirmiers_part_{lv}",
                f"Part de la population en zone « {lab} » (zonage infirmiers)",
                "Offre de soins",
                level,
                code,
                name,
                v,
                lo,
                hi,
                "%",
                src_z,
                "2024",
                "commune",
                z["coverage"],
                _quality(z["coverage"], split),
            )
        )
    under = z["pops"][1] + z["pops"][2]
    v, lo, hi = under, float("nan"), float("nan")
    if split:
        v, lo, hi = float("nan"), zc["pops"][1] + zc["pops"][2], under
        if np.isclose(lo, hi):
            v, lo, hi = under, float("nan"), float("nan")
    rows.append(
        _row(
            "zonage_infirmiers_pop_sous_dotee",
            "Population en zone très sous-dotée ou sous-dotée (zonage infirmiers)",
            "Offre de soins",
            level,
            code,
            name,
            v if z["coverage"] >= _FULL else float("nan"),
            lo if z["coverage"] >= _FULL else under if math.isnan(lo) else lo,
            hi,
            "hab.",
            src_z,
            "2024",
            "commune",
            z["coverage"],
            _quality(z["coverage"], split),
        )
    )

    # -- mortality
    lo = hi = float("nan")
    if level == "departement":
        rate = ctx.mort_dep.get(code, np.nan)
        source_level, cov = "département", 0.0 if math.isnan(rate) else 1.0
        quality = EXACT
    elif level in ("region", "france"):
        num = den = 0.0
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
        quality = APPROXIMATE if cov >= _FULL else MASKED
    else:
        rate, cov, _missing = _mortality(frame, ctx)
        if split:
            rc, _cc, _m = _mortality(certain, ctx)
            rate, lo, hi = _combine_ratio(rate, rc)
        source_level = "EPCI"
        quality = MASKED if cov < _FULL else APPROXIMATE
    rows.append(
        _row(
            "mortalite_brute",
            "Taux brut de mortalité (non standardisé sur l'âge)",
            "Santé et social",
            level,
            code,
            name,
            rate,
            lo,
            hi,
            "décès pour 1 000 hab./an",
            SOURCES["mortalite"],
            "2013-2018",
            source_level,
            cov,
            quality,
        )
    )

    # -- libéral professionals (Assurance Maladie): comparison levels only
    if level != "territoire":
        src_a = SOURCES["ameli"]
        am = ctx.ameli_by_level.get((level, code))
        for _pub, (pid, label) in AMELI_PROFESSIONS.items():
            rec = am.get(pid) if am is not None else None
            eff = np.nan if rec is None else rec[0]
            dens = np.nan if rec is None else rec[1] / 10.0  # per 100,000 -> per 10,000
            cov = 0.0 if rec is None else 1.0
            rows.append(
                _row(
                    f"ps_{pid}_effectif",
                    f"{label} (effectif)",
                    "Offre de soins",
                    level,
                    code,
                    name,
                    eff,
                    None,
                    None,
                    "professionnels",
                    src_a,
                    "2024",
                    _AMELI_LEVEL[level],
                    cov,
                    EXACT,
                )
            )
            rows.append(
                _row(
                    f"ps_{pid}_densite",
                    f"{label} (densité)",
                    "Offre de soins",
                    level,
                    code,
                    name,
                    dens,
                    None,
                    None,
                    "pour 10 000 hab.",
                    src_a,
                    "2024",
                    _AMELI_LEVEL[level],
                    cov,
                    EXACT,
                )
            )
    return rows


_AMELI_LEVEL = {"departement": "département", "region": "région", "france": "France"}


def _unit_columns(frame: pd.DataFrame, ctx: _Context) -> pd.DataFrame:
    """Per-unit values added to ``Diagnostic.communes``."""
    out = pd.DataFrame(index=frame.index)
    out["population_2016"] = [ctx.pop_start(u, "2016") for u in frame["unit"]]
    rates = []
    for u, pop in zip(frame["unit"].tolist(), frame["population"].tolist()):
        p0 = ctx.pop_start(u, "2016")
        rates.append(100 * ((pop / p0) ** (1 / 7) - 1) if p0 and not math.isnan(p0) and pop > 0 else np.nan)
    out["evolution_pop_2016_2023"] = rates
    out["revenu_median_2019"] = [ctx.median_of(u) for u in frame["unit"]]
    levels = []
    for u in frame["unit"].tolist():
        z = {lv for lv, _p in ctx.zonage_of(u) if not math.isnan(lv)}
        levels.append(
            zonage_label(z.pop()) if len(z) == 1 else ("plusieurs niveaux (par arrondissement)" if z else "n.d.")
        )
    out["zonage_infirmiers"] = levels
    epci = frame["code_insee"].map(ctx.reference.communes["epci_siren"]).fillna("")
    out["mortalite_brute_epci"] = [ctx.mort_epci.get(s, np.nan) if s else np.nan for s in epci]
    return out


# ------------------------------------------------------------------------------- public API
_CONTEXTS: dict = {}


def _prepare(reference):
    """Context and (empty) cache of comparison rows for one reference."""
    ctx = _Context(reference)
    france = ctx.france
    fr_frame = pd.DataFrame(
        {
            "unit": france.index.astype(str).tolist(),
            "code_insee": france.index.astype(str).tolist(),
            "population": france["population"].to_numpy(dtype=float),
            "infra": False,
            "departement": france["departement"].to_numpy(),
            "region": france["region"].to_numpy(),
        }
    )
    ctx.dep_pop_2023 = fr_frame.groupby("departement")["population"].sum().to_dict()
    fr_frame["pop_2016"] = [ctx.pop_start(u, "2016") for u in fr_frame["unit"].tolist()]
    ctx.dep_pop_2016 = fr_frame.groupby("departement")["pop_2016"].sum(min_count=1).to_dict()
    ctx.ameli_by_level = {}
    for rec in ctx.data.ameli.itertuples(index=False):
        ctx.ameli_by_level.setdefault((rec.niveau, rec.code), {})[rec.profession] = (rec.effectif, rec.densite)
    ctx.deps_of_region = fr_frame.groupby("region")["departement"].agg(lambda s: sorted(set(s))).to_dict()
    ctx.fr_frame = fr_frame
    return ctx, {}


def add_open_indicators(diagnostics: dict, units: pd.DataFrame, reference) -> dict:
    """Add the open-data indicators to every diagnostic (in place; returns ``diagnostics``).

    Parameters
    ----------
    diagnostics : dict of str to Diagnostic
        Output of the vectorised pass of :func:`cpts_diag.indicators.diagnose_all`.
    units : pandas.DataFrame
        The population units of all territories (:func:`cpts_diag.territories.population_units`).
    reference : Reference
    """
    from cpts_diag.indicators import INDICATOR_COLUMNS, THEMES

    key = (id(reference), id(load_open_data()))
    if key not in _CONTEXTS:  # built once per reference and data: comparison rows are shared
        _CONTEXTS.clear()
        _CONTEXTS[key] = _prepare(reference)
    ctx, cache = _CONTEXTS[key]
    fr_frame, deps_of_region = ctx.fr_frame, ctx.deps_of_region

    def comparison(level: str, code: str) -> list[dict]:
        if (level, code) not in cache:
            if level == "departement":
                frame, name, deps = fr_frame[fr_frame["departement"] == code], reference.departement_name(code), ()
            elif level == "region":
                frame, name, deps = (
                    fr_frame[fr_frame["region"] == code],
                    reference.region_name(code),
                    deps_of_region.get(code, []),
                )
            else:
                frame, name, deps = fr_frame, "France", sorted(ctx.dep_pop_2023)
            cache[(level, code)] = _group_rows(frame, level, code, name, ctx, deps)
        return cache[(level, code)]

    by_terr = dict(tuple(units.groupby("cpts", sort=False)))
    for name, diag in diagnostics.items():
        terr_units = by_terr.get(name)
        if terr_units is None:
            continue
        frame = _frame(terr_units, ctx)
        rows = _group_rows(frame, "territoire", name, name, ctx)
        s = diag.summary
        for d in s.get("departements", []):
            rows += comparison("departement", d)
        for r in s.get("regions", []):
            rows += comparison("region", r)
        rows += comparison("france", "FR")
        new = pd.DataFrame(rows)
        used = list(dict.fromkeys(new["_source_key"]))
        new = new.drop(columns="_source_key")[INDICATOR_COLUMNS]
        level_rank = {"territoire": 0, "departement": 1, "region": 2, "france": 3}
        new = new.assign(
            _i=new["indicator"].map({k: i for i, k in enumerate(dict.fromkeys(new["indicator"]))}),
            _l=new["level"].map(level_rank),
        )
        new = new.sort_values(["_i", "_l", "level_code"], kind="stable").drop(columns=["_i", "_l"])
        combined = pd.concat([diag.indicators, new], ignore_index=True)
        theme_rank = combined["theme"].map({t: i for i, t in enumerate(THEMES)})
        diag.indicators = combined.iloc[np.argsort(theme_rank.to_numpy(), kind="stable")].reset_index(drop=True)
        # per-unit columns, aligned on the territory's units
        cols = _unit_columns(frame, ctx)
        cols.index = frame["unit"].to_numpy()
        unit_key = diag.communes["unite"].astype(str).to_numpy()
        for c in cols.columns:
            diag.communes[c] = cols[c].reindex(unit_key).to_numpy()
        extra = sources_table([SOURCES[k] for k in used])
        diag.sources = pd.concat(
            [diag.sources, extra[~extra["source"].isin(diag.sources["source"])]], ignore_index=True
        )
    return diagnostics
