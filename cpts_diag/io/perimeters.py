"""Read CPTS perimeters from the files users have and return one canonical long table.

Supported formats (chosen by extension):

* CSV (``.csv``, ``.txt``), Excel (``.xlsx``, ``.xlsm``: first sheet with recognised columns,
  or ``sheet=``) and zip archives holding one of them, read by :mod:`cpts_diag.io.tables`;
* ARS JSON (``.json``): ``{"meta": {...}, "cpts": [{"nom", "communes", "arrondissements"?,
  "infra"?}]}``; a ``.json`` holding a GeoJSON FeatureCollection is read as GeoJSON;
* GeoJSON (``.geojson``) and GeoPackage (``.gpkg``, layer chosen with ``sheet=``);
  geometry is ignored.

Each source is either *long* (one row per territory and commune: columns like
``cpts``, ``code_insee``, ``arrondissement``, ``infracommunal``, ``commune``) or *wide* (one row per
territory with a ``communes`` column listing codes, optional ``arrondissements`` and
``infra`` lists, as in the ARS JSON). Headers are recognised whatever their case,
accents, spaces or punctuation (:data:`cpts_diag.io.tables.HEADER_ALIASES`); rows above
the header are titles.

A long source without a territory column is **one territory** (the list of communes a CPTS
coordinator keeps), named by ``territory=``, else by its title line (« CPTS du Bassin Burgien –
liste des communes » gives « CPTS du Bassin Burgien »), else by its file name.

Conventions of the canonical table
----------------------------------
* An arrondissement municipal code found where a commune code is expected (``13214``) is
  stored as ``code_insee="13055"``, ``arrondissement="13214"``.
* A row with an arrondissement is ``infracommunal`` unless the file says otherwise
  explicitly (the ARS PACA listing flags Marseille arrondissement rows with 1).
* ``nom_commune`` is the commune name as typed in a long source's commune-name column
  (« Commune », « Nom commune », « Libellé »…), None without one. A column headed only « Nom »
  next to the codes is the commune name when most of its values are the COG names of the codes
  on their rows, else the territory name.
* Repeated reading warnings of one kind (a leading zero restored on 24 rows) are one line with
  their count, lines and first examples (:class:`cpts_diag.io.tables.ReadingNotes`).
* A file far beyond any real listing (:data:`cpts_diag.io.tables.PERIMETER_LIMIT`: more than
  100 MB once uncompressed or a million lines) is refused before it is read (GeoJSON, which
  carries polygons: 1 GB; GeoPackage: read without its geometry, not limited).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cpts_diag.codes import (
    CodeFormatError,
    arrondissement_parent,
    is_arrondissement_code,
    normalize_code,
)
from cpts_diag.errors import InputError
from cpts_diag.io.tables import (
    PERIMETER_LIMIT,
    WEAK_CODES,
    ReadingNotes,
    SizeLimit,
    decode_text,
    find_column,
    header_key,
    is_alias,
    match_name,
    open_table_file,
    quoted_list,
    refuse_oversized,
)
from cpts_diag.text import commune_key as _name_key
from cpts_diag.text import fold

#: Columns of :attr:`Perimeters.table`, in order.
COLUMNS = ["cpts", "code_insee", "arrondissement", "infracommunal", "line", "nom_commune"]

#: Extension -> reader kind.
SUPPORTED_EXTENSIONS = {
    **dict.fromkeys((".csv", ".txt", ".xlsx", ".xlsm", ".zip"), "table"),
    ".json": "json",
    ".geojson": "geojson",
    ".gpkg": "gpkg",
}
_FORMATS_FR = (
    "CSV (.csv, .txt), Excel (.xlsx, .xlsm), archive zip (.zip), JSON ARS (.json), GeoJSON (.geojson), "
    "GeoPackage (.gpkg)"
)

_TERRITORY_FR = "cpts, nom cpts, cpts_nom, nom de la cpts, territoire, nom territoire, nom"
_CODE_FR = (
    "code_insee, code insee, codgeo, code commune, insee, depcom, com, code, "
    "ou une colonne « communes » listant les codes"
)

#: GeoJSON perimeters carry polygons: a larger limit than :data:`PERIMETER_LIMIT`.
GEOJSON_LIMIT = SizeLimit(
    1_000_000_000,
    None,
    "un GeoJSON de périmètres",
    "limite : 1 Go ; les contours de toutes les communes de France en font moins de 500 Mo",
)

#: How the name of a one-territory file was found (:attr:`Perimeters.territory_source`).
SOURCE_GIVEN, SOURCE_TITLE, SOURCE_FILE = "--territoire", "ligne de titre", "nom du fichier"

_TRUE = {"1", "oui", "o", "vrai", "true", "x", "yes", "y", "v"}
_FALSE = {"0", "non", "n", "faux", "false", "no", "f", ""}


@dataclass
class Perimeters:
    """Perimeters read from one file.

    * ``table``: columns :data:`COLUMNS`, ``cpts`` (str), ``code_insee`` (str), ``arrondissement`` (str or
      missing), ``infracommunal`` (bool), ``line`` (int: 1-based line or spreadsheet row in the file, or 1-based
      record / feature number), ``nom_commune`` (str as typed, or None);
    * ``warnings``: French notes on repaired values, each naming file and line, repeated ones grouped;
    * ``source``: file read;
    * ``territory_source``: for a file without territory column (one territory), how its name was found:
      « --territoire » (given), « ligne de titre », « nom du fichier »; None for a file with territory column.
    """

    table: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    source: Path | None = None
    territory_source: str | None = None


@dataclass
class Layout:
    """The raw records of a perimeter file before interpretation, and how the file holds them: what a corrected
    copy in the same format needs (:mod:`cpts_diag.io.perimeter_writer`).

    ``kind``: ``"table"`` (CSV, workbook, zip), ``"json"``, ``"geojson"`` or ``"gpkg"``; ``columns``: header cells
    (or keys); ``rows``: (line, values aligned with ``columns``) of every record, as read (merged cells filled);
    ``titles``: the rows above a table's header; ``sheet``: the worksheet read; ``delimiter``: that of a text file.
    Set by :func:`perimeter_layout`: ``mode``, ``"long"`` (one record per territory and commune) or ``"wide"`` (one
    record per territory listing its communes), and ``roles``, role -> column index (``cpts``, ``code``,
    ``communes``, ``arrondissement``, ``infra``, ``name``; None when absent).
    """

    kind: str
    columns: list
    rows: list[tuple[int, list]]
    titles: list[str] = field(default_factory=list)
    sheet: str | None = None
    delimiter: str | None = None
    mode: str | None = None
    roles: dict = field(default_factory=dict)

    @property
    def line_label(self) -> str:
        """What a record is called in messages."""
        return {"table": "ligne", "json": "territoire"}.get(self.kind, "entité")


# --------------------------------------------------------------------------- helpers


def _is_blank(value) -> bool:
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, (list, tuple)) and not value)
    )


def code_or_none(raw) -> str | None:
    """The commune code ``raw`` normalised (:func:`cpts_diag.codes.normalize_code`), None when it is not one."""
    try:
        return normalize_code(raw)[0]
    except CodeFormatError:
        return None


def _text(value) -> str:
    """Display text of a cell (territory names, infra names)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _detect(columns: list) -> dict[str, Any]:
    """Map roles to column indices; ``mode`` is 'long', 'wide' or None; ``name`` the commune-name column of a
    long file (None in a wide one)."""
    roles: dict[str, Any] = {
        role: find_column(columns, role) for role in ("cpts", "communes", "arrondissement", "infracommunal")
    }
    roles["infra"] = roles.pop("infracommunal")
    code = find_column(columns, "code_commune")
    if code is not None and roles["communes"] is not None and header_key(columns[code]) in WEAK_CODES:
        code = None  # a « communes » list wins over a column merely named « code » or « com »
    roles["code"] = code
    roles["mode"] = "long" if code is not None else "wide" if roles["communes"] is not None else None
    taken = {i for i in (roles["cpts"], code) if i is not None}
    roles["name"] = find_column(columns, "nom_commune", exclude=taken) if roles["mode"] == "long" else None
    return roles


