"""What a simulation gives users (:mod:`cpts_diag.simulation`): the before/after tables that notebook 01 shows
side by side (:func:`territories_frame`, :func:`findings_frame`), the one wording of a simulation, of which the text
of ``cpts-diag simulate`` is made."""

from __future__ import annotations

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.outputs.check_text import listed
from cpts_diag.simulation import ADD, Simulation
from cpts_diag.tiers import NEAR_THRESHOLD_RULE, TIER_RULE, margin_label, tier_label

#: French name of each kind of finding.
FINDING_LABELS = {
    "overlaps": "Chevauchements",
    "name_mismatches": "Noms de communes discordants",
    "orphans": "Communes orphelines",
    "outside_file": "Communes hors fichier",
    "uncovered_arrondissements": "Arrondissements non couverts",
    "outdated_codes": "Codes périmés",
    "unknown_codes": "Codes inconnus",
    "duplicates": "Doublons",
    "discontiguous": "Territoires discontinus",
    "island_territories": "Territoires séparés par la mer",
    "enclaves": "Enclaves",
    "unverifiable": "Contrôles non vérifiables",
    "multi_departement": "Territoires sur plusieurs départements",
}

_POPULATION_SOURCE = "INSEE, populations légales 2023, COG 2026, niveau commune"


def _population(state: dict | None, style: fr.Style) -> str:
    if state is None:
        return "—"
    text = fr.population(state["population"], state["population_min"], state["population_max"], style=style)
    return f"{text}{' ' if style != fr.Style.HTML else chr(0xA0)}hab."


def _tier(state: dict | None) -> str:
    if state is None:
        return "—"
    return tier_label(state["tier"], state["tier_min"], state["tier_max"])


def _margin(state: dict | None, style: fr.Style) -> str:
    if state is None:
        return "—"
    if state["tier_margin"] is None:
        return "non vérifiable (population approximative)" if state["near_threshold"] is None else "n.d."
    text = margin_label(state["tier_margin"], state["tier_threshold"], style)
    return text + (" — proche d'un seuil" if state["near_threshold"] else "")


def _indicator(value: dict | None, ind: str, style: fr.Style) -> str:
    if value is None or (value["value"] is None and value["value_low"] is None):
        return "n.d."
    if ind == "part_75_plus":
        if value["value"] is None:
            return fr.value_text(None, value["value_low"], value["value_high"], 1, style=style) + " %"
        return fr.percent(value["value"], 1, style=style)
    return fr.value_text(value["value"], value["value_low"], value["value_high"], 2, style=style)


def territories_frame(sim: Simulation, style: fr.Style = fr.Style.HTML) -> pd.DataFrame:
    """Columns Territoire, Mesure, Avant, Après, Source: the figures of each territory that moves (for the
    territories touched by a change, APL and share of 75+ too)."""
    rows = []
    for c in sim.changes:
        if c["kind"] != "territory":
            continue
        a, b = c["before"], c["after"]
        name = c["territory"]
        rows += [
            (name, "Population", _population(a, style), _population(b, style), _POPULATION_SOURCE),
            (name, "Taille ACI", _tier(a), _tier(b), "ACI CPTS (règle du projet aux seuils)"),
            (name, "Écart au seuil le plus proche", _margin(a, style), _margin(b, style), _POPULATION_SOURCE),
            (name, "Communes", _count(a), _count(b), "COG 2026"),
        ]
        for item in c.get("indicators", []):
            source = (item["before"] or item["after"] or {}).get("source") or ""
            before, after = (_indicator(item[k], item["indicator"], style) for k in ("before", "after"))
            rows.append((name, item["label"], before, after, f"{source}, niveau commune agrégé"))
    return pd.DataFrame(rows, columns=["Territoire", "Mesure", "Avant", "Après", "Source"])


def _count(state: dict | None) -> str:
    return "—" if state is None else fr.integer(state["n_communes"], style=fr.Style.TERMINAL)


