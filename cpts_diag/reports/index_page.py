"""The ``index.html`` page of a batch of territory reports (French, self-contained, offline).

One table links every territory's ``rapport.html``, ``carte.html`` and ``indicateurs.xlsx`` with its status,
population (or bounds), ACI tier and key figures; failures are listed with their message; the ARS view (for each
région: the perimeter check with its study area, the regional synthesis and the regional map, in a folder per
région) and a regional synthesis or check outputs found at the top of the folder are linked when present. The page
has no script and no external resource; it is rendered by the template ``templates/index.html.j2`` (style sheet
``static/index.css``): every user text (territory names, messages) is HTML-escaped and every link is a URL-quoted
relative path.

Examples
--------
>>> html = render_index([{"name": "CPTS <A>", "slug": "cpts-a", "status": "ok",
...                       "outputs": {"rapport": "cpts-a/rapport.html"}, "population": 41000,
...                       "tier": 2}])
>>> "CPTS &lt;A&gt;" in html and 'href="cpts-a/rapport.html"' in html
True
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cpts_diag import fr_format as fr
from cpts_diag.io.atomic import atomic_write_text
from cpts_diag.outputs.templating import css, render
from cpts_diag.tiers import tier_label

#: Name of the page in the output folder.
INDEX_FILE = "index.html"

STATUS_OK, STATUS_FAILED, STATUS_UNCHANGED = "ok", "échec", "inchangé"

#: French labels of the statuses shown in the table.
STATUS_LABELS = {
    STATUS_OK: "produit",
    STATUS_UNCHANGED: "inchangé (déjà à jour)",
    STATUS_FAILED: "échec",
}

#: Files of the output folder linked in the "vue régionale" block when present: (file, French label).
REGIONAL_LINKS: tuple[tuple[str, str], ...] = (
    ("synthese_regionale.html", "Synthèse régionale (tableau et cartes de tous les territoires)"),
    ("carte_regionale.html", "Carte régionale interactive (tailles, communes orphelines), lisible hors ligne"),
)

#: Files of a région's folder of the ARS view linked by the index: (kind in the région's ``outputs``, French label).
REGION_LINKS: tuple[tuple[str, str], ...] = (
    ("synthese", "Synthèse régionale : tableau et cartes de tous les territoires de la région"),
    ("carte", "Carte régionale interactive (tailles, communes orphelines), lisible hors ligne"),
    ("controle", "Contrôle des périmètres des territoires de la région, avec sa zone d'étude (classeur Excel)"),
    ("controle_gpkg", "Contrôle des périmètres (GeoPackage pour QGIS)"),
    ("propositions", "Propositions de rattachement des communes orphelines et des conflits (carte hors ligne)"),
)

#: Folders (or file-name prefixes at the top of the output folder) holding the perimeter-check outputs.
CHECK_PLACES = ("controle_perimetres", "controle")

#: Sources line shown at the bottom of the page when the caller gives none.
DEFAULT_SOURCES = (
    "INSEE, Code officiel géographique 2026 et populations légales 2023 (commune)",
    "DREES, accessibilité potentielle localisée (APL) aux médecins généralistes 2023 (commune)",
    "CartoSanté / INSEE, indicateurs par bassin de vie 2022",
    "INSEE, recensement 2022 : parts des 75 ans et plus et des familles monoparentales (commune)",
    "INSEE, populations municipales 2016 à 2022 harmonisées au COG 2026 (commune)",
    "INSEE, Filosofi 2019 (commune)",
    "ARS, zonage des infirmiers libéraux 2024 (commune)",
    "Santé publique France, indice de défavorisation F-EDI 2021 (commune, France métropolitaine)",
    "taille ACI : accord conventionnel interprofessionnel CPTS (2019)",
)

#: Linked outputs of a territory: (key in ``outputs``, column label); keys as in
#: :data:`cpts_diag.reports.folder.REPORT_FILES`.
_OUTPUT_COLUMNS = (
    ("rapport", "Rapport"),
    ("carte", "Carte"),
    ("indicateurs", "Indicateurs (Excel)"),
)


def _figure_text(value) -> str | None:
    """A key figure value as French text (None when missing): a ready string, a number, or a dict with
    value/unit/text."""
    if isinstance(value, Mapping):
        if value.get("text") is not None:
            return str(value["text"])
        unit = value.get("unit") or ""
        v = value.get("value")
        text = _figure_text(v)
        return f"{text} {unit}".strip() if unit and not fr.is_missing(v) else text
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return fr.yes_no(value)
    if fr.is_missing(value):
        return None
    if isinstance(value, int) or float(value).is_integer():
        return fr.integer(value)
    return fr.number(value, 1)


_STATUS_CLASSES = {STATUS_OK: "st-ok", STATUS_FAILED: "st-ko", STATUS_UNCHANGED: "st-same"}


def _perimeter_marks(perimeter) -> list[tuple[str, str]] | None:
    """(css class, French text) of a territory's perimeter findings (counts by level), [] for none, None when
    unknown (a report of an earlier version)."""
    if not isinstance(perimeter, Mapping):
        return None
    levels = {"bloquant": "pm-ko", "à vérifier": "pm-check", "information": "pm-info"}  # keys: the French levels
    return [(cls, f"{fr.integer(perimeter[level])} {level}") for level, cls in levels.items() if perimeter.get(level)]


def _row(entry: Mapping, base: Path | None) -> dict:
    """What the page shows of one territory (plain values; the template does the HTML)."""
    status = str(entry.get("status", ""))
    pop = entry.get("population")
    outputs = entry.get("outputs") or {}
    links = []
    for name, label in _OUTPUT_COLUMNS:
        rel = outputs.get(name)
        present = rel and (base is None or (base / rel).exists())
        links.append((rel if present else None, label))
    return {
        "name": entry.get("name"),
        "status_class": _STATUS_CLASSES.get(status, ""),
        "status_label": STATUS_LABELS.get(status, status),
        "perimeter": _perimeter_marks(entry.get("perimeter")),
        "population": fr.population(pop, entry.get("population_min"), entry.get("population_max"), missing=None),
        "approximate": fr.is_missing(pop),
        "tier": tier_label(entry.get("tier"), entry.get("tier_min"), entry.get("tier_max"), short=True, unknown="")
        or None,
        "failed": status == STATUS_FAILED,
        "error": entry.get("error") or "erreur inconnue",
        "figures": [(label, _figure_text(v)) for label, v in (entry.get("key_figures") or {}).items()],
        "links": links,
    }


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{fr.integer(n)} {word if n <= 1 else (plural or word + 's')}"


def region_study_area_text(record: Mapping) -> str:
    """French: the study area of a région's ARS view (a record of
    :func:`cpts_diag.reports.regional_view.run_regional_views`), and what it makes of the communes outside the file.

    Examples
    --------
    >>> region_study_area_text({"study_area": ["29"], "declared": False, "mostly_covered": False})
    "zone d'étude : Finistère (29), seul département de la région dont le fichier liste plus de la moitié des communes"
    """
    if record.get("declared"):
        return "zone d'étude : la région, déclarée (--region) : ses communes absentes du fichier sont orphelines"
    if record.get("mostly_covered"):
        return (
            "zone d'étude : la région entière, dont le fichier contient plus de la moitié des communes et de la "
            "population : ses communes absentes du fichier sont orphelines"
        )
    deps = list(record.get("study_area") or [])
    if not deps:
        return (
            "zone d'étude : aucune, le fichier ne liste la moitié des communes ni de la région ni d'aucun de ses "
            "départements : aucune commune n'y est dite orpheline"
        )
    from cpts_diag.reference import load_reference

    reference = load_reference()
    names = ", ".join(f"{reference.departement_name(d)} ({d})" for d in deps)
    which = (
        "seul département de la région" if len(deps) == 1 else "départements de la région"
    ) + " dont le fichier liste plus de la moitié des communes"
    return f"zone d'étude : {names}, {which}"


def _region_row(record: Mapping, base: Path | None) -> dict:
    """What the page shows of one région of the ARS view (plain values and French sentences)."""
    status = str(record.get("status", ""))
    outputs = record.get("outputs") or {}
    links = [
        (rel, label)
        for kind, label in REGION_LINKS
        if (rel := outputs.get(kind)) and (base is None or (base / rel).is_file())
    ]
    territories = list(record.get("territories") or [])
    straddling = record.get("straddling") or {}
    about = [f"{_plural(len(territories), 'territoire')} ayant au moins une commune dans la région"]
    if straddling:
        names = " ; ".join(f"{name} (aussi : {', '.join(other)})" for name, other in straddling.items())
        about.append(
            f"dont {_plural(len(straddling), 'à cheval', 'à cheval')} sur une autre région, compté"
            f"{'s' if len(straddling) > 1 else ''} entier{'s' if len(straddling) > 1 else ''} ici comme dans "
            f"l'autre région : {names}"
        )
    n, covered = record.get("n_communes"), record.get("n_covered")
    if n:
        share = 100 * (record.get("population_covered") or 0) / (record.get("population") or 1)
        about.append(
            f"communes de la région dans le fichier : {fr.integer(covered)} sur {fr.integer(n)} "
            f"({fr.percent(share, 1)} de la population)"
        )
    check = record.get("check") or {}
    done = status in (STATUS_OK, STATUS_UNCHANGED)
    if done and "study_area" in record:  # records of an earlier version lack it
        about.append(region_study_area_text(record))
    if record.get("declared") and not record.get("mostly_covered"):
        about.append(
            "attention : région demandée que le fichier couvre en petite partie, ses « orphelines » sont toutes ses "
            "communes hors du fichier"
        )
    if check and done:
        outside = check.get("n_outside_file", 0)
        about.append(
            f"contrôle : {_plural(check.get('n_orphans', 0), 'commune orpheline', 'communes orphelines')} (sans "
            f"CPTS, dans la zone d'étude)"
            + (f", {_plural(outside, 'commune')} « hors fichier » (information)" if outside else "")
            + f", {_plural(check.get('n_overlaps', 0), 'chevauchement')} dont "
            f"{_plural(check.get('n_conflicts', 0), 'conflit')}"
        )
    return {
        "code": record.get("code"),
        "name": record.get("name"),
        "status_class": _STATUS_CLASSES.get(status, ""),
        "status_label": STATUS_LABELS.get(status, status),
        "failed": status == STATUS_FAILED,
        "error": record.get("error") or "erreur inconnue",
        "about": about,
        "links": links,
        "fictitious": bool(record.get("fictitious")),
    }


def find_extra_links(out_dir: str | os.PathLike) -> list[tuple[str, str]]:
    """Regional and check outputs present in ``out_dir``: list of (relative path, French label).

    Looks for :data:`REGIONAL_LINKS`, then the HTML / XLSX / GPKG / JSON files of the perimeter check:
    files named ``controle*`` at the top of ``out_dir`` and files of the folders of
    :data:`CHECK_PLACES` (``controle_perimetres/`` as written by ``make demo``).
    """
    out_dir = Path(out_dir)
    found = [(rel, label) for rel, label in REGIONAL_LINKS if (out_dir / rel).is_file()]
    kinds = {".html": "page", ".xlsx": "classeur Excel", ".gpkg": "GeoPackage pour QGIS", ".json": "JSON"}
    candidates = sorted(out_dir.glob("controle*"))
    for place in CHECK_PLACES:
        if (out_dir / place).is_dir():
            candidates += sorted((out_dir / place).iterdir())
    found += [
        (path.relative_to(out_dir).as_posix(), f"Contrôle des périmètres ({kinds[path.suffix.lower()]}) : {path.name}")
        for path in candidates
        if path.is_file() and path.suffix.lower() in kinds and not path.name.startswith(".")
    ]
    return found


def render_index(
    entries: Sequence[Mapping],
    *,
    perimeters_name: str | None = None,
    generated: str | None = None,
    fictitious: bool | None = None,
    extra_links: Sequence[tuple[str, str]] = (),
    sources: Sequence[str] | None = None,
    out_dir: str | os.PathLike | None = None,
    interrupted: bool = False,
    regions: Sequence[Mapping] = (),
) -> str:
    """HTML of the batch index page: a complete, self-contained page (no script, no external resource).

    ``entries`` are the territory records as stored in ``batch.json`` (keys ``name``, ``slug``, ``status``,
    ``outputs`` {kind: path relative to the page}, kinds ``rapport``, ``carte``, ``indicateurs``..., ``error``,
    ``population``, ``population_min``, ``population_max``, ``tier``, ``tier_min``, ``tier_max``, ``key_figures``,
    ``fictitious``, ``perimeter``: counts of the perimeter findings by level, shown under the name, see
    :func:`cpts_diag.reports.sections.perimeter_summary`).
    ``perimeters_name`` (the perimeter file) is shown under the title; ``generated`` (French date
    and time) defaults to now; the "Données fictives" banner (``fictitious``) defaults to any entry flagged
    ``fictitious``; ``extra_links`` are the (relative path, label) of the regional synthesis and check outputs
    (see :func:`find_extra_links`); ``sources`` defaults to :data:`DEFAULT_SOURCES`; with ``out_dir`` (the page's
    folder), a link is written only if its file exists; ``interrupted`` says that the batch stopped before its end.
    ``regions`` are the records of the ARS view (:func:`cpts_diag.reports.regional_view.run_regional_views`): a
    section per région, with its study area.
    """
    base = Path(out_dir) if out_dir is not None else None
    entries = sorted(entries, key=lambda e: str(e.get("name", "")).casefold())
    if fictitious is None:
        fictitious = any(e.get("fictitious") for e in entries)
    if generated is None:
        generated = _dt.datetime.now().strftime("%d/%m/%Y à %H:%M")
    counts = {
        key: sum(1 for e in entries if e.get("status") == s)
        for key, s in (("ok", STATUS_OK), ("unchanged", STATUS_UNCHANGED), ("failed", STATUS_FAILED))
    }

    rows = [_row(e, base) for e in entries]
    region_rows = [_region_row(r, base) for r in regions]
    sources = list(DEFAULT_SOURCES if sources is None else sources)
    if perimeters_name and sources:
        sources.append(f"périmètres des CPTS : {perimeters_name}")
    return render(
        "index.html.j2",
        title="Diagnostics territoriaux des CPTS",
        style=css("index.css"),
        generated=generated,
        perimeters_name=perimeters_name,
        n_entries=len(entries),
        counts=counts,
        interrupted=interrupted,
        fictitious=fictitious,
        extra_links=extra_links,
        regions=region_rows,
        head=["Territoire", "Statut", "Population", "Taille ACI", "Chiffres clés"]
        + [label for _, label in _OUTPUT_COLUMNS],
        rows=rows,
        failed=[r for r in rows if r["failed"]],
        sources=sources,
    )


def write_index(out_dir: str | os.PathLike, entries: Sequence[Mapping], **kwargs) -> Path:
    """Write ``out_dir/index.html`` (:data:`INDEX_FILE`) atomically (links to files present only); return its path.

    Keyword arguments go to :func:`render_index`; ``extra_links`` defaults to
    :func:`find_extra_links` of ``out_dir``.
    """
    out_dir = Path(out_dir)
    kwargs.setdefault("extra_links", find_extra_links(out_dir))
    html = render_index(entries, out_dir=out_dir, **kwargs)
    return atomic_write_text(out_dir / INDEX_FILE, html)
