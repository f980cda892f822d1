"""One writer per output folder: a second batch (or synthesis) into a folder in use stops at once, in one French
line naming the running one; the lock goes with its process, even after kill -9."""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cpts_diag.errors import InputError
from cpts_diag.io.lock import LOCK_FILE, output_lock

BIN = Path(sys.executable).parent
HOLD = "import sys, time; from cpts_diag.io.lock import output_lock\nwith output_lock(sys.argv[1]):\n" + (
    "    print('verrou', flush=True); time.sleep(600)\n"
)


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of ``tmp_path / "rapports"`` (a colleague's batch, say)."""
    out = tmp_path / "rapports"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "verrou"
        started = dt.datetime.now()
        yield out, proc, started
    finally:
        proc.kill()
        proc.wait()


def _brittany_file(path: Path, raw_communes) -> Path:
    """Two CPTS of the Finistère (Quimper, Brest), codes and names from the COG."""
    names = {r["code_insee"]: r["nom"] for r in raw_communes}
    rows = [("CPTS Quimper", "29232"), ("CPTS Brest", "29019")]
    path.write_text("cpts;commune;code_insee\n" + "".join(f"{n};{names[c]};{c}\n" for n, c in rows), "utf-8")
    return path


def test_second_batch_into_a_folder_in_use_stops_at_once(holder, tmp_path, raw_communes):
    out, proc, started = holder
    csv = _brittany_file(tmp_path / "bretagne.csv", raw_communes)
    res = subprocess.run(
        [str(BIN / "cpts-diag"), "batch", str(csv), "--out", str(out), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    m = re.fullmatch(
        rf"erreur : le dossier {re.escape(str(out))} est déjà utilisé par un autre traitement "
        rf"\(pid {proc.pid}, lancé le (\d\d/\d\d/\d{{4}} à \d\d:\d\d) : python -c (.+)\) ; "
        r"attendez sa fin ou choisissez un autre --out",
        lines[0],
    )
    assert m, lines[0]
    shown = dt.datetime.strptime(m.group(1), "%d/%m/%Y à %H:%M")
    assert abs((shown - started.replace(second=0, microsecond=0)).total_seconds()) <= 60
    assert m.group(2) == shlex.quote(str(out))  # the holder's command line
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing written by the second one


def test_synthesis_into_a_folder_in_use_stops_too(holder):
    from cpts_diag.reports.batch import run_synthesis

    out, proc, _ = holder
    with pytest.raises(InputError) as err:
        run_synthesis(out_dir=out, region="93", cpam="aucun")
    assert f"(pid {proc.pid}, lancé le " in str(err.value)
    assert str(err.value).startswith(f"le dossier {out} est déjà utilisé par un autre traitement")
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]


def test_no_stale_lock_after_kill_9(holder):
    out, proc, _ = holder
    with pytest.raises(InputError):
        with output_lock(out):
            pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with output_lock(out):  # released by the system with its process
        lines = (out / LOCK_FILE).read_text(encoding="utf-8").splitlines()
    assert lines[0] == str(os.getpid())


def test_lock_is_reentrant_in_one_process(tmp_path):
    """A batch holds it, then its regional view (same process) takes it again."""
    with output_lock(tmp_path / "r"), output_lock(tmp_path / "r"):
        assert (tmp_path / "r" / LOCK_FILE).read_text(encoding="utf-8").split("\n")[0] == str(os.getpid())
    take = "import sys; from cpts_diag.io.lock import output_lock\nwith output_lock(sys.argv[1]): print('libre')"
    res = subprocess.run([sys.executable, "-c", take, str(tmp_path / "r")], capture_output=True, text=True, timeout=60)
    assert (res.returncode, res.stdout) == (0, "libre\n")  # released at the end of the outer block


def test_demo_into_a_folder_in_use_says_nothing_else(holder):
    out, proc, _ = holder
    res = subprocess.run(
        [str(BIN / "cpts-diag"), "demo", "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr.startswith(
        f"erreur : le dossier {out} est déjà utilisé par un autre traitement (pid {proc.pid}, "
    )
    assert len(res.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]
