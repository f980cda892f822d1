"""Tests of cpts_diag.reports.runner: notebook 02, HTML export, atomic report folder, executed reports (slow)."""

from __future__ import annotations

import ast
import hashlib
import html
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from cpts_diag import settings
from cpts_diag.errors import InputError
from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.reports import runner as report
from cpts_diag.reports.folder import REPORT_FILES, SUMMARY_MIMETYPE, slugify
from cpts_diag.reports.runner import (
    build_report,
    notebook_to_html,
)
from helpers import populations as _populations

#: Real PACA CPTS of the shared executed report: three départements, an apostrophe in its name.
TERRITORY = "CPTS Hauts pays du Verdon et Monts d'Azur"
NASTY = 'CPTS <script>alert(1)</script> "Nord" / L\'Étang'
NASTY_NEIGHBOUR = "CPTS <img src=x onerror=alert(2)>"
SHARED = "rapports-partages"
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def french_int(x) -> str:
    """Independent French formatting of an integer (narrow no-break space every three digits)."""
    return f"{round(float(x)):,}".replace(",", "\u202f")


# ---------------------------------------------------------------------------
# notebook and HTML export
# ---------------------------------------------------------------------------
def test_notebook_is_committed_clean_with_one_parameters_cell():
    nb = nbformat.read(report.NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    values = {}
    for node in ast.parse(params[0].source).body:
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        values[node.targets[0].id] = node.value.value
    assert values == {
        "perimetres": "",
        "territoire": "CPTS Pays Grassois",
        "fichier_cpam": "",  # as the command line: the fictitious example with the embedded listing only
        "fichier_ages_insee": "",
        "fichier_bpe": "",
        "dossier_sortie": "",
    }
    # the default territory exists in the embedded listing
    from cpts_diag.io.perimeters import read_perimeters

    names = set(read_perimeters(settings.DEFAULT_PERIMETERS).table["cpts"])
    assert values["territoire"] in names
    # thin: every code cell after the parameters is a call of the package
    for c in code[1:]:
        assert len([ln for ln in c.source.splitlines() if ln.strip()]) <= 3 and re.search(
            r"\brs\.\w+\(|\bload_report_data\(", c.source
        )


def _toy_notebook():
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output(
        "display_data",
        data={
            "text/html": "<p class='x'>Tableau 1\u202f234</p>",
            "text/plain": "x",
            SUMMARY_MIMETYPE: {"population": 1234},
        },
    )
    err = nbformat.v4.new_output("stream", name="stderr", text="UserWarning: avertissement technique")
    nb.cells = [
        nbformat.v4.new_markdown_cell("Consignes pour JupyterLab", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_markdown_cell("## 1. Le territoire"),
        nbformat.v4.new_code_cell("secret_code = 42", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("rs.header(donnees)", outputs=[out, err]),
    ]
    return nb


def test_notebook_to_html_is_self_contained_french_and_codeless():
    page = notebook_to_html(_toy_notebook(), 'Diagnostic — CPTS <b>"L\'Étang"</b>')
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page
    assert "<title>Diagnostic — CPTS &lt;b&gt;&quot;L&#x27;Étang&quot;&lt;/b&gt;</title>" in page
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", page)
    assert "secret_code" not in page and "rs.header" not in page  # no code
    assert "avertissement technique" not in page  # no stderr
    assert "Consignes pour JupyterLab" not in page  # notebook-only cell
    assert SUMMARY_MIMETYPE not in page and "Tableau 1\u202f234" in page
    assert "@media print" in page and "break-before: page" in page and "thead { display: table-header-group" in page


# ---------------------------------------------------------------------------
# errors and atomicity (no kernel)
# ---------------------------------------------------------------------------
def test_unknown_territory_lists_close_names_without_running_anything(tmp_path):
    with pytest.raises(InputError) as exc:
        build_report("CPTS Pays Grasois", out_dir=tmp_path)
    assert "CPTS Pays Grassois" in str(exc.value) and "territoire inconnu" in str(exc.value)
    assert list(tmp_path.iterdir()) == []


def test_run_report_cli_unknown_territory_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        report.run_report_cli(None, "Nulle part", tmp_path, "exemple", None, None)


def _failing_papermill(monkeypatch, calls):
    import papermill

    def fake(input_path, output_path, parameters=None, **kwargs):
        calls.append(parameters)
        out = Path(parameters["dossier_sortie"])
        (out / "carte.html").write_text("<html>moitié", encoding="utf-8")  # half-written output
        raise RuntimeError("panne simulée au milieu de l'exécution")

    monkeypatch.setattr(papermill, "execute_notebook", fake)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_failed_build_leaves_no_folder(tmp_path, monkeypatch):
    calls = []
    _failing_papermill(monkeypatch, calls)
    with pytest.raises(RuntimeError, match="panne simulée"):
        build_report("CPTS Verdon", out_dir=tmp_path)
    assert calls and calls[0]["territoire"] == "CPTS Verdon"
    assert list(tmp_path.iterdir()) == []  # neither cpts-verdon/ nor a temporary folder


def test_failed_build_keeps_the_previous_good_report(tmp_path, monkeypatch):
    good = tmp_path / "cpts-verdon"
    good.mkdir()
    for name in REPORT_FILES.values():
        (good / name).write_text(f"bon rapport : {name}", encoding="utf-8")
    before = _digest(good)
    _failing_papermill(monkeypatch, [])
    with pytest.raises(RuntimeError):
        build_report("CPTS Verdon", out_dir=tmp_path)
    assert _digest(good) == before
    assert [p.name for p in tmp_path.iterdir()] == ["cpts-verdon"]


def test_interrupted_build_cleans_up(tmp_path, monkeypatch):
    import papermill

    def interrupted(input_path, output_path, parameters=None, **kwargs):
        (Path(parameters["dossier_sortie"]) / "rapport.html").write_text("<html>", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_report("CPTS Verdon", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_input_error_in_the_kernel_stays_an_input_error(tmp_path, monkeypatch):
    import papermill

    def raising(input_path, output_path, parameters=None, **kwargs):
        raise papermill.PapermillExecutionError(
            3, 3, "report_data.load_report_data(...)", "InputError", "fichier « x.csv » : fichier introuvable", []
        )

    monkeypatch.setattr(papermill, "execute_notebook", raising)
    with pytest.raises(InputError, match="fichier introuvable"):
        build_report("CPTS Verdon", out_dir=tmp_path, cpam=tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# real executed reports (slow)
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The report of a real PACA CPTS, executed once (shared with the browser tests)."""
    out = tmp_path_factory.getbasetemp() / SHARED
    result = build_report(TERRITORY, out_dir=out)
    return result


@pytest.fixture(scope="module")
def library_row():
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference
    from cpts_diag.territories import resolve_members, territory_table

    ref = load_reference()
    table = territory_table(resolve_members(read_perimeters(settings.DEFAULT_PERIMETERS), ref), ref)
    return table.set_index("cpts").loc[TERRITORY]


def _section_cells() -> list[str]:
    """Sources of the code cells of the template notebook that show a report section (« rs.header(donnees) »…)."""
    template = nbformat.read(settings.NOTEBOOKS_DIR / "02_diagnostic_territorial.ipynb", as_version=4)
    return [c.source for c in template.cells if c.cell_type == "code" and c.source.startswith("rs.")]


@pytest.fixture(scope="module")
def rapport(built) -> str:
    return built.outputs["rapport"].read_text(encoding="utf-8")


@pytest.mark.slow
def test_report_folder_has_the_five_files(built):
    assert built.directory.name == slugify(TERRITORY) == "cpts-hauts-pays-du-verdon-et-monts-d-azur"
    assert sorted(p.name for p in built.directory.iterdir()) == sorted(REPORT_FILES.values())
    for kind, path in built.outputs.items():
        assert path.parent == built.directory and path.stat().st_size > 1000, kind
    assert [p.name for p in built.directory.parent.iterdir() if p.name.startswith(".")] == []
    mask = os.umask(0)
    os.umask(mask)
    assert built.directory.stat().st_mode & 0o777 == 0o777 & ~mask  # not the private mode of mkdtemp
    assert built.outputs["rapport"].stat().st_size <= 3_000_000
    assert built.outputs["carte"].stat().st_size <= 300_000


@pytest.mark.slow
def test_population_and_tier_match_the_library(built, rapport, library_row):
    assert built.population == library_row["population"]
    assert built.tier == int(library_row["tier"])
    assert f"{french_int(library_row['population'])}\u00a0habitants" in rapport
    assert f"Taille {int(library_row['tier'])}" in rapport
    assert f"{french_int(library_row['n_communes'])} (COG 2026)" in rapport


@pytest.mark.slow
def test_key_figure_apl_matches_the_library(built, rapport):
    from cpts_diag.indicators import diagnose

    diag = diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), TERRITORY)
    ind = diag.indicators
    apl = float(ind[(ind["indicator"] == "apl_mg_2023") & (ind["level"] == "territoire")]["value"].iloc[0])
    assert built.key_figures["APL aux médecins généralistes 2023"]["value"] == pytest.approx(apl)
    assert f"{apl:.2f}".replace(".", ",") + "\u00a0consultations/an/hab." in rapport


@pytest.mark.slow
def test_report_is_self_contained_french_and_escaped(rapport):
    assert '<html lang="fr">' in rapport
    assert "<title>Diagnostic territorial — CPTS Hauts pays du Verdon et Monts d&#x27;Azur</title>" in rapport
    low = rapport.lower()
    assert '<script src="http' not in low and '<link href="http' not in low
    assert "<script" not in low and "<link" not in low
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", rapport)
    assert 'src="data:image/png;base64,' in rapport  # the static map is embedded
    for heading in (
        "1. Le territoire",
        "2. Démographie",
        "3. Offre de soins",
        "4. Accès aux soins",
        "5. Synthèse : forces et faiblesses",
        "6. Sources et limites",
        "Méthode",
    ):
        assert heading in rapport
    assert "load_report_data" not in rapport and "import " not in rapport  # no code
    assert "Traceback" not in rapport


@pytest.mark.slow
def test_style_sheets_once_in_the_report_and_scoped_in_each_notebook_output(built, rapport):
    """rapport.html inlines its style sheets once; the executed notebook's outputs carry them scoped (JupyterLab)."""
    from cpts_diag.outputs.templating import css

    assert rapport.count("<style") == 1 and 'class="cpts-diag"' not in rapport and ".cpts-diag" not in rapport
    head = rapport.split("</style>", 1)[0]
    assert css("report.css") in head and css("notebook.css") in head
    nb = nbformat.read(built.outputs["notebook"], as_version=4)
    shown = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    assert len(shown) == len(_section_cells())  # one HTML output per report section
    for html_output in shown:
        assert html_output.startswith("<style>.cpts-diag.cpts-diag{") and '<div class="cpts-diag">' in html_output
    # the report links the map written beside it
    assert '<a href="carte.html">carte.html</a>' in rapport


@pytest.mark.slow
def test_fictitious_cpam_figures_are_flagged_wherever_used(built, rapport):
    assert built.fictitious
    assert rapport.count('class="banner-fictitious') >= 3  # header, access tables, sources
    rows = re.findall(r"<tr[^>]*>.*?</tr>", rapport, flags=re.DOTALL)
    cpam_rows = [r for r in rows if "sans médecin traitant" in r or "CSS" in r]
    assert cpam_rows and all("Données fictives" in r for r in cpam_rows)
    items = re.findall(r"<li class=\"(?:force|faiblesse)\">(.*?)</li>", rapport, flags=re.DOTALL)
    assert items
    for item in items:
        if "médecin traitant" in item or "CSS" in item:
            assert "Données fictives" in item
    kf = built.key_figures["Part des patients de 17 ans et plus sans médecin traitant"]
    assert kf["fictitious"] and "données fictives" in kf["text"]


@pytest.mark.slow
def test_workbook_opens_with_codes_as_text(built, library_row):
    import openpyxl

    wb = openpyxl.load_workbook(built.outputs["indicateurs"], read_only=True)
    assert "Communes" in wb.sheetnames
    ws = wb["Communes"]
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "Code commune")
    codes = [r[0] for r in rows[header_at + 1 :] if r[0] is not None]
    assert len(codes) == library_row["n_communes"]
    assert all(isinstance(c, str) and re.fullmatch(r"\d{5}|2[AB]\d{3}", c) for c in codes)
    assert any(c.startswith("0") for c in codes)  # leading zeros kept (04, 06)
    notes = " ".join(str(r[0]) for sheet in wb for r in sheet.iter_rows(max_row=4, values_only=True) if r and r[0])
    assert "Données fictives" in notes
    wb.close()


@pytest.mark.slow
def test_geopackage_reads_back(built, library_row):
    import pyogrio

    layers = dict(pyogrio.list_layers(built.outputs["perimetre"]))
    assert set(layers) == {"territoire", "communes"}
    communes = pyogrio.read_dataframe(built.outputs["perimetre"], layer="communes")
    territory = pyogrio.read_dataframe(built.outputs["perimetre"], layer="territoire")
    assert len(communes) == library_row["n_communes"]
    assert communes["code_insee"].map(type).eq(str).all()
    assert len(territory) == 1 and territory["cpts"].iloc[0] == TERRITORY
    assert territory["population"].iloc[0] == library_row["population"]


@pytest.mark.slow
def test_executed_notebook_has_outputs_no_error_and_ran_in_this_interpreter(built):
    nb = nbformat.read(built.outputs["notebook"], as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    injected = [c for c in code if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and f'territoire = "{TERRITORY}"' in injected[0].source
    # re-runnable as is: it writes into the report folder, not into the temporary build folder
    assert f'dossier_sortie = "{built.directory}"' in injected[0].source
    assert nb.metadata["papermill"]["parameters"]["dossier_sortie"] == str(built.directory)
    assert all(o.get("output_type") != "error" for c in code for o in c.outputs)
    shown = [c for c in code if any(o.get("output_type") in ("display_data", "execute_result") for o in c.outputs)]
    assert [c.source for c in shown] == _section_cells()
    assert built.summary["python"] == sys.executable


@pytest.mark.slow
def test_a_hostile_name_survives_as_slug_title_and_tooltip(tmp_path):
    csv = tmp_path / "perimetres.csv"
    lines = ["cpts;code_insee"]
    lines += [f'"{NASTY.replace(chr(34), chr(34) * 2)}";{c}' for c in ("06069", "06007", "06140")]
    lines += [f'"{NASTY_NEIGHBOUR}";{c}' for c in ("06026", "06118")]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = build_report(NASTY, perimeters=csv, out_dir=tmp_path / "out", cpam="aucun")
    assert res.slug == slugify(NASTY) and SLUG_RE.match(res.slug)
    assert res.directory == tmp_path / "out" / res.slug and res.directory.is_dir()
    rapport = res.outputs["rapport"].read_text(encoding="utf-8")
    carte = res.outputs["carte"].read_text(encoding="utf-8")
    escaped = "CPTS &lt;script&gt;alert(1)&lt;/script&gt; &quot;Nord&quot; / L&#x27;Étang"
    assert f"<title>Diagnostic territorial — {escaped}</title>" in rapport
    (h1,) = re.findall(r"<h1[^>]*>(.*?)</h1>", rapport, flags=re.DOTALL)
    assert (
        "&lt;script&gt;" in h1
        and html.unescape(re.sub(r"<a [^>]*>.*?</a>", "", h1)) == f"Diagnostic territorial — {NASTY}"
    )
    for page in (rapport, carte):
        assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert escaped in carte  # map title
    assert "\\u003cimg src=x onerror=alert(2)\\u003e" in carte  # neighbour tooltip, JSON-escaped
    assert "Données fictives" not in rapport  # no CPAM table: nothing fictitious
    assert "aucune table CPAM" in rapport
    assert res.population == sum(_populations(["06069", "06007", "06140"]))


def test_territory_names_follow_the_file_content(tmp_path):
    import os

    from cpts_diag.reports.runner import _territory_names

    path = tmp_path / "p.csv"
    path.write_text("cpts;code_insee\nCPTS Aaaa;06069\n", encoding="utf-8")
    assert _territory_names(path) == ["CPTS Aaaa"]
    st = path.stat()
    path.write_text("cpts;code_insee\nCPTS Bbbb;06069\n", encoding="utf-8")  # same size and mtime
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _territory_names(path) == ["CPTS Bbbb"]
