"""The Dask executor: the same task function on a ``dask.distributed`` cluster, report files sent back as bytes.

No shared file system: the input files travel once as bytes (one graph task), each report is built in a
scratch folder of its worker, and its files come back in the result, written here atomically
(:func:`accept_files`). A worker whose package or data differ from the client's refuses the task.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from cpts_diag.errors import InputError, error_message
from cpts_diag.reports.batch.worker import entry, environment_hash, input_files, run_one
from cpts_diag.reports.index_page import STATUS_FAILED, STATUS_OK

_CONNECT_TIMEOUT = 10  # seconds to reach a Dask scheduler
_ADDRESS_RE = re.compile(r"(tcp|tls|ws|wss|ucx)://[^\s/]+")
_KILLED_EVERY_TIME = (
    "le worker Dask s'est arrêté brutalement pendant ce territoire, à chaque essai (mémoire insuffisante ?) ; "
    "relancez ce territoire seul"
)


async def _probe_scheduler(address: str, timeout: float):
    """Identity of the Dask server at ``address`` (raises when it cannot be reached or read)."""
    import asyncio

    from distributed.comm import connect

    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await asyncio.wait_for(comm.read(), timeout)
    finally:
        comm.abort()


def connect(address: str):
    """A ``distributed.Client`` on the scheduler at ``address``; InputError (French, one line) when dask
    is not installed or the scheduler cannot be reached.

    The address is probed first (connection and ``identity`` request, in a private event loop): a
    ``Client`` that fails to start would otherwise complain on the terminal when garbage-collected.
    """
    address = str(address).strip()
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            'l\'option --cluster demande dask.distributed, non installé : pip install "cpts_diag[cluster]"'
        ) from None
    if not _ADDRESS_RE.fullmatch(address):
        raise InputError("adresse d'ordonnanceur Dask invalide (attendu : tcp://HÔTE:PORT)", value=address)
    import asyncio
    import logging

    loggers = [logging.getLogger(f"distributed{n}") for n in ("", ".client", ".comm.core", ".protocol.core", ".core")]
    levels = {lg: lg.level for lg in loggers}
    for lg in loggers:  # connection retries would otherwise be logged on the user's terminal
        lg.setLevel(logging.CRITICAL)
    try:
        hint = f" ; lancez « dask scheduler » puis « dask worker {address} » sur les machines de calcul"
        try:
            identity = asyncio.run(_probe_scheduler(address, _CONNECT_TIMEOUT))
        except (OSError, TimeoutError):  # refused, no route, timed out
            raise InputError("ordonnanceur Dask injoignable" + hint, value=address) from None
        except Exception:  # noqa: BLE001 - something answers, but not Dask's protocol
            identity = None
        if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
            raise InputError("cette adresse ne répond pas comme un ordonnanceur Dask" + hint, value=address)
        try:
            return Client(address, timeout=_CONNECT_TIMEOUT, set_as_default=False)
        except Exception as exc:  # noqa: BLE001
            raise InputError(
                f"connexion à l'ordonnanceur Dask impossible ({type(exc).__name__})", value=address
            ) from None
    finally:
        for lg, level in levels.items():
            lg.setLevel(level)


def accept_files(out_dir: Path, record: dict) -> dict:
    """Write the report files a Dask worker returned (``record["files"]``) into ``out_dir/<slug>``,
    atomically; the record without its bytes (failed when they cannot be written)."""
    from cpts_diag.reports.folder import write_report_folder

    files = record.pop("files", None)
    if files is None or record.get("status") != STATUS_OK:
        return record
    try:
        write_report_folder(out_dir, record["slug"], files)
    except (OSError, RuntimeError) as exc:
        return dict(
            record, status=STATUS_FAILED, outputs={}, error=f"écriture du rapport impossible : {error_message(exc)}"
        )
    return record


def _identity(value):
    """The value itself (a graph task that keeps the batch input files recomputable on a cluster)."""
    return value


def run_cluster(client, tasks, on_result) -> None:
    """Run ``tasks`` on a Dask cluster; every result goes to ``on_result`` as it arrives.

    A worker that dies during a territory makes the scheduler run that task again on another worker
    (``distributed.scheduler.allowed-failures`` times); after that the task ends in
    :class:`distributed.KilledWorker`. The scheduler counts a death against every territory the worker
    held, the one that killed it and those waiting beside it: as the local executor does with a broken pool,
    such territories are run again at the end, one at a time, so that only the culprit fails. Raises
    KeyboardInterrupt / Interrupt after cancelling the remaining tasks (a running task ends on its worker;
    its result is dropped, nothing is written).
    """
    import uuid

    from distributed import KilledWorker, as_completed

    inputs = input_files(tasks[0])  # the same input files for every task (there is at least one)
    environment = environment_hash()
    run_id = uuid.uuid4().hex[:8]
    # The input files are a task of the graph, not scattered data: when every worker holding them has
    # died, the scheduler computes them again instead of forgetting the territories that need them. Its key
    # is of another task group than the territories' ("fichiers-…" / "cpts-diag-…"): the territories then form
    # one large group with one small dependency, which Dask spreads over all workers ("root-ish" tasks)
    # instead of sending every territory to the one worker that holds the files.
    shared = client.submit(_identity, inputs, pure=False, key=f"fichiers-cpts-diag-{run_id}")
    futures = {}

    def submit(task, key: str):
        fut = client.submit(run_one, dataclasses.replace(task, environment=environment), shared, pure=False, key=key)
        futures[fut] = task
        return fut

    def entry_of(fut, task) -> dict:
        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 - e.g. a lost connection: this territory fails
            return entry(task, STATUS_FAILED, None, error_message(exc))
        finally:
            fut.release()

    suspects = []
    try:
        for task in tasks:
            submit(task, f"cpts-diag-{run_id}-{task.slug}")
        for fut in as_completed(list(futures), loop=client.loop):
            if isinstance(fut.exception(), KilledWorker):
                suspects.append(futures[fut])
                fut.release()
            else:
                on_result(entry_of(fut, futures[fut]))
        for task in suspects:  # alone on the cluster: a second KilledWorker is this territory's own
            fut = submit(task, f"cpts-diag-{run_id}-seul-{task.slug}")
            if isinstance(fut.exception(), KilledWorker):
                fut.release()
                on_result(entry(task, STATUS_FAILED, None, _KILLED_EVERY_TIME))
            else:
                on_result(entry_of(fut, task))
    except BaseException:
        client.cancel([*futures, shared])
        raise
    shared.release()
