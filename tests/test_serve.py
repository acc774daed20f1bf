"""The app in a browser (issue 20): under textual-serve's web driver the app starts (its
terminal check no longer refuses the driver's pipes), and `seal serve` binds the loopback
address unless told otherwise in so many words. The real browser's test is
tests/test_serve_browser.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from seal_cli.main import main
from seal_tui import launch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
"""What textual-serve names in TEXTUAL_DRIVER for the app it starts."""


def test_the_app_starts_under_textual_serves_web_driver(seal_home):
    """What textual-serve does: the app in a child with pipes for its streams and the web
    driver named in the environment; it must answer with the driver's prelude."""
    env = {**os.environ, "TEXTUAL_DRIVER": WEB_DRIVER, "COLUMNS": "100", "ROWS": "30", "PYTHONPATH": ROOT}
    child = subprocess.Popen(
        [sys.executable, "-m", "seal_cli.main"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    try:
        first: list[bytes] = []
        reader = threading.Thread(target=lambda: first.append(child.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        assert first == [b"__GANGLION__\n"], (first, child.poll())
    finally:
        child.kill()
        child.wait(10)
        for stream in (child.stdin, child.stdout, child.stderr):
            stream.close()


def test_the_terminal_check_still_refuses_redirected_streams_without_the_web_driver(monkeypatch):
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    assert "not one" in launch.terminal_problem(None, None)
    monkeypatch.setenv("TEXTUAL_DRIVER", WEB_DRIVER)
    assert launch.terminal_problem(None, None) == ""


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.5", True), ("0.0.0.0", False), ("::", False)],
)
def test_loopback_addresses(host, loopback):
    from seal_cli.serve import is_loopback

    assert is_loopback(host) is loopback


def test_a_bind_other_machines_can_reach_needs_expose(capsys, monkeypatch):
    monkeypatch.setattr("seal_cli.serve.serve_app", lambda *a, **k: pytest.fail("served without --expose"))
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--expose" in err and "0.0.0.0" in err


def test_expose_says_what_it_exposes_before_serving(capsys, monkeypatch, seal_home):
    served = []
    monkeypatch.setattr("seal_cli.serve.serve_app", lambda *args: served.append(args))
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123", "--expose"]) == 0
    out = capsys.readouterr().out
    assert served and served[0][1:3] == ("0.0.0.0", 8123)
    assert "anyone who can reach port 8123" in out and str(seal_home) in out


def test_without_textual_serve_one_line_says_how_to_install_it(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install -e ".[serve]"' in err
