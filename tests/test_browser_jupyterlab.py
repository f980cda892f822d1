"""Notebook 02 in a real JupyterLab, used as a chargée de mission does (marked ``browser`` and ``slow``).

JupyterLab (the project's environment) is started on a free local port with a token, in a temporary folder that
holds her perimeter file (real communes of the Ain, Auvergne-Rhône-Alpes, in a CSV written by Excel with a title
line), a copy of notebook 02 and a folder named ``cpts_diag`` (the folder of her clone). Headless Chromium opens
the notebook, the parameters cell is edited with the keyboard, « Run › Run All Cells » is clicked, and the rendered
page is checked: no error, the report's look (cards, alignment, colours), the map, no fictitious data, and
JupyterLab itself left unstyled. Expectations come from the raw COG file. A screenshot is kept (path printed).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from browser import make_driver
from cpts_diag import settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EPCI = "200070555"  # CC de la Veyle (Ain, Auvergne-Rhône-Alpes): 18 communes
TERRITORY = "CPTS de la Veyle (illustratif)"
PERIMETERS = "cpts_veyle.csv"
NOTEBOOK = "02_diagnostic_territorial.ipynb"
DEMO = "02_demonstration_paca.ipynb"  # the same notebook left as it is: the embedded PACA listing
TOKEN = "cpts-diag-test"
# colours of report.css
ACCENT, WEAKNESS, STRENGTH, WARN = "rgb(31, 78, 121)", "rgb(198, 40, 40)", "rgb(46, 125, 50)", "rgb(192, 0, 0)"


def _communes() -> list[dict]:
    with open(settings.DATA_DIR / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["type"] == "commune-actuelle" and r["epci_siren"] == EPCI]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(folder: Path) -> None:
    """JupyterLab user settings of the test: no news or update pop-up; every cell kept in the page (the
    notebook is not windowed, so that all outputs can be read and photographed; the look is unchanged)."""
    values = {
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "notebook-extension/tracker": {"windowingMode": "none"},
    }
    for name, value in values.items():
        path = folder / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(url of a notebook with ``{}`` for its name, working folder): JupyterLab serving the user's folder (with
    a copy of notebook 02 under its name and another one, the demo, under :data:`DEMO`), stopped at the end."""
    work = tmp_path_factory.mktemp("chargee-de-mission")
    home = tmp_path_factory.mktemp("jupyter-home")
    communes = _communes()
    assert len(communes) == 18
    with open(work / PERIMETERS, "w", encoding="cp1252", newline="") as fh:  # as Excel writes a CSV in France
        fh.write(f"{TERRITORY} – liste des communes\r\nCPTS;Commune;Code INSEE\r\n")
        fh.writelines(f"{TERRITORY};{r['nom']};{r['code_insee']}\r\n" for r in communes)
    shutil.copyfile(settings.NOTEBOOKS_DIR / NOTEBOOK, work / NOTEBOOK)
    shutil.copyfile(settings.NOTEBOOKS_DIR / NOTEBOOK, work / DEMO)
    (work / "cpts_diag").mkdir()  # the folder of her clone, next to her files
    # A kernel started there imports the installed package, not that folder (the editable install is a plain path
    # line since the packaging fix of issue 16, branch paths16); said in one line rather than as a notebook error.
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, ''); import cpts_diag; print(cpts_diag.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    if probe.returncode or not probe.stdout.strip().endswith("__init__.py"):
        pytest.fail(f"un dossier cpts_diag masque le paquet installé ({probe.stdout.strip()}) : relancez make install")
    _write_settings(home / "settings")
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        IPYTHONDIR=str(home / "ipython"),
    )
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "jupyterlab.log", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    server = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab n'a pas démarré : {(home / 'jupyterlab.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield f"{base}/lab/tree/{{}}?reset&token={TOKEN}", work
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with tempfile.TemporaryDirectory(prefix="cpts-chrome-lab-") as profile:
        driver = make_driver(profile, local_server=True)
        driver.set_window_size(1400, 1000)
        try:
            yield driver
        finally:
            driver.quit()


def _wait(driver, script: str, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):  # the page is still loading
            value = driver.execute_script("return " + script)
            if value:
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"JupyterLab : {what} (après {timeout:.0f} s)")
        time.sleep(0.25)


_PROMPTS = "Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')).map(e => e.textContent)"
_STDERR = "document.querySelectorAll('.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"]')"


