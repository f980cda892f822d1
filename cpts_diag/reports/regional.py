"""Notebook 03, the regional synthesis: computed once (:func:`regional_synthesis`), then shown as a table
of the territories of a région beside the région and France, printed and interactive maps, the regional
map file and the sources.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag import settings
from cpts_diag.errors import InputError
from cpts_diag.io.params import cpam_choice
from cpts_diag.reports.check_notebook import check_layers_for
from cpts_diag.reports.display import (
    CHECK_SOURCE,
    GEOMETRY_SOURCE,
    finish_map,
    map_figure,
    parameter_flag,
    parameter_path,
    plot_layer,
    render,
    show_figure,
    show_html,
    show_map,
    show_note,
    show_table,
    source_footer,
    written_href,
)
from cpts_diag.schema import Level, Quality
from cpts_diag.tiers import NEAR_THRESHOLD_RULE, TIER_RULE, margin_label, near_threshold, tier_label, tier_margin

REGIONAL_MAP_FILE = "carte_regionale.html"

#: Indicator columns of the regional table: (column, indicator id, French header, decimals).
REGIONAL_INDICATORS = (
    ("apl_2023", "apl_mg_2023", "APL médecins généralistes 2023 (consult. par an et par hab.)", 1),
    ("densite_mg", "densite_mg_liberaux", "Médecins généralistes libéraux pour 10 000 hab.", 1),
    ("part_75_plus", "part_75_plus", "Part des 75 ans et plus (%)", 1),
    ("part_sous_apl", "apl_mg_2023_part_sous_seuil", "Part de la population sous APL 2,5 (%)", 1),
    ("evol_pop", "evolution_pop_2016_2023", "Évolution annuelle moyenne de la population 2016-2023 (%/an)", 2),
    ("revenu_p50", "revenu_median_communes_p50", "Médiane pondérée des revenus médians communaux 2019 (€)", 0),
    (
        "inf_sous_dotee",
        "zonage_infirmiers_pop_sous_dotee",
        "Population en zone infirmière très sous-dotée ou sous-dotée (hab.)",
        0,
    ),
    ("familles_mono", "part_familles_monoparentales", "Part des familles monoparentales 2022 (%)", 1),
    ("fedi_score", "fedi_2021", "Indice de défavorisation F-EDI 2021 (score moyen)", 1),
    ("fedi_q5", "fedi_quintile_5_part", "Part de la population dans le quintile F-EDI le plus défavorisé (%)", 1),
)
#: Column added when a CPAM table is used.
CPAM_INDICATOR = ("sans_mt_17_plus", "part_sans_mt_17_plus", "Part des 17 ans et plus sans médecin traitant (%)", 1)
#: Legend and classes of the APL maps by territory (printed and interactive).
_APL_MAP: dict[str, Any] = {
    "label": "APL aux médecins généralistes 2023",
    "unit": "consult./an/hab.",
    "classes": (2.5, 3.0, 3.5, 4.0, 4.5),
    "palette": "RdPu_r",
}


@dataclass
class RegionalSynthesis:
    """Everything notebook 03 shows, computed once.

    ``table``: one row per territory with at least one commune in the région (code ``region``, ``region_name``),
    in file order: ``territoire``, ``population``, ``population_min``, ``population_max``, ``approximatif``,
    ``taille``, ``taille_min``, ``taille_max``, ``n_communes``, then one column per indicator of ``indicators``
    (value, NaN when unknown) and ``<col>_bas`` / ``<col>_haut`` bounds; ``references``: the same columns for the
    région and France (computed over all their communes). ``indicators``: (column, indicator id, French header,
    decimals); ``meta``: per indicator id, label, unit, source, vintage, source_level, fictitious. ``check``: the
    perimeter check over the région (orphans, overlaps); ``layers``: its layers (territory outlines, communes,
    orphans) in EPSG:4326, None without polygons. ``fictitious``: a column comes from the fictitious CPAM table.
    ``straddling``: the territories that also have communes in other régions -> the names of those régions.
    ``region_note``: French note saying how the région was chosen when it was not given (None otherwise).
    ``france_scopes``: per indicator column, what France's value covers when it leaves départements out (« France
    hors Mayotte », « France métropolitaine »); the France row is named by the most common one and its other cells
    say theirs.
    """

    region: str
    region_name: str
    table: pd.DataFrame
    references: pd.DataFrame
    indicators: list
    meta: dict
    check: Any
    layers: Any
    fictitious: bool
    perimeters_name: str
    straddling: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    region_note: str | None = None
    france_scopes: dict[str, str] = dataclasses.field(default_factory=dict)


def _indicator_values(rows: pd.DataFrame) -> tuple[float, float, float]:
    if rows.empty:
        return np.nan, np.nan, np.nan
    r = rows.iloc[0]
    return float(r["value"]), float(r["value_low"]), float(r["value_high"])


def _main_region(perims, reference, path) -> tuple[str, str | None]:
    """(code, note) of the région where the file has the most territories (ties: the lowest code), and a French
    note naming the file's other régions (None when the file has one région only)."""
    from cpts_diag.territories import resolve_members, territory_table

    table = territory_table(resolve_members(perims, reference), reference)
    counts = Counter(code for regions in table["regions"] for code in regions)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked:
        raise InputError("aucun territoire du fichier n'a de commune connue du COG 2026", str(path))
    code = ranked[0][0]
    if len(ranked) == 1:
        return code, None
    others = ", ".join(f"{reference.region_name(c)} ({c}) : {fr.integer(n)}" for c, n in ranked[1:])
    note = (
        f"Région retenue : {reference.region_name(code)} ({code}), celle du plus grand nombre de territoires du "
        f"fichier ({fr.integer(ranked[0][1])}). Territoires du fichier dans d'autres régions : {others} ; pour "
        "l'une d'elles, donnez son code au paramètre region."
    )
    return code, note


