"""Indicators of real PACA CPTS, checked against figures recomputed here from the raw embedded files.

Every expected value is computed with the csv/json modules and plain arithmetic from data/ (APL, bassin
de vie, commune reference, perimeters, département indicators, fictitious CPAM example), never with the
code under test.
"""

import csv
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from cpts_diag import settings
from cpts_diag.indicators import diagnose_all
from cpts_diag.io.perimeters import read_perimeters
from geo_expect import AREA_TOLERANCE, display_area_km2, display_polygons

DATA = Path(__file__).resolve().parent.parent / "data"
PACA_DEPS = ("04", "05", "06", "13", "83", "84")


# ----------------------------------------------------------------------------- raw files
def _rows(name, delimiter=","):
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


@pytest.fixture(scope="module")
def raw():
    cog = _rows("communes_cog2026.csv")
    communes = {r["code_insee"]: r for r in cog if r["type"] == "commune-actuelle"}
    arrondissements = {r["code_insee"]: r for r in cog if r["type"] == "arrondissement-municipal"}
    apl = {r["code_insee"]: r for r in _rows("apl_mg_communes_2022_2023.csv")}
    bv_of = {r["code_insee"]: r["bv2022"] for r in _rows("communes_bv2022.csv")}
    bv = {r["code"]: r for r in _rows("bv2022_indicateurs.csv")}
    deps = {r["code"]: r for r in _rows("departements_indicateurs.csv")}
    with open(DATA / "perimetres" / "cpts_paca_ars_2026-01.json", encoding="utf-8") as fh:
        cpts = {c["nom"]: c for c in json.load(fh)["cpts"]}
    cpam = {r["code_commune"]: r for r in _rows("exemple_cpam_FICTIF_paca.csv", ";")}
    return {
        "communes": communes,
        "arrondissements": arrondissements,
        "apl": apl,
        "bv_of": bv_of,
        "bv": bv,
        "deps": deps,
        "cpts": cpts,
        "cpam": cpam,
    }


@pytest.fixture(scope="module")
def diags():
    return diagnose_all(read_perimeters(settings.DEFAULT_PERIMETERS))


@pytest.fixture(scope="module")
def diags_cpam():
    return diagnose_all(read_perimeters(settings.DEFAULT_PERIMETERS), cpam=settings.DEFAULT_CPAM)


def _row(diag, indicator, level="territoire", code=None):
    ind = diag.indicators
    sel = ind[(ind["indicator"] == indicator) & (ind["level"] == level)]
    if code is not None:
        sel = sel[sel["level_code"] == code]
    assert len(sel) == 1, (indicator, level, code, len(sel))
    return sel.iloc[0]


def _units(raw, name):
    """Population units of a CPTS from the raw ARS listing: arrondissements when listed, else communes."""
    c = raw["cpts"][name]
    return list(c.get("arrondissements") or c["communes"])


def _apl_mean(rows, year, measure="apl_mg"):
    num = den = 0.0
    for r in rows:
        apl, w = _float(r[f"{measure}_{year}"]), _float(r[f"pop_standardisee_{year}"])
        if apl is not None and w is not None:
            num += apl * w
            den += w
    return num / den


def _apl_under(rows, year, measure="apl_mg"):
    under = total = 0.0
    for r in rows:
        apl, pop = _float(r[f"{measure}_{year}"]), _float(r[f"pop_totale_{year}"])
        if apl is not None and pop is not None:
            total += pop
            under += pop if apl < 2.5 else 0.0
    return under, total


def _bv_weighted(raw, codes, column):
    num = den = total = 0.0
    for code in codes:
        pop = float(raw["communes"][code]["population"])
        total += pop
        value = _float(raw["bv"].get(raw["bv_of"].get(code, ""), {}).get(column))
        if value is not None:
            num += value * pop
            den += pop
    return num / den, den / total


