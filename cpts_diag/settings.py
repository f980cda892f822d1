"""Paths and defaults, in one place (osmnx-style settings).

Where the embedded data and the notebooks are found:

* in a repository checkout (``pip install -e .`` or ``PYTHONPATH``), the ``data/``, ``notebooks/`` and ``reports/``
  folders of the repository, as always;
* in an installed package (``pip install .`` or a wheel), the package data ``cpts_diag/_data`` and
  ``cpts_diag/_notebooks`` (the repository's ``data/`` and ``notebooks/`` mapped into the wheel by ``setup.py``),
  found with :mod:`importlib.resources`; reports go to ``reports/`` of the current working directory.

The environment variables ``CPTS_DIAG_DATA`` and ``CPTS_DIAG_REPORTS`` override both.

Every path a user gives (command-line argument or option, argument of a public function, notebook parameter)
goes through :func:`user_path` where it enters: absolute against her current folder, it names the same file in
a Jupyter kernel or a batch worker that runs elsewhere.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

from cpts_diag.datasets import DATASETS
from cpts_diag.errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent


def user_path(value) -> Path | None:
    """A path given by the user, made absolute against the current folder; None when not given.

    None, ``""`` and blank text give None; text is stripped; ``~`` is expanded. Nothing else is resolved (symbolic
    links and ``..`` stay as written and the system follows them): the path shows where the user expects.

    Examples
    --------
    >>> user_path(" rapports ") == Path.cwd() / "rapports"
    True
    >>> user_path("/tmp/x.csv"), user_path("  "), user_path(None)
    (PosixPath('/tmp/x.csv'), None, None)
    """
    if value is None:
        return None
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value).strip()
    return Path(text).expanduser().absolute() if text else None


def _checkout_dir() -> Path | None:
    """The repository this package is imported from, or None for an installed package."""
    root = PACKAGE_DIR.parent
    checkout = (root / "pyproject.toml").is_file() and (root / "data").is_dir() and (root / "notebooks").is_dir()
    return root if checkout else None


def _package_resource(name: str) -> Path:
    """Folder ``name`` shipped inside the installed package (a real folder: wheels install unzipped)."""
    return Path(str(resources.files("cpts_diag").joinpath(name)))


def _cwd_reports() -> Path:
    try:
        return Path.cwd() / "reports"
    except OSError:  # the working directory was deleted
        return Path("reports")


#: Root of the repository checkout, or None when the package is installed (``pip install .``).
REPO_DIR = _checkout_dir()
DATA_DIR = user_path(os.environ.get("CPTS_DIAG_DATA")) or (
    REPO_DIR / "data" if REPO_DIR else _package_resource("_data")
)
REPORTS_DIR = user_path(os.environ.get("CPTS_DIAG_REPORTS")) or (REPO_DIR / "reports" if REPO_DIR else _cwd_reports())
NOTEBOOKS_DIR = REPO_DIR / "notebooks" if REPO_DIR else _package_resource("_notebooks")
# Private cache of computed diagnostics shared by the reports of one batch ("0" disables it).
CACHE_DIR = os.environ.get(
    "CPTS_DIAG_CACHE",
    str(Path(tempfile.gettempdir()) / f"cpts_diag-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"),
)

DEFAULT_PERIMETERS = DATA_DIR / DATASETS["paca_perimeters"].file
DEFAULT_CPAM = DATA_DIR / DATASETS["cpam_example"].file


def data_path(name: str) -> Path:
    """Path of an embedded data file, with a clear error when the data were not built."""
    path = DATA_DIR / name
    if not path.exists():
        raise InputError("donnée embarquée absente : lancez « cpts-diag data build --source DOSSIER »", path=path)
    return path
