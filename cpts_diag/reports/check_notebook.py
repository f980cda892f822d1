"""What notebook 01 (perimeter check) displays: the check run with the notebook parameters, its summary,
its findings, its maps (printed and interactive), the territories, the proposals and their map, the « what
if » simulation of the changes a user lists (before and after side by side), the files written and the sources.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag import settings
from cpts_diag.outputs.check_workbook import check_workbook_sheets
from cpts_diag.reports.display import (
    CHECK_SOURCE,
    GEOMETRY_SOURCE,
    finish_map,
    map_figure,
    parameter_path,
    plot_layer,
    render,
    show_figure,
    show_html,
    show_map,
    show_note,
    show_table,
)
from cpts_diag.tiers import NEAR_THRESHOLD_RULE, TIER_RULE, tier_label


def run_check(perimeters="", region="", departements=(), geometries_file=""):
    """Run the perimeter check with the notebook parameters; return the CheckReport.

    ``perimeters``: ``""`` for the embedded PACA listing (ARS PACA, 01/2026). ``region``: région code of the study
    area (orphans), ``""`` for the default study area of ``cpts-diag check``; ``departements``: départements of the
    study area (as ``--departement``). ``geometries_file``: commune polygons (GeoJSON/GeoPackage), ``""`` for
    the embedded national adjacency and polygons.
    """
    from cpts_diag.checks import check_perimeters
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference

    reference = load_reference()
    path = parameter_path(perimeters, settings.DEFAULT_PERIMETERS)
    perims = read_perimeters(path, names_by_code=reference.names)
    geometries = parameter_path(geometries_file) or "default"
    regions = [str(region).strip()] if region is not None and str(region).strip() else None
    deps = [str(d) for d in (departements or [])] or None
    return check_perimeters(perims, reference, geometries=geometries, regions=regions, departements=deps)


def show_check_summary(report) -> None:
    """Display the verdict (blocking or not), the counts and the reading warnings of a check."""
    if report.blocking:
        why = []
        if report.unknown_codes:
            why.append(f"{len(report.unknown_codes)} code(s) inconnu(s)")
        if report.conflicts:
            why.append(f"{len(report.conflicts)} conflit(s) de chevauchement")
        show_note("Résultat : BLOQUANT — " + " et ".join(why) + ". À corriger avant validation.", "warn")
    else:
        show_note("Résultat : aucun problème bloquant (les constats ci-dessous restent à examiner).")
    show_table(
        check_workbook_sheets(report)[0]["Synthèse"],
        f"Source : {CHECK_SOURCE} ; périmètres : {report.source or 'table fournie'}.",
        decimals=0,
    )
    for n in report.notes:
        show_note(f"Note : {n}")
    for w in report.warnings:
        show_note(f"Avertissement de lecture : {w}", "warn")


#: Finding sheets shown by notebook 01, with their French title and a short explanation.
_FINDINGS = (
    (
        "Chevauchements",
        "Chevauchements",
        (
            "Commune revendiquée par plusieurs CPTS. Un découpage infra-communal déclaré (Nice, Toulon) ou par "
            "arrondissement municipal (Marseille) est une exception admise ; un conflit est bloquant."
        ),
    ),
    (
        "Noms et codes",
        "Noms de communes discordants avec leur code",
        "Nom saisi qui n'est pas celui du code au COG 2026 (accents, majuscules, tirets, « St », articles ignorés) : "
        "le diagnostic décrit la commune du code. À vérifier.",
    ),
    ("Orphelines", "Communes orphelines", "Communes de la zone d'étude rattachées à aucune CPTS."),
    (
        "Hors fichier",
        "Communes hors fichier (information)",
        "Communes des départements du fichier hors zone d'étude qu'aucun territoire ne liste : le fichier ne dit pas "
        "si elles ont une CPTS, ce ne sont pas des orphelines.",
    ),
    ("Enclaves", "Enclaves", "Groupes de communes orphelines entièrement entourés par une seule CPTS."),
    (
        "Arr. non couverts",
        "Arrondissements municipaux non couverts",
        "Arrondissements d'une commune découpée par arrondissement rattachés à aucune CPTS.",
    ),
    (
        "Codes périmés",
        "Codes communes périmés",
        "Anciens codes (communes fusionnées, déléguées, associées) : traités comme la commune actuelle.",
    ),
    ("Codes inconnus", "Codes inconnus", "Codes absents de tous les millésimes du COG connus : bloquant."),
    ("Doublons", "Doublons", "Même commune listée deux fois dans un territoire."),
    (
        "Discontinuités",
        "Territoires discontinus",
        "Territoires dont les communes forment plusieurs morceaux sur une même terre (contiguïté des contours "
        "communaux, tolérance de 100 m).",
    ),
    (
        "Séparés par la mer",
        "Territoires séparés par la mer (information)",
        "Territoires dont les morceaux ne sont séparés que par la mer ou l'étranger (îles comme Ouessant, Ré, "
        "Belle-Île ; estuaires) : ce n'est pas un défaut de périmètre.",
    ),
    (
        "Non vérifiable",
        "Contrôles non vérifiables",
        "Continuité ou enclave impossible à établir : commune sans contour, ou morceaux à moins de 300 m que la "
        "précision des contours simplifiés ne permet pas de départager. Rien n'est affirmé.",
    ),
    ("Multi-départements", "Territoires sur plusieurs départements ou régions", "Information pour l'ARS."),
)

#: Titles of the findings that need commune polygons (not verified without them).
_GEOMETRY_TITLES = {
    t for k, t, _ in _FINDINGS if k in ("Enclaves", "Discontinuités", "Séparés par la mer", "Non vérifiable")
}


def finding_sections(report) -> list[tuple[str, pd.DataFrame, str, list[str]]]:
    """Findings of a check as (French title, table, explanation, notes), in display order.

    Tables are the sheets of the check workbook (:func:`cpts_diag.outputs.check_workbook.check_workbook_sheets`):
    French headers, codes as text, commune names.
    """
    sheets, notes = check_workbook_sheets(report)
    return [
        (title, sheets[key], why, [n for n in notes.get(key, []) if n != "Aucun constat."])
        for key, title, why in _FINDINGS
        if key in sheets
    ]


def show_findings(report, max_rows: int = 60) -> None:
    """Display every finding table with its count, explanation and notes (all kinds, even empty)."""
    caption = f"Source : {CHECK_SOURCE} ; périmètres : {report.source or 'table fournie'}."
    for title, df, why, notes in finding_sections(report):
        show_html(render("finding_heading", title, len(df), why))
        if not report.geometry_checks and title in _GEOMETRY_TITLES:
            show_note("Non vérifié : aucun contour de communes disponible.", "warn")
            continue
        if df.empty:
            show_note("Aucun constat.")
            continue
        show_table(df, caption, decimals=0, max_rows=max_rows)
        for n in notes:
            show_note(n)


def check_layers_for(report):
    """Layers "territoires", "communes", "orphelines", "hors_fichier" of a check (EPSG:4326), or None without
    polygons."""
    from cpts_diag.outputs.check_outputs import check_layers

    polygons = report.map_polygons()
    if polygons is None or report.members is None:
        return None
    return check_layers(report, polygons)


def _check_title(report) -> str:
    return f"Contrôle des périmètres — {report.source}" if report.source else "Contrôle des périmètres"


def _check_map_source(report) -> str:
    return (
        f"Sources : {CHECK_SOURCE} ; {GEOMETRY_SOURCE} ; périmètres : {report.source or 'table fournie'}"
        " — niveau commune"
    )


#: Communes outside the file next to a territory: drawn plain, never hatched nor called orphans.
OUTSIDE_LABEL, OUTSIDE_COLOR = "Commune voisine hors fichier (information)", "#eeeeee"


def _outside_neighbours(layers):
    """The communes outside the file that touch a territory (the plain ring drawn around the territories)."""
    outside = layers["hors_fichier"]
    return outside[outside["territoires_voisins"] != ""]


def check_static_map(report, layers):
    """Printed map (matplotlib Figure) of a check from its :func:`check_layers_for`: covered communes, overlaps,
    orphans, enclaves, territory limits, and the communes outside the file next to a territory (plain, information).
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from cpts_diag.outputs.maps.classes import ORPHAN_COLOR, ORPHAN_LABEL, PLAIN_COLOR

    com = layers["communes"].to_crs(2154)
    terr = layers["territoires"].to_crs(2154)
    orph = layers["orphelines"].to_crs(2154)
    fig, ax = map_figure()
    handles: list = []
    outside = _outside_neighbours(layers)
    if len(outside):
        plot_layer(ax, handles, outside.to_crs(2154), OUTSIDE_LABEL, 0.4, facecolor=OUTSIDE_COLOR, edgecolor="#bbbbbb")
    com.plot(ax=ax, facecolor=PLAIN_COLOR, edgecolor="#ffffff", linewidth=0.25)
    handles.insert(0, Patch(facecolor=PLAIN_COLOR, edgecolor="#999999", label="Commune rattachée à une CPTS"))
    colors = {
        "découpage infra-communal déclaré": "#fdae61",
        "découpage par arrondissement municipal": "#fee08b",
        "conflit": "#d7191c",
    }
    overl = com[com["chevauchement"] != ""].drop_duplicates("code_insee")
    for kind, color in colors.items():
        part = overl[overl["chevauchement"] == kind]
        if len(part):
            label = f"Chevauchement : {kind} ({fr.integer(len(part))})"
            plot_layer(ax, handles, part, label, 0.6, facecolor=color, edgecolor="#444444")
    enclaved = orph["enclavee_dans"] != ""
    for part, label, width, edge, hatch in (
        (orph[~enclaved], ORPHAN_LABEL, 0.6, ORPHAN_COLOR, "\\\\\\\\"),
        (orph[enclaved], "Commune orpheline enclavée", 1.0, "#d7191c", "xxxx"),
    ):
        if len(part):
            label = f"{label} ({fr.integer(len(part))})"
            plot_layer(ax, handles, part, label, width, facecolor="#ffffff", edgecolor=edge, hatch=hatch)
    terr.boundary.plot(ax=ax, color="#222222", linewidth=0.9)
    handles.append(Line2D([], [], color="#222222", linewidth=0.9, label="Limite de CPTS"))
    return finish_map(fig, ax, handles, _check_title(report), _check_map_source(report))


