"""What the diagnostic notebook (02) displays, section by section.

The notebook ``02_diagnostic_territorial.ipynb`` is thin: one cell loads everything with
:func:`cpts_diag.reports.report_data.load_report_data`, then each cell displays one section returned
by a function of this module. Every section is a :class:`Section` — an HTML fragment, French, numbers
formatted the French way, every user text escaped, figures embedded as PNG — that JupyterLab shows and
nbconvert exports as is (no script, no external resource). The sections follow part 1 of a projet de
santé: the territory, its demography, the care supply, access to care, a synthesis of strengths and
weaknesses, then sources and limits. The header opens with the check of the territory's perimeter
(:func:`perimeter_check`): blocking findings and names that do not match their codes in a box at the top,
then every finding that concerns the territory.

:func:`write_outputs` writes the files a report folder ships beside ``rapport.html``: ``carte.html``
(offline interactive map), ``indicateurs.xlsx`` and ``perimetre.gpkg``.

Examples
--------
>>> from cpts_diag.reports.report_data import load_report_data
>>> data = load_report_data("CPTS Pays Grassois")  # skipped: computes a diagnostic, ~2 s  # doctest: +SKIP
>>> header(data)  # skipped: displays in a notebook only  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.indicator_data import short_source
from cpts_diag.indicators import CPAM_INDICATORS
from cpts_diag.io.params import is_embedded_listing
from cpts_diag.outputs import open_report
from cpts_diag.outputs.check_text import BLOCKING, INFORMATION, TO_CHECK, perimeter_items
from cpts_diag.outputs.html import html_page, json_ready
from cpts_diag.outputs.templating import Markup, macro
from cpts_diag.reports.display import notebook_html, written_href
from cpts_diag.reports.folder import REPORT_FILES, SUMMARY_MIMETYPE
from cpts_diag.reports.report_data import MAP_INDICATOR, ReportData
from cpts_diag.schema import Level, Quality
from cpts_diag.synthesis import FICTITIOUS_PRECEDENCE, GAP_RULE, PRECEDENCE_RULE, derive_findings, source_citation
from cpts_diag.tiers import (
    NATIONAL,
    NEAR_THRESHOLD_RULE,
    TIER_RULE,
    financing_landmarks,
    margin_label,
    near_threshold,
    tier_label,
    tier_margin,
)

#: Indicators shown as key figures (header, batch index), in order.
KEY_FIGURES = (
    "apl_mg_2023",
    "apl_mg_2023_part_sous_seuil",
    "densite_mg_liberaux",
    "part_75_plus",
    "part_sans_mt_17_plus",
    "evolution_pop_2016_2023",
    "revenu_median_communes_p50",
    "zonage_infirmiers_pop_sous_dotee",
    "part_familles_monoparentales",
    "fedi_quintile_5_part",
)
#: What a key figure known to be zero says, where « 0 hab. » or « 0,0 % » would read as a figure to act on: by unit
#: (counts of inhabitants) and by indicator (shares of the population).
ZERO_COUNTS = {
    "hab.": "aucun habitant",
    "apl_mg_2023_part_sous_seuil": "aucun habitant",
    "fedi_quintile_5_part": "aucun habitant",
}
#: Indicator of the maps (static map of section 1 and carte.html): MAP_INDICATOR, its label and unit.
MAP_LABEL = "APL aux médecins généralistes 2023"
MAP_UNIT = "consultations/an/hab."
#: Decimals of the map values (tooltips) and of their class limits, on the printed map and carte.html alike.
MAP_DECIMALS = 2

#: Template of the HTML of the sections (one macro per section or piece).
_TEMPLATE = "fragments/report_sections.html.j2"

FICTITIOUS_TEXT = (
    "Données fictives — les chiffres issus de la table CPAM (patients sans médecin traitant, ALD, CSS) "
    "sont un exemple inventé pour la démonstration : ils ne décrivent pas la réalité du territoire. "
    "Remplacez-les par la table transmise par votre CPAM (paramètre fichier_cpam)."
)


# ---------------------------------------------------------------------------------- display object
class Section:
    """An HTML fragment a notebook displays (and nbconvert exports without code).

    ``html`` is already escaped where needed, ``text`` is the plain-text fallback and ``extra`` holds additional
    mimetype -> data entries of the display bundle (e.g. the machine-readable summary). The notebook shows
    ``html`` with the report's style sheets scoped to it (:func:`cpts_diag.reports.display.notebook_html`: the
    same look in JupyterLab as in rapport.html); the export to rapport.html takes them off.
    """

    def __init__(self, html: str, text: str = "", extra: dict | None = None):
        self.html = html
        self.text = text or "(section HTML)"
        self.extra = dict(extra or {})

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": notebook_html(self.html), "text/plain": self.text, **self.extra}

    def __str__(self) -> str:
        return self.html


# ------------------------------------------------------------------------------ formatting helpers
def _rows(data: ReportData, indicator: str) -> pd.DataFrame:
    ind = data.indicators
    return ind[ind["indicator"] == indicator]


def _territory_row(data: ReportData, indicator: str) -> pd.Series | None:
    """First territory row of ``indicator`` (None when there is none)."""
    pos = data.territory_positions.get(indicator)
    return None if pos is None else data.indicators.iloc[pos]


def _key_rows(data: ReportData) -> list[tuple[str, pd.Series]]:
    """(indicator, territory row) of each key figure the territory has, in :data:`KEY_FIGURES` order."""
    return [(ind, row) for ind in KEY_FIGURES if (row := _territory_row(data, ind)) is not None]


def _value_text(row: pd.Series | None, with_unit: bool = False) -> str:
    if row is None:
        return "n.d."
    return fr.value_text(row["value"], row["value_low"], row["value_high"], unit=str(row["unit"]), show_unit=with_unit)


def _key_text(row: pd.Series) -> str:
    """A key figure with its unit; a count known to be zero in words (« aucun habitant »)."""
    zero = ZERO_COUNTS.get(str(row["indicator"])) or ZERO_COUNTS.get(str(row["unit"]))
    if zero and row["value"] == 0 and fr.is_missing(row["value_low"]) and fr.is_missing(row["value_high"]):
        return zero
    return _value_text(row, with_unit=True)


def _render(macro_name: str, /, **context) -> str:
    """One macro of ``templates/fragments/report_sections.html.j2`` rendered as a plain ``str``."""
    return str(macro(_TEMPLATE, macro_name)(**context))


def _population_text(summary: dict) -> str:
    text = fr.population(
        summary.get("population"), summary.get("population_min"), summary.get("population_max"), missing=None
    )
    if text is None:
        return "population inconnue"
    return f"{text}\u00a0habitants" + (" (valeur approchée)" if fr.is_missing(summary.get("population")) else "")


def _departements_text(summary: dict) -> str:
    return ", ".join(
        f"{n} ({c})" for n, c in zip(summary.get("departements_noms", []), summary.get("departements", []))
    )


def _tier_text(summary: dict) -> str:
    return tier_label(summary.get("tier"), summary.get("tier_min"), summary.get("tier_max"), explain=True)


def threshold_note(summary: dict, short: bool = False) -> str | None:
    """The French note of a territory within 5 % of an ACI threshold (its tier may change with a few communes), or
    of one whose population bounds come that near (not decidable); None otherwise. ``short``: for the key
    figures of the header."""
    margin = tier_margin(summary.get("population"))
    near = near_threshold(summary.get("population_min"), summary.get("population_max"))
    if near is None or (margin is None and summary.get("tier") is None):
        return None  # bounds in two tiers: the tier itself is shown undetermined
    if margin is None:
        if short:
            return "proximité d'un seuil non vérifiable"
        return (
            "Population connue par ses bornes, à moins de 5 % d'un seuil de taille : l'écart au seuil n'est pas "
            "vérifiable."
        )
    if short:
        return f"proche d'un seuil : {margin_label(*margin)}"
    return (
        f"Proche d'un seuil : {margin_label(*margin)} (moins de 5 %) ; quelques communes de plus ou de moins "
        "changeraient la taille ACI, donc le financement."
    )


def _written_href(data: ReportData, kind: str) -> str | None:
    """Link to the file ``kind`` that :func:`write_outputs` writes (:func:`written_href`), None without ``out_dir``."""
    return None if data.out_dir is None else written_href(Path(data.out_dir) / REPORT_FILES[kind])


def _report_command(data: ReportData) -> str:
    """The ``cpts-diag report`` command that writes this territory's report with its files (the perimeter file
    relative to the current folder, as :func:`written_href` gives it)."""
    file = [] if is_embedded_listing(data.perimeters_path) else [written_href(data.perimeters_path)]
    return shlex.join(["cpts-diag", "report", *file, "--territoire", data.territory])


def _figure_html(fig, caption: str, alt: str) -> str:
    """The figure as an embedded PNG (96 dpi) with its caption."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return _render("figure", png_base64=data, alt=alt, caption=Markup(caption))


