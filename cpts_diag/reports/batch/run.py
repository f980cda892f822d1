"""Run a batch: select, plan, run the ARS view then the reports (local pool or Dask), record; the synthesis alone.

Both executors, local worker processes that each keep a warm Jupyter kernel (:mod:`~cpts_diag.reports.batch.pool`)
and a Dask cluster (:mod:`~cpts_diag.reports.batch.cluster`), run the same task function
(:func:`~cpts_diag.reports.batch.worker.run_one`) and result handling. One failure does not stop the others: its
French one-line message is recorded. Ctrl-C or SIGTERM stops cleanly; the exit code is then 130.
"""

from __future__ import annotations

import multiprocessing.spawn
import sys
import time
from pathlib import Path

from cpts_diag import settings
from cpts_diag.io.lock import output_lock
from cpts_diag.io.params import cpam_choice
from cpts_diag.reports.batch import cluster as dask_cluster
from cpts_diag.reports.batch import pool
from cpts_diag.reports.batch.plan import context_hash, plan_tasks, select_territories
from cpts_diag.reports.batch.records import (
    BATCH_FILE,
    BATCH_FORMAT,
    LOG_FILE,
    STATE_EVERY_S,
    BatchResult,
    read_doc,
    read_previous,
    refresh_index,
    write_state,
)
from cpts_diag.reports.batch.worker import entry, remove_stale_scratch
from cpts_diag.reports.index_page import INDEX_FILE, STATUS_FAILED, STATUS_OK, STATUS_UNCHANGED


def run_batch(
    perimeters=None,
    only=None,
    region=None,
    workers: int = 2,
    out_dir=None,
    cpam=None,
    force: bool = False,
    progress: bool = True,
    *,
    insee_ages=None,
    bpe=None,
    timeout: int = 600,
    cluster: str | None = None,
    territory: str | None = None,
    regional: bool | None = None,
    notebook=None,
) -> BatchResult:
    """Build the reports of many territories in parallel, and the ARS view; write ``batch.json`` and ``index.html``.

    ``perimeters`` defaults to the embedded PACA listing (:data:`settings.DEFAULT_PERIMETERS`), ``out_dir`` to
    :data:`settings.REPORTS_DIR`. ``only`` names the territories to build (the others of the file are left as
    they are); ``region``, a région code, keeps those with at least one commune in it. ``workers`` worker
    processes run the reports in parallel. ``cpam`` is the CPAM / Rézone table: a path, ``"exemple"``
    (embedded FICTITIOUS table), ``"aucun"``, or None for the default (the example with the embedded PACA
    listing only, :func:`cpts_diag.io.params.cpam_choice`); ``insee_ages`` and ``bpe`` are user files passed to every
    report; ``timeout`` is the maximum number of seconds per notebook cell. ``force`` rebuilds every selected
    territory even when unchanged; ``progress`` shows a progress bar (stderr).

    ``territory`` names the territory of a file without territory column (default: its title line, else its
    file name; ignored, with a remark on stderr, for a file with a territory column). ``notebook`` is the report
    notebook run for each territory (default: the package's notebook 02); its content is part of the fingerprints.

    ``cluster``, the address of a ``dask.distributed`` scheduler (``tcp://HOST:8786``), runs the territories
    as tasks on its workers (``workers`` is then ignored) instead of local worker processes; their report
    files come back as bytes and are written here atomically, so the workers need no access to this
    machine's files.

    ``regional`` (default: when ``only`` is not given) first writes the ARS view of the file, on this machine:
    for ``region`` (declared as study area), or for each région where the file has a commune (study area by
    :data:`cpts_diag.checks.REGION_VIEW_RULE`), the perimeter check, the regional synthesis and the regional map
    in a folder per région (:func:`cpts_diag.reports.regional_view.run_regional_views`), linked from the index;
    unchanged régions are kept. Without it, the régions of the last run stay as they are.

    ``out_dir`` has one writer at a time (:func:`cpts_diag.io.lock.output_lock`): while another batch, demo or
    synthesis writes there, this one stops at once with an :class:`InputError` naming it. Relative paths are taken
    from the current folder (:func:`settings.user_path`).

    The result's ``exit_code`` is 1 when a territory or a région failed, 130 when interrupted. Raises
    :class:`InputError` for an unreadable perimeter file, an unknown territory in ``only`` or an unknown région;
    with ``cluster``, when dask is not installed or the scheduler is unreachable.
    """
    from cpts_diag.io.perimeters import ignored_name_note, read_perimeters
    from cpts_diag.reference import load_reference

    t0 = time.perf_counter()
    perimeters_path = settings.user_path(perimeters) or Path(settings.DEFAULT_PERIMETERS)
    out_dir = settings.user_path(out_dir) or Path(settings.REPORTS_DIR)
    choice = cpam_choice(cpam, perimeters_path)
    reference = load_reference()
    perims = read_perimeters(perimeters_path, names_by_code=reference.names, territory=territory)
    if note := ignored_name_note(perims, territory):
        print(note, file=sys.stderr)
    names = select_territories(perims, only=only, region=region, reference=reference)
    client = dask_cluster.connect(cluster) if cluster else None
    options = {
        "perimeters": str(perimeters_path),
        "out_dir": str(out_dir),
        "cpam": choice.value,
        "insee_ages": settings.user_path(insee_ages),
        "bpe": settings.user_path(bpe),
        "timeout": timeout,
        "deliver": "files" if client else "folder",
        "notebook": str(settings.user_path(notebook)) if notebook else None,
    }
    # A script without ``if __name__ == "__main__":`` re-run by a starting worker: multiprocessing's own message,
    # not the lock held by the very batch that started it.
    getattr(multiprocessing.spawn, "_check_not_importing_main", lambda: None)()
    try:
        with output_lock(out_dir):
            return _run_locked(
                perims,
                names,
                reference,
                choice,
                options,
                client,
                cluster=cluster,
                workers=workers,
                force=force,
                progress=progress,
                region=region,
                regional=not only if regional is None else regional,
                territory=territory,
                t0=t0,
            )
    finally:
        if client is not None:
            client.close()


