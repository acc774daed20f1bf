"""Kill a session's work at every crash point (engine.faults), resume it, and find nothing
accepted lost and nothing half-written: the fault-injection matrix, on the fake runtime.

Each case runs tests/crash_runner.py in a subprocess killed by SIGKILL at the N-th time a
point is reached (a point never reached fails the case), then again to resume, then checks
the session (crash_runner.check_home) and the exports. The cases run in parallel threads
once per module; each test reports one case.
"""

from __future__ import annotations

import os
import traceback
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.faults import POINTS
from tests import crash_runner as cr

KILLS = (1, 2, 3)
MIGRATION_KILLS = (1, 2, 3, 14, 22)
"""Statements of a fresh home's migrations: the first three of m001, the first of m002
(m001 committed), the last of m004."""
CHAINED = (
    ("all", ("adapter-saved:2", "adapter-written:1")),
    ("person", ("decided:2", "decided:1")),
    ("all", ("update-commit:3", "scored:1")),
    ("person", ("editor-saved:2", "update-committed:1")),
    ("all", ("migration:5", "migration:1", "trained:1")),
)
"""Kills of the resuming run too, before the last resume."""

CASES: list[tuple[str, tuple[str, ...]]] = [
    (variant, (f"{point}:{n}",)) for point in POINTS if point != "migration" for variant in cr.VARIANTS for n in KILLS
]
CASES += [("all", (f"migration:{n}",)) for n in MIGRATION_KILLS] + list(CHAINED)


def case_id(case) -> str:
    variant, kills = case
    return f"{variant}-{'+'.join(kills)}"


def home_of(case, root):
    return root / case_id(case).replace(":", "_")


def play(case, root) -> list[str]:
    """Kill, resume, check: what went wrong (empty: nothing)."""
    variant, kills = case
    home = home_of(case, root)
    args = ["-m", "tests.crash_runner", variant]
    decided: dict[int, tuple[str, str]] = {}
    problems = []
    for point in kills:
        done = cr.run(args, home, point)
        if done.returncode != -9:
            return [f"{point}: not killed there (exit {done.returncode}): {done.stderr[-1500:]}"]
        for edit_id, now in cr.decisions_in(home / "seal.db").items():
            if decided.setdefault(edit_id, now) != now:
                problems.append(f"self-edit {edit_id} was {decided[edit_id]} at a kill, {now} at the next")
        problems += [f"after {point}, reopened: {p}" for p in cr.check_reopened(home)]
    done = cr.run(args, home)
    if done.returncode != 0:
        return problems + [f"the resume failed (exit {done.returncode}): {done.stderr[-1500:]}"]
    return problems + cr.check_home(home, cr.NAME, decided) + cr.check_exports(home) + people(home, variant)


def people(home, variant: str) -> list[str]:
    """The runner's person rejects each passage's first candidate (variant person) and no
    one else rejects any (accept=all): so it must stay, whatever ran after."""
    wanted = cr.person_decisions(home) if variant == "person" else {}
    rejected = {i: d for i, d in cr.decisions_in(home / "seal.db").items() if d[0] == "rejected"}
    return [] if rejected == wanted else [f"rejected edits {rejected}, the person rejected {wanted}"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("crashes")


@pytest.fixture(scope="module")
def outcomes(root):

    def safe(case):
        try:
            return play(case, root)
        except Exception:  # a check that raises is a finding of its case, not of all
            return [traceback.format_exc()]

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(map(case_id, CASES), pool.map(safe, CASES)))


def test_every_point_is_killed_at_least_three_times():
    for point in POINTS:
        ns = {int(k.split(":")[1]) for _, kills in CASES for k in kills if k.split(":")[0] == point}
        assert {1, 2, 3} <= ns, point


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_killed_session_resumes_whole(case, outcomes):
    problems = outcomes[case_id(case)]
    assert not problems, "\n".join(problems)


def test_an_unkilled_run_passes_the_same_checks(tmp_path):
    """The checks hold for a run never killed (so a failing case is the kill's doing)."""
    for variant in cr.VARIANTS:
        home = tmp_path / variant
        done = cr.run(["-m", "tests.crash_runner", variant], home)
        assert done.returncode == 0, done.stderr[-2000:]
        decided = cr.decisions_in(home / "seal.db")
        persons = [d for d in decided.values() if d[1] == "person"]
        assert len(persons) == (3 if variant == "person" else 0) and len(decided) == 6
        assert cr.check_home(home, cr.NAME, decided) == [] and cr.check_exports(home) == []


ROUNDS = [("auto", 1), ("auto", 2), ("auto", 3), ("person", 3)]
"""The runner's editor rounds when nothing kills it: one after each passage, one on demand."""


def test_a_killed_run_keeps_its_automatic_editor_rounds(root, outcomes):
    lost = {case_id(c): cr.editor_rounds(home_of(c, root)) for c in CASES if not outcomes[case_id(c)]}
    lost = {case: rounds for case, rounds in lost.items() if rounds != ROUNDS}
    assert not lost, "\n".join(f"{case}: {rounds}" for case, rounds in lost.items())
