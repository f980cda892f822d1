"""Display helpers of the perimeter-check (01) and regional-synthesis (03) notebooks.

The notebooks stay thin: each cell calls one ``show_*`` function that computes nothing the library
does not already compute and displays French HTML tables (numbers formatted the French way, every
text escaped, a caption with source, vintage and geographic level), maps (matplotlib for print,
folium inline and offline for the screen) and notes. The same functions work in JupyterLab and in
papermill runs exported to HTML (no script outside the embedded maps, no external resource).

Notebook 01: :func:`run_check`, :func:`show_check_summary`, :func:`show_findings`,
:func:`check_static_map`, :func:`check_web_map`, :func:`show_territories`, :func:`show_sources`.
Notebook 03: :func:`regional_table`, :func:`regional_layers`, :func:`show_regional_table`,
:func:`regional_static_maps`, :func:`regional_web_map`, :func:`write_regional_map`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag import settings
from cpts_diag.indicator_data import Quality
from cpts_diag.io.params import cpam_choice
from cpts_diag.outputs.templating import macro
from cpts_diag.tiers import tier_label

__all__ = [
    "REGIONAL_INDICATORS",
    "REGIONAL_MAP_FILE",
    "RegionalSynthesis",
    "check_layers_for",
    "check_static_map",
    "check_web_map",
    "finding_sections",
    "map_iframe",
    "parameter_path",
    "regional_layers",
    "regional_static_maps",
    "regional_synthesis",
    "regional_table",
    "regional_web_map",
    "run_check",
    "show_check_maps",
    "show_check_summary",
    "show_findings",
    "show_map",
    "show_note",
    "show_regional_maps",
    "show_regional_sources",
    "show_regional_table",
    "show_sources",
    "show_table",
    "show_territories",
    "table_html",
    "territories_frame",
    "write_check_files",
    "write_regional_map",
]

REGIONAL_MAP_FILE = "carte_regionale.html"

_CHECK_SOURCE = "INSEE, COG 2026 et populations légales 2023, niveau commune"
_GEOMETRY_SOURCE = "contours IGN ADMIN EXPRESS simplifiés (COG 2026 ; arrondissements à Paris, Lyon, Marseille)"

#: Template of what the notebooks display (one macro per piece).
_TEMPLATE = "fragments/notebook.html.j2"


def _render(macro_name: str, /, *args, **kwargs) -> str:
    """One macro of ``templates/fragments/notebook.html.j2`` rendered as a plain ``str``."""
    return str(macro(_TEMPLATE, macro_name)(*args, **kwargs))


# ---------------------------------------------------------------------------
# generic display
# ---------------------------------------------------------------------------
def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def _html(markup: str):
    from IPython.display import HTML

    return HTML(markup)


def parameter_path(value, default=None) -> Path | None:
    """A notebook file parameter: ``""``/None gives ``default``; otherwise the path (must exist).

    Raises
    ------
    InputError
        The file does not exist.
    """
    from cpts_diag.errors import InputError

    if value is None or (isinstance(value, str) and not value.strip()):
        return None if default is None else Path(default)
    path = Path(str(value).strip()).expanduser()
    if not path.exists():
        raise InputError("fichier introuvable", str(path))
    return path


def _cell(value, decimals: int) -> tuple[str, bool]:
    """(French text, is numeric) of a table cell."""
    if isinstance(value, (bool, np.bool_)):
        return ("oui" if value else "non"), False
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value), False
    if isinstance(value, str):
        return value, False
    if fr.is_missing(value):
        return "n.d.", True
    if isinstance(value, (int, np.integer)) or (
        isinstance(value, (float, np.floating)) and float(value).is_integer() and decimals == 0
    ):
        return fr.integer(value), True
    if isinstance(value, (float, np.floating)):
        return fr.number(value, decimals), True
    return value, False


def table_html(
    df: pd.DataFrame,
    caption: str | None = None,
    *,
    decimals: int | Mapping[str, int] = 1,
    max_rows: int | None = None,
    highlight_rows: Sequence[int] = (),
    table_class: str = "",
    numeric: Sequence[str] = (),
) -> str:
    """French HTML table of ``df`` (no index), every text escaped.

    Parameters
    ----------
    df : DataFrame
        Table with French column headers.
    caption : str, optional
        Caption under the table (source, vintage, level).
    decimals : int or mapping, default 1
        Decimals of float columns (per column with a mapping; integral floats of a column with 0
        decimals show as integers).
    max_rows : int, optional
        Show the first rows only and say how many are left out.
    highlight_rows : sequence of int
        Positions of reference rows (région, France) shown in bold.
    numeric : sequence of str
        Columns of pre-formatted numbers (text) to align right like numbers.

    Examples
    --------
    >>> html = table_html(pd.DataFrame({"Nom": ["<b>"], "Population": [1234]}))
    >>> "&lt;b&gt;" in html and "1\\u202f234" in html
    True
    """
    shown = df if max_rows is None or len(df) <= max_rows else df.head(max_rows)
    dec = (lambda c: int(decimals.get(c, 1))) if isinstance(decimals, Mapping) else (lambda c: int(decimals))
    highlight = set(highlight_rows)
    right = set(numeric)
    rows = []
    for pos, rec in enumerate(shown.itertuples(index=False)):
        cells = []
        for col, value in zip(shown.columns, rec):
            text, is_num = _cell(value, dec(col))
            cells.append((text, is_num or col in right))
        rows.append((pos in highlight, cells))
    notes = []
    if max_rows is not None and len(df) > max_rows:
        notes.append(f"{fr.integer(len(df) - max_rows)} ligne(s) de plus non affichée(s) (voir le classeur Excel).")
    if caption:
        notes.append(caption)
    return _render("table", f"cpts-t {table_class}".strip(), list(shown.columns), rows, notes)


def show_table(df: pd.DataFrame, caption: str | None = None, **kwargs) -> None:
    """Display :func:`table_html` of ``df``."""
    _display(_html(table_html(df, caption, **kwargs)))


def show_note(text: str, kind: str = "note") -> None:
    """Display a French note (``kind``: note, warn, fictif); the text is escaped."""
    cls = {"note": "cpts-note", "warn": "cpts-note cpts-warn", "fictif": "cpts-fictif"}.get(kind, "cpts-note")
    _display(_html(_render("note", cls, text)))


def map_iframe(m, height: int = 560) -> str:
    """HTML iframe showing a folium map inline, offline (Leaflet inlined in ``srcdoc``)."""
    from cpts_diag.outputs.maps import map_html

    return _render("iframe", map_html(m), int(height))


def show_map(m, height: int = 560) -> None:
    """Display a folium map inline, working offline (see :func:`map_iframe`)."""
    from IPython.display import display

    display({"text/html": map_iframe(m, height)}, raw=True)


def _show_figure(fig) -> None:
    """Display a matplotlib Figure (PNG, embedded in the exported HTML)."""
    import io

    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    width = int(min(fig.get_figwidth() * 120, 780))
    _display(Image(data=buf.getvalue(), format="png", width=width))


# ---------------------------------------------------------------------------
# notebook 01: perimeter check
# ---------------------------------------------------------------------------
def run_check(perimetres="", region="93", departements=(), fichier_geometries=""):
    """Run the perimeter check with the notebook parameters.

    Parameters
    ----------
    perimetres : str
        Perimeter file; ``""`` for the embedded PACA listing (ARS PACA, 01/2026).
    region : str
        Région code of the study area (orphans); ``""`` for the départements of the members.
    departements : list of str
        Extra départements of the study area.
    fichier_geometries : str
        Commune polygons (GeoJSON/GeoPackage); ``""`` for the embedded national adjacency and polygons.

    Returns
    -------
    CheckReport
    """
    from cpts_diag.checks import check_perimeters
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference

    reference = load_reference()
    path = parameter_path(perimetres, settings.DEFAULT_PERIMETERS)
    perims = read_perimeters(path, names_by_code=reference.names)
    geometries = parameter_path(fichier_geometries)
    regions = [str(region).strip()] if region not in (None, "") and str(region).strip() else None
    deps = [str(d) for d in (departements or [])] or None
    return check_perimeters(
        perims,
        reference,
        geometries="default" if geometries is None else geometries,
        regions=regions,
        departements=deps,
    )


def _summary_rows(report) -> pd.DataFrame:
    from cpts_diag.outputs.check_outputs import check_workbook_sheets

    sheets, _ = check_workbook_sheets(report)
    return sheets["Synthèse"]


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
        _summary_rows(report),
        f"Source : {_CHECK_SOURCE} ; périmètres : {report.source or 'table fournie'}.",
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
    ("Orphelines", "Communes orphelines", "Communes de la zone d'étude rattachées à aucune CPTS."),
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


def finding_sections(report) -> list[tuple[str, pd.DataFrame, str, list[str]]]:
    """Findings of a check as (French title, table, explanation, notes), in display order.

    Tables are the sheets of the check workbook (:func:`cpts_diag.outputs.check_outputs.check_workbook_sheets`):
    French headers, codes as text, commune names.
    """
    from cpts_diag.outputs.check_outputs import check_workbook_sheets

    sheets, notes = check_workbook_sheets(report)
    return [
        (title, sheets[key], why, [n for n in notes.get(key, []) if n != "Aucun constat."])
        for key, title, why in _FINDINGS
        if key in sheets
    ]


def show_findings(report, max_rows: int = 60) -> None:
    """Display every finding table with its count, explanation and notes (all kinds, even empty)."""
    caption = f"Source : {_CHECK_SOURCE} ; périmètres : {report.source or 'table fournie'}."
    for title, df, why, notes in finding_sections(report):
        _display(_html(_render("finding_heading", title, len(df), why)))
        if not report.geometry_checks and title in (
            "Enclaves",
            "Territoires discontinus",
            "Territoires séparés par la mer (information)",
            "Contrôles non vérifiables",
        ):
            show_note("Non vérifié : aucun contour de communes disponible.", "warn")
            continue
        if df.empty:
            show_note("Aucun constat.")
            continue
        show_table(df, caption, decimals=0, max_rows=max_rows)
        for n in notes:
            show_note(n)


def check_layers_for(report):
    """Layers "territoires", "communes", "orphelines" of a check (EPSG:4326), or None without polygons."""
    from cpts_diag.outputs.check_outputs import check_layers

    polygons = report.map_polygons()
    if polygons is None or report.members is None:
        return None
    return check_layers(report, polygons)


def _check_title(report) -> str:
    return f"Contrôle des périmètres — {report.source}" if report.source else "Contrôle des périmètres"


def _check_map_source(report) -> str:
    return (
        f"Sources : {_CHECK_SOURCE} ; {_GEOMETRY_SOURCE} ; périmètres : {report.source or 'table fournie'}"
        " — niveau commune"
    )


def _source_footer(fig, text: str, fictitious: bool = False) -> None:
    """Source line under a figure (space reserved by the constrained layout); red when fictitious."""
    import textwrap

    text = "\n".join(textwrap.wrap(text.replace("$", r"\$"), 150))
    fig.supxlabel(text, fontsize=7, color="#c00000" if fictitious else "#444444", x=0.01, ha="left")


def _map_figure():
    """(Figure, axes) of a printed map: 9 × 7.6 in, no axis, equal aspect."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 7.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    return fig, ax


