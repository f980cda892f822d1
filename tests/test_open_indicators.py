"""Open-data indicators (trend, income, nurse zonage, mortality, professionals) on real territories.

Territories are made of real communes (the members of an EPCI in data/communes_cog2026.csv) in four
régions, two of them DROM. Every expectation is recomputed here from the embedded files with plain pandas,
independently of cpts_diag.open_indicators.
"""

import math

import numpy as np
import pandas as pd
import pytest

from cpts_diag import settings
from cpts_diag.indicators import diagnose_all

DATA = settings.DATA_DIR
TERRITORIES = {
    "Bretagne": "200038990",  # CC de Saint-Méen Montauban (35)
    "Grand Est": "200033025",  # CA de Bar-le-Duc - Sud Meuse (55)
    "La Réunion": "249740119",  # CINOR (974)
    "Mayotte": "200060457",  # CA Dembeni-Mamoudzou (976)
    "Corse": "242010056",  # CA du Pays Ajaccien (2A)
}


@pytest.fixture(scope="module")
def communes():
    c = pd.read_csv(DATA / "communes_cog2026.csv", dtype=str, keep_default_na=False)
    c = c[c["type"] == "commune-actuelle"].copy()
    c["population"] = pd.to_numeric(c["population"], errors="coerce")
    return c.set_index("code_insee")


@pytest.fixture(scope="module")
def diags(communes):
    rows = []
    for name, siren in TERRITORIES.items():
        for code in communes.index[communes["epci_siren"] == siren]:
            rows.append(
                {
                    "cpts": name,
                    "code_insee": code,
                    "arrondissement": None,
                    "infracommunal": False,
                    "line": len(rows) + 2,
                }
            )
    # a group of communes split since 2016 (Essarts-en-Bocage 2016 -> 85084, 85165, 85212), whole and in part
    for code in ("85084", "85165", "85212"):
        rows.append(
            {
                "cpts": "Essarts entier",
                "code_insee": code,
                "arrondissement": None,
                "infracommunal": False,
                "line": len(rows) + 2,
            }
        )
    rows.append(
        {
            "cpts": "L'Oie seule",
            "code_insee": "85165",
            "arrondissement": None,
            "infracommunal": False,
            "line": len(rows) + 2,
        }
    )
    return diagnose_all(pd.DataFrame(rows))


def _value(diag, indicator, level="territoire", code=None):
    ind = diag.indicators
    rows = ind[(ind["indicator"] == indicator) & (ind["level"] == level)]
    if code is not None:
        rows = rows[rows["level_code"] == code]
    assert len(rows) == 1, (indicator, level, code)
    return rows.iloc[0]


def _members(communes, siren):
    return communes[communes["epci_siren"] == siren]


@pytest.mark.parametrize("region", ["Bretagne", "Grand Est", "La Réunion"])
def test_growth_rate_recomputed_from_the_harmonised_file(diags, communes, region):
    hist = pd.read_csv(DATA / "populations_historiques_cog2026.csv", dtype=str, keep_default_na=False)
    hist = hist.set_index("code_insee")
    members = _members(communes, TERRITORIES[region])
    p2016 = hist.loc[members.index, "pop_2016"]
    assert (p2016 != "").all()  # these territories have no split commune
    expected = 100 * ((members["population"].sum() / p2016.astype(float).sum()) ** (1 / 7) - 1)
    row = _value(diags[region], "evolution_pop_2016_2023")
    assert row["value"] == pytest.approx(expected, rel=1e-9)
    assert row["quality"] == "exacte" and row["unit"] == "%/an" and row["vintage"] == "2016-2023"
    p2019 = hist.loc[members.index, "pop_2019"].astype(float).sum()
    expected_2019 = 100 * ((members["population"].sum() / p2019) ** (1 / 4) - 1)
    assert _value(diags[region], "evolution_pop_2019_2023")["value"] == pytest.approx(expected_2019, rel=1e-9)


def test_mayotte_2016_population_is_unknown_not_zero(diags):
    d = diags["Mayotte"]
    trend = _value(d, "evolution_pop_2016_2023")
    assert math.isnan(trend["value"]) and trend["coverage"] == 0
    pop = _value(d, "population_2016")
    assert math.isnan(pop["value"]) and math.isnan(pop["value_low"])
    assert not math.isnan(_value(d, "evolution_pop_2019_2023")["value"])
    # the crude mortality of this EPCI is empty in the INSEE file: unknown, never zero
    mort = _value(d, "mortalite_brute")
    assert math.isnan(mort["value"]) and mort["coverage"] == 0


