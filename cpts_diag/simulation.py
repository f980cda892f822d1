"""« What if »: the whole check before and after changes to a perimeter file (``cpts-diag simulate``).

:func:`simulate` applies changes (add a commune to a territory, remove one from it), writes the corrected file in the
input's own format (:mod:`cpts_diag.io.perimeter_writer`), reads it back and checks it with the same options as
the original: the « after » check is the check of the corrected file, exactly what ``cpts-diag check`` prints
for it. :attr:`Simulation.changes` says what differs: the changes applied, the territories whose population, tier
or key indicators (APL, share of residents aged 75+) move, and every finding that appears or disappears (orphans,
overlaps, contiguity, enclaves…). The original file is never modified; with ``out_dir`` the corrected copy (same
file name, in that folder) and its one-line change log are written, complete or not at all.

Bad changes (a code in no COG vintage, an unknown territory, removing a commune the territory does not list,
adding one it already lists) raise :class:`~cpts_diag.errors.InputError` before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.check_membership import json_int
from cpts_diag.checks import FINDING_KINDS, CheckReport, check_perimeters
from cpts_diag.codes import CodeFormatError, normalize_code
from cpts_diag.errors import InputError
from cpts_diag.indicators import exact_territory, find_territory, territory_indicators
from cpts_diag.io.perimeter_writer import UNSUPPORTED, Edit, corrected_copy, write_corrected
from cpts_diag.io.perimeters import Perimeters, perimeter_layout, read_perimeters
from cpts_diag.reference import UNKNOWN, Reference, load_reference
from cpts_diag.territories import unit_population

ADD, REMOVE = "ajouter", "retirer"
ADD_EDIT, REMOVE_EDIT = "add", "remove"  # the writer's actions

#: Indicators shown before and after for the territories a change touches (id -> French label).
KEY_INDICATORS = {
    "apl_mg_2023": "APL aux médecins généralistes 2023",
    "part_75_plus": "Part des 75 ans et plus",
}

_ACTIONS = {"ajouter": ADD, "ajout": ADD, "add": ADD, "+": ADD, "retirer": REMOVE, "retrait": REMOVE, "remove": REMOVE}
_ACTIONS |= {"-": REMOVE, "supprimer": REMOVE, "enlever": REMOVE}
_ACTION_HEADERS = ("action", "modification", "operation", "opération")


def action_of(text, origin: str) -> str:
    """:data:`ADD` or :data:`REMOVE` from « ajouter », « retirer » (or « + », « - », « ajout », « retrait »…).

    Examples
    --------
    >>> action_of(" Ajouter ", "carnet"), action_of("-", "carnet")
    ('ajouter', 'retirer')
    """
    action = _ACTIONS.get(str(text).strip().lower())
    if action is None:
        raise InputError(f"action inconnue ({origin}) : attendu ajouter ou retirer", value=text)
    return action


@dataclass(frozen=True)
class Change:
    """A change asked for: ``action`` (:data:`ADD` or :data:`REMOVE`), the commune ``code`` and the ``territory``
    as the user wrote them, and where it was asked (``origin``: « --ajouter », « fichier x.csv, ligne 3 »)."""

    action: str
    code: str
    territory: str
    origin: str = ""

    def __str__(self) -> str:
        return f"{self.code}={self.territory}"


def parse_change(text: str, action: str, origin: str | None = None) -> Change:
    """A change written ``CODE=TERRITOIRE`` (``--ajouter`` / ``--retirer``).

    Examples
    --------
    >>> parse_change("04013=CPTS Alpes Bléone Durance", "ajouter")
    Change(action='ajouter', code='04013', territory='CPTS Alpes Bléone Durance', origin='--ajouter')
    """
    origin = origin or f"--{action}"
    code, sep, territory = str(text).partition("=")
    if not sep or not code.strip() or not territory.strip():
        raise InputError(f"modification mal écrite ({origin}) : attendu CODE=TERRITOIRE", value=text)
    return Change(action, code.strip(), territory.strip(), origin)


def read_changes(path) -> list[Change]:
    """The changes of a small table (CSV or XLSX, read by :mod:`cpts_diag.io.tables`): columns ``action``
    (ajouter / retirer), the commune code and the territory (``territoire`` or ``cpts``), one change per line."""
    from cpts_diag.io.tables import find_column, open_table_file

    shown = os.fspath(path)

    def header(cells):
        return (
            find_column(cells, "code_commune") is not None
            and find_column(cells, "cpts") is not None
            and any(c.strip().lower() in _ACTION_HEADERS for c in cells)
        )

    with open_table_file(Path(path), shown) as tf:
        table = tf.read(header)
    if table is None:
        raise InputError("colonnes attendues : action (ajouter ou retirer), code INSEE et territoire", shown)
    cols = table.columns
    code_col, territory_col = find_column(cols, "code_commune"), find_column(cols, "cpts")
    action_col = next(i for i, c in enumerate(cols) if c.strip().lower() in _ACTION_HEADERS)
    out = []
    for line, row in zip(table.lines, table.rows):
        action = _ACTIONS.get(str(row[action_col]).strip().lower())
        if action is None:
            raise InputError("action inconnue (attendu : ajouter ou retirer)", shown, line, row[action_col])
        code, territory = str(row[code_col]).strip(), str(row[territory_col]).strip()
        if not code or not territory:
            raise InputError("code INSEE ou territoire manquant", shown, line)
        out.append(Change(action, code, territory, f"fichier {Path(shown).name}, ligne {line}"))
    if not out:
        raise InputError("aucune modification dans le fichier", shown)
    return out


@dataclass
class Simulation:
    """A simulation: the check ``before`` and ``after`` (that of the corrected file), the ``changes`` (JSON-ready
    dicts, see :func:`simulate`), the corrected file's ``name`` and the files ``written`` (with ``out_dir``)."""

    before: CheckReport
    after: CheckReport
    changes: list[dict]
    name: str
    written: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON document of ``cpts-diag simulate --json``: ``before`` and ``after`` are the check documents of
        ``cpts-diag check --json``, ``changes`` what differs."""
        return {"before": self.before.to_dict(), "after": self.after.to_dict(), "changes": self.changes}

    @property
    def exit_code(self) -> int:
        """That of ``cpts-diag check`` on the corrected file: 1 when it still has a blocking finding."""
        return self.after.exit_code


# ------------------------------------------------------------------------------------------ changes


def resolve_changes(changes: list[Change], perimeters: Perimeters) -> list[Change]:
    """The changes with the exact names of their territories in ``perimeters`` (:func:`find_territory`: case and
    accents ignored, a unique close match); an unknown name raises an InputError naming the change."""
    names = list(dict.fromkeys(perimeters.table["cpts"].astype(str)))
    resolved = []
    for change in changes:
        try:
            resolved.append(dataclasses.replace(change, territory=find_territory(names, change.territory)))
        except InputError as err:
            raise InputError(f"{err.message} ({change.origin} {change})", value=change.territory) from None
    return resolved


def _unit_of(change: Change, reference: Reference) -> str:
    """The current unit of the code of a change: a commune, an arrondissement municipal, or the current commune of
    a former code."""
    try:
        code, _ = normalize_code(change.code)
    except CodeFormatError as exc:
        raise InputError(f"code commune invalide ({change.origin}) : {exc.reason}", value=change.code) from None
    resolved = reference.resolve_codes([code]).iloc[0]
    if resolved["status"] == UNKNOWN:
        raise InputError(f"code commune inconnu au {reference.vintage} ({change.origin})", value=change.code)
    return str(resolved["code_current"] if pd.isna(resolved["arrondissement"]) else resolved["arrondissement"])


def _edits(changes: list[Change], table: pd.DataFrame, members: pd.DataFrame, reference: Reference) -> list[Edit]:
    """The changes checked against the file, in order, as edits of the file (an addition then the removal of the
    same unit cancel each other)."""
    rows = members.assign(line=table["line"].to_numpy())
    added: dict[tuple[str, str], Edit] = {}
    removed: set[tuple[str, str]] = set()
    edits: list[Edit] = []
    for change in changes:
        action = action_of(change.action, change.origin)
        unit = _unit_of(change, reference)
        territory = change.territory
        exact_territory(table, territory)  # a name not in the file: InputError naming it
        name = reference.names.get(unit, unit)
        mine = rows[rows["cpts"] == territory]
        if unit in reference.arrondissements.index:
            parent = reference.arrondissements.at[unit, "commune_parente"]
            listing = mine[mine["arrondissement"].astype(object) == unit]
            whole = mine[(mine["code_insee"] == parent) & mine["arrondissement"].isna()]
        else:
            listing = mine[mine["code_insee"] == unit]
            whole = listing[listing["arrondissement"].isna()]
        key = (territory, unit)
        in_file = not listing.empty and key not in removed
        label = f"{unit} {name}"
        if action == REMOVE:
            if key in added:
                edits.remove(added.pop(key))
                continue
            if not in_file:
                why = f" (compris dans {whole.iloc[0]['code_insee']} listée entière)" if not whole.empty else ""
                raise InputError(f"{label} n'est pas dans {territory}{why} ({change.origin})", value=str(change))
            # the codes as the file gives them: a former code, the arrondissements of a commune given up whole (an
            # arrondissement's own row may give its commune's code: that one stays for the other arrondissements)
            given = list(listing["arrondissement"].dropna())
            if unit not in reference.arrondissements.index:
                given = list(listing["code_given"]) + given
            lines = tuple(int(x) for x in listing["line"])
            edits.append(Edit(REMOVE_EDIT, territory, unit, name, lines, tuple(dict.fromkeys(given))))
            removed.add(key)
        else:
            if (in_file or key in added) or (not whole.empty and key not in removed):
                raise InputError(f"{label} est déjà dans {territory} ({change.origin})", value=str(change))
            edit = Edit(ADD_EDIT, territory, unit, name)
            added[key] = edit
            edits.append(edit)
    if not edits:
        raise InputError("les modifications s'annulent : rien à simuler")
    return edits


def _edited_table(table: pd.DataFrame, edits: list[Edit]) -> pd.DataFrame:
    """The canonical table with ``edits`` applied (for a file the writer cannot write: a GeoPackage)."""
    drop = {(e.territory, line) for e in edits if e.action == REMOVE_EDIT for line in e.lines}
    keep = [(c, line) not in drop for c, line in zip(table["cpts"], table["line"])]
    last = int(table["line"].max())
    new = [
        {
            "cpts": e.territory,
            "code_insee": e.commune,
            "arrondissement": e.arrondissement,
            "infracommunal": e.arrondissement is not None,
            "line": last + i,
            "nom_commune": e.name if "nom_commune" in table and table["nom_commune"].notna().any() else None,
        }
        for i, e in enumerate((e for e in edits if e.action == ADD_EDIT), start=1)
    ]
    return pd.concat([table[keep], pd.DataFrame(new, columns=table.columns)], ignore_index=True).astype(table.dtypes)


# ------------------------------------------------------------------------------------------ differences


def _keys(kind: str, item: dict):
    """What identifies a finding across the two checks (lines move when rows are added or removed)."""
    if kind in ("orphans", "outside_file"):
        return item["code_insee"]
    if kind == "uncovered_arrondissements":
        return item["code"]
    if kind == "overlaps":
        return (item["code_insee"], item["kind"], tuple(item["territories"]))
    if kind in ("discontiguous", "island_territories"):
        return (item["territory"], tuple(tuple(p) for p in item["pieces"]))
    if kind == "enclaves":
        return (item["territory"], tuple(item["communes"]))
    if kind == "unverifiable":
        return (item["check"], item.get("territory"), tuple(item["communes"]))
    if kind == "duplicates":
        return (item["territory"], item["code_insee"], tuple(item["codes_given"]))
    if kind in ("outdated_codes", "unknown_codes"):
        return (item["territory"], item["code"])
    if kind == "name_mismatches":
        return (item["territory"], item["code_insee"], item["typed_name"])
    return (item["territory"], tuple(item["departements"]), tuple(item["regions"]))  # multi_departement


_STATE_KEYS = (
    "population",
    "population_min",
    "population_max",
    "tier",
    "tier_min",
    "tier_max",
    "tier_margin",
    "tier_threshold",
    "near_threshold",
    "n_communes",
)


def _indicators(tables: dict[str, pd.DataFrame], territories: list[str], reference: Reference) -> dict:
    """(side, territory) -> key indicator id -> value, bounds, unit, source and quality (:data:`KEY_INDICATORS`),
    for these territories only, in the perimeter tables ``tables`` (side -> table: before, after), in one pass."""
    keys = {f"{side} {i}": (side, name) for side in tables for i, name in enumerate(territories)}
    named = {pair: key for key, pair in keys.items()}
    parts = [
        table[table["cpts"].isin(territories)].assign(cpts=lambda d, side=side: [named[side, n] for n in d["cpts"]])
        for side, table in tables.items()
    ]
    values = territory_indicators(pd.concat(parts, ignore_index=True), list(KEY_INDICATORS), reference)
    return {
        keys[name]: {
            r.indicator: {
                "value": _float(r.value),
                "value_low": _float(r.value_low),
                "value_high": _float(r.value_high),
                "unit": r.unit,
                "source": f"{r.source} {r.vintage}",
                "quality": r.quality,
            }
            for r in part.itertuples(index=False)
        }
        for name, part in values.groupby("territory", sort=False)
    }


def _float(value):
    return None if fr.is_missing(value) else round(float(value), 4)


def _differences(
    before: CheckReport,
    after: CheckReport,
    edits: list[Edit],
    table_before: pd.DataFrame,
    table_after: pd.DataFrame,
    reference: Reference,
) -> list[dict]:
    population = unit_population(reference)
    out: list[dict] = [
        {
            "kind": "applied",
            "action": ADD if e.action == ADD_EDIT else REMOVE,
            "code_insee": e.code,
            "name": e.name,
            "population": json_int(population.get(e.code)),
            "territory": e.territory,
            "lines": list(e.lines),
        }
        for e in edits
    ]
    touched = list(dict.fromkeys(e.territory for e in edits))
    old = {t["name"]: t for t in before.territories}
    new = {t["name"]: t for t in after.territories}
    values = _indicators({"before": table_before, "after": table_after}, touched, reference)
    for name in dict.fromkeys([*old, *new]):
        a, b = old.get(name), new.get(name)
        state_a = {k: a[k] for k in _STATE_KEYS} if a else None
        state_b = {k: b[k] for k in _STATE_KEYS} if b else None
        if state_a == state_b and name not in touched:
            continue
        entry = {
            "kind": "territory",
            "territory": name,
            "before": state_a,
            "after": state_b,
            "tier_changes": (a and (a["tier_min"], a["tier_max"])) != (b and (b["tier_min"], b["tier_max"])),
        }
        if name in touched:
            entry["indicators"] = [
                {
                    "indicator": ind,
                    "label": label,
                    "before": values.get(("before", name), {}).get(ind),
                    "after": values.get(("after", name), {}).get(ind),
                }
                for ind, label in KEY_INDICATORS.items()
            ]
        out.append(entry)
    for kind in FINDING_KINDS:
        items_a, items_b = getattr(before, kind), getattr(after, kind)
        keys_a = {_keys(kind, i): i for i in items_a}
        keys_b = {_keys(kind, i): i for i in items_b}
        if keys_a.keys() == keys_b.keys():
            continue
        out.append(
            {
                "kind": "finding",
                "finding": kind,
                "n_before": len(items_a),
                "n_after": len(items_b),
                "added": [i for k, i in keys_b.items() if k not in keys_a],
                "removed": [i for k, i in keys_a.items() if k not in keys_b],
            }
        )
    if before.study_area != after.study_area:
        out.append({"kind": "study_area", "before": list(before.study_area), "after": list(after.study_area)})
    if before.blocking != after.blocking:
        out.append({"kind": "blocking", "before": before.blocking, "after": after.blocking})
    return out


# ------------------------------------------------------------------------------------------ simulation


def change_log(source_name: str, changes: list[dict], today: datetime.date | None = None) -> str:
    """The one-line change log of a corrected file.

    Examples
    --------
    >>> change_log("p.csv", [{"kind": "applied", "action": "ajouter", "code_insee": "04013", "name": "Aubignosc",
    ...                       "territory": "CPTS A", "lines": []}], datetime.date(2026, 1, 31))
    '2026-01-31 : p.csv corrigé par cpts-diag simulate (original non modifié) : 04013 Aubignosc ajoutée à CPTS A'
    """
    today = today or datetime.date.today()
    parts = [
        f"{c['code_insee']} {c['name']} "
        + (f"ajoutée à {c['territory']}" if c["action"] == ADD else f"retirée de {c['territory']}")
        for c in changes
        if c["kind"] == "applied"
    ]
    head = f"{today.isoformat()} : {source_name} corrigé par cpts-diag simulate (original non modifié)"
    return f"{head} : {' ; '.join(parts)}"


def simulate(
    perimeters,
    changes: list[Change],
    reference: Reference | None = None,
    *,
    geometries="default",
    regions=None,
    departements=None,
    sheet=None,
    territory: str | None = None,
    out_dir=None,
    before: CheckReport | None = None,
) -> Simulation:
    """Check ``perimeters`` (a Perimeters read from a file) before and after ``changes``.

    The options (``geometries``, ``regions``, ``departements``) are those of
    :func:`~cpts_diag.checks.check_perimeters`, the same for both checks; ``sheet`` and ``territory`` those the
    file was read with. ``before``: the check of ``perimeters`` with these options, when already computed.
    ``out_dir``: folder where the corrected file (same name) and ``<name>_modifications.txt`` are written; it must
    not be the original's folder.

    ``changes`` of the result: one ``applied`` entry per change (action, code_insee, name, population, territory,
    lines of the file removed), one ``territory`` entry per territory whose figures move or that a change touches
    (``before``/``after``: population, bounds, tier, tier margin, number of communes; None when the territory is
    not in that check; ``tier_changes``; ``indicators``: APL and 75+ before and after for the territories touched),
    one ``finding`` entry per kind of finding that differs (``n_before``, ``n_after``, ``added``, ``removed``:
    the items as in the check documents), and ``study_area`` / ``blocking`` entries when they change.
    """
    reference = reference if reference is not None else load_reference()
    if perimeters.source is None:
        raise InputError("simulation impossible sans fichier de périmètres")
    source = Path(perimeters.source)
    options = {"geometries": geometries, "regions": regions, "departements": departements}
    before = before if before is not None else check_perimeters(perimeters, reference, **options)
    table = perimeters.table
    edits = _edits(changes, table, before.members, reference)

    target = None
    if out_dir is not None:
        target = Path(out_dir) / source.name
        if target.exists() and target.resolve() == source.resolve():
            raise InputError(
                "le dossier de sortie est celui du fichier d'origine : choisissez un autre dossier (l'original n'est "
                "jamais modifié)",
                path=out_dir,
            )
    layout = perimeter_layout(source, sheet, reference.names)
    if layout.kind == "gpkg":
        if target is not None:
            raise InputError(UNSUPPORTED, source)
        after_perims = Perimeters(table=_edited_table(table, edits), warnings=list(perimeters.warnings), source=source)
        content = None
    else:
        content = corrected_copy(source, layout, edits, table.groupby("cpts", sort=False)["line"].agg(list).to_dict())
    with tempfile.TemporaryDirectory(prefix="cpts-diag-simulation-") as tmp:
        if content is not None:
            copy = Path(tmp) / source.name
            copy.write_bytes(content)
            after_perims = read_perimeters(copy, sheet=sheet, names_by_code=reference.names, territory=territory)
            shown = str(target) if target is not None else source.name
            after_perims.warnings = [w.replace(f"« {copy} »", f"« {shown} »") for w in after_perims.warnings]
            after_perims.source = target or Path(source.name)
        after = check_perimeters(after_perims, reference, **options)
    changes_out = _differences(before, after, edits, table, after_perims.table, reference)
    written = []
    if target is not None and content is not None:  # a GeoPackage target was refused above
        written = write_corrected(target, content, change_log(source.name, changes_out))
    return Simulation(before, after, changes_out, source.name, written)