def _finish_map(fig, ax, handles, title: str, source: str):
    """Legend under the map (two columns), title on the left, source line at the bottom; return ``fig``."""
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=8, frameon=False)
    ax.set_title(title.replace("$", r"\$"), fontsize=12, loc="left")
    _source_footer(fig, source)
    return fig


def check_static_map(report, layers=None):
    """Printed map of a check: covered communes, overlaps, orphans, enclaves, territory limits.

    Returns
    -------
    matplotlib.figure.Figure or None
        None when no polygons were available.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from cpts_diag.outputs.maps import ORPHAN_COLOR, ORPHAN_LABEL, PLAIN_COLOR

    layers = layers if layers is not None else check_layers_for(report)
    if layers is None:
        return None
    crs = 2154
    com = layers["communes"].to_crs(crs)
    terr = layers["territoires"].to_crs(crs)
    orph = layers["orphelines"].to_crs(crs)
    fig, ax = _map_figure()
    handles = []
    com.plot(ax=ax, facecolor=PLAIN_COLOR, edgecolor="#ffffff", linewidth=0.25)
    handles.append(Patch(facecolor=PLAIN_COLOR, edgecolor="#999999", label="Commune rattachée à une CPTS"))
    colors = {
        "découpage infra-communal déclaré": "#fdae61",
        "découpage par arrondissement municipal": "#fee08b",
        "conflit": "#d7191c",
    }
    overl = com[com["chevauchement"] != ""].drop_duplicates("code_insee")
    for kind, color in colors.items():
        part = overl[overl["chevauchement"] == kind]
        if len(part):
            part.plot(ax=ax, facecolor=color, edgecolor="#444444", linewidth=0.6)
            handles.append(
                Patch(facecolor=color, edgecolor="#444444", label=f"Chevauchement : {kind} ({fr.integer(len(part))})")
            )
    if len(orph):
        plain = orph[orph["enclavee_dans"] == ""]
        encl = orph[orph["enclavee_dans"] != ""]
        if len(plain):
            plain.plot(ax=ax, facecolor="#ffffff", edgecolor=ORPHAN_COLOR, hatch="\\\\\\\\", linewidth=0.6)
            handles.append(
                Patch(
                    facecolor="#ffffff",
                    edgecolor=ORPHAN_COLOR,
                    hatch="\\\\\\\\",
                    label=f"{ORPHAN_LABEL} ({fr.integer(len(plain))})",
                )
            )
        if len(encl):
            encl.plot(ax=ax, facecolor="#ffffff", edgecolor="#d7191c", hatch="xxxx", linewidth=1.0)
            handles.append(
                Patch(
                    facecolor="#ffffff",
                    edgecolor="#d7191c",
                    hatch="xxxx",
                    label=f"Commune orpheline enclavée ({fr.integer(len(encl))})",
                )
            )
    terr.boundary.plot(ax=ax, color="#222222", linewidth=0.9)
    handles.append(Line2D([], [], color="#222222", linewidth=0.9, label="Limite de CPTS"))
    return _finish_map(fig, ax, handles, _check_title(report), _check_map_source(report))


def check_web_map(report, layers=None):
    """Interactive (folium, offline) map of a check: communes by ACI tier of their CPTS, orphans hatched,
    overlap communes outlined in orange (red for a conflict), enclaves outlined in red.

    Returns
    -------
    folium.Map or None
        None when no polygons were available.
    """
    import folium

    from cpts_diag.outputs.maps import region_map, web_geometry

    layers = layers if layers is not None else check_layers_for(report)
    if layers is None:
        return None
    com = layers["communes"].copy()
    terr = layers["territoires"].set_index("territoire")
    com["taille"] = com["territoire"].map(terr["taille"]).astype("Int64")
    com["cpts"] = com["territoire"]
    pop_col = next((c for c in ("population_commune", "population") if c in com.columns), None)
    com["population_2023"] = com[pop_col] if pop_col else np.nan
    m = region_map(
        com[["code_insee", "nom", "cpts", "taille", "population_2023", "geometry"]],
        value_col="taille",
        label="Taille ACI de la CPTS",
        orphans=layers["orphelines"],
        tooltip_fields={"population_2023": "Population 2023"},
        title=_check_title(report),
        source=_check_map_source(report),
    )
    overl = com[com["chevauchement"] != ""].drop_duplicates("code_insee")
    if len(overl):
        overl = web_geometry(overl)
        group = folium.FeatureGroup(name="Chevauchements")
        for _, r in overl.iterrows():
            color = "#d7191c" if r["chevauchement"] == "conflit" else "#f46d43"
            terrs = com.loc[com["code_insee"] == r["code_insee"], "territoire"].unique()
            tip = _render("overlap_tip", r["nom"], r["code_insee"], r["chevauchement"], " ; ".join(terrs))
            folium.GeoJson(
                r.geometry.__geo_interface__,
                style_function=lambda _f, c=color: {"color": c, "weight": 3, "fill": False, "dashArray": "6 3"},
                tooltip=folium.Tooltip(tip),
            ).add_to(group)
        group.add_to(m)
    orph = layers["orphelines"]
    encl = orph[orph["enclavee_dans"] != ""]
    if len(encl):
        encl = web_geometry(encl)
        group = folium.FeatureGroup(name="Enclaves")
        for _, r in encl.iterrows():
            tip = _render("enclave_tip", r["nom"], r["code_insee"], r["enclavee_dans"])
            folium.GeoJson(
                r.geometry.__geo_interface__,
                style_function=lambda _f: {"color": "#d7191c", "weight": 3, "fill": False},
                tooltip=folium.Tooltip(tip),
            ).add_to(group)
        group.add_to(m)
    return m


def show_check_maps(report) -> None:
    """Display the printed map and the interactive map of a check (or say why there is none)."""
    layers = check_layers_for(report)
    if layers is None:
        show_note("Cartes non disponibles : aucun contour de communes (paramètre fichier_geometries).", "warn")
        return
    _display(_html(_render("heading", "Carte imprimable")))
    _show_figure(check_static_map(report, layers))
    _display(_html(_render("check_map_intro")))
    show_map(check_web_map(report, layers), height=620)


def write_check_files(report, dossier_sortie) -> list[Path]:
    """Write the check workbook and GeoPackage into ``dossier_sortie`` (nothing when empty); list them."""
    from cpts_diag.outputs.check_outputs import write_check_outputs

    if dossier_sortie in (None, "") or not str(dossier_sortie).strip():
        show_note("Aucun fichier écrit (paramètre dossier_sortie vide).")
        return []
    written = write_check_outputs(report, Path(str(dossier_sortie).strip()))
    _display(_html(_render("written_files", written)))
    return written


def territories_frame(report) -> pd.DataFrame:
    """Population and ACI tier per territory (French headers), bounds shown when approximate."""
    rows = []
    for t in report.territories:
        if t["approximate"]:
            pop = fr.population(None, t["population_min"], t["population_max"], missing="?")
            tier = tier_label(None, t["tier_min"], t["tier_max"], short=True, unknown="n.d.")
        else:
            pop = t["population"]
            tier = tier_label(t["tier"], short=True, unknown="n.d.")
        rows.append(
            {
                "Territoire": t["name"],
                "Communes": t["n_communes"],
                "Population 2023": pop,
                "Taille ACI": tier,
                "Approximatif": t["approximate"],
                "Communes découpées": ", ".join(t.get("split_communes") or []),
                "Départements": ", ".join(t["departements"]),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "Territoire",
            "Communes",
            "Population 2023",
            "Taille ACI",
            "Approximatif",
            "Communes découpées",
            "Départements",
        ],
    )


def show_territories(report) -> None:
    """Display the population and tier table of the territories, with the tier rule."""
    from cpts_diag.tiers import TIER_RULE

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
    show_note(f"Répartition par taille : {tiers}. {TIER_RULE}")


def show_sources(report) -> None:
    """Display the sources of a check."""
    _display(_html(_render("sources", report.sources)))


# ---------------------------------------------------------------------------
# notebook 03: regional synthesis
# ---------------------------------------------------------------------------
#: Indicator columns of the regional table: (column, indicator id, French header, decimals).
REGIONAL_INDICATORS = (
    ("apl_2023", "apl_mg_2023", "APL médecins généralistes 2023 (consult./an/hab.)", 1),
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
)
#: Column added when a CPAM table is used.
CPAM_INDICATOR = ("sans_mt_17_plus", "part_sans_mt_17_plus", "Part des 17 ans et plus sans médecin traitant (%)", 1)


@dataclass
class RegionalSynthesis:
    """Everything notebook 03 shows, computed once.

    Attributes
    ----------
    region, region_name : str
        Région code and name.
    table : DataFrame
        One row per territory with at least one commune in the région (file order): ``territoire``,
        ``population``, ``population_min``, ``population_max``, ``approximatif``, ``taille``,
        ``taille_min``, ``taille_max``, ``n_communes``, then one column per indicator of
        :attr:`indicators` (value, NaN when unknown) and ``<col>_bas`` / ``<col>_haut`` bounds.
    references : DataFrame
        The same columns for the région and France (computed over all their communes).
    indicators : list of tuple
        (column, indicator id, French header, decimals).
    meta : dict
        Per indicator id: label, unit, source, vintage, source_level, fictitious.
    check : CheckReport
        Perimeter check over the région (orphans, overlaps).
    layers : dict or None
        Check layers (territory outlines, communes, orphans) in EPSG:4326; None without polygons.
    fictitious : bool
        A column comes from the fictitious example CPAM table.
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


