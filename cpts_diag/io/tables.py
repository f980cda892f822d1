"""The one reader of the tables users give (CSV, Excel, zip) and the one registry of header aliases.

:func:`open_table_file` opens a file whatever its kind, found from its content:

* text (``.csv``, ``.txt``, any extension): encodings UTF-8 (with or without BOM), UTF-16 with
  BOM (Excel « texte Unicode »), Windows-1252 then Latin-1; delimiter ``;``, ``,``, tab or ``|``;
* Excel workbook (``.xlsx``, ``.xlsm``): merged cells filled with their top-left value, sheet
  names compared without case;
* zip archive holding one table (as downloaded from insee.fr; metadata files are skipped).

:meth:`TableFile.read` searches the header among the first 60 non-blank rows, then returns a
:class:`Table` whose every row carries its 1-based line in the file (Excel row number), so that
messages can name it. File kinds (perimeters, INSEE, BPE, CPAM, polygon attributes) are schemas
on top: they say which row is a header and which columns they keep, and find their columns with
:func:`find_column` in :data:`HEADER_ALIASES`.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import warnings as _warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpts_diag.errors import InputError
from cpts_diag.text import strip_accents

__all__ = [
    "HEADER_ALIASES",
    "HEADER_SEARCH_ROWS",
    "Table",
    "TableFile",
    "cell_text",
    "decode_text",
    "find_column",
    "header_key",
    "is_alias",
    "match_name",
    "open_table_file",
]

#: Non-blank rows searched for the header row.
HEADER_SEARCH_ROWS = 60
DELIMITERS = (";", ",", "\t", "|")
_HEAD_CHARS = 1 << 20  # the header is searched in the first MB of a text file

#: Accepted header names by role, in order of preference (compared with :func:`header_key`:
#: case, accents, spaces and punctuation ignored, « nb »/« nombre de » prefixes dropped,
#: « et plus » read « plus », « sans médecin traitant » read « sans MT »).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    # the commune code column, in every kind of file
    "code_commune": (
        "code_insee",
        "code_commune",
        "code_commune_insee",
        "code_insee_commune",
        "code_insee_de_la_commune",
        "codgeo",
        "code_geo",
        "code_geographique",
        "insee",
        "depcom",
        "code_com",
        "com_insee",
        "insee_com",
        "com",
        "code",
    ),
    "nom_commune": (
        "nom_commune",
        "nom_com",
        "commune",
        "libelle_commune",
        "libelle",
        "libgeo",
        "libcom",
        "nom",
        "nom_de_la_commune",
        "name",
    ),
    # perimeter files
    "cpts": (
        "cpts",
        "nom_cpts",
        "cpts_nom",
        "nom_de_la_cpts",
        "nom_de_cpts",
        "nom_cpts_territoire",
        "libelle_cpts",
        "cpts_libelle",
        "intitule_cpts",
        "territoire",
        "nom_territoire",
        "nom_du_territoire",
        "territoire_cpts",
        "nom",
    ),
    "communes": (
        "communes",
        "liste_communes",
        "liste_des_communes",
        "codes_communes",
        "codes_insee",
        "communes_membres",
        "codes_communes_insee",
        "codes",
    ),
    "arrondissement": (
        "arrondissement",
        "arrondissement_municipal",
        "code_arrondissement",
        "code_arrondissement_municipal",
        "arm",
        "code_arm",
        "arrondissements",
        "arrondissements_municipaux",
    ),
    "infracommunal": (
        "infracommunal",
        "infracommunale",
        "infra",
        "perimetre_infracommunal",
        "decoupage_infracommunal",
        "commune_infracommunale",
    ),
    # CPAM / Rézone CPTS table
    "annee": ("annee", "millesime", "an", "annee_donnees"),
    "donnees_fictives": ("donnees_fictives", "fictif", "fictives", "donnees_fictive"),
    "patients_17ans_plus": (
        "patients_17ans_plus",
        "patients_17_ans_plus",
        "patients_consommants_17ans_plus",
        "consommants_17ans_plus",
    ),
    "patients_17ans_plus_sans_mt": (
        "patients_17ans_plus_sans_mt",
        "patients_consommants_17ans_plus_sans_mt",
        "consommants_17ans_plus_sans_mt",
    ),
    "patients_70ans_plus": ("patients_70ans_plus", "patients_consommants_70ans_plus", "consommants_70ans_plus"),
    "patients_70ans_plus_sans_mt": (
        "patients_70ans_plus_sans_mt",
        "patients_consommants_70ans_plus_sans_mt",
        "consommants_70ans_plus_sans_mt",
    ),
    "patients_ald": ("patients_ald", "patients_en_ald", "beneficiaires_ald"),
    "patients_ald_sans_mt": ("patients_ald_sans_mt", "patients_en_ald_sans_mt", "beneficiaires_ald_sans_mt"),
    "beneficiaires_css": ("beneficiaires_css", "patients_css", "beneficiaires_c2s", "patients_c2s"),
    "beneficiaires_css_sans_mt": (
        "beneficiaires_css_sans_mt",
        "patients_css_sans_mt",
        "beneficiaires_c2s_sans_mt",
        "patients_c2s_sans_mt",
    ),
    "population_consommante": (
        "population_consommante",
        "patients_consommants",
        "consommants",
        "population_consommante_tous_ages",
        "patients_consommants_tous_ages",
    ),
}

#: Last aliases of the commune code, used only when no other alias nor prefix matches.
WEAK_CODES = ("com", "code")
#: Prefixes that designate a commune code column when exactly one column starts with them.
_CODE_PREFIXES = ("codeinsee", "codecommune", "codgeo", "depcom")


def header_key(name: object) -> str:
    """Comparison key of a header.

    Examples
    --------
    >>> header_key("Nb patients 17 ans et plus sans médecin traitant")
    'patients17ansplussansmt'
    >>> header_key("Code INSEE"), header_key("code_insee"), header_key("CODE-INSEE")
    ('codeinsee', 'codeinsee', 'codeinsee')
    >>> header_key("Nombre de patients en ALD")
    'patientsenald'
    """
    text = strip_accents(str(name)).lower().replace("\ufeff", "")
    text = re.sub(r"[^a-z0-9+]+", "_", text).replace("+", "_plus")
    text = re.sub(r"_+", "_", text).strip("_")
    text = re.sub(r"^(nombre_de|nombre_d|nombre|nbre|nb|effectifs|effectif)_", "", text)
    text = re.sub(r"(\d+)_?ans", r"\1ans", text)
    text = re.sub(r"_et_plus|_ou_plus", "_plus", text)
    text = re.sub(r"sans_medecin_traitant|sans_mtt|sans_m_t", "sans_mt", text)
    return text.replace("_", "")


_ALIAS_KEYS = {role: [header_key(a) for a in aliases] for role, aliases in HEADER_ALIASES.items()}


def find_column(columns, role: str, exclude=()) -> int | None:
    """Index of the column playing ``role`` (first alias in order of preference), else None.

    For ``code_commune``, a single column whose key starts with ``code insee``, ``code commune``,
    ``codgeo`` or ``depcom`` is accepted before the weak aliases ``com`` and ``code``.

    Examples
    --------
    >>> find_column(["Nom CPTS", "Code INSEE"], "code_commune")
    1
    >>> find_column(["CPTS", "Code INSEE 2024"], "code_commune")
    1
    """
    keys = [header_key(c) if c not in (None, "") else "" for c in columns]

    def first(aliases):
        return next((i for key in aliases for i, k in enumerate(keys) if k == key and i not in exclude), None)

    if role != "code_commune":
        return first(_ALIAS_KEYS[role])
    found = first(_ALIAS_KEYS[role][: -len(WEAK_CODES)])
    if found is None:
        prefixed = [i for i, k in enumerate(keys) if k.startswith(_CODE_PREFIXES) and i not in exclude]
        found = prefixed[0] if len(prefixed) == 1 else first(WEAK_CODES)
    return found


def is_alias(name, role: str) -> bool:
    """Tell whether a header is one of the aliases of ``role``.

    Examples
    --------
    >>> is_alias("DEPCOM", "code_commune"), is_alias("TYPEQU", "code_commune")
    (True, False)
    """
    return header_key(name) in _ALIAS_KEYS[role]


def match_name(names, wanted) -> str | None:
    """The name equal to ``wanted``, else equal without case and surrounding spaces, else None.

    Examples
    --------
    >>> match_name(["PACA", "Ain"], " ain "), match_name(["PACA"], "Bretagne")
    ('Ain', None)
    """
    folded = str(wanted).strip().casefold()
    return next((n for n in names if n == wanted), None) or next(
        (n for n in names if n.strip().casefold() == folded), None
    )


def cell_text(cell) -> str:
    """Text of a cell: stripped, ``""`` for blank, ``2021`` for the Excel number 2021.0."""
    if cell is None:
        return ""
    if isinstance(cell, float):
        if cell != cell:
            return ""
        if cell.is_integer():
            return str(int(cell))
    return str(cell).strip().replace("\ufeff", "")


def decode_text(data: bytes) -> str:
    """Decode text bytes: UTF-16 (BOM), UTF-8 (optional BOM), Windows-1252, Latin-1.

    Examples
    --------
    >>> decode_text("é".encode("utf-16")), decode_text("é".encode("cp1252")), decode_text(b"\\xef\\xbb\\xbfa")
    ('é', 'é', 'a')
    """
    return _decode(data)[0]


def _decode(data: bytes) -> tuple[str, str]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16"), "utf-16"
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


@dataclass
class Table:
    """Rows below a header row.

    * ``columns``: header cells (text, ``""`` for a blank cell);
    * ``rows``: non-blank rows (None when a large CSV was read by pandas: see :meth:`dataframe`), stripped text
      (CSV) or cell values (Excel), ``""`` for blank cells; aligned on ``columns`` (padded), longer when a CSV
      line has more cells than the header (only when every column is kept);
    * ``lines``: 1-based line of each row in the file (Excel row number); an array once read by
      :mod:`cpts_diag.io.userfiles`;
    * ``titles``: text of the rows above the header; ``header_line``: 1-based line of the header;
    * ``sheet``: worksheet read (None for a text file);
    * ``overflow``: first line with non-blank cells beyond the header (a misread delimiter or decimal comma).
    """

    columns: list[str]
    rows: list[list] | None
    lines: list[int]
    titles: list[str] = field(default_factory=list)
    header_line: int = 1
    sheet: str | None = None
    frame: Any = field(default=None, repr=False)
    overflow: int | None = None

    def dataframe(self):
        """The rows as a DataFrame of objects, one column per header cell (extra cells dropped)."""
        if self.frame is None:
            import pandas as pd

            n = len(self.columns)
            self.frame = (
                pd.DataFrame([r[:n] for r in self.rows], columns=self.columns, dtype=object)
                if self.rows
                else pd.DataFrame({c: pd.Series(dtype=object) for c in self.columns})
            )
        return self.frame

    def where(self, message: str) -> str:
        """Prefix ``message`` with the sheet name for multi-sheet workbooks."""
        return f"feuille « {self.sheet} » : {message}" if self.sheet else message


def _listing(names) -> str:
    return ", ".join(f"« {n} »" for n in names)


class TableFile:
    """An opened table file (see :func:`open_table_file`): ``path``, ``shown`` (the path as the user gave it, for
    messages) and ``sheets`` (worksheet names of a workbook, None for a text file)."""

    def __init__(self, path: Path, shown: str, data: bytes = b"", workbook=None):
        self.path, self.shown = path, shown
        self._data, self._wb = data, workbook
        self._text, self._encoding = _decode(data) if workbook is None else (None, None)
        self._head = self._text[:_HEAD_CHARS] if workbook is None else None  # where headers are searched
        self.sheets = list(workbook.sheetnames) if workbook is not None else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self._wb is not None:
            self._wb.close()

    def sheet_name(self, sheet) -> str:
        """The worksheet named ``sheet`` (exact, then case-insensitive) or at 0-based index ``sheet``."""
        names = self.sheets or []
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if 0 <= sheet < len(names):
                return names[sheet]
        elif match_name(names, sheet) is not None:
            return match_name(names, sheet)
        raise InputError(f"feuille absente ; feuilles du classeur : {_listing(names)}", self.shown, value=sheet)

    # ------------------------------------------------------------------ raw rows
    def _sheet_rows(self, name: str):
        """(row number, values) of a worksheet, merged cells filled with their top-left value."""
        ws = self._wb[name]
        top_of: dict[tuple[int, int], tuple[int, int]] = {}
        for c0, r0, c1, r1 in _merged_ranges(ws):
            top_of.update(dict.fromkeys(itertools.product(range(r0, r1 + 1), range(c0, c1 + 1)), (r0, c0)))
        width = max((c for _, c in top_of), default=0)
        tops: dict[tuple[int, int], object] = {}
        for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
            values = list(row)
            if top_of:
                values += [None] * (width - len(values))
                for c, v in enumerate(values, start=1):
                    if top_of.get((r, c)) == (r, c):
                        tops[(r, c)] = v
                values = [tops.get(top_of[(r, c)]) if (r, c) in top_of else v for c, v in enumerate(values, start=1)]
            yield r, ["" if v is None else v for v in values]

    def first_row(self, sheet=None) -> list[str]:
        """Text of the first non-blank row (the header a user meant), for messages."""
        if self._wb is not None:
            rows = self._sheet_rows(self.sheet_name(sheet if sheet is not None else 0))
        else:  # the delimiter that splits the first line into the most cells
            first = next((line for line in self._head.splitlines() if line.strip()), "")
            delimiter = max(DELIMITERS, key=first.count)
            rows = _numbered(self._head, delimiter)
        texts = ([cell_text(c) for c in cells] for _, cells in rows)
        return next((t for t in texts if any(t)), [])

    # ------------------------------------------------------------------ tables
    def read(
        self, is_header: Callable[[list[str]], bool], sheet=None, keep: Callable[[str], bool] | None = None
    ) -> Table | None:
        """Rows below the header row of a text file or worksheet, None when no header is found.

        ``is_header`` tells whether a row (list of cell texts) is the header; ``sheet`` is a worksheet (name,
        compared without case, or 0-based index; default the first one); ``keep`` tells whether a column (header
        text) is kept (default every column, extra cells of longer CSV lines included).
        """
        if self._wb is not None:
            name = self.sheet_name(sheet if sheet is not None else 0)
            return _table(self._sheet_rows(name), is_header, keep, name)
        found = {}  # delimiter -> header found with it
        for delimiter in DELIMITERS:
            try:
                header = _split_header(_numbered(self._head, delimiter), is_header)
            except csv.Error:
                continue
            if header is not None:
                found[delimiter] = header
        if not found:
            return None
        # the earliest header, then the one with the most cells
        delimiter = min(found, key=lambda d: (found[d][0], -len(found[d][1])))
        if keep is not None:
            table = _pandas_table(self, delimiter, found[delimiter], keep)
            if table is not None:
                return table
        try:
            return _table(_numbered(self._text, delimiter), is_header, keep, None)
        except csv.Error as exc:
            raise InputError(f"fichier CSV illisible ({exc})", self.shown) from None


def _split_header(rows, is_header):
    """(header line, header texts, titles above it, the rows after it), or None."""
    titles: list[str] = []
    seen = 0
    rows = iter(rows)
    for line, cells in rows:
        texts = [cell_text(c) for c in cells]
        if any(texts) and is_header(texts):
            return line, texts, titles, rows
        titles.append(" ".join(t for t in texts if t))
        seen += any(texts)
        if seen >= HEADER_SEARCH_ROWS:
            return None
    return None


def _picked(header, keep) -> list[int]:
    return [i for i, name in enumerate(header) if keep is None or (name and keep(name))]


def _table(rows, is_header, keep, sheet) -> Table | None:
    found = _split_header(rows, is_header)
    if found is None:
        return None
    header_line, header, titles, rows = found
    picked = _picked(header, keep)
    width = len(header) if keep is None else max(picked, default=-1) + 1
    out, lines, overflow, n = [], [], None, len(header)
    for line, cells in rows:
        if overflow is None and len(cells) > n and any(str(c).strip() for c in cells[n:]):
            overflow = line
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        row = cells if keep is None else [cells[i] for i in picked]
        row = [c.strip() if isinstance(c, str) else c for c in row]
        if row.count("") != len(row):
            out.append(row)
            lines.append(line)
    columns = header if keep is None else [header[i] for i in picked]
    return Table(columns, out, lines, titles, header_line, sheet, overflow=overflow)


def _pandas_table(tf: TableFile, delimiter: str, found, keep) -> Table | None:
    """Fast path of a large CSV whose columns are selected: the body parsed by pandas below the header ``found``.

    None when pandas cannot give every row its line (a quoted field spanning lines, a line
    longer than the header): the caller then reads the file line by line.
    """
    import pandas as pd

    header_line, header, titles, _ = found
    picked = _picked(header, keep)
    try:
        frame = pd.read_csv(
            io.BytesIO(tf._data),
            sep=delimiter,
            header=None,
            skiprows=header_line,
            names=list(range(len(header))),
            usecols=picked,
            dtype=str,
            engine="c",
            encoding=tf._encoding,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError, UnicodeError, csv.Error):
        return None
    text = tf._text
    n_lines = text.count("\n") + (not text.endswith("\n"))
    if text.count("\r") not in (0, text.count("\r\n")) or len(frame) != n_lines - header_line:
        return None
    frame = frame.fillna("")  # cells are left-stripped only (consumers strip): ~1 s per million rows saved
    frame.columns = [header[i] for i in picked]
    nonblank = (frame != "").any(axis=1).to_numpy() if len(frame.columns) else frame.index == -1
    lines = (pd.RangeIndex(len(nonblank)) + header_line + 1)[nonblank].tolist()
    frame = frame.loc[nonblank].reset_index(drop=True).astype(object)
    return Table(list(frame.columns), None, lines, titles, header_line, None, frame=frame)


def _numbered(text: str, delimiter: str):
    """(line, cells) of a text, line being where each record starts; csv.Error propagates."""
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
    line = 1
    for record in reader:
        yield line, record
        line = reader.line_num + 1


def _merged_ranges(ws) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of the merged cells of a read-only worksheet (no ``merged_cells``)."""
    from openpyxl.utils import range_boundaries

    source = ws._get_source()  # read-only worksheet: the <mergeCell> elements of its XML
    try:
        data = source.read()
    finally:
        source.close()
    refs = re.findall(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+\d+:[A-Z]+\d+)"', data)
    return [range_boundaries(ref.decode("ascii")) for ref in refs]


