"""Real-browser tests: Debian's Chromium drives the running dashboard.

The server is started with ``streamlit run`` on a free local port; readiness is read the way
Streamlit's own end-to-end tests do it — the ``stApp`` element's connection and script state
attributes — never by sleeping a guessed amount of time.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PAGES = sorted(p for p in (ROOT / "pages").glob("[0-9]*_*.py"))
SMALL = "people=2000&days=45"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                       reason="Debian chromium and chromium-driver are not installed (make test installs them)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy in 90 s:\n" + proc.stdout.read().decode(errors="replace")[-3000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.downloads = downloads
    yield driver
    driver.quit()


def wait_for_app(driver, timeout: float = 300) -> None:
    """Connected, and the script has finished its run (Streamlit's own e2e readiness signal)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d) -> bool:
        apps = d.find_elements(By.CSS_SELECTOR, "[data-testid='stApp']")
        if not apps:
            return False
        app = apps[0]
        return (app.get_attribute("data-test-connection-state") == "CONNECTED"
                and app.get_attribute("data-test-script-state") == "notRunning")

    time.sleep(0.5)  # let a rerun triggered by the last action start before we poll
    WebDriverWait(driver, timeout, poll_frequency=0.25).until(ready)


def exceptions(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")]


def page_path(page: Path) -> str:
    return re.sub(r"^\d+_", "", page.stem)


def test_every_page_renders_without_an_exception(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/?{SMALL}")
    wait_for_app(browser)
    assert not exceptions(browser)
    for page in PAGES:
        browser.get(f"{server}/{page_path(page)}?{SMALL}")
        wait_for_app(browser)
        assert not exceptions(browser), f"{page.name}: {exceptions(browser)}"
        charts = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stPlotlyChart'], .stPlotlyChart")
        errors = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']")
        assert charts or errors or page.name.startswith(("2_", "3_")), f"{page.name} shows no chart"


def _button(driver, text: str):
    from selenium.webdriver.common.by import By

    for b in driver.find_elements(By.CSS_SELECTOR, "button"):
        if b.text.strip() == text:
            return b
    raise AssertionError(f"no button {text!r}; buttons: {[b.text for b in driver.find_elements(By.CSS_SELECTOR, 'button')]}")


def test_a_knob_preset_changes_the_url_and_the_report_downloads(server, browser):
    """A facilitator clicks 'Poorly run CDP': the shareable URL carries the knobs, the page reruns
    without an exception, and the one-file HTML report downloads."""
    browser.get(f"{server}/?{SMALL}")
    wait_for_app(browser)
    before = browser.current_url
    _button(browser, "Poorly run CDP").click()
    wait_for_app(browser)
    assert not exceptions(browser)
    assert browser.current_url != before and "coverage_web" in browser.current_url
    _button(browser, "Download an interactive HTML report (one file, works offline)").click()
    deadline = time.time() + 120
    files: list[Path] = []
    while time.time() < deadline:
        files = [f for f in browser.downloads.iterdir() if f.suffix == ".html"]
        if files and not any(f.suffix == ".crdownload" for f in browser.downloads.iterdir()):
            break
        time.sleep(0.5)
    assert files, "the report did not download"
    html = files[0].read_text(errors="replace")
    assert "<html" in html.lower() and "plotly" in html.lower() and len(html) > 100_000