def _is_title(cells: list) -> bool:
    """A row of one text (merged cells repeat it) that is not exactly a column name: a title above the header."""
    distinct = {c for c in cells if c}
    return len(distinct) == 1 and not any(is_alias(c, "code_commune") or is_alias(c, "communes") for c in distinct)


def _is_header(cells: list) -> bool:
    """A header: a column of commune codes (with or without a territory column), or a column listing codes with
    the territory column."""
    if _is_title(cells):
        return False
    roles = _detect(cells)
    return roles["mode"] == "long" or (roles["mode"] == "wide" and roles["cpts"] is not None)


def _is_territory_header(cells: list) -> bool:
    """A header with a territory column (preferred among the sheets of a workbook)."""
    return _is_header(cells) and _detect(cells)["cpts"] is not None


def _missing_columns(columns: list) -> str:
    """Message naming the role columns missing among ``columns`` and the columns found."""
    roles = _detect(columns)
    found = quoted_list(_text(c) for c in dict.fromkeys(columns) if not _is_blank(c)) or "aucune"
    if roles["mode"] is None:
        missing = f"colonne des codes communes introuvable (noms acceptés : {_CODE_FR})"
    else:  # a « communes » list without territory names
        missing = (
            f"colonne du nom de la CPTS introuvable (noms acceptés : {_TERRITORY_FR}) : une colonne « communes » "
            "qui liste des codes demande le nom de la CPTS de chaque ligne"
        )
    return f"{missing} ; colonnes trouvées : {found}"