# ------------------------------------------------------------------------------ summary and header
def key_figures(data: ReportData) -> dict[str, dict]:
    """Key figures of the territory: French label -> {indicator, value, low, high, unit, text, fictitious}."""
    out = {}
    for ind, row in _key_rows(data):
        fictitious = row["quality"] == Quality.FICTITIOUS
        text = _key_text(row) + (" (données fictives)" if fictitious else "")
        out[str(row["label"])] = {
            "indicator": ind,
            "value": None if fr.is_missing(row["value"]) else float(row["value"]),
            "low": None if fr.is_missing(row["value_low"]) else float(row["value_low"]),
            "high": None if fr.is_missing(row["value_high"]) else float(row["value_high"]),
            "unit": str(row["unit"]),
            "text": text,
            "fictitious": fictitious,
        }
    return out


def perimeter_summary(data: ReportData) -> dict:
    """Counts of the territory's perimeter findings by level (``bloquant``, ``à vérifier``, ``information``) and
    ``blocking``, for the batch index."""
    items = perimeter_items(data.perimeter)
    counts = {level: sum(i["level"] == level for i in items) for level in (BLOCKING, TO_CHECK, INFORMATION)}
    return {"blocking": bool(data.perimeter["blocking"]), **counts}


def report_summary(data: ReportData) -> dict:
    """Machine-readable summary (JSON-ready) read back by :func:`cpts_diag.reports.runner.build_report`."""
    out = json_ready(data.summary)
    out.update(
        territory=data.territory,
        perimeter=perimeter_summary(data),
        key_figures=key_figures(data),
        fictitious=bool(data.diag.fictitious),
        cpam=data.cpam_mode,
        python=sys.executable,
        outputs={k: str(v) for k, v in data.outputs.items()},
    )
    return out