def test_split_commune_group_exact_when_whole_unknown_when_partial(diags, communes):
    groups = pd.read_csv(DATA / "populations_historiques_groupes.csv", dtype=str)
    g = groups[(groups["annee"] == "2016") & (groups["unites"] == "85084|85165|85212")]
    assert len(g) == 1
    now = communes.loc[["85084", "85165", "85212"], "population"].sum()
    expected = 100 * ((now / float(g["population"].iloc[0])) ** (1 / 7) - 1)
    whole = diags["Essarts entier"]
    assert _value(whole, "evolution_pop_2016_2023")["value"] == pytest.approx(expected, rel=1e-9)
    assert _value(whole, "population_2016")["value"] == float(g["population"].iloc[0])
    part = diags["L'Oie seule"]
    assert math.isnan(_value(part, "evolution_pop_2016_2023")["value"])
    pop = _value(part, "population_2016")
    assert math.isnan(pop["value"]) and pop["value_low"] == 0 and pop["value_high"] == float(g["population"].iloc[0])


def test_france_growth_rate_says_it_leaves_mayotte_out(diags, communes):
    """France's 2016-2023 rate is like for like without Mayotte (no 2016 population): its level is named so, and
    the value is recomputed here from the harmonised file; 2019-2023 covers all of France."""
    hist = pd.read_csv(DATA / "populations_historiques_cog2026.csv", dtype=str, keep_default_na=False)
    hist = hist.set_index("code_insee")
    groups = pd.read_csv(DATA / "populations_historiques_groupes.csv", dtype=str)
    france = communes[communes["zone"].isin(["metro", "drom"])]
    p2016 = hist["pop_2016"].reindex(france.index)
    alone = p2016[p2016 != ""].dropna()
    p0, p1 = alone.astype(float).sum(), france.loc[alone.index, "population"].sum()
    for members, pop in zip(
        groups.loc[groups["annee"] == "2016", "unites"], groups.loc[groups["annee"] == "2016", "population"]
    ):
        p0, p1 = p0 + float(pop), p1 + france.loc[members.split("|"), "population"].sum()
    assert (hist.loc[france.index[france["departement"] == "976"], "pop_2016"] == "").all()  # Mayotte 2016: none
    for name in ("Bretagne", "Mayotte"):
        fr_row = _value(diags[name], "evolution_pop_2016_2023", "france")
        assert fr_row["level_name"] == "France hors Mayotte"
        assert fr_row["value"] == pytest.approx(100 * ((p1 / p0) ** (1 / 7) - 1), rel=1e-9)
        assert fr_row["value"] == pytest.approx(0.42, abs=0.005)
    later = _value(diags["Bretagne"], "evolution_pop_2019_2023", "france")
    assert later["level_name"] == "France"  # 2019: Mayotte published, all of France


def _weighted_median(values, weights):
    order = np.argsort(values)
    v, w = np.asarray(values)[order], np.asarray(weights)[order]
    half = w.sum() / 2
    acc = 0
    for x, y in zip(v, w):
        acc += y
        if acc >= half:
            return x
    raise AssertionError


@pytest.mark.parametrize("region", ["Bretagne", "Grand Est", "La Réunion"])
def test_income_range_and_weighted_median_of_commune_medians(diags, communes, region):
    filo = pd.read_csv(DATA / "filosofi_2019_communes.csv", dtype=str).set_index("CODGEO")
    members = _members(communes, TERRITORIES[region])
    known = members.index[members.index.isin(filo.index)]
    q2 = filo.loc[known, "Q219"].astype(float)
    d = diags[region]
    assert _value(d, "revenu_median_communes_min")["value"] == q2.min()
    assert _value(d, "revenu_median_communes_max")["value"] == q2.max()
    weight = filo.loc[known, "NBPERS19"].astype(float)
    coverage = members.loc[known, "population"].sum() / members["population"].sum()
    assert _value(d, "revenu_median_communes_min")["coverage"] == pytest.approx(coverage)
    if len(known) < 5 or weight.max() > weight.sum() / 2:  # CINOR: 3 communes: no quartiles
        assert region == "La Réunion"
        assert d.indicators.query("indicator == 'revenu_median_communes_p50' and level == 'territoire'").empty
    else:
        expected = _weighted_median(q2.to_numpy(), weight.to_numpy())
        assert _value(d, "revenu_median_communes_p50")["value"] == expected
        assert _value(d, "revenu_median_communes_p50")["coverage"] == pytest.approx(coverage)
    # communes absent from Filosofi (secrecy) are unknown in the per-commune table, never zero
    table = d.communes.set_index("code_insee")["revenu_median_2019"]
    missing = [c for c in members.index if c not in filo.index]
    assert table.loc[missing].isna().all()
    assert (table.dropna() > 0).all()
    if missing:
        assert _value(d, "revenu_median_communes_min")["quality"] == "partiellement masquée"


