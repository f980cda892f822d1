"""Report fragments of the open-data indicators (French HTML): trend chart, income, zonage, mortality notes.

Called by :mod:`cpts_diag.reports.sections`; every fragment cites source, vintage and level, and names
what is unknown instead of counting it as zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.outputs.templating import macro
from cpts_diag.schema import Level

TREND_YEARS = ("2016", "2019", "2020", "2021", "2022", "2023")
#: Indicators of the demography table (the yearly populations are shown in the chart only).
TREND_INDICATORS = ("evolution_pop_2016_2023", "evolution_pop_2019_2023")


#: The F-EDI quintile of a commune on the maps: its legend title, and the label of the communes without one.
FEDI_LABEL = "Indice de défavorisation F-EDI 2021 (quintile national)"
FEDI_MISSING = "non disponible"


def fedi_classes():
    """The five national F-EDI quintiles as map classes: ordered colours, 1 the least deprived, 5 the most
    (printed map and carte.html alike)."""
    from cpts_diag.outputs.maps.classes import PALETTES, Classification

    labels = ["1 : le moins défavorisé", "2", "3", "4", "5 : le plus défavorisé"]
    return Classification([2.0, 3.0, 4.0, 5.0], labels, list(PALETTES["YlOrRd"]), decimals=0)


def _series(diag, level: str, code: str) -> list[float]:
    """Population of a level in each year of ``TREND_YEARS`` (NaN when unknown)."""
    ind = diag.indicators
    rows = ind[ind["level"] == level]
    if level != Level.TERRITORY:
        rows = rows[rows["level_code"] == code]
    values = rows.drop_duplicates("indicator").set_index("indicator")["value"]
    return [float(values.get("population" if year == "2023" else f"population_{year}", np.nan)) for year in TREND_YEARS]


def population_trend_figure(diag):
    """Matplotlib figure: population index of the territory and its levels, all at 100 in the same year.

    The base year is the first vintage every drawn curve knows (France has no 2016 value: Mayotte's population
    was not published; a territory with a split commune may lack some years): a curve is drawn over the years
    it knows, and its legend names the years it lacks. Returns None when no curve has two known vintages.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [(Level.TERRITORY, diag.territory, "Territoire")]
    for level in (Level.DEPARTEMENT, Level.REGION):
        sub = diag.indicators[(diag.indicators["level"] == level) & (diag.indicators["indicator"] == "population_2016")]
        levels += [(level, c, n) for c, n in zip(sub["level_code"], sub["level_name"])]
    levels.append((Level.FRANCE, "FR", "France"))
    years = np.array([int(y) for y in TREND_YEARS])
    curves = [(name, np.array(_series(diag, level, code))) for level, code, name in levels]
    kept = [(i, name, values) for i, (name, values) in enumerate(curves) if (~np.isnan(values)).sum() >= 2]
    common = np.logical_and.reduce([~np.isnan(values) for _i, _n, values in kept]) if kept else None
    if common is None or not common.any():
        return None
    base = int(np.argmax(common))  # first year known by every curve
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for i, name, values in kept:
        known = ~np.isnan(values)
        missing = [str(y) for y in years[~known]]
        label = str(name) + (f" (n.d. en {', '.join(missing)})" if missing else "")
        ax.plot(years[known], 100 * values[known] / values[base], marker="o", lw=2.5 if i == 0 else 1.2, label=label)
    ax.set_ylabel(f"indice (base 100 en {years[base]})")
    ax.set_xticks(years)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _names(communes: pd.DataFrame) -> list[str]:
    """« Nom (code) » of each row of a per-unit table."""
    return [f"{n} ({c})" for n, c in zip(communes["nom"].astype(str), communes["unit"].astype(str))]


def _render(macro_name: str, /, *args) -> str:
    """One macro of ``templates/fragments/open_report.html.j2`` rendered as a plain ``str``."""
    return str(macro("fragments/open_report.html.j2", macro_name)(*args))


def income_note(diag) -> str:
    """French paragraph: what the income figures are, the communes without a median (named), and the communes'
    own medians with their weight when the territory has no quartiles (too few communes, or one over half of
    the weight: see :func:`cpts_diag.open_indicators.income_is_a_distribution`)."""
    com = diag.communes
    missing = com[com["revenu_median_2019"].isna()] if "revenu_median_2019" in com else com.iloc[0:0]
    names = _names(missing)
    shown = ", ".join(names[:40]) + (" …" if len(names) > 40 else "")
    ind = diag.indicators
    terr = set(ind.loc[ind["level"] == Level.TERRITORY, "indicator"])
    medians = []
    if "revenu_median_communes_min" in terr and "revenu_median_communes_q1" not in terr:
        known = com[com["revenu_median_2019"].notna()].sort_values("personnes_menages_fiscaux_2019", ascending=False)
        total = known["personnes_menages_fiscaux_2019"].sum()
        medians = [
            {"name": name, "value": f"{fr.integer(v)}{fr.NNBSP}€", "share": f"{fr.percent(100 * w / total, 0)}"}
            for name, v, w in zip(_names(known), known["revenu_median_2019"], known["personnes_menages_fiscaux_2019"])
        ]
    return _render("income_note", len(names), shown, medians)


