"""What a batch worker runs, and how it ends: with its batch, whatever kills the batch (kill -9 included), its
Jupyter kernels with it; the scratch folders of killed workers removed at the next batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from cpts_diag.reports.batch.worker import SCRATCH_PREFIX, remove_stale_scratch
from helpers import faulty_notebook


def _marked(mark: str) -> list[tuple[int, str]]:
    """(pid, command line) of the living processes whose environment holds ``mark`` (zombies left out)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if mark.encode() in environ and state != "Z":
            found.append((int(pid), cmdline.strip()))
    return found


def _wait(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PR_SET_PDEATHSIG are Linux's")
def test_kill_9_of_the_batch_leaves_no_process(tmp_path, raw_communes):
    """Bretagne: two CPTS whose notebooks hang; the batch's process is killed with SIGKILL while both workers run
    a kernel; its fork server, workers and kernels are all gone within 10 s."""
    names = {r["code_insee"]: r["nom"] for r in raw_communes}
    rows = [("CPTS Quimper", "29232"), ("CPTS Brest", "29019")]
    csv = tmp_path / "bretagne.csv"
    csv.write_text("cpts;commune;code_insee\n" + "".join(f"{n};{names[c]};{c}\n" for n, c in rows), "utf-8")
    hang = faulty_notebook(tmp_path / "attente.ipynb", {n: "hang" for n, _ in rows})
    out, mark = tmp_path / "lot", f"CPTS_DIAG_TEST_MARK_{uuid.uuid4().hex}"
    code = (
        "from cpts_diag.reports.batch import run_batch\n"
        f"run_batch({str(csv)!r}, out_dir={str(out)!r}, workers=2, notebook={hang!r}, cpam='aucun', progress=False,"
        " regional=False)\n"
    )
    env = dict(os.environ, **{mark: "1"})
    batch = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        kernels = _wait(lambda: len([p for p, c in _marked(mark) if "ipykernel" in c]) >= 2, 300)
        assert kernels, (_marked(mark), batch.poll())
        assert _wait(lambda: len(list(out.glob(".*.tmp"))) == 2, 120)  # both reports are being built
        running = _marked(mark)
        assert len(running) >= 6  # the batch, its fork server, resource tracker, 2 workers, 2 kernels
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait()
        t_kill = time.monotonic()
        left = _wait(lambda: _marked(mark) == [], 10) or _marked(mark)
        print(f"{len(running)} processus du lot, tous finis en {time.monotonic() - t_kill:.1f} s")
        assert left is True, "\n".join(f"{p} {c[:150]}" for p, c in left)
    finally:
        for pid, _ in _marked(mark):  # clean up what the test started, if it failed
            os.kill(pid, signal.SIGKILL)


def test_scratch_folders_of_gone_workers_are_removed(tmp_path):
    """A worker killed during a report leaves its scratch folder: the next batch removes it, not a living one's."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{int(dead.stdout)}_"))
    (gone / "rapport.html").write_text("x", encoding="utf-8")
    alive = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}_"))
    try:
        assert gone in remove_stale_scratch()
        assert not gone.exists() and alive.is_dir()
    finally:
        for path in (gone, alive):
            if path.exists():
                os.chmod(path, 0o700)
                for f in path.iterdir():
                    f.unlink()
                path.rmdir()
