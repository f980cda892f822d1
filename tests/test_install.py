"""`pip install .` (not only `-e .`): the wheel carries the embedded data and notebooks and works on its own."""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What never goes into a build: version control, environments, build and test leftovers, user outputs.
_LEFTOVERS = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
)


def _not_sources(folder: str, names: list[str]) -> set[str]:
    """Leftovers anywhere, and the users' report folder at the top (not the ``cpts_diag/reports`` package)."""
    return set(_LEFTOVERS(folder, names)) | ({"reports"} if Path(folder) == REPO else set())


def _clean_env() -> dict:
    """The environment without anything that would point the installed package back to the repository."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV") and not k.startswith("CPTS_DIAG_")
    }
    env["PYTHONNOUSERSITE"] = "1"
    env["CPTS_DIAG_CACHE"] = "0"
    return env


def _setuptools_ok() -> bool:
    """True when this interpreter can build the wheel itself (setuptools >= 68 and wheel importable)."""
    try:
        import setuptools
        import wheel  # noqa: F401
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 68


#: What setuptools prints when the packaging is not clean (a newcomer would think the installation failed).
_SETUPTOOLS_WARNINGS = re.compile(r"BuildBackendWarning|Setuptools\w*Warning|absent from the `packages`|Editable inst")


def _pip_build(tmp_path: Path, python, *args) -> str:
    """Run ``python -m pip --quiet ARGS`` on a copy of the repository (``{src}`` in ``args``), with the setuptools
    of this interpreter when it is recent enough (offline), else in pip's build isolation; return the output,
    checked free of setuptools warnings. Skipped with a reason when setuptools>=68 cannot be fetched."""
    src = tmp_path / "src"
    if not src.exists():  # the build writes build/ and *.egg-info beside setup.py
        shutil.copytree(REPO, src, ignore=_not_sources)
    cmd = [str(python), "-m", "pip", *(a.replace("{src}", str(src)) for a in args), "--no-deps", "--quiet"]
    if _setuptools_ok():
        cmd.append("--no-build-isolation")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=_clean_env(), cwd=tmp_path)
    output = res.stdout + res.stderr
    if res.returncode != 0:
        if re.search(r"No matching distribution found for (setuptools|wheel)|Could not find a version", output):
            pytest.skip(
                "impossible d'obtenir setuptools>=68 pour construire la roue (index de paquets injoignable) "
                "— cannot fetch setuptools>=68 to build the wheel: " + output[-300:]
            )
        raise AssertionError(f"pip {args[0]} failed:\n{output[-3000:]}")
    assert not _SETUPTOOLS_WARNINGS.search(output), output[-3000:]
    return output


def _build_wheel(tmp_path: Path) -> Path:
    """Build the wheel from a copy of the repository, without a setuptools warning."""
    dist = tmp_path / "dist"
    _pip_build(tmp_path, sys.executable, "wheel", "-w", str(dist), "{src}")
    wheels = list(dist.glob("cpts_diag-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _fresh_venv(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A new venv (python, site-packages) that sees this interpreter's site-packages as plain path lines.

    How: it is created with ``python -m venv --without-pip`` (no ``--system-site-packages``), and a ``.pth`` file
    lists the *site-packages folders* of the interpreter running the tests (pip and setuptools come from there).
    A path line of a ``.pth`` file is only appended to ``sys.path``: the ``.pth`` files inside that folder (among
    them the editable install of the repository, ``__editable__.cpts_diag-*.pth``) are NOT executed, so the
    repository cannot leak in.
    """
    venv = tmp_path / name
    cmd = [sys.executable, "-m", "venv", "--without-pip", str(venv)]
    subprocess.run(cmd, check=True, timeout=600, env=_clean_env())
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            env=_clean_env(),
        ).stdout.strip()
    )
    dep_dirs = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "_cpts_diag_test_deps.pth").write_text("".join(f"{d}\n" for d in dep_dirs), encoding="utf-8")
    return py, site