def check_web_map(report, layers):
    """Interactive (folium, offline) map of a check from its :func:`check_layers_for`: communes by ACI tier of their
    CPTS, orphans hatched, overlap communes outlined in orange (red for a conflict), enclaves outlined in red,
    communes outside the file next to a territory plain grey.
    """
    from cpts_diag.outputs.maps.geometry import web_geometry
    from cpts_diag.outputs.maps.spec import MapSpec
    from cpts_diag.outputs.maps.web import region_map

    com = layers["communes"].copy()
    terr = layers["territoires"].set_index("territoire")
    com["taille"] = com["territoire"].map(terr["taille"]).astype("Int64")
    com["cpts"] = com["territoire"]
    com["population_2023"] = com["population_commune"]
    spec = MapSpec(
        com[["code_insee", "nom", "cpts", "taille", "population_2023", "geometry"]],
        "taille",
        "Taille ACI de la CPTS",
        orphans=layers["orphelines"],
        tooltip_fields={"population_2023": "Population 2023"},
        title=_check_title(report),
        source=_check_map_source(report),
    )
    m = region_map(spec)
    overl = com[com["chevauchement"] != ""].drop_duplicates("code_insee")
    if len(overl):
        shapes = []
        for r in web_geometry(overl).itertuples():
            color = "#d7191c" if r.chevauchement == "conflit" else "#f46d43"
            terrs = " ; ".join(com.loc[com["code_insee"] == r.code_insee, "territoire"].unique())
            tip = render("overlap_tip", r.nom, r.code_insee, r.chevauchement, terrs)
            shapes.append((r.geometry, {"color": color, "weight": 3, "fill": False, "dashArray": "6 3"}, tip))
        _outline_group(m, "Chevauchements", shapes)
    outside = _outside_neighbours(layers)
    if len(outside):
        style = {"color": "#bbbbbb", "weight": 0.6, "fillColor": OUTSIDE_COLOR, "fillOpacity": 0.6}
        shapes = [
            (r.geometry, style, render("outside_tip", r.nom, r.code_insee, r.territoires_voisins))
            for r in web_geometry(outside).itertuples()
        ]
        _outline_group(m, "Communes voisines hors fichier", shapes)
    orph = layers["orphelines"]
    encl = orph[orph["enclavee_dans"] != ""]
    if len(encl):
        style = {"color": "#d7191c", "weight": 3, "fill": False}
        shapes = [
            (r.geometry, style, render("enclave_tip", r.nom, r.code_insee, r.enclavee_dans))
            for r in web_geometry(encl).itertuples()
        ]
        _outline_group(m, "Enclaves", shapes)
    return m