def _item_text(kind: str, item: dict) -> str:
    if kind in ("orphans", "outside_file"):
        return f"{item['code_insee']} {item['name']}"
    if kind == "uncovered_arrondissements":
        return f"{item['code']} {item['name']}"
    if kind == "overlaps":
        return f"{item['code_insee']} {item['name']} ({', '.join(item['territories'])})"
    if kind in ("discontiguous", "island_territories"):
        return f"{item['territory']} ({item['n_pieces']} morceaux)"
    if kind == "enclaves":
        return f"{item['territory']} : {', '.join(item['names'])}"
    if kind == "unverifiable":
        return f"{item.get('territory') or ''} : {', '.join(item['names'])}".strip(" :")
    if kind in ("duplicates", "name_mismatches"):
        return f"{item['territory']} : {item['code_insee']}"
    if kind in ("outdated_codes", "unknown_codes"):
        return f"{item['territory']} : {item['code']}"
    return f"{item['territory']} ({', '.join(item['departements'])})"


def findings_frame(sim: Simulation) -> pd.DataFrame:
    """Columns Constat, Avant, Après, Apparaît, Disparaît: one row per kind of finding whose list changes, then the
    blocking verdict and the study area when they change."""
    rows = []
    for c in sim.changes:
        if c["kind"] == "finding":
            added, removed = (listed([_item_text(c["finding"], i) for i in c[k]], 8) for k in ("added", "removed"))
            rows.append((FINDING_LABELS[c["finding"]], c["n_before"], c["n_after"], added, removed))
        elif c["kind"] == "blocking":
            rows.append(("Résultat bloquant", fr.yes_no(c["before"]), fr.yes_no(c["after"]), "", ""))
        elif c["kind"] == "study_area":
            rows.append(("Zone d'étude (départements)", ", ".join(c["before"]), ", ".join(c["after"]), "", ""))
    return pd.DataFrame(rows, columns=["Constat", "Avant", "Après", "Apparaît", "Disparaît"])


def applied_lines(sim: Simulation, style: fr.Style = fr.Style.HTML) -> list[str]:
    """One French line per change applied."""
    out = []
    for c in sim.changes:
        if c["kind"] != "applied":
            continue
        pop = f"{fr.integer(c['population'], missing='?', style=style)} hab."
        if c["action"] == ADD:
            out.append(f"+ {c['code_insee']} {c['name']} ({pop}) ajoutée à {c['territory']}")
        else:
            lines = ", ".join(map(str, c["lines"]))
            out.append(f"− {c['code_insee']} {c['name']} ({pop}) retirée de {c['territory']} (ligne(s) {lines})")
    return out


def format_simulation_text(sim: Simulation) -> str:
    """The French text of ``cpts-diag simulate``: the changes, the territories before → after, the findings that
    change, the verdict, the files written, the rules and sources."""
    style = fr.Style.TERMINAL
    title = f"Simulation de modifications — {sim.name} (le fichier d'origine n'est pas modifié)"
    lines = [title, "=" * len(title), "", "Modifications"]
    lines += [f"  {t}" for t in applied_lines(sim, style)]
    terr = territories_frame(sim, style)
    if len(terr):
        lines += ["", "Territoires (avant → après)"]
        for name, part in terr.groupby("Territoire", sort=False):
            lines.append(f"  {name}")
            width = max(len(m) for m in part["Mesure"])
            lines += [
                f"    {m.ljust(width)} : {a} → {b}" for m, a, b in zip(part["Mesure"], part["Avant"], part["Après"])
            ]
    found = findings_frame(sim)
    lines += ["", "Constats (avant → après)"]
    if found.empty:
        lines.append("  aucun constat ne change")
    for r in found.itertuples(index=False):
        detail = "; ".join(
            filter(None, [r.Apparaît and f"apparaît : {r.Apparaît}", r.Disparaît and f"disparaît : {r.Disparaît}"])
        )
        lines.append(f"  {r.Constat} : {r.Avant} → {r.Après}" + (f" ({detail})" if detail else ""))
    verdict = {True: "BLOQUANT", False: "aucun problème bloquant"}
    lines += ["", f"Résultat : avant, {verdict[sim.before.blocking]} ; après, {verdict[sim.after.blocking]}"]
    if sim.written:
        lines.append(f"Fichier corrigé : {sim.written[0]} (journal : {sim.written[1].name})")
    else:
        lines.append("Aucun fichier écrit (--out DOSSIER pour écrire le fichier corrigé, que check relit)")
    lines += [
        "",
        f"Règles : {TIER_RULE} {NEAR_THRESHOLD_RULE[:1].upper()}{NEAR_THRESHOLD_RULE[1:]}.",
        "Sources : " + " ; ".join(sim.after.sources),
    ]
    return "\n".join(lines)
