"""The app on the scripted runtime: no model loads, candidates stream in a few seconds and
updates take seconds, for working on the screens.

    SEAL_HOME=/tmp/seal-dev .venv/bin/python -m tools.fake_app
"""

from __future__ import annotations

from engine.sessions.home import Home
from seal_tui.app import SealApp
from tools.scripted_runtime import FakeRuntime


def main() -> None:
    runtime = FakeRuntime(token_delay=0.02, step_delay=0.1)
    SealApp(runtime_factory=lambda config: runtime, home=Home()).run()


if __name__ == "__main__":
    main()