def _outline_group(m, name: str, shapes) -> None:
    """Add to ``m`` the layer ``name`` of polygon outlines, from (geometry, style, tooltip) triples."""
    import folium

    group = folium.FeatureGroup(name=name)
    for geometry, style, tip in shapes:
        tooltip = folium.Tooltip(tip)
        folium.GeoJson(geometry.__geo_interface__, style_function=lambda _f, s=style: s, tooltip=tooltip).add_to(group)
    group.add_to(m)


def show_check_maps(report) -> None:
    """Display the printed map and the interactive map of a check (or say why there is none)."""
    layers = check_layers_for(report)
    if layers is None:
        show_note("Cartes non disponibles : aucun contour de communes (paramètre fichier_geometries).", "warn")
        return
    show_html(render("heading", "Carte imprimable"))
    show_figure(check_static_map(report, layers))
    show_html(render("check_map_intro"))
    show_map(check_web_map(report, layers), height=620)


def write_check_files(report, out_dir) -> list[Path]:
    """Write the check workbook and GeoPackage into ``out_dir`` (nothing when empty); list them."""
    from cpts_diag.outputs.check_outputs import write_check_outputs

    folder = settings.user_path(out_dir)
    if folder is None:
        show_note("Aucun fichier écrit (paramètre dossier_sortie vide).")
        return []
    written = write_check_outputs(report, folder)
    show_html(render("written_files", written))
    return written


