import numpy as np
import pytest

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
