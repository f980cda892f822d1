"""What a check gives users: the French text of the terminal (:func:`format_text`) and the files of
``cpts-diag check --out DIR``, the findings as an Excel workbook and a GeoPackage.

* ``controle_perimetres.xlsx``: one sheet per kind of finding (French headers, codes as text):
  "Synthèse", "Territoires", "Chevauchements", "Noms et codes", "Orphelines", "Hors fichier",
  "Arr. non couverts", "Codes périmés", "Codes inconnus", "Doublons", "Discontinuités", "Enclaves",
  "Séparés par la mer", "Non vérifiable", "Multi-départements", "Propositions" (one row per option of each
  proposal), "Sources".
* ``controle_perimetres.gpkg`` (when commune polygons are available), for QGIS: layers
  "territoires" (outlines with name, population and ACI tier), "communes" (member communes with their
  territory; Paris, Lyon and Marseille by arrondissement when listed so), "orphelines" (orphan
  communes and uncovered arrondissements) and "hors_fichier" (communes outside the file, information).

:func:`format_text` summarises long lists (counts by département and the first ones); the workbook and
the JSON keep them in full. :func:`perimeter_items` gives the French findings of one territory
(:func:`cpts_diag.checks.territory_findings`) for its report and its workbook. :func:`proposal_text` and
:func:`candidate_text` are the one French wording of the proposals (:mod:`cpts_diag.proposals`) and
:func:`threshold_text` that of a territory near an ACI threshold. ``carte_propositions.html`` (the proposal map,
:func:`proposal_map`) is written with the workbook.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.checks import ARRONDISSEMENT_SPLIT, CONFLICT, INFRACOMMUNAL, CheckReport
from cpts_diag.outputs.export import write_geopackage, write_workbook
from cpts_diag.proposals import RANKING_RULE
from cpts_diag.tiers import NEAR_THRESHOLD_RULE, margin_label, tier_label

__all__ = [
    "GEOPACKAGE_NAME",
    "KIND_LABELS",
    "PROPOSAL_MAP_NAME",
    "WORKBOOK_NAME",
    "candidate_text",
    "proposal_text",
    "proposal_web_map",
    "proposals_sheet",
    "threshold_text",
    "check_layers",
    "check_workbook_sheets",
    "format_text",
    "mismatch_text",
    "perimeter_items",
    "perimeter_sheet",
    "territory_size_text",
    "unverifiable_text",
    "write_check_outputs",
]

WORKBOOK_NAME = "controle_perimetres.xlsx"
GEOPACKAGE_NAME = "controle_perimetres.gpkg"
PROPOSAL_MAP_NAME = "carte_propositions.html"

#: French label of each overlap kind.
KIND_LABELS = {
    INFRACOMMUNAL: "découpage infra-communal déclaré",
    ARRONDISSEMENT_SPLIT: "découpage par arrondissement municipal",
    CONFLICT: "conflit",
}

_NOT_CHECKED = "Contrôle non effectué : aucun contour de communes disponible."
_NONE = "Aucun constat."


def _yes_no(value) -> str:
    return "oui" if value else "non"


def _frame(items: list[dict], columns: dict, ints=()) -> pd.DataFrame:
    """One row per item; ``columns``: French header -> key of the item or function of the item.

    The ``ints`` columns are nullable integers (Int64).
    """
    rows = [[item[get] if isinstance(get, str) else get(item) for get in columns.values()] for item in items]
    df = pd.DataFrame(rows, columns=list(columns))
    for col in ints:
        df[col] = pd.array(df[col].tolist(), dtype="Int64")
    return df


def _enclave_of(report: CheckReport) -> dict[str, str]:
    """Territory enclosing each enclaved orphan commune."""
    return {c: e["territory"] for e in report.enclaves for c in e["communes"]}


def _pieces_sheet(records: list[dict]) -> pd.DataFrame:
    """One row per piece of each territory in several pieces."""
    pieces = [
        {"record": d, "number": i, "codes": codes, "names": names, "population": pop}
        for d in records
        for i, (codes, names, pop) in enumerate(zip(d["pieces"], d["piece_names"], d["piece_populations"]), start=1)
    ]
    columns = {
        "Territoire": lambda p: p["record"]["territory"],
        "Morceau": "number",
        "Nombre de morceaux": lambda p: p["record"]["n_pieces"],
        "Nombre de communes": lambda p: len(p["codes"]),
        "Population": "population",
        "Codes INSEE": lambda p: ", ".join(p["codes"]),
        "Communes": lambda p: ", ".join(p["names"]),
    }
    return _frame(pieces, columns, ints=["Population"])


def check_workbook_sheets(report: CheckReport) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """Sheets (French headers) and per-sheet notes of the check workbook."""
    s = report.summary
    geo = report.geometry_checks
    summary_rows = [
        ("Fichier de périmètres", report.source or "table fournie"),
        ("Résultat", "BLOQUANT" if report.blocking else "aucun problème bloquant"),
        ("Zone d'étude (départements)", ", ".join(report.study_area) or "aucun"),
        ("Règle de la zone d'étude", report.study_area_rule),
        ("Communes de la zone d'étude", s["n_study_area_communes"]),
        ("Territoires", s["n_territories"]),
        ("Communes couvertes", s["n_communes"]),
        ("dont dans la zone d'étude", s["n_study_area_covered"]),
        ("Population totale couverte", s["population_total"]),
        ("Chevauchements", s["n_overlaps"]),
        ("dont conflits (bloquants)", s["n_conflicts"]),
        (
            "Noms de communes discordants avec leur code",
            s["n_name_mismatches"] if s["n_names_checked"] else "non vérifié (pas de colonne de noms de communes)",
        ),
        ("Communes orphelines", s["n_orphans"]),
        ("Population des communes orphelines", s["orphan_population"]),
        ("Communes hors fichier (information, pas des orphelines)", s["n_outside_file"]),
        ("Arrondissements non couverts", s["n_uncovered_arrondissements"]),
        ("Codes périmés", s["n_outdated_codes"]),
        ("Codes inconnus (bloquants)", s["n_unknown_codes"]),
        ("Doublons", s["n_duplicates"]),
        ("Territoires discontinus", s["n_discontiguous"] if geo else "non vérifié"),
        ("Enclaves", s["n_enclaves"] if geo else "non vérifié"),
        ("Territoires séparés par la mer seulement (information)", s["n_island_territories"] if geo else "non vérifié"),
        ("Contrôles non vérifiables (communes sans contour)", s["n_unverifiable"] if geo else "non vérifié"),
        ("Territoires sur plusieurs départements ou régions", s["n_multi_departement"]),
        ("Populations approximatives (découpage infra-communal)", s["n_approximate"]),
        ("Territoires à moins de 5 % d'un seuil de taille ACI", s["n_near_threshold"]),
        ("Propositions (orphelines, enclaves, conflits)", s["n_proposals"] if geo else "non établies"),
    ]
    sheets: dict[str, pd.DataFrame] = {}
    notes: dict[str, list[str]] = {}
    sheets["Synthèse"] = pd.DataFrame(summary_rows, columns=["Indicateur", "Valeur"])
    notes["Synthèse"] = [f"Note : {n}" for n in report.notes] + [
        f"Avertissement de lecture : {w}" for w in report.warnings
    ]

    sheets["Territoires"] = _frame(
        report.territories,
        {
            "Territoire": "name",
            "Communes": "n_communes",
            "Population": "population",
            "Population min.": "population_min",
            "Population max.": "population_max",
            "Approximatif": lambda t: _yes_no(t["approximate"]),
            "Taille ACI": "tier",
            "Taille min.": "tier_min",
            "Taille max.": "tier_max",
            "Communes découpées infra-communalement": lambda t: ", ".join(t["split_communes"]),
            "Départements": lambda t: ", ".join(t["departements"]),
            "Régions": lambda t: ", ".join(t["regions"]),
            "Écart au seuil le plus proche (hab.)": "tier_margin",
            "Seuil le plus proche": "tier_threshold",
            "Proche d'un seuil (5 %)": lambda t: _near_word(t["near_threshold"]),
        },
        ints=[
            "Communes",
            "Population",
            "Population min.",
            "Population max.",
            "Taille ACI",
            "Taille min.",
            "Taille max.",
            "Écart au seuil le plus proche (hab.)",
            "Seuil le plus proche",
        ],
    )
    notes["Territoires"] = [
        "Population approximative : « Population min. » sans les communes découpées "
        "infra-communalement, « Population max. » avec ces communes entières.",
        "Écart au seuil : habitants au-dessus (+) ou en dessous (−) du seuil de taille le plus proche (40 000, "
        f"80 000, 175 000) ; {NEAR_THRESHOLD_RULE} : quelques communes de plus ou de moins changent la taille et le "
        "financement. Non vérifiable quand la population n'est connue que par ses bornes.",
    ]

    sheets["Chevauchements"] = _frame(
        report.overlaps,
        {
            "Code INSEE": "code_insee",
            "Commune ou arrondissement": "name",
            "Type": lambda o: KIND_LABELS[o["kind"]],
            "Bloquant": lambda o: _yes_no(o["kind"] == CONFLICT),
            "Nombre de territoires": lambda o: len(o["territories"]),
            "Territoires": lambda o: " ; ".join(o["territories"]),
        },
    )

    sheets["Noms et codes"] = _frame(
        report.name_mismatches,
        {
            "Territoire": "territory",
            "Ligne": "line",
            "Nom saisi": "typed_name",
            "Code INSEE saisi": "code_insee",
            "Nom de ce code (COG)": "cog_name",
            "Code(s) portant le nom saisi": lambda m: ", ".join(m["codes_with_typed_name"]),
            "Constat": mismatch_text,
        },
    )
    notes["Noms et codes"] = [
        "Nom de commune saisi qui n'est pas celui de son code au COG 2026 (accents, majuscules, tirets, « St », "
        "articles ignorés) : le diagnostic décrit la commune du code. Vérifiez lequel des deux est juste."
    ]

    enclave_of = _enclave_of(report)
    touching = report.touching or {}
    sheets["Orphelines"] = _frame(
        report.orphans,
        {
            "Code INSEE": "code_insee",
            "Commune": "name",
            "Population": "population",
            "Département": "departement",
            "Enclavée dans": lambda o: enclave_of.get(o["code_insee"], ""),
            "Territoires voisins": lambda o: " ; ".join(touching.get(o["code_insee"], ())),
        },
        ints=["Population"],
    )
    sheets["Hors fichier"] = _frame(
        report.outside_file,
        {
            "Code INSEE": "code_insee",
            "Commune": "name",
            "Population": "population",
            "Département": "departement",
            "Territoires voisins": lambda o: " ; ".join(touching.get(o["code_insee"], ())),
        },
        ints=["Population"],
    )
    notes["Hors fichier"] = [
        "Information : communes des départements du fichier hors zone d'étude qu'aucun territoire du fichier ne "
        "liste. Le fichier ne dit pas si elles ont une CPTS : ce ne sont pas des orphelines.",
        f"Règle : {report.study_area_rule}.",
    ]

    sheets["Arr. non couverts"] = _frame(
        report.uncovered_arrondissements,
        {
            "Code arrondissement": "code",
            "Arrondissement": "name",
            "Population": "population",
            "Code commune": "commune",
            "Commune": "commune_name",
        },
        ints=["Population"],
    )

    sheets["Codes périmés"] = _frame(
        report.outdated_codes,
        {
            "Code donné": "code",
            "Code actuel": "current_code",
            "Commune actuelle": "current_name",
            "Territoire": "territory",
            "Ligne": "line",
            "Explication": "note",
        },
    )

    sheets["Codes inconnus"] = _frame(
        report.unknown_codes, {"Code donné": "code", "Territoire": "territory", "Ligne": "line"}
    )

    sheets["Doublons"] = _frame(
        report.duplicates,
        {
            "Territoire": "territory",
            "Code INSEE": "code_insee",
            "Commune": "name",
            "Lignes": lambda d: ", ".join(map(str, d["lines"])),
            "Codes donnés": lambda d: ", ".join(d["codes_given"]),
            "Après correspondance des codes": lambda d: _yes_no(d["after_mapping"]),
        },
    )

    sheets["Discontinuités"] = _pieces_sheet(report.discontiguous)

    sheets["Enclaves"] = _frame(
        report.enclaves,
        {
            "Territoire": "territory",
            "Nombre de communes": lambda e: len(e["communes"]),
            "Population": "population",
            "Codes INSEE": lambda e: ", ".join(e["communes"]),
            "Communes": lambda e: ", ".join(e["names"]),
        },
        ints=["Population"],
    )
    sheets["Séparés par la mer"] = _pieces_sheet(report.island_territories)
    sheets["Non vérifiable"] = _frame(
        report.unverifiable,
        {
            "Contrôle": "check",
            "Territoire": lambda u: u.get("territory") or "",
            "Codes INSEE": lambda u: ", ".join(u["communes"]),
            "Communes": lambda u: ", ".join(u["names"]),
            "Raison": lambda u: u.get("why") or "commune(s) sans contour",
        },
    )

    sheets["Multi-départements"] = _frame(
        report.multi_departement,
        {
            "Territoire": "territory",
            "Départements": lambda m: ", ".join(m["departements"]),
            "Régions": lambda m: ", ".join(m["regions"]),
        },
    )

    sheets["Propositions"], notes["Propositions"] = proposals_sheet(report)

    sheets["Sources"] = pd.DataFrame({"Source": list(report.sources)})

    for title, df in sheets.items():
        if title in ("Discontinuités", "Enclaves", "Séparés par la mer", "Non vérifiable") and not geo:
            notes[title] = [_NOT_CHECKED]
        elif df.empty and title not in ("Synthèse", "Sources", "Territoires"):
            notes[title] = [_NONE] + notes.get(title, [])
    return sheets, notes


def _near_word(value) -> str:
    return "non vérifiable" if value is None else _yes_no(value)


_PROPOSAL_KINDS = {"orphan": "Orpheline", "enclave": "Enclave", "overlap": "Conflit"}


def proposals_sheet(report: CheckReport) -> tuple[pd.DataFrame, list[str]]:
    """The « Propositions » sheet: one row per option (candidate territory) of each proposal, and its notes."""
    rows = []
    for p in report.proposals:
        kind = _PROPOSAL_KINDS[p["kind"]] + (" (arrondissement)" if p["unit"] == "arrondissement" else "")
        for c in p["candidates"] or [None]:
            others = [
                f"{o['territory']} : {_state_text(o, fr.Style.EXCEL)}"
                for o in (c or {}).get("territories_after", [])
                if not o["keeps"]
            ]
            rows.append(
                {
                    "Type": kind,
                    "Code(s) INSEE": ", ".join(p["codes"]),
                    "Commune(s)": p["name"],
                    "Population": p["population"],
                    "Département": p["departement"] or "",
                    "Rang": None if c is None else c["rank"],
                    "Territoire proposé": "" if c is None else c["territory"],
                    "Raisons": p.get("note", "") if c is None else " ; ".join(c["reasons"]),
                    "Frontière commune (km)": None if c is None else c["border_km"],
                    "Même EPCI": "" if c is None else _yes_no(c["same_epci"]),
                    "Même bassin de vie": "" if c is None else _yes_no(c["same_bassin_de_vie"]),
                    "Population du territoire après": None if c is None else c["population_after"],
                    "Population après (min. – max.)": ""
                    if c is None or c["population_after"] is not None
                    else fr.population(
                        None, c["population_after_min"], c["population_after_max"], style=fr.Style.EXCEL
                    ),
                    "Taille avant": "" if c is None else tier_label(c["tier_before"], short=True, unknown="n.d."),
                    "Taille après": "" if c is None else _tier_after(c),
                    "Change de taille": "" if c is None else _yes_no(c["tier_changes"]),
                    "Écart au seuil après (hab.)": None if c is None else c["tier_margin_after"],
                    "Les autres territoires après": " ; ".join(others),
                }
            )
    columns = [
        "Type",
        "Code(s) INSEE",
        "Commune(s)",
        "Population",
        "Département",
        "Rang",
        "Territoire proposé",
        "Raisons",
        "Frontière commune (km)",
        "Même EPCI",
        "Même bassin de vie",
        "Population du territoire après",
        "Population après (min. – max.)",
        "Taille avant",
        "Taille après",
        "Change de taille",
        "Écart au seuil après (hab.)",
        "Les autres territoires après",
    ]
    df = pd.DataFrame(rows, columns=columns)
    for col in ("Population", "Rang", "Population du territoire après", "Écart au seuil après (hab.)"):
        df[col] = pd.array(df[col].tolist(), dtype="Int64")
    notes = [
        "Une ligne par option : pour une commune orpheline, chaque territoire qui pourrait la prendre ; pour un "
        "conflit, chaque territoire qui la revendique et la garderait (les autres la rendent). Aucune proposition "
        "ne modifie le fichier : la décision revient au chargé de mission (cpts-diag simulate pour l'essayer et "
        "écrire le fichier corrigé).",
        f"Règle : {RANKING_RULE}.",
        f"Populations légales 2023 (COG 2026) ; {NEAR_THRESHOLD_RULE}.",
    ]
    if not report.geometry_checks:
        notes.insert(0, "Propositions non établies : elles demandent la contiguïté des communes.")
    return df, notes


def _bounds_text(c: dict | None) -> str:
    """« entre a et b » of an approximate population after a change (Excel text), else empty."""
    if c is None or c["population_after"] is not None:
        return ""
    return fr.population(None, c["population_after_min"], c["population_after_max"], style=fr.Style.EXCEL)


def _tier_after(c: dict, short: bool = True) -> str:
    return tier_label(c["tier_after"], c["tier_after_min"], c["tier_after_max"], short=short, unknown="n.d.")


def _state_text(state: dict, style: fr.Style = fr.Style.HTML) -> str:
    """« 71 219 hab., taille 2 » or « 48 992 hab., taille 1 → 2 » of a candidate's territory after the change."""
    if state["population_after"] is not None:
        pop = f"{fr.integer(state['population_after'], style=style)}{_space(style)}hab."
    else:
        pop = fr.population(None, state["population_after_min"], state["population_after_max"], style=style) + (
            f"{_space(style)}hab."
        )
    after = _tier_after(state, short=False)
    if state["tier_changes"]:
        before = tier_label(state["tier_before"], unknown="taille indéterminée")
        return f"{pop}, {before} → {after} (change de taille)"
    return f"{pop}, {after}"