def regional_synthesis(perimeters="", region="", cpam="", region_study_area=False, territory="") -> RegionalSynthesis:
    """Compute the regional synthesis: territories of a région side by side, région and France rows.

    ``perimeters``: ``""`` for the embedded PACA listing (ARS PACA, 01/2026); ``region``: région code (text), e.g.
    ``"53"``, ``""`` for the région where the file has the most territories (a note names the others);
    ``cpam``: ``""`` for the default of the command line (the FICTITIOUS example with the embedded listing
    only, :func:`cpts_diag.io.params.cpam_choice`), ``"exemple"``, ``"aucun"`` or a CPAM / Rézone file.
    ``region_study_area``: the région is declared as study area (its communes outside the file are orphans, as
    ``cpts-diag batch --region``); else the study area of the ARS view (:data:`cpts_diag.checks.REGION_VIEW_RULE`,
    :func:`cpts_diag.checks.check_region`). ``territory``: the name of the territory of a file without territory
    column (``""``: its title line, else its file name). Raises an InputError for an unreadable file, an unknown
    région or no territory in the région.
    """
    from cpts_diag.checks import check_region
    from cpts_diag.indicators import diagnose_all
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference
    from cpts_diag.territories import territories_in_region

    reference = load_reference()
    path = parameter_path(perimeters, settings.DEFAULT_PERIMETERS)
    perims = read_perimeters(path, names_by_code=reference.names, territory=str(territory or "").strip() or None)
    region_note = None
    if region is not None and str(region).strip():
        code = reference.region_code(region, "paramètre region")
    else:
        code, region_note = _main_region(perims, reference, path)
    # The territories with a commune in the région, alone: the région's orphans and maps are theirs, and a
    # national file is not diagnosed whole for each région.
    names = territories_in_region(perims, code, reference)
    if not names:
        raise InputError(f"aucun territoire n'a de commune dans la région {code}", str(path))
    perims = dataclasses.replace(perims, table=perims.table[perims.table["cpts"].astype(str).isin(names)])
    check = check_region(perims, code, reference, declared=parameter_flag(region_study_area, "zone_etude_region"))
    cpam_file = cpam_choice(cpam, path).file
    selected = list(diagnose_all(perims, reference, cpam=cpam_file).values())
    indicators = list(REGIONAL_INDICATORS) + ([CPAM_INDICATOR] if cpam_file is not None else [])

    meta: dict[str, dict] = {}
    records, first = [], selected[0].indicators
    for d in selected:
        ind = d.indicators
        terr = ind[ind["level"] == Level.TERRITORY]
        s = d.summary
        rec = {
            "territoire": d.territory,
            "population": s["population"],
            "population_min": s["population_min"],
            "population_max": s["population_max"],
            "approximatif": s["approximate"],
            "taille": s["tier"],
            "taille_min": s["tier_min"],
            "taille_max": s["tier_max"],
            "n_communes": s["n_communes"],
        }
        for col, ind_id, _, _ in indicators:
            rows = terr[terr["indicator"] == ind_id]
            rec[col], rec[f"{col}_bas"], rec[f"{col}_haut"] = _indicator_values(rows)
            if ind_id not in meta and not rows.empty:
                r = rows.iloc[0]
                meta[ind_id] = {k: r[k] for k in ("label", "unit", "source", "vintage", "source_level", "quality")}
                meta[ind_id]["fictitious"] = r["quality"] == Quality.FICTITIOUS
        records.append(rec)
    table = pd.DataFrame(records)
    for col in ("taille", "taille_min", "taille_max"):
        table[col] = pd.array(table[col].tolist(), dtype="Int64")

    refs, scopes = [], {}
    for level, level_code, name in ((Level.REGION, code, reference.region_name(code)), (Level.FRANCE, "FR", "France")):
        ind = first[(first["level"] == level) & (first["level_code"] == level_code)]
        rec = {"territoire": name, "taille": pd.NA, "taille_min": pd.NA, "taille_max": pd.NA, "approximatif": False}
        pop = _indicator_values(ind[ind["indicator"] == "population"])
        rec["population"] = rec["population_min"] = rec["population_max"] = pop[0]
        rec["n_communes"] = _indicator_values(ind[ind["indicator"] == "nombre_communes"])[0]
        for col, ind_id, _, _ in indicators:
            rows = ind[ind["indicator"] == ind_id]
            rec[col], rec[f"{col}_bas"], rec[f"{col}_haut"] = _indicator_values(rows)
            if level == Level.FRANCE and not rows.empty and not fr.is_missing(rec[col]):
                scopes[col] = str(rows.iloc[0]["level_name"])  # « France hors Mayotte »…
        if level == Level.FRANCE:
            rec["territoire"] = _france_row_name(scopes)
        refs.append(rec)
    references = pd.DataFrame(refs, columns=table.columns)
    return RegionalSynthesis(
        region=code,
        region_name=reference.region_name(code),
        table=table,
        references=references,
        indicators=indicators,
        meta=meta,
        check=check,
        layers=check_layers_for(check),
        fictitious=any(m.get("fictitious") for m in meta.values()),
        perimeters_name=path.name,
        straddling={
            d.territory: [f"{reference.region_name(r)} ({r})" for r in d.summary["regions"] if r != code]
            for d in selected
            if len(d.summary["regions"]) > 1
        },
        region_note=region_note,
        france_scopes=scopes,
    )