# names of a one-territory file: words of a title that do not name a territory
_GENERIC_WORDS = set(
    "liste listes composition perimetre perimetres commune communes membre membres code codes insee cog mise a jour "
    "maj date version annee au en le du de des la les d l et sa ses son par pour territoire territoires etat situation "
    "actualisation actualise actualisee valide validee arrete janvier fevrier mars avril mai juin "
    "juillet aout septembre octobre novembre decembre".split()
)
_NOT_A_NAME = re.compile(r"^(source|note|remarque|nb|attention|fichier)\b")
_SEPARATORS = re.compile(r"\s+[–—-]\s+|\s*[:|()\[\]]\s*")


def _generic(text: str) -> bool:
    words = re.findall(r"[a-z0-9]+", fold(text))
    return all(w in _GENERIC_WORDS or w.isdigit() for w in words)


def _title_name(titles: list[str]) -> str | None:
    """The territory named by the title lines above the header, without generic words around it.

    « CPTS du Bassin Burgien – liste des communes » -> « CPTS du Bassin Burgien »; « Liste des communes de la CPTS
    Pays de Morlaix (mise à jour 2024) » -> « CPTS Pays de Morlaix »; a title line made only of generic words, or
    a « Source : … » line, names nothing. A line naming a CPTS is preferred.
    """
    names = []
    for title in titles:
        if not title.strip() or _NOT_A_NAME.match(fold(title)):
            continue
        pieces, seps = _SEPARATORS.split(title.strip()), _SEPARATORS.findall(title.strip())
        first = next((i for i, t in enumerate(pieces) if not _generic(t)), None)
        if first is None:
            continue
        last = max(i for i, t in enumerate(pieces) if not _generic(t))
        name = "".join(pieces[i] + (seps[i] if i < last else "") for i in range(first, last + 1)).strip()
        cpts = re.search(r"\bCPTS\b", name, re.IGNORECASE)
        if cpts and cpts.start() and _generic(name[: cpts.start()]):
            name = name[cpts.start() :]  # « Liste des communes de la CPTS X » -> « CPTS X »
        names.append(name)
    return next((n for n in names if re.search(r"\bcpts\b", fold(n))), names[0] if names else None)


def _file_name(path: Path) -> str:
    """Readable territory name from a file name, generic words around it dropped as in a title:
    « cpts_bassin_burgien » -> « CPTS bassin burgien », « Liste_communes_CPTS_Bresse » -> « CPTS Bresse »."""
    name = path.stem.replace("_", " ")
    if " " not in name.strip():
        name = name.replace("-", " ")
    name = re.sub(r"\bcpts\b", "CPTS", " ".join(name.split()) or path.name, flags=re.IGNORECASE)
    return _title_name([name]) or name