def _indicator_values(rows: pd.DataFrame) -> tuple[float, float, float]:
    if rows.empty:
        return np.nan, np.nan, np.nan
    r = rows.iloc[0]
    return float(r["value"]), float(r["value_low"]), float(r["value_high"])


def regional_synthesis(perimetres="", region="93", fichier_cpam="exemple") -> RegionalSynthesis:
    """Compute the regional synthesis: territories of a région side by side, région and France rows.

    Parameters
    ----------
    perimetres : str
        Perimeter file; ``""`` for the embedded PACA listing (ARS PACA, 01/2026).
    region : str
        Région code (text), e.g. ``"93"``.
    fichier_cpam : str
        CPAM / Rézone table: ``"exemple"`` (embedded FICTITIOUS table), ``""`` (none) or a path.

    Raises
    ------
    InputError
        Unreadable file, unknown région, no territory in the région.
    """
    from cpts_diag.checks import check_perimeters
    from cpts_diag.errors import InputError
    from cpts_diag.indicators import diagnose_all
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference

    reference = load_reference()
    path = parameter_path(perimetres, settings.DEFAULT_PERIMETERS)
    perims = read_perimeters(path, names_by_code=reference.names)
    code = reference.region_code(region, "paramètre region")
    check = check_perimeters(perims, reference, regions=[code])
    cpam = cpam_choice(fichier_cpam).file
    diags = diagnose_all(perims, reference, cpam=cpam)
    selected = [d for d in diags.values() if code in d.summary["regions"]]
    if not selected:
        raise InputError(f"aucun territoire n'a de commune dans la région {code}", str(path))
    indicators = list(REGIONAL_INDICATORS) + ([CPAM_INDICATOR] if cpam is not None else [])

    meta: dict[str, dict] = {}
    records, first = [], selected[0].indicators
    for d in selected:
        ind = d.indicators
        terr = ind[ind["level"] == "territoire"]
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

    refs = []
    for level, level_code, name in (("region", code, reference.region_name(code)), ("france", "FR", "France")):
        ind = first[(first["level"] == level) & (first["level_code"] == level_code)]
        rec = {"territoire": name, "taille": pd.NA, "taille_min": pd.NA, "taille_max": pd.NA, "approximatif": False}
        pop = _indicator_values(ind[ind["indicator"] == "population"])
        rec["population"] = rec["population_min"] = rec["population_max"] = pop[0]
        rec["n_communes"] = _indicator_values(ind[ind["indicator"] == "nombre_communes"])[0]
        for col, ind_id, _, _ in indicators:
            rec[col], rec[f"{col}_bas"], rec[f"{col}_haut"] = _indicator_values(ind[ind["indicator"] == ind_id])
        refs.append(rec)
    references = pd.DataFrame(refs, columns=table.columns)
    layers = check_layers_for(check)
    return RegionalSynthesis(
        region=code,
        region_name=reference.region_name(code),
        table=table,
        references=references,
        indicators=indicators,
        meta=meta,
        check=check,
        layers=layers,
        fictitious=any(m.get("fictitious") for m in meta.values()),
        perimeters_name=path.name,
    )