def _france_row_name(scopes: dict[str, str]) -> str:
    """The name of the France row: what most of its values cover (« France hors Mayotte »), « France » when
    nothing is left out."""
    counts = Counter(scopes.values())
    return max(counts, key=lambda name: (counts[name], name == "France")) if counts else "France"


def _scope_note(scope: str) -> str:
    """« hors Mayotte », « métropole », « France entière » from « France hors Mayotte », « France métropolitaine »,
    « France »."""
    special = {"France métropolitaine": "métropole", "France": "France entière"}
    return special.get(scope, scope.removeprefix("France ").strip())


def _population_text(row) -> str:
    return fr.population(row["population"], row["population_min"], row["population_max"])


def _tier_text(row) -> str:
    return tier_label(row["taille"], row["taille_min"], row["taille_max"], short=True, unknown="—")


def _near_threshold(row) -> str | None:
    """« 1 461 hab. au-dessus du seuil de 80 000 » for a territory within 5 % of an ACI threshold, else None."""
    margin = tier_margin(row["population"])  # None for an unknown population
    return None if margin is None or near_threshold(row["population"]) is None else margin_label(*margin)


def regional_table(synthesis: RegionalSynthesis) -> pd.DataFrame:
    """The displayed regional table (French headers, formatted text): territories, then région and France."""
    rows = []
    n = len(synthesis.table)
    n_france = n + len(synthesis.references) - 1
    for i, r in pd.concat([synthesis.table, synthesis.references], ignore_index=True).iterrows():
        straddling = r["territoire"] in synthesis.straddling
        rec = {
            "Territoire": r["territoire"] + (" (à cheval sur une autre région)" if straddling else ""),
            "Population 2023": _population_text(r),
            "Taille ACI": _tier_text(r) + ("*" if i < n and _near_threshold(r) else ""),
            "Communes": fr.integer(r["n_communes"]),
        }
        for col, ind_id, header, _ in synthesis.indicators:
            m = synthesis.meta.get(ind_id, {})
            if m.get("fictitious"):
                header += " — DONNÉES FICTIVES"
            # Same formatting as the territory reports (decimals per unit, "a (entre b et c)").
            rec[header] = fr.value_text(
                r[col], r[f"{col}_bas"], r[f"{col}_haut"], unit=m.get("unit", ""), show_unit=False
            )
            if m.get("unit") == "hab." and r[col] == 0 and fr.is_missing(r[f"{col}_bas"]):
                rec[header] = "aucun"  # no inhabitant (in an under-served zone), never a « 0 » to act on
            scope = synthesis.france_scopes.get(col) if i == n_france else None
            if scope and scope != r["territoire"]:  # France's value covers another part than the row says
                rec[header] += f" ({_scope_note(scope)})"
        rows.append(rec)
    return pd.DataFrame(rows)