def _item_code(item):
    """Code of a list item given as an object (``{"code": "04001", "nom": ...}``)."""
    if isinstance(item, dict):
        i = find_column(list(item), "code_commune")
        if i is not None:
            return list(item.values())[i]
    return item


def _split_list(value, codes: bool) -> list:
    """Items of a list cell: JSON list, or text separated by , ; | (or spaces for codes)."""
    if _is_blank(value):
        return []
    if isinstance(value, (list, tuple)):
        return [_item_code(v) if codes else v for v in value if not _is_blank(v)]
    if not isinstance(value, str):
        return [value]
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return _split_list(parsed, codes)
        text = text.strip("[]")
    items = re.split(r"[,;|\n]", text) if re.search(r"[,;|\n]", text) or not codes else text.split()
    return [i.strip().strip("'\"").strip() for i in items if i.strip().strip("'\"").strip()]


def _parse_flag(value) -> bool | None:
    """Infra-communal flag: True/False, None when blank; raises ValueError otherwise."""
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if _is_blank(value):
        return None
    if isinstance(value, (int, float)) and value in (0, 1):  # bool included
        return bool(value)
    key = header_key(value) if not isinstance(value, (int, float)) else str(value)
    if key in _TRUE | _FALSE:
        return key in _TRUE
    raise ValueError(value)


# --------------------------------------------------------------------------- readers


def _read_table(p: Path, shown: str, sheet, notes: ReadingNotes) -> Layout:
    """Records of a CSV, workbook or zip (first worksheet with recognised columns, or ``sheet``).

    Among several worksheets, the first with a territory column is read, else the first with commune codes
    (one territory; the other sheets that have codes are named in a warning).
    """
    with open_table_file(p, shown, PERIMETER_LIMIT) as tf:
        names = tf.sheets or [None]
        wanted = names if sheet is None else [sheet]
        tests = (_is_territory_header, _is_header) if len(wanted) > 1 else (_is_header,)
        table = next((t for is_header in tests for name in wanted if (t := tf.read(is_header, name)) is not None), None)
        if table is None:
            message = _missing_columns(tf.header_candidate(names[0] if sheet is None else sheet))
            if tf.sheets and sheet is not None:
                message += f" (feuille « {tf.sheet_name(sheet)} »)"
            elif len(names) > 1:
                message += f" (feuille « {names[0]} » ; choisissez une feuille parmi : {quoted_list(names)})"
            raise InputError(message, shown)
        if len(wanted) > 1 and find_column(table.columns, "cpts") is None:
            others = [n for n in names if n != table.sheet and tf.read(_is_header, n) is not None]
            if others:
                notes.add(
                    f"seule la feuille « {table.sheet} » est lue, comme un seul territoire ; les feuilles "
                    f"{quoted_list(others)} ont aussi des codes communes (--feuille pour en choisir une)"
                )
    if sheet is None and table.sheet is not None and table.sheet != names[0]:
        notes.add(
            f"feuille « {table.sheet} » utilisée : la première feuille « {names[0]} » n'a pas de "
            "colonnes de CPTS et de codes communes"
        )
    return Layout(
        "table", table.columns, list(zip(table.lines, table.rows)), table.titles, table.sheet, table.delimiter
    )


def _load_json(p: Path, shown: str, geojson: bool):
    """The parsed JSON document of a perimeter file (size-limited, any text encoding)."""
    try:
        refuse_oversized(p, shown, GEOJSON_LIMIT if geojson else PERIMETER_LIMIT)
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"fichier illisible ({exc.strerror or exc})", shown) from None
    if not data.strip():
        raise InputError("fichier vide", shown)
    try:
        return json.loads(decode_text(data)[0])
    except ValueError as exc:
        raise InputError("fichier JSON illisible (syntaxe invalide)", shown, getattr(exc, "lineno", None)) from None