def _run_all(driver, url: str, parameters: dict[str, str] | None = None) -> float:
    """Open the notebook at ``url``, type ``parameters`` (name -> new value) into its parameters cell if given,
    click « Run › Run All Cells », wait for the end; return the seconds taken."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    t0 = time.monotonic()
    driver.get(url)
    _wait(driver, "document.querySelectorAll('.jp-Notebook .jp-CodeCell').length > 10", 60, "carnet non ouvert")
    _wait(driver, "document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')", 60, "noyau")
    if parameters:
        # The parameters cell typed in: its assignments, with her values in place of the defaults (its French
        # comments, typed again, would add nothing but time).
        cell = driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell")[0]
        source = cell.find_element(By.CSS_SELECTOR, ".cm-content").text
        wanted = []
        for line in source.splitlines():
            name = line.split("=", 1)[0].strip()
            if not line.startswith("#"):
                wanted.append(f'{name} = "{parameters[name]}"' if name in parameters else line)
        assert len([w for w in wanted if w.split(" =")[0] in parameters]) == len(parameters)
        cell.find_element(By.CSS_SELECTOR, ".cm-content").click()
        chain = ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL)
        chain.send_keys(Keys.DELETE).perform()
        for line in wanted:
            ActionChains(driver).send_keys(line, Keys.ENTER).perform()
        assert cell.find_element(By.CSS_SELECTOR, ".cm-content").text.strip() == "\n".join(wanted)
    driver.find_element(By.XPATH, "//div[contains(@class, 'lm-MenuBar-itemLabel') and text()='Run']").click()
    item = '.lm-Menu-item[data-command="runmenu:run-all"]'
    _wait(driver, f"document.querySelector('{item}')", 10, "menu Run")
    driver.find_element(By.CSS_SELECTOR, item).click()
    done = f"(p => p.length > 10 && p.every(t => /\\[\\d+\\]/.test(t)))({_PROMPTS}) || {_STDERR}.length > 0"
    _wait(driver, done, 150, "exécution non terminée")
    _wait(driver, "document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')", 30, "noyau")
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def page(lab, browser, tmp_path_factory):
    """Her notebook as she leaves it: her file and territory typed in, every cell run; (driver, seconds)."""
    url, _work = lab
    seconds = _run_all(browser, url.format(NOTEBOOK), {"perimetres": PERIMETERS, "territoire": TERRITORY})
    # Full-page screenshot, to be looked at.
    height = browser.execute_script("return document.querySelector('.jp-WindowedPanel-inner').scrollHeight")
    browser.set_window_size(1400, min(height + 300, 16000))
    browser.execute_script("document.querySelector('.jp-WindowedPanel-outer').scrollTop = 0")
    time.sleep(1)
    shot = tmp_path_factory.getbasetemp() / "jupyterlab_notebook02.png"
    browser.save_screenshot(str(shot))
    browser.set_window_size(1400, 1000)
    print(f"capture d'écran : {shot}")
    return browser, seconds


def test_runs_without_error(page):
    driver, seconds = page
    print(f"ouverture, saisie et exécution : {seconds:.0f} s")
    errors = driver.execute_script(f"return Array.from({_STDERR}).map(e => e.textContent.slice(0, 3000));")
    assert errors == []
    prompts = driver.execute_script(f"return {_PROMPTS};")
    assert len(prompts) >= 14 and all(p.strip("[]: ").isdigit() for p in prompts)


def test_key_figures_are_cards_with_the_population_of_the_cog(page):
    driver, _ = page
    population = sum(int(r["population"]) for r in _communes())
    cards = driver.execute_script(
        """
        var ul = document.querySelector('.cpts-diag ul.kpis');
        return {display: getComputedStyle(ul).display, listStyle: getComputedStyle(ul).listStyleType,
                cards: Array.from(ul.children).map(li => { var s = getComputedStyle(li);
                    var v = li.querySelector('.v'), l = li.querySelector('.l');
                    return {border: s.borderTopStyle + ' ' + s.borderTopWidth, value: v.textContent,
                            label: l.textContent, valueDisplay: getComputedStyle(v).display,
                            valueColor: getComputedStyle(v).color, valueWeight: getComputedStyle(v).fontWeight,
                            top: li.getBoundingClientRect().top}; })};
        """
    )
    assert cards["display"] == "flex" and cards["listStyle"] == "none"
    first = cards["cards"][0]
    expected = f"{population:,}".replace(",", "\u202f") + "\u00a0habitants"
    assert (first["value"], first["label"]) == (expected, "Population légale 2023")
    for card in cards["cards"]:
        assert card["border"] == "solid 1px" and card["valueDisplay"] == "block"
        assert card["valueColor"] == ACCENT and int(card["valueWeight"]) >= 700
    assert cards["cards"][1]["top"] == first["top"]  # side by side, not one under the other


def test_tables_align_text_left_and_numbers_right(page):
    driver, _ = page
    cells = driver.execute_script(
        """
        var t = document.querySelector('.cpts-diag table.comparaison');
        var row = t.querySelector('tbody tr');
        return {label: getComputedStyle(row.querySelector('th')).textAlign,
                number: getComputedStyle(row.querySelector('td.num')).textAlign,
                quality: getComputedStyle(row.querySelector('td:not(.num)')).textAlign,
                border: getComputedStyle(row.querySelector('td.num')).borderTopStyle,
                layout: getComputedStyle(t).tableLayout};
        """
    )
    assert cells == {"label": "left", "number": "right", "quality": "left", "border": "solid", "layout": "auto"}


def test_strengths_green_weaknesses_red_and_notes_boxed(page):
    driver, _ = page
    colours = driver.execute_script(
        """
        var c = s => Array.from(document.querySelectorAll(s)).map(e => getComputedStyle(e).borderLeftColor);
        return {weak: c('.cpts-diag li.faiblesse'), strong: c('.cpts-diag li.force'),
                note: c('.cpts-diag p.note').slice(0, 1)};
        """
    )
    assert colours["weak"] and set(colours["weak"]) == {WEAKNESS}
    assert colours["strong"] and set(colours["strong"]) == {STRENGTH}
    assert colours["note"] == ["rgb(153, 153, 153)"]


def test_map_shown_and_nothing_fictitious_or_unwritten(page):
    driver, _ = page
    images = driver.execute_script(
        "return Array.from(document.querySelectorAll('.cpts-diag figure img'))"
        ".map(i => [i.complete && i.naturalWidth > 300, i.src.slice(0, 22)]);"
    )
    assert images and all(ok and src == "data:image/png;base64," for ok, src in images)
    outputs = driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-OutputArea')).map(e => e.innerText).join('\\n');"
    )
    assert TERRITORY in outputs
    assert "Données fictives" not in outputs and "DONNÉES FICTIVES" not in outputs  # no CPAM table by default
    assert outputs.count("ne sont pas publiés en données ouvertes par commune") == 1
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-OutputArea a')).map(a => a.getAttribute('href'));"
    )
    assert not [h for h in links if h and h.endswith("carte.html")]  # dossier_sortie is empty: nothing written
    assert "Aucun fichier écrit" in outputs


def test_jupyterlab_itself_keeps_its_own_look(page):
    """The report's style sheets apply inside the outputs only: markdown headings and menus are untouched."""
    driver, _ = page
    looks = driver.execute_script(
        """
        var h2 = document.querySelector('.jp-MarkdownOutput h2');
        var inside = document.querySelector('.cpts-diag h2');
        return {markdown: getComputedStyle(h2).color, border: getComputedStyle(h2).borderBottomStyle,
                inside: getComputedStyle(inside).color,
                menu: getComputedStyle(document.querySelector('.lm-MenuBar')).fontFamily};
        """
    )
    assert looks["inside"] == ACCENT and looks["markdown"] != ACCENT and looks["border"] == "none"
    assert "Marianne" not in looks["menu"]


