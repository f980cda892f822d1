"""Write a corrected copy of a perimeter file, in its own format and columns (``cpts-diag simulate --out``).

The original is never modified: the copy is written beside nothing, in another folder, atomically. What the file
does not need to change is kept as it was: title lines, header, delimiter, encoding, line endings and every
untouched line of a CSV; sheets, styles, title rows and merged cells of a workbook; the other keys of a JSON.

* **Removing** a commune (or an arrondissement) from a territory deletes the records that list it (a CSV line, a
  worksheet row, a JSON object or GeoJSON feature), or takes its code out of the territory's list in a file of one
  record per territory (with the arrondissements of a commune given up whole, and its name in an ``infra`` list).
* **Adding** one inserts a record after the territory's last one: its code (and, when the file has them, its COG
  name, its arrondissement, and a blank infra-communal flag), and the territory's own cells: those that have one
  value on every record of the territory (its name, its status, its ARS delegation…); the cells that vary from one
  commune to the next (population, EPCI…) are left blank. In a file of one record per territory, the code is
  appended to the territory's list (an arrondissement to its list of arrondissements when there is one).

Supported: CSV/TXT (any delimiter and encoding the reader accepts), XLSX/XLSM, a zip holding one of them, ARS JSON
(and JSON lists of rows), GeoJSON (a new feature has no geometry; a territory's polygon is not redrawn). A
GeoPackage is refused (:data:`UNSUPPORTED`).
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cpts_diag.codes import arrondissement_parent, is_arrondissement_code
from cpts_diag.errors import InputError
from cpts_diag.io.atomic import atomic_write_bytes, atomic_write_text
from cpts_diag.io.perimeters import Layout, code_or_none, json_records
from cpts_diag.io.tables import PERIMETER_LIMIT, decode_text, zip_member
from cpts_diag.text import commune_key

UNSUPPORTED = (
    "écriture d'un GeoPackage corrigé non prise en charge : enregistrez vos périmètres en CSV ou en XLSX pour obtenir "
    "le fichier corrigé (la simulation, elle, fonctionne)"
)


@dataclass(frozen=True)
class Edit:
    """One change to write: ``action`` ``"add"`` or ``"remove"``, the ``territory`` (as in the file), the unit
    ``code`` (a current commune, or an arrondissement municipal) and its COG ``name``; for a removal, the file
    ``lines`` (records) that list it and the codes as the file gives them (``given``: a former code, the commune of
    an arrondissement…)."""

    action: str
    territory: str
    code: str
    name: str
    lines: tuple[int, ...] = ()
    given: tuple[str, ...] = ()

    @property
    def commune(self) -> str:
        return arrondissement_parent(self.code) or self.code

    @property
    def arrondissement(self) -> str | None:
        return self.code if is_arrondissement_code(self.code) else None


@dataclass
class _Plan:
    """Records to delete (by line: removed rows, wide records left without commune), records to insert after a
    line, and new values of edited records."""

    delete: set[int] = field(default_factory=set)
    insert: dict[int, list[list]] = field(default_factory=dict)  # after line -> new records (cell values)
    replace: dict[int, list] = field(default_factory=dict)  # line -> new cell values (wide records)


# ------------------------------------------------------------------------------------------ the plan


def _new_record(layout: Layout, edit: Edit, lines: list[int]) -> list:
    """The cells of the record that adds ``edit.code`` to its territory (long files): those that have one value on
    all the territory's records (``lines``), the others blank."""
    roles, mine = layout.roles, set(lines)
    rows = [values for line, values in layout.rows if line in mine]
    last = rows[-1]
    cells = [
        last[j] if j < len(last) and len({repr(r[j]) if j < len(r) else repr("") for r in rows}) == 1 else ""
        for j in range(len(layout.columns))
    ]
    arr = roles.get("arrondissement")
    cells[roles["code"]] = edit.commune if arr is not None and edit.arrondissement else edit.code
    if arr is not None:
        cells[arr] = edit.arrondissement or ""
    if roles.get("name") is not None:
        cells[roles["name"]] = edit.name
    if roles.get("infra") is not None:
        cells[roles["infra"]] = ""
    return cells


