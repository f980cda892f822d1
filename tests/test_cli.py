"""The command line: exit codes, French one-line messages, JSON keys, outputs."""

import json
import re

import openpyxl
import pytest

from cpts_diag import settings
from cpts_diag.cli import main


def _run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _csv(tmp_path, text, name="perimetres.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_check_embedded_paca_json(capsys):
    code, out, err = _run(capsys, "check", "--json", "--sans-geometrie")
    assert code == 0, err
    doc = json.loads(out)
    for key in (
        "territories",
        "overlaps",
        "orphans",
        "uncovered_arrondissements",
        "outdated_codes",
        "unknown_codes",
        "duplicates",
        "discontiguous",
        "enclaves",
        "multi_departement",
    ):
        assert key in doc
    assert len(doc["territories"]) == 70
    first = doc["territories"][0]
    for key in (
        "name",
        "population",
        "population_min",
        "population_max",
        "tier",
        "approximate",
        "n_communes",
        "departements",
    ):
        assert key in first
    assert {o["code_insee"]: o["kind"] for o in doc["overlaps"]} == {
        "06088": "infracommunal",
        "83137": "infracommunal",
        "13055": "arrondissement",
    }
    assert doc["outdated_codes"][0]["code"] == "05120" and doc["outdated_codes"][0]["current_code"] == "05001"
    assert isinstance(doc["orphans"][0]["code_insee"], str)
    assert doc["geometry_checks"] is False  # --sans-geometrie
    assert (
        "contrôles géométriques non effectués (aucun contour de communes) : continuité des territoires et "
        "enclaves non vérifiées"
    ) in doc["notes"]


def test_conflict_and_unknown_code_are_blocking(tmp_path, capsys):
    path = _csv(tmp_path, "cpts;code_insee\nA;04001\nA;04999\nB;04001\n")
    code, out, err = _run(capsys, "check", str(path), "--sans-geometrie")
    assert code == 1
    assert "04999" in out and "conflit" in out.lower()


def test_warnings_only_exit_zero_and_restore_leading_zero(tmp_path, capsys):
    path = _csv(tmp_path, "Nom CPTS;CODGEO\nA;4001\nA;04009\n")
    code, out, err = _run(capsys, "check", str(path), "--sans-geometrie")
    assert code == 0
    # printed once, in the report's reading warnings
    warning = f"fichier « {path} », ligne 2 : zéro initial restauré (4001 → 04001)"
    assert (out + err).count(warning) == 1 and f"  - {warning}" in out


@pytest.mark.parametrize(
    "content, expected",
    [
        ("cpts;code_insee\nA;ABCDE\n", ["ligne 2", "ABCDE"]),
        ("territoire;population\nA;12\n", ["colonne"]),
    ],
)
def test_unusable_input_exit_2_with_french_one_line_message(tmp_path, capsys, content, expected):
    path = _csv(tmp_path, content)
    code, out, err = _run(capsys, "check", str(path))
    assert code == 2
    line = err.strip()
    assert line.startswith("erreur : ") and "\n" not in line and "Traceback" not in err
    assert "perimetres.csv" in line
    for word in expected:
        assert word in line


def test_missing_file_exit_2(tmp_path, capsys):
    code, out, err = _run(capsys, "check", str(tmp_path / "absent.csv"))
    assert code == 2 and "absent.csv" in err and "Traceback" not in err


def test_out_writes_workbook_and_nothing_on_failure(tmp_path, capsys):
    good = _csv(tmp_path, "cpts;code_insee\nA;04001\nA;04009\n")
    out_dir = tmp_path / "sortie"
    code, out, err = _run(capsys, "check", str(good), "--out", str(out_dir))
    assert code == 0
    wb = openpyxl.load_workbook(out_dir / "controle_perimetres.xlsx")
    assert "Territoires" in wb.sheetnames
    bad = _csv(tmp_path, "cpts;code_insee\nA;ABCDE\n", name="mauvais.csv")
    out_bad = tmp_path / "sortie_bad"
    code, out, err = _run(capsys, "check", str(bad), "--out", str(out_bad))
    assert code == 2 and not out_bad.exists()


def test_check_with_geometries_reads_and_aligns_the_polygons_once(tmp_path, capsys, monkeypatch):
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import box

    import cpts_diag.geometry as geometry

    calls = {"read": 0, "align": 0}
    read, align = geometry.read_commune_polygons, geometry.align_to_cog

    def counting_read(*args, **kwargs):
        calls["read"] += 1
        return read(*args, **kwargs)

    def counting_align(*args, **kwargs):
        calls["align"] += 1
        return align(*args, **kwargs)

    monkeypatch.setattr(geometry, "read_commune_polygons", counting_read)
    monkeypatch.setattr(geometry, "align_to_cog", counting_align)
    # Ristolas (05120) is a former code of Abriès-Ristolas (05001): alignment merges the two squares.
    polygons = tmp_path / "communes.geojson"
    gpd.GeoDataFrame(
        {"code_insee": ["05001", "05120"]},
        geometry=[box(6.9, 44.7, 7.0, 44.8), box(7.0, 44.7, 7.1, 44.8)],
        crs="EPSG:4326",
    ).to_file(polygons, driver="GeoJSON")
    perimeters = _csv(tmp_path, "cpts;code_insee\nA;05001\n")
    out_dir = tmp_path / "sortie"
    code, out, err = _run(capsys, "check", str(perimeters), "--geometries", str(polygons), "--out", str(out_dir))
    assert code == 0, err
    assert calls == {"read": 1, "align": 1}
    communes = pyogrio.read_dataframe(out_dir / "controle_perimetres.gpkg", layer="communes")
    assert communes["code_insee"].tolist() == ["05001"]
    assert communes.geometry.iloc[0].equals(box(6.9, 44.7, 7.1, 44.8))
    # notebook 01: check, maps, files
    from cpts_diag.reports import check_notebook

    calls.update(read=0, align=0)
    report = check_notebook.run_check(str(perimeters), "", (), str(polygons))
    assert check_notebook.check_layers_for(report)["communes"]["code_insee"].tolist() == ["05001"]
    assert [p.name for p in check_notebook.write_check_files(report, str(tmp_path / "nb"))] == [
        "controle_perimetres.xlsx",
        "controle_perimetres.gpkg",
        "carte_propositions.html",
    ]
    assert calls == {"read": 1, "align": 1}


def test_indicators_json_rows_and_fictitious_flag(capsys):
    code, out, err = _run(capsys, "indicators", "--territory", "guil durance", "--json")
    assert code == 0, err
    rows = json.loads(out)
    keys = {
        "indicator",
        "level",
        "territory_value",
        "comparisons",
        "unit",
        "source",
        "vintage",
        "source_level",
        "coverage",
        "quality",
    }
    assert all(keys <= set(r) for r in rows)
    population = next(r for r in rows if r["indicator"] == "population")
    assert set(population["comparisons"]) == {"04", "05", "93", "France"}
    # embedded listing => the FICTITIOUS CPAM example, flagged on every row that uses it
    cpam_rows = [r for r in rows if r["indicator"].startswith("part_sans_mt")]
    assert cpam_rows and all(r["quality"] == "données fictives" for r in cpam_rows)


def test_indicators_without_cpam(capsys):
    code, out, err = _run(capsys, "indicators", "--territory", "CPTS Guil Durance", "--cpam", "aucun", "--json")
    assert code == 0
    assert not [r for r in json.loads(out) if r["quality"] == "données fictives"]


def test_indicators_resolve_a_typed_name_from_a_users_folder(tmp_path, capsys, monkeypatch, raw_communes):
    # the embedded listing copied into her folder, named by a relative path; « cpts du gapencais » as she types it
    listing = json.loads(settings.DEFAULT_PERIMETERS.read_text(encoding="utf-8"))
    (tmp_path / "cpts.json").write_bytes(settings.DEFAULT_PERIMETERS.read_bytes())
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "indicators", "cpts.json", "--territoire", "cpts du gapencais", "--json")
    assert code == 0, err
    codes = next(set(t["communes"]) for t in listing["cpts"] if t["nom"] == "CPTS du Gapençais")
    expected = sum(int(r["population"]) for r in raw_communes if r["code_insee"] in codes)
    population = next(r for r in json.loads(out) if r["indicator"] == "population")
    assert population["territory_value"] == expected


