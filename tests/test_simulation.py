"""« What if »: cpts_diag.simulation, cpts-diag simulate and the corrected file (cpts_diag.io.perimeter_writer).

On the embedded PACA listing (ARS JSON) and on files of real communes of other régions written here in the
formats users have: a Windows-1252 CSV with « ; », a title line and CRLF line ends (Finistère), an Excel workbook
with title rows and merged territory cells (Ain), a zip, a GeoPackage. Expectations come from the raw COG read with
pandas as text, and from the check of the corrected file run by the command line itself.
"""

from __future__ import annotations

import hashlib
import json
import zipfile

import openpyxl
import pandas as pd
import pytest

from cpts_diag import settings
from cpts_diag.checks import check_perimeters
from cpts_diag.cli import main
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.simulation import ADD, REMOVE, Change, parse_change, simulate

DATA = settings.DATA_DIR
PACA = settings.DEFAULT_PERIMETERS


@pytest.fixture(scope="module")
def cog() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "communes_cog2026.csv", dtype=str, keep_default_na=False)
    raw = raw[raw["type"].isin(["commune-actuelle", "arrondissement-municipal"])].copy()
    raw["population"] = pd.to_numeric(raw["population"]).astype("Int64")  # collectivités d'outre-mer: none
    return raw.set_index("code_insee")


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys, *args) -> tuple[int, dict]:
    code, out, err = _run(capsys, *args, "--json")
    assert code in (0, 1), err
    return code, json.loads(out)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _epci(cog, departement: str) -> dict[str, list[str]]:
    communes = cog[(cog["type"] == "commune-actuelle") & (cog["departement"] == departement)]
    return {f"EPCI {siren}": list(group.index) for siren, group in communes.groupby("epci_siren")}


# ---------------------------------------------------------------------------------------------- PACA (ARS JSON)


def test_paca_before_and_after_are_the_check_documents(capsys, tmp_path):
    original = _digest(PACA)
    out = tmp_path / "corrige"
    code, doc = _json(capsys, "simulate", "--ajouter", "04013=CPTS Alpes Bléone Durance", "--out", str(out))
    assert code == 0
    _, before = _json(capsys, "check")
    assert doc["before"] == before
    corrected = out / PACA.name
    _, after = _json(capsys, "check", str(corrected))
    assert doc["after"] == after
    assert _digest(PACA) == original  # the original is never modified
    # exactly that orphan less, and the territory one commune more (616 inhabitants, COG 2026)
    assert {o["code_insee"] for o in before["orphans"]} - {o["code_insee"] for o in after["orphans"]} == {"04013"}
    assert len(after["orphans"]) == len(before["orphans"]) - 1
    terr = next(c for c in doc["changes"] if c["kind"] == "territory")
    assert terr["territory"] == "CPTS Alpes Bléone Durance"
    assert terr["after"]["population"] - terr["before"]["population"] == 616
    assert [i["indicator"] for i in terr["indicators"]] == ["apl_mg_2023", "part_75_plus"]
    assert all(i["before"]["value"] is not None and i["after"]["value"] is not None for i in terr["indicators"])
    log = (out / f"{PACA.stem}_modifications.txt").read_text(encoding="utf-8")
    assert log.count("\n") == 1 and "04013 Aubignosc ajoutée à CPTS Alpes Bléone Durance" in log
    # the JSON listing: the code appended to the territory's list, nothing else changed
    old = json.loads(PACA.read_text(encoding="utf-8"))
    new = json.loads(corrected.read_text(encoding="utf-8"))
    changed = [(a, b) for a, b in zip(old["cpts"], new["cpts"]) if a != b]
    assert len(changed) == 1 and changed[0][1]["communes"] == changed[0][0]["communes"] + ["04013"]
    assert new["meta"] == old["meta"]