def test_demo_flags_its_fictitious_rows_in_red(lab, page):
    """Left as it is, the notebook runs the demo (embedded PACA listing): there, and there only, the fictitious
    CPAM example is used, its banner is red and its rows are the report's pale red."""
    driver, _ = page
    url, _work = lab
    _run_all(driver, url.format(DEMO))
    errors = driver.execute_script(f"return Array.from({_STDERR}).map(e => e.textContent.slice(0, 3000));")
    assert errors == []
    looks = driver.execute_script(
        """
        var style = s => getComputedStyle(document.querySelector(s));
        var banner = style('.cpts-diag .banner-fictitious');
        return {banner: [banner.backgroundColor, banner.color],
                rows: Array.from(document.querySelectorAll('.cpts-diag tr.fictitious-row td'))
                           .map(td => getComputedStyle(td).backgroundColor),
                tag: style('.cpts-diag tr.fictitious-row .fictitious-tag').color,
                title: document.querySelector('.cpts-diag h1').textContent};
        """
    )
    assert looks["title"] == "Diagnostic territorial — CPTS Pays Grassois"
    assert looks["banner"] == [WARN, "rgb(255, 255, 255)"]
    assert looks["rows"] and set(looks["rows"]) == {"rgb(255, 243, 243)"}
    assert looks["tag"] == WARN