def test_indicators_unknown_territory_lists_close_names(capsys):
    code, out, err = _run(capsys, "indicators", "--territory", "CPTS Guil Durence")
    assert code == 2 and "CPTS Guil Durance" in err


def test_indicators_out_workbook(tmp_path, capsys):
    code, out, err = _run(capsys, "indicators", "--territory", "CPTS Verdon", "--out", str(tmp_path))
    assert code == 0
    book = openpyxl.load_workbook(next(tmp_path.glob("indicateurs_*.xlsx")))
    assert "Sources" in book.sheetnames


@pytest.mark.parametrize(
    "args, expected",
    [
        (["data", "build"], "paramètre obligatoire manquant : --source"),
        (["check", "--bogus"], "option inconnue : --bogus"),
        (["batch", "--workers", "0"], "valeur invalide pour --workers"),
        (["nosuch"], "commande inconnue : nosuch"),
    ],
)
def test_usage_errors_in_french(capsys, args, expected):
    code, out, err = _run(capsys, *args)
    assert code == 2 and err.startswith("erreur : ") and expected in err


def test_help_in_french(capsys):
    code, out, err = _run(capsys, "--help")
    assert code == 0 and "Utilisation : cpts-diag" in out and "Commandes" in out
    assert "Affiche cette aide et quitte." in out


