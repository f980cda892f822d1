"""The one content fingerprint of a run: batch re-runs, Dask workers and the diagnostics cache.

A fingerprint hashes file *contents* (never modification times): the user's input files, the embedded data
and the package (source, templates, style sheets). Touching a file does not change it; editing one does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cpts_diag import settings
from cpts_diag.io.atomic import file_sha256
from cpts_diag.io.params import cpam_choice

__all__ = ["run_fingerprint"]


def _tree_hash(root: Path, pattern: str, exclude: tuple[str, ...] = ()) -> str:
    """SHA-256 over (relative path, content hash) of the files of ``root`` matching ``pattern``."""
    h = hashlib.sha256()
    if root.is_dir():
        for path in sorted(root.rglob(pattern)):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() or any(rel.startswith(e) for e in exclude) or "__pycache__" in rel:
                continue
            h.update(rel.encode("utf-8") + b"\0" + file_sha256(path).encode("ascii") + b"\n")
    return h.hexdigest()


def run_fingerprint(inputs: dict | None = None, **extra) -> str:
    """The one content fingerprint of a run, for batch re-runs, Dask workers and the diagnostics cache.

    SHA-256 of the content of the input files (``inputs``: role -> parameter; the ``cpam`` role is parsed
    with :func:`~cpts_diag.io.params.cpam_choice`, so the example and no table differ from a file), of the
    embedded data (the listings of ``perimetres/`` count only as inputs), of the package source and of the
    JSON-ready ``extra`` values. Contents only: touching a file does not change it.
    """
    import cpts_diag

    parts = {
        "inputs": {role: _input_hash(role, value) for role, value in (inputs or {}).items()},
        "data": _tree_hash(Path(settings.DATA_DIR), "*", exclude=("perimetres/",)),
        "package": [
            cpts_diag.__version__,
            _tree_hash(Path(cpts_diag.__file__).parent, "*", exclude=("_data/", "_notebooks/")),
        ],
        "extra": extra,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _input_hash(role: str, value) -> str | None:
    """Content hash of one input parameter (None when not given)."""
    if role == "cpam":
        choice = cpam_choice(value)
        if choice.mode != "fichier":
            return None if choice.mode == "aucun" else "exemple:" + _input_hash("", choice.file)
        value = choice.path
    if value is None or not str(value).strip():
        return None
    try:
        return file_sha256(value)
    except OSError:
        return f"absent:{Path(value).resolve()}"
