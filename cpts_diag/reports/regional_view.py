"""The ARS view of a perimeter file: for each région, its perimeter check, regional synthesis and regional map.

What ``cpts-diag demo`` writes for PACA, for any listing. For each région, a folder ``out_dir/<folder>/``
(``region-53-bretagne``) holds :data:`REGION_FILES`:

* ``controle_perimetres.xlsx`` and ``controle_perimetres.gpkg``: the check of the territories with a commune
  in the région (:func:`cpts_diag.checks.check_region`), its study area said in the workbook;
* ``synthese_regionale.html`` and the executed ``synthese_regionale.ipynb``: notebook 03 for the région;
* ``carte_regionale.html``: the regional interactive map, offline;
* ``carte_propositions.html``: the proposal map of the check (:func:`cpts_diag.outputs.check_outputs.proposal_web_map`).

Which régions (:func:`plan_regions`): the one asked for (``--region``), else every région where a territory of the
file has a commune. Which study area (:data:`cpts_diag.checks.REGION_VIEW_RULE`): the région asked for is declared
(its communes outside the file are orphans); otherwise the région when the file holds more than half of its
communes and of its population, else the départements of the région that the file lists for more than half;
elsewhere the communes outside the file are « hors fichier », never orphans: counting as orphans the communes of a
région that the file barely touches would say, falsely, that they have no CPTS. Notebook 03 applies the same rule
(``zone_etude_region`` declares the région).

A région folder is built in a temporary folder beside it and swapped in complete (never half-written). Each
région has a fingerprint (the rows of its territories, the reading notes, the CPAM table, the embedded data,
the package and notebook 03): a re-run redoes only the régions whose fingerprint changed, whose last run
failed or whose files are missing.

Examples
--------
>>> records = run_regional_views("mes_cpts.csv", out_dir="rapports")  # skipped: runs notebooks  # doctest: +SKIP
>>> [(r["code"], r["status"], r["study_area"]) for r in records]  # skipped: needs the run  # doctest: +SKIP
[('52', 'ok', ['44', '49', '53', '72', '85']), ('53', 'ok', ['22', '29', '35', '56']), ('28', 'ok', [])]
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from cpts_diag import fr_format as fr
from cpts_diag import settings
from cpts_diag.checks import CheckReport
from cpts_diag.errors import InputError, error_message
from cpts_diag.io.atomic import atomic_path, atomic_write_text, file_sha256
from cpts_diag.io.fingerprint import run_fingerprint
from cpts_diag.io.params import cpam_choice
from cpts_diag.outputs.html import json_ready
from cpts_diag.reference import load_reference
from cpts_diag.reports.folder import building, slugify
from cpts_diag.reports.index_page import STATUS_FAILED, STATUS_OK, STATUS_UNCHANGED

SYNTHESIS_NOTEBOOK = settings.NOTEBOOKS_DIR / "03_synthese_regionale.ipynb"

#: Files of a région folder (kind -> name); the GeoPackage is absent when no polygon is available.
REGION_FILES = {
    "synthese": "synthese_regionale.html",
    "carte": "carte_regionale.html",
    "controle": "controle_perimetres.xlsx",
    "controle_gpkg": "controle_perimetres.gpkg",
    "propositions": "carte_propositions.html",
    "notebook": "synthese_regionale.ipynb",
}


def region_folder(code: str, name: str) -> str:
    """Folder of a région's view in the output folder.

    Examples
    --------
    >>> region_folder("93", "Provence-Alpes-Côte d'Azur")
    'region-93-provence-alpes-cote-d-azur'
    """
    return slugify(f"région {code} {name}")


def plan_regions(perimeters, reference=None, region: str | None = None) -> list[dict]:
    """The régions of a perimeter set, each to get its view, largest coverage first.

    ``perimeters``: read by :func:`cpts_diag.io.perimeters.read_perimeters`. ``region``, a région code, asks for
    that région alone, declared as study area. Records: ``code``, ``name``, ``folder``, ``declared`` (the région
    is the study area because it was asked for), ``mostly_covered`` (the file holds more than half of the
    région's communes and population: the région is the study area), ``territories`` (names, file order),
    ``straddling`` (territory -> other régions, French names), ``n_communes``, ``n_covered``, ``population``,
    ``population_covered`` (see :func:`cpts_diag.territories.region_coverage`).
    """
    from cpts_diag.territories import region_coverage

    reference = reference or load_reference()
    wanted = None if region in (None, "") else reference.region_code(region, "option --region")
    coverage = region_coverage(perimeters, reference)
    if wanted is not None and wanted not in coverage.index:
        source = getattr(perimeters, "source", None)
        raise InputError(f"aucun territoire n'a de commune dans la région {wanted}", path=source)
    plans = [
        {
            "code": code,
            "name": c["name"],
            "folder": region_folder(code, c["name"]),
            "declared": wanted is not None,
            "mostly_covered": bool(c["mostly_covered"]),
            "territories": list(c["territories"]),
            "straddling": {
                t: [f"{reference.region_name(r)} ({r})" for r in others] for t, others in c["straddling"].items()
            },
            "n_communes": int(c["n_communes"]),
            "n_covered": int(c["n_covered"]),
            "population": float(c["population"]),
            "population_covered": float(c["population_covered"]),
        }
        for code, c in coverage.iterrows()
        if wanted is None or code == wanted
    ]
    plans.sort(key=lambda p: (-p["population_covered"] / p["population"], p["code"]))
    return plans


def write_synthesis(
    perimeters,
    region: str,
    folder,
    cpam="aucun",
    timeout: int = 600,
    *,
    declared: bool = False,
    territory: str | None = None,
) -> Path:
    """Execute notebook 03 for ``region`` and write into ``folder`` its three files; return the HTML page.

    ``folder`` receives ``synthese_regionale.ipynb``, ``synthese_regionale.html`` (no code, self-contained) and
    ``carte_regionale.html`` (written by the notebook), each complete or not at all. ``perimeters``: a file
    (None: the embedded PACA listing); ``cpam`` as for :func:`cpts_diag.io.params.cpam_choice`; ``declared``:
    the région is the study area (notebook parameter ``zone_etude_region``), else the rule of the module;
    ``territory`` names the territory of a file without territory column (``territoire``). Raises
    :class:`InputError` for unusable input, :class:`RuntimeError` for any other failure of the notebook.
    """
    from cpts_diag.reports.runner import execute_notebook, file_parameter, notebook_to_html

    folder = settings.user_path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    code = load_reference().region_code(region, "paramètre region")
    params = {
        "perimetres": file_parameter(perimeters),
        "region": code,
        "fichier_cpam": cpam_choice(cpam, perimeters).parameter,
        "dossier_sortie": str(folder),
        "zone_etude_region": bool(declared),
        "territoire": territory or "",
    }
    with tempfile.TemporaryDirectory(prefix=".synthese.", dir=folder) as tmp:
        tmp_nb = Path(tmp) / REGION_FILES["notebook"]
        # run in ``folder``: the page links the map it writes there as « carte_regionale.html », beside it
        nb = execute_notebook(SYNTHESIS_NOTEBOOK, tmp_nb, params, timeout, folder)
        html = notebook_to_html(nb, f"Synthèse régionale des CPTS — {load_reference().region_name(code)} ({code})")
        with atomic_path(folder / REGION_FILES["notebook"]) as p:
            os.replace(tmp_nb, p)
    return atomic_write_text(folder / REGION_FILES["synthese"], html)


def _context(cpam) -> str:
    """Hash of what a région's view reads besides its territories: CPAM table, data, package, notebook 03."""
    return run_fingerprint({"cpam": cpam}, notebook=file_sha256(SYNTHESIS_NOTEBOOK))


def _fingerprint(perims, plan: dict, context: str) -> str:
    """SHA-256 of a région's inputs: its code, its territories' rows (every column, line numbers included: the
    check shows them), the file's name and reading notes, and ``context``."""
    table = perims.table
    rows = table[table["cpts"].astype(str).isin(plan["territories"])]
    members = sorted(
        json.dumps(["" if fr.is_missing(v) else str(v) for v in rec], ensure_ascii=False)
        for rec in rows.itertuples(index=False)
    )
    doc = {
        "region": plan["code"],
        "declared": plan["declared"],
        "columns": list(table.columns),
        "members": members,
        "file": Path(perims.source).name if perims.source else None,
        "warnings": list(perims.warnings),
        "context": context,
    }
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def _build(perims, plan: dict, out_dir: Path, cpam, reference, timeout: int, territory) -> tuple[dict, CheckReport]:
    """Build one région's folder (temporary folder, swapped in complete); return (outputs, check report)."""
    from cpts_diag.checks import check_region
    from cpts_diag.outputs.check_outputs import write_check_outputs

    with building(out_dir, plan["folder"]) as tmp:
        report = check_region(perims, plan["code"], reference, declared=plan["declared"])
        write_check_outputs(report, tmp)
        write_synthesis(perims.source, plan["code"], tmp, cpam, timeout, declared=plan["declared"], territory=territory)
        names = {p.name for p in tmp.iterdir() if p.is_file()}
    outputs = {kind: f"{plan['folder']}/{name}" for kind, name in REGION_FILES.items() if name in names}
    return outputs, report


def run_regional_views(
    perimeters=None,
    region: str | None = None,
    out_dir=None,
    cpam="aucun",
    *,
    force: bool = False,
    previous: list[dict] | None = None,
    timeout: int = 600,
    progress: bool = False,
    territory: str | None = None,
) -> list[dict]:
    """Write the ARS view of each région of a perimeter file (see the module); return one record per région.

    ``perimeters``: a file (None: the embedded PACA listing); ``region``: a région code, to build that région
    alone, declared as study area (whatever the file's coverage); ``out_dir``: default
    :data:`settings.REPORTS_DIR`; ``cpam`` as for :func:`cpts_diag.io.params.cpam_choice`. ``previous``: the
    records of the last run (``batch.json``), whose unchanged régions are kept (status ``inchangé``) unless
    ``force``. ``territory`` names the territory of a file without territory column (as ``batch --territoire``).
    ``perimeters`` may also be perimeters already read (:class:`cpts_diag.io.perimeters.Perimeters`, by the batch).

    Records (JSON-ready), those of :func:`plan_regions` and: ``status`` (``ok``, ``échec`` or ``inchangé``),
    ``fingerprint``, ``duration_s``, ``error`` (French, one line), ``outputs`` (kind -> path relative to
    ``out_dir``), ``check`` (the check's summary counts), ``study_area`` (département codes of the check's study
    area), ``study_area_rule`` (French) and ``fictitious`` (the synthesis uses the fictitious CPAM table). A
    région that fails does not stop the others. Raises :class:`InputError` for an unreadable file or an unknown
    région.
    """
    from tqdm import tqdm

    from cpts_diag.io.perimeters import Perimeters, read_perimeters

    out_dir = settings.user_path(out_dir) or Path(settings.REPORTS_DIR)
    reference = load_reference()
    if isinstance(perimeters, Perimeters) and perimeters.source is not None:  # read once by the batch
        perims, path = perimeters, Path(perimeters.source)
    else:
        path = settings.user_path(perimeters) or Path(settings.DEFAULT_PERIMETERS)
        perims = read_perimeters(path, names_by_code=reference.names, territory=territory)
    plans = plan_regions(perims, reference, region)
    before = {r.get("code"): r for r in previous or [] if isinstance(r, dict)}
    context = _context(cpam)
    fictitious = cpam_choice(cpam, path).mode == "exemple"
    records = []
    if plans:
        out_dir.mkdir(parents=True, exist_ok=True)
    for plan in tqdm(plans, desc="Vues régionales", unit="région", disable=not progress or not plans):
        record = dict(plan)
        fp = _fingerprint(perims, plan, context)
        prev = before.get(plan["code"]) or {}
        if (
            not force
            and prev.get("fingerprint") == fp
            and prev.get("status") in (STATUS_OK, STATUS_UNCHANGED)
            and prev.get("outputs")
            and all((out_dir / rel).is_file() for rel in prev["outputs"].values())
        ):
            records.append(dict(prev, **record, status=STATUS_UNCHANGED, duration_s=0.0, error=None))
            continue
        t0 = time.perf_counter()
        try:
            outputs, check = _build(perims, plan, out_dir, cpam, reference, timeout, territory)
            record.update(
                status=STATUS_OK,
                outputs=outputs,
                check=dict(check.summary),
                study_area=list(check.study_area),
                study_area_rule=check.study_area_rule,
                error=None,
                fictitious=fictitious,
            )
        except Exception as exc:  # noqa: BLE001 - one région failing must not stop the others
            record.update(status=STATUS_FAILED, outputs={}, error=error_message(exc))
        record.update(fingerprint=fp, duration_s=round(time.perf_counter() - t0, 3))
        records.append(record)
    return json_ready(records)