def unavailable_reasons(data: ReportData) -> list[str]:
    """Why each key figure of the territory is not available (« n.d. »), from the data themselves.

    When no commune of the territory's départements has a value, the source does not cover them
    (Mayotte for the DREES APL, for instance); otherwise the values of its communes are absent or
    masked by statistical secrecy.
    """
    out = []
    for ind, row in _key_rows(data):
        if not (fr.is_missing(row["value"]) and fr.is_missing(row["value_low"])):
            continue
        rows = _rows(data, ind)
        deps = rows[rows["level"] == Level.DEPARTEMENT]
        empty = deps[deps["coverage"].fillna(0) == 0]
        source = short_source(str(row["source"]), row["quality"] == Quality.FICTITIOUS)
        if len(deps) and len(empty) == len(deps):
            names = ", ".join(f"{n} ({c})" for n, c in zip(empty["level_name"], empty["level_code"]))
            why = f"la source ({source}) ne fournit aucune donnée pour {names}"
        else:
            why = f"valeur absente ou masquée (secret statistique) dans la source ({source}) pour ces communes"
        out.append(f"{row['label']} : {why}")
    return out


def _key_sources(data: ReportData) -> str:
    """Sources of the key figures, grouped: « source (millésime, niveau) : indicateurs »."""
    groups: dict[str, list[str]] = {}
    for _ind, row in _key_rows(data):
        key = source_citation(row)
        label = str(row["label"])
        if label[:2] != label[:2].upper():  # « Part des… » -> « part des… », « APL… » kept
            label = label[0].lower() + label[1:]
        groups.setdefault(key, []).append(label)
    out = ["population et taille ACI : INSEE, populations légales 2023 (COG 2026), niveau commune"]
    out += [f"{', '.join(labels)} : {key}" for key, labels in groups.items()]
    return " ; ".join(out)


def _shared_population_note(data: ReportData) -> str | None:
    """« dont 8 606 hab. comptés aussi dans CPTS X » when communes of the territory are in conflict with others."""
    conflicts = [o for o in data.perimeter["overlaps"] if o["kind"] == "conflict"]
    if not conflicts:
        return None
    others = list(dict.fromkeys(t for o in conflicts for t in o["other_territories"]))
    population = fr.integer(data.perimeter["shared_population"])
    return f"dont {population}\u00a0hab. comptés aussi dans {fr.enumeration(others)}"


def perimeter_check(data: ReportData) -> Section:
    """The check of the territory's perimeter in the perimeter file: every finding that concerns it (overlaps with
    the population counted twice, outdated codes replaced, names that do not match their codes, duplicates,
    unknown codes, contiguity, enclaves, orphans and communes outside the file around it), blocking ones first,
    with the study-area rule and the sources."""
    html = _render(
        "perimeter_check",
        items=perimeter_items(data.perimeter),
        perimeters_name=data.perimeters_path.name,
        rule=data.perimeter["study_area_rule"],
        sources=" ; ".join(data.perimeter["sources"]).rstrip("."),
        geometry=data.perimeter["geometry_checks"],
        names=data.perimeter.get("names_checked", False),
    )
    return Section(html, "Périmètre du territoire")


