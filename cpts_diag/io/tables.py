"""The one reader of the tables users give (CSV, Excel, zip) and the one registry of header aliases.

:func:`open_table_file` opens a file whatever its kind, found from its content:

* text (``.csv``, ``.txt``, any extension): encodings UTF-8 (with or without BOM), UTF-16 with
  BOM (Excel « texte Unicode »), Windows-1252 then Latin-1; delimiter ``;``, ``,``, tab or ``|``;
* Excel workbook (``.xlsx``, ``.xlsm``): merged cells filled with their top-left value, sheet
  names compared without case;
* zip archive holding one table (as downloaded from insee.fr; metadata files are skipped).

A :class:`SizeLimit` refuses, before anything big is read, a file far beyond what its kind can be: a perimeter
listing (:data:`PERIMETER_LIMIT`: 100 MB once uncompressed or a million rows) or another user table
(:data:`USER_TABLE_LIMIT`: 3 GB, three times the largest official file). Zip members and workbook parts
are measured in the archive's directory and read with a cap, so that an archive that lies about its sizes
cannot make the reader decompress more.

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
import math
import re
import warnings as _warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpts_diag import fr_format as fr
from cpts_diag.errors import InputError, format_message
from cpts_diag.text import strip_accents

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
    "patients_17ans_plus": ("patients_17ans_plus", "patients_consommants_17ans_plus", "consommants_17ans_plus"),
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
    """The name at the 0-based index ``wanted`` (an int), else equal to ``wanted``, else equal without case and
    surrounding spaces, else None.

    Examples
    --------
    >>> match_name(["PACA", "Ain"], " ain "), match_name(["PACA"], "Bretagne"), match_name(["PACA", "Ain"], 1)
    ('Ain', None, 'Ain')
    """
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        return names[wanted] if 0 <= wanted < len(names) else None
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


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) of text bytes: UTF-16 (BOM), UTF-8 (optional BOM), Windows-1252, Latin-1.

    Examples
    --------
    >>> decode_text("é".encode("utf-16")), decode_text("é".encode("cp1252")), decode_text(b"\\xef\\xbb\\xbfa")
    (('é', 'utf-16'), ('é', 'cp1252'), ('a', 'utf-8-sig'))
    """
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
    * ``lines``: 1-based line of each row in the file (Excel row number);
    * ``titles``: text of the rows above the header; ``header_line``: 1-based line of the header;
    * ``sheet``: worksheet read (None for a text file);
    * ``overflow``: first line with non-blank cells beyond the header (a misread delimiter or decimal comma);
    * ``delimiter``: that of a text file (None for a workbook).
    """

    columns: list[str]
    rows: list[list] | None
    lines: list[int]
    titles: list[str] = field(default_factory=list)
    header_line: int = 1
    sheet: str | None = None
    frame: Any = field(default=None, repr=False)
    overflow: int | None = None
    delimiter: str | None = None

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


def quoted_list(names) -> str:
    """« a », « b », « c »."""
    return ", ".join(f"« {n} »" for n in names)


def listing(items, limit: int = 5) -> str:
    """The first ``limit`` items, then their number when there are more: ``a, b, c… (8 au total)``."""
    items = [str(i) for i in items]
    return ", ".join(items[:limit]) + (f"… ({len(items)} au total)" if len(items) > limit else "")


# --------------------------------------------------------------------------- size limits


@dataclass(frozen=True)
class SizeLimit:
    """The largest file a reader accepts: ``max_bytes`` once uncompressed, ``max_rows`` lines (None: any number),
    ``what`` the kind of file and ``rule`` the limit, in French, for the message."""

    max_bytes: int
    max_rows: int | None
    what: str
    rule: str

    def error(self, shown: str, size: int | None = None, value=None) -> InputError:
        """The one-line refusal of a file of ``size`` bytes (None: too many rows); ``value``: a zip member."""
        if size is None:
            found = f"plus de {fr.integer(self.max_rows, style=fr.Style.TERMINAL)} lignes"
        else:
            megabytes = fr.number(size / 1e6, 0 if size >= 10e6 else 1, style=fr.Style.TERMINAL)
            found = f"{megabytes} Mo"
        return InputError(
            f"fichier trop volumineux pour {self.what} : {found} ({self.rule}) ; vérifiez qu'il s'agit du bon fichier",
            shown,
            value=value,
        )


#: Perimeter listings: a list of every commune of France has fewer than 40,000 rows (a few MB).
PERIMETER_LIMIT = SizeLimit(
    100_000_000,
    1_000_000,
    "une liste de périmètres",
    "limite : 100 Mo une fois décompressé ou 1 million de lignes ; une liste de toutes les communes de France "
    "en a moins de 40 000",
)
#: The official files users download (INSEE ages, BPE up to about 1 GB, CPAM tables): a guard against archives
#: that decompress without end, far above every real file.
USER_TABLE_LIMIT = SizeLimit(
    3_000_000_000,
    None,
    "un fichier de données",
    "limite : 3 Go une fois décompressé ; la BPE complète fait 1 Go environ",
)


def refuse_oversized(path: Path, shown: str, limit: SizeLimit) -> None:
    """Raise the refusal of ``limit`` when the file at ``path`` is larger than its ``max_bytes`` (nothing read)."""
    size = path.stat().st_size
    if size > limit.max_bytes:
        raise limit.error(shown, size)


# --------------------------------------------------------------------------- reading notes


def _ranges(lines) -> str:
    """Sorted lines as runs: ``4 à 27, 30``; the first six runs, then « … »."""
    runs: list[list[int]] = []
    for line in sorted(set(lines)):
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    texts = [f"{a}" if a == b else f"{a}, {b}" if b == a + 1 else f"{a} à {b}" for a, b in runs[:6]]
    return ", ".join(texts) + (", …" if len(runs) > 6 else "")


class ReadingNotes:
    """Warnings met while reading one file, each kind said once.

    :meth:`add` records a warning (``message``, its line, an example of the repaired value); :meth:`messages`
    gives one French line per kind: as met when met once, else with its count, its lines and its first three
    examples (``noun`` names what is counted, e.g. « codes »).

    Examples
    --------
    >>> notes = ReadingNotes(None)  # usually the file name as given
    >>> for line in (4, 5, 6, 9):
    ...     notes.add("zéro initial restauré", line, f"{line}001 → 0{line}001", noun="codes")
    >>> notes.add("ligne ignorée : ni nom de CPTS ni code commune", 12)
    >>> for message in notes.messages():
    ...     print(message)
    zéro initial restauré pour 4 codes (lignes 4 à 6, 9 ; ex. 4001 → 04001, 5001 → 05001, 6001 → 06001…)
    ligne 12 : ligne ignorée : ni nom de CPTS ni code commune
    """

    def __init__(self, shown: str | None, line_label: str = "ligne"):
        self.shown, self.line_label = shown, line_label
        self._kinds: dict[str, tuple[str | None, list, list]] = {}  # message -> (noun, lines, examples)

    def add(self, message: str, line: int | None = None, example: str | None = None, noun: str | None = None) -> None:
        _, lines, examples = self._kinds.setdefault(message, (noun, [], []))
        lines.append(line)
        examples.append(example)

    def messages(self) -> list[str]:
        out = []
        for message, (noun, lines, examples) in self._kinds.items():
            if len(lines) == 1:
                text = message if examples[0] is None else f"{message} ({examples[0]})"
                out.append(format_message(text, self.shown, lines[0], line_label=self.line_label))
                continue
            known = [line for line in lines if line is not None]
            label = self.line_label if len(set(known)) == 1 else f"{self.line_label}s"
            where = f"{label} {_ranges(known)}" if known else ""
            shown = [e for e in examples if e is not None]
            if noun:
                more = "…" if len(shown) > 3 else ""
                detail = " ; ".join(filter(None, [where, f"ex. {', '.join(shown[:3])}{more}" if shown else None]))
                text = f"{message} pour {len(lines)} {noun}" + (f" ({detail})" if detail else "")
            else:
                text = f"{message} ({len(lines)} fois" + (f" : {where})" if where else ")")
            out.append(format_message(text, self.shown))
        return out


class TableFile:
    """An opened table file (see :func:`open_table_file`): ``path``, ``shown`` (the path as the user gave it, for
    messages) and ``sheets`` (worksheet names of a workbook, None for a text file)."""

    def __init__(self, path: Path, shown: str, limit: SizeLimit, data: bytes = b"", workbook=None):
        self.path, self.shown, self.limit = path, shown, limit
        self._data, self._wb = data, workbook
        # text files only ("" for a workbook): the decoded text, its encoding, where headers are searched
        self._text, self._encoding = decode_text(data) if workbook is None else ("", "")
        self._head = self._text[:_HEAD_CHARS]
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
        if (found := match_name(names, sheet)) is None:
            raise InputError(f"feuille absente ; feuilles du classeur : {quoted_list(names)}", self.shown, value=sheet)
        return found

    # ------------------------------------------------------------------ raw rows
    def _sheet_rows(self, name: str):
        """(row number, values) of a worksheet, merged cells filled with their top-left value."""
        ws, max_rows = self._wb[name], self.limit.max_rows or math.inf
        if (ws.max_row or 0) > max_rows:  # the size the sheet declares
            raise self.limit.error(self.shown)
        top_of: dict[tuple[int, int], tuple[int, int]] = {}
        for c0, r0, c1, r1 in _merged_ranges(ws):
            top_of.update(dict.fromkeys(itertools.product(range(r0, r1 + 1), range(c0, c1 + 1)), (r0, c0)))
        width = max((c for _, c in top_of), default=0)
        tops: dict[tuple[int, int], object] = {}
        for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if r > max_rows:
                raise self.limit.error(self.shown)
            values = list(row)
            if top_of:
                values += [None] * (width - len(values))
                tops.update({(r, c): v for c, v in enumerate(values, start=1) if top_of.get((r, c)) == (r, c)})
                values = [tops.get(top_of[(r, c)]) if (r, c) in top_of else v for c, v in enumerate(values, start=1)]
            yield r, ["" if v is None else v for v in values]

    def header_candidate(self, sheet=None) -> list[str]:
        """Text of the row that looks most like a header, for messages when none is recognised.

        Among the first :data:`HEADER_SEARCH_ROWS` non-blank rows, the first with the most cells that are known
        header names (of any role), then the most distinct texts that are not numbers: a title line above the
        header (one text) or a data row loses to the header a user meant.
        """
        if self._wb is not None:
            rows = self._sheet_rows(self.sheet_name(sheet if sheet is not None else 0))
        else:  # the delimiter that splits the most lines into several cells
            lines = [line for line in self._head.splitlines()[:HEADER_SEARCH_ROWS] if line.strip()]
            delimiter = max(DELIMITERS, key=lambda d: (sum(d in line for line in lines), -DELIMITERS.index(d)))
            rows = _numbered(self._head, delimiter)
        texts = ([cell_text(c) for c in cells] for _, cells in rows)
        candidates = list(itertools.islice((t for t in texts if any(t)), HEADER_SEARCH_ROWS))

        def score(cells):
            distinct = {c for c in cells if c and not re.fullmatch(r"[\d\s.,;:/-]+", c)}
            known = sum(any(find_column([c], role) is not None for role in _ALIAS_KEYS) for c in distinct)
            return known, len(distinct)

        return max(candidates, key=score, default=[])

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
        table = _pandas_table(self, delimiter, found[delimiter], keep) if keep is not None else None
        if table is None:
            try:
                table = _table(_numbered(self._text, delimiter), is_header, keep, None)
            except csv.Error as exc:
                raise InputError(f"fichier CSV illisible ({exc})", self.shown) from None
        if table is not None:
            table.delimiter = delimiter
        return table


def _split_header(rows, is_header):
    """(header line, header texts, titles above it, the rows after it), or None."""
    titles: list[str] = []
    seen = 0
    rows = iter(rows)
    for line, cells in rows:
        texts = [cell_text(c) for c in cells]
        if any(texts) and is_header(texts):
            return line, texts, titles, rows
        titles.append(" ".join(dict.fromkeys(t for t in texts if t)))  # a merged title once
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


def zip_member(path: Path, shown: str, limit: SizeLimit) -> tuple[str, bytes]:
    """The data file of an archive (metadata files of insee.fr are skipped), refused beyond ``limit``: its size in
    the archive's directory is checked first, then it is read with a cap."""
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
                raise InputError(
                    "l'archive contient plusieurs fichiers de données : extrayez celui à utiliser",
                    shown,
                    value=listing(m.filename for m in members),
                )
            info = members[0]
            if info.file_size > limit.max_bytes:
                raise limit.error(shown, info.file_size, info.filename)
            with zf.open(info) as fh:
                data = fh.read(limit.max_bytes + 1)
            if len(data) > limit.max_bytes:
                raise limit.error(shown, len(data), info.filename)
            return info.filename, data
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"fichier illisible : classeur Excel ou archive zip corrompu ({exc})", shown) from None