def _indicator_caption(synthesis: RegionalSynthesis) -> str:
    parts = [
        "Population : INSEE, populations légales 2023, COG 2026, niveau commune (arrondissement pour "
        "Marseille) ; bornes « entre a et b » quand une commune est découpée infra-communalement (sans elle, "
        "avec elle entière) ou quand des valeurs sont masquées"
    ]
    for _, ind_id, _header, _ in synthesis.indicators:
        m = synthesis.meta.get(ind_id)
        if m:
            note = " — DONNÉES FICTIVES" if m.get("fictitious") else ""
            parts.append(f"{m['label']} : {m['source']}, {m['vintage']}, niveau {m['source_level']}{note}")
    parts.append("Région et France : mêmes calculs sur toutes leurs communes")
    covered: dict[str, list[str]] = {}
    for col, ind_id, _header, _ in synthesis.indicators:
        if col in synthesis.france_scopes and ind_id in synthesis.meta:
            covered.setdefault(synthesis.france_scopes[col], []).append(synthesis.meta[ind_id]["label"])
    if len(covered) > 1 or set(covered) - {"France"}:
        parts.append(
            "France : "
            + " ; ".join(
                f"{'France entière' if scope == 'France' else scope} pour {', '.join(labels)}"
                for scope, labels in covered.items()
            )
            + " (départements sans donnée dans la source)"
        )
    return "Sources : " + " ; ".join(parts) + "."