def header(data: ReportData) -> Section:
    """Title, subtitle, fictitious-data banner, perimeter alerts, key figures (with the machine-readable
    summary), then the check of the perimeter (:func:`perimeter_check`)."""
    s = data.summary
    summary = report_summary(data)
    items = [
        ("Population légale 2023", _population_text(s), False, _shared_population_note(data)),
        ("Taille ACI", _tier_text(s).capitalize(), False, threshold_note(s, short=True)),
        ("Communes", fr.integer(s.get("n_communes")), False, None),
    ]
    items += [
        (label, kf["text"].replace(" (données fictives)", ""), kf["fictitious"], None)
        for label, kf in summary["key_figures"].items()
    ]
    html = _render(
        "header",
        territory=data.territory,
        places=" — ".join(x for x in (_departements_text(s), ", ".join(s.get("regions_noms", []))) if x),
        today=_dt.date.today().strftime("%d/%m/%Y"),
        banner_text=FICTITIOUS_TEXT if data.diag.fictitious else None,
        # in the box at the top: blocking findings, and names that are not their code's (another commune described?)
        alerts=[
            i for i in perimeter_items(data.perimeter) if i["level"] == BLOCKING or i["finding"] == "name_mismatches"
        ],
        blocking=bool(data.perimeter["blocking"]),
        items=items,
        key_sources=_key_sources(data),
        reasons=" ; ".join(unavailable_reasons(data)),
    )
    html += perimeter_check(data).html
    return Section(html, f"Diagnostic territorial — {data.territory}", extra={SUMMARY_MIMETYPE: summary})


def method(data: ReportData) -> Section:
    """The « Méthode » paragraph: how the figures were produced and compared."""
    html = _render(
        "method",
        cpam_mode=data.cpam_mode,
        insee_ages=bool(data.insee_ages),
        bpe=bool(data.bpe),
        perimeters_name=data.perimeters_path.name,
        gap_rule=GAP_RULE,
        precedence_rule=PRECEDENCE_RULE + (f" ; {FICTITIOUS_PRECEDENCE}" if data.cpam_mode == "exemple" else ""),
    )
    return Section(html, "Méthode")


# ------------------------------------------------------------------------------- comparison tables
def comparison_table(data: ReportData, indicators: list[str], caption: str = "") -> str:
    """HTML table of indicators (rows) by level (territory, départements, région, France).

    Each value is formatted the French way (a range when only bounds are known, « n.d. » when
    unknown); the territory's quality flag and coverage are shown; numbered notes give source,
    vintage and geographic level of each row.
    """
    cols = data.levels
    notes: dict[str, int] = {}  # note -> its number
    rows = []

    def coverage(r) -> str | None:
        cov = r["coverage"]
        return None if fr.is_missing(cov) or cov >= 0.995 else fr.number(100 * cov, 0)

    def cell(r, level: str) -> dict | None:
        if r is None:
            return None
        text = _value_text(r)
        range_ = text.startswith("entre") or "(" in text
        scope = r["level_name"] if level == Level.FRANCE and r["level_name"] != "France" else None  # what it leaves out
        cov = coverage(r) if level != Level.TERRITORY else None
        return {"text": text, "range": range_, "coverage": cov, "scope": scope}

    for indicator in indicators:
        by_level = data.lookup.get(indicator)
        if not by_level:
            continue
        first = next(iter(by_level.values()))
        note = f"{first['source']} — millésime {first['vintage']} — niveau {first['source_level']}"
        t = by_level.get((Level.TERRITORY, data.territory))
        quality = None if t is None else str(t["quality"])
        quality_coverage = None if t is None else coverage(t)
        rows.append(
            {
                "label": first["label"],
                "unit": first["unit"],
                "fictitious": any(r["quality"] == Quality.FICTITIOUS for r in by_level.values()),
                "cells": [cell(by_level.get((level, code)), level) for level, code, _h in cols],
                "quality": quality if quality or quality_coverage else None,
                "quality_fictitious": quality == Quality.FICTITIOUS,
                "quality_coverage": quality_coverage,
                "note": notes.setdefault(note, len(notes) + 1),
            }
        )
    return _render(
        "comparison_table",
        heads=[h for _l, _c, h in cols],
        rows=rows,
        notes=list(notes),
        caption=caption,
        banner_text=FICTITIOUS_TEXT if any(r["fictitious"] for r in rows) else None,
    )


