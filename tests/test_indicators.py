"""Indicators on hand-made inputs: masked CPAM tables, user files in their official layouts.

Perimeters are small tables of real communes; user files are written here in their published layouts
(``;``, Latin-1, decimal commas, masked cells) and every expected value is worked out by hand from the
numbers written in the test (populations from the raw data/communes_cog2026.csv).
"""

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from cpts_diag import settings
from cpts_diag.errors import InputError
from cpts_diag.indicator_data import SOURCES
from cpts_diag.indicators import (
    INDICATOR_COLUMNS,
    diagnose,
    diagnose_all,
    find_territory,
)
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.masked import MaskedTotal, share_bounds
from helpers import indicator_row as _row
from helpers import perimeter_table as _perimeters

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def population():
    with open(DATA / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return {
            r["code_insee"]: float(r["population"])
            for r in csv.DictReader(fh)
            if r["type"] == "commune-actuelle" and r["population"]
        }


# ----------------------------------------------------------------------- territory names
def test_find_territory_ignores_case_accents_and_spaces():
    names = ["CPTS du Gapençais", "CPTS Verdon", "CPTS Val Durance"]
    assert find_territory(names, "  cpts du GAPENCAIS ") == "CPTS du Gapençais"
    with pytest.raises(InputError) as err:
        find_territory(names, "CPTS Gapencais")
    message = str(err.value)
    assert "territoire inconnu" in message and "« CPTS du Gapençais »" in message
    assert "CPTS Gapencais" in message


def test_find_territory_names_the_file_and_prefers_the_exact_name():
    # two names of one file that fold alike: the exact one is kept, not the first folded match
    assert find_territory(["CPTS Iroise", "CPTS IROISE"], "CPTS IROISE") == "CPTS IROISE"
    with pytest.raises(InputError) as err:
        find_territory(["CPTS Verdon"], "CPTS du Verdun", "x.csv")
    assert (
        str(err.value)
        == "fichier « x.csv » : territoire inconnu ; noms proches : « CPTS Verdon » (valeur « CPTS du Verdun »)"
    )


def test_domain_takes_the_exact_name_only(tmp_path):
    # Bretagne: the domain does not resolve a typed name; the entry points do (find_territory)
    path = tmp_path / "cpts_finistere.csv"
    path.write_text("cpts;code_insee\nCPTS Pays de Morlaix;29151\nCPTS Iroise;29019\n", encoding="utf-8")
    perims = read_perimeters(path)
    for name in ("cpts pays de morlaix", "Pays de Morlaix"):
        with pytest.raises(InputError) as err:
            diagnose(perims, name)
        assert str(err.value) == (
            f"fichier « {path} » : territoire absent du fichier (nom exact attendu) (valeur « {name} »)"
        )
    assert diagnose(perims, "CPTS Pays de Morlaix").territory == "CPTS Pays de Morlaix"


# --------------------------------------------------------------------------- masked CPAM
CPAM_TEXT = (
    "Données CPAM 2024 par commune\n"
    "code_commune;nom_commune;patients_17ans_plus;patients_17ans_plus_sans_mt;population_consommante;"
    "donnees_fictives\n"
    "05023;Briançon;120;12;150;{f}\n"
    "05046;Embrun;80;<5;90;{f}\n"
    "05061;Gap;30 000;secret;35 000;{f}\n"
)


def _cpam_file(tmp_path, fictitious=False):
    path = tmp_path / ("cpam_fictif.csv" if fictitious else "cpam.csv")
    path.write_text(CPAM_TEXT.format(f="1" if fictitious else "0"), encoding="cp1252")
    return path


def test_masked_cpam_counts_give_ranges(tmp_path):
    perimeters = _perimeters({"T": ["05023", "05046", "05061"], "Exact": ["05023"]})
    diags = diagnose_all(perimeters, cpam=_cpam_file(tmp_path))
    diag = diags["T"]
    assert not diag.fictitious
    count = _row(diag, "patients_sans_mt_17_plus")
    # known 12; "<5" may be up to 5; "secret" up to the default threshold 10
    assert math.isnan(count["value"]) and (count["value_low"], count["value_high"]) == (12, 27)
    assert count["quality"] == "partiellement masquée"
    share = _row(diag, "part_sans_mt_17_plus")
    assert math.isnan(share["value"])
    assert share["value_low"] == pytest.approx(100 * 12 / 30200)
    assert share["value_high"] == pytest.approx(100 * 27 / 30200)
    # the same bounds as the masked-arithmetic module
    low, high = share_bounds(MaskedTotal(12, 27, 2, 3), MaskedTotal(30200, 30200, 0, 3))
    assert (share["value_low"], share["value_high"]) == pytest.approx((100 * low, 100 * high))
    # a share whose cells are all known is exact
    css = _row(diag, "part_css_cpam") if "part_css_cpam" in set(diag.indicators["indicator"]) else None
    assert css is None  # no CSS column in this file: no CSS indicator invented
    exact = _row(diags["Exact"], "part_sans_mt_17_plus")
    assert exact["value"] == pytest.approx(10.0) and exact["quality"] == "exacte"
    assert math.isnan(exact["value_low"])
    # a département with 3 communes in the file is not a comparison value
    assert math.isnan(_row(diag, "part_sans_mt_17_plus", "departement", "05")["value"])
    assert _row(diag, "part_sans_mt_17_plus", "departement", "05")["coverage"] < 0.5
    # per-commune detail: masked is unknown, never zero
    communes = diag.communes.set_index("code_insee")
    assert communes.at["05023", "patients_sans_mt_17_plus"] == 12
    assert math.isnan(communes.at["05046", "patients_sans_mt_17_plus"])
    assert communes.at["05061", "cpam_cellules_masquees"] == 1


def test_fictitious_cpam_flag(tmp_path):
    diag = diagnose_all(_perimeters({"T": ["05023", "05046"]}), cpam=_cpam_file(tmp_path, True))["T"]
    assert diag.fictitious
    cpam = diag.indicators[diag.indicators["indicator"].str.contains("sans_mt")]
    # the file has the 17+ columns only: the count and the share, at the four levels, all marked fictitious
    assert sorted(zip(cpam["indicator"], cpam["level"])) == [
        (indicator, level)
        for indicator in ("part_sans_mt_17_plus", "patients_sans_mt_17_plus")
        for level in ("departement", "france", "region", "territoire")
    ]
    assert (cpam["quality"] == "données fictives").all()
    assert (diag.indicators.loc[diag.indicators["indicator"] == "apl_mg_2023", "quality"] != "données fictives").all()
    assert diag.sources["source"].str.contains("FICTIVES").any()


def test_cpam_marseille_by_arrondissement_feeds_whole_commune():
    # the fictitious example gives Marseille only by arrondissement: a territory listing 13055 sums them
    with open(DATA / "exemple_cpam_FICTIF_paca.csv", encoding="utf-8", newline="") as fh:
        rows = {r["code_commune"]: r for r in csv.DictReader(fh, delimiter=";")}
    assert "13055" not in rows
    arrs = [f"132{i:02d}" for i in range(1, 17)]
    expected = sum(int(rows[a]["patients_17ans_plus"]) for a in arrs)
    total = sum(int(rows[a]["population_consommante"]) for a in arrs)
    ald = sum(int(rows[a]["patients_ald"]) for a in arrs)
    diags = diagnose_all(_perimeters({"Marseille": ["13055"], "Nord": ["13214", "13215"]}), cpam=settings.DEFAULT_CPAM)
    assert _row(diags["Marseille"], "part_ald_cpam")["value"] == pytest.approx(100 * ald / total)
    assert expected > 0
    nord_total = sum(int(rows[a]["population_consommante"]) for a in ("13214", "13215"))
    nord_ald = sum(int(rows[a]["patients_ald"]) for a in ("13214", "13215"))
    assert _row(diags["Nord"], "part_ald_cpam")["value"] == pytest.approx(100 * nord_ald / nord_total)


# ---------------------------------------------------------------------------- user files
AGES = (
    "CODGEO;LIBGEO;P21_POP;P21_POP0014;P21_POP1529;P21_POP3044;P21_POP4559;P21_POP6074;P21_POP75P;"
    "P21_POP0019;P21_POP65P\n"
    "05023;Briançon;800,5;100,5;100;200;200;100;100;150;160\n"
    "05046;Embrun;200;20;30;40;50;30;30;30;50\n"
    "13055;Marseille;1000;100;200;200;200;200;100;150;250\n"
    "13201;Marseille 1er;100;10;20;20;20;20;10;15;20\n"
)


def test_insee_ages_replace_bassin_de_vie_proxies(tmp_path):
    path = tmp_path / "base-cc-evol-struct-pop-2021.csv"
    path.write_text(AGES, encoding="latin-1")
    diags = diagnose_all(_perimeters({"T": ["05023", "05046"], "M1": ["13201"], "M": ["13055"]}), insee_ages=path)
    diag = diags["T"]
    row = _row(diag, "part_75_plus")
    assert row["value"] == pytest.approx(100 * (100 + 30) / (800.5 + 200))
    assert row["source_level"] == "commune" and row["quality"] == "exacte"
    assert row["source"] == SOURCES["insee_ages"].label and row["vintage"] == "2021"
    assert _row(diag, "part_moins_15")["value"] == pytest.approx(100 * 120.5 / 1000.5)
    assert _row(diag, "part_45_59")["value"] == pytest.approx(100 * 250 / 1000.5)
    assert _row(diag, "indice_vieillissement")["value"] == pytest.approx(100 * 210 / 180)
    # only one row per indicator and level: the BV proxy is gone
    assert (diag.indicators["indicator"] == "part_75_plus").sum() == len(diag.indicators["level_code"].unique())
    # Marseille: the arrondissement row for 13201, the whole-commune row for 13055 (never both)
    assert _row(diags["M1"], "part_75_plus")["value"] == pytest.approx(10.0)
    assert _row(diags["M"], "indice_vieillissement")["value"] == pytest.approx(100 * 250 / 150)


BPE = (
    "REG;DEP;DEPCOM;DCIRIS;AN;TYPEQU;NB_EQUIP\n"
    "93;05;05061;05061_0101;2023;D265;30\n"
    "93;05;05061;05061_0102;2023;D265;12\n"
    "93;05;05023;05023;2023;A101;1\n"
    "93;05;05046;05046;2023;D265;1\n"
)


def test_bpe_replaces_gp_density_proxy(tmp_path, population):
    path = tmp_path / "bpe23_ensemble.csv"
    path.write_text(BPE, encoding="utf-8")
    diags = diagnose_all(_perimeters({"T": ["05061", "05023", "05046"], "Mixed": ["05023", "04001"]}), bpe=path)
    diag = diags["T"]
    pop = population["05061"] + population["05023"] + population["05046"]
    assert _row(diag, "nombre_mg")["value"] == 43
    density = _row(diag, "densite_mg")
    assert density["value"] == pytest.approx(1e4 * 43 / pop)
    assert density["source_level"] == "commune" and density["quality"] == "exacte"
    assert "densite_mg_liberaux" not in set(diag.indicators["indicator"])
    # 05023 has no D265 row in a file covering département 05: zero GP, known
    assert diag.communes.set_index("code_insee").at["05023", "nombre_mg"] == 0
    # 04001 lies in a département absent from the file: unknown, not zero
    mixed = _row(diags["Mixed"], "nombre_mg")
    assert math.isnan(mixed["value"]) and mixed["value_low"] == 0
    assert mixed["coverage"] == pytest.approx(population["05023"] / (population["05023"] + population["04001"]))
    dep05 = sum(v for k, v in population.items() if k.startswith("05"))
    assert _row(diag, "densite_mg", "departement", "05")["value"] == pytest.approx(1e4 * 43 / dep05)


BPE_PROFESSIONS_LONG = (
    "REG;DEP;DEPCOM;DCIRIS;AN;TYPEQU;NB_EQUIP\n"
    "53;29;29019;290190101;2024;D265;40\n"
    "53;29;29019;290190102;2024;D265;25\n"
    "53;29;29019;290190101;2024;D281;90\n"
    "53;29;29019;290190101;2024;D307;30\n"
    "53;29;29039;29039;2024;D281;20\n"
    "53;29;29039;29039;2024;D101;1\n"  # an establishment, not a profession
    "53;29;29039;29039;2024;D999;2\n"  # a code of no known nomenclature
    "06;976;97611;97611;2024;D265;12\n"
    "06;976;97611;97611;2024;D281;8\n"
    "06;976;97608;97608;2024;D307;3\n"
)


def test_bpe_counts_every_profession_in_two_regions(tmp_path, population):
    path = tmp_path / "bpe24_ensemble.csv"
    path.write_text(BPE_PROFESSIONS_LONG, encoding="utf-8")
    diags = diagnose_all(
        _perimeters({"T": ["29019", "29039", "97611", "97608"], "Acoua": ["97601"], "Ajaccio": ["2A004"]}), bpe=path
    )
    t = diags["T"]
    pop = population["29019"] + population["29039"] + population["97611"] + population["97608"]
    # by hand: GP 40 + 25 + 12; nurses 90 + 20 + 8; pharmacies 30 + 3; unknown D999: 2
    assert _row(t, "nombre_mg")["value"] == 77
    assert _row(t, "densite_mg")["value"] == pytest.approx(1e4 * 77 / pop)
    assert _row(t, "bpe_nombre_d281")["value"] == 118
    assert _row(t, "bpe_densite_d281")["value"] == pytest.approx(1e4 * 118 / pop)
    assert _row(t, "bpe_nombre_d307")["value"] == 33
    unknown = _row(t, "bpe_nombre_d999")
    assert unknown["value"] == 2 and "D999" in unknown["label"] and "non répertorié" in unknown["label"]
    nurses = _row(t, "bpe_nombre_d281")
    assert nurses["quality"] == "exacte" and nurses["source_level"] == "commune" and nurses["vintage"] == "2024"
    ids = set(t.indicators["indicator"])
    assert "bpe_nombre_d101" not in ids  # establishments are not professions
    assert "bpe_nombre_d277" not in ids  # no dentist row in the whole file: unknown, not zero
    # 29039 has no GP row in a file covering département 29: zero GP, known
    assert t.communes.set_index("code_insee").at["29039", "nombre_mg"] == 0
    assert t.communes.set_index("code_insee").at["97608", "bpe_nombre_d281"] == 0
    # Acoua: a commune of Mayotte without any row: 0 of each profession of the file
    for ident in ("nombre_mg", "bpe_nombre_d281", "bpe_nombre_d307", "bpe_nombre_d999"):
        assert _row(diags["Acoua"], ident)["value"] == 0
    # Ajaccio: département 2A absent from the file: unknown
    ajaccio = _row(diags["Ajaccio"], "bpe_nombre_d281")
    assert math.isnan(ajaccio["value"]) and ajaccio["coverage"] == 0
    dep29 = sum(v for k, v in population.items() if k.startswith("29"))
    assert _row(t, "bpe_densite_d281", "departement", "29")["value"] == pytest.approx(1e4 * 110 / dep29)
    dep976 = sum(v for k, v in population.items() if k.startswith("976"))
    assert _row(t, "bpe_nombre_d307", "departement", "976")["value"] == 3
    assert _row(t, "bpe_densite_d307", "departement", "976")["value"] == pytest.approx(1e4 * 3 / dep976)


def test_bpe_only_gp_gives_the_same_gp_rows_as_before(tmp_path):
    path = tmp_path / "bpe23_ensemble.csv"
    path.write_text(BPE, encoding="utf-8")
    diag = diagnose_all(_perimeters({"T": ["05061", "05023", "05046"]}), bpe=path)["T"]
    ids = list(dict.fromkeys(diag.indicators["indicator"]))
    assert not [i for i in ids if i.startswith("bpe_")]
    assert ids.index("densite_mg") == ids.index("nombre_mg") + 1
    assert _row(diag, "nombre_mg")["label"] == "Médecins généralistes (BPE, équipement D265)"


def test_bpe_wide_table_blank_cell_and_absent_commune_are_unknown(tmp_path, population):
    path = tmp_path / "bpe_communes_2024.csv"
    path.write_text("CODGEO;LIBGEO;D265;D281;D307\n29019;Brest;65;;30\n97611;Mamoudzou;12;8;s\n", encoding="utf-8")
    diags = diagnose_all(_perimeters({"T": ["29019", "97611"], "C": ["29039"]}), bpe=path)
    t = diags["T"]
    assert _row(t, "nombre_mg")["value"] == 65 + 12
    nurses = _row(t, "bpe_nombre_d281")
    assert math.isnan(nurses["value"]) and nurses["value_low"] == 8
    assert nurses["coverage"] == pytest.approx(population["97611"] / (population["29019"] + population["97611"]))
    assert nurses["quality"] == "partiellement masquée"
    pharmacies = _row(t, "bpe_nombre_d307")
    assert math.isnan(pharmacies["value"]) and pharmacies["value_low"] == 30
    # a commune absent from a wide table is unknown, not zero
    assert math.isnan(_row(diags["C"], "nombre_mg")["value"])
    assert _row(diags["C"], "nombre_mg")["coverage"] == 0


# --------------------------------------------------------------------------------- misc
def test_indicator_rows_have_every_column_and_valid_values():
    diag = diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS Verdon")
    ind = diag.indicators
    assert list(ind.columns) == INDICATOR_COLUMNS
    assert set(ind["level"]) == {"territoire", "departement", "region", "france"}
    assert set(ind["quality"]) <= {"exacte", "approchée", "partiellement masquée", "données fictives"}
    assert set(ind["theme"]) <= {"Territoire", "Démographie", "Offre de soins", "Accès aux soins", "Santé et social"}
    assert ind["coverage"].between(0, 1).all()
    both = ind[ind["value_low"].notna()]
    assert (both["value_low"] <= both["value_high"].fillna(float("inf"))).all()
    assert not diag.fictitious
    assert list(diag.sources.columns) == ["source", "producer", "vintage", "level", "license", "note", "fictitious"]


# ------------------------------------------------------------------------------- areas
def test_areas_of_territory_departement_region_are_geodesic_sums(raw_communes):
    """Territory, département, région: the same measure (sums of the communes' areas on the ellipsoid),
    checked against the geodesic area of the embedded display polygons (Corse-du-Sud, La Réunion)."""
    from geo_expect import display_area_km2, embedded_units

    units = embedded_units()
    area = dict(zip(units["code_insee"], pd.to_numeric(units["superficie_km2"])))
    members = {"Pays ajaccien": "242010056", "CINOR": "249740119"}
    current = [r for r in raw_communes if r["type"] == "commune-actuelle"]
    territories = {n: [r["code_insee"] for r in current if r["epci_siren"] == siren] for n, siren in members.items()}
    diags = diagnose_all(_perimeters(territories))
    for name, dep, region in (("Pays ajaccien", "2A", "94"), ("CINOR", "974", "04")):
        codes = territories[name]
        assert _row(diags[name], "superficie")["value"] == pytest.approx(sum(area[c] for c in codes), rel=1e-9)
        dep_codes = [r["code_insee"] for r in current if r["departement"] == dep]
        dep_row = _row(diags[name], "superficie", "departement", dep)
        assert dep_row["value"] == pytest.approx(sum(area[c] for c in dep_codes), rel=1e-9)
        assert dep_row["value"] == pytest.approx(display_area_km2(dep_codes), rel=1e-3)  # geodesic, within 0.1 %
        reg_codes = [r["code_insee"] for r in current if r["region"] == region]
        assert _row(diags[name], "superficie", "region", region)["value"] == pytest.approx(
            sum(area[c] for c in reg_codes), rel=1e-9
        )
    assert _row(diags["Pays ajaccien"], "superficie", "departement", "2A")["value"] == pytest.approx(4016.4, abs=0.1)


# ----------------------------------------------------- census 2022 shares, F-EDI 2021 deprivation index
SOCIAL_TERRITORIES = {
    "Bretagne": "200038990",  # CC de Saint-Méen Montauban (35)
    "Grand Est": "200033025",  # CA de Bar-le-Duc - Sud Meuse (55)
    "Corse": "242010056",  # CA du Pays Ajaccien (2A)
    "La Réunion": "249740119",  # CINOR (974)
    "Mayotte": "200060457",  # CA Dembeni-Mamoudzou (976)
}


@pytest.fixture(scope="module")
def social_file():
    """The built file, read as text: {code: row} with floats (None when empty)."""
    with open(DATA / "indicateurs_sociaux_communes.csv", encoding="utf-8", newline="") as fh:
        return {
            r["code_insee"]: {k: (float(v) if v else None) for k, v in r.items() if k != "code_insee"}
            for r in csv.DictReader(fh)
        }


@pytest.fixture(scope="module")
def social_case(raw_communes):
    current = [r for r in raw_communes if r["type"] == "commune-actuelle"]
    territories = {n: [r["code_insee"] for r in current if r["epci_siren"] == s] for n, s in SOCIAL_TERRITORIES.items()}
    territories["Marseille sud"] = ["13214", "13215", "13216"]  # arrondissements: the city's share, approximate
    return territories, diagnose_all(_perimeters(territories))


def _weighted_share(rows, column):
    known = [r for r in rows if r is not None and r[column] is not None and r["population_2022"] is not None]
    weight = sum(r["population_2022"] for r in known)
    return sum(r[column] * r["population_2022"] for r in known) / weight if weight else math.nan


@pytest.mark.parametrize("territory", ["Bretagne", "Grand Est", "Corse", "La Réunion"])
def test_share_of_75_plus_from_the_communes_weighted_by_the_2022_census(
    social_case, social_file, raw_communes, territory
):
    territories, diags = social_case
    codes = territories[territory]
    diag = diags[territory]
    row = _row(diag, "part_75_plus")
    assert row["value"] == pytest.approx(_weighted_share([social_file[c] for c in codes], "part_75_plus"), rel=1e-9)
    assert row["source_level"] == "commune" and row["vintage"] == "2022" and row["quality"] == "exacte"
    assert row["source"] == SOURCES["rp_social"].label
    # comparisons: the same measure over all communes of the département, the région, France (without Mayotte)
    dep = diag.summary["departements"][0]
    dep_codes = [r["code_insee"] for r in raw_communes if r["type"] == "commune-actuelle" and r["departement"] == dep]
    dep_row = _row(diag, "part_75_plus", "departement", dep)
    assert dep_row["value"] == pytest.approx(_weighted_share([social_file[c] for c in dep_codes], "part_75_plus"))
    france = _row(diag, "part_75_plus", "france")
    assert france["level_name"] == "France hors Mayotte" and france["value"] == pytest.approx(9.82, abs=0.01)
    # the commune's own share in the per-commune table
    table = diag.communes.set_index("code_insee")["part_75_plus"]
    assert table[codes[0]] == social_file[codes[0]]["part_75_plus"]
    # single-parent families: weighted by the population, not the number of families: approximate
    families = _row(diag, "part_familles_monoparentales")
    expected = _weighted_share([social_file[c] for c in codes], "part_familles_monoparentales")
    assert families["value"] == pytest.approx(expected, rel=1e-9)
    assert families["quality"] in ("approchée", "partiellement masquée")


def test_known_values_of_75_plus_and_unknown_in_mayotte(social_case, social_file):
    territories, diags = social_case
    # Corse-du-Sud 11.8 %: the published département share, given back by its communes
    assert _row(diags["Corse"], "part_75_plus", "departement", "2A")["value"] == pytest.approx(11.8, abs=0.06)
    mayotte = _row(diags["Mayotte"], "part_75_plus")
    assert math.isnan(mayotte["value"]) and mayotte["coverage"] == 0  # non disponible, never zero
    assert all(social_file[c]["part_75_plus"] is None for c in territories["Mayotte"])
    assert diags["Mayotte"].communes["part_75_plus"].isna().all()
    # Marseille is published as a whole city: its arrondissements get its share, flagged approximate
    marseille = _row(diags["Marseille sud"], "part_75_plus")
    assert marseille["value"] == social_file["13055"]["part_75_plus"] and marseille["quality"] == "approchée"
    assert marseille["source_level"] == "commune"


def _quintile_cuts(social_file):
    """National F-EDI cuts, recomputed here: each quintile a fifth of the 2022 population of the scored units."""
    scored = sorted(
        (r["fedi_2021"], r["population_2022"])
        for r in social_file.values()
        if r["fedi_2021"] is not None and r["population_2022"] is not None
    )
    total = sum(w for _s, w in scored)
    cuts, acc, q = [], 0.0, [0.2, 0.4, 0.6, 0.8]
    for score, weight in scored:
        acc += weight
        while q and acc >= q[0] * total:
            cuts.append(score)
            q.pop(0)
    return cuts


def test_fedi_quintiles_mean_score_and_most_deprived_communes(social_case, social_file, raw_communes):
    territories, diags = social_case
    cuts = _quintile_cuts(social_file)
    assert len(cuts) == 4 and cuts == sorted(cuts)
    for code, r in social_file.items():
        if r["fedi_2021"] is not None:
            assert r["fedi_quintile"] == 1 + sum(r["fedi_2021"] > c for c in cuts), code
    for name in ("Bretagne", "Grand Est", "Corse", "Marseille sud"):
        rows = [social_file[c] for c in territories[name]]
        diag = diags[name]
        assert _row(diag, "fedi_2021")["value"] == pytest.approx(_weighted_share(rows, "fedi_2021"), rel=1e-9)
        total = sum(r["population_2022"] for r in rows if r["fedi_2021"] is not None)
        for k in range(1, 6):
            in_k = sum(r["population_2022"] for r in rows if r["fedi_quintile"] == k)
            assert _row(diag, f"fedi_quintile_{k}_part")["value"] == pytest.approx(100 * in_k / total), (name, k)
        # the communes of the most deprived quintile, named from the per-commune table
        table = diag.communes
        named = set(table.loc[table["fedi_quintile"] == 5, "unit"])
        assert named == {c for c, r in zip(territories[name], rows) if r["fedi_quintile"] == 5}
    assert _row(diags["Marseille sud"], "fedi_quintile_5_part")["value"] == 100  # three deprived arrondissements
    # France: each quintile a fifth of metropolitan France; the DROM have no F-EDI: « France métropolitaine »
    france = _row(diags["Bretagne"], "fedi_quintile_1_part", "france")
    assert france["value"] == pytest.approx(20, abs=0.5) and france["level_name"] == "France métropolitaine"
    for name in ("La Réunion", "Mayotte"):
        row = _row(diags[name], "fedi_2021")
        assert math.isnan(row["value"]) and row["coverage"] == 0  # non disponible, never zero
        assert diags[name].communes["fedi_quintile"].isna().all()


def test_social_rows_reach_the_json_rows_and_the_workbook(social_case, tmp_path):
    from openpyxl import load_workbook

    from cpts_diag.outputs.indicator_outputs import indicator_rows_json, write_indicator_workbook

    _territories, diags = social_case
    diag = diags["Corse"]
    rows = {r["indicator"]: r for r in indicator_rows_json(diag)}
    for ident in ("part_75_plus", "part_familles_monoparentales", "fedi_2021", "fedi_quintile_5_part"):
        assert rows[ident]["source"] and rows[ident]["vintage"] and rows[ident]["source_level"] == "commune"
    assert rows["fedi_2021"]["comparisons"]["2A"] == pytest.approx(
        _row(diag, "fedi_2021", "departement", "2A")["value"]
    )
    wb = load_workbook(write_indicator_workbook(diag, tmp_path / "indicateurs.xlsx"), read_only=True)
    detail = [r for r in wb["Détail"].iter_rows(values_only=True) if r and r[0] == "part_75_plus"]
    assert ("France hors Mayotte" in {r[5] for r in detail}) and len(detail) == 4  # territoire, 2A, Corse, France
    demography = list(wb["Démographie"].iter_rows(values_only=True))
    head = next(r for r in demography if r and r[0] == "Indicateur")
    share = dict(zip(head, next(r for r in demography if r and r[0] == "Part des 75 ans et plus")))
    assert share["France : champ"] == "France hors Mayotte"  # beside France's figure, what it leaves out
    header = next(r for r in wb["Communes"].iter_rows(values_only=True) if r and r[0] == "Code commune")
    assert "Quintile national F-EDI 2021 (5 = le plus défavorisé ; vide = non disponible)" in header
    assert any(str(h).startswith("Part des 75 ans et plus") for h in header)


def test_territory_indicators_are_those_of_the_full_diagnostic():
    """The quick look of cpts-diag simulate gives the values, bounds and quality of diagnose_all, for a territory
    split infra-communally (Nice), one of Marseille's arrondissements and an ordinary one."""
    from cpts_diag import settings
    from cpts_diag.indicators import diagnose_all, territory_indicators
    from cpts_diag.io.perimeters import read_perimeters

    table = read_perimeters(settings.DEFAULT_PERIMETERS).table
    names = ["CPTS Nice Nord et ses Collines", "CPTS Marseille-7", "CPTS Guil Durance"]
    subset = table[table["cpts"].isin(names)]
    ids = ["apl_mg_2023", "part_75_plus", "fedi_2021"]
    quick = territory_indicators(subset, ids).set_index(["territory", "indicator"])
    full = diagnose_all(subset)
    assert len(quick) == len(names) * len(ids)
    for name in names:
        rows = full[name].indicators
        for ind in ids:
            ref = rows[(rows["level"] == "territoire") & (rows["indicator"] == ind)].iloc[0]
            got = quick.loc[(name, ind)]
            for col in ("value", "value_low", "value_high"):
                assert (pd.isna(got[col]) and pd.isna(ref[col])) or got[col] == pytest.approx(ref[col]), (
                    name,
                    ind,
                    col,
                )
            assert (got["quality"], got["unit"], got["source"]) == (ref["quality"], ref["unit"], ref["source"])
