"""Batch on a dask.distributed cluster: same reports as local processes, re-runs, a worker killed in the middle
of a territory, French one-line errors for a missing dask or an unreachable scheduler."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from cpts_diag.cli import main
from cpts_diag.reports.batch import STATUS_FAILED, STATUS_OK, STATUS_UNCHANGED, Task, run_batch
from cpts_diag.reports.batch import cluster as dask_cluster
from helpers import faulty_notebook

distributed = pytest.importorskip("distributed")

PLAIN = ["CPTS Guil Durance", "CPTS du Gapençais"]
RETRIED = "CPTS Sud 04"  # its worker is killed on the first attempt only
DOOMED = "CPTS Marseille-7"  # its worker is killed on every attempt
_DATE_RE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")
REPORT_FILES = {"rapport.html", "carte.html", "indicateurs.xlsx", "perimetre.gpkg", "diagnostic.ipynb"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A 2-worker LocalCluster, and a report notebook that kills its worker (RETRIED's first attempt only)."""
    import dask

    folder = tmp_path_factory.mktemp("faulty")
    once = folder / "sud04-killed-once"
    notebook = faulty_notebook(folder / "faulty.ipynb", {RETRIED: ("kill-worker", str(once)), DOOMED: "kill-worker"})
    # One task at a time per worker (so a killed worker only takes its own territory down), and a
    # territory fails after its second killed worker.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}):
        lc = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
        try:
            yield {"address": lc.scheduler_address, "once": once, "notebook": notebook}
        finally:
            lc.close()


def _content(folder: Path) -> dict:
    import nbformat
    import openpyxl

    wb = openpyxl.load_workbook(folder / "indicateurs.xlsx", read_only=True)
    sheets = {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    wb.close()
    nb = nbformat.read(str(folder / "diagnostic.ipynb"), as_version=4)
    return {
        "html": _DATE_RE.sub("<date>", (folder / "rapport.html").read_text(encoding="utf-8")),
        "xlsx": sheets,
        "parameters": nb.metadata["papermill"]["parameters"],
        "injected": [c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])],
    }


def _records(doc: dict) -> dict:
    skip = {"duration_s"}
    return {e["name"]: {k: v for k, v in e.items() if k not in skip} for e in doc["territories"]}


def _no_leftovers(out: Path) -> None:
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary folder or file
    for folder in (p for p in out.iterdir() if p.is_dir()):
        assert {f.name for f in folder.iterdir()} == REPORT_FILES  # complete report folders only