def _theme_indicators(data: ReportData, theme: str, exclude=()) -> list[str]:
    ind = data.indicators
    ids = ind.loc[ind["theme"] == theme, "indicator"]
    return [i for i in dict.fromkeys(ids) if i not in exclude]


# ---------------------------------------------------------------------------- section 1: territory
def territory_overview(data: ReportData) -> Section:
    """Key facts (communes, EPCI, départements, area, density, population) and their comparison table."""
    s = data.summary
    communes = data.diag.communes
    sirens = [x for x in dict.fromkeys(communes["epci_siren"].dropna().astype(str)) if x]
    epci_names = [str(data.reference.epci["nom"].get(x, x)) for x in sirens]
    shared = _shared_population_note(data)
    facts = [
        ("Communes", f"{fr.integer(s.get('n_communes'))} (COG 2026)"),
        ("Intercommunalités (EPCI)", ", ".join(epci_names) if epci_names else "n.d."),
        ("Départements", _departements_text(s)),
        ("Région", ", ".join(s.get("regions_noms", []))),
        ("Population municipale 2023", _population_text(s) + (f" ({shared})" if shared else "")),
        ("Superficie", _value_text(_territory_row(data, "superficie"), with_unit=True)),
        ("Densité de population", _value_text(_territory_row(data, "densite_population"), with_unit=True)),
    ]
    infra = []
    if s.get("approximate"):
        infra = communes.loc[communes["infracommunal"].astype(bool), "nom"].astype(str).tolist()
    table = comparison_table(data, _theme_indicators(data, "Territoire", exclude=("taille_aci",)))
    html = _render(
        "territory_overview", facts=facts, infra=", ".join(infra), infra_count=len(infra), table=Markup(table)
    )
    return Section(html, "Le territoire")


def _map_spec(data: ReportData):
    """What the printed map and carte.html both draw: the communes coloured by MAP_INDICATOR in one set of classes
    (values and legend limits with MAP_DECIMALS decimals), the layers, orphans left out of the frame."""
    from cpts_diag.outputs.maps.classes import classify
    from cpts_diag.outputs.maps.spec import MapSpec

    classes = classify(data.polygons[MAP_INDICATOR], decimals=MAP_DECIMALS)
    layers: dict[str, Any] = {"outline": data.outline, "neighbours": data.neighbours, "orphans": data.orphans}
    return MapSpec(data.polygons, MAP_INDICATOR, MAP_LABEL, MAP_UNIT, classes, fit_orphans=False, **layers)


def territory_map(data: ReportData) -> Section:
    """Static (printable) map of the communes coloured by APL 2023, with neighbours and orphans."""
    from cpts_diag.commune_geo import MAP_SOURCE

    if data.map_communes is None or not len(data.map_communes):
        return Section(_render("no_map"), "Carte")
    fig = _printed_map(data)
    caption = _render(
        "map_caption",
        label=MAP_LABEL,
        unit=MAP_UNIT,
        map_source=MAP_SOURCE,
        perimeters_name=data.perimeters_path.name,
        orphans=data.orphans is not None and len(data.orphans) > 0,
    )
    figure = _figure_html(fig, caption, f"Carte du territoire {data.territory}")
    html = _render(
        "territory_map",
        figure_html=Markup(figure),
        map_href=_written_href(data, "carte"),
        notes=" ; ".join(sorted(set(data.map_communes["note"]) - {"—"})),
        missing_polygons=", ".join(data.missing_polygons),
    )
    return Section(html, "Carte du territoire")


def communes_table(data: ReportData) -> Section:
    """Communes (or arrondissements) of the territory with EPCI, population, area, density and APL 2023."""
    epci = data.reference.epci["nom"]
    rows = []
    for r in data.diag.communes.sort_values(["departement", "unit"]).itertuples(index=False):
        siren = "" if fr.is_missing(r.epci_siren) else str(r.epci_siren)
        rows.append(
            {
                "name": str(r.nom) + (" (découpée)" if bool(r.infracommunal) else ""),
                "code": r.unit,
                "epci": epci.get(siren, siren) or "—",
                "population": r.population,
                "area": getattr(r, "superficie", np.nan),
                "density": getattr(r, "densite_population", np.nan),
                "apl": getattr(r, MAP_INDICATOR, np.nan),
            }
        )
    return Section(_render("communes_table", rows=rows), "Communes")