@pytest.mark.parametrize(
    "command", [[], ["check"], ["indicators"], ["report"], ["batch"], ["demo"], ["data"], ["data", "build"]]
)
def test_every_help_screen_is_french(capsys, command):
    code, out, err = _run(capsys, *command, "--help")
    assert code == 0 and out.startswith("Utilisation : cpts-diag"), err
    english = re.findall(
        r"\b(?:TEXT|FILE|PATH|DIRECTORY|INTEGER|PERIMETERS|COMMAND|ARGS|Usage|Commands)\b|\[required\]|default:|<=x<=",
        out,
    )
    assert english == []


def test_help_shows_metavars_and_bounds_in_french(capsys):
    _, out, _ = _run(capsys, "batch", "--help")
    assert "[PERIMETRES]" in out and "--only, --seulement NOM" in out and "--out DOSSIER" in out
    assert "--workers N" in out and "[de 1 à 32]" in out and "--bpe FICHIER" in out
    _, out, _ = _run(capsys, "report", "--help")
    assert "--territory, --territoire NOM" in out and "inutile si le fichier n'a qu'un territoire" in " ".join(
        out.split()
    )
    _, out, _ = _run(capsys, "data", "build", "--help")
    assert "--source DOSSIER" in out and "[obligatoire]" in out


# --------------------------------------------------------------------------- one-territory files


def _commune_list(raw_communes, epci):
    """(code, name, population) of the current communes of an EPCI, from the raw COG file."""
    return [
        (r["code_insee"], r["nom"], int(r["population"]))
        for r in raw_communes
        if r["type"] == "commune-actuelle" and r["epci_siren"] == epci
    ]