def test_paca_simulating_a_proposal_removes_exactly_that_orphan():
    reference = read_perimeters(PACA)
    before = check_perimeters(reference)
    orphans = {o["code_insee"] for o in before.orphans} | {a["code"] for a in before.uncovered_arrondissements}
    # the first orphan of each département, Châteaufort (no adjacent territory), Mandelieu, Marseille 1er
    sample = ["04013", "04050", "06022", "06079", "13111", "13201", "83133"]
    proposals = {p["code_insee"]: p for p in before.proposals if p["kind"] == "orphan"}
    for code in sample:
        first = proposals[code]["candidates"][0]
        sim = simulate(reference, [Change(ADD, code, first["territory"], "test")], before=before)
        after = {o["code_insee"] for o in sim.after.orphans} | {a["code"] for a in sim.after.uncovered_arrondissements}
        assert after == orphans - {code}, code
        moved = next(c for c in sim.changes if c["kind"] == "territory" and c["territory"] == first["territory"])
        assert moved["after"]["population_max"] == first["population_after_max"], code
        assert moved["tier_changes"] == first["tier_changes"], code


def test_paca_removing_an_arrondissement_from_the_ars_json(capsys, tmp_path, cog):
    out = tmp_path / "corrige"
    territory = "CPTS Coordination Santé Marseille 2 & 3"
    code, doc = _json(capsys, "simulate", "--retirer", f"13202={territory}", "--out", str(out))
    assert code == 0
    uncovered = {a["code"] for a in doc["after"]["uncovered_arrondissements"]}
    assert uncovered == {"13201", "13202"}
    new = json.loads((out / PACA.name).read_text(encoding="utf-8"))
    record = next(t for t in new["cpts"] if t["nom"] == territory)
    assert "13202" not in record["arrondissements"] and record["communes"] == ["13055"]
    terr = next(c for c in doc["changes"] if c["kind"] == "territory")
    assert terr["before"]["population"] - terr["after"]["population"] == int(cog.at["13202", "population"])


# ---------------------------------------------------------------------------------------------- a CSV (Bretagne)


@pytest.fixture()
def finistere(tmp_path, cog):
    """The EPCI of the Finistère as territories, Guipavas (29075) left out: Windows-1252, « ; », a title line, CRLF,
    codes as Excel writes them, a population and a status column."""
    territories = _epci(cog, "29")
    own = next(t for t, codes in territories.items() if "29075" in codes)
    territories[own].remove("29075")
    lines = ["Périmètres des CPTS du Finistère (illustratif)", "Territoire;Code INSEE;Commune;Population;Statut"]
    for t, codes in territories.items():
        lines += [f"{t};{c};{cog.at[c, 'nom']};{cog.at[c, 'population']};validé" for c in codes]
    path = tmp_path / "source" / "finistere.csv"
    path.parent.mkdir()
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path, territories, own


def test_csv_corrected_in_its_own_format(capsys, tmp_path, finistere, cog):
    path, territories, own = finistere
    original = path.read_bytes()
    out = tmp_path / "corrige"
    plougastel = "29189"
    code, doc = _json(
        capsys,
        "simulate",
        str(path),
        "--ajouter",
        f"29075={own}",
        "--retirer",
        f"{plougastel}={own}",
        "--out",
        str(out),
    )
    assert code == 0
    written = (out / path.name).read_bytes()
    assert path.read_bytes() == original
    # same encoding, delimiter, title line and line ends; one line less, one line more, the others untouched
    old_lines, new_lines = original.decode("cp1252").split("\r\n"), written.decode("cp1252").split("\r\n")
    removed = [line for line in old_lines if line not in new_lines]
    added = [line for line in new_lines if line not in old_lines]
    assert removed == [f"{own};{plougastel};Plougastel-Daoulas;{cog.at[plougastel, 'population']};validé"]
    assert added == [f"{own};29075;Guipavas;;validé"]  # the territory's status kept, the population left blank
    assert new_lines[:2] == old_lines[:2]
    assert b"\r\n" in written and "\n" not in written.decode("cp1252").replace("\r\n", "")
    # the corrected file read back by check gives the simulated result
    _, after = _json(capsys, "check", str(out / path.name))
    assert doc["after"] == after
    assert [o["code_insee"] for o in after["orphans"]] == [plougastel]
    found = {c["finding"]: c for c in doc["changes"] if c["kind"] == "finding"}
    assert [o["code_insee"] for o in found["orphans"]["added"]] == [plougastel]
    assert [o["code_insee"] for o in found["orphans"]["removed"]] == ["29075"]
    pop = sum(int(cog.at[c, "population"]) for c in territories[own])
    terr = next(c for c in doc["changes"] if c["kind"] == "territory" and c["territory"] == own)
    assert terr["before"]["population"] == pop
    assert terr["after"]["population"] == pop + int(cog.at["29075", "population"]) - int(
        cog.at[plougastel, "population"]
    )


