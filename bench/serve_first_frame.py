"""How soon `seal serve` shows the app's first frame in a browser: Debian's headless Chromium
(tools/browser.py) loads the page N times, each a fresh app process, and times from the
page's load event to the welcome screen's text arriving; also from the navigation's start.
With --screenshot it saves the browser view as a PNG (the README's docs/browser.png).

    .venv/bin/python bench/serve_first_frame.py [--runs 5] [--screenshot docs/browser.png]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import browser  # noqa: E402

WELCOME = "Welcome to seal."
LOADED = "return performance.getEntriesByType('navigation')[0].loadEventEnd"


def first_frame(page, url: str) -> tuple[float, float]:
    """(seconds from the load event, seconds from the navigation's start) to the first frame."""
    page.get(url)  # returns once the page has loaded
    browser.wait_for(page, WELCOME)
    now, loaded = page.execute_script("return performance.now()"), page.execute_script(LOADED)
    return (now - loaded) / 1000, now / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--screenshot", type=Path, help="save the browser view here (PNG)")
    args = parser.parse_args()
    if lacking := browser.missing():
        sys.exit(f"needs {lacking}")
    home = Path(tempfile.mkdtemp(prefix="seal-serve-bench-"))
    after_load, after_start = [], []
    with browser.served(home) as url, browser.chromium(width=1200, height=760) as page:
        for _ in range(args.runs):
            loaded, started = first_frame(page, url)
            after_load.append(round(loaded, 2))
            after_start.append(round(started, 2))
            page.get("about:blank")  # the app's process ends with its page
            time.sleep(0.5)
        if args.screenshot:
            page.get(url)
            browser.wait_for(page, WELCOME)
            time.sleep(1.0)  # the canvas paints the frame it received
            page.save_screenshot(str(args.screenshot))
    print(
        json.dumps(
            {
                "runs": args.runs,
                "after_load_s": after_load,
                "after_navigation_start_s": after_start,
                "median_after_load_s": statistics.median(after_load),
                "max_after_load_s": max(after_load),
                "cores": os.cpu_count(),
                "load_average": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
