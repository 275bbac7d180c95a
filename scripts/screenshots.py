"""Refresh docs/screenshots/*.png: start the dashboard, open every page in Debian's Chromium,
wait until Streamlit has finished the run, and save a full-width screenshot.

    .venv/bin/python scripts/screenshots.py            # default world (people from the app default)
    .venv/bin/python scripts/screenshots.py --query "people=5000"
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.browser import free_port, make_driver, page_urls, start_server, wait_for_app, wait_healthy  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--query", default="", help="URL query string added to every page")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port)
    driver = make_driver()
    try:
        if not wait_healthy(url):
            raise SystemExit("streamlit did not become healthy")
        q = f"?{args.query}" if args.query else ""
        for i, (title, path) in enumerate(page_urls(), start=1):
            name = f"{i}_{title.replace(' ', '_')}"
            driver.get(f"{url}/{path}{q}")
            wait_for_app(driver, settle=1.0)
            time.sleep(2.0)  # let plotly finish drawing
            height = driver.execute_script(
                "const m = document.querySelector('[data-testid=\"stMain\"]') || document.body; return m.scrollHeight;")
            driver.set_window_size(1400, min(max(int(height) + 80, 1000), 5600))
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