def zonage_note(diag) -> str:
    """French list of the communes in « très sous-dotée » or « sous-dotée » nurse zones."""
    com = diag.communes
    if "zonage_infirmiers" not in com:
        return ""
    subsets = [(label, com[com["zonage_infirmiers"] == label]) for label in ("très sous-dotée", "sous-dotée")]
    zones = [(label, len(sub), ", ".join(_names(sub))) for label, sub in subsets if len(sub)]
    return _render("zonage_note", zones, int((com["zonage_infirmiers"] == "n.d.").sum()))


def deprivation_note(diag) -> str:
    """French note of the F-EDI section: what the index is, the communes of the most deprived national quintile
    named with their population, the population 2023 of the territory's communes by quintile, and what is not
    available (DROM and Mayotte, a whole city published by arrondissement) — never counted as zero."""
    com = diag.communes
    if "fedi_quintile" not in com:
        return ""
    quintile = com["fedi_quintile"]
    scored = com["fedi_2021"].notna() if "fedi_2021" in com else quintile.notna()
    pops = [(k, float(com.loc[quintile == k, "population"].sum())) for k in range(1, 6)]
    most = com[quintile == 5].sort_values("population", ascending=False)
    deprived = [f"{name} ({fr.integer(p)}{fr.NNBSP}hab.)" for name, p in zip(_names(most), most["population"])]
    several = _names(com[scored & quintile.isna()])  # a whole city: its arrondissements in several quintiles
    missing = com[~scored]

    def count(p: float) -> str:  # « aucun habitant », never « 0 hab. »
        return "aucun habitant" if p == 0 else f"{fr.integer(p)}{fr.NNBSP}hab."

    parts = [f"quintile {k} : {count(p)}" for k, p in pops]
    if len(missing):
        parts.append(f"non disponible : {count(float(missing['population'].sum()))} ({', '.join(_names(missing))})")
    text = " ; ".join(parts)
    return _render(
        "deprivation_note",
        bool(scored.any()),
        deprived,
        float(most["population"].sum()),
        text if text.endswith(".") else text + ".",
        ", ".join(several),
    )


def mortality_note(diag) -> str:
    """French caveat on the crude mortality rate and the EPCI that could not be matched."""
    com = diag.communes
    missing = com[com["mortalite_brute_epci"].isna()] if "mortalite_brute_epci" in com else com.iloc[0:0]
    return _render("mortality_note", ", ".join(_names(missing)))


def _fedi_text(score, quintile) -> str:
    if fr.is_missing(score):
        return FEDI_MISSING
    if fr.is_missing(quintile):
        return f"score {fr.number(score, 2)} (arrondissements de plusieurs quintiles)"
    return f"quintile {int(quintile)} sur 5 (score {fr.number(score, 2)})"


def map_columns(map_communes, communes):
    """Add French tooltip columns (income, nurse zonage, 75+, single-parent families, F-EDI) and the F-EDI quintile
    to the map's per-commune table.

    ``revenu_median`` (€), ``zonage_inf`` (label), ``part_75_plus_txt``, ``familles_txt`` (census 2022 shares),
    ``fedi_txt`` (« quintile 4 sur 5 (score 6,12) ») are texts (« n.d. », « non disponible » when unknown) and
    ``fedi_quintile`` the quintile (1 to 5, NaN when unknown) of the diagnostic's per-unit table, keyed by map unit
    (commune, or arrondissement of Paris, Lyon and Marseille); a unit listed on several rows gets « voir le
    tableau ».
    """
    if map_communes is None or "revenu_median_2019" not in communes:
        return map_communes
    out = map_communes.copy()
    keys = (communes["unit"] if "unit" in communes else communes["code_insee"]).astype(str)
    units = communes.assign(_key=keys.to_numpy()).dropna(subset=["_key"])  # a unit without a key is not shown
    texts = {
        "revenu_median": {
            k: "n.d." if fr.is_missing(v) else f"{fr.integer(v)}{fr.NNBSP}€"
            for k, v in zip(units["_key"], units["revenu_median_2019"])
        },
        "zonage_inf": {k: str(z) for k, z in zip(units["_key"], units["zonage_infirmiers"])},
    }
    for column, share in (("part_75_plus_txt", "part_75_plus"), ("familles_txt", "part_familles_monoparentales")):
        if share in units:
            texts[column] = {k: fr.percent(v, missing=FEDI_MISSING) for k, v in zip(units["_key"], units[share])}
    quintiles = {}
    if "fedi_quintile" in units:
        texts["fedi_txt"] = {
            k: _fedi_text(v, q) for k, v, q in zip(units["_key"], units["fedi_2021"], units["fedi_quintile"])
        }
        quintiles = dict(zip(units["_key"], units["fedi_quintile"]))
    for code in units.loc[units["_key"].duplicated(), "_key"]:
        for values in texts.values():
            values[code] = "voir le tableau"
        quintiles[code] = np.nan
    codes = out["code_insee"].astype(str)
    for column, values in texts.items():
        out[column] = codes.map(values).fillna("n.d.")
    if "fedi_txt" in texts:
        out["fedi_quintile"] = codes.map(quintiles).astype(float)
    return out