#: Where the long words of the table's headers may break (soft hyphens): the table fits the page.
_SOFT_HYPHENS = {
    w.replace("\u00ad", ""): w
    for w in (
        "géné\u00adralistes",
        "mono\u00adparentales",
        "défavo\u00adrisation",
        "défavo\u00adrisé",
        "in\u00adfirmière",
        "Popu\u00adlation",
        "popu\u00adlation",
        "commu\u00adnaux",
        "Com\u00admunes",
    )
}


def _breakable(header: str) -> str:
    """A header whose long words may break at a hyphen shown only where the line breaks."""
    return " ".join(_SOFT_HYPHENS.get(word, word) for word in header.split(" "))


def show_regional_table(synthesis: RegionalSynthesis) -> None:
    """Display the regional table (territories, then the région and France rows in bold)."""
    if synthesis.region_note:
        show_note(synthesis.region_note)
    if synthesis.fictitious:
        show_note(
            "Données fictives — la colonne « sans médecin traitant » provient d'un fichier CPAM d'exemple "
            "inventé pour la démonstration ; elle ne décrit pas la réalité.",
            "fictitious",
        )
    df = regional_table(synthesis)
    df.columns = [_breakable(c) for c in df.columns]
    n = len(synthesis.table)
    show_table(
        df,
        _indicator_caption(synthesis),
        decimals=0,
        highlight_rows=range(n, len(df)),
        table_class="cpts-regional",
        numeric=[c for c in df.columns if c not in ("Territoire", "Taille ACI")],
    )
    counts = synthesis.table["taille"].value_counts().sort_index()
    approx = int(synthesis.table["approximatif"].sum())
    text = ", ".join(f"T{int(k)} : {fr.integer(v)}" for k, v in counts.items())
    show_note(
        f"{fr.integer(n)} territoires ayant au moins une commune dans la région {synthesis.region_name} "
        f"({synthesis.region}) ; tailles : {text}"
        + (f" ; {fr.integer(approx)} à population approximative (taille encadrée)." if approx else ".")
    )
    near = [(r["territoire"], _near_threshold(r)) for _, r in synthesis.table.iterrows() if _near_threshold(r)]
    if near:
        listed = " ; ".join(f"{name} ({text})" for name, text in near)
        show_note(
            f"* Proches d'un seuil de taille ACI (moins de 5 %) : {listed}. {NEAR_THRESHOLD_RULE[:1].upper()}"
            f"{NEAR_THRESHOLD_RULE[1:]} : quelques communes de plus ou de moins changeraient leur taille.",
            "warn",
        )
    if synthesis.straddling:
        listed = " ; ".join(f"{name} (aussi : {', '.join(other)})" for name, other in synthesis.straddling.items())
        show_note(
            f"Territoires à cheval sur une autre région : {listed}. Leurs chiffres portent sur tout leur territoire ; "
            "ils figurent aussi dans la synthèse de l'autre région."
        )


def regional_layers(synthesis: RegionalSynthesis):
    """(territories GeoDataFrame with the table columns, communes, orphans), EPSG:4326; None without polygons."""
    if synthesis.layers is None:
        return None
    terr = synthesis.layers["territoires"][["territoire", "geometry"]].merge(
        synthesis.table, on="territoire", how="inner"
    )
    terr["cpts"] = terr["territoire"]
    terr["taille_txt"] = [_tier_text(r) for _, r in terr.iterrows()]
    terr["population_txt"] = [_population_text(r) for _, r in terr.iterrows()]
    names = set(synthesis.table["territoire"])
    com = synthesis.layers["communes"]
    com = com[com["territoire"].isin(names)].copy()
    com["cpts"] = com["territoire"]
    com["taille"] = com["territoire"].map(synthesis.table.set_index("territoire")["taille"]).astype("Int64")
    orph = synthesis.layers["orphelines"]
    orph = orph[orph["departement"].isin(set(synthesis.check.study_area))]
    return terr, com, orph