def tier_section(data: ReportData) -> Section:
    """ACI tier, the tier rule and the financing landmarks with their scope and sources.

    Only the national landmarks and those of the territory's own région(s) are shown (a territory on two
    régions gets those of both, said so); a région without a landmark of its own is named.
    """
    s = data.summary
    regions = [str(r) for r in s.get("regions") or []]
    named = {r: f"{data.reference.region_name(r)} ({r})" for r in regions}
    landmarks = financing_landmarks(regions).to_dict("records")
    for r in landmarks:
        r["scope"] = "France entière" if r["portee"] == NATIONAL else named[r["portee"]]
    html = _render(
        "tier_section",
        population=_population_text(s),
        tier_text=_tier_text(s),
        tier_rule=f"{TIER_RULE} {NEAR_THRESHOLD_RULE[:1].upper()}{NEAR_THRESHOLD_RULE[1:]}.",
        threshold=threshold_note(s),
        tier=s.get("tier"),
        landmarks=landmarks,
        regions=list(named.values()),
        without_own=[named[r] for r in regions if r not in {x["portee"] for x in landmarks}],
    )
    return Section(html, "Taille ACI")


# ------------------------------------------------------------------------------------ sections 2-4
def demography(data: ReportData) -> Section:
    """Population, age structure (or its bassin-de-vie proxies), share of 75+, ageing."""
    ids = ["population"] + [
        i
        for i in _theme_indicators(data, "Démographie")
        if not (i.startswith("population_") and i not in open_report.TREND_INDICATORS)
    ]
    table = comparison_table(data, ids)
    figure = ""
    fig = open_report.population_trend_figure(data.diag)
    if fig is not None:
        import matplotlib.pyplot as plt

        figure = _figure_html(
            fig,
            _render("population_trend_caption"),
            "Courbes d'évolution de la population du territoire et de ses niveaux de comparaison",
        )
        plt.close(fig)
    levels = set(_rows(data, "part_75_plus")["source_level"])
    html = _render(
        "demography",
        table=Markup(table),
        figure_html=Markup(figure),
        ages_note=data.insee_ages is None or "bassin de vie" in levels,
    )
    return Section(html, "Démographie")


def care_supply(data: ReportData) -> Section:
    """Densities of GPs, nurses and midwives; GP counts of the départements (BPE)."""
    all_ids = _theme_indicators(data, "Offre de soins")
    # ps_<profession>_densite then ps_<profession>_effectif (the only two kinds, see cpts_diag.open_indicators)
    ps = sorted((i for i in all_ids if i.startswith("ps_")), key=lambda i: i.endswith("_effectif"))
    zonage = [i for i in all_ids if i.startswith("zonage_infirmiers")]
    # bpe_ indicators are shown in the professions table below
    ids = [i for i in all_ids if not i.startswith(("ps_", "zonage_infirmiers", "bpe_"))]
    professions = open_report.professions_table(data.diag)
    html = _render(
        "care_supply",
        table=Markup(comparison_table(data, ids)),
        zonage_table=Markup(comparison_table(data, zonage)) if zonage else None,
        zonage_note=Markup(open_report.zonage_note(data.diag)) if zonage else None,
        ps_table=Markup(comparison_table(data, ps)) if ps else None,
        professions_table=Markup(professions) if professions else None,
        bpe_note=data.bpe is None,
    )
    return Section(html, "Offre de soins")


def _cpam_missing(data: ReportData) -> str | None:
    """Why the CPAM indicators are not shown: ``"aucune"`` (no CPAM table), ``"hors territoire"`` (the table has
    none of the territory's communes), None when they are shown."""
    if data.cpam_mode == "aucun":
        return "aucune"
    rows = [r for i in CPAM_INDICATORS if (r := _territory_row(data, i)) is not None]
    if rows and all(fr.is_missing(r["coverage"]) or r["coverage"] <= 0 for r in rows):
        return "hors territoire"
    return None


def access(data: ReportData) -> Section:
    """APL (2022, 2023), population under 2.5, patients without a médecin traitant, ALD and CSS.

    Without a CPAM table, or with one that has none of the territory's communes, the CPAM indicators are not
    shown (a table of « n.d. ») but said once, with how to get them.
    """
    missing = _cpam_missing(data)
    hidden = set(CPAM_INDICATORS) if missing else set()
    acc = _theme_indicators(data, "Accès aux soins", exclude=hidden)
    apl = [i for i in acc if i.startswith("apl_")]
    # all-GP APL first, then GPs under 65
    apl = sorted(apl, key=lambda i: ("moins65" in i, i[-4:] if i[-4:].isdigit() else i.split("_")[-3]))
    others = [i for i in acc if i not in apl]
    notes = ""
    if "revenu_median_2019" in data.diag.communes:
        notes += open_report.income_note(data.diag)
    if "mortalite_brute_epci" in data.diag.communes:
        notes += open_report.mortality_note(data.diag)
    social = _theme_indicators(data, "Santé et social", exclude=hidden)
    fedi = [i for i in social if i.startswith("fedi_")]
    html = _render(
        "access",
        apl_table=Markup(comparison_table(data, apl)),
        map_href=_written_href(data, "carte"),
        cpam_table=Markup(comparison_table(data, others, _render("cpam_caption"))) if others else None,
        cpam_missing=missing,
        example=data.cpam_mode == "exemple",
        social_table=Markup(comparison_table(data, [i for i in social if i not in fedi])),
        notes=Markup(notes),
        deprivation=Markup(_deprivation(data, fedi)) if fedi else None,
    )
    return Section(html, "Accès aux soins")