# -------------------------------------------------------------------------------- tests
@pytest.mark.parametrize(
    "name",
    ["CPTS du Gapençais", "CPTS Hauts pays du Verdon et Monts d'Azur", "CPTS Val Durance", "CPTS Comtat Venaissin"],
)
def test_apl_and_threshold_match_raw_drees_file(raw, diags, name):
    codes = _units(raw, name)
    rows = [raw["apl"][c] for c in codes]
    diag = diags[name]
    for year in ("2022", "2023"):
        for measure in ("apl_mg", "apl_mg_moins65"):
            row = _row(diag, f"{measure}_{year}")
            assert row["value"] == pytest.approx(_apl_mean(rows, year, measure), rel=1e-12)
            assert row["quality"] == "exacte" and row["coverage"] == 1.0
            under, total = _apl_under(rows, year, measure)
            assert _row(diag, f"{measure}_{year}_pop_sous_seuil")["value"] == pytest.approx(under)
            share = _row(diag, f"{measure}_{year}_part_sous_seuil")["value"]
            assert share == pytest.approx(100 * under / total, rel=1e-12)


def test_gapencais_known_figures(raw, diags):
    diag = diags["CPTS du Gapençais"]
    codes = _units(raw, "CPTS du Gapençais")
    assert len(codes) == 34
    pop = sum(float(raw["communes"][c]["population"]) for c in codes)
    assert _row(diag, "population")["value"] == pop == diag.summary["population"]
    assert _row(diag, "nombre_communes")["value"] == 34
    assert diag.summary["departements"] == ["04", "05"] and diag.summary["regions"] == ["93"]
    levels = set(zip(diag.indicators["level"], diag.indicators["level_code"]))
    assert {("departement", "04"), ("departement", "05"), ("region", "93"), ("france", "FR")} <= levels
    # a territory below 2.5 exists here: not a vacuous threshold check
    assert _row(diag, "apl_mg_2023_pop_sous_seuil")["value"] > 0


@pytest.mark.parametrize("name", ["CPTS du Gapençais", "CPTS Sud 04", "CPTS du Grand Avignon"])
def test_bassin_de_vie_indicators_are_population_weighted(raw, diags, name):
    codes = _units(raw, name)
    diag = diags[name]
    for ind, column in [
        ("densite_mg_liberaux", "Densité de généralistes lib. 2024"),
        ("part_ald", "Part des bénéf. en ALD dans la pop 2024"),
        ("part_moins_15", "Part des pers. âgées de - 15 ans 2022"),
    ]:
        expected, coverage = _bv_weighted(raw, codes, column)
        row = _row(diag, ind)
        assert row["value"] == pytest.approx(expected, rel=1e-12)
        assert row["coverage"] == pytest.approx(coverage, rel=1e-12)
        assert row["source_level"] == "bassin de vie"
        assert row["quality"] == ("approchée" if coverage == 1 else "partiellement masquée")


def test_masked_bassin_de_vie_leaves_population_uncovered(raw, diags):
    # the Gap BV masks its ALD share: its communes are not covered, never counted as zero
    _expected, coverage = _bv_weighted(raw, _units(raw, "CPTS du Gapençais"), "Part des bénéf. en ALD dans la pop 2024")
    assert coverage < 1
    row = _row(diags["CPTS du Gapençais"], "part_ald")
    assert row["coverage"] == pytest.approx(coverage) and row["quality"] == "partiellement masquée"


def test_comparison_levels_computed_over_all_communes(raw, diags):
    diag = diags["CPTS du Gapençais"]
    by_dep = {}
    for code, r in raw["apl"].items():
        by_dep.setdefault(code[:2], []).append(r)
    for dep in ("04", "05"):
        assert _row(diag, "apl_mg_2023", "departement", dep)["value"] == pytest.approx(
            _apl_mean(by_dep[dep], "2023"), rel=1e-12
        )
    paca = [r for d in PACA_DEPS for r in by_dep[d]]
    assert _row(diag, "apl_mg_2023", "region", "93")["value"] == pytest.approx(_apl_mean(paca, "2023"), rel=1e-12)
    everything = list(raw["apl"].values())
    france = _row(diag, "apl_mg_2023", "france")
    assert france["value"] == pytest.approx(_apl_mean(everything, "2023"), rel=1e-12)
    under, total = _apl_under(everything, "2023")
    assert _row(diag, "apl_mg_2023_part_sous_seuil", "france")["value"] == pytest.approx(100 * under / total)
    # BV density of département 05, over all its communes
    dep05 = [c for c, r in raw["communes"].items() if r["departement"] == "05"]
    expected, _cov = _bv_weighted(raw, dep05, "Densité de généralistes lib. 2024")
    assert _row(diag, "densite_mg_liberaux", "departement", "05")["value"] == pytest.approx(expected, rel=1e-12)