def json_records(obj, shown: str, geojson: bool) -> tuple[list, bool]:
    """(the list of records in a parsed perimeter JSON, True when they are GeoJSON features): the features of a
    GeoJSON; else a top-level list, or the list under « cpts », « territoires », « perimetres », or the only list
    of objects."""
    if geojson and not isinstance(obj, dict):
        raise InputError("GeoJSON invalide : objet FeatureCollection attendu", shown)
    if geojson or (isinstance(obj, dict) and obj.get("type") in ("FeatureCollection", "Feature")):
        features = [obj] if obj.get("type") == "Feature" else obj.get("features")  # a Feature: one territory
        if not isinstance(features, list):
            raise InputError("GeoJSON invalide : liste « features » absente", shown)
        for i, feature in enumerate(features, start=1):
            if not isinstance(feature, dict):
                raise InputError("entité GeoJSON invalide", shown, i, line_label="entité")
        return features, True
    if isinstance(obj, list):
        return obj, False
    if isinstance(obj, dict):
        keys = ("cpts", "territoires", "perimetres")
        items = next((v for k, v in obj.items() if header_key(k) in keys and isinstance(v, list)), None)
        if items is None:
            lists = [v for v in obj.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
            items = lists[0] if len(lists) == 1 else None
        if items is None:
            raise InputError(
                'structure JSON non reconnue : attendu {"cpts": [{"nom": ..., "communes": [...]}, ...]}', shown
            )
        return items, False
    raise InputError("structure JSON non reconnue : attendu un objet ou une liste", shown)


def _read_json(p: Path, shown: str, geojson: bool) -> Layout:
    """Records of an ARS JSON listing, or of the feature properties of a GeoJSON (``geojson`` or found in a JSON)."""
    items, features = json_records(_load_json(p, shown, geojson), shown, geojson)
    layout = Layout("geojson" if features else "json", [], [])
    if features:
        items = [feature.get("properties") or {} for feature in items]
    for i, item in enumerate(items, start=1):
        if item is not None and not isinstance(item, dict):
            raise InputError("objet JSON attendu", shown, i, str(item)[:40], line_label=layout.line_label)
    layout.columns = list(dict.fromkeys(k for item in items if item for k in item))
    layout.rows = [(i, [(item or {}).get(c) for c in layout.columns]) for i, item in enumerate(items, start=1)]
    return layout


def _read_gpkg(p: Path, shown: str, sheet) -> Layout:
    import pyogrio

    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(p)]
    except Exception:
        raise InputError("GeoPackage illisible ou corrompu", shown) from None
    if not layers:
        raise InputError("GeoPackage sans couche", shown)
    layer = layers[0] if sheet is None else match_name(layers, sheet)
    if layer is None:
        raise InputError(f"couche introuvable ; couches du GeoPackage : {quoted_list(layers)}", shown, value=sheet)
    try:
        df = pyogrio.read_dataframe(p, layer=layer, read_geometry=False)
    except Exception:
        raise InputError(f"GeoPackage illisible (couche « {layer} »)", shown) from None
    df = df.drop(columns=[c for c in df.columns if c == "geometry"])
    columns = [str(c) for c in df.columns]
    rows = [(i, list(vals)) for i, vals in enumerate(df.itertuples(index=False, name=None), start=1)]
    return Layout("gpkg", columns, rows)


# --------------------------------------------------------------------------- interpretation


def _cells(values: list, roles: dict) -> dict:
    """Value of the column playing each role in a record (None when the file has no such column)."""
    return {
        r: None if roles[r] is None else values[roles[r]]
        for r in ("cpts", "code", "communes", "arrondissement", "infra", "name")
    }


