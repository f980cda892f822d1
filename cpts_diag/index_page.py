"""The ``index.html`` page of a batch of territory reports (French, self-contained, offline).

One table links every territory's ``rapport.html``, ``carte.html`` and ``indicateurs.xlsx`` with its
status, population (or bounds), ACI tier and key figures; failures are listed with their message;
the regional synthesis and the perimeter-check outputs are linked when present. The page has no
script and no external resource; every user text (territory names, messages) is HTML-escaped and
every link is a URL-quoted relative path.

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
from urllib.parse import quote

from cpts_diag import fr_format as fr
from cpts_diag.html import atomic_write_text, esc, html_page
from cpts_diag.tiers import tier_label

__all__ = [
    "CHECK_PLACES",
    "DEFAULT_SOURCES",
    "INDEX_FILE",
    "REGIONAL_LINKS",
    "STATUS_FAILED",
    "STATUS_LABELS",
    "STATUS_OK",
    "STATUS_UNCHANGED",
    "find_extra_links",
    "render_index",
    "write_index",
]

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

#: Folders (or file-name prefixes at the top of the output folder) holding the perimeter-check outputs.
CHECK_PLACES = ("controle_perimetres", "controle")

#: Sources line shown at the bottom of the page when the caller gives none.
DEFAULT_SOURCES = (
    "INSEE, Code officiel géographique 2026 et populations légales 2023 (commune)",
    "DREES, accessibilité potentielle localisée (APL) aux médecins généralistes 2023 (commune)",
    "CartoSanté / INSEE, indicateurs par bassin de vie 2022",
    "taille ACI : accord conventionnel interprofessionnel CPTS (2019)",
)

#: Linked outputs of a territory: (key in ``outputs``, column label); keys as in
#: :data:`cpts_diag.report.REPORT_FILES`.
_OUTPUT_COLUMNS = (
    ("rapport", "Rapport"),
    ("carte", "Carte"),
    ("indicateurs", "Indicateurs (Excel)"),
)

_CSS = """
:root { --ok: #1b7837; --ko: #b2182b; --same: #4d6b8a; }
body { font: 14px/1.45 Arial, Helvetica, sans-serif; color: #1e1e1e; margin: 24px auto; max-width: 1200px;
  padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 22px 0 8px; }
.meta { color: #555; margin: 0 0 12px; }
.fictif { background: #c00000; color: #fff; font-weight: bold; padding: 6px 10px; border-radius: 3px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 5px 7px; vertical-align: top; text-align: left; }
th { background: #f1f3f5; position: sticky; top: 0; }
td.num { text-align: right; white-space: nowrap; }
.st { font-weight: bold; white-space: nowrap; }
.st-ok { color: var(--ok); } .st-ko { color: var(--ko); } .st-same { color: var(--same); }
ul.kf { margin: 0; padding-left: 16px; } ul.kf li { margin: 0; }
.missing { color: #888; }
.err { color: var(--ko); }
.sources { margin-top: 20px; font-size: 12px; color: #444; border-top: 1px solid #ccc; padding-top: 8px; }
@media print { body { margin: 0; max-width: none; } th { position: static; } a { color: inherit; } }
"""


# --------------------------------------------------------------------------- helpers


def _href(rel: str) -> str:
    """URL-quoted relative link (each path segment quoted), HTML-escaped."""
    rel = str(rel).replace(os.sep, "/")
    return esc("/".join(quote(part, safe="") for part in rel.split("/")))


def _population_cell(entry: Mapping) -> str:
    pop = entry.get("population")
    text = fr.population(pop, entry.get("population_min"), entry.get("population_max"), missing=None)
    if text is None:
        return '<span class="missing">n.d.</span>'
    return text if not fr.is_missing(pop) else f"{text}<br><small>(approximatif)</small>"


def _tier_cell(entry: Mapping) -> str:
    return tier_label(entry.get("tier"), entry.get("tier_min"), entry.get("tier_max"), short=True,
                      unknown='<span class="missing">n.d.</span>')


def _figure_text(value) -> str:
    """A key figure value: a ready French string, a number, or a dict with value/unit/text."""
    if isinstance(value, Mapping):
        if "text" in value and value["text"] is not None:
            return esc(value["text"])
        unit = value.get("unit") or ""
        v = value.get("value")
        text = _figure_text(v)
        return f"{text} {esc(unit)}".strip() if unit and not fr.is_missing(v) else text
    if isinstance(value, str):
        return esc(value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if fr.is_missing(value):
        return '<span class="missing">n.d.</span>'
    if isinstance(value, int) or float(value).is_integer():
        return fr.integer(value)
    return fr.number(value, 1)


def _key_figures_cell(entry: Mapping) -> str:
    figures = entry.get("key_figures") or {}
    if not figures:
        return '<span class="missing">—</span>'
    items = "".join(f"<li>{esc(label)} : {_figure_text(v)}</li>" for label, v in figures.items())
    return f'<ul class="kf">{items}</ul>'


def _status_cell(status: str) -> str:
    cls = {STATUS_OK: "st-ok", STATUS_FAILED: "st-ko", STATUS_UNCHANGED: "st-same"}.get(status, "")
    return f'<span class="st {cls}">{esc(STATUS_LABELS.get(status, status))}</span>'


def _link_cell(entry: Mapping, name: str, label: str, base: Path | None) -> str:
    rel = (entry.get("outputs") or {}).get(name)
    if not rel or (base is not None and not (base / rel).exists()):
        return '<span class="missing">—</span>'
    return f'<a href="{_href(rel)}">{esc(label)}</a>'


def find_extra_links(out_dir: str | os.PathLike) -> list[tuple[str, str]]:
    """Regional and check outputs present in ``out_dir``: list of (relative path, French label).

    Looks for :data:`REGIONAL_LINKS`, then the HTML / XLSX / GPKG / JSON files of the perimeter check:
    files named ``controle*`` at the top of ``out_dir`` and files of the folders of
    :data:`CHECK_PLACES` (``controle_perimetres/`` as written by ``make demo``).
    """
    out_dir = Path(out_dir)
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for rel, label in REGIONAL_LINKS:
        if (out_dir / rel).is_file():
            found.append((rel, label))
            seen.add(rel)
    kinds = {".html": "page", ".xlsx": "classeur Excel", ".gpkg": "GeoPackage pour QGIS", ".json": "JSON"}
    candidates = sorted(out_dir.glob("controle*"))
    for place in CHECK_PLACES:
        if (out_dir / place).is_dir():
            candidates += sorted((out_dir / place).iterdir())
    for path in candidates:
        suffix = path.suffix.lower()
        if not path.is_file() or suffix not in kinds or path.name.startswith("."):
            continue
        rel = path.relative_to(out_dir).as_posix()
        if rel not in seen:
            found.append((rel, f"Contrôle des périmètres ({kinds[suffix]}) : {path.name}"))
            seen.add(rel)
    return found


# ------------------------------------------------------------------------------ page


def render_index(entries: Sequence[Mapping], *, title: str = "Diagnostics territoriaux des CPTS",
                 perimeters_name: str | None = None, generated: str | None = None,
                 fictitious: bool | None = None, extra_links: Sequence[tuple[str, str]] = (),
                 sources: Sequence[str] | None = None, out_dir: str | os.PathLike | None = None,
                 interrupted: bool = False) -> str:
    """HTML of the batch index page.

    Parameters
    ----------
    entries : sequence of mapping
        Territory records as stored in ``batch.json`` (keys ``name``, ``slug``, ``status``,
        ``outputs`` {kind: path relative to the page}, kinds ``rapport``, ``carte``,
        ``indicateurs``..., ``error``, ``population``, ``population_min``,
        ``population_max``, ``tier``, ``tier_min``, ``tier_max``, ``key_figures``, ``fictitious``).
    title : str
        Page title.
    perimeters_name : str, optional
        Name of the perimeter file, shown under the title.
    generated : str, optional
        Date and time of generation (French text); default now.
    fictitious : bool, optional
        Show the "Données fictives" banner; default: any entry flagged ``fictitious``.
    extra_links : sequence of (relative path, label)
        Regional synthesis and check outputs (see :func:`find_extra_links`).
    sources : sequence of str, optional
        Sources line; default :data:`DEFAULT_SOURCES`.
    out_dir : path, optional
        Folder of the page; when given, a link is written only if its file exists.
    interrupted : bool, default False
        Say that the batch was interrupted before its end.

    Returns
    -------
    str
        A complete, self-contained HTML page (no script, no external resource).
    """
    base = Path(out_dir) if out_dir is not None else None
    entries = sorted(entries, key=lambda e: str(e.get("name", "")).casefold())
    if fictitious is None:
        fictitious = any(bool(e.get("fictitious")) for e in entries)
    if generated is None:
        generated = _dt.datetime.now().strftime("%d/%m/%Y à %H:%M")
    counts = {s: sum(1 for e in entries if e.get("status") == s)
              for s in (STATUS_OK, STATUS_UNCHANGED, STATUS_FAILED)}

    parts = [f"<h1>{esc(title)}</h1>"]
    meta = [f"Généré le {esc(generated)}"]
    if perimeters_name:
        meta.append(f"périmètres : {esc(perimeters_name)}")
    meta.append(f"{fr.integer(len(entries))} territoire{'s' if len(entries) > 1 else ''} : "
                f"{fr.integer(counts[STATUS_OK])} produit{'s' if counts[STATUS_OK] > 1 else ''}, "
                f"{fr.integer(counts[STATUS_UNCHANGED])} inchangé{'s' if counts[STATUS_UNCHANGED] > 1 else ''}, "
                f"{fr.integer(counts[STATUS_FAILED])} en échec")
    parts.append(f'<p class="meta">{" — ".join(meta)}</p>')
    if interrupted:
        parts.append('<p class="fictif">Traitement interrompu avant la fin : la liste est incomplète.</p>')
    if fictitious:
        parts.append('<p class="fictif">Données fictives — les indicateurs CPAM (patients sans médecin '
                     "traitant, ALD, CSS) proviennent d'un fichier d'exemple fictif de démonstration ; "
                     "ils ne décrivent pas la réalité.</p>")

    if extra_links:
        parts.append("<h2>Vue régionale et contrôle des périmètres</h2><ul>")
        parts += [f'<li><a href="{_href(rel)}">{esc(label)}</a></li>' for rel, label in extra_links]
        parts.append("</ul>")

    parts.append("<h2>Territoires</h2>")
    if not entries:
        parts.append("<p>Aucun territoire.</p>")
    else:
        head = ["Territoire", "Statut", "Population", "Taille ACI", "Chiffres clés"]
        head += [label for _, label in _OUTPUT_COLUMNS]
        parts.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head)
                     + "</tr></thead><tbody>")
        for e in entries:
            status = str(e.get("status", ""))
            row = [
                f"<td>{esc(e.get('name'))}</td>",
                f"<td>{_status_cell(status)}</td>",
                f'<td class="num">{_population_cell(e)}</td>',
                f'<td class="num">{_tier_cell(e)}</td>',
            ]
            if status == STATUS_FAILED:
                row.append(f'<td class="err">{esc(e.get("error") or "erreur inconnue")}</td>')
            else:
                row.append(f"<td>{_key_figures_cell(e)}</td>")
            row += [f"<td>{_link_cell(e, name, label, base)}</td>" for name, label in _OUTPUT_COLUMNS]
            parts.append("<tr>" + "".join(row) + "</tr>")
        parts.append("</tbody></table>")

    failed = [e for e in entries if e.get("status") == STATUS_FAILED]
    if failed:
        parts.append(f"<h2>Échecs ({fr.integer(len(failed))})</h2><ul>")
        parts += [f"<li><strong>{esc(e.get('name'))}</strong> : {esc(e.get('error') or 'erreur inconnue')}</li>"
                  for e in failed]
        parts.append("</ul>")

    sources = list(DEFAULT_SOURCES if sources is None else sources)
    if perimeters_name and sources:
        sources.append(f"périmètres des CPTS : {perimeters_name}")
    if sources:
        parts.append('<p class="sources">Sources : ' + " ; ".join(esc(s) for s in sources)
                     + ". Niveau géographique des indicateurs : commune, agrégée au territoire de la CPTS "
                       "(détails et millésimes dans chaque rapport).</p>")
    return html_page(title, "\n".join(parts), _CSS)


def write_index(out_dir: str | os.PathLike, entries: Sequence[Mapping], **kwargs) -> Path:
    """Write ``out_dir/index.html`` (:data:`INDEX_FILE`) atomically (links to files present only); return its path.

    Keyword arguments go to :func:`render_index`; ``extra_links`` defaults to
    :func:`find_extra_links` of ``out_dir``.
    """
    out_dir = Path(out_dir)
    kwargs.setdefault("extra_links", find_extra_links(out_dir))
    html = render_index(entries, out_dir=out_dir, **kwargs)
    return atomic_write_text(out_dir / INDEX_FILE, html)