def _run_locked(perims, names, reference, choice, options, client, *, cluster, workers, force, progress, t0, **view):
    """The part of :func:`run_batch` that writes in ``out_dir`` (its lock held): plan, ARS view, reports, record."""
    from cpts_diag.reports.folder import unique_slugs

    out_dir = Path(options["out_dir"])
    all_names = list(dict.fromkeys(perims.table["cpts"].astype(str)))
    slugs = unique_slugs(all_names)
    context = context_hash(options["cpam"], options["insee_ages"], options["bpe"], options["notebook"])
    previous_doc = read_doc(out_dir / BATCH_FILE)
    previous = read_previous(previous_doc)
    # Keep the records of territories of the same file not selected this time (index stays complete).
    entries: dict[str, dict] = {n: previous[n] for n in all_names if n in previous and n not in names}
    same_file = previous_doc.get("perimeters") == options["perimeters"]
    meta = {
        "format": BATCH_FORMAT,
        "perimeters": options["perimeters"],
        "cpam": None if choice.mode == "aucun" else choice.parameter,
        "workers": None if client else int(workers),
        "cluster": cluster or None,
        # the ARS view of the last run of the same file, until this run's replaces it
        "regions": (previous_doc.get("regions") or []) if same_file else [],
    }
    tasks, this_run = plan_tasks(perims, names, slugs, previous, out_dir, context, options, force, reference)
    for name in names:
        if name in this_run or name in previous:
            entries[name] = this_run.get(name) or previous[name]  # a previous record kept until the new one
    interrupted, regions = False, []
    if view["regional"]:
        from cpts_diag.reports.regional_view import run_regional_views

        try:
            with pool.sigterm_interrupts():
                regions = run_regional_views(
                    perims,
                    view["region"],
                    out_dir,
                    options["cpam"],
                    force=force,
                    previous=meta["regions"],
                    timeout=options["timeout"],
                    progress=progress,
                    territory=view["territory"],
                )
            meta["regions"] = regions
        except (KeyboardInterrupt, pool.Interrupt):
            print("Interruption : vue régionale en cours arrêtée, état enregistré.", file=sys.stderr)
            interrupted = True
    if tasks and not interrupted:
        with pool.sigterm_interrupts():
            interrupted = _execute(tasks, entries, this_run, out_dir, meta, workers, progress, client)
    write_state(
        out_dir, entries, dict(meta, duration_s=round(time.perf_counter() - t0, 3)), index=True, interrupted=interrupted
    )
    run_entries = [this_run[n] for n in names if n in this_run]
    counts = {s: sum(1 for e in run_entries if e["status"] == s) for s in (STATUS_OK, STATUS_UNCHANGED, STATUS_FAILED)}
    return BatchResult(
        entries=run_entries,
        out_dir=out_dir,
        index=out_dir / INDEX_FILE,
        batch_json=out_dir / BATCH_FILE,
        duration=time.perf_counter() - t0,
        interrupted=interrupted,
        fictitious=meta["cpam"] == "exemple",
        counts=counts,
        regions=regions,
    )


