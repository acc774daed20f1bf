"""Kill a session's work at every crash point (engine.faults), resume it, and find nothing
accepted lost and nothing half-written: the fault-injection matrix, on the fake runtime.

Each case runs tests/crash_runner.py in a subprocess killed by SIGKILL at the N-th time a
point is reached (a point never reached fails the case), then again to resume, then checks
the session (crash_runner.check_home) and the exports. The cases run in parallel threads
once per module; each test reports one case.
"""

from __future__ import annotations

import ast
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.faults import POINTS
from tests import crash_runner as cr

ROOT = Path(__file__).parents[2]

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


KILLED: dict[str, set[int]] = {}
"""point -> the N of each kill that the killed process itself reported (filled by play)."""


def play(case, root) -> list[str]:
    """Kill, resume, check: what went wrong (empty: nothing)."""
    variant, kills = case
    home = home_of(case, root)
    args = ["-m", "tests.crash_runner", variant]
    decided: dict[int, tuple[str, str]] = {}
    problems = []
    for point in kills:
        done = cr.run(args, home, point)
        said = done.stderr.splitlines()[-1:] == [f"killed at crash point {point}"]
        if done.returncode != -9 or not said:
            return [f"{point}: not killed there (exit {done.returncode}): {done.stderr[-1500:]}"]
        name, _, nth = point.partition(":")
        KILLED.setdefault(name, set()).add(int(nth))
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


def test_every_point_is_killed_at_least_three_times(outcomes):
    """At the first three times each point is reached, as the killed processes reported."""
    short = {point: sorted({1, 2, 3} - KILLED.get(point, set())) for point in POINTS}
    assert {point: ns for point, ns in short.items() if ns} == {}


def test_every_crash_point_in_the_code_is_in_the_matrix():
    """A point the engine reaches but POINTS lacks would never be killed; one POINTS names
    but no code reaches would fail every case of it."""
    point_arg = {"crash_point": 0, "publish": 2, "write_text": 2}
    found = set()
    for source in (ROOT / "engine").rglob("*.py"):
        for call in ast.walk(ast.parse(source.read_text())):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "id", getattr(call.func, "attr", ""))
            if name not in point_arg:
                continue
            args = call.args[point_arg[name] : point_arg[name] + 1] + [
                k.value for k in call.keywords if k.arg == "point"
            ]
            found |= {a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    assert found == set(POINTS)


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
