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
