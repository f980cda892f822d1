"""The sheets of the check workbook ``controle_perimetres.xlsx``, one per kind of finding (French headers, codes
as text; :func:`check_workbook_sheets`), and the « Périmètre » sheet of a territory's workbook."""

from __future__ import annotations

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.checks import CONFLICT, CheckReport
from cpts_diag.outputs.check_text import KIND_LABELS, mismatch_text, perimeter_items, state_text, tier_after_text
from cpts_diag.proposals import RANKING_RULE
from cpts_diag.tiers import NEAR_THRESHOLD_RULE, tier_label

_NOT_CHECKED = "Contrôle non effectué : aucun contour de communes disponible."
_NONE = "Aucun constat."


def _frame(items: list[dict], columns: dict, ints=()) -> pd.DataFrame:
    """One row per item; ``columns``: French header -> key or function of the item; ``ints`` columns in Int64."""
    rows = [[item[get] if isinstance(get, str) else get(item) for get in columns.values()] for item in items]
    df = pd.DataFrame(rows, columns=list(columns))
    for col in ints:
        df[col] = pd.array(df[col].tolist(), dtype="Int64")
    return df


def enclosing_territory(report: CheckReport) -> dict[str, str]:
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
    sheets = {"Synthèse": pd.DataFrame(summary_rows, columns=["Indicateur", "Valeur"])}
    notes = {
        "Synthèse": [f"Note : {n}" for n in report.notes] + [f"Avertissement de lecture : {w}" for w in report.warnings]
    }

    sheets["Territoires"] = _frame(
        report.territories,
        {
            "Territoire": "name",
            "Communes": "n_communes",
            "Population": "population",
            "Population min.": "population_min",
            "Population max.": "population_max",
            "Approximatif": lambda t: fr.yes_no(t["approximate"]),
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
            "Bloquant": lambda o: fr.yes_no(o["kind"] == CONFLICT),
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

    enclave_of = enclosing_territory(report)
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
            "Après correspondance des codes": lambda d: fr.yes_no(d["after_mapping"]),
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
    return "non vérifiable" if value is None else fr.yes_no(value)


_PROPOSAL_KINDS = {"orphan": "Orpheline", "enclave": "Enclave", "overlap": "Conflit"}
#: The columns of the « Propositions » sheet: French header -> cell of a proposal ``p`` and one of its options ``c``
#: (None for a proposal without candidate).
_PROPOSAL_COLUMNS = {
    "Type": lambda p, c: _PROPOSAL_KINDS[p["kind"]] + (" (arrondissement)" if p["unit"] == "arrondissement" else ""),
    "Code(s) INSEE": lambda p, c: ", ".join(p["codes"]),
    "Commune(s)": lambda p, c: p["name"],
    "Population": lambda p, c: p["population"],
    "Département": lambda p, c: p["departement"] or "",
    "Rang": lambda p, c: None if c is None else c["rank"],
    "Territoire proposé": lambda p, c: "" if c is None else c["territory"],
    "Raisons": lambda p, c: p.get("note", "") if c is None else " ; ".join(c["reasons"]),
    "Frontière commune (km)": lambda p, c: None if c is None else c["border_km"],
    "Même EPCI": lambda p, c: "" if c is None else fr.yes_no(c["same_epci"]),
    "Même bassin de vie": lambda p, c: "" if c is None else fr.yes_no(c["same_bassin_de_vie"]),
    "Population du territoire après": lambda p, c: None if c is None else c["population_after"],
    "Population après (min. – max.)": lambda p, c: _bounds_text(c),
    "Taille avant": lambda p, c: "" if c is None else tier_label(c["tier_before"], short=True, unknown="n.d."),
    "Taille après": lambda p, c: "" if c is None else tier_after_text(c),
    "Change de taille": lambda p, c: "" if c is None else fr.yes_no(c["tier_changes"]),
    "Écart au seuil après (hab.)": lambda p, c: None if c is None else c["tier_margin_after"],
    "Les autres territoires après": lambda p, c: " ; ".join(
        f"{o['territory']} : {state_text(o, fr.Style.EXCEL)}"
        for o in (c or {}).get("territories_after", [])
        if not o["keeps"]
    ),
}


def proposals_sheet(report: CheckReport) -> tuple[pd.DataFrame, list[str]]:
    """The « Propositions » sheet: one row per option (candidate territory) of each proposal, and its notes."""
    options = [(p, c) for p in report.proposals for c in p["candidates"] or [None]]
    rows = [[get(p, c) for get in _PROPOSAL_COLUMNS.values()] for p, c in options]
    df = pd.DataFrame(rows, columns=list(_PROPOSAL_COLUMNS))
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
