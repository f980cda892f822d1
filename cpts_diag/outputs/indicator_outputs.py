"""Outputs of a :class:`~cpts_diag.indicators.Diagnostic`: terminal table, JSON rows, Excel workbook.

Everything here is read by users, so it is in French: French number format, ranges for masked or approximate
values, « n.d. » for what is not available, and a visible « DONNÉES FICTIVES » banner for fictitious data.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.fr_format import Style, unit_decimals
from cpts_diag.indicator_data import short_source
from cpts_diag.indicators import Diagnostic
from cpts_diag.schema import THEMES, Level, Quality
from cpts_diag.tiers import tier_label

FICTITIOUS_BANNER = (
    "!!! DONNÉES FICTIVES : les indicateurs de qualité « données fictives » proviennent d'un exemple "
    "inventé pour la démonstration ; ils ne décrivent pas la réalité. !!!"
)


def _quality_text(row) -> str:
    """The quality of a territory row, with its coverage when under 100 %."""
    coverage = row["coverage"]
    if not fr.is_missing(coverage) and coverage < 1 - 1e-9:
        return f"{row['quality']} (couv. {fr.percent(100 * coverage, 0, style=Style.TERMINAL)})"
    return str(row["quality"])


def _comparison_levels(diag: Diagnostic) -> list[tuple[str, str, str]]:
    """(level, code, name) of the comparison columns, in order."""
    ind = diag.indicators
    comp = ind[ind["level"] != Level.TERRITORY].drop_duplicates(["level", "level_code"])
    order = {Level.DEPARTEMENT: 0, Level.REGION: 1, Level.FRANCE: 2}
    comp = comp.assign(_o=comp["level"].map(order)).sort_values(["_o", "level_code"])
    return list(zip(comp["level"], comp["level_code"], comp["level_name"]))


def _wide(diag: Diagnostic) -> pd.DataFrame:
    """One row per indicator: its territory row, or only its label and source when it has none."""
    ind = diag.indicators
    first = ind.drop_duplicates("indicator").set_index("indicator")
    terr = ind[ind["level"] == Level.TERRITORY].set_index("indicator").reindex(first.index)
    sources = {c: terr[c].where(terr["level"].notna(), first[c]) for c in ("source", "vintage", "source_level")}
    return pd.DataFrame(
        {
            "label": first["label"],
            "theme": first["theme"],
            "unit": first["unit"],
            "value": terr["value"],
            "low": terr["value_low"],
            "high": terr["value_high"],
            **sources,
            "coverage": terr["coverage"],
            "quality": terr["quality"],
        }
    ).reset_index()


def _comparison_lookup(diag: Diagnostic) -> dict[tuple, tuple[float, float, float]]:
    """(indicator, level, code) -> (value, low, high) of every comparison row."""
    comp = diag.indicators[diag.indicators["level"] != Level.TERRITORY]
    keys = zip(comp["indicator"], comp["level"], comp["level_code"])
    return dict(zip(keys, zip(comp["value"], comp["value_low"], comp["value_high"])))


def _column_title(level: str, code: str) -> str:
    return {"departement": f"Dép. {code}", "region": f"Région {code}"}.get(level, "France")


def format_indicator_table(diag: Diagnostic, label_width: int = 48) -> str:
    """French table of a diagnostic for the terminal: indicateur, territoire, each département, région(s), France,
    unité, source, qualité (with the coverage when under 100 %)."""
    wide = _wide(diag)
    levels = _comparison_levels(diag)
    lookup = _comparison_lookup(diag)
    compared_ids = {key[0] for key in lookup}
    header = ["Indicateur", "Territoire", *[_column_title(lv, c) for lv, c, _ in levels], "Unité", "Source", "Qualité"]
    body: list[list[str] | str] = []
    theme = None
    for _, row in wide.iterrows():
        if row["theme"] != theme:
            theme = row["theme"]
            body.append(theme.upper())
        d = unit_decimals(row["unit"])
        cells = [fr.value_text(row["value"], row["low"], row["high"], d, style=Style.TERMINAL)]
        absent = fr.MISSING if row["indicator"] in compared_ids else ""
        comparisons = (lookup.get((row["indicator"], lv, code)) for lv, code, _name in levels)
        cells += [absent if v is None else fr.value_text(*v, d, style=Style.TERMINAL) for v in comparisons]
        quality = "territoire n.d. (source départementale)" if fr.is_missing(row["quality"]) else _quality_text(row)
        label_lines = textwrap.wrap(row["label"], label_width) or [""]
        fictitious = row["quality"] == Quality.FICTITIOUS
        body.append([label_lines[0], *cells, row["unit"], short_source(row["source"], fictitious), quality])
        body += [[extra] + [""] * (len(header) - 1) for extra in label_lines[1:]]
    widths = [max(map(len, column)) for column in zip(header, *(line for line in body if isinstance(line, list)))]
    numeric = set(range(1, 2 + len(levels)))

    def render(cells):
        return "  ".join(
            c.rjust(w) if j in numeric else c.ljust(w) for j, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    s = diag.summary
    lines = [FICTITIOUS_BANNER, ""] if diag.fictitious else []
    pop = fr.population(s.get("population"), s["population_min"], s["population_max"], style=Style.TERMINAL)
    pop += " hab." if s.get("population") is not None else " hab. (approchée : commune découpée)"
    tier = tier_label(s.get("tier"), s["tier_min"], s["tier_max"])
    lines.append(f"{diag.territory} — {s['n_communes']} commune(s), {pop}, {tier}")
    legend = [f"{_column_title(lv, c)} : {name}" for lv, c, name in levels if lv != Level.FRANCE]
    if legend:
        lines.append(" ; ".join(legend))
    lines += ["", render(header), render(["-" * w for w in widths])]
    lines += [f"— {line} —" if isinstance(line, str) else render(line) for line in body]
    lines += [
        "",
        "a–b : fourchette (valeur masquée ou approchée) ; ≥ a : minimum connu ; n.d. : non disponible ; "
        "couv. : part de la population du territoire couverte par les données.",
    ]
    if diag.fictitious:
        lines += ["", FICTITIOUS_BANNER]
    return "\n".join(lines)


def _json_number(x):
    return None if fr.is_missing(x) else float(x)


def _comparison_keys(levels) -> dict[tuple[str, str], str]:
    """JSON key of each comparison level: its code, "France"; a région whose code is also the code of a
    listed département (e.g. 84) is keyed ``region_84``."""
    dep_codes = {c for lv, c, _ in levels if lv == Level.DEPARTEMENT}
    return {
        (lv, code): "France"
        if lv == Level.FRANCE
        else f"region_{code}"
        if lv == Level.REGION and code in dep_codes
        else code
        for lv, code, _name in levels
    }


def indicator_rows_json(diag: Diagnostic) -> list[dict]:
    """One JSON-ready dict per indicator (the rows of ``cpts-diag indicators --json``).

    ``comparisons`` maps each département code, région code and "France" to the comparison value (None
    when not available or only known as a range). ``territory_value`` is None when the territory value is
    masked, approximate without a point estimate, or not available at that level (then ``quality`` and
    ``coverage`` are None).
    """
    wide = _wide(diag)
    levels = _comparison_levels(diag)
    keys = _comparison_keys(levels)
    value_of = {key: value for key, (value, _low, _high) in _comparison_lookup(diag).items()}
    return [
        {
            "indicator": row["indicator"],
            "label": row["label"],
            "level": Level.TERRITORY,
            "territory_value": _json_number(row["value"]),
            "territory_low": _json_number(row["low"]),
            "territory_high": _json_number(row["high"]),
            "comparisons": {
                keys[(lv, c)]: _json_number(value_of.get((row["indicator"], lv, c))) for lv, c, _ in levels
            },
            "unit": row["unit"],
            "source": row["source"],
            "vintage": row["vintage"],
            "source_level": row["source_level"],
            "coverage": _json_number(row["coverage"]),
            "quality": None if fr.is_missing(row["quality"]) else row["quality"],
        }
        for _, row in wide.iterrows()
    ]


_COMMUNE_HEADERS = {
    "code_insee": "Code commune",
    "arrondissement": "Arrondissement municipal",
    "unit": "Code unité",
    "nom": "Nom",
    "departement": "Département",
    "epci_siren": "EPCI (SIREN)",
    "infracommunal": "Commune découpée (infracommunal)",
    "bv2022": "Code bassin de vie 2022",
    "bassin_de_vie": "Bassin de vie",
    "cpam_cellules_masquees": "Cellules CPAM masquées",
    "population_2016": "Population municipale 2016 (COG 2026 ; vide = commune rétablie depuis)",
    "evolution_pop_2016_2023": "Évolution annuelle moyenne 2016-2023 (%/an)",
    "revenu_median_2019": "Revenu disponible médian par UC 2019 (€, Filosofi ; vide = non publié)",
    "personnes_menages_fiscaux_2019": "Personnes des ménages fiscaux 2019 (Filosofi, poids de la médiane)",
    "zonage_infirmiers": "Zonage infirmiers (ARS 2024)",
    "fedi_2021": "Score F-EDI 2021 (plus élevé = plus défavorisé ; vide = non disponible)",
    "fedi_quintile": "Quintile national F-EDI 2021 (5 = le plus défavorisé ; vide = non disponible)",
    "mortalite_brute_epci": "Taux brut de mortalité de l'EPCI 2013-2018 (‰, non standardisé)",
}
_SOURCE_HEADERS = {
    "source": "Source",
    "producer": "Producteur",
    "vintage": "Millésime",
    "level": "Niveau géographique",
    "license": "Licence",
    "note": "Note",
}
_FICTITIOUS_NOTE = (
    "Données fictives : les indicateurs marqués « données fictives » viennent d'un exemple inventé "
    "pour la démonstration ; ils ne décrivent pas la réalité."
)


def _range_text(v, lo, hi, decimals):
    if not fr.is_missing(v):
        return float(v)
    return fr.value_text(v, lo, hi, decimals, missing=None, style=Style.EXCEL)


def write_indicator_workbook(diag: Diagnostic, path, perimeter: tuple[pd.DataFrame, list[str]] | None = None) -> Path:
    """Excel workbook of a diagnostic (French headers, codes as text).

    Sheets: « Périmètre » first when ``perimeter`` (table and notes of
    :func:`cpts_diag.outputs.check_workbook.perimeter_sheet`) is given, then one per theme (one row per indicator:
    territory value and bounds, each comparison level, source, vintage, level of the source, coverage, quality),
    « Détail » (every indicator and level, long format), « Communes » (per-unit detail), « Professions (BPE) » when a
    BPE file was given, « Sources ». Sheets using fictitious data carry a « Données fictives » note above the table.
    """
    from cpts_diag.outputs.export import write_workbook

    wide = _wide(diag)
    levels = _comparison_levels(diag)
    lookup = _comparison_lookup(diag)
    sheets: dict[str, pd.DataFrame] = {}
    notes: dict[str, list[str]] = {}
    if perimeter is not None:
        sheets["Périmètre"], notes["Périmètre"] = perimeter
    head = f"Territoire : {diag.territory} ({diag.summary['n_communes']} commune(s))"
    labels = dict(zip(diag.indicators["indicator"], diag.indicators["label"]))
    units = dict(zip(diag.indicators["indicator"], diag.indicators["unit"]))
    france_rows = diag.indicators[diag.indicators["level"] == Level.FRANCE]
    france_names = dict(zip(france_rows["indicator"], france_rows["level_name"]))
    for theme in THEMES:
        part = wide[wide["theme"] == theme]
        if part.empty:
            continue
        table = pd.DataFrame(
            {
                "Indicateur": part["label"].to_numpy(),
                "Unité": part["unit"].to_numpy(),
                "Territoire": part["value"].astype(float).to_numpy(),
                "Territoire – borne basse": part["low"].astype(float).to_numpy(),
                "Territoire – borne haute": part["high"].astype(float).to_numpy(),
            }
        )
        for lv, code, name in levels:
            title = "France" if lv == Level.FRANCE else f"{name} ({code})"
            found = [(lookup.get((ident, lv, code)), unit) for ident, unit in zip(part["indicator"], part["unit"])]
            values = [None if v is None else _range_text(*v, unit_decimals(unit)) for v, unit in found]
            numeric = all(v is None or isinstance(v, float) for v in values)  # else ranges as text
            table[title] = np.array(values, dtype=float if numeric else object)
        fields = [france_names.get(ident, "France") for ident in part["indicator"]]
        if any(f != "France" for f in fields):  # what France's figure leaves out (Mayotte, the DROM...)
            table["France : champ"] = ["" if f == "France" else f for f in fields]
        table["Source"] = part["source"].to_numpy()
        table["Millésime"] = part["vintage"].astype(str).to_numpy()
        table["Niveau de la source"] = part["source_level"].to_numpy()
        table["Couverture du territoire (%)"] = (100 * part["coverage"].astype(float)).to_numpy()
        table["Qualité"] = part["quality"].fillna("territoire non disponible").to_numpy()
        table["Identifiant"] = part["indicator"].to_numpy()
        sheets[theme] = table
        notes[theme] = [head] + ([_FICTITIOUS_NOTE] if (part["quality"] == Quality.FICTITIOUS).any() else [])
        if (part["quality"] == Quality.MASKED).any():
            notes[theme].append(
                "Partiellement masquée : une partie de la population n'est pas couverte par la "
                "source (voir la colonne Couverture) ; valeurs masquées inconnues, jamais zéro."
            )

    ind = diag.indicators
    sheets["Détail"] = pd.DataFrame(
        {
            "Identifiant": ind["indicator"],
            "Indicateur": ind["label"],
            "Thème": ind["theme"],
            "Niveau": ind["level"].map(
                {
                    Level.TERRITORY: "territoire",
                    Level.DEPARTEMENT: "département",
                    Level.REGION: "région",
                    Level.FRANCE: "France",
                }
            ),
            "Code du niveau": ind["level_code"],
            "Nom du niveau": ind["level_name"],
            "Valeur": ind["value"],
            "Borne basse": ind["value_low"],
            "Borne haute": ind["value_high"],
            "Unité": ind["unit"],
            "Source": ind["source"],
            "Millésime": ind["vintage"].astype(str),
            "Niveau de la source": ind["source_level"],
            "Couverture (%)": 100 * ind["coverage"],
            "Qualité": ind["quality"],
        }
    )
    notes["Détail"] = [head] + ([_FICTITIOUS_NOTE] if diag.fictitious else [])

    communes = diag.communes.copy()
    if "infracommunal" in communes:
        communes["infracommunal"] = np.where(communes["infracommunal"].astype(bool), "oui", "non")
    headers = {
        c: _COMMUNE_HEADERS.get(c) or f"{labels.get(c, c)} ({units.get(c, '')})".replace(" ()", "")
        for c in communes.columns
    }
    sheets["Communes"] = communes.rename(columns=headers)
    first = ind.drop_duplicates("indicator").set_index("indicator")
    column_sources: dict = {}  # source (vintage, level) -> the columns it gives
    for c in communes.columns:
        ident = "fedi_2021" if c == "fedi_quintile" else c  # the quintile of the commune's own score
        if ident in first.index:
            r = first.loc[ident]
            key = f"{r['source']} (millésime {r['vintage']}, niveau {r['source_level']})"
            column_sources.setdefault(key, []).append(headers[c])
    notes["Communes"] = [
        head,
        "Valeurs propres à chaque commune (ou arrondissement) ; vide = non disponible ou masqué, jamais zéro (par "
        "exemple l'indice F-EDI, publié pour la France métropolitaine seulement, dans les DROM).",
        "Sources des colonnes : " + " ; ".join(f"{', '.join(cols)} : {src}" for src, cols in column_sources.items()),
    ]
    if set(ind.loc[ind["quality"] == Quality.FICTITIOUS, "indicator"]) & set(communes.columns):
        notes["Communes"].append(_FICTITIOUS_NOTE)
    from cpts_diag.outputs.open_report import bpe_professions

    professions = bpe_professions(diag)
    if not professions.empty:
        sheets["Professions (BPE)"] = professions
        notes["Professions (BPE)"] = [
            head,
            (
                f"Territoire : INSEE, BPE {professions['Millésime BPE'].iloc[0]} (fichier fourni), niveau commune, "
                "nombre d'équipements (lieux d'exercice ; pharmacies pour D307) ; densité pour 10 000 habitants "
                "(population légale 2023). Fichier « une ligne par équipement » ou « ensemble » : une commune d'un "
                "département présent dans le fichier mais sans ligne pour une profession en compte 0 ; case vide "
                "d'un tableau par commune = inconnue. Comparaisons : Assurance Maladie 2024, libéraux (professionnels, "
                "pas lieux d'exercice), vide quand la profession n'y figure pas ou que sa densité y est rapportée à "
                "une autre population que les habitants (sages-femmes, gynécologues, pédiatres)."
            ),
        ]
    sheets["Sources"] = diag.sources.drop(columns="fictitious").rename(columns=_SOURCE_HEADERS)
    notes["Sources"] = [head] + ([_FICTITIOUS_NOTE] if diag.fictitious else [])
    # as text besides the code columns that write_workbook finds by their names
    text_columns = ["Identifiant", "Millésime", "Millésime BPE"]
    return write_workbook(Path(path), sheets, text_columns=text_columns, notes=notes)
