"""Tests of cpts_diag.check_contiguity (enclaves, discontinuous territories, gaps, pieces) on unit squares
(tests/fake_cog.py), through check_perimeters."""

import pandas as pd
import pytest

from cpts_diag.outputs.check_text import format_text
from cpts_diag.reference import load_reference
from fake_cog import GRID, T1, check, grid_rows, polys, write_cog


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    return load_reference(write_cog(tmp_path_factory.mktemp("cog")))


# ---------------------------------------------------------------------------- geometry


def test_enclave_and_discontiguous_on_unit_squares(ref):
    r = check(ref, *grid_rows(), geometries=polys(GRID), departements=["13"])
    assert r.geometry_checks is True
    assert [o["code_insee"] for o in r.orphans] == ["13006"]
    assert r.enclaves == [{"territory": "T1", "communes": ["13006"], "names": ["Foxtrot"], "population": 600}]
    assert len(r.discontiguous) == 1
    d = r.discontiguous[0]
    assert (d["territory"], d["n_pieces"], sorted(d["pieces"])) == ("T2", 2, [["84001"], ["84002"]])
    assert sorted(d["piece_names"]) == [["Golf"], ["Hotel"]]
    assert r.summary["n_enclaves"] == 1 and r.summary["n_discontiguous"] == 1
    text = format_text(r)
    assert "Enclave dans T1 : 13006 Foxtrot (600 hab.)" in text
    assert "Discontinu : T2 en 2 morceaux" in text


def test_small_gaps_are_adjacent_within_tolerance(ref):
    gdf = polys(GRID, shrink=20.0)  # 40 m gaps between neighbours
    r = check(ref, *grid_rows(), geometries=gdf, departements=["13"])
    assert [d["territory"] for d in r.discontiguous] == ["T2"]
    assert [e["territory"] for e in r.enclaves] == ["T1"]
    tight = check(ref, *grid_rows(), geometries=gdf, departements=["13"], tolerance_m=10.0)
    # with a 10 m tolerance every commune is isolated: all multi-commune territories split
    assert {d["territory"]: d["n_pieces"] for d in tight.discontiguous} == {"T1": 8, "T2": 2, "T3": 2}


def test_orphan_on_the_edge_is_not_an_enclave(ref):
    cells = {k: v for k, v in GRID.items() if k != "13006"}
    # 13001 (corner) becomes the orphan; 13006 gets its polygon back as a T1 member
    cells["13006"] = (1, 1)
    rows = [("T1", c) for c in T1 if c != "13001"] + [("T1", "13006")]
    r = check(ref, *rows, geometries=polys(cells), departements=["13"])
    # 13001 touches only T1 but lies on the edge of the map; 13030 touches 26001, in no territory
    assert [o["code_insee"] for o in r.orphans] == ["13001", "13030"]
    assert r.enclaves == []


def test_missing_polygons_note_and_none_geometries(ref):
    gdf = polys({k: v for k, v in GRID.items() if k not in ("13003", "13004")})
    r = check(ref, *grid_rows(), geometries=gdf, departements=["13"])
    assert r.geometry_checks
    assert any(n.startswith("2 commune(s) sans polygone dans les contours fournis") for n in r.notes)
    # T1 holds the two communes without polygon: its continuity cannot be decided, never "discontinu"
    assert [d["territory"] for d in r.discontiguous] == ["T2"]
    # 13006 touches only T1 communes, but its northern boundary faces the missing polygons
    assert r.enclaves == []
    assert [(u["check"], u["territory"], u["communes"]) for u in r.unverifiable] == [
        ("continuité", "T1", ["13003", "13004"]),
        ("enclave", "T1", ["13006"]),
    ]
    assert "Continuité non vérifiable : T1 — commune(s) sans contour : 13003 Charlie, 13004 Delta" in format_text(r)
    # a commune without polygon that belongs to no territory may touch 13006: enclave not decidable
    r = check(ref, *[row for row in grid_rows() if row[1] != "13004"], geometries=gdf, departements=["13"])
    assert r.enclaves == []
    assert ("enclave", "T1", ["13006"]) in [(u["check"], u["territory"], u["communes"]) for u in r.unverifiable]
    r = check(ref, *grid_rows(), geometries=None)
    assert not r.geometry_checks and r.discontiguous == [] and r.enclaves == []
    assert "non vérifiées" in format_text(r)


def test_polygons_of_former_code_are_aligned(ref):
    cells = dict(GRID)
    cells["13031"] = cells.pop("13030")  # polygon under the former code of 13030
    r = check(ref, *grid_rows(), geometries=polys(cells), departements=["13"])
    assert [d["territory"] for d in r.discontiguous] == ["T2"]  # T3 (13030 + 26001) still in one piece
    assert any("13031" in n for n in r.notes)


def test_piece_labels_vectorised_components():
    from cpts_diag.check_contiguity import _piece_labels

    # chain 0-1-2-3-4 given in an order that needs several rounds, pair 5-6, isolated 7
    ea = [3, 2, 1, 0, 6]
    eb = [4, 3, 2, 1, 5]
    assert _piece_labels(8, ea, eb).tolist() == [0, 0, 0, 0, 0, 5, 5, 7]
    assert _piece_labels(3, [], []).tolist() == [0, 1, 2]
    # a star hooked through its highest node
    assert _piece_labels(5, [4, 4, 4, 4], [3, 2, 1, 0]).tolist() == [0, 0, 0, 0, 0]


def test_geometries_given_as_a_file(ref, tmp_path):
    path = tmp_path / "grid.gpkg"
    polys(GRID).to_crs("EPSG:4326").to_file(path, layer="communes", driver="GPKG")
    r = check(ref, *grid_rows(), geometries=path, departements=["13"])
    assert r.geometry_checks
    assert [e["communes"] for e in r.enclaves] == [["13006"]]
    assert [d["territory"] for d in r.discontiguous] == ["T2"]


def test_pieces_too_close_to_decide_name_each_commune_beside_its_code(ref, monkeypatch):
    """Secondary pieces listed largest first ([13003, 13004], then [13001]): the codes are sorted and
    each name stays beside its own code."""
    from cpts_diag import check_contiguity, checks

    def links(*pairs):
        return pd.DataFrame(pairs, columns=["a", "b"])

    adjacency = check_contiguity._Adjacency(
        pairs=links(("13010", "13020"), ("13020", "13055"), ("13003", "13004")),
        near=links(("13001", "13010"), ("13003", "13010")),  # 100 to 300 m apart: undecided
        across=links(),
        possible=links(),
        without_polygon=set(),
        exposed=set(),
        land_mass=None,
        by_arrondissement=False,
    )
    monkeypatch.setattr(checks, "_embedded_adjacency", lambda notes: adjacency)
    members = ["13010", "13020", "13055", "13003", "13004", "13001"]
    r = check(ref, *[("T", c) for c in members], geometries="default", departements=["13"])
    assert r.discontiguous == [] and r.island_territories == []
    [u] = [u for u in r.unverifiable if u["check"] == "continuité"]
    assert u["communes"] == ["13001", "13003", "13004"]
    assert u["names"] == ["Alpha", "Charlie", "Delta"]