def _population_text(row) -> str:
    return fr.population(row["population"], row["population_min"], row["population_max"])


def _tier_text(row) -> str:
    return tier_label(row["taille"], row["taille_min"], row["taille_max"], short=True, unknown="—")


def regional_table(synthese: RegionalSynthesis) -> pd.DataFrame:
    """The displayed regional table (French headers, formatted text): territories, then région and France."""
    rows = []
    for _, r in pd.concat([synthese.table, synthese.references], ignore_index=True).iterrows():
        rec = {
            "Territoire": r["territoire"],
            "Population 2023": _population_text(r),
            "Taille ACI": _tier_text(r),
            "Communes": fr.integer(r["n_communes"]),
        }
        for col, ind_id, header, _ in synthese.indicators:
            m = synthese.meta.get(ind_id, {})
            if m.get("fictitious"):
                header += " — DONNÉES FICTIVES"
            # Same formatting as the territory reports (decimals per unit, "a (entre b et c)").
            rec[header] = fr.value_text(
                r[col], r[f"{col}_bas"], r[f"{col}_haut"], unit=m.get("unit", ""), show_unit=False
            )
        rows.append(rec)
    return pd.DataFrame(rows)


def _indicator_caption(synthese: RegionalSynthesis) -> str:
    parts = [
        (
            "Population : INSEE, populations légales 2023, COG 2026, niveau commune (arrondissement pour "
            "Marseille) ; bornes « entre a et b » quand une commune est découpée infra-communalement (sans elle, "
            "avec elle entière) ou quand des valeurs sont masquées"
        )
    ]
    for _, ind_id, _header, _ in synthese.indicators:
        m = synthese.meta.get(ind_id)
        if m:
            note = " — DONNÉES FICTIVES" if m.get("fictitious") else ""
            parts.append(f"{m['label']} : {m['source']}, {m['vintage']}, niveau {m['source_level']}{note}")
    parts.append("Région et France : mêmes calculs sur toutes leurs communes")
    return "Sources : " + " ; ".join(parts) + "."