def _split_items(value) -> tuple[list[str], str]:
    """Items of a list cell (a JSON list, or text) and the separator to write them back with."""
    if isinstance(value, list):
        return value, ", "
    text = str(value or "").strip()
    for sep in (";", ",", "|", "\n"):
        if sep in text:
            return [i.strip() for i in text.split(sep) if i.strip()], sep + (" " if sep in ",;" else "")
    return ([i for i in text.split() if i], " ") if text else ([], ", ")


def _edit_list(value, remove: set[str], add: list[str], infra_names: set[str] | None = None):
    """A list value (JSON list or text cell) without the codes of ``remove`` (or, for an infra list, the names
    ``infra_names``), with ``add`` appended; same shape as the original."""

    def item_code(item):
        if isinstance(item, dict):
            key = next((k for k in item if code_or_none(item[k]) is not None), None)
            return code_or_none(item[key]) if key else None
        return code_or_none(item)

    def keep(item) -> bool:
        if item_code(item) in remove:
            return False
        return not (infra_names and isinstance(item, str) and commune_key(item) in infra_names)

    if isinstance(value, list):  # codes added as the items are given: plain, or objects keyed like the first one
        model = next((i for i in value if isinstance(i, dict)), None)
        key = None if model is None else next((k for k in model if code_or_none(model[k]) is not None), "code")
        return [item for item in value if keep(item)] + [code if key is None else {key: code} for code in add]
    items, sep = _split_items(value)
    items = [i for i in items if keep(i)] + add
    return sep.join(items)


def _wide_record(layout: Layout, values: list, edits: list[Edit]) -> list | None:
    """New cells of a territory's record (wide files) after its ``edits``, None when it has no commune left."""
    roles = layout.roles
    values = list(values)
    removals = [e for e in edits if e.action == "remove"]
    additions = [e for e in edits if e.action == "add"]
    remove = {g for e in removals for g in e.given} | {e.code for e in removals}
    i = roles["communes"]
    spill = i == len(layout.columns) - 1 and len(values) > len(layout.columns)
    arr_col = roles.get("arrondissement")
    add_communes = [e.code for e in additions if not (e.arrondissement and arr_col is not None)]
    add_arr = [e.code for e in additions if e.arrondissement and arr_col is not None]
    # a commune whose last arrondissement is given up leaves the list too (else it would be claimed whole)
    arr_items = values[arr_col] if arr_col is not None else []
    if arr_col is not None and arr_items in (None, "") and isinstance(values[i], list):
        arr_items = []  # a JSON territory without arrondissements: a list like its communes
    arr_left = _edit_list(arr_items, remove, add_arr) if arr_col is not None else []
    left_codes = {code_or_none(x) for x in _split_items(arr_left)[0]}
    for e in removals:
        if e.arrondissement and not any(c and arrondissement_parent(c) == e.commune for c in left_codes):
            remove.add(e.commune)
    for e in additions:  # an arrondissement added to a territory that does not list its commune
        if e.arrondissement and arr_col is not None:
            add_communes.append(e.commune)
    if spill:
        cells = [c for c in values[i:] if code_or_none(c) not in remove] + add_communes
        values = values[:i] + cells
        communes = cells
    else:
        current = values[i]
        listed = {code_or_none(x) for x in _split_items(current)[0]}
        values[i] = _edit_list(current, remove, [c for c in dict.fromkeys(add_communes) if c not in listed])
        communes = values[i]
    if arr_col is not None:
        values[arr_col] = arr_left
    infra = roles.get("infra")
    if infra is not None and values[infra] not in (None, ""):
        names = {commune_key(e.name) for e in removals if not e.arrondissement}
        values[infra] = _edit_list(values[infra], remove, [], infra_names=names)
    return values if (_split_items(communes)[0] or _split_items(arr_left)[0]) else None


