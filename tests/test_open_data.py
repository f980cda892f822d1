"""Tests of cpts_diag.io.open_data: harmonisation of a population vintage, package reading, loading, quantiles.

Harmonisation cases are worked out by hand on a few made-up codes; loaded values are compared with the
raw files of data/ read with the csv module.
"""

import csv
import io
import json
import math
import tarfile
from pathlib import Path

import pytest

from cpts_diag.build.open_data import harmonise_vintage, read_vintage_package
from cpts_diag.datasets import DATASETS
from cpts_diag.io.open_data import load_open_data, weighted_quantile

DATA = Path(__file__).resolve().parent.parent / "data"
COM, ARM, DEL, ASS = "commune-actuelle", "arrondissement-municipal", "commune-deleguee", "commune-associee"


def _csv(name):
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------ harmonise_vintage
def test_unchanged_communes_and_arrondissements_are_exact():
    records = [("01001", COM, 100.0, None, []), ("13201", ARM, 40000.0, None, []), ("13202", ARM, 20000.0, None, [])]
    units, groups, lost = harmonise_vintage(records, {"01001", "13201", "13202"}, {}, {})
    assert units == {"01001": 100, "13201": 40000, "13202": 20000}
    assert (groups, lost) == ([], [])


def test_merged_communes_are_summed_into_the_current_one():
    records = [("01001", COM, 100.4, None, []), ("01002", COM, 50.4, None, []), ("01003", COM, 7.0, None, [])]
    former = {"01002": "01001", "01003": "01001"}  # two former communes merged into 01001 since
    units, groups, lost = harmonise_vintage(records, {"01001"}, former, {})
    assert units == {"01001": 158}  # 100.4 + 50.4 + 7 = 157.8, rounded
    assert (groups, lost) == ([], [])


def test_a_commune_split_since_through_its_delegated_commune_is_a_group():
    # 2016: commune nouvelle 05001 (1000 inhabitants) with its commune déléguée 05002;
    # 2026: 05002 is a commune again (défusion): only the total of both is known
    records = [("05001", COM, 1000.0, None, []), ("05002", DEL, None, "05001", [])]
    units, groups, lost = harmonise_vintage(records, {"05001", "05002"}, {}, {})
    assert units == {}
    assert groups == [(("05001", "05002"), 1000)]
    assert lost == []


def test_a_commune_split_through_its_former_codes_or_the_change_table():
    records = [("06001", COM, 500.0, None, ["06002"]), ("07001", COM, 300.0, None, []), ("08001", COM, 80.0, None, [])]
    units, groups, lost = harmonise_vintage(
        records, {"06001", "06002", "07001", "07002", "08001"}, {}, {"07001": ["07002"]}
    )
    assert units == {"08001": 80}
    assert sorted(groups) == [(("06001", "06002"), 500), (("07001", "07002"), 300)]


def test_the_chief_town_delegated_commune_is_not_a_split():
    # the commune déléguée chef-lieu shares the code of its commune nouvelle: nothing was split
    records = [("05001", COM, 1000.0, None, []), ("05001", DEL, None, "05001", []), ("05003", DEL, None, "05001", [])]
    units, groups, _ = harmonise_vintage(records, {"05001"}, {"05003": "05001"}, {})
    assert units == {"05001": 1000} and groups == []


def test_a_commune_restored_after_the_census_of_the_vintage_is_in_its_parents_group():
    # the 2021 populations (COG 2024) list L'Oie 85165 and Sainte-Florence 85212, restored on 1 January 2024,
    # without population: Essarts-en-Bocage 85084 (9 399) still counts them — a group, not 85084 alone
    records = [("85084", COM, 9399.0, None, []), ("85165", COM, None, None, []), ("85212", COM, None, None, [])]
    units, groups, lost = harmonise_vintage(
        records, {"85084", "85165", "85212"}, {}, {"85084": ["85084", "85165", "85212"]}
    )
    assert units == {} and groups == [(("85084", "85165", "85212"), 9399)] and lost == []


def test_overlapping_groups_are_joined():
    # 09001 split into 09001 + 09002 since; 09003 merged into 09001 since: one group of 10 + 5
    records = [("09001", COM, 10.0, None, ["09002"]), ("09003", COM, 5.0, None, [])]
    units, groups, lost = harmonise_vintage(records, {"09001", "09002"}, {"09003": "09001"}, {})
    assert units == {} and groups == [(("09001", "09002"), 15)] and lost == []


def test_unplaced_codes_are_lost_and_unknown_populations_skipped():
    records = [
        ("99001", COM, 12.0, None, []),  # in no COG 2026 unit
        ("13299", ARM, 30.0, None, []),  # an arrondissement that does not exist in 2026
        ("01001", COM, None, None, []),  # no population published
        ("01004", ASS, 40.0, "01001", []),  # an associated commune is not counted on its own
    ]
    lost_out = []
    units, groups, lost = harmonise_vintage(records, {"01001"}, {}, {}, lost_out)
    assert (units, groups) == ({}, [])
    assert lost == [("99001", 12.0), ("13299", 30.0)]
    assert lost_out is lost


# ------------------------------------------------------------------------------ read_vintage_package
def test_read_vintage_package(tmp_path):
    records = [
        {"code": "01001", "nom": "A", "population": 767, "anciensCodes": ["01999"]},  # type defaults to actuelle
        {"code": "13201", "type": "arrondissement-municipal", "population": 40000},
        {"code": "05002", "type": "commune-deleguee", "chefLieu": "05001", "population": 12},
        {"code": "01004", "type": "commune-associee", "chefLieu": "01001"},
        {"code": "01998", "type": "commune-actuelle", "chefLieu": "XXXXX"},  # chefLieu only for délégués
        {"code": "75056", "type": "autre-chose", "population": 5},
    ]
    payload = json.dumps(records).encode("utf-8")
    path = tmp_path / "decoupage-administratif-0.8.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("package/data/communes.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    assert read_vintage_package(path) == [
        ("01001", COM, 767.0, None, ["01999"]),
        ("13201", ARM, 40000.0, None, []),
        ("05002", DEL, 12.0, "05001", []),
        ("01004", ASS, None, "01001", []),
        ("01998", COM, None, None, []),
    ]