def _space(style: fr.Style) -> str:
    return "\u00a0" if style == fr.Style.HTML else " "


def candidate_text(c: dict, style: fr.Style = fr.Style.HTML) -> str:
    """French text of one candidate (option) of a proposal: territory, reasons, population and tier after."""

    def state(item: dict) -> str:
        near = ""
        if item.get("near_threshold_after") and not item["tier_changes"]:
            near = f", proche d'un seuil ({margin_label(item['tier_margin_after'], _threshold_of(item), style)})"
        return _state_text(item, style) + near

    text = f"{c['territory']} ({' ; '.join(c['reasons'])}) : {state(c)}"
    others = [o for o in c.get("territories_after", []) if not o["keeps"]]
    if others:
        text += " ; " + " ; ".join(f"{o['territory']} sans elle : {state(o)}" for o in others)
    return text


def _threshold_of(c: dict) -> int:
    from cpts_diag.tiers import tier_margin

    return tier_margin(c["population_after"])[1]


def proposal_text(p: dict, style: fr.Style = fr.Style.HTML, limit: int = 3) -> str:
    """French sentence of a proposal: what it concerns, then its first ``limit`` options, ranked."""
    pop = f"{fr.integer(p['population'], missing='?', style=style)}{_space(style)}hab."
    if p["kind"] == "orphan":
        what = "Arrondissement non couvert" if p["unit"] == "arrondissement" else "Orpheline"
        head = f"{what} {p['code_insee']} {p['name']} ({pop})"
        lead = "à rattacher à"
    elif p["kind"] == "enclave":
        head = f"Enclave de {len(p['codes'])} commune(s) : {p['name']} ({pop})"
        lead = "à rattacher à"
    else:
        head = f"Conflit {p['code_insee']} {p['name']} ({pop})"
        lead = "à garder dans"
    if not p["candidates"]:
        return f"{head} : {p.get('note', 'aucune proposition')}"
    shown = [f"{c['rank']}. {candidate_text(c, style)}" for c in p["candidates"][:limit]]
    more = len(p["candidates"]) - limit
    tail = f" (+{more} autre{'s' if more > 1 else ''} dans le classeur)" if more > 0 else ""
    return f"{head} — {lead} : " + " | ".join(shown) + tail


