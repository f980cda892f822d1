"""Batch planning: the territories selected (only, région) and their fingerprints (what a re-run redoes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cpts_diag import settings
from cpts_diag.errors import InputError
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.reports.batch.plan import select_territories, territory_fingerprint


@pytest.fixture(scope="module")
def paca():
    return read_perimeters(settings.DEFAULT_PERIMETERS)


def test_select_territories(paca, raw_communes):
    assert len(select_territories(paca)) == 70
    assert select_territories(paca, only=["cpts du gapencais", "CPTS Marseille-7"]) == [
        "CPTS Marseille-7",
        "CPTS du Gapençais",
    ]  # file order, accents and case folded
    # Territories with at least one commune in the région, from the raw files.
    region_of = {r["code_insee"]: r["region"] for r in raw_communes}
    doc = json.loads(Path(settings.DEFAULT_PERIMETERS).read_text(encoding="utf-8"))
    in_93 = [c["nom"] for c in doc["cpts"] if any(region_of.get(code) == "93" for code in c["communes"])]
    assert select_territories(paca, region="93") == in_93 and len(in_93) == 70
    assert not any(region_of.get(code) == "84" for c in doc["cpts"] for code in c["communes"])
    with pytest.raises(InputError, match="aucun territoire"):
        select_territories(paca, region="84")
    with pytest.raises(InputError, match="inconnu"):
        select_territories(paca, region="99")
    with pytest.raises(InputError, match="Gapençais"):
        select_territories(paca, only=["CPTS du Gapencai"])


def test_fingerprint_follows_members_only(tmp_path):
    def fp(text, name="A", context="c"):
        path = tmp_path / "p.csv"
        path.write_text(text, encoding="utf-8")
        return territory_fingerprint(read_perimeters(path).table, name, context)

    base = fp("cpts,code_insee\nA,04001\nA,04009\nB,04012\n")
    assert len(base) == 64
    assert fp("cpts,code_insee\nB,04012\nB,04019\nA,04009\nA,04001\n") == base  # other territory, order
    assert fp("cpts,code_insee\nA,04001\nA,04012\nB,04012\n") != base  # a member changed
    assert fp("cpts,code_insee\nA,04001\nA,04009\nB,04012\n", context="d") != base  # data/notebook/package


def test_fingerprint_follows_the_perimeter_findings_that_other_territories_change(tmp_path):
    """A's rows never change; B taking one of A's communes (Ergué-Gabéric, Finistère) changes what A's report
    says, so its fingerprint; B growing on its far side (Cap Sizun) does not."""
    from cpts_diag.checks import check_perimeters, territory_findings

    def fp(text):
        path = tmp_path / "p.csv"
        path.write_text(text, encoding="utf-8")
        perims = read_perimeters(path)
        return territory_fingerprint(perims.table, "A", "c", territory_findings(check_perimeters(perims), "A"))

    a = "cpts;code_insee\nA;29232\nA;29051\n"  # Quimper, Ergué-Gabéric
    base = fp(a + "B;29003\n")  # Audierne
    assert fp(a + "B;29003\nB;29051\n") != base  # Ergué-Gabéric now in both
    assert fp(a + "B;29003\nB;29228\n") == base  # Primelin, next to Audierne, far from A