class _Builder:
    """Turn records into canonical rows; ``territory`` names every row of a file without territory column."""

    def __init__(self, shown: str, names_by_code, notes: ReadingNotes):
        self.shown, self._names, self.notes = shown, names_by_code, notes
        self.territory: str | None = None
        self.rows: list[tuple] = []

    def error(self, message, line, value=None) -> InputError:
        return InputError(message, self.shown, line, value, line_label=self.notes.line_label)

    @property
    def names(self) -> Mapping[str, str]:
        if self._names is None:
            from cpts_diag.reference import load_reference

            self._names = load_reference().names
        return self._names

    def code(self, raw, line, what="code commune") -> str:
        try:
            code, note = normalize_code(raw)
        except CodeFormatError as exc:
            raise self.error(f"{what} invalide : {exc.reason}", line, raw) from None
        if note:  # « zéro initial restauré (1001 → 01001) »: grouped by kind, the value as example
            kind, _, example = note.partition(" (")
            self.notes.add(kind, line, example.removesuffix(")") or None, noun="codes")
        return code

    def commune(self, raw, line) -> tuple[str, str | None]:
        """(commune, arrondissement or None) of a code: an arrondissement code stands for its commune."""
        code = self.code(raw, line)
        parent = arrondissement_parent(code)
        return (parent, code) if parent is not None else (code, None)

    def arrondissement(self, raw, line) -> str:
        code = self.code(raw, line, "arrondissement municipal")
        if not is_arrondissement_code(code):
            raise self.error(
                "arrondissement municipal invalide (attendu : Paris 75101–75120, "
                "Lyon 69381–69389 ou Marseille 13201–13216)",
                line,
                raw,
            )
        return code

    # long: one record per (territory, commune)
    def long(self, line, values, roles) -> None:
        cell = _cells(values, roles)
        name, raw_code, raw_arr = cell["cpts"], cell["code"], cell["arrondissement"]
        if self.territory is not None:
            if _is_blank(raw_code) and _is_blank(raw_arr):
                if not all(_is_blank(v) for v in values):
                    self.notes.add("ligne ignorée : pas de code commune", line)
                return
            name = self.territory
        if _is_blank(name) and _is_blank(raw_code) and _is_blank(raw_arr):
            if not all(_is_blank(v) for v in values):
                self.notes.add("ligne ignorée : ni nom de CPTS ni code commune", line)
            return
        if _is_blank(name):
            raise self.error("code commune sans nom de CPTS", line, raw_code if not _is_blank(raw_code) else raw_arr)
        if _is_blank(raw_code):
            raise self.error("nom de CPTS sans code commune", line, _text(name))
        code, arr = self.commune(raw_code, line)
        if not _is_blank(raw_arr):
            given = self.arrondissement(raw_arr, line)
            if arrondissement_parent(given) != code or (arr is not None and arr != given):
                raise self.error(f"arrondissement municipal hors de la commune {code}", line, raw_arr)
            arr = given
        try:
            flag = _parse_flag(cell["infra"])
        except ValueError:
            raise self.error(
                "valeur infracommunale non reconnue (attendu : oui/non, 1/0, vrai/faux, x ou vide)", line, cell["infra"]
            ) from None
        if flag is None:
            flag = arr is not None
        typed = None if roles["name"] is None or _is_blank(cell["name"]) else _text(cell["name"])
        self.rows.append((_text(name), code, arr, flag, line, typed))

    # wide: one record per territory with lists
    def wide(self, line, values, roles) -> None:
        cell = _cells(values, roles)
        name = cell["cpts"]
        i = roles["communes"]
        # the last column takes the extra cells of a delimited row: more codes ("A;04001;04009")
        cells = values[i:] if i == roles["width"] - 1 else values[i : i + 1]
        communes = [v for c in cells for v in _split_list(c, codes=True)]
        arr_items = _split_list(cell["arrondissement"], codes=True)
        infra_items = _split_list(cell["infra"], codes=False)
        if _is_blank(name) and not communes and not arr_items:
            if not all(_is_blank(v) for v in values):
                self.notes.add("enregistrement ignoré : ni nom de CPTS ni communes", line)
            return
        if _is_blank(name):
            raise self.error("liste de communes sans nom de CPTS", line, ", ".join(map(str, communes[:5])))
        name = _text(name)
        if not communes and not arr_items:
            raise self.error("CPTS sans aucune commune", line, name)
        entries = [self.commune(raw, line) for raw in communes]
        pending = [self.arrondissement(raw, line) for raw in arr_items]
        expanded: list[tuple[str, str | None]] = []
        for code, arr in entries:  # a commune listed with its arrondissements: one row per arrondissement
            mine = [a for a in pending if arr is None and arrondissement_parent(a) == code]
            expanded += [(code, a) for a in mine] or [(code, arr)]
            pending = [a for a in pending if a not in mine]
        expanded.extend((arrondissement_parent(a) or a, a) for a in pending)  # pending: arrondissements
        infra_codes = self.infra_codes(infra_items, {c for c, _ in expanded}, line)
        self.rows += [(name, code, arr, arr is not None or code in infra_codes, line, None) for code, arr in expanded]

    def infra_codes(self, items: list, codes: set[str], line) -> set[str]:
        """Codes of the territory's communes named in an ``infra`` list."""
        out: set[str] = set()
        for item in items:
            if (code := code_or_none(item)) in codes:
                out.add(code)
                continue
            key = _name_key(item)
            hits = {c for c in codes if key and _name_key(self.names.get(c, "")) == key}
            if not hits:
                raise self.error("commune déclarée infracommunale absente des communes de la CPTS", line, _text(item))
            out |= hits
        return out


