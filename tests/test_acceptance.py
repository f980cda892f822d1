"""Acceptance of issue 16: a chargée de mission's own files give a right answer the first time, from her folder.

The tests play the user. Her folder (« Dossier de Léa », a space and an accent in its name) holds her clone of the
project, a folder named ``cpts_diag`` (a link to this repository), and her files, written the way users have them:

* (a) Auvergne-Rhône-Alpes: the Excel file of one CPTS, a title line « CPTS du Bassin Burgien – liste des
  communes », then ``Commune`` and ``Code INSEE``; the codes of the Ain lost their leading zero (numbers in
  Excel), and Étrez is given by its outdated code 01154 (now part of Bresse Vallons, 01130);
* (b) Bretagne: a CSV of two CPTS of the Finistère from Excel (Windows-1252, ``;``, CRLF, a commune-name column):
  Ergué-Gabéric (29051) in both, « Locronan » typed next to 29143, which is Mahalon (Locronan is 29134); the
  two cover a small part of the Finistère;
* (c) La Réunion: the CSV of one CPTS (UTF-8 with BOM, ``,``) without territory column nor title line, columns
  ``Code commune`` and ``Nom``: named after its file.

She runs the installed ``cpts-diag`` from her folder with relative paths: ``check`` (a) and (b), ``report`` (a)
without ``--territoire``, ``batch`` (b) with ``--out lot``, ``indicators`` (c). Every expectation is computed by
the test from ``data/communes_cog2026.csv`` read with the csv module, never through the package. Notebook 02 in
a real JupyterLab, from a folder that also holds her ``cpts_diag`` folder, is tests/test_browser_jupyterlab.py.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BURGIEN = "CPTS du Bassin Burgien"
QUIMPER, FOUESNANT = "CPTS Quimper Cornouaille", "CPTS Pays Fouesnantais"
REUNION = "CPTS ouest reunion"  # named after its file, cpts_ouest_reunion.csv
FILES = {"a": "communes_bassin_burgien.xlsx", "b": "nos_cpts_finistere.csv", "c": "cpts_ouest_reunion.csv"}
#: (a): Bourg-en-Bresse and communes of the Bresse around Bresse Vallons, typed as numbers; then Étrez, 01154.
BURGIEN_CODES = "01053 01024 01163 01229 01232 01375 01301 01451 01124 01196 01212 01296 01266 01038 01350".split()
ETREZ = "01154"
ERGUE, MAHALON, LOCRONAN = "29051", "29143", "29134"
EPCI = {"quimper": "200068120", "fouesnant": "242900660", "tco": "249740101"}  # CA QBO, CC Pays Fouesnantais, CA TCO
FICTITIOUS = re.compile(r"donn[ée]es fictives|fictif|fictive", re.IGNORECASE)


# ------------------------------------------------------------------------------ her files and the COG


@pytest.fixture(scope="module")
def cog() -> dict:
    """COG 2026 from the raw file: current communes by code, every record (former communes too)."""
    with open(REPO / "data" / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    current = {r["code_insee"]: r for r in records if r["type"] == "commune-actuelle"}
    return {"current": current, "records": records}


def _epci(cog, siren: str) -> list[str]:
    return sorted(c for c, r in cog["current"].items() if r["epci_siren"] == siren)


def _population(cog, codes) -> int:
    return sum(int(cog["current"][c]["population"]) for c in set(codes))


def _fmt(n: int) -> str:
    """A French integer as the outputs show it once their spaces are normalised (« 8 606 »)."""
    return f"{n:,}".replace(",", " ")


@pytest.fixture(scope="module")
def her(tmp_path_factory, cog) -> dict:
    """Her folder and what the test expects of her files, computed from the COG."""
    import openpyxl

    folder = tmp_path_factory.mktemp("acceptance") / "Dossier de Léa"
    folder.mkdir()
    (folder / "cpts_diag").symlink_to(REPO, target_is_directory=True)  # her clone, beside her files
    current = cog["current"]

    # (a) one CPTS in Excel: a title line, codes that lost their zero, an outdated code
    etrez = next(r for r in cog["records"] if r["code_insee"] == ETREZ and r["type"] == "commune-deleguee")
    bresse_vallons = etrez["commune_parente"]
    assert bresse_vallons not in BURGIEN_CODES
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Communes"
    ws.append([f"{BURGIEN} – liste des communes"])
    ws.append([])
    ws.append(["Commune", "Code INSEE"])
    for code in BURGIEN_CODES:
        ws.append([current[code]["nom"], int(code)])
    ws.append([etrez["nom"], int(ETREZ)])
    wb.save(folder / FILES["a"])

    # (b) two CPTS of the Finistère, from Excel: Locronan typed next to Mahalon's code, Ergué-Gabéric in both
    quimper = [MAHALON if c == LOCRONAN else c for c in _epci(cog, EPCI["quimper"])]
    fouesnant = [*_epci(cog, EPCI["fouesnant"]), ERGUE]
    assert ERGUE in quimper and LOCRONAN not in quimper and ERGUE not in _epci(cog, EPCI["fouesnant"])
    lines = ["Nom CPTS;Commune;Code INSEE"]
    for name, codes in ((QUIMPER, quimper), (FOUESNANT, fouesnant)):
        lines += [f"{name};{'Locronan' if c == MAHALON else current[c]['nom']};{c}" for c in codes]
    (folder / FILES["b"]).write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    listed = set(quimper) | set(fouesnant)
    finistere = {c for c, r in current.items() if r["departement"] == "29"}
    assert 2 * len(listed & finistere) < len(finistere)  # a small part of the département

    # (c) one CPTS of La Réunion, no territory column: named after the file
    tco = _epci(cog, EPCI["tco"])
    text = "Code commune,Nom\n" + "".join(f"{c},{current[c]['nom']}\n" for c in tco)
    (folder / FILES["c"]).write_text(text, encoding="utf-8-sig")

    return {
        "folder": folder,
        "burgien": {
            "codes": [*BURGIEN_CODES, bresse_vallons],
            "population": _population(cog, [*BURGIEN_CODES, bresse_vallons]),
            "bresse_vallons": (
                bresse_vallons,
                current[bresse_vallons]["nom"],
                int(current[bresse_vallons]["population"]),
            ),
            "etrez_line": 4 + len(BURGIEN_CODES),  # title, blank line, header, then one row per commune
            "ain": sorted(c for c, r in current.items() if r["departement"] == "01"),
        },
        "finistere": {
            "populations": {QUIMPER: _population(cog, quimper), FOUESNANT: _population(cog, fouesnant)},
            "mismatch": {
                "line": 2 + quimper.index(MAHALON),  # after the header line
                "territory": QUIMPER,
                "code_insee": MAHALON,
                "typed_name": "Locronan",
                "cog_name": current[MAHALON]["nom"],
                "codes_with_typed_name": sorted(c for c, r in current.items() if r["nom"] == "Locronan"),
            },
            "outside_file": sorted(finistere - listed),
            "ergue": (current[ERGUE]["nom"], int(current[ERGUE]["population"])),
        },
        "reunion": {"population": _population(cog, tco), "n": len(tco)},
    }


def _cli(her: dict, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """``cpts-diag ARGS`` run from her folder, with the environment of a user (nothing pointing to the tests)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CPTS_DIAG_") and k != "PYTHONPATH"}
    res = subprocess.run(
        [str(BIN / "cpts-diag"), *args], cwd=her["folder"], env=environ, capture_output=True, text=True, timeout=timeout
    )
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout, res.stderr[-3000:]
    return res