def show_regional_table(synthese: RegionalSynthesis) -> None:
    """Display the regional table (territories, then the région and France rows in bold)."""
    if synthese.fictitious:
        show_note(
            "Données fictives — la colonne « sans médecin traitant » provient d'un fichier CPAM d'exemple "
            "inventé pour la démonstration ; elle ne décrit pas la réalité.",
            "fictif",
        )
    df = regional_table(synthese)
    n = len(synthese.table)
    show_table(
        df,
        _indicator_caption(synthese),
        decimals=0,
        highlight_rows=range(n, len(df)),
        table_class="cpts-regional",
        numeric=[c for c in df.columns if c not in ("Territoire", "Taille ACI")],
    )
    counts = synthese.table["taille"].value_counts().sort_index()
    approx = int(synthese.table["approximatif"].sum())
    text = ", ".join(f"T{int(k)} : {fr.integer(v)}" for k, v in counts.items())
    show_note(
        f"{fr.integer(n)} territoires ayant au moins une commune dans la région {synthese.region_name} "
        f"({synthese.region}) ; tailles : {text}"
        + (f" ; {fr.integer(approx)} à population approximative (taille encadrée)." if approx else ".")
    )


def regional_layers(synthese: RegionalSynthesis):
    """(territories GeoDataFrame with the table columns, communes, orphans), EPSG:4326; None without polygons."""
    if synthese.layers is None:
        return None
    terr = synthese.layers["territoires"][["territoire", "geometry"]].merge(
        synthese.table, on="territoire", how="inner"
    )
    terr["cpts"] = terr["territoire"]
    terr["taille_txt"] = [_tier_text(r) for _, r in terr.iterrows()]
    terr["population_txt"] = [_population_text(r) for _, r in terr.iterrows()]
    names = set(synthese.table["territoire"])
    com = synthese.layers["communes"]
    com = com[com["territoire"].isin(names)].copy()
    com["cpts"] = com["territoire"]
    com["taille"] = com["territoire"].map(synthese.table.set_index("territoire")["taille"]).astype("Int64")
    orph = synthese.layers["orphelines"]
    deps = set(synthese.check.study_area)
    orph = orph[orph["departement"].isin(deps)] if "departement" in orph.columns else orph
    return terr, com, orph