def threshold_text(t: dict, style: fr.Style = fr.Style.HTML) -> str | None:
    """« proche d'un seuil : 2 471 hab. au-dessus du seuil de 80 000 » for a territory record near an ACI threshold,
    « proximité d'un seuil non vérifiable (population approximative) » when its bounds cannot say, else None."""
    if t.get("near_threshold") is None:
        return "proximité d'un seuil non vérifiable (population approximative)"
    if not t["near_threshold"]:
        return None
    return f"proche d'un seuil : {margin_label(t['tier_margin'], t['tier_threshold'], style)}"


def check_layers(report: CheckReport, polygons) -> dict:
    """GeoDataFrames "territoires", "communes", "orphelines" and "hors_fichier" (communes outside the file, with
    the territories they touch) of the check GeoPackage."""
    import geopandas as gpd

    from cpts_diag.geometry import territory_outlines
    from cpts_diag.reference import load_reference

    polygons = polygons[~polygons["code_insee"].astype(str).duplicated()]
    geo = polygons.set_index(polygons["code_insee"].astype(str).to_numpy()).geometry
    known = report.members[report.members["code_insee"].notna()].copy()
    known["code_insee"] = known["code_insee"].astype(str)
    # Units drawn: the arrondissement municipal when listed and drawn (embedded polygons), else the commune.
    arr = known["arrondissement"].astype(object)
    known["unite"] = arr.where(arr.notna() & arr.isin(geo.index), known["code_insee"])

    outlines = territory_outlines(polygons, known.assign(code_insee=known["unite"]))
    outlines = outlines[outlines.geometry.notna() & (outlines["n_communes"] > 0)]
    by_name = {t["name"]: t for t in report.territories}
    records = [by_name[t] for t in outlines["territory"]]

    def ints(key: str):
        return pd.array([r[key] for r in records], dtype="Int64")

    terr = gpd.GeoDataFrame(
        {
            "territoire": outlines["territory"].to_numpy(),
            "n_communes": [r["n_communes"] for r in records],
            "population": ints("population"),
            "population_min": ints("population_min"),
            "population_max": ints("population_max"),
            "taille": ints("tier"),
            "taille_min": ints("tier_min"),
            "taille_max": ints("tier_max"),
            "approximatif": [bool(r["approximate"]) for r in records],
        },
        geometry=outlines.geometry.to_numpy(),
        crs=polygons.crs,
    )

    kind_of = {o["code_insee"]: KIND_LABELS[o["kind"]] for o in report.overlaps}
    units = (
        known.groupby(["cpts", "unite"], sort=False)
        .agg(
            code_commune=("code_insee", "first"),
            code_donne=("code_given", lambda s: ", ".join(sorted(set(s)))),
            arrondissements=("arrondissement", lambda s: ", ".join(sorted(set(s.dropna())))),
            infracommunal=("infracommunal", "any"),
        )
        .reset_index()
    )
    units = units[units["unite"].isin(geo.index)]
    ref = report.reference if report.reference is not None else load_reference()
    population = pd.concat([ref.communes["population"], ref.arrondissements["population"]])
    population = population[~population.index.duplicated()]
    communes = gpd.GeoDataFrame(
        {
            "code_insee": units["unite"].to_numpy(),
            "nom": units["unite"].map(ref.names).to_numpy(),
            "territoire": units["cpts"].to_numpy(),
            "population_commune": pd.array(units["unite"].map(population).round(), dtype="Int64"),
            "arrondissements": units["arrondissements"].tolist(),
            "infracommunal": units["infracommunal"].astype(bool).to_numpy(),
            "code_donne": units["code_donne"].to_numpy(),
            "chevauchement": units["code_commune"].map(kind_of).astype(object).fillna("").to_numpy(),
        },
        geometry=geo.reindex(units["unite"]).to_numpy(),
        crs=polygons.crs,
    )

    enclave_of = _enclave_of(report)
    orph = [o for o in report.orphans if o["code_insee"] in geo.index]
    orph += [
        {
            "code_insee": a["code"],
            "name": a["name"],
            "population": a["population"],
            "departement": ref.communes["departement"].get(a["commune"], ""),
        }
        for a in report.uncovered_arrondissements
        if a["code"] in geo.index
    ]
    orphans = gpd.GeoDataFrame(
        {
            "code_insee": [o["code_insee"] for o in orph],
            "nom": [o["name"] for o in orph],
            "population": pd.array([o["population"] for o in orph], dtype="Int64"),
            "departement": [o["departement"] for o in orph],
            "enclavee_dans": [enclave_of.get(o["code_insee"], "") for o in orph],
        },
        geometry=geo.reindex([o["code_insee"] for o in orph]).to_numpy(),
        crs=polygons.crs,
    )
    out = [o for o in report.outside_file if o["code_insee"] in geo.index]
    touching = report.touching or {}
    outside = gpd.GeoDataFrame(
        {
            "code_insee": [o["code_insee"] for o in out],
            "nom": [o["name"] for o in out],
            "population": pd.array([o["population"] for o in out], dtype="Int64"),
            "departement": [o["departement"] for o in out],
            "territoires_voisins": [" ; ".join(touching.get(o["code_insee"], ())) for o in out],
        },
        geometry=geo.reindex([o["code_insee"] for o in out]).to_numpy(),
        crs=polygons.crs,
    )
    return {"territoires": terr, "communes": communes, "orphelines": orphans, "hors_fichier": outside}


