"""Loaders of the official files users download themselves.

Three kinds of files are not open at commune level and come from the user, in their official layouts (see
``docs/fichiers_utilisateur.md`` for the French user documentation): the INSEE population by age
(:func:`read_insee_ages`), the INSEE Base permanente des équipements (:func:`read_bpe`, :func:`read_bpe_gp`) and the
commune table of a CPAM or of Rézone CPTS (:func:`read_cpam_table`).

Every loader reads codes as text, normalises them with
:func:`cpts_diag.codes.normalize_code`, raises :class:`cpts_diag.errors.InputError`
(French, one line, naming file, line and value) on anything it cannot use, and collects
non-fatal French notes in ``.attrs["warnings"]`` (or ``CpamTable.warnings``).
Files are read by :mod:`cpts_diag.io.tables` (CSV in any usual encoding and delimiter, with
decimal commas; workbooks; a ``.zip`` as downloaded from insee.fr holding one data file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag.codes import CodeFormatError, normalize_code
from cpts_diag.errors import InputError
from cpts_diag.io.tables import (
    HEADER_ALIASES,
    Table,
    cell_text,
    find_column,
    header_key,
    is_alias,
    listing,
    open_table_file,
)
from cpts_diag.masked import CountFormatError, parse_count_column
from cpts_diag.professions import BPE_OTHER_EQUIPMENTS, BPE_PROFESSIONS, GP_EQUIPMENT
from cpts_diag.text import strip_accents

#: Output columns of :func:`read_insee_ages` (inhabitants, INSEE non-integer estimates).
AGE_COLUMNS = ("pop_total", "pop_0_14", "pop_15_29", "pop_30_44", "pop_45_59", "pop_60_74", "pop_75p")

#: Count columns of the CPAM table, in documentation order.
CPAM_COUNT_COLUMNS = (
    "patients_17ans_plus",
    "patients_17ans_plus_sans_mt",
    "patients_70ans_plus",
    "patients_70ans_plus_sans_mt",
    "patients_ald",
    "patients_ald_sans_mt",
    "beneficiaires_css",
    "beneficiaires_css_sans_mt",
    "population_consommante",
)

#: Header key (:func:`cpts_diag.io.tables.header_key`) of every accepted name of a CPAM column -> the column.
_ALIAS_INDEX = {
    header_key(alias): role
    for role in ("code_commune", "nom_commune", "annee", "donnees_fictives", *CPAM_COUNT_COLUMNS)
    for alias in HEADER_ALIASES[role]
}
_TRUE_WORDS = {"oui", "o", "1", "vrai", "true", "x", "yes", "y", "fictif", "fictives", "fictive"}


# --------------------------------------------------------------------------- helpers


def _raw(table: Table, path: Path) -> Table:
    """The table; InputError on a line with more cells than the header."""
    if table.overflow is not None:
        raise InputError(
            f"fichier illisible : plus de cellules que de colonnes d'en-tête ({len(table.columns)})",
            path=path,
            line=table.overflow,
        )
    return table


def _is_code_column(name: str) -> bool:
    """Whether :func:`find_column` may pick the header ``name`` as the commune code (alias or ``Code INSEE …``)."""
    return find_column([name], "code_commune") is not None


def _code_column(columns: list[str], table: Table, path: Path) -> str:
    """The commune code column among the kept ``columns``; InputError when there is none."""
    found = find_column(columns, "code_commune")
    if found is None:
        raise InputError(table.where("colonne du code commune introuvable"), path=path, line=table.header_line)
    return columns[found]


def _read_tables(path, is_header, keep, expected, choose=lambda names: [], sheet=None) -> list[Table]:
    """Tables of a CSV, a zip or the chosen worksheets of a workbook (see :mod:`cpts_diag.io.tables`)."""
    path = Path(path)
    with open_table_file(path) as tf:
        if tf.sheets is None:
            table = tf.read(is_header, keep=keep)
            if table is None:
                raise InputError(f"ligne d'en-tête introuvable : {expected}", path=path)
            return [_raw(table, path)]
        names = tf.sheets
        chosen = [tf.sheet_name(sheet)] if sheet is not None else choose(names)
        wanted, strict = (chosen, True) if chosen else (names, False)
        tables = []
        for name in wanted:
            table = tf.read(is_header, name, keep)
            if table is None:
                if strict:
                    raise InputError(f"feuille « {name} » : ligne d'en-tête introuvable : {expected}", path=path)
                continue
            tables.append(_raw(table, path))
            if not strict:
                break  # no sheet named as expected: the first sheet with a header
    if not tables:
        raise InputError(f"ligne d'en-tête introuvable dans les feuilles ({listing(names)}) : {expected}", path=path)
    if len(tables) == 1 and len(names) == 1:
        tables[0].sheet = None  # single sheet: no need to name it
    return tables


class _Warnings(list):
    """Warning list that folds repeated restored-zero notes into one line."""

    def __init__(self):
        super().__init__()
        self.restored: list[str] = []

    def finish(self) -> list[str]:
        restored = (
            f"zéro initial restauré pour {len(self.restored)} code(s) commune (ex. : {listing(self.restored, 3)})"
        )
        return ([restored] if self.restored else []) + list(self)


def _normalise_codes(
    values: pd.Series, lines: np.ndarray, table: Table, path: Path, column: str, warnings: _Warnings
) -> pd.Series:
    """Normalise codes (each distinct value once); InputError on the first bad one."""
    cache: dict = {}
    out = []
    for raw, line in zip(values.to_numpy(), lines):
        key = (type(raw), raw)
        if key not in cache:
            try:
                code, note = normalize_code(raw)
            except CodeFormatError as exc:
                raise InputError(
                    table.where(f"colonne « {column} » : code commune invalide ({exc.reason})"),
                    path=path,
                    line=int(line),
                    value=raw,
                ) from None
            if note and note.startswith("zéro"):
                warnings.restored.append(f"{cell_text(raw)} → {code}")
            elif note:
                warnings.append(table.where(f"colonne « {column} », ligne {int(line)} : {note}"))
            cache[key] = code
        out.append(cache[key])
    return pd.Series(out, index=values.index, dtype=str)


def _check_duplicates(codes: pd.Series, lines: np.ndarray, table: Table, path: Path, what: str = "commune") -> None:
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        first_code = codes[dup].iloc[0]
        where = lines[(codes == first_code).to_numpy()]
        raise InputError(
            table.where(f"{what} présente plusieurs fois (lignes {listing(int(x) for x in where)})"),
            path=path,
            line=int(where[-1]),
            value=first_code,
        )


def _parse_numbers(
    raw: pd.Series, lines: np.ndarray, table: Table, path: Path, column: str, default_threshold: float = 10
) -> pd.DataFrame:
    try:
        return parse_count_column(raw, default_threshold=default_threshold)
    except CountFormatError as exc:
        pos = raw.index.get_loc(exc.position)
        raise InputError(
            table.where(f"colonne « {column} » : {exc.reason}"), path=path, line=int(lines[pos]), value=exc.value
        ) from None


# ----------------------------------------------------------------------- INSEE ages
_VINTAGE = re.compile(r"^P(\d{2})_POP$")
_AGE_SOURCES = {
    "pop_total": [["POP"]],
    "pop_0_14": [["POP0014"]],
    "pop_15_29": [["POP1529"]],
    "pop_30_44": [["POP3044"]],
    "pop_45_59": [["POP4559"]],
    "pop_60_74": [["POP6074"]],
    "pop_75p": [["POP75P"], ["POP7589", "POP90P"]],
}
_AGE_OPTIONAL = {
    "pop_0_19": [["POP0019"], ["H0019", "F0019"]],
    "pop_65p": [["POP65P"], ["H65P", "F65P"], ["POP6579", "POP80P"]],
}


def _is_ages_header(cells: list[str]) -> bool:
    return find_column(cells, "code_commune") is not None and any(_VINTAGE.match(c.strip().upper()) for c in cells)


def _choose_ages_sheets(names: list[str]) -> list[str]:
    com = [n for n in names if re.match(r"^(COM|ARM)(_|$)", n.strip().upper())]
    return com or [n for n in names if n.strip().upper().startswith("IRIS")]


def _ages_one(table: Table, path: Path, warnings: _Warnings) -> tuple[pd.DataFrame, str, str]:
    frame, lines = table.dataframe(), np.asarray(table.lines, dtype=int)
    columns = list(frame.columns)
    cols = {c.upper(): c for c in columns}
    iris = "IRIS" in cols
    code_col = _code_column(columns, table, path)
    years = {(1900 if int(m[1]) >= 50 else 2000) + int(m[1]): m[1] for m in map(_VINTAGE.match, cols) if m}
    year = max(years)
    prefix = f"P{years[year]}_"
    picked: dict[str, list[str]] = {}
    missing = []
    for target, options in {**_AGE_SOURCES, **_AGE_OPTIONAL}.items():
        option = next((o for o in options if all(prefix + v in cols for v in o)), None)
        if option is not None:
            picked[target] = [cols[prefix + v] for v in option]
        elif target in _AGE_SOURCES:
            missing.append(" ou ".join("+".join(prefix + v for v in o) for o in options))
    if missing:
        raise InputError(table.where(f"colonnes du millésime {year} manquantes : {', '.join(missing)}"), path=path)
    out = pd.DataFrame(index=frame.index)
    n_blank = 0
    for target, sources in picked.items():
        parsed = [_parse_numbers(frame[col], lines, table, path, col) for col in sources]
        n_blank += sum(int(p["masked"].sum()) for p in parsed)
        out[target] = sum((p["value"] for p in parsed[1:]), parsed[0]["value"])
    if n_blank:
        warnings.append(table.where(f"{n_blank} valeur(s) vide(s) ou masquée(s) lue(s) comme inconnues"))
    codes = _normalise_codes(frame[code_col], lines, table, path, code_col, warnings)
    name_i = find_column(columns, "nom_commune")
    names = None if name_i is None else frame[columns[name_i]].map(cell_text).to_numpy()
    if iris:
        _check_duplicates(frame[cols["IRIS"]].map(cell_text), lines, table, path, what="IRIS")
        out["code_insee"] = codes.to_numpy()
        out = out.groupby("code_insee", sort=False).sum(min_count=1)
        if names is not None:
            names = pd.Series(names, index=codes.to_numpy())
            out.insert(0, "nom_commune", names[~names.index.duplicated()].reindex(out.index))
    else:
        _check_duplicates(codes, lines, table, path)
        out.index = pd.Index(codes.to_numpy(), name="code_insee", dtype=str)
        if names is not None:
            out.insert(0, "nom_commune", names)
    return out, str(year), "iris" if iris else "commune"


def read_insee_ages(path, sheet: str | None = None) -> pd.DataFrame:
    """Read the INSEE « Évolution et structure de la population » file (population by age).

    ``path`` is a ``base-cc-evol-struct-pop-20XX`` (commune level; CSV ``;``-separated with a
    header row of variable codes, or XLSX whose sheets ``COM_20XX`` and ``ARM_20XX`` have title
    lines then the codes row), or ``base-ic-evol-struct-pop-20XX`` (IRIS level: column ``COM``
    instead of ``CODGEO``; rows are summed by commune); a ``.zip`` from insee.fr holding one CSV
    is accepted. ``sheet`` is the worksheet to read (default: every ``COM_*``/``ARM_*`` sheet,
    else ``IRIS*``, else the first sheet with a header).

    Returns a DataFrame indexed by ``code_insee`` (str), one row per commune — and per
    arrondissement municipal when the file has them as rows (``ARM`` sheet, or rows 75101…,
    69381…, 13201… in the CSV; Paris/Lyon/Marseille as a whole may also be present: the caller
    picks the codes it needs). Columns, in **inhabitants** (float: INSEE population estimates are
    not integers): ``pop_total``, ``pop_0_14``, ``pop_15_29``, ``pop_30_44``, ``pop_45_59``,
    ``pop_60_74``, ``pop_75p`` (from ``POP75P`` or ``POP7589 + POP90P``), and when the file
    allows ``pop_0_19`` (``POP0019`` or ``H0019 + F0019``) and ``pop_65p`` (``POP65P``,
    ``H65P + F65P`` or ``POP6579 + POP80P``) — the ageing index is ``100 * pop_65p / pop_0_19``;
    ``nom_commune`` when the file has ``LIBGEO``/``LIBCOM``; ``millesime`` (str, e.g. ``"2021"``:
    the most recent ``Pyy_`` prefix of the file). ``attrs``: ``millesime``, ``niveau``
    (``"commune"`` or ``"iris"``), ``source`` (Path), ``warnings`` (list of French strings).

    Raises InputError on a missing file, no header, missing age columns (all listed), a bad
    commune code, a duplicated commune (or IRIS), an unreadable number.
    """
    expected = "colonnes CODGEO (ou COM et IRIS) et Pxx_POP (fichier INSEE « Évolution et structure de la population »)"

    def keep(name):
        return (
            _is_code_column(name)
            or is_alias(name, "nom_commune")
            or name.upper() == "IRIS"
            or bool(re.match(r"^P\d{2}_(POP|H|F)", name.upper()))
        )

    tables = _read_tables(path, _is_ages_header, keep, expected, _choose_ages_sheets, sheet)
    path = Path(path)
    warnings = _Warnings()
    parts, sheet_years, sheet_levels = zip(*[_ages_one(table, path, warnings) for table in tables])
    years, levels = set(sheet_years), set(sheet_levels)
    if len(years) > 1:
        raise InputError(f"feuilles de millésimes différents ({listing(sorted(years))})", path=path)
    out = pd.concat(parts)
    dup = out.index.duplicated()  # a commune in two sheets (each sheet has no duplicate)
    if dup.any():
        raise InputError("commune présente dans plusieurs feuilles", path=path, value=out.index[dup][0])
    out.index = pd.Index(out.index.astype(str), name="code_insee", dtype=str)
    year = years.pop()
    out["millesime"] = pd.Series(year, index=out.index, dtype=str)
    bands = out[list(AGE_COLUMNS[1:])].sum(axis=1, min_count=len(AGE_COLUMNS) - 1)
    off = (bands - out["pop_total"]).abs() > 1 + 0.005 * out["pop_total"]
    if off.any():
        warnings.append(
            f"somme des tranches d'âge différente de la population totale pour "
            f"{int(off.sum())} commune(s) (ex. : {listing(out.index[off], 3)})"
        )
    out.attrs.update(
        millesime=year, niveau=levels.pop() if len(levels) == 1 else "commune", source=path, warnings=warnings.finish()
    )
    return out


# ------------------------------------------------------------------------------ BPE
_EQUIPMENT_CODE = re.compile(r"^D\d{3}$")


def _is_profession_code(code: str) -> bool:
    """A D code counted by :func:`read_bpe`: a declared profession or an unknown D code."""
    return bool(_EQUIPMENT_CODE.match(code)) and code not in BPE_OTHER_EQUIPMENTS


def _is_bpe_header(cells: list[str]) -> bool:
    upper = {c.strip().upper() for c in cells}
    return find_column(cells, "code_commune") is not None and (
        "TYPEQU" in upper or any(_EQUIPMENT_CODE.match(c) for c in upper)
    )


def read_bpe(path, sheet: str | None = None) -> pd.DataFrame:
    """Count every health profession (BPE domain D) per commune.

    ``path`` is an INSEE BPE file, one of:

    * « ensemble » aggregated CSV: ``REG;DEP;DEPCOM;DCIRIS;AN;TYPEQU;NB_EQUIP``
      (``NB_EQUIP`` is summed by ``DEPCOM`` and ``TYPEQU``);
    * one row per equipment (``DEPCOM``, ``TYPEQU``, ``AN``, …, e.g. ``BPE23.csv``
      or ``bpe21_ensemble_xy.csv``): rows are counted by ``DEPCOM`` and ``TYPEQU``;
    * a wide commune table (XLSX or CSV) with a code column (``CODGEO`` or
      ``DEPCOM``) and one column per equipment code (``D265``, ``D307``, …), title
      lines allowed above the header.

    ``sheet`` is the worksheet of an XLSX file (default: first sheet with a header).

    Returns a DataFrame indexed by ``code_insee`` (str); one float column per equipment code
    found, in the order of :data:`cpts_diag.professions.BPE_PROFESSIONS`, then unknown D codes (sorted): number of
    equipments, i.e. practice locations (pharmacies for ``D307``). Codes of
    :data:`cpts_diag.professions.BPE_OTHER_EQUIPMENTS` (establishments, social care) are left out; any other
    ``D`` code is kept under its code and reported (``attrs["unknown"]`` and a warning).

    Long layouts: the index holds the communes with at least one counted row; such a
    commune without a row for a code present in the file has 0 for it; a commune
    **absent** has no counted equipment, i.e. 0 when its département is covered by the
    file (the caller decides, knowing the coverage); a code absent from the whole file
    is absent from the columns (unknown, never zero). Wide table: values as given, a
    blank or masked cell is NaN (unknown).

    ``attrs``: ``millesime`` (str or None: ``AN``, else a year in the title lines,
    else ``bpeYY`` in the file name), ``source``, ``warnings``, ``layout`` (``"long"``
    or ``"wide"``), ``unknown`` (unknown D codes found, sorted).

    Raises InputError on a missing file, no header, a bad commune code (in a counted row), a
    duplicated commune in a wide table, an unreadable ``NB_EQUIP`` or count.
    """
    expected = "colonnes DEPCOM (ou CODGEO) et TYPEQU, ou une colonne D265 (fichier BPE)"

    def keep(name):
        return (
            _is_code_column(name)
            or name.strip().upper() in {"TYPEQU", "NB_EQUIP", "AN"}
            or bool(_EQUIPMENT_CODE.match(name.strip().upper()))
        )

    table = _read_tables(path, _is_bpe_header, keep, expected, sheet=sheet)[0]
    path = Path(path)
    warnings = _Warnings()
    frame, lines = table.dataframe(), np.asarray(table.lines, dtype=int)
    cols = {c.strip().upper(): c for c in frame.columns}
    code_col = _code_column(list(frame.columns), table, path)
    year = None
    if "TYPEQU" in cols:
        layout = "long"
        typequ = frame[cols["TYPEQU"]].map(cell_text).str.upper().str.strip()
        counted = typequ.map(_is_profession_code).to_numpy(dtype=bool)
        rows, row_lines, row_types = frame.loc[counted], lines[counted], typequ.loc[counted].to_numpy()
        if "AN" in cols:
            years = sorted({cell_text(v) for v in frame[cols["AN"]].unique()} - {""})
            if len(years) > 1:
                warnings.append(
                    f"plusieurs années dans la colonne AN ({listing(years)}) : "
                    f"la plus récente est retenue comme millésime"
                )
            year = years[-1] if years else None
        codes = _normalise_codes(rows[code_col], row_lines, table, path, code_col, warnings)
        if "NB_EQUIP" in cols:
            counts = _parse_numbers(rows[cols["NB_EQUIP"]], row_lines, table, path, cols["NB_EQUIP"])
            if counts["masked"].any():
                pos = int(np.flatnonzero(counts["masked"].to_numpy())[0])
                raise InputError(
                    table.where(f"colonne « {cols['NB_EQUIP']} » : nombre d'équipements vide"),
                    path=path,
                    line=int(row_lines[pos]),
                    value=rows[cols["NB_EQUIP"]].iloc[pos],
                )
            values = counts["value"].to_numpy(dtype=float)
        else:
            values = np.ones(len(rows))
        long = pd.DataFrame({"code": codes.to_numpy(), "typequ": row_types, "n": values})
        wide = long.pivot_table(index="code", columns="typequ", values="n", aggfunc="sum", fill_value=0.0, sort=False)
        result = wide.reindex(pd.unique(long["code"]))
        found = list(result.columns)
    else:
        layout = "wide"
        codes = _normalise_codes(frame[code_col], lines, table, path, code_col, warnings)
        _check_duplicates(codes, lines, table, path)
        found = [upper for upper in cols if _is_profession_code(upper)]
        parsed = {c: _parse_numbers(frame[cols[c]], lines, table, path, cols[c]) for c in found}
        result = pd.DataFrame({c: p["value"].to_numpy(dtype=float) for c, p in parsed.items()}, index=codes.to_numpy())
        n_masked = sum(int(p["masked"].sum()) for p in parsed.values())
        if n_masked:
            warnings.append(table.where(f"{n_masked} case(s) vide(s) ou masquée(s) lue(s) comme inconnues"))
    unknown = sorted(c for c in found if c not in BPE_PROFESSIONS)
    if unknown:
        warnings.append(
            f"code(s) d'équipement de santé absent(s) de la nomenclature BPE connue, comptés "
            f"sous leur code : {listing(unknown, 10)} (ancienne nomenclature ?)"
        )
    order = [c for c in BPE_PROFESSIONS if c in found] + unknown
    if year is None:  # a year in the title lines, else bpeYY in the file name
        title = re.search(r"\b(19[5-9]\d|20\d\d)\b", "\n".join(table.titles))
        name = re.search(r"bpe[_\s-]?(\d{2})(?!\d)", path.name.lower())
        year = title[1] if title else f"20{name[1]}" if name else None
    out = pd.DataFrame(
        {c: result[c].to_numpy(dtype=float) for c in order},
        index=pd.Index(np.asarray(result.index, dtype=object).astype(str), name="code_insee", dtype=str),
    )
    out.attrs.update(millesime=year, source=path, warnings=warnings.finish(), layout=layout, unknown=unknown)
    return out


def read_bpe_gp(path, sheet: str | None = None) -> pd.DataFrame:
    """Count general practitioners (BPE equipment ``D265``) per commune.

    A view of :func:`read_bpe` (same layouts, same errors) kept for the GP count alone.
    Returns a DataFrame indexed by ``code_insee`` (str); column ``nb_medecins_generalistes``
    (float holding whole numbers: number of ``D265`` equipments, i.e. GP practice locations)
    and ``millesime`` (str or None). In the long layouts only the communes with ``D265``
    equipments are listed (an absent commune has 0 GP when the file covers its département);
    a wide table keeps its explicit zeros. ``attrs``: ``millesime``, ``source``, ``warnings``.
    """
    bpe = read_bpe(path, sheet)
    counts = bpe[GP_EQUIPMENT] if GP_EQUIPMENT in bpe else pd.Series(dtype=float, index=bpe.index[:0])
    if bpe.attrs["layout"] == "long":
        counts = counts[counts > 0]
    out = pd.DataFrame({"nb_medecins_generalistes": counts.astype(float)})  # read_bpe's code_insee index
    year = bpe.attrs["millesime"]
    out["millesime"] = pd.Series(year, index=out.index, dtype=str) if year else None
    out.attrs.update(millesime=year, source=bpe.attrs["source"], warnings=bpe.attrs["warnings"])
    return out


# ----------------------------------------------------------------------------- CPAM
@dataclass
class CpamTable:
    """The CPAM / Rézone CPTS commune table, parsed.

    * ``table``: indexed by ``code_insee`` (str), one row per commune. For every count column ``c`` found in the
      file (see ``counts``): ``c`` (float, number of people, NaN when masked), ``c_masked`` (bool), ``c_upper``
      (float: the value when known, the mask threshold when masked). Also ``nom_commune`` and ``annee`` (str)
      when present, ``fictitious`` (bool, per row) and ``line`` (int, line in the file);
    * ``counts``: count columns present, among :data:`CPAM_COUNT_COLUMNS`;
    * ``fictitious``: True when the file says its data are fictitious (column ``donnees_fictives`` true on any
      row, or a title line containing « fictif »/« fictives »);
    * ``source``: file read; ``warnings``: French notes (ignored columns, restored zeros, skipped total rows, …);
    * ``annee``: year of the data when one value is given in column ``annee``.
    """

    table: pd.DataFrame
    counts: tuple[str, ...]
    fictitious: bool
    source: Path
    warnings: list[str] = field(default_factory=list)
    annee: str | None = None


def _is_cpam_header(cells: list[str]) -> bool:
    canon = {_ALIAS_INDEX.get(header_key(c)) for c in cells if c}
    return "code_commune" in canon and bool(canon & set(CPAM_COUNT_COLUMNS))


def _is_true(cell) -> bool:
    return header_key(cell_text(cell)) in _TRUE_WORDS


def read_cpam_table(path, sheet: str | None = None, default_threshold: float = 10) -> CpamTable:
    """Read the commune table given by a CPAM (or exported from Rézone CPTS).

    ``path`` is a CSV (``;``, ``,`` or tab; UTF-8, UTF-8 with BOM or Windows-1252; decimal
    commas and space thousands separators accepted) or XLSX. Title lines above the header
    are allowed. Expected columns (names compared without case, accents, spaces,
    hyphens; see :data:`cpts_diag.io.tables.HEADER_ALIASES` and ``docs/fichiers_utilisateur.md``):
    ``code_commune`` (required), ``nom_commune``, ``annee``, ``donnees_fictives``
    and at least one of :data:`CPAM_COUNT_COLUMNS`. Masked cells (``<10``,
    ``secret``, ``NS``, blank…) are unknown, never zero. ``sheet`` is the worksheet of an
    XLSX file (default: first sheet with a header); ``default_threshold`` the upper bound
    of masked cells that do not state theirs (``"<5"`` states 5).

    Raises InputError on a missing file, no header (code column and at least one count
    column), the same column given twice, a bad or empty commune code, a duplicated
    commune, an unreadable count.
    """
    expected = (
        "une colonne code_commune et au moins une colonne d'effectifs (" + ", ".join(CPAM_COUNT_COLUMNS[:3]) + ", …)"
    )
    table = _read_tables(path, _is_cpam_header, None, expected, sheet=sheet)[0]
    path = Path(path)
    warnings = _Warnings()
    frame, lines = table.dataframe(), np.asarray(table.lines, dtype=int)
    mapping: dict[str, str] = {}
    ignored = []
    for col in frame.columns:
        canonical = _ALIAS_INDEX.get(header_key(col))
        if canonical is None:
            if str(col).strip():
                ignored.append(str(col))
            continue
        if canonical in mapping:
            raise InputError(
                table.where(f"deux colonnes pour « {canonical} » : « {mapping[canonical]} » et « {col} »"),
                path=path,
                line=table.header_line,
            )
        mapping[canonical] = col
    if ignored:
        warnings.append(f"colonne(s) non reconnue(s), ignorée(s) : {listing(ignored, 10)}")
    counts = tuple(c for c in CPAM_COUNT_COLUMNS if c in mapping)

    # rows: skip totals, refuse empty codes
    code_col = mapping["code_commune"]
    text_cols = [mapping[c] for c in ("code_commune", "nom_commune") if c in mapping]
    is_total = frame[text_cols].map(lambda c: header_key(cell_text(c)).startswith(("total", "ensemble"))).any(axis=1)
    if is_total.any():
        warnings.append(f"ligne(s) de total ignorée(s) : {listing(int(x) for x in lines[is_total.to_numpy()])}")
    keep_rows = ~is_total.to_numpy()
    frame, lines = frame.loc[keep_rows], lines[keep_rows]
    empty = frame[code_col].map(lambda c: cell_text(c) == "").to_numpy()
    if empty.any():
        raise InputError(
            table.where(f"colonne « {code_col} » : code commune vide"), path=path, line=int(lines[empty][0]), value=""
        )
    codes = _normalise_codes(frame[code_col], lines, table, path, code_col, warnings)
    _check_duplicates(codes, lines, table, path)

    out = pd.DataFrame(index=pd.Index(codes.to_numpy(), name="code_insee", dtype=str))
    if "nom_commune" in mapping:
        out["nom_commune"] = pd.Series(
            frame[mapping["nom_commune"]].map(cell_text).to_numpy(), index=out.index, dtype=str
        )
    annee = None
    if "annee" in mapping:
        years = frame[mapping["annee"]].map(cell_text)
        out["annee"] = pd.Series(years.to_numpy(), index=out.index, dtype=str)
        distinct = sorted(set(years) - {""})
        annee = distinct[0] if len(distinct) == 1 else None
        if len(distinct) > 1:
            warnings.append(f"plusieurs années dans la colonne annee ({listing(distinct)})")
    for name in counts:
        parsed = _parse_numbers(frame[mapping[name]], lines, table, path, mapping[name], default_threshold)
        values = parsed["value"].to_numpy()
        fractional = np.isfinite(values) & (np.mod(values, 1) != 0)
        if fractional.any():
            pos = int(np.flatnonzero(fractional)[0])
            warnings.append(
                f"colonne « {mapping[name]} » : effectif(s) non entier(s) (ex. ligne "
                f"{int(lines[pos])} : {cell_text(frame[mapping[name]].iloc[pos])}) "
                "— vérifiez le séparateur décimal ou de milliers"
            )
        out[name] = values
        out[f"{name}_masked"] = parsed["masked"].to_numpy()
        out[f"{name}_upper"] = parsed["upper"].to_numpy()
    for name in counts:
        base = name.removesuffix("_sans_mt")
        if name.endswith("_sans_mt") and base in counts:
            bad = (out[name] > out[base]).to_numpy()
            if bad.any():
                warnings.append(
                    f"{name} supérieur à {base} pour {int(bad.sum())} commune(s) (ex. : {listing(out.index[bad], 3)})"
                )
    if any(re.search("fictif|fictive", strip_accents(t).lower()) for t in table.titles):
        flags = np.ones(len(out), dtype=bool)
    elif "donnees_fictives" in mapping:
        flags = frame[mapping["donnees_fictives"]].map(_is_true).to_numpy(dtype=bool)
    else:
        flags = np.zeros(len(out), dtype=bool)
    out["fictitious"] = flags
    out["line"] = lines.astype(int)
    return CpamTable(
        table=out, counts=counts, fictitious=bool(flags.any()), source=path, warnings=warnings.finish(), annee=annee
    )