def _plan(layout: Layout, edits: list[Edit], territory_lines: Mapping[str, list[int]]) -> _Plan:
    plan = _Plan()
    if layout.mode == "long":
        for e in edits:
            if e.action == "remove":
                plan.delete.update(e.lines)
            else:
                lines = territory_lines[e.territory]
                plan.insert.setdefault(max(lines), []).append(_new_record(layout, e, lines))
        return plan
    by_line = dict(layout.rows)
    for territory in dict.fromkeys(e.territory for e in edits):
        line = max(territory_lines[territory])
        new = _wide_record(layout, by_line[line], [e for e in edits if e.territory == territory])
        if new is None:
            plan.delete.add(line)
        else:
            plan.replace[line] = new
    return plan


# ------------------------------------------------------------------------------------------ formats


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_bytes(data: bytes, layout: Layout, plan: _Plan, shown: str) -> bytes:
    text, encoding = decode_text(data)
    delimiter = layout.delimiter
    assert delimiter is not None  # a CSV layout has its delimiter
    physical = _LINE.findall(text)
    ending = next((m for m in ("\r\n", "\n", "\r") if physical and physical[0].endswith(m)), "\n")
    # where each record starts and ends (lines counted as the reader counts them)
    spans: dict[int, int] = {}
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
    start = 1
    for _ in reader:
        spans[start] = reader.line_num
        start = reader.line_num + 1

    def record_text(cells: list) -> str:
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator=ending).writerow([_cell_text(c) for c in cells])
        return out.getvalue()

    drop = {n for line in plan.delete for n in range(line, spans[line] + 1)}
    replaced = {line: record_text(cells) for line, cells in plan.replace.items()}
    inside = {n for line in replaced for n in range(line + 1, spans[line] + 1)}
    pieces = []
    for n, content in enumerate(physical, start=1):
        if n in replaced:
            pieces.append(replaced[n])
        elif n not in drop and n not in inside:
            pieces.append(content)
        after = [cells for line, rows in plan.insert.items() if spans[line] == n for cells in rows]
        if after:
            if pieces and not pieces[-1].endswith(("\n", "\r")):
                pieces[-1] += ending
            pieces.extend(record_text(cells) for cells in after)
    out = "".join(pieces)
    if encoding == "utf-16":
        return out.encode("utf-16")
    name = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        encoded = out.encode(name)
    except UnicodeEncodeError as exc:
        value = exc.object[exc.start : exc.end]
        message = f"caractère impossible à écrire dans l'encodage du fichier ({encoding})"
        raise InputError(message, shown, value=value) from None
    return (codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b"") + encoded