def territories_frame(report) -> pd.DataFrame:
    """Population and ACI tier per territory (French headers), bounds shown when approximate; territories within
    5 % of a tier threshold say so (« Seuil de taille »)."""
    from cpts_diag.outputs.check_text import threshold_text

    rows = []
    for t in report.territories:
        if t["approximate"]:
            pop = fr.population(None, t["population_min"], t["population_max"], missing="?")
            tier = tier_label(None, t["tier_min"], t["tier_max"], short=True, unknown="n.d.")
        else:
            pop = t["population"]
            tier = tier_label(t["tier"], short=True, unknown="n.d.")
        split = ", ".join(t.get("split_communes") or [])
        near = threshold_text(t) if t.get("near_threshold") is not False else ""
        rows.append(
            (t["name"], t["n_communes"], pop, tier, near, t["approximate"], split, ", ".join(t["departements"]))
        )
    return pd.DataFrame(
        rows,
        columns=[
            "Territoire",
            "Communes",
            "Population 2023",
            "Taille ACI",
            "Seuil de taille",
            "Approximatif",
            "Communes découpées",
            "Départements",
        ],
    )


#: Columns of the proposals sheet shown in notebook 01 (the workbook has them all).
_PROPOSAL_COLUMNS = [
    "Type",
    "Code(s) INSEE",
    "Commune(s)",
    "Population",
    "Rang",
    "Territoire proposé",
    "Raisons",
    "Population du territoire après",
    "Taille après",
    "Les autres territoires après",
]


def show_proposals(report, max_rows: int = 80) -> None:
    """Display the proposals of a check (one row per option, ranked), their rule and the proposal map."""
    from cpts_diag.outputs.check_outputs import proposal_web_map
    from cpts_diag.outputs.check_workbook import proposals_sheet

    sheet, notes = proposals_sheet(report)
    after = sheet["Population du territoire après"].astype(object)
    bounds = sheet["Population après (min. – max.)"]
    df = sheet[_PROPOSAL_COLUMNS].assign(
        **{"Population du territoire après": after.where(after.notna(), bounds)},
        **{"Taille après": sheet["Taille avant"] + " → " + sheet["Taille après"]},
    )
    df = df.rename(columns={"Taille après": "Taille (avant → après)"})
    if df.empty:
        show_note(
            "Aucune proposition : pas de commune orpheline ni de conflit"
            + ("" if report.geometry_checks else " (ou contiguïté des communes non disponible)")
            + "."
        )
    else:
        show_table(
            df,
            f"Source : {CHECK_SOURCE} ; {GEOMETRY_SOURCE} ; périmètres : {report.source}.",
            decimals=1,
            max_rows=max_rows,
        )
    for n in notes:
        show_note(n)
    m = proposal_web_map(report)
    if m is not None and not df.empty:
        show_html(render("heading", "Carte des propositions"))
        show_map(m, height=620)


