"""seal's command line on the scripted runtime, as a real process: `python -m tests.fake_cli
run PAPER --session NAME ...` runs `seal` with tools.scripted_runtime.FakeRuntime in place of
the model (the factory swapped), for tests that need what a person sees from a real process
(exit status, stderr) without the model's minutes."""

from __future__ import annotations

import sys


def main() -> int:
    import engine.runtime.factory as factory
    from seal_cli.main import main as seal
    from tools.scripted_runtime import FakeRuntime

    factory.build_runtime = lambda model, train: FakeRuntime()  # a test's stand-in
    return seal(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
