"""Tests of cpts_diag.reports.report_data: the report data of notebook 02 and its cache of diagnostics."""

from __future__ import annotations

import pytest

from cpts_diag import settings
from cpts_diag.errors import InputError
from cpts_diag.io.perimeters import read_perimeters
from helpers import populations as _populations


# ---------------------------------------------------------------------------
# report data and its cache (no kernel)
# ---------------------------------------------------------------------------
def test_cached_report_data_equals_a_direct_diagnostic(tmp_path, monkeypatch):
    import pandas as pd

    from cpts_diag.indicators import diagnose
    from cpts_diag.reports import report_data as rs

    monkeypatch.setenv("CPTS_DIAG_CACHE", str(tmp_path / "cache"))
    first = rs.load_report_data("cpts du gapencais")  # case and accents ignored
    second = rs.load_report_data("CPTS du Gapençais")
    assert (first.cached, second.cached) == (False, True)
    direct = diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS du Gapençais", cpam=settings.DEFAULT_CPAM)
    for got in (first, second):
        assert got.territory == "CPTS du Gapençais"
        pd.testing.assert_frame_equal(got.diag.indicators, direct.indicators)
        # same values; an all-missing arrondissement column may hold NaN or None
        assert got.diag.communes["arrondissement"].isna().equals(direct.communes["arrondissement"].isna())
        pd.testing.assert_frame_equal(
            got.diag.communes.drop(columns="arrondissement"), direct.communes.drop(columns="arrondissement")
        )
        assert got.summary == direct.summary
        assert got.diag.fictitious is True
    assert len(second.map_communes) == direct.summary["n_communes"]
    with pytest.raises(InputError, match="territoire inconnu"):
        rs.load_report_data("CPTS Inexistante")


def test_cache_follows_the_perimeter_file_content_and_can_be_disabled(tmp_path, monkeypatch):
    from cpts_diag.reports import report_data as rs

    monkeypatch.setenv("CPTS_DIAG_CACHE", str(tmp_path / "cache"))
    csv = tmp_path / "p.csv"
    csv.write_text("cpts;code_insee\nCPTS Test;06069\n", encoding="utf-8")
    one = rs.load_report_data("CPTS Test", csv, cpam="")
    csv.write_text("cpts;code_insee\nCPTS Test;06069\nCPTS Test;06007\n", encoding="utf-8")
    two = rs.load_report_data("CPTS Test", csv, cpam="")
    assert not two.cached
    assert two.summary["population"] == one.summary["population"] + sum(_populations(["06007"]))
    assert not two.diag.fictitious and two.cpam_mode == "aucun"
    monkeypatch.setenv("CPTS_DIAG_CACHE", "0")
    off = rs.load_report_data("CPTS Test", csv, cpam="")
    assert not off.cached and off.summary == two.summary


def test_a_one_territory_file_takes_the_name_it_is_given_cache_or_not(tmp_path, monkeypatch):
    from cpts_diag.reports import report_data as rs

    monkeypatch.setenv("CPTS_DIAG_CACHE", str(tmp_path / "cache"))
    csv = tmp_path / "cpts_ile_de_re.csv"  # Charente-Maritime: two communes of the Île de Ré, no territory column
    csv.write_text("Commune;Code INSEE\nSaint-Martin-de-Ré;17369\nLa Flotte;17161\n", encoding="utf-8")
    plain = rs.load_report_data("", csv, cpam="")  # no name: the file's only territory, named from the file
    assert plain.territory == "CPTS ile de re" and not plain.cached
    assert plain.summary["population"] == sum(_populations(["17369", "17161"]))
    again = rs.load_report_data(None, csv, cpam="")
    assert again.cached and again.territory == "CPTS ile de re"
    named = rs.load_report_data("CPTS Île de Ré", csv, cpam="")  # cached under another name: computed afresh
    assert named.territory == "CPTS Île de Ré" and not named.cached
    assert named.summary["population"] == plain.summary["population"]


def test_the_map_hatches_the_orphans_of_the_paca_listing_near_the_territory(monkeypatch):
    """Sisteron (04209) is in no CPTS of the ARS PACA listing, which covers nearly all of PACA: an orphan, drawn
    on the map of its neighbour CPTS Buëch-Dévoluy, and said in the report's perimeter findings."""
    import csv
    import json

    from cpts_diag.reports import report_data as rs

    monkeypatch.setenv("CPTS_DIAG_CACHE", "0")
    listing = json.loads(settings.DEFAULT_PERIMETERS.read_text(encoding="utf-8"))["cpts"]
    assert not any("04209" in c["communes"] for c in listing)
    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        paca = {r["code_insee"] for r in csv.DictReader(fh) if r["type"] == "commune-actuelle" and r["region"] == "93"}
    data = rs.load_report_data("CPTS Buech-Devoluy", cpam="")
    drawn = set(data.orphans["code_insee"])
    assert "04209" in drawn and drawn <= paca - {c for t in listing for c in t["communes"]}
    assert "04209" in {o["code_insee"] for o in data.perimeter["orphans_touching"]}