def _is_workbook(data: bytes, shown: str, limit: SizeLimit, member: str | None = None) -> bool:
    """Whether zip bytes are an Excel workbook (else an archive of tables); a workbook whose parts decompress beyond
    ``limit`` is refused (sizes from the archive's directory; zipfile never yields more than the size declared)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if "[Content_Types].xml" not in zf.namelist():
                return False
            total = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise InputError(f"fichier illisible : classeur Excel ou archive zip corrompu ({exc})", shown) from None
    if total > limit.max_bytes:
        raise limit.error(shown, total, member)
    return True


def _workbook(source, shown: str):
    import openpyxl

    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            return openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception:  # zip, XML or permission errors
        raise InputError("fichier Excel illisible ou corrompu (attendu : classeur .xlsx)", shown) from None


def open_table_file(path, shown: str | None = None, limit: SizeLimit = USER_TABLE_LIMIT) -> TableFile:
    """Open a CSV, Excel workbook or zip archive holding one of them.

    Raises InputError on a missing file, a folder, an empty file, an old Excel 97 (``.xls``), an
    unreadable workbook or archive, binary content, and on a file beyond ``limit`` (its bytes once
    uncompressed, checked before reading them; its lines, or the rows of a worksheet when read).

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
        refuse_oversized(path, shown, limit)
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"fichier illisible ({exc.strerror or exc})", shown) from None
    member = None
    if data.startswith(b"PK") and not _is_workbook(data, shown, limit):
        member, data = zip_member(path, shown, limit)
    name = member or path.name
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.lower().endswith(".xls"):
        raise InputError(
            "format Excel 97 (.xls) non pris en charge : enregistrez le fichier en .xlsx ou en .csv", shown
        )
    if data.startswith(b"PK") and (member is None or _is_workbook(data, shown, limit, member)):
        return TableFile(path, shown, limit, workbook=_workbook(io.BytesIO(data), shown))
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise InputError("fichier Excel illisible ou corrompu (attendu : classeur .xlsx)", shown)
    if not data.strip():
        raise InputError("fichier vide", shown)
    table_file = TableFile(path, shown, limit, data)
    if "\x00" in table_file._head:
        raise InputError("fichier illisible : ce n'est pas un fichier texte CSV", shown)
    if limit.max_rows is not None and table_file._text.count("\n") > limit.max_rows:
        raise limit.error(shown, value=member)
    return table_file