def _regional_source(synthese: RegionalSynthesis, extra: str = "") -> str:
    base = f"Sources : {_CHECK_SOURCE} ; {_GEOMETRY_SOURCE} ; périmètres : {synthese.perimeters_name}"
    return base + (f" ; {extra}" if extra else "")


def _indicator_source(synthese: RegionalSynthesis, ind_id: str) -> str:
    m = synthese.meta.get(ind_id)
    if not m:
        return ""
    fict = " (données fictives)" if m.get("fictitious") else ""
    return f"{m['source']}, {m['vintage']}, niveau {m['source_level']} agrégé par CPTS{fict}"


def _tier_figure(terr, orph, title: str, source: str):
    from matplotlib.patches import Patch

    from cpts_diag.outputs.maps import MASKED_COLOR, ORPHAN_COLOR, ORPHAN_LABEL, TIER_COLORS

    fig, ax = _map_figure()
    t = terr.to_crs(2154)
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
        handles.append(
            Patch(
                facecolor=MASKED_COLOR,
                edgecolor="#333333",
                label=f"Taille encadrée (population approximative) ({fr.integer(n_unknown)})",
            )
        )
    if orph is not None and len(orph):
        orph.to_crs(2154).plot(ax=ax, facecolor="#ffffff", edgecolor=ORPHAN_COLOR, hatch="\\\\\\\\", linewidth=0.6)
        handles.append(
            Patch(
                facecolor="#ffffff",
                edgecolor=ORPHAN_COLOR,
                hatch="\\\\\\\\",
                label=f"{ORPHAN_LABEL} ({fr.integer(len(orph))})",
            )
        )
    return _finish_map(fig, ax, handles, title, source)


