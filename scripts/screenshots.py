"""Refresh docs/screenshots/*.png: start the dashboard, open every page in Debian's Chromium,
wait until Streamlit has finished the run, and save a full-width screenshot.

    .venv/bin/python scripts/screenshots.py            # default world (people from the app default)
    .venv/bin/python scripts/screenshots.py --query "people=5000"
"""
from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("streamlit did not become healthy")


def wait_for_app(driver, timeout: float = 180) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d) -> bool:
        apps = d.find_elements(By.CSS_SELECTOR, "[data-testid='stApp']")
        return bool(apps) and apps[0].get_attribute("data-test-connection-state") == "CONNECTED" \
            and apps[0].get_attribute("data-test-script-state") == "notRunning"

    time.sleep(1.0)
    WebDriverWait(driver, timeout, poll_frequency=0.25).until(ready)
    time.sleep(2.0)  # let plotly finish drawing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--query", default="", help="URL query string added to every page")
    args = parser.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
                               "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--window-size=1400,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        wait_healthy(url)
        pages = [("1_Scenario", "")] + [(p.stem, re.sub(r"^\d+_", "", p.stem))
                                        for p in sorted((ROOT / "pages").glob("[0-9]*_*.py"))]
        q = f"?{args.query}" if args.query else ""
        for name, path in pages:
            driver.get(f"{url}/{path}{q}")
            wait_for_app(driver)
            height = driver.execute_script(
                "const m = document.querySelector('[data-testid=\"stMain\"]') || document.body; return m.scrollHeight;")
            driver.set_window_size(1400, min(max(int(height) + 80, 1000), 4000))
            wait_for_app(driver, 60)
            target = OUT / f"{name.lower()}.png"
            driver.save_screenshot(str(target))
            driver.set_window_size(1400, 1000)
            print(target.relative_to(ROOT))
    finally:
        driver.quit()
        server.terminate()


if __name__ == "__main__":
    main()