def _deprivation(data: ReportData, indicators: list[str]) -> str:
    """The F-EDI part: the mean score and the population by national quintile beside the comparison levels, the
    small printed map of each commune's quintile, the communes of the most deprived quintile named."""
    figure = ""
    mc = data.map_communes
    if mc is not None and "fedi_quintile" in mc and mc["fedi_quintile"].notna().any():
        from cpts_diag.commune_geo import MAP_SOURCE

        fig = _printed_fedi_map(data)
        caption = _render(
            "fedi_map_caption",
            map_source=MAP_SOURCE,
            missing=open_report.FEDI_MISSING,
            map_href=_written_href(data, "carte"),
        )
        figure = _figure_html(fig, caption, f"Carte des quintiles F-EDI des communes du territoire {data.territory}")
    return _render(
        "deprivation",
        table=Markup(comparison_table(data, indicators)),
        figure_html=Markup(figure),
        note=Markup(open_report.deprivation_note(data.diag)),
    )


# ---------------------------------------------------------------------------- section 5: synthesis
def synthesis(data: ReportData) -> Section:
    """Strengths and weaknesses derived from the figures (rules of :mod:`cpts_diag.synthesis`)."""
    return Section(_render("synthesis", syn=derive_findings(data.diag)), "Synthèse")


# ------------------------------------------------------------------- section 6: sources and limits
def sources_and_limits(data: ReportData) -> Section:
    """Every source (producer, vintage, level, licence, note), quality flags, masked and approximate values."""
    terr = data.indicators[data.indicators["level"] == Level.TERRITORY]
    counts = terr["quality"].value_counts()
    masked = terr[terr["quality"] == Quality.MASKED]
    cpam_masked = None
    if "cpam_cellules_masquees" in data.diag.communes:
        n = data.diag.communes["cpam_cellules_masquees"].sum(min_count=1)
        cpam_masked = n if not fr.is_missing(n) and n > 0 else None
    html = _render(
        "sources_and_limits",
        sources=list(data.diag.sources.itertuples(index=False)),
        flags=[(q, counts.get(q, 0)) for q in Quality if counts.get(q, 0)],
        masked=[(r.label, fr.number(100 * r.coverage, 0)) for r in masked.itertuples(index=False)],
        cpam_masked=cpam_masked,
        approximate_population=_population_text(data.summary) if data.summary.get("approximate") else None,
        banner_text=FICTITIOUS_TEXT if data.diag.fictitious else None,
        warnings=data.perimeter_warnings[:30],
    )
    return Section(html, "Sources et limites")


# ------------------------------------------------------------------------------------------- files
def _partial_note(data: ReportData) -> str:
    """Map title suffix when a polygon stands for more than the territory (a split commune drawn whole), else ""."""
    if "découpage infra-communal" in " ".join(data.polygons["note"]):
        return " (commune partagée : contour de la commune entière)"
    return ""


def _printed_map(data: ReportData):
    from cpts_diag.outputs.maps.printed import static_map

    return static_map(replace(_map_spec(data), title=data.territory + _partial_note(data)), figsize=(8.0, 6.2))


def _printed_fedi_map(data: ReportData):
    """The small printed map of the F-EDI quintile of each commune, its legend on the right: a second, lighter map
    (no neighbours, no layout engine)."""
    from matplotlib.figure import Figure

    from cpts_diag.outputs.maps.printed import static_map
    from cpts_diag.outputs.maps.spec import MapSpec

    fig = Figure(figsize=(6.4, 3.8))
    spec = MapSpec(
        data.polygons,
        "fedi_quintile",
        "Quintile national F-EDI 2021",
        classes=open_report.fedi_classes(),
        outline=data.outline,
        missing_label=open_report.FEDI_MISSING,
    )
    static_map(spec, fig.add_axes((0.01, 0.01, 0.56, 0.98)))
    return fig