def first_proposal(report) -> list[tuple[str, str, str]]:
    """The change of the first option of the first proposal of a check, as notebook 01 lists changes:
    ``[("ajouter", code, territory)]`` for an orphan, ``[("retirer", code, other territory)…]`` for a conflict
    (the commune stays in the first option only); ``[]`` without proposal."""
    from cpts_diag.simulation import ADD, REMOVE

    for p in report.proposals:
        if not p["candidates"]:
            continue
        first = p["candidates"][0]
        if p["kind"] == "overlap":
            return [(REMOVE, p["code_insee"], o["territory"]) for o in first["territories_after"] if not o["keeps"]]
        return [(ADD, code, first["territory"]) for code in p["codes"]]
    return []


def run_simulation(report, changes_asked, region="", departements=(), geometries_file="", out_dir=""):
    """Simulate ``changes_asked`` (``("ajouter" or "retirer", code INSEE, territory)`` tuples) on the perimeters
    that ``report`` checked (:func:`run_check`, not read again), with the same parameters as :func:`run_check`;
    None when there is nothing to simulate. With ``out_dir``, the corrected file is written in its subfolder
    ``perimetres_corriges``."""
    from cpts_diag.reference import load_reference
    from cpts_diag.simulation import Change, action_of, resolve_changes, simulate

    if not changes_asked:
        show_note("Aucune modification à essayer : listez-les dans la cellule ci-dessus.")
        return None
    changes = [
        Change(
            action_of(action, f"modification {i} du carnet"), str(code), str(territory), f"modification {i} du carnet"
        )
        for i, (action, code, territory) in enumerate(changes_asked, start=1)
    ]
    perims = report.perimeters
    folder = settings.user_path(out_dir)
    return simulate(
        perims,
        resolve_changes(changes, perims),
        load_reference(),
        geometries=parameter_path(geometries_file) or "default",
        regions=[str(region).strip()] if region is not None and str(region).strip() else None,
        departements=[str(d) for d in (departements or [])] or None,
        out_dir=None if folder is None else folder / "perimetres_corriges",
        before=report,
    )


def show_simulation(simulation) -> None:
    """Display a simulation: the changes applied, then the territories and the findings before and after, side by
    side, the verdict and the corrected file written."""
    from cpts_diag.outputs.simulation_outputs import applied_lines, findings_frame, territories_frame

    if simulation is None:
        return
    for line in applied_lines(simulation):
        show_note(line)
    show_html(render("heading", "Territoires touchés : avant et après"))
    show_table(
        territories_frame(simulation),
        "Population : INSEE, populations légales 2023 (COG 2026) ; APL : DREES 2023 ; 75 ans et plus : INSEE, "
        "recensement 2022 ; niveau commune agrégé par territoire.",
        decimals=2,
    )
    show_html(render("heading", "Constats : avant et après"))
    found = findings_frame(simulation)
    if found.empty:
        show_note("Aucun constat ne change.")
    else:
        show_table(found, f"Source : {CHECK_SOURCE} ; {GEOMETRY_SOURCE}.", decimals=0)
    verdict = {True: "BLOQUANT", False: "aucun problème bloquant"}
    show_note(
        f"Résultat : avant, {verdict[simulation.before.blocking]} ; après, {verdict[simulation.after.blocking]}.",
        "warn" if simulation.after.blocking else "note",
    )
    if simulation.written:
        show_html(render("written_files", simulation.written))
    else:
        show_note("Aucun fichier écrit (paramètre dossier_sortie vide) : le fichier d'origine n'est jamais modifié.")


def show_territories(report) -> None:
    """Display the population and tier table of the territories, with the tier rule."""
    df = territories_frame(report)
    show_table(
        df,
        "Source : INSEE, populations légales 2023 (population municipale), COG 2026, niveau commune "
        "(arrondissement pour Marseille) agrégé par CPTS. Population approximative : bornes sans et avec "
        "les communes découpées infra-communalement.",
        decimals=0,
    )
    counts = df["Taille ACI"].value_counts()
    tiers = ", ".join(f"{k} : {fr.integer(v)}" for k, v in sorted(counts.items()))
    show_note(
        f"Répartition par taille : {tiers}. {TIER_RULE} {NEAR_THRESHOLD_RULE[:1].upper()}{NEAR_THRESHOLD_RULE[1:]}."
    )


def show_sources(report) -> None:
    """Display the sources of a check."""
    show_html(render("sources", report.sources))
