"""Any folder, any path: the command line, the batch and notebook 02 run from a user's own folder.

The tests play a chargée de mission: her folder (with a space in its name) holds her perimeter file, written
the way Excel writes it (Windows-1252, ``;``), and her clone of the project, a folder named ``cpts_diag`` (a
link to this repository; with a variant where that folder is another package of that name). She runs the
installed ``cpts-diag`` and ``python -m papermill`` from there with relative paths. The territories are made
of real communes of the Finistère (Bretagne) and of the Ain (Auvergne-Rhône-Alpes); the populations expected
are read from ``data/communes_cog2026.csv`` by the test.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cpts_diag.reports.display import parameter_path
from cpts_diag.reports.folder import slugify
from cpts_diag.settings import user_path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUIMPER = "CPTS Quimper Est (test)"
BOURG = "CPTS Bassin Burgien (test)"
MEMBERS = {QUIMPER: ["29232", "29051", "29020"], BOURG: ["01053", "01426", "01051"]}
FILE = "mes périmètres.csv"
CANNOT_START = (
    "le processus de calcul n'a pas pu démarrer : RuntimeError : An attempt has been made to start a new "
    "process before the current process has finished its bootstrapping phase."
)


def _cog() -> dict[str, dict]:
    """The COG 2026 rows of the current communes, read with the csv module."""
    with open(REPO / "data" / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return {r["code_insee"]: r for r in csv.DictReader(fh) if r["type"] == "commune-actuelle"}


def _population(name: str) -> int:
    cog = _cog()
    return sum(int(cog[code]["population"]) for code in MEMBERS[name])


def _her_folder(root: Path, clone: str) -> Path:
    """Her folder: her perimeter file and a folder named cpts_diag (her clone, or another package)."""
    folder = root / "dossier de Marie"
    folder.mkdir()
    if clone == "clone":
        (folder / "cpts_diag").symlink_to(REPO, target_is_directory=True)
    else:  # another package of that name (an old copy, say): importable, but not this one
        (folder / "cpts_diag" / "reports").mkdir(parents=True)
        (folder / "cpts_diag" / "__init__.py").write_text('"""Autre paquet."""\n', encoding="utf-8")
        (folder / "cpts_diag" / "reports" / "__init__.py").write_text("", encoding="utf-8")
    cog = _cog()
    rows = ["Nom CPTS;Commune;Code INSEE"]
    rows += [f"{name};{cog[code]['nom']};{code}" for name, codes in MEMBERS.items() for code in codes]
    (folder / FILE).write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    return folder


def _run(args, folder: Path, timeout=900, **env) -> subprocess.CompletedProcess:
    """A command run from her folder, with the environment of a user (no variable pointing to the tests)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CPTS_DIAG_") and k != "PYTHONPATH"}
    environ.update(env)
    return subprocess.run(args, cwd=folder, env=environ, capture_output=True, text=True, timeout=timeout)


def _cli(*args, folder: Path, **env) -> subprocess.CompletedProcess:
    return _run([str(BIN / "cpts-diag"), *args], folder, **env)


# ------------------------------------------------------------------------------ fast tests


