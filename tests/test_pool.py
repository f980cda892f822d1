"""The local pool of batch workers: Ctrl-C stops it cleanly (no report half-written, no process left)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_run import _perimeter_csv


def _processes_under(path: Path) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(path)):
            found.append(int(pid))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_interrupt_stops_cleanly(tmp_path):
    csv = _perimeter_csv(tmp_path / "perimetres.csv")
    out = tmp_path / "reports"
    code = (
        "import sys; from cpts_diag.reports.batch import run_batch_cli; "
        f"sys.exit(run_batch_cli({str(csv)!r}, workers=2, out_dir={str(out)!r}, progress=False))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob(".*.tmp")):  # a report is being built
        time.sleep(0.2)
    assert list(out.glob(".*.tmp")), "no report started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrompu" in stderr.lower()
    assert "Traceback" not in stderr
    assert not list(out.glob(".*.tmp"))  # temporary folders removed
    for folder in (p for p in out.iterdir() if p.is_dir()):  # a report folder is complete or absent
        assert {"rapport.html", "carte.html", "indicateurs.xlsx", "perimetre.gpkg", "diagnostic.ipynb"} <= {
            f.name for f in folder.iterdir()
        }
    doc = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert doc["interrupted"] is True
    assert "interrompu" in (out / "index.html").read_text(encoding="utf-8").lower()
    for _ in range(50):  # workers and their kernels are gone
        if not _processes_under(out):
            break
        time.sleep(0.2)
    assert _processes_under(out) == []
