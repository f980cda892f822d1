"""What the notebooks display, in JupyterLab and in papermill runs exported to HTML.

French HTML tables (numbers formatted the French way, every text escaped, a caption with source, vintage
and geographic level), notes, maps (folium inline and offline; matplotlib figures for print) and file
parameters. No script outside the embedded maps, no external resource.
"""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import overload

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.errors import InputError
from cpts_diag.outputs.templating import Markup, macro, scoped_css
from cpts_diag.settings import user_path

#: Sources of the commune data of notebooks 01 and 03 (captions and map footers).
CHECK_SOURCE = "INSEE, COG 2026 et populations légales 2023, niveau commune"
GEOMETRY_SOURCE = "contours IGN ADMIN EXPRESS simplifiés (COG 2026 ; arrondissements à Paris, Lyon, Marseille)"

#: Template of what the notebooks display (one macro per piece).
_TEMPLATE = "fragments/notebook.html.j2"

#: Style sheets (``outputs/static``) of the pages exported from the notebooks (rapport.html, the regional
#: synthesis), inlined once in their head; the notebook outputs carry them scoped (:func:`notebook_html`).
PAGE_STYLE_SHEETS = ("report.css", "notebook.css")
#: The selector of a notebook output's style: its wrapper's class, twice, so that a rule (``th``, for example)
#: outranks the host's rules of one more class (JupyterLab's ``:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon
#: th`` aligns every cell to the right), which come earlier in the page.
_SCOPE = ".cpts-diag.cpts-diag"


def render(macro_name: str, /, *args, **kwargs) -> str:
    """One macro of ``templates/fragments/notebook.html.j2`` rendered as a plain ``str``."""
    return str(macro(_TEMPLATE, macro_name)(*args, **kwargs))


@cache
def _scoped_parts() -> tuple[str, str]:
    """(opening, closing) text that :func:`notebook_html` puts around a fragment (rendered once)."""
    style = scoped_css(_SCOPE, *PAGE_STYLE_SHEETS, "notebook_output.css")
    marker = "\x00"  # a character no HTML fragment holds
    opening, closing = render("scoped", style, Markup(marker)).split(marker)
    return opening, closing


def notebook_html(fragment: str) -> str:
    """``fragment`` (HTML, already escaped) as a notebook output: with the report's style sheets scoped to it.

    JupyterLab does not load the style sheets that rapport.html inlines: each output carries them, rewritten to
    style only its own content (:func:`cpts_diag.outputs.templating.scoped_css`), so it looks as in the report
    without restyling JupyterLab. :func:`exported_html` takes them off again.
    """
    opening, closing = _scoped_parts()
    return f"{opening}{fragment}{closing}"


def exported_html(output: str) -> str:
    """A notebook output's HTML as an exported page holds it: without what :func:`notebook_html` added (the page
    inlines :data:`PAGE_STYLE_SHEETS` once, in its head). Any other HTML is returned as is.

    Examples
    --------
    >>> exported_html(notebook_html("<p>Texte</p>"))
    '<p>Texte</p>'
    >>> exported_html("<p>Texte</p>")
    '<p>Texte</p>'
    """
    opening, closing = _scoped_parts()
    if output.startswith(opening) and output.endswith(closing):
        return output[len(opening) : len(output) - len(closing)]
    return output


def show_html(markup: str) -> None:
    """Display an HTML fragment (already escaped), styled as in the report (:func:`notebook_html`)."""
    from IPython.display import HTML, display

    display(HTML(notebook_html(markup)))


@overload
def parameter_path(value, default: str | os.PathLike) -> Path: ...
@overload
def parameter_path(value, default: None = None) -> Path | None: ...
def parameter_path(value, default=None) -> Path | None:
    """A notebook file parameter: ``""``/None gives ``default``; otherwise the path, absolute against the folder
    the notebook runs in (an InputError if missing)."""
    path = user_path(value)
    if path is None:
        return None if default is None else Path(default)
    if not path.exists():
        raise InputError("fichier introuvable", str(path))
    return path


