"""Notebook 01 (perimeter check) with its defaults finds what `cpts-diag check` finds on the same file."""

from __future__ import annotations

import csv
import json

from cpts_diag import settings
from cpts_diag.cli import main

EPCI = {"CPTS Pays de Quimper (illustratif)": "200068120", "CPTS de la Veyle (illustratif)": "200070555"}


def test_default_study_area_is_the_command_lines(tmp_path, capsys):
    from cpts_diag.reports.check_notebook import run_check

    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        communes = [r for r in csv.DictReader(fh) if r["type"] == "commune-actuelle"]
    path = tmp_path / "cpts.csv"
    lines = [f"{n};{r['code_insee']}" for n, siren in EPCI.items() for r in communes if r["epci_siren"] == siren]
    path.write_text("cpts;code_insee\n" + "\n".join(lines) + "\n", encoding="utf-8")
    assert len(lines) == 14 + 18

    report = run_check(str(path))  # region "" and departements [] as in the notebook's parameters cell
    assert main(["check", str(path), "--json"]) == report.exit_code
    cli = json.loads(capsys.readouterr().out)
    notebook = report.to_dict()
    assert notebook["summary"] == cli["summary"]
    assert [o["code_insee"] for o in notebook["orphans"]] == [o["code_insee"] for o in cli["orphans"]]
    assert {t["name"] for t in notebook["territories"]} == set(EPCI)


def test_simulation_reuses_the_checked_perimeters_and_resolves_typed_names(tmp_path, monkeypatch):
    from cpts_diag.io import perimeters as perimeter_io
    from cpts_diag.reports.check_notebook import run_check, run_simulation

    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        communes = [r for r in csv.DictReader(fh) if r["type"] == "commune-actuelle"]
    quimper = [r for r in communes if r["epci_siren"] == EPCI["CPTS Pays de Quimper (illustratif)"]]
    added = next(r for r in communes if r["departement"] == "29" and r not in quimper)  # Finistère, outside the EPCI
    path = tmp_path / "cpts.csv"
    path.write_text(
        "cpts;code_insee\n" + "".join(f"CPTS Pays de Quimper (illustratif);{r['code_insee']}\n" for r in quimper),
        encoding="utf-8",
    )
    report = run_check(str(path), geometries_file="")
    reads = []
    read = perimeter_io.read_perimeters
    monkeypatch.setattr(perimeter_io, "read_perimeters", lambda p, *a, **k: reads.append(p) or read(p, *a, **k))
    # as typed in the notebook's cell: lower case, no accents to match
    sim = run_simulation(report, [("ajouter", added["code_insee"], "cpts pays de quimper (illustratif)")])
    # the file the check read is not read again (only the corrected copy the simulation writes, elsewhere)
    assert tmp_path not in {p.parent for p in reads}
    applied = [c for c in sim.changes if c["kind"] == "applied"]
    assert [(c["code_insee"], c["territory"], c["population"]) for c in applied] == [
        (added["code_insee"], "CPTS Pays de Quimper (illustratif)", int(added["population"]))
    ]
    after = next(t for t in sim.after.territories if t["name"] == "CPTS Pays de Quimper (illustratif)")
    assert after["n_communes"] == len(quimper) + 1
    assert after["population"] == sum(int(r["population"]) for r in quimper) + int(added["population"])
