"""What a check gives users: the French text of the terminal (:func:`format_text`) and the files of
``cpts-diag check --out DIR``, the findings as an Excel workbook and a GeoPackage.

* ``controle_perimetres.xlsx``: one sheet per kind of finding (French headers, codes as text):
  "Synthèse", "Territoires", "Chevauchements", "Orphelines", "Arr. non couverts", "Codes périmés",
  "Codes inconnus", "Doublons", "Discontinuités", "Enclaves", "Séparés par la mer", "Non vérifiable",
  "Multi-départements", "Sources".
* ``controle_perimetres.gpkg`` (when commune polygons are available), for QGIS: layers
  "territoires" (outlines with name, population and ACI tier), "communes" (member communes with their
  territory; Paris, Lyon and Marseille by arrondissement when listed so) and "orphelines" (orphan
  communes and uncovered arrondissements).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.checks import ARRONDISSEMENT_SPLIT, CONFLICT, INFRACOMMUNAL, CheckReport
from cpts_diag.outputs.export import write_geopackage, write_workbook
from cpts_diag.tiers import tier_label

__all__ = [
    "GEOPACKAGE_NAME",
    "KIND_LABELS",
    "WORKBOOK_NAME",
    "check_layers",
    "check_workbook_sheets",
    "format_text",
    "territory_size_text",
    "unverifiable_text",
    "write_check_outputs",
]

WORKBOOK_NAME = "controle_perimetres.xlsx"
GEOPACKAGE_NAME = "controle_perimetres.gpkg"

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
        ("Zone d'étude (départements)", ", ".join(report.study_area)),
        ("Communes de la zone d'étude", s["n_study_area_communes"]),
        ("Territoires", s["n_territories"]),
        ("Communes couvertes", s["n_communes"]),
        ("dont dans la zone d'étude", s["n_study_area_covered"]),
        ("Population totale couverte", s["population_total"]),
        ("Chevauchements", s["n_overlaps"]),
        ("dont conflits (bloquants)", s["n_conflicts"]),
        ("Communes orphelines", s["n_orphans"]),
        ("Population des communes orphelines", s["orphan_population"]),
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
        },
        ints=[
            "Communes",
            "Population",
            "Population min.",
            "Population max.",
            "Taille ACI",
            "Taille min.",
            "Taille max.",
        ],
    )
    notes["Territoires"] = [
        "Population approximative : « Population min. » sans les communes découpées "
        "infra-communalement, « Population max. » avec ces communes entières."
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

    enclave_of = _enclave_of(report)
    sheets["Orphelines"] = _frame(
        report.orphans,
        {
            "Code INSEE": "code_insee",
            "Commune": "name",
            "Population": "population",
            "Département": "departement",
            "Enclavée dans": lambda o: enclave_of.get(o["code_insee"], ""),
        },
        ints=["Population"],
    )

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

    sheets["Sources"] = pd.DataFrame({"Source": list(report.sources)})

    for title, df in sheets.items():
        if title in ("Discontinuités", "Enclaves", "Séparés par la mer", "Non vérifiable") and not geo:
            notes[title] = [_NOT_CHECKED]
        elif df.empty and title not in ("Synthèse", "Sources", "Territoires"):
            notes[title] = [_NONE]
    return sheets, notes


def check_layers(report: CheckReport, polygons) -> dict:
    """GeoDataFrames "territoires", "communes" and "orphelines" of the check GeoPackage."""
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
    return {"territoires": terr, "communes": communes, "orphelines": orphans}


def write_check_outputs(report: CheckReport, out_dir) -> list[Path]:
    """Write the check workbook and, when polygons are available, the check GeoPackage.

    The GeoPackage draws :meth:`CheckReport.map_polygons`: the user's polygons as the check read and
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
    if item["check"] == "continuité":
        return f"Continuité non vérifiable : {item['territory']} — commune(s) sans contour : {communes}"
    where = f" (entourée par {item['territory']})" if item.get("territory") else ""
    return f"Enclave non vérifiable{where} : {communes} — contour absent dans le voisinage"


def _codes_names(codes, names, limit: int = 12) -> str:
    pairs = [f"{c} {n}" for c, n in zip(codes, names)]
    return ", ".join(pairs[:limit]) + (f" … (+{len(pairs) - limit})" if len(pairs) > limit else "")


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
            f"{fr.integer(s['n_study_area_communes'])})",
        ),
        ("Population totale couverte", _pop(s["population_total"])),
        ("Chevauchements", f"{fr.integer(s['n_overlaps'])} (dont {n_conf} conflit{'s' if n_conf > 1 else ''})"),
        ("Communes orphelines", f"{fr.integer(s['n_orphans'])} ({_pop(s['orphan_population'])})"),
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

    def section(title: str, rows: list[str]):
        if rows:
            lines.extend(["", f"{title} ({len(rows)})", "-" * (len(title) + len(str(len(rows))) + 3)])
            lines.extend(f"  {r}" for r in rows)

    kind_label = {k: v[:1].upper() + v[1:] for k, v in KIND_LABELS.items()} | {CONFLICT: KIND_LABELS[CONFLICT].upper()}
    section(
        "Codes inconnus",
        [f"Code inconnu : {u['code']} — {u['territory']} (ligne {u['line']})" for u in report.unknown_codes],
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
        "Communes orphelines",
        [f"Orpheline : {o['code_insee']} {o['name']} ({_pop(o['population'])})" for o in report.orphans],
    )
    section(
        "Arrondissements non couverts",
        [
            f"Arrondissement non couvert : {a['code']} {a['name']} ({_pop(a['population'])})"
            for a in report.uncovered_arrondissements
        ],
    )
    section(
        "Codes périmés",
        [
            f"Code périmé : {o['code']} → {o['current_code']} {o['current_name']} — {o['territory']} "
            f"(ligne {o['line']}) : {o['note']}"
            for o in report.outdated_codes
        ],
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
    section("Non vérifiable (communes sans contour)", [unverifiable_text(u) for u in report.unverifiable])
    section(
        "Territoires sur plusieurs départements ou régions",
        [
            f"{m['territory']} : départements {', '.join(m['departements'])}"
            + (f" ; régions {', '.join(m['regions'])}" if len(m["regions"]) > 1 else "")
            for m in report.multi_departement
        ],
    )

    width = min(48, max((len(t["name"]) for t in report.territories), default=0))
    section(
        "Territoires",
        [
            f"{t['name'].ljust(width)}  {str(t['n_communes']).rjust(4)} comm.  {territory_size_text(t)}"
            for t in report.territories
        ],
    )
    if report.notes:
        lines += ["", "Notes"] + [f"  - {n}" for n in report.notes]
    if report.warnings:
        lines += ["", "Avertissements de lecture"] + [f"  - {w}" for w in report.warnings]
    lines += ["", "Sources : " + " ; ".join(report.sources)]
    return "\n".join(lines)