def test_text_output_and_exit_code(capsys, finistere):
    path, _, own = finistere
    code, out, err = _run(capsys, "simulate", str(path), "--ajouter", f"29075={own}")
    assert code == 0 and err == ""
    assert "+ 29075 Guipavas" in out and "Communes orphelines : 1 → 0" in out
    assert "Aucun fichier écrit" in out and "Sources : INSEE" in out


def test_a_change_that_crosses_a_threshold_is_flagged(capsys, tmp_path, cog):
    territories = _epci(cog, "01")
    # an EPCI of the Ain under 40 000 without one of its communes (found from the COG)
    territory, commune = next(
        (t, c)
        for t, codes in sorted(territories.items())
        for c in codes
        if sum(int(cog.at[x, "population"]) for x in codes)
        >= 40_000
        > sum(int(cog.at[x, "population"]) for x in codes if x != c)
    )
    territories[territory].remove(commune)
    path = tmp_path / "ain.csv"
    path.write_text(
        "cpts,code_insee\n" + "".join(f"{t},{c}\n" for t, codes in territories.items() for c in codes), encoding="utf-8"
    )
    code, doc = _json(capsys, "simulate", str(path), "--ajouter", f"{commune}={territory}")
    terr = next(c for c in doc["changes"] if c["kind"] == "territory")
    assert (terr["before"]["tier"], terr["after"]["tier"], terr["tier_changes"]) == (1, 2, True)
    _, out, _ = _run(capsys, "simulate", str(path), "--ajouter", f"{commune}={territory}")
    assert "Taille ACI                         : taille 1 → taille 2" in out


# ---------------------------------------------------------------------------------------------- a workbook (Ain)


@pytest.fixture()
def ain_workbook(tmp_path, cog):
    """The EPCI of the Ain in a workbook: a merged title row, a blank row, the header, the territory name in one
    merged cell over its communes."""
    territories = _epci(cog, "01")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Périmètres"
    ws["A1"] = "Liste des CPTS — Ain (illustratif)"
    ws.merge_cells("A1:C1")
    ws.append([])
    ws.append(["CPTS", "Code commune", "Nom"])
    row = 4
    for name, codes in territories.items():
        start = row
        for code in codes:
            ws.cell(row, 1, name if row == start else None)
            ws.cell(row, 2, code)
            ws.cell(row, 3, cog.at[code, "nom"])
            row += 1
        if row - 1 > start:
            ws.merge_cells(start_row=start, start_column=1, end_row=row - 1, end_column=1)
    path = tmp_path / "source" / "ain.xlsx"
    path.parent.mkdir()
    wb.save(path)
    return path, territories