def parameter_flag(value, name: str) -> bool:
    """A yes/no notebook parameter: a bool, or its text as papermill's ``-r`` option gives it (« oui », « False »…).

    Examples
    --------
    >>> parameter_flag(True, "x"), parameter_flag("non", "x"), parameter_flag(" Vrai ", "x")
    (True, False, True)
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in ("", "0", "false", "faux", "non", "no", "none"):
        return False
    if text in ("1", "true", "vrai", "oui", "yes"):
        return True
    raise InputError(f"paramètre {name} : True ou False attendu", value=str(value))


def written_href(path) -> str:
    """Link to a file that a notebook writes, relative to the kernel's folder: the notebook's folder in JupyterLab
    (``sorties/carte.html``), the folder of the exported page in a report or synthesis run (``carte.html``, beside
    it, wherever that folder ends up); absolute when no relative path exists."""
    path = Path(path)
    try:
        return Path(os.path.relpath(path.resolve(), Path.cwd().resolve())).as_posix()
    except (OSError, ValueError):  # no current folder, or another drive
        return path.resolve().as_posix()


def _cell(value, decimals: int) -> tuple[str, bool]:
    """(French text, is numeric) of a table cell."""
    if isinstance(value, (bool, np.bool_)):
        return fr.yes_no(value), False
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
    """French HTML table of ``df`` (French column headers, no index), every text escaped.

    ``caption`` goes under the table (source, vintage, level). ``decimals``: decimals of float columns (per column
    with a mapping; integral floats of a column with 0 decimals show as integers). ``max_rows``: show the first
    rows only and say how many are left out. ``highlight_rows``: positions of reference rows (région, France)
    shown in bold. ``numeric``: columns of pre-formatted numbers (text) to align right like numbers.

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
    return render("table", f"cpts-t {table_class}".strip(), list(shown.columns), rows, notes)


def show_table(df: pd.DataFrame, caption: str | None = None, **kwargs) -> None:
    """Display :func:`table_html` of ``df``."""
    show_html(table_html(df, caption, **kwargs))


def show_note(text: str, kind: str = "note") -> None:
    """Display a French note (``kind``: note, warn, fictitious); the text is escaped."""
    cls = {"note": "cpts-note", "warn": "cpts-note cpts-warn", "fictitious": "cpts-fictitious"}.get(kind, "cpts-note")
    show_html(render("note", cls, text))


def show_map(m, height: int = 560) -> None:
    """Display a folium map inline, working offline (an iframe with Leaflet inlined in ``srcdoc``)."""
    from IPython.display import display

    from cpts_diag.outputs.maps.offline import map_html

    display({"text/html": render("iframe", map_html(m), int(height))}, raw=True)


def show_figure(fig) -> None:
    """Display a matplotlib Figure (PNG, embedded in the exported HTML)."""
    from IPython.display import Image, display

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    width = int(min(fig.get_figwidth() * 120, 780))
    display(Image(data=buf.getvalue(), format="png", width=width))


def source_footer(fig, text: str, fictitious: bool = False) -> None:
    """Source line under a figure (space reserved by the constrained layout); red when fictitious."""
    text = "\n".join(textwrap.wrap(fr.figure_text(text), 150))
    fig.supxlabel(text, fontsize=7, color="#c00000" if fictitious else "#444444", x=0.01, ha="left")


def map_figure():
    """(Figure, axes) of a printed map: 9 × 7.6 in, no axis, equal aspect."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 7.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_aspect("equal")
    return fig, ax


def finish_map(fig, ax, handles, title: str, source: str):
    """Legend under the map (two columns), title on the left, source line at the bottom; return ``fig``."""
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=8, frameon=False)
    ax.set_title(fr.figure_text(title), fontsize=12, loc="left")
    source_footer(fig, source)
    return fig


def plot_layer(ax, handles: list, gdf, label: str, linewidth: float, **style) -> None:
    """Plot ``gdf`` with ``style`` (facecolor, edgecolor, hatch) and add its legend patch, of the same style."""
    from matplotlib.patches import Patch

    gdf.plot(ax=ax, linewidth=linewidth, **style)
    handles.append(Patch(label=label, **style))