# ------------------------------------------------------------------ professions (user BPE file)
def bpe_professions(diag) -> pd.DataFrame:
    """Territory BPE counts and densities of every profession of the user's BPE file (empty table without one),
    beside Ameli densities; French headers, as the report and the Excel sheet show them.

    One row per equipment code of the diagnostic (``nombre_mg`` for D265, ``bpe_nombre_dxxx`` otherwise), in the
    order of the indicators. The Assurance Maladie 2024 density (libéraux, per 10,000) of each département, région
    and France is given only when the profession has a matching Ameli profession whose density is per inhabitants
    like the BPE one (the Assurance Maladie relates midwives, gynaecologists and paediatricians to women or children).
    """
    from cpts_diag.indicators import bpe_indicator_ids
    from cpts_diag.professions import BPE_PROFESSIONS, GP_EQUIPMENT, bpe_label

    ind = diag.indicators
    terr = ind[ind["level"] == Level.TERRITORY].drop_duplicates("indicator").set_index("indicator")
    codes = [
        GP_EQUIPMENT if ident == "nombre_mg" else ident.removeprefix("bpe_nombre_").upper()
        for ident in terr.index
        if ident == "nombre_mg" or ident.startswith("bpe_nombre_")
    ]
    if not codes:  # no BPE file: nothing to compare (every report asks, twice)
        return pd.DataFrame()
    comparisons = ind[ind["indicator"].str.startswith("ps_") & (ind["level"] != Level.TERRITORY)]
    levels = list(dict.fromkeys(zip(comparisons["level"], comparisons["level_code"], comparisons["level_name"])))
    ameli = {(r.indicator, r.level, r.level_code): (r.value, r.unit) for r in comparisons.itertuples(index=False)}
    rows = []
    for code in codes:
        count_id, density_id = bpe_indicator_ids(code)
        c, d = terr.loc[count_id], terr.loc[density_id]
        key = BPE_PROFESSIONS.get(code, (None, None))[1]
        row = {
            "Code BPE": code,
            "Profession": bpe_label(code),
            "Équipements (BPE)": c["value"],
            "Équipements – borne basse": c["value_low"],
            "Équipements – borne haute": c["value_high"],
            "Pour 10 000 hab. (BPE)": d["value"],
            "Pour 10 000 hab. – borne basse": d["value_low"],
            "Pour 10 000 hab. – borne haute": d["value_high"],
            "Qualité": c["quality"],
            "Couverture (%)": 100 * float(c["coverage"]),
            "Millésime BPE": str(c["vintage"]),
        }
        for level, lcode, name in levels:
            value, unit = ameli.get((f"ps_{key}_densite", level, lcode), (np.nan, None)) if key else (np.nan, None)
            value = value if unit == d["unit"] else np.nan  # only a density of the same denominator
            title = "France" if level == Level.FRANCE else f"{name} ({lcode})"
            row[f"Libéraux pour 10 000 hab. (Assurance Maladie 2024) – {title}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def professions_table(diag) -> str:
    """French HTML table of :func:`bpe_professions` with its source notes (empty string without BPE file)."""
    table = bpe_professions(diag)
    if table.empty:
        return ""
    ameli_cols = [c for c in table.columns if c.startswith("Libéraux pour 10 000 hab.")]
    count, density = "Équipements", "Pour 10 000 hab."
    rows = [
        {
            "label": r["Profession"],
            "code": r["Code BPE"],
            "count": fr.value_text(r[f"{count} (BPE)"], r[f"{count} – borne basse"], r[f"{count} – borne haute"], 0),
            "density": fr.value_text(
                r[f"{density} (BPE)"], r[f"{density} – borne basse"], r[f"{density} – borne haute"], 1
            ),
            "ameli": ["—" if fr.is_missing(r[c]) else fr.number(r[c], 1) for c in ameli_cols],
            "quality": str(r["Qualité"]),
            "coverage": fr.number(r["Couverture (%)"], 0) if r["Couverture (%)"] < 99.5 else None,
        }
        for r in table.to_dict("records")
    ]
    titles = [c.split(" – ", 1)[1] for c in ameli_cols]
    return _render("professions_table", titles, rows, table["Millésime BPE"].iloc[0])
