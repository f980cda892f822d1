"""Tests of cpts_diag.settings: paths of a checkout, environment overrides, data_path.

The paths are read in a fresh interpreter (they are computed at import), with the repository put on
``PYTHONPATH``; the expected repository root is this file's folder's parent, not the package's answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cpts_diag import settings
from cpts_diag.errors import InputError

REPO = Path(__file__).resolve().parent.parent
_PRINT = (
    "import json; from cpts_diag import settings as s; "
    "print(json.dumps({k: str(getattr(s, k)) for k in "
    "('REPO_DIR', 'DATA_DIR', 'REPORTS_DIR', 'NOTEBOOKS_DIR', 'DEFAULT_PERIMETERS', 'DEFAULT_CPAM', 'CACHE_DIR')}))"
)


def _settings_in_a_new_process(cwd: Path, **env) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CPTS_DIAG_")}
    base["PYTHONPATH"] = str(REPO)
    base.update(env)
    out = subprocess.run(
        [sys.executable, "-c", _PRINT], cwd=cwd, env=base, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)


def test_a_checkout_uses_its_own_folders(tmp_path):
    got = _settings_in_a_new_process(tmp_path)  # the working directory does not matter in a checkout
    assert got["REPO_DIR"] == str(REPO)
    assert got["DATA_DIR"] == str(REPO / "data")
    assert got["REPORTS_DIR"] == str(REPO / "reports")
    assert got["NOTEBOOKS_DIR"] == str(REPO / "notebooks")
    assert got["DEFAULT_PERIMETERS"] == str(REPO / "data" / "perimetres" / "cpts_paca_ars_2026-01.json")
    assert got["DEFAULT_CPAM"] == str(REPO / "data" / "exemple_cpam_FICTIF_paca.csv")
    assert Path(got["DEFAULT_PERIMETERS"]).is_file() and Path(got["DEFAULT_CPAM"]).is_file()
    assert got["CACHE_DIR"] == str(Path(tempfile.gettempdir()) / f"cpts_diag-cache-{os.getuid()}")


def test_relative_environment_variables_are_taken_from_the_current_folder(tmp_path):
    """CPTS_DIAG_REPORTS and CPTS_DIAG_DATA given relative name folders of the folder where the command starts,
    whatever folder a kernel or a worker later runs in."""
    got = _settings_in_a_new_process(tmp_path, CPTS_DIAG_REPORTS="mes rapports", CPTS_DIAG_DATA="données")
    assert got["REPORTS_DIR"] == str(tmp_path / "mes rapports")
    assert got["DATA_DIR"] == str(tmp_path / "données")


def test_user_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert settings.user_path(" sous/f.csv ") == tmp_path / "sous" / "f.csv"
    assert settings.user_path(Path("../f.csv")) == tmp_path / ".." / "f.csv"  # as written: the system follows ..
    assert settings.user_path("~/f.csv") == Path.home() / "f.csv"
    assert settings.user_path(tmp_path / "f.csv") == tmp_path / "f.csv"
    assert [settings.user_path(v) for v in (None, "", "   ")] == [None, None, None]


def test_environment_variables_override_the_folders(tmp_path):
    data, reports = tmp_path / "mes-donnees", tmp_path / "mes-rapports"
    got = _settings_in_a_new_process(
        tmp_path, CPTS_DIAG_DATA=str(data), CPTS_DIAG_REPORTS=str(reports), CPTS_DIAG_CACHE="0"
    )
    assert got["DATA_DIR"] == str(data)
    assert got["DEFAULT_PERIMETERS"] == str(data / "perimetres" / "cpts_paca_ars_2026-01.json")
    assert got["DEFAULT_CPAM"] == str(data / "exemple_cpam_FICTIF_paca.csv")
    assert got["REPORTS_DIR"] == str(reports)
    assert got["CACHE_DIR"] == "0"
    assert got["NOTEBOOKS_DIR"] == str(REPO / "notebooks")  # no variable for the notebooks


def test_an_empty_variable_keeps_the_default(tmp_path):
    got = _settings_in_a_new_process(tmp_path, CPTS_DIAG_DATA="", CPTS_DIAG_REPORTS="")
    assert got["DATA_DIR"] == str(REPO / "data")
    assert got["REPORTS_DIR"] == str(REPO / "reports")


def test_data_path_of_an_embedded_file(tmp_path, monkeypatch):
    (tmp_path / "regions.csv").write_text("code,nom,zone\n93,PACA,metro\n", encoding="utf-8")
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path)
    assert settings.data_path("regions.csv") == tmp_path / "regions.csv"


def test_data_path_of_a_missing_file_says_how_to_build_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "DATA_DIR", tmp_path)
    with pytest.raises(InputError) as exc:
        settings.data_path("communes_cog2026.csv")
    assert str(exc.value) == (
        f"fichier « {tmp_path / 'communes_cog2026.csv'} » : donnée embarquée absente : "
        "lancez « cpts-diag data build --source DOSSIER »"
    )
