"""What ``cpts-diag batch`` prints for the régions of its ARS view."""

from __future__ import annotations

from cpts_diag.reports.batch.terminal import region_line


def test_summary_line_of_a_region_view_says_its_study_area(tmp_path):
    """The command's line for a région: counts, study area, and the warning when a région asked for is barely
    covered (its orphans are then all its communes outside the file)."""
    record = {
        "code": "53",
        "name": "Bretagne",
        "folder": "region-53-bretagne",
        "status": "ok",
        "territories": ["A", "B"],
        "n_communes": 1202,
        "n_covered": 21,
        "check": {"n_orphans": 0, "n_outside_file": 256, "n_overlaps": 1},
        "study_area": [],
        "declared": False,
        "mostly_covered": False,
    }
    line = region_line(record, tmp_path)
    assert line.startswith(
        "Vue régionale Bretagne (53) produite (2 territoires, 0 commune(s) orpheline(s), 256 commune(s) hors fichier, "
        "1 chevauchement(s) ; zone d'étude : aucune"
    )
    assert line.endswith(f") : {tmp_path.resolve() / 'region-53-bretagne'}")
    declared = dict(record, declared=True, study_area=["22", "29", "35", "56"])
    declared["check"] = {"n_orphans": 1181, "n_outside_file": 0, "n_overlaps": 1}
    line = region_line(declared, tmp_path)
    assert "zone d'étude : la région, déclarée (--region)" in line
    assert line.endswith(
        "— attention, le fichier ne contient que 21 de ses 1\u202f202 communes : ses « orphelines » sont toutes ses "
        "communes hors du fichier"
    )