def _xlsx_bytes(data: bytes, layout: Layout, plan: _Plan, keep_vba: bool) -> bytes:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=keep_vba)
    ws = wb[layout.sheet] if layout.sheet is not None else wb.worksheets[0]
    merged = [(r.min_col, r.min_row, r.max_col, r.max_row) for r in ws.merged_cells.ranges]
    tops = {(c0, r0): ws.cell(r0, c0).value for c0, r0, _c1, _r1 in merged}
    for c0, r0, c1, r1 in merged:
        ws.unmerge_cells(start_row=r0, start_column=c0, end_row=r1, end_column=c1)
    for line, cells in plan.replace.items():
        for j, value in enumerate(cells[: len(layout.columns)], start=1):
            ws.cell(line, j).value = value if not isinstance(value, list) else ", ".join(map(str, value))
    # where every old row and every inserted row will be, to merge the cells again
    new_of: dict[int, int] = {}
    inserted_at: dict[int, list[int]] = {}
    last = 0
    for r in range(1, ws.max_row + 1):
        if r not in plan.delete:
            last += 1
            new_of[r] = last
        inserted_at[r] = list(range(last + 1, last + 1 + len(plan.insert.get(r, []))))
        last += len(inserted_at[r])
    # rows from the bottom up, so that the row numbers above stay valid
    for r in sorted(set(plan.insert) | plan.delete, reverse=True):
        if r in plan.insert:
            template = [ws.cell(r, j) for j in range(1, len(layout.columns) + 1)]
            for k, cells in enumerate(plan.insert[r]):
                ws.insert_rows(r + 1 + k)
                for j, (value, model) in enumerate(zip(cells, template), start=1):
                    cell = ws.cell(r + 1 + k, j)
                    cell.value = None if value in ("", None) else value
                    cell._style = copy.copy(model._style)
        if r in plan.delete:
            ws.delete_rows(r)
    for (c0, r0, c1, r1), value in zip(merged, tops.values()):
        rows = [new_of[r] for r in range(r0, r1 + 1) if r in new_of]
        rows += [n for r in range(r0, r1 + 1) for n in inserted_at.get(r, [])]
        if not rows:
            continue
        first, end = min(rows), max(rows)
        ws.cell(first, c0).value = value
        if (first, c0) != (end, c1):
            ws.merge_cells(start_row=first, start_column=c0, end_row=end, end_column=c1)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _json_bytes(data: bytes, layout: Layout, plan: _Plan, shown: str) -> bytes:
    text = decode_text(data)[0]
    obj = json.loads(text)
    items, features = json_records(obj, shown, layout.kind == "geojson")
    columns = layout.columns

    def edited(item: dict, values: list) -> dict:
        """``item`` (a territory) with its new values: the keys it has, and those that now hold something."""
        props = item.get("properties") or {} if features else item
        new = dict(props)
        for key, value in zip(columns, values):
            if key in props or value not in (None, "", []):
                new[key] = value
        return {**item, "properties": new} if features else new

    def record(values: list) -> dict:
        props = {k: v for k, v in zip(columns, values) if v not in (None, "")}
        return {"type": "Feature", "properties": props, "geometry": None} if features else props

    kept = []
    for line, item in enumerate(items, start=1):
        if line not in plan.delete:
            kept.append(edited(item, plan.replace[line][: len(columns)]) if line in plan.replace else item)
        kept += [record(values) for values in plan.insert.get(line, [])]
    items[:] = kept
    indent = re.search(r"\n([ \t]+)\S", text)
    dumped = json.dumps(
        obj,
        ensure_ascii=bool(re.search(r"\\u00[c-fC-F]", text)),
        indent=indent.group(1) if indent else None,
    )
    return (dumped + ("\n" if text.endswith("\n") else "")).encode("utf-8")


# ------------------------------------------------------------------------------------------ entry points


def corrected_copy(source: Path, layout: Layout, edits: list[Edit], territory_lines: Mapping[str, list[int]]) -> bytes:
    """The bytes of the corrected copy of ``source`` (a perimeter file read as ``layout``): ``edits`` applied, in
    the file's own format; ``territory_lines``: territory -> lines (records) of its rows in the file.

    Raises InputError for a GeoPackage (:data:`UNSUPPORTED`) or a name the file's encoding cannot hold."""
    shown = str(source)
    if layout.kind == "gpkg":
        raise InputError(UNSUPPORTED, shown)
    plan = _plan(layout, edits, territory_lines)
    data = source.read_bytes()
    if layout.kind in ("json", "geojson"):
        return _json_bytes(data, layout, plan, shown)
    member = None
    if data.startswith(b"PK") and source.suffix.lower() == ".zip":
        member, data = zip_member(source, shown, PERIMETER_LIMIT)
    if data.startswith(b"PK"):
        body = _xlsx_bytes(data, layout, plan, keep_vba=(member or source.name).lower().endswith(".xlsm"))
    else:
        body = _csv_bytes(data, layout, plan, shown)
    if member is None:
        return body
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, body if info.filename == member else zin.read(info))
    return out.getvalue()


def write_corrected(target: Path, content: bytes, log_line: str) -> list[Path]:
    """Write the corrected copy ``content`` at ``target`` and its one-line change log beside it
    (``<name>_modifications.txt``), each atomically; returns both paths."""
    atomic_write_bytes(target, content)
    log = atomic_write_text(target.with_name(f"{target.stem}_modifications.txt"), log_line.rstrip("\n") + "\n")
    return [target, log]
