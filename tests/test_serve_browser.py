"""`seal serve` in a real browser: Debian's headless Chromium opens the page, finds the
welcome screen's text, and a keypress reaches the app (tools/browser.py). Needs the `serve`
extra and the chromium and chromium-driver packages; CI installs them (.ci/run)."""

from __future__ import annotations

import pytest

from tools import browser

pytestmark = pytest.mark.skipif(bool(browser.missing()), reason=f"needs {browser.missing()} (the serve extra)")


def test_the_browser_shows_the_welcome_screen_and_a_key_reaches_the_app(seal_home):
    with browser.served(seal_home) as url, browser.chromium() as page:
        page.get(url)
        browser.wait_for(page, "Welcome to seal.")
        assert "No sessions yet" in browser.received(page)
        assert "writer timeout" not in browser.received(page)
        browser.press(page, "n")  # the new-session form opens
        browser.wait_for(page, "writer timeout", timeout=30)
