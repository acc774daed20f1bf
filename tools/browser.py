"""`seal serve` in a real browser: the server started as a person starts it, and Debian's
headless Chromium driven by selenium (the `serve` extra and `apt-get install chromium
chromium-driver`). The browser test, bench/serve_first_frame.py and the README's browser
screenshot use it.

textual-serve's page draws the app on a canvas, so what it shows is read from what the page
received: a script installed before the page loads keeps the text of every frame the app
sent (escape sequences removed) and the time the page first received each text asked for.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CAPTURE = """
(() => {
  window.__sealText = "";
  const decoder = new TextDecoder();
  const Native = window.WebSocket;
  function Capturing(url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") {
        window.__sealText += decoder.decode(new Uint8Array(event.data), { stream: true });
      }
    });
    return socket;
  }
  Capturing.prototype = Native.prototype;
  for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Capturing[name] = Native[name];
  window.WebSocket = Capturing;
})();
"""
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def missing() -> str:
    """What the browser check lacks on this machine, in words ('' when nothing)."""
    lacking = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    for module in ("selenium", "textual_serve"):
        try:
            __import__(module)
        except ImportError:
            lacking.append(module)
    return ", ".join(lacking)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(home: Path, port: int | None = None, timeout: float = 60.0) -> Iterator[str]:
    """`seal serve --port PORT` on a session home; yields the page's URL once it answers.
    The server and every app it started end with the block."""
    port = port or free_port()
    env = {**os.environ, "SEAL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [sys.executable, "-m", "seal_cli.main", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the apps it starts end with it
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"seal serve did not start: {log.read().decode(errors='replace')}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


@contextmanager
def chromium(width: int = 1280, height: int = 800) -> Iterator:
    """Headless Chromium with a fresh profile, the capture script installed on every page."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="seal-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "chromedriver"))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def received(driver) -> str:
    """The text of everything the app has drawn in the page so far, escape sequences removed."""
    return ESCAPES.sub("", driver.execute_script("return window.__sealText || ''"))


def wait_for(driver, text: str, timeout: float = 60.0) -> float:
    """Wait until the page has received `text`; returns the seconds waited."""
    t0 = time.monotonic()
    while text not in received(driver):
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"the page never showed {text!r}; it received: {received(driver)[-2000:]!r}")
        time.sleep(0.02)
    return time.monotonic() - t0


def press(driver, keys: str) -> None:
    """Type into the terminal in the page, as a person's keys reach it."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(keys)
