"""Helpers for browser tests: offline headless Chromium through selenium.

Usage in a test module::

    import pytest
    from browser import chrome, open_page, browser_errors  # noqa: F401  (chrome is a fixture)

    @pytest.mark.browser
    def test_page(chrome, tmp_path):
        open_page(chrome, tmp_path / "rapport.html")
        assert browser_errors(chrome) == []

The ``chrome`` fixture (one browser per test session) finds ``/usr/bin/chromium``
and ``/usr/bin/chromedriver``; when they are missing the test is skipped with the
reason. The tests never install anything: ``make test`` installs them first
(``make browser-deps``: ``apt-get install chromium chromium-driver`` when root).
The network is OFF: every host resolves to nothing and the DevTools offline
emulation is on, so a page that needs a CDN fails visibly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

__all__ = [
    "CHROME_FLAGS",
    "find_browser",
    "require_browser",
    "LOCAL_SERVER_RULE",
    "make_driver",
    "set_offline",
    "chrome",
    "open_page",
    "browser_errors",
    "layer_tooltips",
]

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVER_PATHS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")

#: Flags of the headless browser (user data dir added per session).
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--window-size=1200,850",
)


def find_browser() -> tuple[str, str] | None:
    """Paths of (chromium, chromedriver), or None when one is missing."""
    browser = next((p for p in CHROMIUM_PATHS if os.access(p, os.X_OK)), None) or shutil.which("chromium")
    driver = next((p for p in DRIVER_PATHS if os.access(p, os.X_OK)), None) or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def require_browser() -> tuple[str, str]:
    """Paths of (chromium, chromedriver); skip the test with the reason when one is missing."""
    found = find_browser()
    if not found:
        pytest.skip(
            "Chromium/chromedriver absents : « make browser-deps » les installe (apt, root) "
            "— Chromium/chromedriver missing: `make browser-deps` installs them (apt, root)"
        )
    return found


def set_offline(driver) -> None:
    """Switch the DevTools network emulation to offline (no request can leave the browser)."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {
            "offline": True,
            "latency": 0,
            "downloadThroughput": 0,
            "uploadThroughput": 0,
        },
    )


#: Host rule of a browser that talks to a local server (JupyterLab): every host name still resolves to nothing.
LOCAL_SERVER_RULE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def make_driver(user_data_dir: str | os.PathLike, local_server: bool = False):
    """Start headless Chromium with :data:`CHROME_FLAGS`, network off, browser log captured.

    ``local_server``: the browser may reach ``127.0.0.1`` (a JupyterLab started by the test) and nothing else
    (:data:`LOCAL_SERVER_RULE` instead of the DevTools offline emulation, which would block it too).
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # pragma: no cover
        pytest.skip("selenium n'est pas installé / selenium is not installed")
    browser, driver_path = require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROME_FLAGS:
        options.add_argument(LOCAL_SERVER_RULE if local_server and flag.startswith("--host-resolver-rules") else flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    if local_server:
        return driver
    try:
        set_offline(driver)
    except Exception:
        driver.quit()
        raise
    return driver


@pytest.fixture(scope="session")
def chrome():
    """One offline headless Chromium for the session (skipped when unavailable)."""
    with tempfile.TemporaryDirectory(prefix="cpts-chrome-") as profile:
        driver = make_driver(profile)
        try:
            yield driver
        finally:
            driver.quit()


def open_page(driver, path: str | os.PathLike, ready: str | None = None, timeout: float = 15.0) -> None:
    """Open a local file, wait until it is loaded (and ``ready`` JS expression is truthy).

    The browser log is emptied first, so :func:`browser_errors` afterwards only
    reports this page's errors.

    Parameters
    ----------
    driver : selenium WebDriver
    path : path-like
        Local HTML file.
    ready : str, optional
        JavaScript expression waited for, e.g. ``"window.L && window.cptsDiag"``.
    timeout : float, default 15
        Seconds before failing.
    """
    url = Path(path).resolve().as_uri()
    try:
        driver.get_log("browser")  # drop entries of previous pages
    except Exception:  # pragma: no cover - log type unsupported
        pass
    driver.get(url)
    deadline = time.monotonic() + timeout
    script = "return document.readyState === 'complete'" + (f" && !!({ready})" if ready else "") + ";"
    while True:
        try:
            if driver.execute_script(script):
                return
        except Exception:  # noqa: BLE001 - JS not ready yet
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"page {url} not ready after {timeout} s (condition: {ready})")
        time.sleep(0.05)


def browser_errors(driver) -> list[dict]:
    """SEVERE entries of the browser console (JS errors, failed loads) since the last call."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def layer_tooltips(driver, layer: str = "communes") -> list[str]:
    """Texts of the tooltips of every shape of ``window.cptsDiag.layers[layer]`` (each opened, then closed)."""
    return driver.execute_script(
        """
        var out = [];
        window.cptsDiag.layers[arguments[0]].eachLayer(function (l) {
            l.openTooltip(l.getCenter());
            out.push(l.getTooltip().getElement().textContent);
            l.closeTooltip();
        });
        return out;
        """,
        layer,
    )
