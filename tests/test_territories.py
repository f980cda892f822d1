import pandas as pd
import pytest

from cpts_diag.reference import load_reference
from cpts_diag.territories import resolve_members, territory_table


def _table(rows):
    df = pd.DataFrame(rows, columns=["cpts", "code_insee", "arrondissement", "infracommunal"])
    df["line"] = range(2, len(df) + 2)
    return df


def _pop(raw, code, kind="commune-actuelle"):
    return int(next(r["population"] for r in raw if r["code_insee"] == code and r["type"] == kind))


def test_population_and_bounds(raw_communes):
    ref = load_reference()
    table = _table(
        [
            ("A", "04001", None, False),
            ("A", "04001", None, False),  # duplicate counted once
            ("A", "05120", None, False),  # former code -> 05001
            ("B", "13055", "13201", False),  # Marseille by arrondissement
            ("B", "13202", None, False),  # arrondissement given as the code
            ("C", "06088", None, True),  # Nice, split infra-communally
            ("C", "06046", None, False),
            ("D", "13055", None, False),  # Marseille whole ...
            ("D", "13055", "13203", False),  # ... absorbs its arrondissement
        ]
    )
    members = resolve_members(table, ref)
    assert list(members["code_insee"]) == [
        "04001",
        "04001",
        "05001",
        "13055",
        "13055",
        "06088",
        "06046",
        "13055",
        "13055",
    ]
    assert members.loc[4, "arrondissement"] == "13202"
    out = territory_table(members, ref).set_index("cpts")
    assert out.loc["A", "population"] == _pop(raw_communes, "04001") + _pop(raw_communes, "05001")
    assert out.loc["A", "n_communes"] == 2
    marseille_12 = _pop(raw_communes, "13201", "arrondissement-municipal") + _pop(
        raw_communes, "13202", "arrondissement-municipal"
    )
    assert out.loc["B", "population"] == marseille_12
    assert not out.loc["B", "approximate"]
    nice, other = _pop(raw_communes, "06088"), _pop(raw_communes, "06046")
    assert out.loc["C", "population_min"] == other
    assert out.loc["C", "population_max"] == other + nice
    assert out.loc["C", "approximate"] and pd.isna(out.loc["C", "population"])
    assert (out.loc["C", "tier_min"], out.loc["C", "tier_max"]) == (1, 4)
    assert pd.isna(out.loc["C", "tier"])
    assert out.loc["D", "population"] == _pop(raw_communes, "13055")
    assert out.loc["D", "departements"] == ["13"]


def test_unknown_codes_are_left_out_of_populations():
    ref = load_reference()
    members = resolve_members(_table([("A", "99999", None, False), ("A", "04001", None, False)]), ref)
    assert members.loc[0, "status"] == "unknown" and pd.isna(members.loc[0, "code_insee"])
    out = territory_table(members, ref).set_index("cpts")
    assert out.loc["A", "n_communes"] == 1
    assert out.loc["A", "population"] == pytest.approx(ref.communes.at["04001", "population"])


def test_region_coverage_and_territories_in_region(raw_communes):
    from cpts_diag.territories import region_coverage, territories_in_region

    table = _table(
        [
            ("Couesnon", "50410", None, False),  # Pontorson (Manche, Normandie)
            ("Couesnon", "35222", None, False),  # Pleine-Fougères (Ille-et-Vilaine, Bretagne)
            ("Couesnon", "35113", None, False),  # former commune of Val-Couesnon (35004), merged since
            ("Rennes", "35238", None, False),
            ("Rennes", "35238", None, False),  # a duplicate counts once
        ]
    )
    cov = region_coverage(table)
    actual = [r for r in raw_communes if r["type"] == "commune-actuelle"]
    for code, covered in (("28", ["50410"]), ("53", ["35222", "35004", "35238"])):
        communes = [r for r in actual if r["region"] == code]
        row = cov.loc[code]
        assert row["n_communes"] == len(communes) and row["n_covered"] == len(covered)
        assert row["population"] == sum(int(r["population"]) for r in communes)
        assert row["population_covered"] == sum(_pop(raw_communes, c) for c in covered)
    assert list(cov.index) == ["28", "53"] and cov.loc["53", "name"] == "Bretagne"
    assert not cov["mostly_covered"].any()  # 1 and 3 communes: far from half of either région
    assert cov.loc["53", "territories"] == ["Couesnon", "Rennes"] and cov.loc["28", "territories"] == ["Couesnon"]
    assert cov.loc["53", "straddling"] == {"Couesnon": ["28"]} and cov.loc["28", "straddling"] == {"Couesnon": ["53"]}
    assert territories_in_region(table, "53") == ["Couesnon", "Rennes"]
    assert territories_in_region(table, "28") == ["Couesnon"] and territories_in_region(table, "84") == []