@pytest.mark.slow
def test_cluster_reports_match_local_processes(cluster, tmp_path):
    local_out, dask_out = tmp_path / "local" / "reports", tmp_path / "dask" / "reports"
    local = run_batch(only=PLAIN, workers=2, out_dir=local_out, progress=False)
    remote = run_batch(only=PLAIN, out_dir=dask_out, progress=False, cluster=cluster["address"])
    assert remote.exit_code == local.exit_code == 0
    assert [e["status"] for e in remote.entries] == [STATUS_OK, STATUS_OK]
    doc = json.loads((dask_out / "batch.json").read_text(encoding="utf-8"))
    local_doc = json.loads((local_out / "batch.json").read_text(encoding="utf-8"))
    assert doc["cluster"] == cluster["address"] and local_doc["cluster"] is None
    assert _records(doc) == _records(local_doc)  # fingerprints, populations, key figures, outputs
    for entry in doc["territories"]:
        c_dask = _content(dask_out / entry["slug"])
        c_local = _content(local_out / entry["slug"])
        assert c_dask["html"] == c_local["html"] and entry["name"] in c_dask["html"]
        assert c_dask["xlsx"] == c_local["xlsx"]
        # the saved notebook shows this machine's paths, not the worker's scratch copies
        assert c_dask["parameters"]["dossier_sortie"] == str((dask_out / entry["slug"]).resolve())
        assert {k: v for k, v in c_dask["parameters"].items() if k != "dossier_sortie"} == {
            k: v for k, v in c_local["parameters"].items() if k != "dossier_sortie"
        }
        assert str((dask_out / entry["slug"]).resolve()) in c_dask["injected"][0]
        assert "cpts_diag_travail_" not in c_dask["injected"][0]
    page = (dask_out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{e["outputs"]["rapport"]}"' in page for e in doc["territories"])
    _no_leftovers(dask_out)
    again = run_batch(only=PLAIN, out_dir=dask_out, progress=False, cluster=cluster["address"])
    assert [e["status"] for e in again.entries] == [STATUS_UNCHANGED, STATUS_UNCHANGED]


@pytest.mark.slow
def test_cluster_worker_killed_mid_territory(cluster, tmp_path):
    out = tmp_path / "reports"
    names = [PLAIN[0], RETRIED, DOOMED]
    res = run_batch(only=names, out_dir=out, progress=False, cluster=cluster["address"], notebook=cluster["notebook"])
    status = {e["name"]: e["status"] for e in res.entries}
    assert status == {PLAIN[0]: STATUS_OK, RETRIED: STATUS_OK, DOOMED: STATUS_FAILED}, {
        e["name"]: e.get("error") for e in res.entries
    }
    assert cluster["once"].exists()  # RETRIED's first attempt did kill its worker: it was run again
    assert res.exit_code == 1
    err = next(e["error"] for e in res.entries if e["name"] == DOOMED)
    assert "worker Dask s'est arrêté" in err and "\n" not in err
    doc = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert {e["name"]: e["status"] for e in doc["territories"]} == status
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["cpts-guil-durance", "cpts-sud-04"]
    _no_leftovers(out)
    assert RETRIED in (out / "cpts-sud-04" / "rapport.html").read_text(encoding="utf-8")


def _cli(capsys, args):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out + err


def test_cluster_without_dask_is_a_french_input_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    code, output = _cli(
        capsys, ["batch", "--only", PLAIN[0], "--out", str(tmp_path), "--cluster", "tcp://127.0.0.1:8786"]
    )
    assert code == 2
    assert output.startswith("erreur : ") and 'pip install "cpts_diag[cluster]"' in output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "address, message",
    [("tcp://127.0.0.1:9", "injoignable"), ("127.0.0.1 8786", "adresse d'ordonnanceur Dask invalide")],
)
def test_cluster_unreachable_or_invalid_address(monkeypatch, tmp_path, capsys, address, message):
    monkeypatch.setattr(dask_cluster, "_CONNECT_TIMEOUT", 2)
    code, output = _cli(capsys, ["batch", "--only", PLAIN[0], "--out", str(tmp_path), "--cluster", address])
    assert code == 2, output
    assert output.startswith("erreur : ") and message in output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1
    assert not (tmp_path / "batch.json").exists()


def test_territories_and_their_input_files_are_different_task_groups(monkeypatch):
    """Dask spreads a large group of tasks with one small dependency over all workers ("root-ish"), but sends
    every task of a group that depends on itself to the one worker holding the dependency: with the input
    files in the territories' own group, a 2-worker batch ran on one worker (+102 % against local processes)."""
    from distributed.utils import key_split_group

    keys = {}

    class FakeClient:
        def submit(self, func, *args, key, pure):
            keys[func.__name__] = keys.get(func.__name__, []) + [key]

            class Done:
                def release(self):
                    pass

            return Done()

    monkeypatch.setattr(dask_cluster, "environment_hash", lambda: "env")
    monkeypatch.setattr("distributed.as_completed", lambda futures, loop=None: iter(()))
    tasks = [Task(name=f"T{i}", slug=f"t{i}", fingerprint="f", perimeters="", out_dir="") for i in range(6)]
    FakeClient.loop = None
    dask_cluster.run_cluster(FakeClient(), tasks, on_result=lambda entry: None)
    files_group = {key_split_group(k) for k in keys["_identity"]}
    territory_groups = {key_split_group(k) for k in keys["run_one"]}
    assert len(keys["run_one"]) == 6 and len(territory_groups) == 1  # one group of territories
    assert files_group.isdisjoint(territory_groups)
