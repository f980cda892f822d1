"""One writer at a time in an output folder: a lock file that the system releases when its process ends.

:func:`output_lock` holds an exclusive ``fcntl.flock`` on ``DOSSIER/cpts-diag.lock`` (the file says who holds
it: pid, start time, command line). The lock belongs to the open file, so the system releases it when its
process ends, however it ends (``kill -9`` included): no stale lock. A second process stops at once with a
French one-line :class:`InputError` naming the holder. Within one process the lock is re-entrant (a batch takes
it, then its regional view takes it again).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shlex
import sys
from pathlib import Path

from cpts_diag.errors import InputError

LOCK_FILE = "cpts-diag.lock"
_HELD: set[str] = set()  # resolved folders whose lock this process holds


def _holder(path: Path) -> str:
    """« pid N, lancé le JJ/MM/AAAA à HH:MM : commande » read from a lock file (what is known of it)."""
    try:
        pid, started, command = (path.read_text(encoding="utf-8").split("\n") + ["", ""])[:3]
    except OSError:
        return "processus inconnu"
    parts = [f"pid {pid}" if pid.isdigit() else "pid inconnu"]
    with contextlib.suppress(ValueError):
        parts.append(f"lancé le {_dt.datetime.fromisoformat(started):%d/%m/%Y à %H:%M}")
    return ", ".join(parts) + (f" : {command}" if command else "")


def _command() -> str:
    """The command line of this process as she would type it (``cpts-diag batch …``, ``python lot.py``)."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "-c"
    first = "cpts-diag" if name in ("cpts-diag", "cli.py") else f"python {name}"
    return " ".join([first, *(shlex.quote(a) for a in sys.argv[1:])])


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike):
    """Hold the writer's lock of ``folder`` (created if needed) within the block.

    Raises :class:`InputError` « le dossier … est déjà utilisé par un autre traitement (pid N, lancé le … :
    commande) ; attendez sa fin ou choisissez un autre --out » when another process holds it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d, output_lock(d):
    ...     (Path(d) / LOCK_FILE).read_text().split("\\n")[0] == str(os.getpid())
    True
    """
    import fcntl

    folder = Path(folder)
    key = str(folder.resolve())
    if key in _HELD:  # taken again within its block: the first taker releases it
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the life of the lock
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise InputError(
            f"le dossier {folder} est déjà utilisé par un autre traitement ({_holder(path)}) ; "
            "attendez sa fin ou choisissez un autre --out"
        ) from None
    try:
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n{_dt.datetime.now().isoformat(timespec='seconds')}\n{_command()}\n")
        fh.flush()
        _HELD.add(key)
        yield
    finally:
        _HELD.discard(key)
        fh.close()  # releases the lock