def _ain_workbook(tmp_path, raw_communes):
    """A coordinator's list: a title line, « Commune », « Code INSEE » holding codes Excel turned into numbers."""
    communes = _commune_list(raw_communes, "200071751")[:8]  # Grand Bourg (Ain)
    path = tmp_path / "bassin_burgien.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["CPTS du Bassin Burgien – liste des communes"])
    wb.active.append([])
    wb.active.append(["Commune", "Code INSEE"])
    for code, name, _ in communes:
        wb.active.append([name, int(code)])
    wb.save(path)
    return path, communes


def test_check_of_a_one_territory_workbook_prints_each_warning_once(tmp_path, capsys, raw_communes):
    path, communes = _ain_workbook(tmp_path, raw_communes)
    code, out, err = _run(capsys, "check", str(path), "--sans-geometrie")
    assert code == 0, err
    assert err == ""
    total = sum(p for _, _, p in communes)
    assert re.search(rf"CPTS du Bassin Burgien +8 comm\. +{total // 1000}\u202f{total % 1000:03d} hab\.", out)
    grouped = f"fichier « {path} » : zéro initial restauré pour 8 codes (lignes 4 à 11 ; ex. "
    named = "nommé « CPTS du Bassin Burgien » d'après la ligne de titre"
    assert out.count(grouped) == 1 and out.count(named) == 1
    assert "zéro initial restauré (" not in out  # no line per row
    # --territoire names it; on a file with a territory column it is ignored, with a remark
    code, out, err = _run(capsys, "check", str(path), "--sans-geometrie", "--territoire", "CPTS Bresse")
    assert code == 0 and "CPTS Bresse " in out and "Bassin Burgien" not in out
    other = _csv(tmp_path, "cpts;code_insee\nA;01053\nB;01051\n")
    code, out, err = _run(capsys, "check", str(other), "--sans-geometrie", "--territoire", "X")
    assert code == 0 and err == "remarque : --territoire ignoré : le fichier a une colonne de CPTS (2 territoires)\n"


@pytest.mark.kernel  # cpts-diag report runs the notebook
def test_indicators_and_report_need_no_territory_for_a_one_territory_file(tmp_path, capsys, raw_communes):
    # Bretagne: Morlaix Communauté in Windows-1252, named from its file name
    communes = _commune_list(raw_communes, "242900835")
    text = "Commune;Code INSEE\r\n" + "".join(f"{name};{code}\r\n" for code, name, _ in communes)
    path = _csv(tmp_path, text, name="cpts_pays_de_morlaix.csv", encoding="cp1252")
    code, out, err = _run(capsys, "indicators", str(path), "--json")
    assert code == 0, err
    population = next(r for r in json.loads(out) if r["indicator"] == "population")
    assert population["territory_value"] == sum(p for _, _, p in communes)
    # the Ain workbook: the whole report, named from its title line
    book, ain = _ain_workbook(tmp_path, raw_communes)
    code, out, err = _run(capsys, "report", str(book), "--out", str(tmp_path / "rapports"))
    assert code == 0, err
    assert out.startswith("Rapport de diagnostic : « CPTS du Bassin Burgien »\n")
    folder = tmp_path / "rapports" / "cpts-du-bassin-burgien"
    assert {p.name for p in folder.iterdir()} >= {"rapport.html", "carte.html", "indicateurs.xlsx", "perimetre.gpkg"}
    total = sum(p for _, _, p in ain)
    assert "Terminé en " in out and f"— {total // 1000}\u202f{total % 1000:03d} habitants" in out


def test_several_territories_need_a_name(tmp_path, capsys):
    path = _csv(tmp_path, "CPTS;Commune;Code INSEE\nCPTS Ouest;Quimper;29232\nCPTS Est;Brest;29019\n")
    for command in ("indicators", "report"):
        code, out, err = _run(capsys, command, str(path))
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith("erreur : fichier « ") and "perimetres.csv » : " in err
        assert err.endswith(
            " : le fichier contient 2 territoires : précisez lequel (--territoire) : « CPTS Ouest », « CPTS Est »\n"
        )
