"""A batch run: statuses, batch.json, index page, failures, re-runs, the ARS view of a user's listing."""

from __future__ import annotations

import html as _html
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from cpts_diag import settings
from cpts_diag.reports.batch import (
    STATUS_FAILED,
    STATUS_OK,
    STATUS_UNCHANGED,
    run_batch,
)

WEIRD = 'CPTS "L\'Étoile" / Nord <script>alert(1)</script>'
GHOST = "CPTS Fantôme"


# ------------------------------------------------------------------------------ real batch (slow)


def _perimeter_csv(path: Path) -> Path:
    path.write_text(
        "cpts;code_insee\n"
        f'"{WEIRD.replace(chr(34), chr(34) * 2)}";13207\n'  # Marseille 7e arrondissement (CPTS Marseille-7)
        "CPTS Hyères et des Iles d'Or;83069\n"
        f"{GHOST};04999\n",  # a code in no COG vintage: its report cannot be built
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    csv = _perimeter_csv(root / "perimetres.csv")
    out = root / "reports"
    first = run_batch(csv, workers=2, out_dir=out, cpam="exemple", progress=False)
    doc1 = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*/rapport.html")}
    second = run_batch(csv, workers=2, out_dir=out, cpam="exemple", progress=False)
    doc2 = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    mtimes2 = {p: p.stat().st_mtime_ns for p in out.glob("*/rapport.html")}
    return {
        "csv": csv,
        "out": out,
        "first": first,
        "doc1": doc1,
        "second": second,
        "doc2": doc2,
        "mtimes": mtimes,
        "mtimes2": mtimes2,
    }


def _by_name(doc):
    return {e["name"]: e for e in doc["territories"]}


@pytest.mark.slow
def test_batch_statuses_and_exit_code(batch):
    first = batch["first"]
    status = {e["name"]: e["status"] for e in first.entries}
    assert status == {WEIRD: STATUS_OK, "CPTS Hyères et des Iles d'Or": STATUS_OK, GHOST: STATUS_FAILED}
    assert first.exit_code == 1
    err = _by_name(batch["doc1"])[GHOST]["error"]
    assert err and "\n" not in err and "Traceback" not in err
    assert not list(batch["out"].glob(".*.tmp"))  # no temporary report folder left


@pytest.mark.slow
def test_batch_json_records(batch, raw_communes):
    out = batch["out"]
    doc = batch["doc1"]
    entries = _by_name(doc)
    assert set(entries) == {WEIRD, "CPTS Hyères et des Iles d'Or", GHOST}
    pop = {r["code_insee"]: int(float(r["population"])) for r in raw_communes if r["population"]}
    hyeres = entries["CPTS Hyères et des Iles d'Or"]
    assert hyeres["population"] == pop["83069"] and hyeres["tier"] == 2
    assert entries[WEIRD]["population"] == pop["13207"]  # arrondissement population
    for name in (WEIRD, "CPTS Hyères et des Iles d'Or"):
        e = entries[name]
        assert re.fullmatch(r"[0-9a-f]{64}", e["fingerprint"]) and e["duration_s"] > 0
        assert set(e["outputs"]) >= {"rapport", "carte", "indicateurs", "perimetre", "notebook"}
        for rel in e["outputs"].values():
            assert not Path(rel).is_absolute() and (out / rel).is_file()
        assert e["key_figures"] and e["fictitious"] is True
    assert re.fullmatch(r"[a-z0-9-]+", entries[WEIRD]["slug"])
    assert entries[GHOST]["outputs"] == {} and entries[GHOST]["status"] == "échec"


@pytest.mark.slow
def test_index_links_and_escaping(batch):
    out = batch["out"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert _html.escape(WEIRD) in page and "alert(1)</script>" not in page
    hrefs = re.findall(r'href="([^"]+)"', page)
    for href in hrefs:
        assert (out / unquote(_html.unescape(href))).is_file(), href
    entries = _by_name(batch["doc1"])
    for name in (WEIRD, "CPTS Hyères et des Iles d'Or"):
        for kind in ("rapport", "carte", "indicateurs"):
            assert entries[name]["outputs"][kind] in [unquote(_html.unescape(h)) for h in hrefs]
    assert _html.escape(entries[GHOST]["error"]) in page  # failure listed with its message
    assert "Données fictives" in page and "Sources" in page
    title = re.search(r"<title>(.*?)</title>", (out / entries[WEIRD]["outputs"]["rapport"]).read_text("utf-8"))
    assert title and "&lt;script&gt;" in title.group(1)  # the name survives escaped in its report


@pytest.mark.slow
def test_rerun_skips_unchanged(batch):
    first, second = batch["first"], batch["second"]
    status = {e["name"]: e["status"] for e in second.entries}
    assert status == {
        WEIRD: STATUS_UNCHANGED,
        "CPTS Hyères et des Iles d'Or": STATUS_UNCHANGED,
        GHOST: STATUS_FAILED,
    }  # failures are redone
    assert second.exit_code == 1
    assert batch["mtimes"] == batch["mtimes2"]  # reports untouched
    assert second.duration < first.duration
    assert all(e["duration_s"] == 0.0 for e in second.entries if e["status"] == STATUS_UNCHANGED)
    d1, d2 = _by_name(batch["doc1"]), _by_name(batch["doc2"])
    assert d2[WEIRD]["fingerprint"] == d1[WEIRD]["fingerprint"]
    assert d2[WEIRD]["outputs"] == d1[WEIRD]["outputs"] and d2[WEIRD]["population"] == d1[WEIRD]["population"]


@pytest.mark.slow
def test_force_redoes_and_keeps_other_records(batch):
    out = batch["out"]
    res = run_batch(
        batch["csv"], only=["CPTS Hyères et des Iles d'Or"], workers=2, out_dir=out, force=True, progress=False
    )
    assert [(e["name"], e["status"]) for e in res.entries] == [("CPTS Hyères et des Iles d'Or", STATUS_OK)]
    assert res.exit_code == 0
    doc = _by_name(json.loads((out / "batch.json").read_text(encoding="utf-8")))
    assert set(doc) == {WEIRD, "CPTS Hyères et des Iles d'Or", GHOST}  # index stays complete
    rapport = out / doc["CPTS Hyères et des Iles d'Or"]["outputs"]["rapport"]
    assert rapport.stat().st_mtime_ns > max(batch["mtimes2"].values())
    page = (out / "index.html").read_text(encoding="utf-8")
    assert _html.escape(WEIRD) in page


@pytest.mark.slow
def test_refresh_index_links_synthesis(batch):
    from cpts_diag.reports.batch import refresh_index

    out = batch["out"]
    (out / "synthese_regionale.html").write_text("<p>synthèse</p>", encoding="utf-8")
    assert refresh_index(out) == out / "index.html"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="synthese_regionale.html"' in page and _html.escape(WEIRD) in page


@pytest.mark.slow
@pytest.mark.parametrize("every, writes", [(3600.0, 1), (0.0, 3 + 1)])
def test_batch_json_is_written_at_most_every_state_interval_and_at_the_end(tmp_path, monkeypatch, every, writes):
    """A national batch.json is megabytes: it is not rewritten after every territory, but always at the end."""
    from cpts_diag.reports.batch import run as batch_run

    csv = tmp_path / "perimetres.csv"
    csv.write_text("cpts;code_insee\n" + "".join(f"{GHOST} {i};04999\n" for i in range(3)), encoding="utf-8")
    calls = []
    real = batch_run.write_state
    monkeypatch.setattr(batch_run, "STATE_EVERY_S", every)
    monkeypatch.setattr(batch_run, "write_state", lambda *a, **k: calls.append(k.get("index")) or real(*a, **k))
    result = run_batch(csv, workers=2, out_dir=tmp_path / "out", cpam="aucun", progress=False)
    assert [e["status"] for e in result.entries] == ["échec"] * 3
    assert len(calls) == writes and calls[-1] is True  # the last write also writes index.html
    doc = json.loads((tmp_path / "out" / "batch.json").read_text(encoding="utf-8"))
    assert sorted(e["name"] for e in doc["territories"]) == [f"{GHOST} {i}" for i in range(3)]


@pytest.mark.slow
def test_batch_of_a_one_territory_file_named_by_territoire(tmp_path, raw_communes):
    """Occitanie: a coordinator's list of communes, no territory column; --territoire names its report."""
    from helpers import populations

    codes = ["65440", "65286"]  # Tarbes area: Tarbes and Lourdes, from the COG
    names = {r["code_insee"]: r["nom"] for r in raw_communes}
    csv = tmp_path / "liste.csv"
    csv.write_text("Commune;Code INSEE\n" + "".join(f"{names[c]};{c}\n" for c in codes), encoding="utf-8")
    result = run_batch(csv, workers=1, out_dir=tmp_path / "out", cpam="aucun", progress=False, territory="CPTS Adour")
    assert [(e["name"], e["status"], e["slug"]) for e in result.entries] == [("CPTS Adour", STATUS_OK, "cpts-adour")]
    assert result.entries[0]["population"] == sum(populations(codes))
    assert (tmp_path / "out" / "cpts-adour" / "rapport.html").is_file()


# ------------------------------------------------------------------------------ the ARS view of a user's listing


def _reunion_martinique(raw_communes) -> tuple[list[tuple[str, str]], dict[str, dict]]:
    """A listing of three EPCI of La Réunion and one of Martinique, from the raw COG and EPCI files."""
    import csv

    with open(settings.DATA_DIR / "epci.csv", encoding="utf-8", newline="") as fh:
        epci = {r["siren"]: r["nom"] for r in csv.DictReader(fh)}
    actual = [r for r in raw_communes if r["type"] == "commune-actuelle"]
    by_epci: dict[str, list[str]] = {}
    for r in actual:
        by_epci.setdefault(r["epci_siren"], []).append(r["code_insee"])
    names = {
        "La Réunion": ("CA Territoire de la Côte Ouest (TCO)", "CA CIVIS", "CA Intercommunale de la Réunion Est"),
        "Martinique": ("CA du Centre de la Martinique",),
    }
    rows = []
    for wanted in names.values():
        for siren, name in epci.items():
            if name.startswith(wanted):
                rows += [(f"CPTS {name}", code) for code in by_epci[siren]]
    listed = {c for _, c in rows}
    regions = {}
    for code in ("04", "02"):
        communes = [r for r in actual if r["region"] == code]
        covered = [r for r in communes if r["code_insee"] in listed]
        regions[code] = {
            "n": len(communes),
            "covered": len(covered),
            "pop_share": sum(int(r["population"]) for r in covered) / sum(int(r["population"]) for r in communes),
            "outside": sorted(r["code_insee"] for r in communes if r["code_insee"] not in listed),
        }
    return rows, regions


@pytest.mark.slow
def test_batch_of_a_user_listing_writes_its_ars_view_from_any_folder(tmp_path, raw_communes):
    """`cpts-diag batch mon_fichier.csv --out rapports` run as a user: relative paths, a Windows-1252 CSV."""
    import pyogrio

    rows, regions = _reunion_martinique(raw_communes)
    assert len({n for n, _ in rows}) == 4
    # La Réunion: most of its communes and population in the file (its view's study area, the others are orphans);
    # Martinique (one département): a small part only (no study area: its other communes are « hors fichier »).
    assert regions["04"]["covered"] * 2 > regions["04"]["n"] and regions["04"]["pop_share"] > 0.5
    assert regions["02"]["covered"] * 2 < regions["02"]["n"]
    orphans, outside = regions["04"]["outside"], regions["02"]["outside"]
    text = "Nom CPTS;Code commune\r\n" + "".join(f"{n};{c}\r\n" for n, c in rows)
    (tmp_path / "mes_cpts.csv").write_bytes(text.encode("cp1252"))
    command = [str(Path(sys.executable).with_name("cpts-diag")), "batch", "mes_cpts.csv", "--out", "rapports"]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    out = tmp_path / "rapports"
    folder, martinique = out / "region-04-la-reunion", out / "region-02-martinique"
    lines = {line.split(" produite ")[0]: line for line in run.stdout.splitlines() if " produite (" in line}
    assert lines["Vue régionale La Réunion (04)"].startswith(
        f"Vue régionale La Réunion (04) produite (3 territoires, {len(orphans)} commune(s) orpheline(s), 0 commune(s) "
        "hors fichier, 0 chevauchement(s) ; zone d'étude : la région entière"
    )
    assert lines["Vue régionale Martinique (02)"].startswith(
        f"Vue régionale Martinique (02) produite (1 territoire, 0 commune(s) orpheline(s), {len(outside)} commune(s) "
        "hors fichier, 0 chevauchement(s) ; zone d'étude : aucune"
    )
    assert str(folder) in run.stdout and str(martinique) in run.stdout
    layer = pyogrio.read_dataframe(folder / "controle_perimetres.gpkg", layer="orphelines", read_geometry=False)
    assert sorted(layer["code_insee"]) == orphans
    layer = pyogrio.read_dataframe(martinique / "controle_perimetres.gpkg", layer="hors_fichier", read_geometry=False)
    assert sorted(layer["code_insee"]) == outside
    doc = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert [(r["code"], r["status"], r["study_area"]) for r in doc["regions"]] == [
        ("04", "ok", ["974"]),
        ("02", "ok", []),
    ]
    page = (out / "index.html").read_text(encoding="utf-8")
    hrefs = [unquote(_html.unescape(h)) for h in re.findall(r'href="([^"]+)"', page)]
    for name in ("synthese_regionale.html", "carte_regionale.html", "controle_perimetres.xlsx"):
        assert f"region-04-la-reunion/{name}" in hrefs and f"region-02-martinique/{name}" in hrefs
    assert all((out / h).is_file() for h in hrefs)
    assert len([e for e in doc["territories"] if e["status"] == "ok"]) == 4
    # Again: nothing changed, nothing redone; the view is said unchanged.
    synthese = folder / "synthese_regionale.html"
    before = synthese.stat().st_mtime_ns
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr
    assert "Vue régionale La Réunion (04) inchangée" in again.stdout and "4 inchangé(s)" in again.stdout
    assert synthese.stat().st_mtime_ns == before