def _text(page: str) -> str:
    """The words of an HTML page, tags removed and every kind of space as one plain space."""
    words = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)))
    return re.sub(r"[\s\u00a0\u202f]+", " ", words)


def _assert_nothing_fictitious(folder: Path) -> None:
    """No output of her own files says « données fictives » (pages, notebook outputs, workbooks, batch.json)."""
    import openpyxl

    for path in sorted(folder.rglob("*")):
        if path.suffix in (".html", ".json"):
            found = FICTITIOUS.findall(path.read_text(encoding="utf-8"))
        elif path.suffix == ".ipynb":  # what the notebook shows (its parameters cell documents the demo's example)
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            found = FICTITIOUS.findall(json.dumps([c.get("outputs", []) for c in cells], ensure_ascii=False))
        elif path.suffix == ".xlsx":
            wb = openpyxl.load_workbook(path, read_only=True)
            found = [
                str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None
            ]
            found = [v for v in found if FICTITIOUS.search(v)]
        else:
            continue
        assert not found, (path, found[:3])


# ------------------------------------------------------------------------------ check


def test_check_names_the_one_territory_of_her_excel_file_from_its_title_line(her):
    res = _cli(her, "check", FILES["a"])
    assert res.returncode == 0, res.stderr
    out = res.stdout
    b = her["burgien"]
    said = f"fichier « {FILES['a']} » : pas de colonne du nom de la CPTS : le fichier est lu comme un seul territoire"
    assert f"{said}, nommé « {BURGIEN} » d'après la ligne de titre" in out  # her file as she typed it
    # the zeros restored: one line, with the count, said once
    restored = [line for line in out.splitlines() if "zéro initial restauré" in line]
    assert len(restored) == 1 and f"zéro initial restauré pour {len(BURGIEN_CODES) + 1} codes" in restored[0]
    code, name, _ = b["bresse_vallons"]
    assert f"Code périmé : {ETREZ} → {code} {name} — {BURGIEN} (ligne {b['etrez_line']})" in out
    # a small part of the Ain: no orphan, the other communes « hors fichier »
    outside = len(b["ain"]) - len(b["codes"])
    assert re.search(rf"Communes hors fichier +: {outside} \(information, pas des orphelines", out)
    assert "Orpheline :" not in out and re.search(r"Communes orphelines +: 0 ", out)
    doc = json.loads(_cli(her, "check", FILES["a"], "--json").stdout)
    [territory] = doc["territories"]
    assert (territory["name"], territory["population"]) == (BURGIEN, b["population"])
    assert doc["orphans"] == [] and len(doc["outside_file"]) == outside