def test_departement_gp_counts_bpe_2024(raw, diags):
    diag = diags["CPTS du Gapençais"]
    pop = {d: sum(float(r["population"]) for r in raw["communes"].values() if r["departement"] == d) for d in PACA_DEPS}
    count = {d: float(raw["deps"][d]["Médecin généraliste (en nombre) 2024"]) for d in PACA_DEPS}
    assert _row(diag, "nombre_mg", "departement", "05")["value"] == count["05"] == 206
    assert _row(diag, "densite_mg", "departement", "05")["value"] == pytest.approx(1e4 * count["05"] / pop["05"])
    assert _row(diag, "nombre_mg", "region", "93")["value"] == sum(count.values())
    assert _row(diag, "densite_mg", "region", "93")["value"] == pytest.approx(
        1e4 * sum(count.values()) / sum(pop.values())
    )
    # not available for the territory itself (no commune-level BPE embedded)
    ind = diag.indicators
    assert ind[(ind["indicator"] == "nombre_mg") & (ind["level"] == "territoire")].empty


def test_marseille_arrondissements(raw, diags):
    diag = diags["CPTS Actes Santé"]
    arrs = _units(raw, "CPTS Actes Santé")
    assert arrs == ["13214", "13215", "13216"]
    rows = [raw["apl"][a] for a in arrs]
    row = _row(diag, "apl_mg_2023")
    assert row["value"] == pytest.approx(_apl_mean(rows, "2023"), rel=1e-12)
    assert row["source_level"] == "arrondissement municipal"
    pop = sum(float(raw["arrondissements"][a]["population"]) for a in arrs)
    assert _row(diag, "population")["value"] == pop
    # arrondissements have their own polygons (ADMIN EXPRESS)
    area = _row(diag, "superficie")
    assert area["value"] == pytest.approx(display_area_km2(arrs), rel=AREA_TOLERANCE)
    assert area["coverage"] == 1
    assert sorted(diag.communes["unit"]) == arrs


def test_split_commune_gives_bounds(raw, diags):
    name = "CPTS Nice ouest Vallée"
    c = raw["cpts"][name]
    assert c["infra"] == ["Nice"]
    others = [x for x in c["communes"] if x != "06088"]
    low = sum(float(raw["communes"][x]["population"]) for x in others)
    high = low + float(raw["communes"]["06088"]["population"])
    diag = diags[name]
    pop = _row(diag, "population")
    assert math.isnan(pop["value"]) and (pop["value_low"], pop["value_high"]) == (low, high)
    assert pop["quality"] == "approchée" and diag.summary["approximate"]
    apl = _row(diag, "apl_mg_2023")
    with_nice = _apl_mean([raw["apl"][x] for x in c["communes"]], "2023")
    without = _apl_mean([raw["apl"][x] for x in others], "2023")
    assert apl["value"] == pytest.approx(with_nice)
    assert (apl["value_low"], apl["value_high"]) == pytest.approx((min(with_nice, without), max(with_nice, without)))
    assert apl["quality"] == "approchée"


def test_former_code_counted_once(raw, diags):
    # Guil Durance lists 05001 Abriès-Ristolas and 05120 Ristolas (now a commune déléguée of 05001)
    codes = raw["cpts"]["CPTS Guil Durance"]["communes"]
    assert "05120" in codes and "05001" in codes
    current = sorted(set(codes) - {"05120"})
    diag = diags["CPTS Guil Durance"]
    assert _row(diag, "population")["value"] == sum(float(raw["communes"][x]["population"]) for x in current)
    assert _row(diag, "apl_mg_2023")["value"] == pytest.approx(
        _apl_mean([raw["apl"][x] for x in current], "2023"), rel=1e-12
    )


