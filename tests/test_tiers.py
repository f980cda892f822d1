import csv

import numpy as np
import pytest

from cpts_diag import settings
from cpts_diag.tiers import financing_landmarks, tier_label, tier_of, tiers_of


@pytest.mark.parametrize(
    "population, tier",
    [(0, 1), (39_999, 1), (40_000, 2), (79_999, 2), (80_000, 3), (174_999, 3), (175_000, 4), (2_000_000, 4)],
)
def test_boundaries_belong_to_the_upper_tier(population, tier):
    assert tier_of(population) == tier


def test_vectorised_keeps_unknown_population_unknown():
    out = tiers_of([10_000, np.nan, 90_000])
    assert out[0] == 1 and np.isnan(out[1]) and out[2] == 3


def test_unknown_population_has_no_tier():
    with pytest.raises(ValueError):
        tier_of(float("nan"))


def test_label():
    assert tier_label(3) == "taille 3"


def test_financing_landmarks_come_from_the_data_file_with_sources():
    df = financing_landmarks()
    row = df[df["repere"].str.contains("avenant 2")].iloc[0]
    # avenant 2 = ACI 2019 running costs + 75 %
    base = df[df["repere"].str.startswith("Fonctionnement annuel, ACI 2019")].iloc[0]
    for t in range(1, 5):
        assert row[f"taille_{t}"] == pytest.approx(base[f"taille_{t}"] * 1.75)
    assert df["source"].str.len().min() > 10


def _raw_landmarks() -> list[dict]:
    with open(settings.DATA_DIR / "financement_aci.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_landmark_has_a_scope_national_or_an_existing_region(raw_communes):
    regions = {r["region"] for r in raw_communes}
    rows = _raw_landmarks()
    assert {r["portee"] for r in rows} <= regions | {"nationale"}
    by_name = {r["repere"]: r for r in rows}
    normandie = next(r for n, r in by_name.items() if "Normandie" in n)
    aura = next(r for n, r in by_name.items() if "Auvergne-Rhône-Alpes" in n)
    assert normandie["portee"] == "28" and aura["portee"] == "84"
    assert [aura[f"taille_{t}"] for t in range(1, 5)] == ["15000"] * 4  # one amount whatever the size (seed 001)
    assert all(r["source"] and r["date_source"] for r in rows)


@pytest.mark.parametrize("regions", [["53"], ["28"], ["84"], ["28", "53"], []])
def test_financing_landmarks_keep_the_national_ones_and_those_of_the_regions(regions):
    expected = [r["repere"] for r in _raw_landmarks() if r["portee"] in ("nationale", *regions)]
    assert list(financing_landmarks(regions)["repere"]) == expected
    assert len(financing_landmarks()) == len(_raw_landmarks())  # no région given: all of them


@pytest.mark.parametrize(
    "population, margin, threshold",
    [
        (82_471, 2_471, 80_000),
        (78_000, -2_000, 80_000),
        (39_999, -1, 40_000),
        (175_000, 0, 175_000),
        (60_000, -20_000, 80_000),  # halfway: measured from the upper threshold
        (10_000, -30_000, 40_000),
        (500_000, 325_000, 175_000),
    ],
)
def test_tier_margin_is_the_signed_distance_to_the_nearest_threshold(population, margin, threshold):
    from cpts_diag.tiers import tier_margin

    assert tier_margin(population) == (margin, threshold)


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (38_000, None, 40_000),  # exactly 5 % under
        (37_999, None, None),
        (42_000, None, 40_000),
        (42_001, None, None),
        (166_250, None, 175_000),
        (183_750, None, 175_000),
        (120_000, None, None),
        (30_000, 50_000, 40_000),  # bounds around a threshold
        (12_000, 30_000, None),
        (float("nan"), None, None),
    ],
)
def test_near_threshold_within_five_percent(low, high, expected):
    from cpts_diag.tiers import near_threshold

    assert near_threshold(low, high) == expected


def test_margin_label():
    from cpts_diag.fr_format import Style
    from cpts_diag.tiers import margin_label

    assert margin_label(1_461, 80_000, Style.TERMINAL) == "1 461 hab. au-dessus du seuil de 80 000"
    assert margin_label(-3_754, 175_000, Style.TERMINAL) == "3 754 hab. sous le seuil de 175 000"
    assert margin_label(0, 80_000, Style.TERMINAL) == "exactement au seuil de 80 000 (taille 3)"