def _coverage_figure(com, orph, title: str, source: str):
    from matplotlib.patches import Patch

    from cpts_diag.outputs.maps import ORPHAN_COLOR, ORPHAN_LABEL, PLAIN_COLOR

    fig, ax = _map_figure()
    c = com.drop_duplicates("code_insee").to_crs(2154)
    n_cpts = com.groupby("code_insee")["territoire"].nunique()
    multi = c[c["code_insee"].map(n_cpts) > 1]
    c.plot(ax=ax, facecolor=PLAIN_COLOR, edgecolor="#ffffff", linewidth=0.25)
    handles = [
        Patch(
            facecolor=PLAIN_COLOR,
            edgecolor="#999999",
            label=f"Commune couverte par une CPTS ({fr.integer(len(c) - len(multi))})",
        )
    ]
    if len(multi):
        multi.plot(ax=ax, facecolor="#fdae61", edgecolor="#444444", linewidth=0.5)
        handles.append(
            Patch(
                facecolor="#fdae61",
                edgecolor="#444444",
                label=f"Commune partagée entre plusieurs CPTS ({fr.integer(len(multi))})",
            )
        )
    if orph is not None and len(orph):
        orph.to_crs(2154).plot(ax=ax, facecolor=ORPHAN_COLOR, edgecolor=ORPHAN_COLOR, linewidth=0.5)
        handles.append(
            Patch(
                facecolor=ORPHAN_COLOR,
                edgecolor=ORPHAN_COLOR,
                label=f"{ORPHAN_LABEL} : sans CPTS ({fr.integer(len(orph))})",
            )
        )
    return _finish_map(fig, ax, handles, title, source)


def _static(gdf, value_col, *, source: str, title: str, **kwargs):
    """:func:`cpts_diag.outputs.maps.static_map` in a figure whose legend is on the right and source underneath."""
    from matplotlib.figure import Figure

    from cpts_diag.outputs.maps import static_map

    fig = Figure(figsize=(10.0, 7.2), layout="constrained")
    ax = fig.add_subplot()
    static_map(gdf, value_col, ax=ax, **kwargs)
    fig.suptitle(title.replace("$", r"\$"), fontsize=12, x=0.01, ha="left")
    _source_footer(fig, source)
    return fig


def regional_static_maps(synthese: RegionalSynthesis) -> dict:
    """Printed maps of the région: ``tailles``, ``apl``, ``couverture``, ``orphelines`` (matplotlib Figures)."""
    layers = regional_layers(synthese)
    if layers is None:
        return {}
    terr, com, orph = layers
    region = f"{synthese.region_name} ({synthese.region})"
    figs = {
        "tailles": _tier_figure(
            terr,
            orph,
            f"Taille ACI des CPTS — {region}",
            _regional_source(synthese) + " — niveau commune agrégé par CPTS",
        )
    }
    apl_src = _indicator_source(synthese, "apl_mg_2023")
    figs["apl"] = _static(
        terr,
        "apl_2023",
        label="APL aux médecins généralistes 2023",
        unit="consult./an/hab.",
        classes=[2.5, 3.0, 3.5, 4.0, 4.5],
        palette="RdPu_r",
        territory_outline=False,
        orphans=orph if len(orph) else None,
        title=f"Accessibilité aux médecins généralistes par CPTS — {region}",
        source=f"Sources : {apl_src} ; {_GEOMETRY_SOURCE}",
    )
    figs["couverture"] = _coverage_figure(
        com, orph, f"Couverture de la région par les CPTS — {region}", _regional_source(synthese) + " — niveau commune"
    )
    if len(orph):
        outlines = terr[["cpts", "geometry"]]
        figs["orphelines"] = _static(
            orph,
            "population",
            label="Population 2023 des communes orphelines",
            unit="hab.",
            classes=[500, 2000, 10000],
            palette=["#bcbddc", "#9e9ac8", "#6a51a3", "#3f007d"],
            territory_outline=False,
            neighbours=outlines,
            label_neighbours=False,
            title=f"Communes orphelines (sans CPTS) — {region}",
            source=_regional_source(synthese) + " — niveau commune",
            decimals=0,
        )
    return figs


