"""What a batch has to do: the territories selected, their fingerprints, one :class:`Task` per report to build.

A re-run redoes only what changed or failed: each territory has a *fingerprint*, the SHA-256 of its member rows
(name, codes, arrondissements, infra-communal flag; not the line numbers), of its perimeter findings, of the
embedded data files, of the user files used (CPAM table, INSEE ages, BPE), of the report notebook and of the
package source. A territory is skipped (status ``inchangé``) when its fingerprint equals the recorded one, its
previous status was ok and its outputs are all present; ``force`` redoes everything. Limitation: a change in a
*neighbouring* territory's perimeter (drawn on the maps) does not change the fingerprint; use ``force`` after
such edits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cpts_diag import fr_format as fr
from cpts_diag.errors import InputError
from cpts_diag.io.atomic import file_sha256
from cpts_diag.io.fingerprint import run_fingerprint
from cpts_diag.reports.index_page import STATUS_OK, STATUS_UNCHANGED


@dataclass(frozen=True)
class Task:
    """One territory report to build, the same for a local worker and a Dask worker (picklable).

    ``out_dir`` is the batch folder; ``perimeters``, ``cpam``, ``insee_ages``, ``bpe`` the inputs (paths as
    strings, ``cpam`` also ``"exemple"`` / ``"aucun"``); ``timeout`` seconds per cell; ``deliver`` is ``"folder"``
    (the report is swapped into ``out_dir/<slug>``) or ``"files"`` (its files come back as bytes, Dask);
    ``notebook`` the report notebook (None: the package's notebook 02); ``environment`` the hash of the
    client's package and data, checked by a Dask worker.
    """

    name: str
    slug: str
    fingerprint: str
    perimeters: str
    out_dir: str
    cpam: str | None = None
    insee_ages: str | None = None
    bpe: str | None = None
    timeout: int = 600
    deliver: str = "folder"
    notebook: str | None = None
    environment: str | None = None


def context_hash(cpam, insee_ages, bpe, notebook=None) -> str:
    """Hash of everything but the perimeter: data, user files, report notebook (default notebook 02), package."""
    from cpts_diag.reports.runner import NOTEBOOK

    notebook = Path(notebook or NOTEBOOK)
    # The perimeter listings are covered by each territory's member rows.
    return run_fingerprint(
        {"cpam": cpam, "insee_ages": insee_ages, "bpe": bpe},
        notebook=file_sha256(notebook) if notebook.is_file() else None,
    )


def territory_fingerprint(table, name: str, context: str, findings: dict | None = None) -> str:
    """SHA-256 of one territory: its member rows in ``table`` (the canonical perimeter table), the run's
    ``context`` (:func:`context_hash`) and its perimeter ``findings`` (:func:`cpts_diag.checks.territory_findings`),
    which other territories of the file change (an overlap, an orphan around it) and its report shows."""
    rows = table[table["cpts"].astype(str) == name]
    cols = [c for c in ("code_insee", "arrondissement", "infracommunal") if c in rows.columns]
    members = sorted(["" if fr.is_missing(v) else str(v) for v in rec] for rec in rows[cols].itertuples(index=False))
    doc = {"name": name, "members": members, "context": context, "perimeter": findings}
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def select_territories(perimeters, only=None, region=None, reference=None) -> list[str]:
    """Names of the territories of a batch, in file order.

    ``perimeters`` are read by :func:`cpts_diag.io.perimeters.read_perimeters`. ``only`` keeps these names
    (resolved with :func:`cpts_diag.indicators.find_territory`: exact, or a unique close match); ``region``
    (a code) keeps the territories with at least one commune in that région. Raises :class:`InputError`
    for an unknown territory (close names listed) or région code, or when no territory is left.
    """
    from cpts_diag.indicators import find_territory
    from cpts_diag.reference import load_reference
    from cpts_diag.territories import territories_in_region

    names = list(dict.fromkeys(perimeters.table["cpts"].astype(str)))
    path = Path(perimeters.source) if getattr(perimeters, "source", None) else None
    if only:
        wanted = {find_territory(names, q, path) for q in map(str, only)}
        names = [n for n in names if n in wanted]
    if region not in (None, ""):
        reference = reference or load_reference()
        code = reference.region_code(region, "option --region")
        in_region = set(territories_in_region(perimeters, code, reference))
        names = [n for n in names if n in in_region]
        if not names:
            raise InputError(f"aucun territoire n'a de commune dans la région {code}", path=path)
    return names


def plan_tasks(perims, names, slugs, previous, out_dir: Path, context: str, options: dict, force: bool, reference):
    """Split ``names`` into the reports to build and the unchanged ones.

    ``previous`` are the records of the last ``batch.json`` by name, ``options`` the :class:`Task` fields shared
    by every task. Returns ``(tasks, unchanged)``: the :class:`Task` list, and name -> its record (status
    ``inchangé``) for a territory whose fingerprint, slug and outputs are those of its last successful run.
    """
    from cpts_diag.checks import check_perimeters, territory_findings

    check = check_perimeters(perims, reference)  # the reports' perimeter findings: a change re-runs the report
    tasks, unchanged = [], {}
    for name in names:
        fp = territory_fingerprint(perims.table, name, context, territory_findings(check, name))
        prev = previous.get(name)
        if (
            not force
            and prev
            and prev.get("fingerprint") == fp
            and prev.get("status") in (STATUS_OK, STATUS_UNCHANGED)
            and prev.get("slug") == slugs[name]
            and prev.get("outputs")
            and all((out_dir / rel).is_file() for rel in prev["outputs"].values())
        ):
            unchanged[name] = dict(prev, status=STATUS_UNCHANGED, duration_s=0.0, error=None)
            continue
        tasks.append(Task(name=name, slug=slugs[name], fingerprint=fp, **options))
    return tasks, unchanged