def test_workbook_corrected_with_its_title_rows_and_merged_cells(capsys, tmp_path, ain_workbook, cog):
    path, territories = ain_workbook
    names = list(territories)
    first, second = names[0], names[1]
    removed = territories[second][0]  # the top row of a merged territory cell
    added = territories[second][1]  # a commune of another territory: a conflict appears
    out = tmp_path / "corrige"
    code, doc = _json(
        capsys,
        "simulate",
        str(path),
        "--retirer",
        f"{removed}={second}",
        "--ajouter",
        f"{added}={first}",
        "--out",
        str(out),
    )
    assert code == 1  # the corrected file has a conflict: blocking, as check says
    wb = openpyxl.load_workbook(out / path.name)
    ws = wb["Périmètres"]
    assert ws["A1"].value == "Liste des CPTS — Ain (illustratif)" and "A1:C1" in ws.merged_cells
    n1, n2 = len(territories[first]), len(territories[second])
    # the first territory one row longer (merged cell extended), the second one row shorter, its name kept
    assert f"A4:A{4 + n1}" in ws.merged_cells
    assert ws.cell(5 + n1, 1).value == second and f"A{5 + n1}:A{5 + n1 + n2 - 2}" in ws.merged_cells
    assert [ws.cell(4 + n1, j).value for j in (2, 3)] == [added, cog.at[added, "nom"]]
    _, after = _json(capsys, "check", str(out / path.name))
    assert doc["after"] == after
    assert [o["code_insee"] for o in after["overlaps"]] == [added]
    assert [o["code_insee"] for o in after["orphans"]] == [removed]
    conflict = next(p for p in after["proposals"] if p["kind"] == "overlap")
    assert {c["territory"] for c in conflict["candidates"]} == {first, second}


# ------------------------------------------------------------------------------------- zip, GeoPackage, changes file


def test_zip_holding_a_csv(capsys, tmp_path, finistere):
    path, _, own = finistere
    archive = tmp_path / "source" / "finistere.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(path, "finistere.csv")
        zf.writestr("documentation.txt", "métadonnées")
    out = tmp_path / "corrige"
    code, doc = _json(capsys, "simulate", str(archive), "--ajouter", f"29075={own}", "--out", str(out))
    assert code == 0
    with zipfile.ZipFile(out / archive.name) as zf:
        assert sorted(zf.namelist()) == ["documentation.txt", "finistere.csv"]
        assert zf.read("documentation.txt").decode("utf-8") == "métadonnées"
    _, after = _json(capsys, "check", str(out / archive.name))
    assert doc["after"] == after and after["orphans"] == []


def test_geopackage_is_simulated_but_not_written(capsys, tmp_path, cog):
    import geopandas as gpd

    territories = _epci(cog, "29")
    own = next(t for t, codes in territories.items() if "29075" in codes)
    rows = [(t, c) for t, codes in territories.items() for c in codes if c != "29075"]
    path = tmp_path / "finistere.gpkg"
    gpd.GeoDataFrame(
        {"cpts": [r[0] for r in rows], "code_insee": [r[1] for r in rows]}, geometry=[None] * len(rows), crs=4326
    ).to_file(path, layer="perimetres")
    code, doc = _json(capsys, "simulate", str(path), "--ajouter", f"29075={own}")
    assert code == 0 and doc["after"]["orphans"] == [] and len(doc["before"]["orphans"]) == 1
    out = tmp_path / "corrige"
    code, _, err = _run(capsys, "simulate", str(path), "--ajouter", f"29075={own}", "--out", str(out))
    assert code == 2 and err.startswith("erreur : ") and "GeoPackage" in err and not out.exists()


def test_changes_file(capsys, tmp_path, finistere):
    path, _, own = finistere
    changes = tmp_path / "modifications.csv"
    changes.write_text(f"action;code INSEE;territoire\najouter;29075;{own}\nretirer;29189;{own}\n", encoding="utf-8")
    code, doc = _json(capsys, "simulate", str(path), "--modifications", str(changes))
    applied = [(c["action"], c["code_insee"]) for c in doc["changes"] if c["kind"] == "applied"]
    assert code == 0 and applied == [(ADD, "29075"), (REMOVE, "29189")]