def regional_web_map(synthese: RegionalSynthesis, value: str = "taille"):
    """Interactive regional map (folium, offline) by territory: ``value`` "taille" (ACI tiers) or "apl".

    Tooltips give each territory's population, tier, number of communes and the indicators of the
    regional table; orphan communes are hatched.
    """
    from cpts_diag.outputs.maps import region_map

    layers = regional_layers(synthese)
    if layers is None:
        return None
    terr, _, orph = layers
    fields = {"population_txt": "Population 2023", "taille_txt": "Taille ACI", "n_communes": "Communes"}
    for col, ind_id, header, _ in synthese.indicators:
        fields[col] = header + (" (FICTIF)" if synthese.meta.get(ind_id, {}).get("fictitious") else "")
    cols = ["cpts", "geometry", "taille", *fields]
    region = f"{synthese.region_name} ({synthese.region})"
    extra = [_indicator_source(synthese, ind) for _, ind, _, _ in synthese.indicators]
    source = _regional_source(synthese, " ; ".join(e for e in extra if e))
    if value == "apl":
        return region_map(
            terr[cols],
            value_col="apl_2023",
            label="APL aux médecins généralistes 2023",
            unit="consult./an/hab.",
            classes=[2.5, 3.0, 3.5, 4.0, 4.5],
            palette="RdPu_r",
            orphans=orph if len(orph) else None,
            tooltip_fields=fields,
            title=f"APL aux médecins généralistes par CPTS — {region}",
            source=source,
            fictitious=synthese.fictitious,
        )
    return region_map(
        terr[cols],
        value_col="taille",
        label="Taille ACI de la CPTS",
        orphans=orph if len(orph) else None,
        tooltip_fields=fields,
        title=f"CPTS de la région {region} : tailles et communes orphelines",
        source=source,
        fictitious=synthese.fictitious,
    )


def show_regional_maps(synthese: RegionalSynthesis) -> None:
    """Display the printed maps and the interactive maps of the synthesis."""
    figs = regional_static_maps(synthese)
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
        _display(_html(_render("heading", titles[key])))
        _show_figure(fig)
    if "orphelines" not in figs:
        show_note("Aucune commune orpheline dans la région.")
    _display(_html(_render("regional_maps_intro")))
    show_map(regional_web_map(synthese, "taille"), height=620)
    show_map(regional_web_map(synthese, "apl"), height=620)


def write_regional_map(synthese: RegionalSynthesis, dossier_sortie) -> Path | None:
    """Write ``carte_regionale.html`` (tiers, orphans, key figures in tooltips; offline) into ``dossier_sortie``.

    Nothing is written when ``dossier_sortie`` is empty or when no polygons are available.
    """
    from cpts_diag.outputs.maps import save_offline_map

    if dossier_sortie in (None, "") or not str(dossier_sortie).strip():
        show_note("Carte régionale non écrite (paramètre dossier_sortie vide).")
        return None
    m = regional_web_map(synthese, "taille")
    if m is None:
        show_note("Carte régionale non écrite : aucun contour de communes.", "warn")
        return None
    path = save_offline_map(m, Path(str(dossier_sortie).strip()) / REGIONAL_MAP_FILE)
    size = path.stat().st_size
    _display(_html(_render("regional_map_written", path, size / 1024)))
    return path


def show_regional_sources(synthese: RegionalSynthesis) -> None:
    """Display the sources of the synthesis, with vintage and level, and the fictitious flag."""
    items = [
        "INSEE, Code officiel géographique 2026 et populations légales 2023 — niveau commune",
        f"{_GEOMETRY_SOURCE}",
        f"Périmètres : {synthese.perimeters_name}",
    ]
    for _, ind_id, _, _ in synthese.indicators:
        m = synthese.meta.get(ind_id)
        if m:
            items.append(
                f"{m['label']} : {m['source']}, millésime {m['vintage']}, niveau {m['source_level']}"
                + (" — DONNÉES FICTIVES" if m.get("fictitious") else "")
            )
    from cpts_diag.tiers import TIER_RULE

    items.append(TIER_RULE)
    _display(_html(_render("sources", items)))