def test_check_reports_the_name_typed_next_to_another_communes_code_and_no_orphan(her):
    f = her["finistere"]
    res = _cli(her, "check", FILES["b"], "--json")
    assert res.returncode == 1  # Ergué-Gabéric in both CPTS: a conflict is blocking
    doc = json.loads(res.stdout)
    assert doc["name_mismatches"] == [f["mismatch"]]
    assert doc["orphans"] == []
    assert [o["code_insee"] for o in doc["outside_file"]] == f["outside_file"]
    [overlap] = doc["overlaps"]
    assert (overlap["code_insee"], overlap["kind"], sorted(overlap["territories"])) == (
        ERGUE,
        "conflict",
        sorted([QUIMPER, FOUESNANT]),
    )
    assert {t["name"]: t["population"] for t in doc["territories"]} == f["populations"]
    # on screen, with her relative --out
    res = _cli(her, "check", FILES["b"], "--out", "controles")
    assert res.returncode == 1, res.stderr
    m = f["mismatch"]
    assert (
        f"Ligne {m['line']} ({QUIMPER}) : « Locronan » saisi avec le code {MAHALON}, qui est {m['cog_name']} ; "
        f"Locronan est {', '.join(m['codes_with_typed_name'])}"
    ) in res.stdout
    assert re.search(rf"Communes hors fichier +: {len(f['outside_file'])} \(information", res.stdout)
    assert "Orpheline :" not in res.stdout
    for name in ("controle_perimetres.xlsx", "controle_perimetres.gpkg"):
        assert (her["folder"] / "controles" / name).is_file()


def test_indicators_of_a_file_named_after_its_territory(her):
    res = _cli(her, "indicators", FILES["c"], "--json")
    assert res.returncode == 0, res.stderr
    assert f"fichier « {FILES['c']} »" in res.stderr and f"nommé « {REUNION} » d'après le nom du fichier" in res.stderr
    rows = json.loads(res.stdout)
    population = next(r for r in rows if r["indicator"] == "population" and r["level"] == "territoire")
    assert population["territory_value"] == her["reunion"]["population"]
    communes = next(r for r in rows if r["indicator"] == "nombre_communes" and r["level"] == "territoire")
    assert communes["territory_value"] == her["reunion"]["n"]
    assert not FICTITIOUS.search(res.stdout)


# ------------------------------------------------------------------------------ report (a)


@pytest.fixture(scope="module")
def report_a(her):
    res = _cli(her, "report", FILES["a"], "--out", "rapports")  # one territory: no --territoire
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res


@pytest.mark.slow
def test_report_of_her_excel_file_lands_where_her_relative_out_says(her, report_a):
    folder = her["folder"] / "rapports" / "cpts-du-bassin-burgien"
    assert sorted(p.name for p in (her["folder"] / "rapports").iterdir()) == [folder.name]
    assert sorted(p.name for p in folder.iterdir()) == [
        "carte.html",
        "diagnostic.ipynb",
        "indicateurs.xlsx",
        "perimetre.gpkg",
        "rapport.html",
    ]
    assert f"Rapport : {folder / 'rapport.html'}" in report_a.stdout


@pytest.mark.slow
def test_report_says_the_outdated_code_and_the_population_it_adds(her, report_a):
    b = her["burgien"]
    page = (her["folder"] / "rapports" / "cpts-du-bassin-burgien" / "rapport.html").read_text(encoding="utf-8")
    text = _text(page)
    assert f"Diagnostic territorial — {BURGIEN}" in text
    assert f"{_fmt(b['population'])} habitants Population légale 2023" in text  # first key figure
    code, name, population = b["bresse_vallons"]
    assert (
        f"Ligne {b['etrez_line']} : {ETREZ} → {code} {name} (commune déléguée {ETREZ} rattachée à {name} ({code}) "
        f"au COG 2026) ; la population comptée est celle de toute la commune actuelle ({_fmt(population)} hab.)"
    ) in text
    assert "orpheline (sans CPTS)" not in text  # no commune of the Ain is said to have no CPTS
    assert f"fichier « {FILES['a']} » : zéro initial restauré" in text  # not the folders of her computer
    assert str(her["folder"]) not in text
    _assert_nothing_fictitious(her["folder"] / "rapports")