_META = re.compile(r"(meta|varmod|dictionnaire|doc)")


def _zip_member(path: Path, shown: str) -> tuple[str, bytes]:
    """The data file of an archive (metadata files of insee.fr are skipped)."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [
                info
                for info in zf.infolist()
                if not info.is_dir()
                and info.filename.lower().endswith((".csv", ".txt", ".xlsx", ".xlsm"))
                and not _META.match(Path(info.filename).name.lower())
            ]
            if not members:
                raise InputError("l'archive ne contient aucun fichier CSV ou XLSX de données", shown)
            if len(members) > 1:
                names = [m.filename for m in members]
                shown_names = ", ".join(names[:5]) + (f"… ({len(names)} au total)" if len(names) > 5 else "")
                raise InputError(
                    "l'archive contient plusieurs fichiers de données : extrayez celui à utiliser",
                    shown,
                    value=shown_names,
                )
            return members[0].filename, zf.read(members[0])
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"fichier illisible : classeur Excel ou archive zip corrompu ({exc})", shown) from None


def _workbook(source, shown: str):
    import openpyxl

    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            return openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception:  # zip, XML or permission errors
        raise InputError("fichier Excel illisible ou corrompu (attendu : classeur .xlsx)", shown) from None


def open_table_file(path, shown: str | None = None) -> TableFile:
    """Open a CSV, Excel workbook or zip archive holding one of them.

    Raises InputError on a missing file, a folder, an empty file, an old Excel 97 (``.xls``), an
    unreadable workbook or archive, binary content.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = f.write_bytes("Titre\\n\\ncode|nom\\n04001|Aiglun\\n".encode("utf-16"))
    >>> t = open_table_file(f).read(lambda cells: "code" in cells)
    >>> t.columns, t.rows, t.lines, t.header_line
    (['code', 'nom'], [['04001', 'Aiglun']], [4], 3)
    """
    path = Path(path)
    shown = str(path) if shown is None else shown
    if not path.exists():
        raise InputError("fichier introuvable", shown)
    if path.is_dir():
        raise InputError("c'est un dossier, pas un fichier", shown)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"fichier illisible ({exc.strerror or exc})", shown) from None
    name = path.name
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                is_workbook = "[Content_Types].xml" in zf.namelist()
        except zipfile.BadZipFile as exc:
            raise InputError(f"fichier illisible : classeur Excel ou archive zip corrompu ({exc})", shown) from None
        if not is_workbook:
            name, data = _zip_member(path, shown)
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.lower().endswith(".xls"):
        raise InputError(
            "format Excel 97 (.xls) non pris en charge : enregistrez le fichier en .xlsx ou en .csv", shown
        )
    if data.startswith(b"PK"):
        return TableFile(path, shown, workbook=_workbook(io.BytesIO(data), shown))
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise InputError("fichier Excel illisible ou corrompu (attendu : classeur .xlsx)", shown)
    if not data.strip():
        raise InputError("fichier vide", shown)
    table_file = TableFile(path, shown, data)
    if "\x00" in table_file._head:
        raise InputError("fichier illisible : ce n'est pas un fichier texte CSV", shown)
    return table_file
