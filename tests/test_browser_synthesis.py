"""The regional synthesis page in an offline headless Chromium: its table fits the page, scrolls in its own frame
with the territory column fixed when the window is narrow, and prints with all its columns (marked ``browser``
and ``slow``).

The worst case of the project: the 70 CPTS of PACA with the fictitious CPAM column (12 columns) and bounded
values (Nice, Toulon, masked counts).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from browser import browser_errors, chrome, open_page  # noqa: F401  (chrome is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_GEOMETRY = """
const t = document.querySelector('table.cpts-regional'), frame = t.parentElement;
const f = frame.getBoundingClientRect();
const cells = Array.from(t.querySelectorAll('th, td'));
return {
  frame: frame.className, frameLeft: f.left, frameRight: f.right,
  frameClient: frame.clientWidth, frameScroll: frame.scrollWidth,
  page: document.documentElement.scrollWidth, window: window.innerWidth,
  overflowing: cells.filter(c => c.getBoundingClientRect().right > f.right + 0.5).length,
  headers: Array.from(t.tHead.rows[0].cells).map(c => c.textContent),
  names: Array.from(t.tBodies[0].rows).map(r => r.cells[0].textContent),
};
"""


@pytest.fixture(scope="module")
def synthesis(tmp_path_factory) -> Path:
    from cpts_diag.reports.batch import run_synthesis

    return run_synthesis(None, "93", tmp_path_factory.mktemp("synthese"), "exemple")


def test_table_fits_the_page_or_scrolls_in_its_frame_with_the_territory_fixed(chrome, synthesis):  # noqa: F811
    size = chrome.get_window_size()
    try:
        chrome.set_window_size(1200, 900)
        open_page(chrome, synthesis)
        assert browser_errors(chrome) == []
        wide = chrome.execute_script(_GEOMETRY)
        assert len(wide["headers"]) == 15 and len(wide["names"]) == 72  # 70 CPTS, the région, France
        assert wide["frame"] == "cpts-frame"
        assert wide["frameScroll"] <= wide["frameClient"] and wide["overflowing"] == 0  # every column visible
        assert wide["page"] <= wide["window"]  # nothing wider than the window
        chrome.save_screenshot("/tmp/synthese_regionale.png")  # looked at by the developer

        chrome.set_window_size(640, 900)
        time.sleep(0.2)
        narrow = chrome.execute_script(_GEOMETRY)
        assert narrow["frameScroll"] > narrow["frameClient"]  # the table scrolls inside its own frame
        assert narrow["page"] <= narrow["window"]  # the page itself does not
        left = chrome.execute_script(
            """const t = document.querySelector('table.cpts-regional'), frame = t.parentElement;
            frame.scrollLeft = frame.scrollWidth;
            const first = t.tBodies[0].rows[0].cells[0], last = t.tBodies[0].rows[0].cells[14];
            return [first.getBoundingClientRect().left, frame.getBoundingClientRect().left,
                    last.getBoundingClientRect().right, frame.getBoundingClientRect().right];"""
        )
        assert left[0] == pytest.approx(left[1], abs=1)  # the territory column stays at the frame's left
        assert left[2] <= left[3] + 1  # while the last column is shown
    finally:
        chrome.set_window_size(size["width"], size["height"])


def _pdf(driver, synthesis) -> bytes:
    open_page(driver, synthesis)
    data = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})["data"]
    return base64.b64decode(data)


def test_table_prints_on_landscape_pages(chrome, synthesis):  # noqa: F811
    pdf = _pdf(chrome, synthesis)
    boxes = [tuple(round(float(v)) for v in b) for b in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)]
    assert (842, 595) in boxes and (595, 842) in boxes  # A4 landscape for the table, portrait elsewhere
    # Printed, laid out at the width of an A4 landscape page less its margins (277 mm = 1047 CSS px): the table fits
    # it at its print size (Chromium would otherwise shrink the whole page to fit, illegibly); the frame does not
    # clip and the territory column is not sticky.
    chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    metrics = {"width": 1047, "height": 740, "deviceScaleFactor": 1, "mobile": False}
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        printed = chrome.execute_script(_GEOMETRY)
        style = chrome.execute_script(
            """const t = document.querySelector('table.cpts-regional');
            return [getComputedStyle(t.parentElement).overflowX, getComputedStyle(t.rows[1].cells[0]).position,
                    getComputedStyle(t).page, getComputedStyle(t).fontSize];"""
        )
    finally:
        chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert style[:3] == ["visible", "static", "paysage"]
    assert float(style[3].removesuffix("px")) == pytest.approx(7 * 96 / 72, abs=0.01)  # 7 pt
    assert printed["window"] == 1047 and printed["page"] <= printed["window"]
    assert printed["frameScroll"] <= printed["frameClient"] and printed["overflowing"] == 0


def _tokens(text: str) -> Counter:
    """Words and numbers of a text, split at hyphens too (a name may be broken at its hyphen on two printed lines);
    thousands separators (U+202F, drawn as a gap, not a character, in the PDF) dropped; a word broken at a soft
    hyphen (U+00AD, the headers' long words; pdftotext writes it with the line break, sometimes a U+2010 after) is
    one word again."""
    text = re.sub(r"\xad\s*(\u2010\s*)?", "", text)
    return Counter(re.sub(r"[\s\xa0-]+", " ", text.replace("\u202f", "")).split())


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext absent (poppler-utils : make browser-deps)")
def test_printed_table_shows_every_column_and_every_territory(chrome, synthesis, tmp_path):  # noqa: F811
    pdf = tmp_path / "synthese.pdf"
    pdf.write_bytes(_pdf(chrome, synthesis))
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "99", str(pdf)], capture_output=True, text=True).stdout
    sizes = re.findall(r"Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+)", info)
    landscape = [int(n) for n, w, h in sizes if float(w) > float(h)]
    assert landscape
    text = subprocess.run(
        ["pdftotext", "-raw", "-f", str(min(landscape)), "-l", str(max(landscape)), str(pdf), "-"],
        capture_output=True,
        text=True,
    ).stdout
    printed = _tokens(text)
    open_page(chrome, synthesis)
    cells = chrome.execute_script(
        "return Array.from(document.querySelectorAll('table.cpts-regional tr')).map("
        "r => Array.from(r.cells).map(c => c.textContent));"
    )
    assert len(cells) == 73 and all(len(row) == 15 for row in cells)  # header, 70 CPTS, région, France
    # Every word and number of every cell is on the landscape pages as many times as in the table (a column cut at
    # the right edge of the page would take its header and its 72 values away).
    shown = _tokens(" ".join(" ".join(row) for row in cells))
    missing = {token: n - printed[token] for token, n in shown.items() if printed[token] < n}
    assert missing == {}


def test_index_fits_a_printed_a4_portrait_page(chrome, tmp_path):  # noqa: F811
    """The batch index, with long names and the key figures of each territory, at the width of an A4 portrait page
    less its margins (190 mm = 718 CSS px), printed: nothing wider than the page."""
    from cpts_diag.reports.index_page import write_index

    income = (
        "Médiane des revenus médians communaux (pondérée par la population ; n'est pas le revenu médian du territoire)"
    )
    figures = {  # as the batch writes them: a value and its unit are not parted (no-break spaces)
        "APL aux médecins généralistes 2023": "4,12\xa0consultations/an/hab.",
        "Part de la population vivant dans une commune à APL MG < 2,5 (2023)": "0,0\u202f%",
        "Densité de médecins généralistes libéraux": "8,3\xa0pour 10 000 hab.",
        "Part des 75 ans et plus": "4,5\u202f%",
        "Taux d'évolution annuel moyen de la population 2016-2023": "0,50\xa0%/an",
        income: "14\u202f210\xa0€",
        "Population en zone très sous-dotée ou sous-dotée (zonage infirmiers)": "0\xa0hab.",
    }
    entries = [
        {
            "name": f"CPTS CA CIVIS (Communauté Intercommunale des Villes Solidaires) {i}",
            "slug": f"t{i}",
            "status": "ok",
            "outputs": {"rapport": f"t{i}/rapport.html", "carte": f"t{i}/carte.html", "indicateurs": f"t{i}/i.xlsx"},
            "population": 184086,
            "tier": 4,
            "key_figures": {label: {"text": text} for label, text in figures.items()},
        }
        for i in range(3)
    ]
    page = write_index(tmp_path, entries, perimeters_name="mes_cpts.csv")
    open_page(chrome, page)
    chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    chrome.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 718, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    )
    try:
        width = chrome.execute_script("return [document.documentElement.scrollWidth, window.innerWidth];")
    finally:
        chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert width[1] == 718 and width[0] <= width[1]