def _regional_source(synthesis: RegionalSynthesis, extra: str = "", prefix: str = "Sources : ") -> str:
    base = f"{prefix}{CHECK_SOURCE} ; {GEOMETRY_SOURCE} ; périmètres : {synthesis.perimeters_name}"
    return base + (f" ; {extra}" if extra else "")


def _indicator_source(synthesis: RegionalSynthesis, ind_id: str) -> str:
    m = synthesis.meta.get(ind_id)
    if not m:
        return ""
    fict = " (données fictives)" if m.get("fictitious") else ""
    return f"{m['source']}, {m['vintage']}, niveau {m['source_level']} agrégé par CPTS{fict}"


def _tier_figure(terr, orph, title: str, source: str, crs: str):
    from matplotlib.patches import Patch

    from cpts_diag.outputs.maps.classes import MASKED_COLOR, ORPHAN_COLOR, ORPHAN_LABEL, TIER_COLORS

    fig, ax = map_figure()
    t = terr.to_crs(crs)
    keys = [f"T{int(v)}" if not fr.is_missing(v) else None for v in t["taille"]]
    colors = [TIER_COLORS.get(k, MASKED_COLOR) if k else MASKED_COLOR for k in keys]
    # Largest first so that territories inside a split commune stay visible.
    order = np.argsort(-t.geometry.area.to_numpy())
    t.iloc[order].plot(ax=ax, color=[colors[i] for i in order], edgecolor="#333333", linewidth=0.6)
    handles = [
        Patch(facecolor=c, edgecolor="#333333", label=f"Taille {k[1]} ({fr.integer(keys.count(k))})")
        for k, c in TIER_COLORS.items()
        if k in keys
    ]
    n_unknown = keys.count(None)
    if n_unknown:
        label = f"Taille encadrée (population approximative) ({fr.integer(n_unknown)})"
        handles.append(Patch(facecolor=MASKED_COLOR, edgecolor="#333333", label=label))
    if len(orph):
        label = f"{ORPHAN_LABEL} ({fr.integer(len(orph))})"
        plot_layer(
            ax, handles, orph.to_crs(crs), label, 0.6, facecolor="#ffffff", edgecolor=ORPHAN_COLOR, hatch="\\\\\\\\"
        )
    return finish_map(fig, ax, handles, title, source)


def _coverage_figure(com, orph, title: str, source: str, crs: str):
    from matplotlib.patches import Patch

    from cpts_diag.outputs.maps.classes import ORPHAN_COLOR, ORPHAN_LABEL, PLAIN_COLOR

    fig, ax = map_figure()
    c = com.drop_duplicates("code_insee").to_crs(crs)
    n_cpts = com.groupby("code_insee")["territoire"].nunique()
    multi = c[c["code_insee"].map(n_cpts) > 1]
    c.plot(ax=ax, facecolor=PLAIN_COLOR, edgecolor="#ffffff", linewidth=0.25)
    label = f"Commune couverte par une CPTS ({fr.integer(len(c) - len(multi))})"
    handles = [Patch(facecolor=PLAIN_COLOR, edgecolor="#999999", label=label)]
    if len(multi):
        label = f"Commune partagée entre plusieurs CPTS ({fr.integer(len(multi))})"
        plot_layer(ax, handles, multi, label, 0.5, facecolor="#fdae61", edgecolor="#444444")
    if len(orph):
        label = f"{ORPHAN_LABEL} : sans CPTS ({fr.integer(len(orph))})"
        plot_layer(ax, handles, orph.to_crs(crs), label, 0.5, facecolor=ORPHAN_COLOR, edgecolor=ORPHAN_COLOR)
    return finish_map(fig, ax, handles, title, source)