def test_area_from_embedded_polygons(diags):
    diag = diags["CPTS du Gapençais"]
    codes = set(diag.communes["code_insee"])
    expected = display_area_km2(codes)
    area = _row(diag, "superficie")["value"]
    assert area == pytest.approx(expected, rel=AREA_TOLERANCE)
    assert _row(diag, "densite_population")["value"] == pytest.approx(diag.summary["population"] / area)
    # national areas: all of France but the 4 Cantal communes restored in 2025 (no polygon): the
    # total is then a lower bound, never a sum that counts them as zero
    france = _row(diag, "superficie", "france")
    assert 0.999 < france["coverage"] < 1
    assert math.isnan(france["value"])
    communes = display_polygons().query("type == 'COM'")["code_insee"]
    assert france["value_low"] == pytest.approx(display_area_km2(communes), rel=0.01)
    assert _row(diag, "densite_population", "france")["coverage"] > 0.999


def _masked(cell):
    return cell.startswith("<")


def test_fictitious_cpam_is_flagged_and_bounded(raw, diags, diags_cpam):
    name = "CPTS du Gapençais"
    diag = diags_cpam[name]
    assert diag.fictitious and not diags[name].fictitious
    assert not diags[name].indicators["indicator"].str.contains("sans_mt").any()  # no CPAM by default
    num_low = num_masked = den_low = den_masked = 0
    for code in _units(raw, name):
        r = raw["cpam"][code]
        assert r["donnees_fictives"] == "1"
        for col, is_num in (("patients_17ans_plus_sans_mt", True), ("patients_17ans_plus", False)):
            if _masked(r[col]):
                num_masked += is_num
                den_masked += not is_num
            elif is_num:
                num_low += int(r[col])
            else:
                den_low += int(r[col])
    assert num_masked > 0  # the range path is exercised
    count = _row(diag, "patients_sans_mt_17_plus")
    assert math.isnan(count["value"])
    assert (count["value_low"], count["value_high"]) == (num_low, num_low + 10 * num_masked)
    share = _row(diag, "part_sans_mt_17_plus")
    assert share["value_low"] == pytest.approx(100 * num_low / (den_low + 10 * den_masked))
    assert share["value_high"] == pytest.approx(100 * (num_low + 10 * num_masked) / den_low)
    cpam_rows = diag.indicators[diag.indicators["source"].str.contains("FICTI")]
    # every column of the example file gives its indicators (6 shares, 3 counts), at the four levels
    expected = {
        *(f"part_sans_mt_{g}" for g in ("17_plus", "70_plus", "ald", "css")),
        *("part_ald_cpam", "part_css_cpam", "patients_sans_mt_17_plus", "patients_sans_mt_70_plus"),
        "patients_ald_sans_mt",
    }
    assert set(zip(cpam_rows["indicator"], cpam_rows["level"])) == {
        (i, level) for i in expected for level in ("territoire", "departement", "region", "france")
    }
    assert (cpam_rows["quality"] == "données fictives").all()
    real = diag.indicators[~diag.indicators["source"].str.contains("FICTI")]
    assert not (real["quality"] == "données fictives").any()  # never mixed silently


def test_all_territories(diags):
    """Every PACA CPTS gets a diagnostic (its speed is measured by benchmarks/bench_indicators.py)."""
    assert len(diags) == 70
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference

    perimeters = read_perimeters(settings.DEFAULT_PERIMETERS, names_by_code=load_reference().names)
    result = diagnose_all(perimeters)  # a Perimeters object gives what the file path gives
    assert list(result) == list(diags)
    for name, diag in result.items():
        pd.testing.assert_frame_equal(diag.indicators, diags[name].indicators)
        terr = diag.indicators[diag.indicators["level"] == "territoire"]
        assert set(terr["quality"]) <= {"exacte", "approchée", "partiellement masquée"}
        assert (terr["coverage"].between(0, 1)).all()