# ---------------------------------------------------------------------------------------------- bad changes


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--ajouter", "29999={own}", "code commune inconnu au COG 2026 (--ajouter) (valeur « 29999 »)"),
        ("--ajouter", "2907X={own}", "code commune invalide"),
        ("--ajouter", "29075=CPTS Inconnue", "territoire inconnu"),
        ("--retirer", "29075={own}", "29075 Guipavas n'est pas dans"),
        ("--ajouter", "29019={own}", "29019 Brest est déjà dans"),
        ("--ajouter", "29075", "modification mal écrite (--ajouter) : attendu CODE=TERRITOIRE"),
    ],
)
def test_bad_changes_exit_2_with_one_french_line_and_nothing_written(
    capsys, tmp_path, finistere, option, value, message
):
    path, _, own = finistere
    original = path.read_bytes()
    out = tmp_path / "corrige"
    code, stdout, err = _run(capsys, "simulate", str(path), option, value.format(own=own), "--out", str(out))
    assert code == 2 and stdout == ""
    assert err.startswith("erreur : ") and err.count("\n") == 1 and message in err, err
    assert not out.exists() and path.read_bytes() == original


def test_the_original_folder_is_refused(capsys, finistere):
    path, _, own = finistere
    original = path.read_bytes()
    code, _, err = _run(capsys, "simulate", str(path), "--ajouter", f"29075={own}", "--out", str(path.parent))
    assert code == 2 and "le dossier de sortie est celui du fichier d'origine" in err
    assert path.read_bytes() == original and sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_an_addition_and_its_removal_cancel(finistere):
    path, _, own = finistere
    perimeters = read_perimeters(path)
    changes = [parse_change(f"29075={own}", ADD), parse_change(f"29075={own}", REMOVE)]
    with pytest.raises(Exception, match="les modifications s'annulent"):
        simulate(perimeters, changes)


def test_key_indicators_before_and_after_are_recomputed_from_the_raw_files(capsys, finistere):
    path, territories, own = finistere
    apl = pd.read_csv(DATA / "apl_mg_communes_2022_2023.csv", dtype={"code_insee": str}).set_index("code_insee")
    social = pd.read_csv(DATA / "indicateurs_sociaux_communes.csv", dtype={"code_insee": str}).set_index("code_insee")

    def expected(codes):
        a = apl.loc[codes]
        s = social.loc[codes]
        return (
            (a["apl_mg_2023"] * a["pop_standardisee_2023"]).sum() / a["pop_standardisee_2023"].sum(),
            (s["part_75_plus"] * s["population_2022"]).sum() / s["population_2022"].sum(),
        )

    _, doc = _json(capsys, "simulate", str(path), "--ajouter", f"29075={own}")
    terr = next(c for c in doc["changes"] if c["kind"] == "territory")
    got = {i["indicator"]: i for i in terr["indicators"]}
    for side, codes in (("before", territories[own]), ("after", territories[own] + ["29075"])):
        apl_value, old_value = expected(codes)
        assert got["apl_mg_2023"][side]["value"] == pytest.approx(apl_value, abs=1e-4)
        assert got["part_75_plus"][side]["value"] == pytest.approx(old_value, abs=1e-4)
    assert got["apl_mg_2023"]["before"]["value"] != got["apl_mg_2023"]["after"]["value"]


def test_an_action_written_as_an_alias_is_applied_as_written(finistere):
    """« retrait » and « - » remove, « + » adds: a Change built by a library caller with an alias is not turned
    into an addition (it was, before the normalised action was used)."""
    path, _, own = finistere
    perimeters = read_perimeters(path)
    for alias in ("retrait", "-"):
        with pytest.raises(Exception, match="les modifications s'annulent"):
            simulate(perimeters, [Change("+", "29075", own, "test"), Change(alias, "29075", own, "test")])
