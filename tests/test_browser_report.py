"""A territory report opened in an offline headless Chromium (marked ``browser`` and ``slow``)."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import pytest

from browser import browser_errors, chrome, layer_tooltips, open_page  # noqa: F401  (chrome is a fixture)
from cpts_diag.reports.folder import slugify
from cpts_diag.reports.runner import build_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TERRITORY = "CPTS Hauts pays du Verdon et Monts d'Azur"  # same report as tests/test_runner.py
SHARED = "rapports-partages"
READY = "window.L && window.cptsDiag && window.cptsDiag.map"


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    """The report built by tests/test_runner.py in this session, else built here (one execution)."""
    out = tmp_path_factory.getbasetemp() / SHARED
    folder = out / slugify(TERRITORY)
    if not (folder / "rapport.html").is_file() or not (folder / "carte.html").is_file():
        folder = build_report(TERRITORY, out_dir=out).directory
    return folder


def _resources(driver) -> list[str]:
    return driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")


def test_rapport_opens_offline_without_error_and_prints(chrome, report_dir):  # noqa: F811
    open_page(chrome, report_dir / "rapport.html")
    assert browser_errors(chrome) == []
    assert chrome.execute_script("return document.documentElement.lang") == "fr"
    assert chrome.title == f"Diagnostic territorial — {TERRITORY}"
    images = chrome.execute_script(
        "return Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.src.slice(0, 22)]);"
    )
    assert images and all(ok and src.startswith("data:image/png") for ok, src in images)
    assert all(r.startswith(("file:", "data:")) for r in _resources(chrome))
    h2 = chrome.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);")
    assert [t for t in h2 if re.match(r"\d\. ", t)] == [
        "1. Le territoire",
        "2. Démographie",
        "3. Offre de soins",
        "4. Accès aux soins",
        "5. Synthèse : forces et faiblesses",
        "6. Sources et limites",
    ]
    # printed: the numbered sections start on a new page (the perimeter check and the method stay on the first
    # page, under the key figures), tables are not cut
    chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        breaks = chrome.execute_script(
            "return Array.from(document.querySelectorAll('h2'))"
            ".map(h => [h.textContent, getComputedStyle(h).breakBefore]);"
        )
        assert [b for t, b in breaks if re.match(r"\d\. ", t)] == ["page"] * 6
        assert [(t, b) for t, b in breaks if not re.match(r"\d\. ", t)] == [
            ("Périmètre du territoire", "auto"),
            ("Méthode", "auto"),
        ]
        inside = chrome.execute_script(
            "return getComputedStyle(document.querySelector('table.comparaison')).breakInside;"
        )
        assert inside == "avoid"
    finally:
        chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(chrome.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    Path("/tmp/rapport.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 6 <= pages <= 40
    # full-page screenshot, looked at by the developer
    height = chrome.execute_script("return document.documentElement.scrollHeight")
    size = chrome.get_window_size()
    try:
        chrome.set_window_size(1100, min(height + 120, 12000))
        time.sleep(0.2)
        chrome.save_screenshot("/tmp/rapport.png")
    finally:
        chrome.set_window_size(size["width"], size["height"])


def test_carte_draws_one_shape_per_commune_offline(chrome, report_dir):  # noqa: F811
    import pyogrio

    n_communes = len(pyogrio.read_dataframe(report_dir / "perimetre.gpkg", layer="communes"))
    open_page(chrome, report_dir / "carte.html", ready=READY)
    assert browser_errors(chrome) == []
    counts = chrome.execute_script(
        "return Object.fromEntries(Object.entries(window.cptsDiag.layers).map(([k, v]) => [k, v.getLayers().length]));"
    )
    assert counts["communes"] == n_communes
    assert counts["outline"] == 1
    assert counts.get("neighbours", 0) >= 1
    paths = chrome.execute_script("return document.querySelectorAll('.leaflet-overlay-pane svg path').length;")
    assert paths == sum(counts.values())
    assert all(r.startswith(("file:", "data:")) for r in _resources(chrome))
    tips = layer_tooltips(chrome)
    assert len(tips) == n_communes and all("APL aux médecins généralistes 2023" in t for t in tips)
    assert any("Population 2023" in t for t in tips)
    time.sleep(0.4)  # let the fit-bounds animation end before the screenshot
    chrome.save_screenshot("/tmp/carte.png")