def test_income_without_quartiles_when_one_commune_weighs_over_half(diags, communes):
    filo = pd.read_csv(DATA / "filosofi_2019_communes.csv", dtype=str).set_index("CODGEO")
    quartiles = ["revenu_median_communes_q1", "revenu_median_communes_p50", "revenu_median_communes_q3"]
    members = _members(communes, TERRITORIES["Corse"])
    known = members.index[members.index.isin(filo.index)]
    weight, q2 = filo.loc[known, "NBPERS19"].astype(float), filo.loc[known, "Q219"].astype(float)
    assert weight["2A004"] / weight.sum() > 0.5  # Ajaccio: quartiles would all be its median
    d = diags["Corse"]
    terr = d.indicators[d.indicators["level"] == "territoire"]
    assert not terr["indicator"].isin(quartiles).any()
    assert _value(d, "revenu_median_communes_min")["value"] == q2.min()
    assert _value(d, "revenu_median_communes_max")["value"] == q2.max()
    # the communes' own medians and their weights are in the per-commune table, for the report to list
    table = d.communes.set_index("code_insee")
    assert table.at["2A004", "revenu_median_2019"] == q2["2A004"]
    assert table.at["2A004", "personnes_menages_fiscaux_2019"] == weight["2A004"]
    # Corse-du-Sud: Ajaccio is under half of its weight, its quartiles stay, weighted by the persons of the
    # fiscal households (the label says so)
    dep = communes.index[communes["departement"] == "2A"]
    dep_known = dep[dep.isin(filo.index)]
    dep_w = filo.loc[dep_known, "NBPERS19"].astype(float)
    assert dep_w["2A004"] / dep_w.sum() < 0.5
    p50 = _value(d, "revenu_median_communes_p50", "departement", "2A")
    assert p50["value"] == _weighted_median(filo.loc[dep_known, "Q219"].astype(float).to_numpy(), dep_w.to_numpy())
    assert "pondérée par le nombre de personnes des ménages fiscaux" in p50["label"]


@pytest.mark.parametrize("region", ["Bretagne", "Grand Est", "La Réunion"])
def test_nurse_zonage_shares(diags, communes, region):
    zon = pd.read_csv(DATA / "zonage_infirmiers_communes.csv", dtype=str, keep_default_na=False).set_index("code")
    members = _members(communes, TERRITORIES[region])
    level = zon["niveau"].reindex(members.index)
    known = level[level != ""].dropna()
    base = members.loc[known.index, "population"].sum()
    for lv in range(1, 6):
        expected = 100 * members.loc[known.index[known == str(lv)], "population"].sum() / base
        assert _value(diags[region], f"zonage_infirmiers_part_{lv}")["value"] == pytest.approx(expected)
    under = members.loc[known.index[known.isin(["1", "2"])], "population"].sum()
    assert _value(diags[region], "zonage_infirmiers_pop_sous_dotee")["value"] == under


@pytest.mark.parametrize("region", ["Bretagne", "Grand Est", "La Réunion"])
def test_mortality_is_the_epci_crude_rate(diags, region):
    mort = pd.read_csv(DATA / "mortalite_brute_2013_2018.csv", dtype=str)
    rate = mort[(mort["niveau"] == "epci") & (mort["code"] == TERRITORIES[region])]["taux"]
    row = _value(diags[region], "mortalite_brute")
    assert row["value"] == pytest.approx(float(rate.iloc[0].replace(",", ".")))
    assert row["quality"] == "approchée" and row["source_level"] == "EPCI"
    assert "non standardisé" in row["label"]