# ------------------------------------------------------------------------------ weighted_quantile
@pytest.mark.parametrize(
    "values, weights, q, expected",
    [
        # values 3, 1, 2 with weights 1, 1, 2: sorted 1, 2, 3 weigh 1, 2, 1, cumulated 0.25, 0.75, 1
        ([3, 1, 2], [1, 1, 2], 0.25, 1.0),
        ([3, 1, 2], [1, 1, 2], 0.5, 2.0),
        ([3, 1, 2], [1, 1, 2], 0.75, 2.0),
        ([3, 1, 2], [1, 1, 2], 0.76, 3.0),
        ([3, 1, 2], [1, 1, 2], 1.0, 3.0),
        # weights 1, 2, 1 on 3, 1, 2: sorted weigh 2, 1, 1, cumulated 0.5, 0.75, 1
        ([3, 1, 2], [1, 2, 1], 0.5, 1.0),
        ([3, 1, 2], [1, 2, 1], 0.51, 2.0),
        ([10, math.nan, 30], [1, 5, 1], 0.5, 10.0),  # unknown value: left out, not zero
        ([10, 20, 30], [1, 0, math.nan], 0.9, 10.0),  # zero or unknown weight: left out
    ],
)
def test_weighted_quantile(values, weights, q, expected):
    assert weighted_quantile(values, weights, q) == expected


def test_weighted_quantile_of_nothing_is_unknown():
    assert math.isnan(weighted_quantile([], [], 0.5))
    assert math.isnan(weighted_quantile([math.nan], [3], 0.5))


# ------------------------------------------------------------------------------ load_open_data
@pytest.fixture(scope="module")
def opendata():
    return load_open_data()


def test_population_history_is_the_embedded_file(opendata):
    rows = _csv(DATASETS["population_history"].file)
    assert len(opendata.pop_hist) == len(rows)
    for r in rows[:50] + [r for r in rows if r["code_insee"] in ("05061", "13201", "2A004")]:
        for year in ("2016", "2019", "2022"):
            got = opendata.pop_hist.loc[r["code_insee"], f"pop_{year}"]
            assert (math.isnan(got) and r[f"pop_{year}"] == "") or got == float(r[f"pop_{year}"])
    groups = _csv(DATASETS["population_groups"].file)
    first = opendata.pop_groups.iloc[0]
    assert (first["annee"], first["unites"], first["population"]) == (
        groups[0]["annee"],
        tuple(groups[0]["unites"].split("|")),
        float(groups[0]["population"]),
    )
    assert len(opendata.pop_groups) == len(groups)


def test_filosofi_ameli_zonage_mortality(opendata):
    filo = _csv(DATASETS["filosofi"].file)[0]
    row = opendata.filosofi.iloc[0]
    assert (row["code"], row["nbpers"], row["q2"]) == (filo["CODGEO"], float(filo["NBPERS19"]), float(filo["Q219"]))
    ameli = opendata.ameli
    gap = ameli[(ameli["profession"] == "cardiologues") & (ameli["niveau"] == "departement") & (ameli["code"] == "05")]
    assert (gap["effectif"].item(), gap["densite"].item()) == (8.0, 5.6)  # the line "…,departement,05,8,5.6"
    assert opendata.zonage["01001"] == 4.0
    blank = [r["code"] for r in _csv(DATASETS["nurse_zonage"].file) if r["niveau"] == ""]
    assert len(blank) == 2 and all(math.isnan(opendata.zonage[c]) for c in blank)
    mort = opendata.mortality.set_index("code")
    assert mort.loc["200000172", "taux"] == 6.4  # published "6,40": decimal comma
    assert math.isnan(mort.loc["200050532", "taux"])  # published empty: unknown, not zero


def test_loading_a_hand_made_folder(tmp_path):
    texts = {
        "population_history": "code_insee,pop_2016,pop_2019,pop_2020,pop_2021,pop_2022\n01001,767,779,,832,859\n",
        "population_groups": "annee,unites,population\n2016,15031|15035,1844\n",
        "filosofi": 'CODGEO,NBPERS19,Q219\n01001,819,"23970,5"\n01002,s,s\n',
        "ameli": "annee,profession,niveau,code,effectif,densite,population_reference\n"
        '2024,infirmiers,france,FR,98000,"144,2",habitants\n',
        "nurse_zonage": "code,niveau\n01001,4\n01002,\n",
        "mortality": 'niveau,code,nom,periode,taux\ndepartement,05,Hautes-Alpes,2013-2018,"9,10"\n',
    }
    for key, text in texts.items():
        (tmp_path / DATASETS[key].file).write_text(text, encoding="utf-8")
    od = load_open_data(tmp_path)
    assert od.pop_hist.loc["01001"].tolist()[:2] == [767.0, 779.0] and math.isnan(od.pop_hist.loc["01001", "pop_2020"])
    assert od.pop_groups["unites"].tolist() == [("15031", "15035")]
    assert od.filosofi["q2"].tolist()[0] == 23970.5 and math.isnan(od.filosofi["q2"].tolist()[1])
    assert od.ameli["densite"].tolist() == [144.2]
    assert od.zonage["01001"] == 4.0 and math.isnan(od.zonage["01002"])
    assert od.mortality["taux"].tolist() == [9.1]