def _static(spec, *, source: str, title: str, **kwargs):
    """:func:`cpts_diag.outputs.maps.printed.static_map` of ``spec`` in a figure whose legend is on the right and
    source underneath."""
    from matplotlib.figure import Figure

    from cpts_diag.outputs.maps.printed import static_map

    fig = Figure(figsize=(10.0, 7.2), layout="constrained")
    static_map(spec, fig.add_subplot(), **kwargs)
    fig.suptitle(fr.figure_text(title), fontsize=12, x=0.01, ha="left")
    source_footer(fig, source)
    return fig


def _region_departements(synthesis: RegionalSynthesis) -> list[str]:
    deps = synthesis.check.reference.departements
    return sorted(deps.index[deps["region"] == synthesis.region])


def study_area_note(synthesis: RegionalSynthesis) -> str:
    """French note: the study area of the synthesis's check, its rule, and the communes outside the file."""
    check = synthesis.check
    area = list(check.study_area)
    if area and set(_region_departements(synthesis)) <= set(area):
        what = f"la région {synthesis.region_name} entière"
    elif area:
        what = ", ".join(f"{check.reference.departement_name(d)} ({d})" for d in area)
    else:
        what = "aucune, aucune commune n'est dite orpheline"
    text = f"Zone d'étude des communes orphelines : {what}. Règle : {check.study_area_rule}."
    n_out = len(check.outside_file)
    if n_out:
        s, verb = ("s", "sont") if n_out > 1 else ("", "est")
        text += (
            f" {fr.integer(n_out)} commune{s} des départements du fichier, hors de la zone d'étude et absente{s} du "
            f"fichier, {verb} « hors fichier » : ni comptée{s} ni dessinée{s} comme orpheline{s}."
        )
    return text


def regional_static_maps(synthesis: RegionalSynthesis) -> dict:
    """Printed maps of the région: ``tailles``, ``apl``, ``couverture``, ``orphelines`` (matplotlib Figures)."""
    layers = regional_layers(synthesis)
    if layers is None:
        return {}
    from cpts_diag.geometry import projected_crs
    from cpts_diag.outputs.maps.spec import MapSpec

    terr, com, orph = layers
    region = f"{synthesis.region_name} ({synthesis.region})"
    crs = projected_crs(_region_departements(synthesis)[0])  # Lambert-93, or the DROM's own projection
    source = _regional_source(synthesis) + " — niveau commune"
    figs = {"tailles": _tier_figure(terr, orph, f"Taille ACI des CPTS — {region}", source + " agrégé par CPTS", crs)}
    figs["apl"] = _static(
        MapSpec(terr, "apl_2023", **_APL_MAP, outline=False, orphans=orph if len(orph) else None),
        title=f"Accessibilité aux médecins généralistes par CPTS — {region}",
        source=f"Sources : {_indicator_source(synthesis, 'apl_mg_2023')} ; {GEOMETRY_SOURCE}",
    )
    figs["couverture"] = _coverage_figure(com, orph, f"Couverture de la région par les CPTS — {region}", source, crs)
    if len(orph):
        spec = MapSpec(
            orph,
            "population",
            "Population 2023 des communes orphelines",
            "hab.",
            [500, 2000, 10000],
            ["#bcbddc", "#9e9ac8", "#6a51a3", "#3f007d"],
            decimals=0,
            outline=False,
            neighbours=terr[["cpts", "geometry"]],
            fit_main_part=False,  # scattered communes, not a territory: one frame around them all
        )
        figs["orphelines"] = _static(
            spec,
            title=f"Communes orphelines (sans CPTS) — {region}",
            source=source,
            label_neighbours=False,
        )
    return figs