def test_professionals_by_departement_region_france(diags):
    ameli = pd.read_csv(DATA / "ameli_professionnels_liberaux_2024.csv", dtype=str)
    d = diags["Grand Est"]
    for niveau, code in (("departement", "55"), ("region", "44"), ("france", "FR")):
        raw = ameli[(ameli["profession"] == "infirmiers") & (ameli["niveau"] == niveau) & (ameli["code"] == code)]
        assert _value(d, "ps_infirmiers_effectif", niveau, code)["value"] == float(raw["effectif"].iloc[0])
        assert _value(d, "ps_infirmiers_densite", niveau, code)["value"] == pytest.approx(
            float(raw["densite"].iloc[0]) / 10
        )
    # département-level source: no territory value is invented
    ind = d.indicators
    assert ind[(ind["indicator"] == "ps_infirmiers_effectif") & (ind["level"] == "territoire")].empty


@pytest.mark.parametrize("departement", ["26", "56", "974", "2A"])  # Drôme, Morbihan, La Réunion, Corse-du-Sud
def test_ameli_densities_are_per_their_own_population(communes, departement):
    """Each Ameli density is count × 10 000 / its denominator, labelled with that denominator.

    The file gives effectif and densité per 100 000: their ratio is the denominator the Assurance Maladie used,
    compared here with the département's population légale: about a fifth of it for the midwives (women aged 15
    to 49), two fifths for the gynaecologists (women aged 15 and over), a sixth for the paediatricians (children
    under 15), all of it for the nurses — never the « 8,7 sages-femmes pour 10 000 hab. » the Drôme once showed
    where 89 / 524 207 inhabitants is 1,7."""
    raw = pd.read_csv(DATA / "ameli_professionnels_liberaux_2024.csv", dtype=str)
    raw = raw[(raw["niveau"] == "departement") & (raw["code"] == departement)].set_index("profession")
    inhabitants = communes.loc[communes["departement"] == departement, "population"].sum()
    members = communes.index[communes["departement"] == departement][:3]
    perimeter = pd.DataFrame(
        {"cpts": "T", "code_insee": members, "arrondissement": None, "infracommunal": False, "line": range(2, 5)}
    )
    diag = diagnose_all(perimeter)["T"]
    expected = {
        "sages_femmes": ("pour 10 000 femmes de 15 à 49 ans", 0.15, 0.25),
        "gynecologues": ("pour 10 000 femmes de 15 ans et plus", 0.38, 0.48),
        "pediatres": ("pour 10 000 enfants de moins de 15 ans", 0.12, 0.25),
        "infirmiers": ("pour 10 000 hab.", 0.97, 1.03),
    }
    for profession, (unit, low, high) in expected.items():
        count, per_100000 = float(raw.at[profession, "effectif"]), float(raw.at[profession, "densite"])
        denominator = count * 100_000 / per_100000
        assert low < denominator / inhabitants < high, (departement, profession, denominator / inhabitants)
        row = _value(diag, f"ps_{profession}_densite", "departement", departement)
        assert row["value"] == pytest.approx(count * 10_000 / denominator)
        assert row["unit"] == unit
    if departement == "26":
        midwives = _value(diag, "ps_sages_femmes_densite", "departement", "26")
        assert float(raw.at["sages_femmes", "effectif"]) == 89
        assert midwives["value"] == pytest.approx(8.67) and 89 * 10_000 / inhabitants == pytest.approx(1.7, abs=0.01)
    source = diag.sources.set_index("source").loc["Assurance Maladie, démographie des professionnels de santé libéraux"]
    assert "femmes de 15 à 49 ans" in source["note"] and "densité publiée pour 100 000 hab.," not in source["note"]


def test_new_rows_carry_source_vintage_level(diags):
    ind = diags["Bretagne"].indicators
    new = ind[ind["indicator"].str.match(r"(population_20|evolution_pop|revenu_|zonage_|mortalite|ps_)")]
    assert not new.empty
    assert new[["source", "vintage", "source_level", "quality"]].notna().all().all()
    assert (new["source"].str.len() > 0).all()
    sources = set(diags["Bretagne"].sources["source"])
    assert any(s.startswith("INSEE, Filosofi 2019") for s in sources)
