"""Named crash points for the fault-injection tests.

`crash_point(name)` does nothing unless the environment variable SEAL_CRASH_AT names that
point; then the process kills itself with SIGKILL (no cleanup, no flush), as a power cut or
the OOM killer would. "NAME:N" kills at the N-th time the point is reached in the process.
The points sit where a kill could leave a session half-written (POINTS lists them).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "SEAL_CRASH_AT"
POINTS = (
    "trained",  # an update's weights are trained, nothing saved yet
    "adapter-written",  # the adapter is on disk under its temporary name
    "adapter-saved",  # the adapter folder is in place, its row not yet written
    "update-commit",  # inside the update's transaction, before COMMIT
    "update-committed",  # the update's row is committed, scores not yet
    "scored",  # one version's scores are stored, the next not yet
    "export-written",  # an export's temporary file or folder is written, not yet renamed
    "migration",  # inside a schema migration's transaction
    "editor-saved",  # an editor round's adapter is saved, its row not yet written
    "decided",  # one candidate's decision is stored, the next not yet
)
_hits: Counter = Counter()


def crash_point(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= (int(nth) if nth.isdigit() else 1):
        os.write(2, f"killed at crash point {name}:{_hits[name]}\n".encode())  # what the tests check it died at
        os.kill(os.getpid(), signal.SIGKILL)