def proposal_web_map(report: CheckReport, layers: dict | None = None):
    """The proposal map of a check (folium, offline; :func:`cpts_diag.outputs.maps.web.proposal_map`): orphans coloured
    by their first candidate, conflicts hatched, territories near an ACI threshold outlined; None without polygons
    (``layers``: :func:`check_layers` of the check, computed when not given)."""
    from cpts_diag.commune_geo import MAP_SOURCE
    from cpts_diag.outputs.maps.spec import MapSpec
    from cpts_diag.outputs.maps.web import proposal_map

    polygons = report.map_polygons()
    if polygons is None or report.members is None:
        return None
    layers = layers if layers is not None else check_layers(report, polygons)
    orphans = layers["orphelines"].copy()
    first = {
        p["code_insee"]: (p["candidates"][0]["territory"] if p["candidates"] else None, proposal_text(p))
        for p in report.proposals
        if p["kind"] == "orphan"
    }
    orphans["candidate"] = orphans["code_insee"].map(lambda c: first.get(c, (None, ""))[0])
    orphans["proposal"] = orphans["code_insee"].map(lambda c: first.get(c, (None, "sans proposition"))[1])
    overlaps = [p for p in report.proposals if p["kind"] == "overlap"]
    conflicts = pd.DataFrame(
        {"code_insee": [p["code_insee"] for p in overlaps], "proposal": [proposal_text(p) for p in overlaps]}
    )
    near_of = {t["name"]: threshold_text(t) for t in report.territories if t["near_threshold"]}
    terr = layers["territoires"]
    near = terr[terr["territoire"].isin(near_of)].rename(columns={"territoire": "cpts"})
    near = near.assign(proposal=near["cpts"].map(near_of))
    communes = layers["communes"].rename(columns={"territoire": "cpts"})[["code_insee", "nom", "cpts", "geometry"]]
    source = (
        f"INSEE, COG 2026 et populations légales 2023 ; {MAP_SOURCE} ; périmètres : "
        f"{report.source or 'table fournie'} — niveau commune. Propositions à décider par le chargé de mission"
    )
    title = "Propositions de rattachement" + (f" — {report.source}" if report.source else "")
    return proposal_map(MapSpec(communes, orphans=orphans, title=title, source=source), conflicts, near)


