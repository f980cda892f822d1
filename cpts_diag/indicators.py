"""Diagnostic indicators of CPTS territories, each compared with its départements, régions and France.

:func:`diagnose_all` computes every indicator for every territory of a perimeter file in one vectorised
pass: the population units of all territories (:func:`cpts_diag.territories.population_units`) and all
communes of France (grouped by département) form one membership table; each data source is joined to it
once and reduced to per-unit sums, then to per-group sums with ``numpy.bincount``; régions and France
are sums of their départements. Every indicator is a sum or a ratio of sums, so one code path serves the
territories and their comparison levels ("computed the same way over all communes of that level").

Conventions
-----------
* Ratios (APL, densities, shares) are ratios of sums over the units with data: APL weighted by the
  standardised population (DREES note), bassin-de-vie values weighted by the population légale.
* ``coverage`` is the share of the population (légale) of the group living in units with data.
* A commune split below the commune level (Nice, Toulon) contributes between nothing and all of itself:
  counts are then given as bounds only (``value`` NaN), ratios as the value with the whole commune and
  bounds "without … with" it; quality « approchée ». The bounds assume the split communes of one
  territory are all in or all out, exact when a territory has one split commune (PACA).
* Masked counts (CPAM) are unknown, never zero: sums are ranges (known sum … known sum + masked cells ×
  threshold), shares ``[num.low / den.high, num.high / den.low]`` as :func:`cpts_diag.masked.share_bounds`.
* Comparison levels with coverage under :data:`~cpts_diag.indicator_engine.MIN_COMPARISON_COVERAGE` are not shown (NaN).

Examples
--------
>>> from cpts_diag.io.perimeters import read_perimeters
>>> from cpts_diag import settings
>>> diag = diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS du Gapençais")
>>> diag.territory
'CPTS du Gapençais'
>>> row = diag.indicators.query("indicator == 'apl_mg_2023' and level == 'territoire'").iloc[0]
>>> row["quality"], row["source_level"]
('exacte', 'commune')
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cpts_diag.errors import InputError
from cpts_diag.indicator_data import (
    APL_MEASURES,
    APL_YEARS,
    BV_INDICATORS,
    SOURCES,
    IndicatorData,
    Source,
    attach_codes,
    load_indicator_data,
    sources_table,
    user_source,
)
from cpts_diag.indicator_engine import (
    Pass,
    Result,
    Spec,
    bincount,
    evaluate,
    keyed_spec,
    special_values,
    unit_value,
)
from cpts_diag.open_indicators import add_open_indicators
from cpts_diag.professions import GP_EQUIPMENT, bpe_label
from cpts_diag.reference import Reference, load_reference
from cpts_diag.schema import INDICATOR_COLUMNS, LEVELS, THEMES, Level, Theme
from cpts_diag.territories import france_name, population_units, resolve_members, territory_table
from cpts_diag.text import fold

#: APL threshold of under-served communes (consultations/year/inhabitant), strict: APL < 2.5.
APL_THRESHOLD = 2.5


@dataclass
class Diagnostic:
    """Indicators of one territory, with their comparisons and sources.

    * ``territory``: the territory name as in the perimeter file.
    * ``indicators``: one row per (indicator, level); columns :data:`INDICATOR_COLUMNS`. Levels: « territoire »,
      each « departement » the territory touches, its « region »(s), « france » (métropole + DROM).
    * ``communes``: one row per population unit (commune, or arrondissement municipal): identification columns,
      then one column per indicator id with the unit's own value (NaN when unknown or masked).
    * ``sources``: one row per source used: source, producer, vintage, level, license, note.
    * ``summary``: population (NaN when approximate), population_min, population_max, approximate, tier,
      tier_min, tier_max, n_communes, area_km2, density, departements, regions (codes), departements_noms,
      regions_noms.
    * ``fictitious``: True when any indicator comes from fictitious data.
    """

    territory: str
    indicators: pd.DataFrame
    communes: pd.DataFrame
    sources: pd.DataFrame
    summary: dict = field(default_factory=dict)
    fictitious: bool = False


# ----------------------------------------------------------------------------------- helpers
def find_territory(names, query: str | None, source=None) -> str:
    """Return the territory name of ``names`` (e.g. ``perimeters.table["cpts"].unique()``) matching ``query``.

    The one resolution of a name the user typed, called at the entry points only (command line, notebook entry
    functions, batch plan, runner); the domain takes the exact name (:func:`exact_territory`). Case, accents and
    spaces are ignored, and so is a leading "CPTS". Without a match, raises :class:`~cpts_diag.errors.InputError`
    naming the file ``source`` and listing the close matches (difflib, names containing the query).
    ``query`` None or blank: the only territory of ``names``; with several, an InputError listing them.

    Examples
    --------
    >>> find_territory(["CPTS du Gapençais", "CPTS Verdon"], "cpts du gapencais")
    'CPTS du Gapençais'
    >>> find_territory(["CPTS du Bassin Burgien"], None)
    'CPTS du Bassin Burgien'
    """
    names = list(dict.fromkeys(str(n) for n in names))
    if query is None or not str(query).strip():
        if len(names) == 1:
            return names[0]
        listing = ", ".join(f"« {n} »" for n in names[:8]) + ("…" if len(names) > 8 else "")
        raise InputError(
            f"le fichier contient {len(names)} territoires : précisez lequel (--territoire) : {listing}", source
        )
    if query in names:
        return query
    folded: dict[str, str] = {}
    for name in names:
        folded.setdefault(fold(name), name)
    key = fold(query)
    if key in folded:
        return folded[key]
    # "guil durance" for "CPTS Guil Durance": the same name without the leading "CPTS"
    bare = {k.removeprefix("cpts ").strip(): n for k, n in folded.items()}
    bare_key = key.removeprefix("cpts ").strip()
    if bare_key in bare:
        return bare[bare_key]
    close = [folded[k] for k in folded if key and key in k]
    close += [folded[k] for k in difflib.get_close_matches(key, list(folded), n=5, cutoff=0.5)]
    close = list(dict.fromkeys(close))[:5]
    if close:
        raise InputError(
            "territoire inconnu ; noms proches : " + ", ".join(f"« {c} »" for c in close), source, None, query
        )
    raise InputError(f"territoire inconnu ; {len(names)} territoire(s) dans le fichier", source, None, query)


def exact_territory(perimeters, name: str) -> pd.DataFrame:
    """The rows of territory ``name`` (exact, as in the file) of a Perimeters or of its canonical table; a name not
    in the file raises :class:`~cpts_diag.errors.InputError` naming it (no close match: :func:`find_territory`)."""
    table = _as_table(perimeters)
    rows = table[table["cpts"].astype(str) == name]
    if rows.empty:
        raise InputError(
            "territoire absent du fichier (nom exact attendu)", getattr(perimeters, "source", None), None, name
        )
    return rows


def _as_table(perimeters) -> pd.DataFrame:
    """The canonical perimeter table of a Perimeters, or the table itself."""
    return perimeters.table if hasattr(perimeters, "table") else perimeters


def _keyed(rows: pd.DataFrame) -> pd.DataFrame:
    """Add the matching key of each source row.

    A population unit is matched on its key: an arrondissement municipal code, or a commune code. A
    whole-commune row matches the commune; arrondissement rows match their arrondissement, and their
    commune too when the source has no whole-commune row for it (Marseille given by arrondissement).
    """
    whole = rows[rows["arrondissement"].isna()]
    by_arr = rows[rows["arrondissement"].notna()]
    lift = by_arr[~by_arr["code_insee"].isin(set(whole["code_insee"]))]
    parts = [whole.assign(key=whole["code_insee"]), by_arr.assign(key=by_arr["arrondissement"])]
    return pd.concat([*parts, lift.assign(key=lift["code_insee"])], ignore_index=True)


# ------------------------------------------------------------------------------ user files
def _read_user(kind: str, value):
    """(table, source entry) of a user file given as a path or as an already parsed object."""
    from cpts_diag.io import userfiles

    if kind == "cpam":
        table = value if isinstance(value, userfiles.CpamTable) else userfiles.read_cpam_table(value)
        return table, user_source("cpam", table.source, table.annee, table.fictitious)
    reader = userfiles.read_insee_ages if kind == "insee_ages" else userfiles.read_bpe
    table = value if isinstance(value, pd.DataFrame) else reader(value)
    return table, user_source(kind, table.attrs.get("source"), table.attrs.get("millesime"))


# --------------------------------------------------------------------------- sources
def _add_territory(p: Pass, data: IndicatorData) -> None:
    area = p.m["key"].map(data.areas).to_numpy(dtype=float)
    has_area = ~np.isnan(area)
    area = np.nan_to_num(area)
    p.unit_values.update({"population|num": p.population.copy(), "superficie|num": area})
    p.unit_values.update({"densite_population|num": p.population * has_area, "densite_population|den": area})
    p.has.update(population=np.ones(p.n_rows, dtype=bool), superficie=has_area, densite_population=has_area)
    cog, poly = SOURCES["cog"], SOURCES["polygons"]
    p.specs += [
        keyed_spec("population", "Population municipale", Theme.TERRITORY, "hab.", cog, "2023", "sum"),
        keyed_spec("superficie", "Superficie", Theme.TERRITORY, "km²", poly, "ADMIN EXPRESS, COG 2026", "sum"),
        keyed_spec("densite_population", "Densité de population", Theme.TERRITORY, "hab./km²", poly, "2023"),
        Spec("nombre_communes", "Nombre de communes", Theme.TERRITORY, "communes", cog, "COG 2026", "special"),
        Spec("taille_aci", "Taille ACI (1 à 4)", Theme.TERRITORY, "taille", cog, "2023", "special"),
    ]


def _add_apl(p: Pass, data: IndicatorData) -> None:
    src, theme = SOURCES["apl"], Theme.ACCESS
    row, joined = p.join(_keyed(data.apl))
    for year in APL_YEARS:
        popstd = joined[f"pop_standardisee_{year}"].to_numpy(dtype=float)
        poptot = joined[f"pop_totale_{year}"].to_numpy(dtype=float)
        for measure, label in APL_MEASURES.items():
            ind = f"{measure}_{year}"
            under, part = f"{ind}_pop_sous_seuil", f"{ind}_part_sous_seuil"
            apl = joined[ind].to_numpy(dtype=float)
            known = ~np.isnan(apl)
            p.add_ratio(ind, row, known & ~np.isnan(popstd), apl * popstd, popstd)
            p.add_ratio(under, row, known & ~np.isnan(poptot), np.where(apl < APL_THRESHOLD, poptot, 0.0), poptot)
            short = "APL MG" if measure == "apl_mg" else "APL MG de moins de 65 ans"
            below = f"vivant dans une commune à {short} < 2,5 ({year})"
            p.specs += [
                keyed_spec(ind, f"{label} {year}", theme, "consultations/an/hab.", src, year),
                keyed_spec(under, f"Population {below}", theme, "hab.", src, year, "sum"),
                keyed_spec(part, f"Part de la population {below}", theme, "%", src, year, key=under, scale=100.0),
            ]


def _add_bv(p: Pass, data: IndicatorData, skip: set[str]) -> None:
    row, joined = p.join(data.bv.reset_index(), on="code_insee")
    pop = p.population[row]
    for ind, (column, label, theme, unit) in BV_INDICATORS.items():
        if ind in skip:
            continue
        values = joined[ind].to_numpy(dtype=float)
        p.add_ratio(ind, row, ~np.isnan(values), values * pop, pop)
        src, vintage = SOURCES["bv"], column.rsplit(" ", 1)[1]  # the year that ends the published header
        p.specs.append(keyed_spec(ind, label, theme, unit, src, vintage, source_level="bassin de vie", proxy=True))


#: Census 2022 shares per commune: id (a column of ``IndicatorData.social``) -> (French label, theme, proxy).
_SOCIAL_SHARES = {
    "part_75_plus": ("Part des 75 ans et plus", Theme.DEMOGRAPHY, False),
    "part_familles_monoparentales": (
        "Part des familles monoparentales (parmi les familles ; moyenne pondérée par la population)",
        Theme.SOCIAL,
        True,  # weighted by the population: the number of families is not published here
    ),
}
FEDI_QUINTILES = range(1, 6)


_FEDI_ROWS: dict[tuple[int, int], pd.DataFrame] = {}


def _fedi_rows(data: IndicatorData, reference: Reference) -> pd.DataFrame:
    """The units with an F-EDI score, keyed for :meth:`Pass.join` (built once per data and reference)."""
    key = (id(data), id(reference))
    if key not in _FEDI_ROWS:
        social = data.social
        scored = social[social["fedi_2021"].notna() & social["population_2022"].notna()]
        rows = attach_codes(scored.index, reference).assign(
            score=scored["fedi_2021"].to_numpy(),
            quintile=scored["fedi_quintile"].to_numpy(),
            w=scored["population_2022"].to_numpy(),
        )
        _FEDI_ROWS.clear()
        _FEDI_ROWS[key] = _keyed(rows[rows["code_insee"].notna()])
    return _FEDI_ROWS[key]


def _add_social(p: Pass, data: IndicatorData, skip: set[str]) -> None:
    """Census 2022 shares (75+, single-parent families) and the F-EDI 2021 deprivation index, per commune.

    Every value is weighted by the unit's census 2022 population (``population_2022``). The shares are published
    for whole Paris, Lyon and Marseille: an arrondissement gets its city's share, flagged approximate. F-EDI is
    published by arrondissement there: a whole city gathers its arrondissements (:func:`_keyed`).
    """
    social = data.social
    key, commune = p.m["key"].astype(str), p.m["code_insee"].astype(str)
    weight = key.map(social["population_2022"]).to_numpy(dtype=float)
    everyone = np.arange(p.n_rows)
    src = SOURCES["rp_social"]
    for ind, (label, theme, proxy) in _SOCIAL_SHARES.items():
        if ind in skip:
            continue
        own = key.map(social[ind]).to_numpy(dtype=float)
        city = commune.map(social[ind]).to_numpy(dtype=float)
        from_city = np.isnan(own) & ~np.isnan(city) & (key != commune).to_numpy()
        share = np.where(from_city, city, own)
        ok = ~np.isnan(share) & ~np.isnan(weight)
        p.add_ratio(ind, everyone, ok, share * weight, weight)
        p.approx[ind] = from_city & ok
        p.specs.append(keyed_spec(ind, label, theme, "%", src, "2022", proxy=proxy, by_arrondissement=False))
    # F-EDI: the published units (communes, arrondissements), whole cities from their arrondissements
    row, joined = p.join(_fedi_rows(data, p.reference))
    w, ok = joined["w"].to_numpy(dtype=float), np.ones(len(row), dtype=bool)
    fedi = SOURCES["fedi"]
    p.add_ratio("fedi_2021", row, ok, joined["score"].to_numpy(dtype=float) * w, w)
    label = "Indice de défavorisation F-EDI (score moyen pondéré par la population ; plus élevé = plus défavorisé)"
    p.specs.append(keyed_spec("fedi_2021", label, Theme.SOCIAL, "score F-EDI", fedi, "2021"))
    quintile = joined["quintile"].to_numpy(dtype=float)
    for k in FEDI_QUINTILES:
        ind = f"fedi_quintile_{k}_part"
        p.add_ratio(ind, row, ok, np.where(quintile == k, w, 0.0), w)
        extreme = " : le plus défavorisé" if k == 5 else " : le moins défavorisé" if k == 1 else ""
        label = f"Part de la population dans les communes du quintile {k} national de F-EDI ({k} sur 5{extreme})"
        p.specs.append(keyed_spec(ind, label, Theme.SOCIAL, "%", fedi, "2021", scale=100.0, unit_column=False))
    p.unit_values["fedi_quintile"] = np.where(p.flags(row, ok), bincount(row, quintile, p.n_rows), np.nan)


def _count_and_density(ids, labels, unit: str, src: Source, vintage: str, key: str, **options) -> list[Spec]:
    """Specs of a count (``key|num``) and of its density per 10 000 inhabitants with data (``key|den``)."""
    return [
        keyed_spec(ids[0], labels[0], Theme.SUPPLY, unit, src, vintage, "sum", key, **options),
        keyed_spec(ids[1], labels[1], Theme.SUPPLY, "pour 10 000 hab.", src, vintage, key=key, scale=1e4, **options),
    ]


def _add_departement_gps(p: Pass, data: IndicatorData) -> None:
    """BPE 2024 GP counts by département: comparison levels only."""
    dep_rows = p.m.iloc[p.n_terr_rows :]
    count = dep_rows["departement"].map(data.departements["nb_mg_bpe_2024"]).to_numpy(dtype=float)
    known = ~np.isnan(count)
    first = ~dep_rows["departement"].duplicated().to_numpy()  # each département's count, once
    has = np.r_[np.zeros(p.n_terr_rows, dtype=bool), known]
    p.unit_values["mg_dep|num"] = np.r_[np.zeros(p.n_terr_rows), np.where(first & known, count, 0.0)]
    p.unit_values["mg_dep|den"] = p.population * has
    p.has["mg_dep"] = has
    labels = ("Médecins généralistes (BPE)", "Densité de médecins généralistes (BPE)")
    departemental = {"source_level": "département", "departement_only": True}
    p.specs += _count_and_density(
        ("nombre_mg", "densite_mg"), labels, "médecins", SOURCES["departements"], "2024", "mg_dep", **departemental
    )


def _source_rows(table: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """Keyed rows of a user table indexed by published codes, resolved to current communes (unknown codes out)."""
    codes = attach_codes(table.index.astype(str), reference)[["code_insee", "arrondissement"]]
    rows = pd.concat([codes, table.reset_index(drop=True).drop(columns=["code_insee"], errors="ignore")], axis=1)
    return _keyed(rows[rows["code_insee"].notna()])


def bpe_indicator_ids(code: str) -> tuple[str, str]:
    """(count id, density id) of the BPE indicators of an equipment code."""
    if code == GP_EQUIPMENT:
        return "nombre_mg", "densite_mg"
    return f"bpe_nombre_{code.lower()}", f"bpe_densite_{code.lower()}"


def _add_bpe(p: Pass, table: pd.DataFrame, src: Source) -> None:
    """Counts and densities of every health profession of the BPE file (D265 first, as ``nombre_mg``).

    Long layouts list equipments: a commune of a département with at least one counted row in the file,
    but without a row for a profession, has 0 of it — when the profession appears somewhere in the file
    (a profession absent from the whole file stays unknown). Wide tables: an absent commune or a blank
    cell is unknown. A :func:`~cpts_diag.io.userfiles.read_bpe_gp` table is accepted.
    """
    long_layout = table.attrs.get("layout", "long") == "long"
    if "nb_medecins_generalistes" in table.columns and GP_EQUIPMENT not in table.columns:
        table = table[["nb_medecins_generalistes"]].rename(columns={"nb_medecins_generalistes": GP_EQUIPMENT})
    else:  # the equipment-code columns
        codes = [c for c in table.columns if isinstance(c, str) and len(c) == 4 and c[0] == "D" and c[1:].isdigit()]
        table = table[codes]
    rows = _source_rows(table, p.reference)
    row, joined = p.join(rows)
    covered = set(p.reference.communes["departement"].reindex(rows["code_insee"]).dropna())
    # zero when known absent: long layout, a département of the file, no row for the unit
    zero = p.m["departement"].isin(covered).to_numpy() & long_layout & ~p.flags(row, np.ones(len(row)))
    for code in dict.fromkeys([GP_EQUIPMENT, *table.columns]):
        key = "mg" if code == GP_EQUIPMENT else f"bpe_{code}"
        present = code in table.columns  # a profession absent from the whole file is unknown everywhere
        count = joined[code].to_numpy(dtype=float) if present else np.full(len(row), np.nan)
        p.add(f"{key}|num", row, count)
        p.has[key] = p.flags(row, ~np.isnan(count)) | (zero & present)
        p.unit_values[f"{key}|den"] = p.population * p.has[key]
        equipment = f"(BPE, équipement {code})"
        if code == GP_EQUIPMENT:
            labels = (f"Médecins généralistes {equipment}", f"Densité de médecins généralistes {equipment}")
            unit = "médecins"
        else:
            labels = (f"{bpe_label(code)} {equipment}", f"{bpe_label(code)} pour 10 000 hab. {equipment}")
            unit = "équipements"
        p.specs += _count_and_density(bpe_indicator_ids(code), labels, unit, src, src.vintage, key)


_AGE_BANDS = {
    "part_moins_15": ("pop_0_14", "Part des moins de 15 ans (0-14 ans)"),
    "part_15_29": ("pop_15_29", "Part des 15-29 ans"),
    "part_30_44": ("pop_30_44", "Part des 30-44 ans"),
    "part_45_59": ("pop_45_59", "Part des 45-59 ans"),
    "part_60_74": ("pop_60_74", "Part des 60-74 ans"),
    "part_75_plus": ("pop_75p", "Part des 75 ans et plus"),
}


def _add_ages(p: Pass, table: pd.DataFrame, src: Source) -> None:
    cols = [c for c in ("pop_total", *(b for b, _ in _AGE_BANDS.values()), "pop_0_19", "pop_65p") if c in table.columns]
    row, joined = p.join(_source_rows(table[cols], p.reference))
    total = joined["pop_total"].to_numpy(dtype=float)
    for ind, (band, label) in _AGE_BANDS.items():
        values = joined[band].to_numpy(dtype=float)
        p.add_ratio(ind, row, ~np.isnan(values) & ~np.isnan(total), values, total)
        p.specs.append(keyed_spec(ind, label, Theme.DEMOGRAPHY, "%", src, src.vintage, scale=100.0))
    if "pop_65p" in joined and "pop_0_19" in joined:
        old, young = joined["pop_65p"].to_numpy(dtype=float), joined["pop_0_19"].to_numpy(dtype=float)
        ind, unit = "indice_vieillissement", "pour 100 moins de 20 ans"
        p.add_ratio(ind, row, ~np.isnan(old) & ~np.isnan(young), old, young)
        label = "Indice de vieillissement (65 ans et plus pour 100 moins de 20 ans)"
        p.specs.append(keyed_spec(ind, label, Theme.DEMOGRAPHY, unit, src, src.vintage, scale=100.0))


_CPAM_SHARES = {
    "part_sans_mt_17_plus": (
        "patients_17ans_plus_sans_mt",
        "patients_17ans_plus",
        "Part des patients de 17 ans et plus sans médecin traitant",
        Theme.ACCESS,
    ),
    "part_sans_mt_70_plus": (
        "patients_70ans_plus_sans_mt",
        "patients_70ans_plus",
        "Part des patients de 70 ans et plus sans médecin traitant",
        Theme.ACCESS,
    ),
    "part_sans_mt_ald": (
        "patients_ald_sans_mt",
        "patients_ald",
        "Part des patients en ALD sans médecin traitant",
        Theme.ACCESS,
    ),
    "part_sans_mt_css": (
        "beneficiaires_css_sans_mt",
        "beneficiaires_css",
        "Part des bénéficiaires de la CSS sans médecin traitant",
        Theme.ACCESS,
    ),
    "part_ald_cpam": (
        "patients_ald",
        "population_consommante",
        "Part des patients en ALD (base : population consommante)",
        Theme.SOCIAL,
    ),
    "part_css_cpam": (
        "beneficiaires_css",
        "population_consommante",
        "Part des bénéficiaires de la CSS (base : population consommante)",
        Theme.SOCIAL,
    ),
}
_CPAM_COUNTS = {
    "patients_sans_mt_17_plus": ("patients_17ans_plus_sans_mt", "Patients de 17 ans et plus sans médecin traitant"),
    "patients_sans_mt_70_plus": ("patients_70ans_plus_sans_mt", "Patients de 70 ans et plus sans médecin traitant"),
    "patients_ald_sans_mt": ("patients_ald_sans_mt", "Patients en ALD sans médecin traitant"),
}
#: Indicators computed from a CPAM / Rézone CPTS table (absent without one).
CPAM_INDICATORS = (*_CPAM_SHARES, *_CPAM_COUNTS)


def _add_cpam(p: Pass, cpam, src: Source) -> None:
    counts = list(cpam.counts)
    cols = [f"{c}{suffix}" for c in counts for suffix in ("", "_masked", "_upper")]
    row, joined = p.join(_source_rows(cpam.table[cols], p.reference))
    p.has["cpam"] = p.flags(row, np.ones(len(row)))
    for c in counts:
        value = joined[c].to_numpy(dtype=float)
        masked = joined[f"{c}_masked"].to_numpy(dtype=bool) | np.isnan(value)
        upper = joined[f"{c}_upper"].to_numpy(dtype=float)
        p.add(f"{c}|low", row, np.where(masked, 0.0, value))
        p.add(f"{c}|bound", row, np.where(masked, np.where(np.isnan(upper), np.inf, upper), 0.0))
        p.add(f"{c}|nmask", row, masked * 1.0)
    p.specs += [
        Spec(ind, label, theme, "%", src, src.vintage, "masked_ratio", num, den, "cpam", scale=100.0)
        for ind, (num, den, label, theme) in _CPAM_SHARES.items()
        if num in counts and den in counts
    ]
    p.specs += [
        Spec(ind, label, Theme.ACCESS, "patients", src, src.vintage, "masked_sum", num, has="cpam")
        for ind, (num, label) in _CPAM_COUNTS.items()
        if num in counts
    ]


# ------------------------------------------------------------------------------- public API
#: Indicators replaced by the commune figures of a user file (bassin-de-vie proxies, census 2022 shares).
_REPLACED_PROXIES = {"insee_ages": {"part_75_plus", "part_moins_15"}, "bpe": {"densite_mg_liberaux"}}


def diagnose_all(
    perimeters, reference: Reference | None = None, cpam=None, insee_ages=None, bpe=None
) -> dict[str, Diagnostic]:
    """Diagnostic of every territory of a perimeter set, in one vectorised pass, in the order of the file.

    ``perimeters`` is a Perimeters (:func:`cpts_diag.io.perimeters.read_perimeters`) or its canonical table;
    ``reference`` defaults to the embedded COG 2026. Optional user files, paths or parsed tables:

    * ``cpam``: CPAM / Rézone CPTS commune table (:func:`cpts_diag.io.userfiles.read_cpam_table`). Default:
      none — pass ``settings.DEFAULT_CPAM`` explicitly for the fictitious demo.
    * ``insee_ages``: INSEE population by age per commune (:func:`cpts_diag.io.userfiles.read_insee_ages`);
      replaces the bassin-de-vie shares of the 75+ and under-15 by the commune age structure.
    * ``bpe``: INSEE BPE (:func:`cpts_diag.io.userfiles.read_bpe`, or a
      :func:`~cpts_diag.io.userfiles.read_bpe_gp` table); replaces the bassin-de-vie GP density by
      commune-level GP counts and densities, and adds the count and density of every other health
      profession of the file (:func:`bpe_indicator_ids`).
    """
    reference = reference or load_reference()
    data = load_indicator_data()
    members = resolve_members(_as_table(perimeters), reference)
    units = population_units(members, reference)
    terr_table = territory_table(members, reference, units=units)
    p = Pass(list(members["cpts"]), units, reference)
    given = {"insee_ages": insee_ages, "bpe": bpe, "cpam": cpam}
    user = {kind: _read_user(kind, value) for kind, value in given.items() if value is not None}

    replaced = {ind for kind in user for ind in _REPLACED_PROXIES.get(kind, ())}
    _add_territory(p, data)
    _add_apl(p, data)
    _add_social(p, data, replaced)
    _add_bv(p, data, replaced)
    if "insee_ages" in user:
        _add_ages(p, *user["insee_ages"])
    if "bpe" in user:
        _add_bpe(p, *user["bpe"])
    else:
        _add_departement_gps(p, data)
    if "cpam" in user:
        _add_cpam(p, *user["cpam"])

    specs = sorted(p.specs, key=lambda s: THEMES.index(s.theme))  # stable: order within theme kept
    results = special_values(p, terr_table)
    results.update({spec.id: evaluate(p, spec) for spec in specs if spec.kind != "special"})
    out = _split(p, specs, _long_table(p, specs, results), _unit_table(p, specs, data, units), terr_table, results)
    return add_open_indicators(out, units, reference)


def territory_indicators(perimeters, ids, reference: Reference | None = None) -> pd.DataFrame:
    """A few indicators of every territory of ``perimeters``, computed as :func:`diagnose_all` computes them but from
    the sources they need only: the APL (``apl_mg_2023``…) and the census 2022 shares and F-EDI (``part_75_plus``…).
    No comparison level, no other source: a quick look at territories a change touches.

    Columns: territory, indicator, label, value, value_low, value_high, unit, source, vintage, quality (one row per
    territory and indicator of ``ids`` these sources give).
    """
    reference = reference or load_reference()
    data = load_indicator_data()
    members = resolve_members(_as_table(perimeters), reference)
    p = Pass(list(members["cpts"]), population_units(members, reference), reference)
    _add_apl(p, data)
    _add_social(p, data, set())
    rows = []
    for spec in p.specs:
        if spec.id not in set(ids):
            continue
        r = evaluate(p, spec)
        rows += [
            {
                "territory": name,
                "indicator": spec.id,
                "label": spec.label,
                "value": r.value[gid],
                "value_low": r.value_low[gid],
                "value_high": r.value_high[gid],
                "unit": spec.unit,
                "source": spec.source.label,
                "vintage": spec.vintage,
                "quality": r.quality[gid],
            }
            for gid, name in enumerate(p.territories)
        ]
    return pd.DataFrame(
        rows,
        columns=[
            "territory",
            "indicator",
            "label",
            "value",
            "value_low",
            "value_high",
            "unit",
            "source",
            "vintage",
            "quality",
        ],
    )


def _long_table(p: Pass, specs: list[Spec], results: dict[str, Result]) -> pd.DataFrame:
    level = [Level.TERRITORY] * p.n_terr + [Level.DEPARTEMENT] * len(p.dep_gid) + [Level.REGION] * len(p.reg_gid)
    level.append(Level.FRANCE)
    codes = [*p.territories, *p.dep_gid, *p.reg_gid, "FR"]
    names = [
        *p.territories,
        *(p.reference.departement_name(d) for d in p.dep_gid),
        *(p.reference.region_name(r) for r in p.reg_gid),
        "France",
    ]
    # a territory made only of arrondissements municipaux is described at that level
    terr = p.m.iloc[: p.n_terr_rows]
    arr_only = terr["arrondissement"].notna().groupby(terr["group"]).all().reindex(range(p.n_terr), fill_value=False)
    dep_codes = np.array(list(p.dep_gid), dtype=object)
    frames = []
    for order, spec in enumerate(specs):
        r = results[spec.id]
        source_level = np.full(p.n_groups, spec.source_level, dtype=object)
        if spec.source_level == "commune" and spec.kind != "special" and spec.by_arrondissement:
            source_level[: p.n_terr] = np.where(arr_only, "arrondissement municipal", spec.source_level)
        group_names = names
        if not np.isnan(r.value[p.france_gid]) or not np.isnan(r.value_low[p.france_gid]):
            # France's figure shown without some départements (Mayotte, the DROM): its name says so
            left_out = dep_codes[r.coverage[p.n_terr : p.n_base] <= 0]
            group_names = [*names[:-1], france_name(p.reference, left_out)] if len(left_out) else names
        frame = pd.DataFrame(
            {
                "_group": np.arange(p.n_groups),
                "_order": order,
                "indicator": spec.id,
                "label": spec.label,
                "theme": spec.theme,
                "level": level,
                "level_code": codes,
                "level_name": group_names,
                "value": r.value,
                "value_low": r.value_low,
                "value_high": r.value_high,
                "unit": spec.unit,
                "source": spec.source.label,
                "vintage": spec.vintage,
                "source_level": source_level,
                "coverage": r.coverage,
                "quality": r.quality,
                "_fictitious": spec.source.fictitious,
                "_source_key": spec.source.key,
            }
        )
        frames.append(frame[r.present])
    return pd.concat(frames, ignore_index=True)


def _unit_table(p: Pass, specs: list[Spec], data: IndicatorData, units: pd.DataFrame) -> pd.DataFrame:
    terr = p.m.iloc[: p.n_terr_rows]
    bv = data.bv.reindex(terr["code_insee"])
    table = pd.DataFrame(
        {
            "cpts": units["cpts"].to_numpy(),
            "code_insee": terr["code_insee"].to_numpy(),
            "arrondissement": terr["arrondissement"].to_numpy(),
            "unit": terr["key"].to_numpy(),
            "nom": terr["key"].map(p.reference.names).to_numpy(),
            "departement": terr["departement"].to_numpy(),
            "epci_siren": terr["code_insee"].map(p.reference.communes["epci_siren"]).to_numpy(),
            "infracommunal": terr["infra"].to_numpy(),
            "bv2022": bv["bv2022"].to_numpy(),
            "bassin_de_vie": bv["bassin_de_vie"].to_numpy(),
        }
    )
    for spec in specs:
        if spec.kind != "special" and not spec.departement_only and spec.unit_column:
            table[spec.id] = unit_value(p, spec)
    if "fedi_2021" in table:  # the national quintile of each unit with a score (none for a whole PLM city)
        quintile = p.unit_values["fedi_quintile"][: p.n_terr_rows]
        table["fedi_quintile"] = np.where(np.isin(quintile, list(FEDI_QUINTILES)), quintile, np.nan)
    if "cpam" in p.has:
        masked = sum(v[: p.n_terr_rows] for k, v in p.unit_values.items() if k.endswith("|nmask"))
        table["cpam_cellules_masquees"] = np.where(p.has["cpam"][: p.n_terr_rows], masked, np.nan)
    return table


def _split(p: Pass, specs, long, communes, terr_table, results: dict[str, Result]) -> dict[str, Diagnostic]:
    """One Diagnostic per territory: its rows of the long and unit tables, its sources and summary."""
    rank = long["level"].map(LEVELS.index).to_numpy()
    long = long.iloc[np.lexsort((long["level_code"].to_numpy(), rank, long["_order"].to_numpy()))]
    long = long.reset_index(drop=True)
    group = long["_group"].to_numpy()
    fictitious_row = long["_fictitious"].to_numpy(dtype=bool)
    source_key = long["_source_key"].to_numpy()
    public = long[INDICATOR_COLUMNS]
    commune_rows = communes.groupby("cpts", sort=False).indices
    communes = communes.drop(columns="cpts")
    table = terr_table.set_index("cpts")
    spec_sources = {"cog": SOURCES["cog"], **{spec.source.key: spec.source for spec in specs}}  # one Source per key
    source_tables: dict[tuple, pd.DataFrame] = {}
    out: dict[str, Diagnostic] = {}
    for gid, name in enumerate(p.territories):
        info = table.loc[name]
        groups = (
            [gid]
            + [p.dep_gid[d] for d in info["departements"] if d in p.dep_gid]
            + [p.reg_gid[r] for r in info["regions"] if r in p.reg_gid]
            + [p.france_gid]
        )
        idx = np.flatnonzero(np.isin(group, groups))
        keys = tuple(dict.fromkeys(["cog", *source_key[idx]]))
        if keys not in source_tables:
            srcs = [spec_sources[k] for k in keys]
            if "bv" in keys:
                srcs.insert(keys.index("bv") + 1, SOURCES["bv_table"])
            source_tables[keys] = sources_table(srcs)
        area, density = results["superficie"].value[gid], results["densite_population"].value[gid]
        out[name] = Diagnostic(
            territory=name,
            indicators=public.iloc[idx].reset_index(drop=True),
            communes=communes.iloc[commune_rows.get(name, [])].reset_index(drop=True),
            sources=source_tables[keys].copy(),
            summary=_summary(info, p.reference, area, density),
            fictitious=bool(fictitious_row[idx].any()),
        )
    return out


def _summary(info: pd.Series, reference: Reference, area: float, density: float) -> dict:
    return {
        "population": None if pd.isna(info["population"]) else float(info["population"]),
        "population_min": float(info["population_min"]),
        "population_max": float(info["population_max"]),
        "approximate": bool(info["approximate"]),
        **{k: None if pd.isna(info[k]) else int(info[k]) for k in ("tier", "tier_min", "tier_max")},
        "n_communes": int(info["n_communes"]),
        "area_km2": float(area),
        "density": float(density),
        "departements": list(info["departements"]),
        "regions": list(info["regions"]),
        "departements_noms": [reference.departement_name(d) for d in info["departements"]],
        "regions_noms": [reference.region_name(r) for r in info["regions"]],
    }


def diagnose(
    perimeters, territory: str, reference: Reference | None = None, cpam=None, insee_ages=None, bpe=None
) -> Diagnostic:
    """Diagnostic of territory ``territory`` (its exact name, :func:`exact_territory`; see :func:`diagnose_all` for
    the other parameters)."""
    subset = exact_territory(perimeters, territory)
    return diagnose_all(subset, reference, cpam=cpam, insee_ages=insee_ages, bpe=bpe)[territory]