# ------------------------------------------------------------------------------ batch (b)


@pytest.fixture(scope="module")
def batch_b(her):
    res = _cli(her, "batch", FILES["b"], "--out", "lot", "--workers", "2")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res


def _report_text(her, name: str) -> str:
    slug = {QUIMPER: "cpts-quimper-cornouaille", FOUESNANT: "cpts-pays-fouesnantais"}[name]
    return _text((her["folder"] / "lot" / slug / "rapport.html").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_batch_reports_say_the_overlap_in_both_with_its_population(her, batch_b):
    f = her["finistere"]
    name, population = f["ergue"]
    for territory, other in ((QUIMPER, FOUESNANT), (FOUESNANT, QUIMPER)):
        text = _report_text(her, territory)
        assert f"{_fmt(f['populations'][territory])} habitants Population légale 2023" in text
        assert f"dont {_fmt(population)} hab. comptés aussi dans {other}" in text
        assert (
            f"{name} ({ERGUE}, {_fmt(population)} hab.) est aussi dans {other} : sa population est comptée dans les "
            "deux territoires"
        ) in text
        assert "orpheline (sans CPTS)" not in text and "Communes orphelines voisines" not in text
    m = f["mismatch"]
    alert = _report_text(her, QUIMPER).split("Périmètre à corriger avant d'envoyer ce rapport")[1][:800]
    assert (
        f"Nom et code discordants (à vérifier) : Ligne {m['line']} : « Locronan » saisi avec le code {MAHALON}, qui "
        f"est {m['cog_name']} ; Locronan est {m['codes_with_typed_name'][0]}"
    ) in alert


@pytest.mark.slow
def test_batch_writes_the_ars_view_of_bretagne_linked_from_her_index(her, batch_b):
    import pyogrio

    lot = her["folder"] / "lot"
    view = lot / "region-53-bretagne"
    outside = her["finistere"]["outside_file"]
    page = (lot / "index.html").read_text(encoding="utf-8")
    hrefs = {html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)}
    for name in ("synthese_regionale.html", "carte_regionale.html", "controle_perimetres.xlsx"):
        assert f"region-53-bretagne/{name}" in hrefs and (view / name).is_file()
    assert all((lot / h).is_file() for h in hrefs)
    for slug in ("cpts-quimper-cornouaille", "cpts-pays-fouesnantais"):
        assert {f"{slug}/rapport.html", f"{slug}/carte.html", f"{slug}/indicateurs.xlsx"} <= hrefs
        assert sorted(p.name for p in (lot / slug).iterdir()) == [
            "carte.html",
            "diagnostic.ipynb",
            "indicateurs.xlsx",
            "perimetre.gpkg",
            "rapport.html",
        ]
    # two CPTS in a small part of the Finistère: no study area, no orphan, the rest « hors fichier »
    text = _text(page)
    assert "zone d'étude : aucune" in text and "0 commune orpheline" in text
    assert f"{_fmt(len(outside))} communes « hors fichier »" in text
    gpkg = view / "controle_perimetres.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert "orphelines" not in layers  # an empty layer is not written
    found = pyogrio.read_dataframe(gpkg, layer="hors_fichier", read_geometry=False)
    assert sorted(found["code_insee"]) == outside
    doc = json.loads((lot / "batch.json").read_text(encoding="utf-8"))
    [region] = doc["regions"]
    assert (region["code"], region["status"], region["study_area"]) == ("53", "ok", [])
    assert (region["check"]["n_orphans"], region["check"]["n_outside_file"]) == (0, len(outside))
    synthesis = _text((view / "synthese_regionale.html").read_text(encoding="utf-8"))
    assert "Zone d'étude des communes orphelines : aucune, aucune commune n'est dite orpheline." in synthesis
    assert "Communes orphelines (sans CPTS)" not in synthesis
    assert "Carte régionale écrite : carte_regionale.html" in synthesis  # beside the page, as it is
    assert f"Vue régionale Bretagne (53) produite (2 territoires, 0 commune(s) orpheline(s), {len(outside)}" in (
        batch_b.stdout
    )
    assert f"Index : {lot / 'index.html'}" in batch_b.stdout
    _assert_nothing_fictitious(lot)