def regional_web_map(synthesis: RegionalSynthesis, value: str = "taille"):
    """Interactive regional map (folium, offline) by territory: ``value`` "taille" (ACI tiers) or "apl".

    Tooltips give each territory's population, tier, number of communes and the indicators of the
    regional table; orphan communes are hatched.
    """
    from cpts_diag.outputs.maps.spec import MapSpec
    from cpts_diag.outputs.maps.web import region_map

    layers = regional_layers(synthesis)
    if layers is None:
        return None
    terr, _, orph = layers
    fields = {"population_txt": "Population 2023", "taille_txt": "Taille ACI", "n_communes": "Communes"}
    for col, ind_id, header, _ in synthesis.indicators:
        fields[col] = header + (" (FICTIF)" if synthesis.meta.get(ind_id, {}).get("fictitious") else "")
    cols = ["cpts", "geometry", "taille", *fields]
    region = f"{synthesis.region_name} ({synthesis.region})"
    extra = [_indicator_source(synthesis, ind) for _, ind, _, _ in synthesis.indicators]
    source = _regional_source(synthesis, " ; ".join(e for e in extra if e), prefix="")  # the map says « Source : »
    orphans = orph if len(orph) else None
    shown: dict[str, Any]
    if value == "apl":
        shown = {"value_col": "apl_2023", **_APL_MAP, "title": f"APL aux médecins généralistes par CPTS — {region}"}
    else:
        title = f"CPTS de la région {region} : tailles" + (" et communes orphelines" if orphans is not None else "")
        shown = {"value_col": "taille", "label": "Taille ACI de la CPTS", "title": title}
    spec = MapSpec(terr[cols], orphans=orphans, tooltip_fields=fields, source=source, fictitious=synthesis.fictitious)
    return region_map(replace(spec, **shown))


def show_regional_maps(synthesis: RegionalSynthesis) -> None:
    """Display the printed maps and the interactive maps of the synthesis."""
    show_note(study_area_note(synthesis))
    figs = regional_static_maps(synthesis)
    if not figs:
        show_note("Cartes non disponibles : aucun contour de communes pour cette région.", "warn")
        return
    titles = {
        "tailles": "Tailles ACI",
        "apl": "Accessibilité aux médecins généralistes (APL 2023)",
        "couverture": "Couverture de la région",
        "orphelines": "Communes orphelines",
    }
    for key, fig in figs.items():
        show_html(render("heading", titles[key]))
        show_figure(fig)
    if "orphelines" not in figs:
        show_note("Aucune commune orpheline dans la zone d'étude.")
    show_html(render("regional_maps_intro"))
    show_map(regional_web_map(synthesis, "taille"), height=620)
    show_map(regional_web_map(synthesis, "apl"), height=620)


def write_regional_map(synthesis: RegionalSynthesis, out_dir) -> Path | None:
    """Write ``carte_regionale.html`` (tiers, orphans, key figures in tooltips; offline) into ``out_dir``.

    Nothing is written when ``out_dir`` is empty or when no polygons are available.
    """
    from cpts_diag.outputs.maps.offline import save_offline_map

    folder = settings.user_path(out_dir)
    if folder is None:
        show_note("Carte régionale non écrite (paramètre dossier_sortie vide).")
        return None
    m = regional_web_map(synthesis, "taille")
    if m is None:
        show_note("Carte régionale non écrite : aucun contour de communes.", "warn")
        return None
    path = save_offline_map(m, folder / REGIONAL_MAP_FILE)
    show_html(render("regional_map_written", written_href(path), path.stat().st_size / 1024))
    return path


def show_regional_sources(synthesis: RegionalSynthesis) -> None:
    """Display the sources of the synthesis, with vintage and level, and the fictitious flag."""
    items = [
        "INSEE, Code officiel géographique 2026 et populations légales 2023 — niveau commune",
        GEOMETRY_SOURCE,
        f"Périmètres : {synthesis.perimeters_name}",
    ]
    for _, ind_id, _, _ in synthesis.indicators:
        m = synthesis.meta.get(ind_id)
        if m:
            items.append(
                f"{m['label']} : {m['source']}, millésime {m['vintage']}, niveau {m['source_level']}"
                + (" — DONNÉES FICTIVES" if m.get("fictitious") else "")
            )
    items.append(TIER_RULE)
    show_html(render("sources", items))
