"""The one content fingerprint of a run: batch re-runs, Dask workers and the diagnostics cache.

A fingerprint hashes file *contents* (never modification times): the user's input files, the embedded data
and the package (source, templates, style sheets). Touching a file does not change it; editing one does.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from cpts_diag import settings
from cpts_diag.io.atomic import file_sha256, file_state
from cpts_diag.io.params import cpam_choice

# Content hashes of the files already read by this process, keyed by their path and stat (device, inode,
# size, modification and change times in ns): the fingerprint of every report of a batch hashes the same
# 23 MB of embedded data, read once per process this way. A write changes the stat, so the file is read
# again; a file modified less than 2 s before it was read is not kept (file times advance by clock ticks
# of a few ms: two writes in one tick could leave the same stat).
_FILE_HASHES: dict[tuple, str] = {}
_SETTLED_NS = 2_000_000_000


def _file_hash(path: Path) -> str:
    """:func:`~cpts_diag.io.atomic.file_sha256` of ``path``, read again only when its stat changed."""
    key = file_state(path)
    digest = _FILE_HASHES.get(key)
    if digest is None:
        digest = file_sha256(path)
        if time.time_ns() - max(key[4], key[5]) > _SETTLED_NS:  # modification and change times
            _FILE_HASHES[key] = digest
    return digest


def _tree_hash(root: Path, exclude: tuple[str, ...]) -> str:
    """SHA-256 over (relative path, content hash) of the files under ``root``, but those under ``exclude``."""
    h = hashlib.sha256()
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() or rel.startswith(exclude) or "__pycache__" in rel:
                continue
            h.update(rel.encode("utf-8") + b"\0" + _file_hash(path).encode("ascii") + b"\n")
    return h.hexdigest()


def run_fingerprint(inputs: dict | None = None, **extra) -> str:
    """SHA-256 of the content of the input files (``inputs``: role -> parameter; the ``cpam`` role is parsed with
    :func:`~cpts_diag.io.params.cpam_choice`, its default taken for the ``perimeters`` role, so the example and no
    table differ from a file), of the embedded data (the listings of ``perimetres/`` count only as inputs), of the
    package source and of the JSON-ready ``extra`` values.
    """
    import cpts_diag

    parts = {
        "inputs": {role: _input_hash(role, value, inputs) for role, value in (inputs or {}).items()},
        "data": _tree_hash(Path(settings.DATA_DIR), ("perimetres/",)),
        "package": [
            cpts_diag.__version__,
            _tree_hash(Path(cpts_diag.__file__).parent, ("_data/", "_notebooks/")),
        ],
        "extra": extra,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _input_hash(role: str, value, inputs: dict | None = None) -> str | None:
    """Content hash of one input parameter (None when not given) among ``inputs``."""
    if role == "cpam":
        choice = cpam_choice(value, (inputs or {}).get("perimeters"))
        if choice.mode != "fichier":
            return None if choice.mode == "aucun" else f"exemple:{_input_hash('', choice.file)}"
        value = choice.path
    if value is None or not str(value).strip():
        return None
    try:
        return file_sha256(value)
    except OSError:
        return f"absent:{Path(value).resolve()}"