def _execute(tasks, entries, this_run, out_dir, meta, workers, progress, client=None) -> bool:
    """Run ``tasks`` in worker processes, or on the Dask cluster of ``client``; return True when interrupted.

    Both executors run :func:`~cpts_diag.reports.batch.worker.run_one` and hand its results to the same
    ``on_result``. Locally, when a worker dies (the pool is then broken), the territories it took down with it
    are retried one by one, each in a fresh single-worker pool, so that only the culprit fails, with the reason
    its worker ended (:func:`~cpts_diag.reports.batch.pool.pool_failure`). When that worker could not even
    start, no other will: the remaining territories fail with the same reason, without a retry each.
    """
    from tqdm import tqdm

    ctx = None if client is not None else pool.mp_context()  # before the bar: it may start the fork server
    bar = tqdm(
        total=len(tasks),
        desc="Rapports des CPTS",
        unit="territoire",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    failures = [0]
    last_write = [time.monotonic()]

    def on_result(record: dict) -> None:
        if record.get("status") not in (STATUS_OK, STATUS_FAILED) or record["name"] in this_run:
            return
        record = dask_cluster.accept_files(out_dir, record)  # the files of a Dask worker's report
        record.setdefault("outputs", {})
        entries[record["name"]] = this_run[record["name"]] = record
        failures[0] += record["status"] == STATUS_FAILED
        if failures[0]:
            bar.set_postfix_str(f"{failures[0]} échec{'s' if failures[0] > 1 else ''}", refresh=False)
        bar.update(1)
        if time.monotonic() - last_write[0] >= STATE_EVERY_S:
            write_state(out_dir, entries, meta, index=False)
            last_write[0] = time.monotonic()

    try:
        if client is not None:
            dask_cluster.run_cluster(client, tasks, on_result)
            return False
        remove_stale_scratch()  # left by workers killed in an earlier run
        assert ctx is not None
        stop_event = ctx.Event()
        log_path = str(out_dir / LOG_FILE)
        Path(log_path).write_text("", encoding="utf-8")  # one log per run
        broken, _ = pool.run_pool(tasks, max(1, min(int(workers), len(tasks))), ctx, stop_event, on_result, log_path)
        no_start = None  # a worker cannot start: the next ones would not either
        for task in broken:
            if no_start is not None:
                on_result(entry(task, STATUS_FAILED, None, no_start.message))
                continue
            lost, failure = pool.run_pool([task], 1, ctx, stop_event, on_result, log_path)
            if failure is None:
                continue
            for t in lost:  # lost again: the culprit, or no worker can start
                on_result(entry(t, STATUS_FAILED, None, failure.message))
            if failure.at_start:
                no_start = failure
    except (KeyboardInterrupt, pool.Interrupt):
        bar.write("Interruption : rapports en cours arrêtés, état enregistré.", file=sys.stderr)
        return True
    finally:
        bar.close()
    return False


def run_synthesis(
    perimeters=None, region: str = "93", out_dir=None, cpam=None, timeout: int = 600, *, declared: bool = False
) -> Path:
    """Execute the regional synthesis notebook (03) into ``out_dir``; return the path of its HTML page.

    ``perimeters`` defaults to the embedded PACA listing, ``region`` is a région code (string), ``cpam`` as
    for :func:`run_batch`; ``declared`` makes the région the study area of its orphans (else
    :data:`cpts_diag.checks.REGION_VIEW_RULE`). ``out_dir`` (default :data:`settings.REPORTS_DIR`) receives
    ``synthese_regionale.ipynb``, ``synthese_regionale.html`` (no code, self-contained) and
    ``carte_regionale.html`` (offline), written by :func:`cpts_diag.reports.regional_view.write_synthesis`; an
    existing batch index then links them. Relative paths are taken from the current folder. Raises
    :class:`InputError` for unusable input (also when raised inside the notebook), :class:`RuntimeError` for any
    other failure.
    """
    from cpts_diag.reports.regional_view import write_synthesis

    out_dir = settings.user_path(out_dir) or Path(settings.REPORTS_DIR)
    with output_lock(out_dir):
        target = write_synthesis(perimeters, region, out_dir, cpam, timeout, declared=declared)
        refresh_index(out_dir)  # link the synthesis from an existing batch index
    return target