#: Tooltip fields of carte.html beside the APL: column of the map table -> French label.
_WEB_TOOLTIPS = {
    "population": "Population 2023 (hab.)",
    "epci": "EPCI",
    "revenu_median": "Revenu médian 2019 (Filosofi)",
    "zonage_inf": "Zonage infirmiers (ARS)",
    "part_75_plus_txt": "Part des 75 ans et plus (recensement 2022)",
    "familles_txt": "Part des familles monoparentales (recensement 2022)",
    "note": "Remarque",
}


def _web_map(data: ReportData):
    from cpts_diag.commune_geo import MAP_SOURCE
    from cpts_diag.outputs.maps.spec import MapView
    from cpts_diag.outputs.maps.web import commune_map

    mc = data.polygons
    views = []
    if "fedi_quintile" in mc:
        views.append(
            MapView(
                "fedi_quintile",
                open_report.FEDI_LABEL,
                open_report.fedi_classes(),
                missing_label=open_report.FEDI_MISSING,
                text_col="fedi_txt",
                title=f"{data.territory} — {open_report.FEDI_LABEL}" + _partial_note(data),
            )
        )
    spec = replace(
        _map_spec(data),
        tooltip_fields={k: v for k, v in _WEB_TOOLTIPS.items() if k in mc},
        title=f"{data.territory} — {MAP_LABEL}" + _partial_note(data),
        source="DREES, APL aux médecins généralistes 2023, niveau commune (arrondissement à Paris, Lyon, "
        "Marseille) ; Santé publique France, indice de défavorisation F-EDI 2021 (quintiles nationaux, France "
        "métropolitaine), niveau commune (arrondissement à Paris, Lyon, Marseille) ; INSEE, recensement 2022 (parts "
        "des 75 ans et plus et des familles monoparentales), niveau commune ; INSEE, populations légales 2023 ; "
        + MAP_SOURCE,
        views=views,
    )
    return commune_map(spec)


def _unavailable_map_html(data: ReportData) -> str:
    return html_page(data.territory, _render("unavailable_map", territory=data.territory))


def _write_geopackage(data: ReportData, path: Path) -> None:
    import geopandas as gpd

    from cpts_diag.outputs.export import write_geopackage

    s = data.summary
    layers = {}
    if data.outline is not None and len(data.outline):
        columns = {"cpts": data.territory, **{k: s.get(k) for k in ("population", "population_min", "population_max")}}
        columns.update(taille_aci=s.get("tier"), n_communes=s.get("n_communes"))
        outline = data.outline[["geometry"]].assign(**columns)[[*columns, "geometry"]]
        layers["territoire"] = gpd.GeoDataFrame(outline, geometry="geometry", crs=data.outline.crs)
    com = data.polygons.copy()
    com.insert(0, "cpts", data.territory)
    layers["communes"] = com
    write_geopackage(path, layers)


def write_outputs(data: ReportData) -> Section:
    """Write ``carte.html``, ``indicateurs.xlsx`` and ``perimetre.gpkg`` into ``data.out_dir``.

    Does nothing (and says so) when ``out_dir`` is None. Each file is written atomically.
    """
    if data.out_dir is None:
        return Section(_render("no_outputs", command=_report_command(data)), "Fichiers joints")
    from cpts_diag.io.atomic import atomic_write_text
    from cpts_diag.outputs.check_workbook import perimeter_sheet
    from cpts_diag.outputs.indicator_outputs import write_indicator_workbook
    from cpts_diag.outputs.maps.offline import save_offline_map

    data.out_dir.mkdir(parents=True, exist_ok=True)
    has_map = data.map_communes is not None and len(data.map_communes) > 0
    kinds = ("carte", "indicateurs", "perimetre") if has_map else ("carte", "indicateurs")
    files = {k: data.out_dir / REPORT_FILES[k] for k in kinds}
    if has_map:
        save_offline_map(_web_map(data), files["carte"])
        _write_geopackage(data, files["perimetre"])
    else:
        atomic_write_text(files["carte"], _unavailable_map_html(data))
    write_indicator_workbook(data.diag, files["indicateurs"], perimeter=perimeter_sheet(data.perimeter))
    data.outputs.update(files)
    labels = {
        "carte": "Carte interactive hors ligne (navigateur)",
        "indicateurs": "Indicateurs et comparaisons (Excel, une feuille par thème, détail par commune, sources)",
        "perimetre": "Périmètre et communes (GeoPackage, pour QGIS)",
    }
    html = _render(
        "outputs", files=[(_written_href(data, k), labels[k]) for k in files], fictitious=bool(data.diag.fictitious)
    )
    return Section(html, "Fichiers joints")
