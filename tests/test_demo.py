"""`make demo` wiring: check, regional synthesis and reports into one folder with its index."""

import json

import pytest

from cpts_diag.reports import demo


@pytest.mark.slow
def test_demo_writes_check_synthesis_reports_and_index(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "DEMO_TERRITORIES", ("CPTS Verdon",))
    assert demo.run_demo(tmp_path, workers=1) == 0
    out = capsys.readouterr().out
    assert "70 territoires" in out and "45 orphelines" in out
    assert str((tmp_path / "index.html").resolve()) in out
    region = tmp_path / "region-93-provence-alpes-cote-d-azur"  # the ARS view, as batch writes it for any listing
    for name in (
        "controle_perimetres.xlsx",
        "controle_perimetres.gpkg",
        "synthese_regionale.html",
        "carte_regionale.html",
    ):
        assert (region / name).is_file(), name
    batch = json.loads((tmp_path / "batch.json").read_text(encoding="utf-8"))
    assert [e["name"] for e in batch["territories"]] == ["CPTS Verdon"]
    assert [(r["code"], r["status"]) for r in batch["regions"]] == [("93", "ok")]
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "cpts-verdon/rapport.html" in index
    assert "region-93-provence-alpes-cote-d-azur/synthese_regionale.html" in index
