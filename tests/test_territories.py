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
