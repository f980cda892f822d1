"""Small helpers shared by several test files (imported by name, like geo_expect)."""

from __future__ import annotations

import pandas as pd


def populations(codes):
    """Populations of commune or arrondissement codes, from the COG 2026 reference."""
    from cpts_diag.reference import load_reference

    communes = load_reference().communes
    return [float(communes.at[c, "population"]) for c in codes]


def perimeter_table(territories: dict) -> pd.DataFrame:
    """Canonical perimeter table from {territory: [codes]} (Marseille arrondissements as 132xx codes)."""
    rows = []
    for name, codes in territories.items():
        for code in codes:
            arr = code if code.startswith("132") else None
            rows.append(
                {
                    "cpts": name,
                    "code_insee": "13055" if arr else code,
                    "arrondissement": arr,
                    "infracommunal": False,
                    "line": len(rows) + 2,
                }
            )
    return pd.DataFrame(rows)


def indicator_row(diag, indicator, level="territoire", code=None):
    """The one indicator row of ``diag`` for ``indicator`` at ``level`` (and ``code``)."""
    ind = diag.indicators
    sel = ind[(ind["indicator"] == indicator) & (ind["level"] == level)]
    if code is not None:
        sel = sel[sel["level_code"] == code]
    assert len(sel) == 1, (indicator, level, len(sel))
    return sel.iloc[0]


#: What a faulty report notebook does for a territory (:func:`faulty_notebook`).
_FAULTS = {
    "kill-kernel": "os._exit(1)",
    "hang": "time.sleep(3600)",
    "kill-worker": "os.kill(os.getppid(), signal.SIGKILL)\n        os._exit(1)",
}


def faulty_notebook(path, faults: dict) -> str:
    """Notebook 02 with a cell, after the parameters, that fails for some territories; its path.

    ``faults``: territory name -> ``action`` or ``(action, once_file)``; ``action`` is ``kill-kernel`` (the kernel
    exits), ``hang`` (sleeps an hour) or ``kill-worker`` (kills the process running the kernel: a batch worker).
    With ``once_file``, only the run that creates that file fails (a crash on the first attempt only). Given to
    ``run_batch(notebook=...)`` or to a :class:`cpts_diag.reports.batch.Task`.
    """
    import nbformat

    from cpts_diag.reports.runner import NOTEBOOK

    plan = {name: (f, None) if isinstance(f, str) else tuple(f) for name, f in faults.items()}
    branches = "".join(
        f"if _fault == {action!r}:\n        {_FAULTS[action]}\n    " for action in sorted({a for a, _ in plan.values()})
    )
    code = (
        "import os, signal, time\n"
        f"_fault, _once = {plan!r}.get(territoire, (None, None))\n"
        "if _fault and _once:\n"
        "    try:\n"
        "        os.close(os.open(_once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))\n"
        "    except FileExistsError:\n"
        "        _fault = None\n"
        f"if _fault:\n    {branches.rstrip()}\n"
    )
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    at = next(i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at, nbformat.v4.new_code_cell(code))
    nbformat.write(nb, str(path))
    return str(path)