def _names_column_holds_communes(records: Layout, roles: dict, names: Mapping[str, str]) -> bool:
    """Whether a column headed like both a territory and a commune name (« Nom ») holds commune names: more than
    half of its values, on rows with a valid code, are the COG name of that code (case, accents, « St » ignored)."""
    checked = matched = 0
    for _, values in records.rows:
        typed, code = values[roles["cpts"]], code_or_none(values[roles["code"]])
        if code is not None and not _is_blank(typed):
            checked += 1
            matched += _name_key(names.get(code, "")) == _name_key(typed)
    return matched * 2 > checked


def _one_territory(records: Layout, path: Path, territory: str | None) -> tuple[str, str]:
    """(name, how it was found) of a file without territory column."""
    if territory is not None and str(territory).strip():
        return str(territory).strip(), SOURCE_GIVEN
    title = _title_name(records.titles)
    return (title, SOURCE_TITLE) if title else (_file_name(path), SOURCE_FILE)


def _roles(records: Layout, shown: str, builder: _Builder) -> dict:
    """The role of each column of ``records`` (see :func:`_detect`), ``mode`` and ``width``."""
    roles = _detect(records.columns)
    roles["width"] = len(records.columns)
    if roles["mode"] is None or (roles["mode"] == "wide" and roles["cpts"] is None):
        raise InputError(_missing_columns(records.columns), shown)
    if (
        roles["mode"] == "long"
        and roles["cpts"] is not None
        and roles["name"] is None
        and is_alias(records.columns[roles["cpts"]], "nom_commune")
        and _names_column_holds_communes(records, roles, builder.names)
    ):  # « Nom ; Code » listing commune names: one territory
        roles["cpts"], roles["name"] = None, roles["cpts"]
    return roles


def _build(
    records: Layout, path: Path, shown: str, names_by_code, notes: ReadingNotes, territory: str | None
) -> tuple[pd.DataFrame, str | None]:
    """The canonical table of ``records``, and how a one-territory file was named (None for the others)."""
    builder = _Builder(shown, names_by_code, notes)
    roles = _roles(records, shown, builder)
    source = None
    if roles["cpts"] is None:
        builder.territory, source = _one_territory(records, path, territory)
        if source != SOURCE_GIVEN:
            origin = "la ligne de titre" if source == SOURCE_TITLE else "le nom du fichier"
            notes.add(
                "pas de colonne du nom de la CPTS : le fichier est lu comme un seul territoire, nommé "
                f"« {builder.territory} » d'après {origin} (--territoire pour le nommer autrement)"
            )
    step = builder.long if roles["mode"] == "long" else builder.wide
    for line, values in records.rows:
        step(line, values, roles)
    if not builder.rows:
        raise InputError("aucune commune trouvée dans le fichier", shown)
    dtypes = ("str", "str", "str", bool, "int64", object)
    columns = zip(*builder.rows)
    return pd.DataFrame({c: pd.Series(v, dtype=t) for c, v, t in zip(COLUMNS, columns, dtypes)}), source


