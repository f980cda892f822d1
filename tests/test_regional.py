"""The regional synthesis of notebook 03 with a user's file: its defaults are those of the command line.

Territories made of real communes (EPCI of the COG) in Bretagne and in Auvergne-Rhône-Alpes; expectations read
from the raw embedded files with the csv module.
"""

from __future__ import annotations

import csv

import pytest

from cpts_diag import settings
from cpts_diag.errors import InputError

#: territory -> EPCI (SIREN) of its communes: two in the Finistère (Bretagne), one in the Ain (Auvergne-Rhône-Alpes).
TERRITORIES = {
    "CPTS Pays de Quimper (illustratif)": "200068120",
    "CPTS Concarneau Cornouaille (illustratif)": "242900769",
    "CPTS de la Veyle (illustratif)": "200070555",
}


def _raw(name: str) -> list[dict]:
    with open(settings.DATA_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def listing(tmp_path_factory):
    communes = [r for r in _raw("communes_cog2026.csv") if r["type"] == "commune-actuelle"]
    path = tmp_path_factory.mktemp("regional") / "cpts_deux_regions.csv"
    lines = ["CPTS;Code INSEE"]
    for name, siren in TERRITORIES.items():
        lines += [f"{name};{r['code_insee']}" for r in communes if r["epci_siren"] == siren]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    regions = {r["code"]: r["nom"] for r in _raw("regions.csv")}
    region_of = {
        name: {r["region"] for r in communes if r["epci_siren"] == siren} for name, siren in TERRITORIES.items()
    }
    return path, regions, region_of


def test_region_left_empty_is_the_files_main_region_and_the_others_are_named(listing):
    from cpts_diag.reports.regional import CPAM_INDICATOR, regional_synthesis

    path, regions, region_of = listing
    assert sorted(map(sorted, region_of.values())) == [["53"], ["53"], ["84"]]
    synthese = regional_synthesis(path)  # the notebook's defaults: region "" and fichier_cpam ""
    assert (synthese.region, synthese.region_name) == ("53", regions["53"])
    assert list(synthese.table["territoire"]) == [n for n, r in region_of.items() if r == {"53"}]
    assert f"{regions['84']} (84) : 1" in synthese.region_note and "paramètre region" in synthese.region_note
    # no CPAM table with a user's file, as on the command line: no fictitious column
    assert not synthese.fictitious and CPAM_INDICATOR not in synthese.indicators


def test_regional_table_has_the_social_columns_and_says_zero_in_words(listing):
    """Bretagne: the single-parent share, the F-EDI mean score and quintile 5 of each territory from the raw census
    and F-EDI file (census 2022 weights); the population in under-served nurse zones « aucun » where no commune of
    the raw zonage file is « très sous-dotée » or « sous-dotée »; the France row says what it leaves out."""
    from cpts_diag.fr_format import number
    from cpts_diag.reports.regional import regional_synthesis, regional_table

    path, _regions, _ = listing
    synthese = regional_synthesis(path, "53")
    table = regional_table(synthese).set_index("Territoire")
    social = {r["code_insee"]: r for r in _raw("indicateurs_sociaux_communes.csv")}
    zonage = {r["code"]: r["niveau"] for r in _raw("zonage_infirmiers_communes.csv")}
    communes = [r for r in _raw("communes_cog2026.csv") if r["type"] == "commune-actuelle"]
    headers = {ind: h for _c, ind, h, _d in synthese.indicators}
    for name, siren in list(TERRITORIES.items())[:2]:
        codes = [r["code_insee"] for r in communes if r["epci_siren"] == siren]
        weights = {c: float(social[c]["population_2022"]) for c in codes}
        single = sum(float(social[c]["part_familles_monoparentales"]) * w for c, w in weights.items())
        score = sum(float(social[c]["fedi_2021"]) * w for c, w in weights.items())
        q5 = sum(w for c, w in weights.items() if social[c]["fedi_quintile"] == "5")
        row = table.loc[name]
        assert row[headers["part_familles_monoparentales"]] == number(single / sum(weights.values()), 1)
        assert row[headers["fedi_2021"]] == number(score / sum(weights.values()), 1)
        assert row[headers["fedi_quintile_5_part"]] == number(100 * q5 / sum(weights.values()), 1)
        if not {zonage.get(c) for c in codes} & {"1", "2"}:
            assert row[headers["zonage_infirmiers_pop_sous_dotee"]] == "aucun"
    france = table.loc["France hors Mayotte"]
    assert france[headers["fedi_2021"]].endswith(" (métropole)")
    assert france[headers["part_75_plus"]][-1].isdigit()  # the row's own scope: nothing added


def test_region_given_is_kept_without_note(listing):
    from cpts_diag.reports.regional import regional_synthesis

    path, regions, _ = listing
    synthese = regional_synthesis(path, " 84 ")
    assert (synthese.region, synthese.region_name, synthese.region_note) == ("84", regions["84"], None)
    assert list(synthese.table["territoire"]) == ["CPTS de la Veyle (illustratif)"]


def test_study_area_is_that_of_the_ars_view_unless_the_region_is_declared(listing):
    """Two CPTS of the Finistère hold a small part of Bretagne and of the Finistère: no commune is an orphan, the
    other communes of the Finistère are « hors fichier » and the printed maps hatch none; with zone_etude_region,
    every commune of Bretagne outside the file is an orphan (as cpts-diag batch --region 53)."""
    from cpts_diag.reports.regional import regional_static_maps, regional_synthesis, study_area_note

    path, _, _ = listing
    communes = [r for r in _raw("communes_cog2026.csv") if r["type"] == "commune-actuelle"]
    sirens = {
        TERRITORIES["CPTS Pays de Quimper (illustratif)"],
        TERRITORIES["CPTS Concarneau Cornouaille (illustratif)"],
    }
    listed = {r["code_insee"] for r in communes if r["epci_siren"] in sirens}
    finistere = {r["code_insee"] for r in communes if r["departement"] == "29"}
    synthese = regional_synthesis(path, "53")
    check = synthese.check
    assert check.study_area == [] and check.orphans == []
    assert sorted(o["code_insee"] for o in check.outside_file) == sorted(finistere - listed)
    note = study_area_note(synthese)
    assert note.startswith("Zone d'étude des communes orphelines : aucune, aucune commune n'est dite orpheline.")
    assert f"{len(finistere - listed)} communes des départements du fichier" in note
    assert "orphelines" not in regional_static_maps(synthese)
    declared = regional_synthesis(path, "53", region_study_area=True)
    bretagne = {r["code_insee"] for r in communes if r["region"] == "53"}
    assert sorted(o["code_insee"] for o in declared.check.orphans) == sorted(bretagne - listed)
    assert study_area_note(declared).startswith("Zone d'étude des communes orphelines : la région Bretagne entière.")
    with pytest.raises(InputError, match="zone_etude_region : True ou False attendu"):
        regional_synthesis(path, "53", region_study_area="peut-être")


def test_a_one_territory_file_takes_the_name_it_is_given(tmp_path):
    """A file of one CPTS without territory column: named by ``territoire`` (as ``batch --territoire``), else by its
    file name."""
    from cpts_diag.reports.regional import regional_synthesis

    veyle = [
        r for r in _raw("communes_cog2026.csv") if r["epci_siren"] == TERRITORIES["CPTS de la Veyle (illustratif)"]
    ]
    path = tmp_path / "cpts_veyle.csv"
    path.write_text("Code INSEE\n" + "".join(f"{r['code_insee']}\n" for r in veyle), encoding="utf-8")
    assert list(regional_synthesis(path, "84", territory="CPTS Veyle Revermont").table["territoire"]) == [
        "CPTS Veyle Revermont"
    ]
    assert list(regional_synthesis(path, "84").table["territoire"]) == ["CPTS veyle"]


def test_territories_near_a_threshold_are_marked(tmp_path, monkeypatch):
    from cpts_diag.reports import regional
    from cpts_diag.reports.regional import regional_synthesis, regional_table, show_regional_table

    communes = [r for r in _raw("communes_cog2026.csv") if r["type"] == "commune-actuelle" and r["region"] == "53"]
    totals: dict[str, int] = {}
    for r in communes:
        if r["epci_siren"]:
            totals[r["epci_siren"]] = totals.get(r["epci_siren"], 0) + int(r["population"])

    def near(p):
        return any(abs(p - s) <= 0.05 * s for s in (40_000, 80_000, 175_000))

    chosen = [
        next(s for s in sorted(totals) if near(totals[s])),
        next(s for s in sorted(totals) if not near(totals[s])),
    ]
    path = tmp_path / "bretagne.csv"
    path.write_text(
        "CPTS;Code INSEE\n"
        + "".join(f"EPCI {r['epci_siren']};{r['code_insee']}\n" for r in communes if r["epci_siren"] in chosen),
        encoding="utf-8",
    )
    synthese = regional_synthesis(path, "53")
    table = regional_table(synthese).set_index("Territoire")
    assert table.at[f"EPCI {chosen[0]}", "Taille ACI"].endswith("*")
    assert not table.at[f"EPCI {chosen[1]}", "Taille ACI"].endswith("*")
    notes = []
    monkeypatch.setattr(regional, "show_note", lambda text, kind="note": notes.append(text))
    monkeypatch.setattr(regional, "show_table", lambda *args, **kwargs: None)
    show_regional_table(synthese)
    margin = totals[chosen[0]] - min((40_000, 80_000, 175_000), key=lambda s: abs(totals[chosen[0]] - s))
    side = "au-dessus du" if margin > 0 else "sous le"
    listed = next(n for n in notes if n.startswith("* Proches d'un seuil de taille ACI"))
    assert f"EPCI {chosen[0]} ({abs(margin):,}".replace(",", "\u202f") in listed and side in listed
    assert f"EPCI {chosen[1]}" not in listed
