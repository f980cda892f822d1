"""Warm kernels: one Jupyter kernel reused across reports, nothing leaking from one territory to the next,
a dead or hung kernel replaced with only its territory failing."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import nbformat
import pytest

from cpts_diag.reports.batch import STATUS_FAILED, STATUS_OK, Task
from cpts_diag.reports.batch import worker as batch_worker
from cpts_diag.reports.runner import KernelSession, build_report, execute_notebook
from helpers import faulty_notebook

FIRST, SECOND = "CPTS Guil Durance", "CPTS du Gapençais"
_DATE_RE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('label = "défaut"')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nbformat.write(nb, str(path))
    return path


def _stdout(nb, index: int) -> str:
    return "".join(o.get("text", "") for o in nb.cells[index].outputs if o.get("output_type") == "stream")


@pytest.mark.slow
def test_session_resets_namespace_between_runs(tmp_path):
    dirty = _notebook(
        tmp_path / "dirty.ipynb",
        "import os, warnings\nsecret = label * 2\nwarnings.simplefilter('ignore')\nprint(os.getpid())",
    )
    probe = _notebook(
        tmp_path / "probe.ipynb",
        "import os, warnings\n"
        "print(sorted(k for k in globals() if not k.startswith('_') and k not in "
        "('In', 'Out', 'exit', 'quit', 'get_ipython', 'os', 'warnings', 'label')))\n"
        "print(os.getcwd())\nprint(('ignore', None, Warning, None, 0) in warnings.filters)\n"
        "print(os.getpid())",
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with KernelSession() as session:
        nb1 = execute_notebook(
            dirty, tmp_path / "a" / "out.ipynb", {"label": "territoire A"}, 60, tmp_path / "a", session=session
        )
        nb2 = execute_notebook(
            probe, tmp_path / "b" / "out.ipynb", {"label": "territoire B"}, 60, tmp_path / "b", session=session
        )
        assert session.kernels_started == 1 and session.runs == 2
    (tmp_path / "c").mkdir()
    cold = execute_notebook(probe, tmp_path / "c" / "out.ipynb", {"label": "territoire B"}, 60, tmp_path / "c")
    lines = _stdout(nb2, 2).splitlines()
    assert "secret" not in lines[0]  # the previous run's variable is gone...
    assert lines[0] == _stdout(cold, 2).splitlines()[0]  # ...and the namespace is that of a new kernel
    assert lines[1] == str(tmp_path / "b")  # working directory of this run
    assert lines[2] == "False"  # warning filters as at kernel start
    assert lines[3] == _stdout(nb1, 2).strip()  # same kernel process: no start-up paid
    # papermill-compatible parameters: injected cell and metadata, execution count restarted
    injected = [c for c in nb2.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'label = "territoire B"' in injected[0].source
    assert nb2.metadata["papermill"]["parameters"] == {"label": "territoire B"}
    assert [c.execution_count for c in nb2.cells if c.cell_type == "code"] == [1, 2, 3]


def _report_content(folder: Path) -> dict:
    """What a reader gets from a report folder, minus the date of the run."""
    import openpyxl

    html = _DATE_RE.sub("<date>", (folder / "rapport.html").read_text(encoding="utf-8"))
    wb = openpyxl.load_workbook(folder / "indicateurs.xlsx", read_only=True)
    sheets = {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    wb.close()
    nb = nbformat.read(str(folder / "diagnostic.ipynb"), as_version=4)
    outputs = [
        [
            o.get("text") or {k: v for k, v in o.get("data", {}).items() if k != "image/png"}
            for o in c.get("outputs", [])
        ]
        for c in nb.cells
        if c.cell_type == "code"
    ]
    return {"html": html, "xlsx": sheets, "outputs": json.loads(_DATE_RE.sub("<date>", json.dumps(outputs)))}


@pytest.mark.slow
def test_two_territories_in_one_kernel_match_their_reports_alone(tmp_path):
    with KernelSession() as session:
        warm = [build_report(name, out_dir=tmp_path / "warm", session=session) for name in (FIRST, SECOND)]
        assert session.kernels_started == 1
    alone = [build_report(name, out_dir=tmp_path / f"alone{i}") for i, name in enumerate((FIRST, SECOND))]
    for w, a in zip(warm, alone):
        assert w.summary == a.summary and w.summary["population"] > 0
        assert w.key_figures == a.key_figures
        cw, ca = _report_content(w.directory), _report_content(a.directory)
        assert cw["html"] == ca["html"]
        assert cw["xlsx"] == ca["xlsx"]
        assert cw["outputs"] == ca["outputs"]
    second_html = _report_content(warm[1].directory)["html"]
    assert SECOND in second_html and FIRST not in second_html
    nb = nbformat.read(str(warm[1].directory / "diagnostic.ipynb"), as_version=4)
    assert nb.metadata["papermill"]["parameters"]["territoire"] == SECOND
    assert nb.metadata["papermill"]["parameters"]["dossier_sortie"] == str(warm[1].directory)


def _task(name: str, out_dir: Path, timeout: int = 600, notebook: str | None = None) -> Task:
    from cpts_diag import settings
    from cpts_diag.reports.folder import slugify

    return Task(
        name=name,
        slug=slugify(name),
        fingerprint="f" * 64,
        perimeters=str(settings.DEFAULT_PERIMETERS),
        out_dir=str(out_dir.resolve()),
        cpam="exemple",
        timeout=timeout,
        notebook=notebook,
    )


@pytest.mark.slow
@pytest.mark.parametrize("action, message", [("kill-kernel", "noyau Jupyter s'est arrêté"), ("hang", "délai dépassé")])
def test_dead_or_hung_kernel_is_replaced(tmp_path, monkeypatch, action, message):
    """The batch task function (the one worker processes and Dask workers run), in this process."""
    faulty = faulty_notebook(tmp_path / "faulty.ipynb", {FIRST: action})
    monkeypatch.setattr(batch_worker, "_SESSIONS", type(batch_worker._SESSIONS)())
    out = tmp_path / "reports"
    try:
        warm_up = batch_worker.run_one(_task(SECOND, out))  # a kernel is running and warm
        session = batch_worker.kernel_session()
        pid = session.kernel_pid()
        failed = batch_worker.run_one(_task(FIRST, out, timeout=8, notebook=faulty))
        after = batch_worker.run_one(_task(SECOND, out))
        assert session.kernels_started == 2 and session.kernel_pid() != pid
    finally:
        batch_worker.close_sessions()
    assert warm_up["status"] == after["status"] == STATUS_OK
    assert failed["status"] == STATUS_FAILED and message in failed["error"]
    assert "\n" not in failed["error"] and "Traceback" not in failed["error"]
    assert sorted(p.name for p in out.iterdir()) == ["cpts-du-gapencais"]  # nothing of FIRST, no temp folder
    assert SECOND in (out / "cpts-du-gapencais" / "rapport.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_discard_kills_the_kernel_when_its_shutdown_fails(tmp_path):
    """A kernel whose manager cannot shut it down is killed by its pid, not left running."""
    import os

    probe = _notebook(tmp_path / "probe.ipynb", "print(1)")
    session = KernelSession()
    execute_notebook(probe, tmp_path / "out.ipynb", {}, 60, tmp_path, session=session)
    pid = session.kernel_pid()
    assert pid and os.waitpid(pid, os.WNOHANG) == (0, 0)  # running

    def refuse(*args, **kwargs):
        raise RuntimeError("shutdown refused")

    session.km.shutdown_kernel = refuse
    session.km.is_alive = lambda: True
    session.discard()
    assert session.km is None
    deadline = time.monotonic() + 10
    while (ended := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ended[0] == pid and os.WIFSIGNALED(ended[1])  # killed (SIGKILL), reaped here
