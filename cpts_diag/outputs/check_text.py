"""The French wording of a check: the terminal text (:func:`format_text`, which summarises long lists that the
workbook and the JSON keep in full), the sentences of proposals and tier margins, the findings of one territory."""

from __future__ import annotations

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.check_membership import ARRONDISSEMENT_SPLIT, INFRACOMMUNAL
from cpts_diag.checks import CONFLICT, CheckReport
from cpts_diag.reference import Reference
from cpts_diag.tiers import margin_label, tier_label, tier_margin

#: French label of each overlap kind.
KIND_LABELS = {
    INFRACOMMUNAL: "découpage infra-communal déclaré",
    ARRONDISSEMENT_SPLIT: "découpage par arrondissement municipal",
    CONFLICT: "conflit",
}


def tier_after_text(c: dict, short: bool = True) -> str:
    return tier_label(c["tier_after"], c["tier_after_min"], c["tier_after_max"], short=short, unknown="n.d.")


def state_text(state: dict, style: fr.Style = fr.Style.HTML) -> str:
    """« 71 219 hab., taille 2 » or « 48 992 hab., taille 1 → 2 » of a candidate's territory after the change."""
    if state["population_after"] is not None:
        pop = f"{fr.integer(state['population_after'], style=style)}{_space(style)}hab."
    else:
        pop = fr.population(None, state["population_after_min"], state["population_after_max"], style=style) + (
            f"{_space(style)}hab."
        )
    after = tier_after_text(state, short=False)
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
        return state_text(item, style) + near

    text = f"{c['territory']} ({' ; '.join(c['reasons'])}) : {state(c)}"
    others = [o for o in c.get("territories_after", []) if not o["keeps"]]
    if others:
        text += " ; " + " ; ".join(f"{o['territory']} sans elle : {state(o)}" for o in others)
    return text


def _threshold_of(c: dict) -> int:
    margin = tier_margin(c["population_after"])
    assert margin is not None  # called for a candidate near a threshold: its population is known
    return margin[1]


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


# ----------------------------------------------------------------------------- terminal text


def _lines_fr(lines: list[int]) -> str:
    return ("ligne " if len(lines) == 1 else "lignes ") + ", ".join(map(str, lines))


def _pop(value) -> str:
    return f"{fr.integer(value, missing='?')} hab."


def territory_size_text(t: dict) -> str:
    """French population and tier of one territory record (approximate shown as a range)."""
    if not t["approximate"]:
        return f"{_pop(t['population'])} — {tier_label(t['tier'], unknown='taille ?')}"
    tier = tier_label(None, t["tier_min"], t["tier_max"], unknown="taille ?")
    split = t["split_communes"]
    why = f" : {fr.enumeration(split)} découpée{'s' if len(split) > 1 else ''} infra-communalement" if split else ""
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


def listed(items: list[str], limit: int) -> str:
    """The first ``limit`` items, comma-separated, then « … (+n) » for the others."""
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" … (+{more})" if more > 0 else "")


def _codes_names(codes, names) -> str:
    return listed([f"{c} {n}" for c, n in zip(codes, names)], 12)


def mismatch_text(item: dict) -> str:
    """French sentence of a name mismatch: « Locronan » avec le code 29143, qui est Mahalon ; Locronan est 29134."""
    codes, typed = item["codes_with_typed_name"], item["typed_name"]
    where = f"{typed} est {listed(codes, 5)}" if codes else f"aucune commune ne s'appelle « {typed} » au COG 2026"
    return f"« {typed} » saisi avec le code {item['code_insee']}, qui est {item['cog_name']} ; {where}"


#: A list longer than this is summarised on screen (first :data:`_SHOWN` items, counts by département).
_LONG, _SHOWN = 20, 10


def _by_departement(items: list[dict], report: CheckReport) -> str:
    """« Finistère (29) : 251 ; Morbihan (56) : 3 » from items with a ``departement`` key."""
    counts = pd.Series([i["departement"] for i in items], dtype=object).value_counts().sort_index()
    name = report.reference.departement_name if isinstance(report.reference, Reference) else str
    return " ; ".join(f"{name(d)} ({d}) : {fr.integer(n, style=fr.Style.TERMINAL)}" for d, n in counts.items())


def format_text(report: CheckReport) -> str:
    """French summary of a report for the terminal: counts, each finding (codes and names), the territories
    (population and ACI tier), notes, reading warnings and sources."""
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
        lines.append(f"Résultat : BLOQUANT — {fr.enumeration(why)}")
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


BLOCKING, TO_CHECK, INFORMATION = "bloquant", "à vérifier", "information"
_LEVEL_ORDER = (BLOCKING, TO_CHECK, INFORMATION)


def _names_list(codes, names) -> str:
    return listed([f"{n} ({c})" for c, n in zip(codes, names)], 8)


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
        others = fr.enumeration(o["other_territories"])
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
