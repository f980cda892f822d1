from collections import Counter

from cpts_diag.reference import load_reference


def test_counts_match_the_raw_file(raw_communes):
    ref = load_reference()
    kinds = Counter(r["type"] for r in raw_communes)
    assert kinds == {
        "commune-actuelle": 34_969,
        "commune-deleguee": 2_105,
        "commune-associee": 471,
        "arrondissement-municipal": 45,
    }
    assert len(ref.communes) == kinds["commune-actuelle"]
    assert len(ref.arrondissements) == 45
    # SOURCES.md of the open data: sum over the communes actuelles
    assert ref.communes["population"].sum() == 68_952_941


def test_codes_are_strings_with_leading_zeros():
    ref = load_reference()
    assert "01001" in ref.communes.index
    assert "2A004" in ref.communes.index
    assert ref.communes.at["01001", "departement"] == "01"


def test_resolution_of_each_kind():
    ref = load_reference()
    res = ref.resolve_codes(["05001", "05120", "13201", "01120", "01091", "99999"]).set_index("code")
    assert res.loc["05001", "status"] == "current"
    # Ristolas, commune déléguée of Abriès-Ristolas (COG 2026)
    assert (res.loc["05120", "status"], res.loc["05120", "code_current"]) == ("former", "05001")
    assert "déléguée" in res.loc["05120", "note"]
    assert (res.loc["13201", "status"], res.loc["13201", "code_current"]) == ("arrondissement", "13055")
    assert res.loc["13201", "arrondissement"] == "13201"
    # Cordieux, commune associée of Montluel
    assert res.loc["01120", "code_current"] == "01262"
    # Châtillon-en-Michaille, merged into Valserhône (2019)
    assert res.loc["01091", "code_current"] == "01033"
    assert res.loc["99999", "status"] == "unknown"


def test_former_codes_follow_the_change_table_to_a_current_commune():
    ref = load_reference()
    assert all(target in ref.communes.index for target in ref.former.values())
    assert not set(ref.former) & set(ref.communes.index)


def test_region_code_as_typed():
    import pytest

    from cpts_diag.errors import InputError

    ref = load_reference()
    assert ref.region_code(" 93") == "93"
    assert ref.region_code(6) == "06"  # Mayotte
    with pytest.raises(InputError, match="code région inconnu"):
        ref.region_code("99")