def test_user_paths_are_absolute_against_the_current_folder(tmp_path, monkeypatch):
    """Notebook parameters and CLI paths name the same files once the folder changes (kernel, worker)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.csv").write_text("x", encoding="utf-8")
    found, out = parameter_path(" f.csv "), user_path("sorties")
    monkeypatch.chdir(tmp_path.parent)
    assert found == tmp_path / "f.csv" and out == tmp_path / "sorties"
    assert parameter_path("", default="defaut.csv") == Path("defaut.csv") and user_path("  ") is None


def test_check_from_her_folder_with_relative_paths(tmp_path):
    folder = _her_folder(tmp_path, "clone")
    res = _cli("check", FILE, "--out", "controles", folder=folder)
    assert res.returncode == 0, res.stderr
    assert (folder / "controles" / "controle_perimetres.xlsx").is_file()
    assert (folder / "controles" / "controle_perimetres.gpkg").is_file()
    assert "Territoires : 2" in " ".join(res.stdout.split())
    # A missing file is named as she typed it, relative to her folder.
    res = _cli("check", "sous-dossier/absent.csv", folder=folder)
    assert res.returncode == 2
    assert res.stderr.strip() == "erreur : fichier « sous-dossier/absent.csv » : fichier introuvable"


# ------------------------------------------------------------------------------ reports, batch, notebook


@pytest.mark.slow
def test_report_from_her_folder_with_relative_paths(tmp_path):
    """``report FILE --out rapports``: the report lands in her folder (a relative --out used to fail)."""
    folder = _her_folder(tmp_path, "clone")
    res = _cli("report", FILE, "--territoire", QUIMPER, "--out", "rapports", folder=folder)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    report = folder / "rapports" / slugify(QUIMPER)
    assert sorted(p.name for p in report.iterdir()) == [
        "carte.html",
        "diagnostic.ipynb",
        "indicateurs.xlsx",
        "perimetre.gpkg",
        "rapport.html",
    ]
    assert QUIMPER in (report / "rapport.html").read_text(encoding="utf-8")
    assert f"{_population(QUIMPER):,} habitants".replace(",", " ") in res.stdout.replace("\u202f", " ")
    assert sorted(p.name for p in (folder / "rapports").iterdir()) == [slugify(QUIMPER)]  # no temporary folder


@pytest.mark.slow
@pytest.mark.parametrize("clone", ["clone", "paquet"])
def test_batch_from_her_folder_with_relative_paths(tmp_path, clone):
    """The batch workers import the installed package, whatever folder named cpts_diag her folder holds."""
    folder = _her_folder(tmp_path, clone)
    res = _cli("batch", FILE, "--out", "lot", "--workers", "2", folder=folder)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    doc = json.loads((folder / "lot" / "batch.json").read_text(encoding="utf-8"))
    entries = {e["name"]: e for e in doc["territories"]}
    assert set(entries) == set(MEMBERS)
    for name, entry in entries.items():
        assert entry["status"] == "ok", entry["error"]
        assert entry["population"] == _population(name)
        assert name in (folder / "lot" / slugify(name) / "rapport.html").read_text(encoding="utf-8")
    assert (folder / "lot" / "index.html").is_file()
    assert doc["perimeters"] == str(folder / FILE)


@pytest.mark.slow
def test_papermill_of_notebook_02_from_her_folder(tmp_path):
    """Her own ``python -m papermill`` from her folder: the kernel imports the installed package (not her
    clone's folder) and the relative parameters are her folder's files."""
    folder = _her_folder(tmp_path, "clone")
    out = folder / "diagnostic.ipynb"
    res = _run(
        [sys.executable, "-m", "papermill", str(REPO / "notebooks" / "02_diagnostic_territorial.ipynb"), out.name]
        + ["-r", "perimetres", FILE, "-r", "territoire", BOURG, "-r", "fichier_cpam", "aucun"]
        + ["-r", "dossier_sortie", "sorties"],
        folder,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    outputs = [o for c in json.loads(out.read_text(encoding="utf-8"))["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert BOURG in json.dumps(outputs, ensure_ascii=False)
    assert {"carte.html", "indicateurs.xlsx", "perimetre.gpkg"} <= {p.name for p in (folder / "sorties").iterdir()}


@pytest.mark.slow
def test_synthesis_with_relative_paths(tmp_path, monkeypatch):
    """The library entry point takes relative paths from the current folder, before its kernel starts."""
    from cpts_diag.reports.batch import run_synthesis

    folder = _her_folder(tmp_path, "clone")
    monkeypatch.chdir(folder)
    page = run_synthesis(FILE, region="53", out_dir="synthese", cpam="aucun")
    assert page == folder / "synthese" / "synthese_regionale.html"
    text = page.read_text(encoding="utf-8")
    assert QUIMPER in text and BOURG not in text  # Bretagne only
    assert (folder / "synthese" / "carte_regionale.html").is_file()


# ------------------------------------------------------------------------------ workers that end badly


@pytest.mark.slow
def test_worker_that_cannot_start_gives_its_cause(tmp_path):
    """A script that runs a batch without ``if __name__ == "__main__":``: its workers re-run it and cannot
    start. Every territory gets that cause in one line (not a guess about memory), no traceback reaches her
    terminal, and the traceback is kept in batch.log."""
    folder = _her_folder(tmp_path, "clone")
    (folder / "lot.py").write_text(
        "import json\n"
        "from cpts_diag.reports.batch import run_batch\n\n"
        f"result = run_batch({FILE!r}, out_dir='lot', progress=False)\n"
        "print(json.dumps({e['name']: [e['status'], e['error']] for e in result.entries}))\n",
        encoding="utf-8",
    )
    res = _run([sys.executable, "lot.py"], folder)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout) == {name: ["échec", CANNOT_START] for name in MEMBERS}
    assert "Traceback" not in res.stderr
    log = (folder / "lot" / "batch.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "bootstrapping phase" in log


@pytest.mark.slow
def test_killed_worker_is_said_killed(tmp_path):
    """A worker killed by a signal (as the system does when memory runs out) keeps the memory message, with
    the signal; the other territory of the batch is produced."""
    from helpers import faulty_notebook

    folder = _her_folder(tmp_path, "clone")
    notebook = faulty_notebook(tmp_path / "faulty.ipynb", {QUIMPER: "kill-worker"})
    code = (
        "import sys; from cpts_diag.reports.batch import run_batch_cli; "
        f"sys.exit(run_batch_cli({FILE!r}, out_dir='lot', workers=2, notebook={notebook!r}, progress=False))"
    )
    res = _run([sys.executable, "-c", code], folder)
    assert res.returncode == 1
    doc = json.loads((folder / "lot" / "batch.json").read_text(encoding="utf-8"))
    entries = {e["name"]: e for e in doc["territories"]}
    assert entries[BOURG]["status"] == "ok"
    assert entries[QUIMPER]["status"] == "échec"
    assert entries[QUIMPER]["error"] == (
        "le processus de calcul a été arrêté par le signal SIGKILL (mémoire insuffisante ou arrêt forcé ?) ; "
        "relancez ce territoire seul"
    )
    assert f"échec : {QUIMPER} : {entries[QUIMPER]['error']}" in res.stderr