def _records(p: Path, shown: str, sheet, notes: ReadingNotes) -> Layout:
    """The raw records of a perimeter file, read as its extension says."""
    if not p.exists():
        raise InputError("fichier introuvable", shown)
    if p.is_dir():
        raise InputError("c'est un dossier, pas un fichier", shown)
    kind = SUPPORTED_EXTENSIONS.get(p.suffix.lower())
    if kind is None:
        raise InputError(
            f"format de fichier non pris en charge ; formats acceptés : {_FORMATS_FR}",
            shown,
            value=p.suffix or "(sans extension)",
        )
    if kind == "table":
        return _read_table(p, shown, sheet, notes)
    if kind == "gpkg":
        return _read_gpkg(p, shown, sheet)
    return _read_json(p, shown, geojson=kind == "geojson")


def perimeter_layout(path: str | os.PathLike, sheet=None, names_by_code: Mapping[str, str] | None = None) -> Layout:
    """How the perimeter file ``path`` holds its rows (:class:`Layout`), found as :func:`read_perimeters` finds
    them (same header, sheet, columns and roles)."""
    shown = os.fspath(path)
    notes = ReadingNotes(shown)
    layout = _records(Path(path), shown, sheet, notes)
    roles = _roles(layout, shown, _Builder(shown, names_by_code, notes))
    layout.mode = roles["mode"]
    layout.roles = {k: v for k, v in roles.items() if k not in ("mode", "width")}
    return layout


def read_perimeters(
    path: str | os.PathLike,
    sheet: str | int | None = None,
    names_by_code: Mapping[str, str] | None = None,
    territory: str | None = None,
) -> Perimeters:
    """Read CPTS perimeters from a CSV, Excel, ARS JSON, GeoJSON or GeoPackage file (format by extension).

    ``sheet`` is the Excel sheet (name, compared without case, or 0-based index) or GeoPackage layer; default the
    first one (for Excel, when the first sheet has no recognised columns, the first sheet that has them is used with
    a warning); ignored for the other formats. ``names_by_code`` (current commune names by code) matches the commune
    *names* of ``infra`` lists and tells whether a column headed « Nom » holds commune or territory names; default
    the COG reference (:func:`cpts_diag.reference.load_reference`), loaded only when needed. ``territory`` names the
    single territory of a file without territory column (default: its title line, else its file name; ignored for a
    file with a territory column). Returns :class:`Perimeters`.

    Raises InputError (one French line naming the file, line and value) on a missing, unreadable, unsupported or
    oversized file, unrecognised columns, a row with a territory but no code (or the reverse), an invalid code, an
    unknown infra name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = f.write_text("CPTS;Code INSEE\\nCPTS A;1001\\n", encoding="cp1252")
    >>> p = read_perimeters(f)
    >>> p.table[["cpts", "code_insee", "line"]].values.tolist()
    [['CPTS A', '01001', 2]]
    >>> p.warnings[0].endswith("ligne 2 : zéro initial restauré (1001 → 01001)")
    True
    >>> g = f.with_name("liste.csv")
    >>> _ = g.write_text("CPTS du Bassin Burgien – liste des communes\\nCommune;Code INSEE\\nBoz;1057\\n")
    >>> p = read_perimeters(g)
    >>> p.table[["cpts", "code_insee", "nom_commune"]].values.tolist(), p.territory_source
    ([['CPTS du Bassin Burgien', '01057', 'Boz']], 'ligne de titre')
    """
    shown = os.fspath(path)
    p = Path(path)
    notes = ReadingNotes(shown)
    records = _records(p, shown, sheet, notes)
    notes.line_label = records.line_label
    table, source = _build(records, p, shown, names_by_code, notes, territory)
    return Perimeters(table=table, warnings=notes.messages(), source=p, territory_source=source)


def ignored_name_note(perimeters: Perimeters, territory: str | None) -> str | None:
    """The French remark when a territory name was given to name a file that has a territory column (and so
    was not used), else None.

    Examples
    --------
    >>> import pandas as pd
    >>> p = Perimeters(pd.DataFrame({"cpts": ["A", "B"]}))
    >>> ignored_name_note(p, "CPTS X")
    'remarque : --territoire ignoré : le fichier a une colonne de CPTS (2 territoires)'
    """
    if not territory or perimeters.territory_source is not None:
        return None
    n = perimeters.table["cpts"].nunique()
    return f"remarque : --territoire ignoré : le fichier a une colonne de CPTS ({n} territoire{'s' if n > 1 else ''})"