def _expected_territories() -> int:
    """Territories of the embedded listings, read with json (independent of the perimeter reader)."""
    names = set()
    for path in sorted((REPO / "data" / "perimetres").glob("*.json")):
        names |= {entry["nom"].strip() for entry in json.loads(path.read_text(encoding="utf-8"))["cpts"]}
    return len(names)


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    """Build the wheel, install it in a fresh venv, run ``cpts-diag check`` and ``report`` outside the repository.

    How the fresh venv gets the dependencies: see :func:`_fresh_venv`; the wheel is installed with ``--no-deps
    --no-index`` (offline), and the fresh site-packages comes first, so its ``cpts_diag`` wins over any other. The
    build prints no setuptools warning. The dependencies' data files
    (nbconvert templates) stay under this interpreter's prefix: ``JUPYTER_PATH`` points there. Nothing is
    downloaded, except setuptools>=68 for the build when this interpreter has an older one (then skipped with a
    reason if no package index can be reached). The test then checks that ``cpts_diag``, its data and its
    notebooks are loaded from the fresh venv, never from the repository.
    """
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        packed = set(zf.namelist())
    data_files = sorted(
        p.relative_to(REPO / "data").as_posix()
        for p in (REPO / "data").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    )
    notebooks = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert data_files and notebooks
    assert {f"cpts_diag/_data/{f}" for f in data_files} <= packed
    assert {f"cpts_diag/_notebooks/{f}" for f in notebooks} <= packed
    outputs = REPO / "cpts_diag" / "outputs"
    shipped = {p.relative_to(REPO).as_posix() for d in ("static", "templates") for p in (outputs / d).rglob("*.*")}
    assert "cpts_diag/outputs/static/map.js" in shipped and shipped <= packed  # templates, CSS, map script

    py, _ = _fresh_venv(tmp_path, "fresh venv")
    venv = py.parent.parent
    res = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_clean_env(),
    )
    assert res.returncode == 0, res.stderr[-3000:]

    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    probe = (
        "import json, cpts_diag, cpts_diag.reports.runner as r; from cpts_diag import settings as s; "
        "print(json.dumps({'file': cpts_diag.__file__, 'repo': str(s.REPO_DIR), 'data': str(s.DATA_DIR), "
        "'notebook': str(r.NOTEBOOK), 'reports': str(s.REPORTS_DIR)}))"
    )
    res = subprocess.run(
        [str(py), "-c", probe], capture_output=True, text=True, timeout=600, cwd=elsewhere, env=_clean_env()
    )
    assert res.returncode == 0, res.stderr[-3000:]
    where = json.loads(res.stdout)
    venv_root = venv.resolve()
    for key in ("file", "data", "notebook"):
        assert Path(where[key]).resolve().is_relative_to(venv_root), where
        assert not Path(where[key]).resolve().is_relative_to(REPO), where
    assert where["repo"] == "None"
    assert Path(where["notebook"]).is_file()
    assert sorted(p.name for p in Path(where["data"]).rglob("*") if p.is_file()) == sorted(
        Path(f).name for f in data_files
    )
    assert Path(where["reports"]) == elsewhere.resolve() / "reports"

    res = subprocess.run(
        [str(venv / "bin" / "cpts-diag"), "check"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=elsewhere,
        env=_clean_env(),
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    expected = _expected_territories()
    assert expected == 70  # the embedded ARS PACA listing of 01/2026
    assert re.search(rf"^\s*Territoires\s*:\s*{expected}\s*$", res.stdout, re.M), res.stdout[:1500]
    assert "Résultat : aucun problème bloquant" in res.stdout
    assert not (elsewhere / "reports").exists()  # `check` writes nothing without --out

    # A report runs the notebook shipped in the wheel and writes to reports/ of the working directory. The
    # nbconvert templates are data files of the dependencies, installed under this interpreter's prefix.
    env = dict(_clean_env(), JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"))
    res = subprocess.run(
        [str(venv / "bin" / "cpts-diag"), "report", "--territoire", "CPTS Guil Durance"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=elsewhere,
        env=env,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    folder = elsewhere / "reports" / "cpts-guil-durance"
    assert sorted(p.name for p in folder.iterdir()) == [
        "carte.html",
        "diagnostic.ipynb",
        "indicateurs.xlsx",
        "perimetre.gpkg",
        "rapport.html",
    ]
    assert "CPTS Guil Durance" in (folder / "rapport.html").read_text(encoding="utf-8")
    assert "window.cptsDiag.featureLayer = function" in (folder / "carte.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_editable_install_is_not_shadowed_by_a_folder_named_cpts_diag(tmp_path):
    """``pip install -e .`` (what ``make install`` does) is a plain path line, without a setuptools warning.

    Run from a folder that holds the user's clone, a folder named ``cpts_diag`` without ``__init__.py``, Python
    (``-c`` or ``-m``: the current folder first on ``sys.path``) imports the installed package, not that folder
    as a namespace package (setuptools' import finder of the former layout came after it).
    """
    py, site = _fresh_venv(tmp_path, "venv")
    _pip_build(tmp_path, py, "install", "-e", "{src}")
    src = tmp_path / "src"
    pth = [p for p in site.glob("*.pth") if "cpts_diag" in p.name and p.name != "_cpts_diag_test_deps.pth"]
    assert [p.read_text(encoding="utf-8").split() for p in pth] == [[str(src)]]
    assert not list(site.glob("__editable__*finder*"))
    her_folder = tmp_path / "dossier"
    her_folder.mkdir()
    (her_folder / "cpts_diag").symlink_to(src, target_is_directory=True)  # her clone, beside her files
    res = subprocess.run(
        [str(py), "-c", "import cpts_diag.reports.batch as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=her_folder,
        env=_clean_env(),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert Path(res.stdout.strip()) == src / "cpts_diag" / "reports" / "batch" / "__init__.py"


def _requirement_names(requirements: list[str]) -> set[str]:
    """Distribution names of requirements, normalised: « dask[distributed]>=2024.1 » -> « dask »."""
    return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].strip().lower().replace("_", "-") for r in requirements}


def _conda_names(path: Path) -> set[str]:
    """Package names of a conda environment file (conda and pip sections, comments and « -e . » ignored)."""
    items = re.findall(r"^\s*-\s+([A-Za-z0-9][A-Za-z0-9_.\-\[\]]*)", path.read_text(encoding="utf-8"), re.M)
    return _requirement_names(items)


def test_conda_environment_lists_every_runtime_dependency():
    """A conda user gets every runtime dependency of pyproject.toml (jinja2 was missing once), and the cluster
    option in environment-cluster.yml (dask[distributed]: « dask » and « distributed » on conda-forge)."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _requirement_names(project["dependencies"])
    assert {"jinja2", "tinycss2", "xstatic-leaflet", "pandas"} <= runtime  # the parsing itself
    assert sorted(runtime - _conda_names(REPO / "environment.yml")) == []
    cluster = _requirement_names(project["optional-dependencies"]["cluster"]) | {"distributed"}
    assert sorted(cluster - _conda_names(REPO / "environment-cluster.yml")) == []