def write_check_outputs(report: CheckReport, out_dir) -> list[Path]:
    """Write the check workbook and, when polygons are available, the check GeoPackage and the proposal map.

    The GeoPackage and the map draw :meth:`CheckReport.map_polygons`: the user's polygons as the check read and
    aligned them (never read again), or the embedded display polygons. ``out_dir`` is created if
    needed; returns the files written, workbook first.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sheets, notes = check_workbook_sheets(report)
    written = [write_workbook(out_dir / WORKBOOK_NAME, sheets, notes=notes)]
    polygons = report.map_polygons()
    if polygons is not None and report.members is not None:
        layers = check_layers(report, polygons)
        if any(len(layer) for layer in layers.values()):
            written.append(write_geopackage(out_dir / GEOPACKAGE_NAME, layers))
        if len(layers["communes"]):
            from cpts_diag.outputs.maps.offline import save_offline_map

            written.append(save_offline_map(proposal_web_map(report, layers), out_dir / PROPOSAL_MAP_NAME))
    return written


# ----------------------------------------------------------------------------- terminal text


def _lines_fr(lines: list[int]) -> str:
    return ("ligne " if len(lines) == 1 else "lignes ") + ", ".join(map(str, lines))


def _pop(value) -> str:
    return f"{fr.integer(value, missing='?')} hab."


def _list_fr(items: list[str]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def territory_size_text(t: dict) -> str:
    """French population and tier of one territory record (approximate shown as a range)."""
    if not t["approximate"]:
        return f"{_pop(t['population'])} — {tier_label(t['tier'], unknown='taille ?')}"
    tier = tier_label(None, t["tier_min"], t["tier_max"], unknown="taille ?")
    split = t["split_communes"]
    why = f" : {_list_fr(split)} découpée{'s' if len(split) > 1 else ''} infra-communalement" if split else ""
    return (
        f"entre {fr.integer(t['population_min'], missing='?')} et {_pop(t['population_max'])} — {tier} "
        f"(approximatif{why})"
    )


def unverifiable_text(item: dict) -> str:
    """French sentence for a check that the data cannot decide."""
    communes = _codes_names(item["communes"], item["names"])
    if item.get("outside_file"):
        return f"Enclave possible dans {item['territory']} : {communes} — {item['why']}"
    if item["check"] == "continuité":
        if item.get("why"):
            return f"Continuité non vérifiable : {item['territory']} — {item['why']} ({communes})"
        return f"Continuité non vérifiable : {item['territory']} — commune(s) sans contour : {communes}"
    where = f" (entourée par {item['territory']})" if item.get("territory") else ""
    return f"Enclave non vérifiable{where} : {communes} — contour absent dans le voisinage"


def _codes_names(codes, names, limit: int = 12) -> str:
    pairs = [f"{c} {n}" for c, n in zip(codes, names)]
    return ", ".join(pairs[:limit]) + (f" … (+{len(pairs) - limit})" if len(pairs) > limit else "")


def mismatch_text(item: dict) -> str:
    """French sentence of a name mismatch: « Locronan » avec le code 29143, qui est Mahalon ; Locronan est 29134."""
    codes = item["codes_with_typed_name"]
    typed = item["typed_name"]
    if codes:
        shown = ", ".join(codes[:5]) + (f" … (+{len(codes) - 5})" if len(codes) > 5 else "")
        where = f"{typed} est {shown}"
    else:
        where = f"aucune commune ne s'appelle « {typed} » au COG 2026"
    return f"« {typed} » saisi avec le code {item['code_insee']}, qui est {item['cog_name']} ; {where}"


#: A list longer than this is summarised on screen (first :data:`_SHOWN` items, counts by département).
_LONG, _SHOWN = 20, 10


def _by_departement(items: list[dict], report: CheckReport) -> str:
    """« Finistère (29) : 251 ; Morbihan (56) : 3 » from items with a ``departement`` key."""
    counts = pd.Series([i["departement"] for i in items], dtype=object).value_counts().sort_index()
    name = report.reference.departement_name if report.reference is not None else str
    return " ; ".join(f"{name(d)} ({d}) : {fr.integer(n, style=fr.Style.TERMINAL)}" for d, n in counts.items())


def format_text(report: CheckReport) -> str:
    """Readable French summary of a report, for the terminal.

    Counts first, then each finding with commune codes and names, then the table of territories
    (population and ACI tier), notes, reading warnings and sources.
    """
    s = report.summary
    title = "Contrôle des périmètres de CPTS" + (f" — {report.source}" if report.source else "")
    lines = [title, "=" * len(title), ""]
    n_conf = s["n_conflicts"]
    counts = [
        ("Territoires", fr.integer(s["n_territories"])),
        (
            "Communes couvertes",
            f"{fr.integer(s['n_communes'])} (zone d'étude : {fr.integer(s['n_study_area_covered'])} sur "
            f"{fr.integer(s['n_study_area_communes'])})"
            if report.study_area
            else f"{fr.integer(s['n_communes'])} (pas de zone d'étude : voir les notes)",
        ),
        ("Population totale couverte", _pop(s["population_total"])),
        ("Chevauchements", f"{fr.integer(s['n_overlaps'])} (dont {n_conf} conflit{'s' if n_conf > 1 else ''})"),
        (
            "Noms de communes discordants",
            fr.integer(s["n_name_mismatches"]) if s["n_names_checked"] else "non vérifiés (pas de colonne de noms)",
        ),
        ("Communes orphelines", f"{fr.integer(s['n_orphans'])} ({_pop(s['orphan_population'])})"),
        (
            "Communes hors fichier",
            f"{fr.integer(s['n_outside_file'])} (information, pas des orphelines"
            + (f" : {_by_departement(report.outside_file, report)})" if report.outside_file else ")"),
        ),
        ("Arrondissements non couverts", fr.integer(s["n_uncovered_arrondissements"])),
        ("Codes périmés", fr.integer(s["n_outdated_codes"])),
        ("Codes inconnus", fr.integer(s["n_unknown_codes"])),
        ("Doublons", fr.integer(s["n_duplicates"])),
    ]
    if report.geometry_checks:
        counts += [
            ("Territoires discontinus", fr.integer(s["n_discontiguous"])),
            ("Enclaves", fr.integer(s["n_enclaves"])),
            ("Territoires avec îles (mer)", fr.integer(s["n_island_territories"])),
            ("Contrôles non vérifiables", fr.integer(s["n_unverifiable"])),
        ]
    else:
        counts += [("Continuité et enclaves", "non vérifiées (pas de contours de communes)")]
    counts += [
        ("Territoires sur plusieurs départements", fr.integer(s["n_multi_departement"])),
        ("Populations approximatives", fr.integer(s["n_approximate"])),
        ("Territoires proches d'un seuil ACI", fr.integer(s["n_near_threshold"])),
        ("Propositions de rattachement", fr.integer(s["n_proposals"])),
    ]
    width = max(len(k) for k, _ in counts)
    lines += [f"  {k.ljust(width)} : {v}" for k, v in counts]
    lines.append("")
    if report.blocking:
        why = []
        if report.unknown_codes:
            why.append(f"{len(report.unknown_codes)} code(s) inconnu(s)")
        if n_conf:
            why.append(f"{n_conf} conflit(s) de chevauchement")
        lines.append(f"Résultat : BLOQUANT — {_list_fr(why)}")
    else:
        lines.append("Résultat : aucun problème bloquant")

    def section(title: str, rows: list[str], sheet: str | None = None, head: str | None = None):
        """A titled list; longer than _LONG and kept in full in the workbook (``sheet``): summarised."""
        if rows:
            lines.extend(["", f"{title} ({len(rows)})", "-" * (len(title) + len(str(len(rows))) + 3)])
            long = sheet is not None and len(rows) > _LONG
            if head and long:
                lines.append(f"  {head}")
            lines.extend(f"  {r}" for r in (rows[:_SHOWN] if long else rows))
            if long:
                lines.append(
                    f"  … et {fr.integer(len(rows) - _SHOWN, style=fr.Style.TERMINAL)} autres : liste complète dans "
                    f"le classeur (--out DOSSIER, feuille « {sheet} ») et le JSON (--json)"
                )

    kind_label = {k: v[:1].upper() + v[1:] for k, v in KIND_LABELS.items()} | {CONFLICT: KIND_LABELS[CONFLICT].upper()}
    section(
        "Codes inconnus",
        [f"Code inconnu : {u['code']} — {u['territory']} (ligne {u['line']})" for u in report.unknown_codes],
        sheet="Codes inconnus",
    )
    section(
        "Chevauchements",
        [
            f"{kind_label[o['kind']]} : "
            f"{o['code_insee']} {o['name']} — {len(o['territories'])} territoires : {', '.join(o['territories'])}"
            for o in report.overlaps
        ],
    )
    section(
        "Noms de communes discordants avec leur code (à vérifier : le diagnostic décrit la commune du code)",
        [f"Ligne {m['line']} ({m['territory']}) : {mismatch_text(m)}" for m in report.name_mismatches],
        sheet="Noms et codes",
    )
    section(
        "Communes orphelines",
        [f"Orpheline : {o['code_insee']} {o['name']} ({_pop(o['population'])})" for o in report.orphans],
        sheet="Orphelines",
        head=f"par département : {_by_departement(report.orphans, report)}" if report.orphans else None,
    )
    section(
        "Arrondissements non couverts",
        [
            f"Arrondissement non couvert : {a['code']} {a['name']} ({_pop(a['population'])})"
            for a in report.uncovered_arrondissements
        ],
        sheet="Arr. non couverts",
    )
    section(
        "Codes périmés",
        [
            f"Code périmé : {o['code']} → {o['current_code']} {o['current_name']} — {o['territory']} "
            f"(ligne {o['line']}) : {o['note']}"
            for o in report.outdated_codes
        ],
        sheet="Codes périmés",
    )
    section(
        "Doublons",
        [
            f"Doublon{' après correspondance' if d['after_mapping'] else ''} : {d['code_insee']} {d['name']} — "
            f"{d['territory']} ({_lines_fr(d['lines'])}"
            + (f" ; codes {', '.join(d['codes_given'])}" if d["after_mapping"] else "")
            + ")"
            for d in report.duplicates
        ],
        sheet="Doublons",
    )
    section(
        "Territoires discontinus",
        [
            f"Discontinu : {d['territory']} en {d['n_pieces']} morceaux ; hors morceau principal : "
            + " | ".join(_codes_names(p, n) for p, n in zip(d["pieces"][1:], d["piece_names"][1:]))
            for d in report.discontiguous
        ],
    )
    section(
        "Enclaves",
        [
            f"Enclave dans {e['territory']} : {_codes_names(e['communes'], e['names'])} ({_pop(e['population'])})"
            for e in report.enclaves
        ],
    )
    section(
        "Territoires avec des îles (séparés par la mer seulement : information, pas un problème)",
        [
            f"{d['territory']} : {d['n_pieces']} morceaux séparés par la mer ; hors morceau principal : "
            + " | ".join(_codes_names(p, n) for p, n in zip(d["pieces"][1:], d["piece_names"][1:]))
            for d in report.island_territories
        ],
    )
    section("Non vérifiable", [unverifiable_text(u) for u in report.unverifiable], sheet="Non vérifiable")
    section(
        "Territoires sur plusieurs départements ou régions",
        [
            f"{m['territory']} : départements {', '.join(m['departements'])}"
            + (f" ; régions {', '.join(m['regions'])}" if len(m["regions"]) > 1 else "")
            for m in report.multi_departement
        ],
    )

    section(
        "Propositions (à décider : une proposition ne modifie pas le fichier ; rang 1 = le mieux placé)",
        [proposal_text(p, fr.Style.TERMINAL) for p in report.proposals],
        sheet="Propositions",
    )
    near = [t for t in report.territories if t["near_threshold"]]
    section(
        "Territoires proches d'un seuil de taille ACI (moins de 5 %)",
        [f"{t['name']} : {_pop(t['population'])}, {threshold_text(t, fr.Style.TERMINAL)}" for t in near],
    )

    width = min(48, max((len(t["name"]) for t in report.territories), default=0))
    section(
        "Territoires",
        [
            f"{t['name'].ljust(width)}  {str(t['n_communes']).rjust(4)} comm.  {territory_size_text(t)}"
            + (f" — {threshold_text(t, fr.Style.TERMINAL)}" if t["near_threshold"] else "")
            for t in report.territories
        ],
    )
    if report.notes:
        lines += ["", "Notes"] + [f"  - {n}" for n in report.notes]
    if report.warnings:
        lines += ["", "Avertissements de lecture"] + [f"  - {w}" for w in report.warnings]
    lines += ["", "Sources : " + " ; ".join(report.sources)]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- one territory

#: Levels of a territory's perimeter findings, in display order.
BLOCKING, TO_CHECK, INFORMATION = "bloquant", "à vérifier", "information"
_LEVEL_ORDER = (BLOCKING, TO_CHECK, INFORMATION)


def _names_list(codes, names, limit: int = 8) -> str:
    pairs = [f"{n} ({c})" for c, n in zip(codes, names)]
    return ", ".join(pairs[:limit]) + (f" … (+{len(pairs) - limit})" if len(pairs) > limit else "")


def perimeter_items(findings: dict, style: fr.Style = fr.Style.HTML) -> list[dict]:
    """The French findings of one territory (:func:`cpts_diag.checks.territory_findings`) for its report.

    One dict per finding: ``level`` (« bloquant », « à vérifier », « information »), ``finding`` (its list in
    :class:`cpts_diag.checks.CheckReport`: ``overlaps``, ``name_mismatches``...), ``kind`` (short French label),
    ``text`` (sentence naming communes, codes and lines) and ``population`` (inhabitants concerned, or None);
    blocking findings first.
    """

    def pop(value) -> str:
        return f"{fr.integer(value, missing='?', style=style)}\u00a0hab."

    items: list[dict] = []

    def add(level, finding, kind, text, population=None):
        items.append({"level": level, "finding": finding, "kind": kind, "text": text, "population": population})

    for u in findings["unknown_codes"]:
        add(
            BLOCKING,
            "unknown_codes",
            "Code inconnu",
            f"Ligne {u['line']} : le code {u['code']} n'existe dans aucun millésime du COG connu ; "
            "cette ligne n'est pas comptée",
        )
    for o in findings["overlaps"]:
        others = _list_fr(o["other_territories"])
        label = f"{o['name']} ({o['code_insee']}, {pop(o['population'])})"
        if o["kind"] == CONFLICT:
            add(
                BLOCKING,
                "overlaps",
                "Chevauchement",
                f"{label} est aussi dans {others} : sa population est comptée dans les deux territoires",
                o["population"],
            )
        elif o["kind"] == INFRACOMMUNAL:
            add(
                INFORMATION,
                "overlaps",
                "Commune partagée",
                f"{label} est partagée avec {others} (découpage infra-communal déclaré) : la population du "
                "territoire est donnée en fourchette",
            )
        else:
            add(
                INFORMATION,
                "overlaps",
                "Découpage par arrondissement",
                f"{label} : arrondissements partagés avec {others}",
            )
    for m in findings["name_mismatches"]:
        add(TO_CHECK, "name_mismatches", "Nom et code discordants", f"Ligne {m['line']} : {mismatch_text(m)}")
    for o in findings["outdated_codes"]:
        added = (
            f"la population comptée est celle de toute la commune actuelle ({pop(o['population'])})"
            if o["counted"]
            else "la commune actuelle est déjà comptée par une autre ligne"
        )
        add(
            TO_CHECK,
            "outdated_codes",
            "Code périmé remplacé",
            f"Ligne {o['line']} : {o['code']} → {o['current_code']} {o['current_name']} ({o['note']}) ; {added}",
            o["population"] if o["counted"] else None,
        )
    for d in findings["duplicates"]:
        codes = f" (codes {', '.join(d['codes_given'])})" if d["after_mapping"] else ""
        add(
            TO_CHECK,
            "duplicates",
            "Doublon",
            f"{d['name']} ({d['code_insee']}) listée {_lines_fr(d['lines'])}{codes} : comptée une fois",
        )
    if findings["discontiguous"]:
        d = findings["discontiguous"]
        apart = " | ".join(
            f"{_names_list(c, n)} ({pop(p)})"
            for c, n, p in zip(d["pieces"][1:], d["piece_names"][1:], d["piece_populations"][1:])
        )
        add(
            TO_CHECK,
            "discontiguous",
            "Territoire discontinu",
            f"{d['n_pieces']} morceaux ; hors du morceau principal : {apart}",
        )
    for e in findings["enclaves"]:
        add(
            TO_CHECK,
            "enclaves",
            "Enclave",
            f"communes orphelines entourées par le territoire : {_names_list(e['communes'], e['names'])}",
            e["population"],
        )
    if findings["orphans_touching"]:
        o = findings["orphans_touching"]
        total = sum(x["population"] or 0 for x in o)
        add(
            TO_CHECK,
            "orphans",
            "Communes orphelines voisines",
            f"{len(o)} commune(s) de la zone d'étude sans CPTS dans le fichier touchent le territoire : "
            + _names_list([x["code_insee"] for x in o], [x["name"] for x in o]),
            total,
        )
    for a in findings["uncovered_arrondissements"]:
        add(
            TO_CHECK,
            "uncovered_arrondissements",
            "Arrondissement non couvert",
            f"{a['name']} ({a['code']}) n'est dans aucun territoire",
            a["population"],
        )
    if findings["island"]:
        d = findings["island"]
        apart = " | ".join(_names_list(c, n) for c, n in zip(d["pieces"][1:], d["piece_names"][1:]))
        add(
            INFORMATION,
            "island_territories",
            "Séparé par la mer",
            f"{d['n_pieces']} morceaux séparés par la mer seulement : {apart}",
        )
    for u in findings["unverifiable"]:
        add(INFORMATION, "unverifiable", "Non vérifiable", unverifiable_text(u))
    if findings["outside_file_touching"]:
        o = findings["outside_file_touching"]
        add(
            INFORMATION,
            "outside_file",
            "Communes voisines hors fichier",
            f"{len(o)} commune(s) voisine(s) ne sont dans aucun territoire du fichier (le fichier ne dit pas si elles "
            "ont une CPTS ; ce ne sont pas des orphelines) : "
            + _names_list([x["code_insee"] for x in o], [x["name"] for x in o]),
        )
    if findings["multi_departement"]:
        m = findings["multi_departement"]
        regions = f" et {len(m['regions'])} régions" if len(m["regions"]) > 1 else ""
        add(
            INFORMATION,
            "multi_departement",
            "Plusieurs départements",
            f"départements {', '.join(m['departements'])}{regions}",
        )
    return sorted(items, key=lambda i: _LEVEL_ORDER.index(i["level"]))


def perimeter_sheet(findings: dict) -> tuple[pd.DataFrame, list[str]]:
    """The « Périmètre » sheet of a territory's workbook (one row per finding) and its notes."""
    items = perimeter_items(findings, style=fr.Style.EXCEL)
    df = pd.DataFrame(
        {
            "Niveau": [i["level"] for i in items],
            "Constat": [i["kind"] for i in items],
            "Détail": [i["text"] for i in items],
            "Population concernée (hab.)": pd.array([i["population"] for i in items], dtype="Int64"),
        }
    )
    notes = [
        f"Contrôle du périmètre de {findings['territory']} dans le fichier de périmètres"
        + (" : aucun constat." if not items else " : constats bloquants en premier."),
        f"Règle : {findings['study_area_rule']}.",
        "Sources : " + " ; ".join(findings["sources"]),
    ]
    return df, notes
