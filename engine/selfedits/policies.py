"""Accept policies: how a passage's pending candidates are decided when no person decides.

Each policy is one Policy in POLICIES (name, help, decide). SessionConfig.accept, `seal run
--accept` and the new-session form take their names and help from here, and
Session.apply_policy runs the chosen one: `decide` gets the pending candidates with the
heuristic gate's verdicts (Pending) and returns a Decision per candidate it decides; one it
leaves out stays pending (a cancelled reward filter does that). The session stores each
decision only where no person decided meanwhile, so a person's decision always stands.
Adding a policy is one `POLICIES.register(Policy(...))`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from threading import Event
from typing import TYPE_CHECKING

from engine.vocabulary import Vocabulary

if TYPE_CHECKING:
    from engine.domain import Passage, SelfEdit
    from engine.events import OnEvent
    from engine.selfedits.gate import GateVerdict
    from engine.sessions.session import Session


@dataclass(frozen=True)
class Decision:
    accepted: bool
    by: str
    """Who decided, as the store records it: heuristic, policy or filter (engine.store.rows.DECIDERS)."""
    reason: str
    """What a person reads on the candidate's card and in the run's log."""


@dataclass(frozen=True)
class Pending:
    """What a policy decides on: one passage's pending candidates, in the order written."""

    session: Session
    passage: Passage
    edits: tuple[SelfEdit, ...]
    verdicts: Mapping[int, GateVerdict]
    """The heuristic gate's verdict per candidate id (engine.selfedits.gate.passage_verdicts); it decides nothing."""
    on_event: OnEvent
    stop: Event | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    help: str
    """One line for the form and the command line's help."""
    decide: Callable[[Pending], dict[int, Decision]]


def _all(pending: Pending) -> dict[int, Decision]:
    return {e.id: Decision(True, "policy", f"accept=all; gate: {pending.verdicts[e.id].reason}") for e in pending.edits}


def _none(pending: Pending) -> dict[int, Decision]:
    return {
        e.id: Decision(False, "policy", f"accept=none; gate: {pending.verdicts[e.id].reason}") for e in pending.edits
    }


def _heuristic(pending: Pending) -> dict[int, Decision]:
    verdicts = pending.verdicts
    return {e.id: Decision(verdicts[e.id].ok, "heuristic", verdicts[e.id].reason) for e in pending.edits}


def _filter(pending: Pending) -> dict[int, Decision]:
    """The gate first; each candidate that passes gets a trial update, which the session runs
    (engine.learning.reward_filter sits on the runtime, and this vocabulary sits below both)."""
    out = {e.id: Decision(False, "heuristic", v.reason) for e in pending.edits if not (v := pending.verdicts[e.id]).ok}
    passed = [e for e in pending.edits if e.id not in out]
    for edit_id, verdict in pending.session.filter_verdicts(
        pending.passage, passed, pending.on_event, pending.stop
    ).items():
        out[edit_id] = Decision(verdict.kept, "filter", verdict.reason)
    return out


POLICIES: Vocabulary[Policy] = Vocabulary(
    "accept",
    (
        Policy("all", "every undecided candidate is accepted", _all),
        Policy("none", "only what you accept trains, with the passage itself", _none),
        Policy("heuristic", "the heuristic gate decides undecided candidates", _heuristic),
        Policy("filter", "the gate, then a trial update per candidate, judged by its reward", _filter),
    ),
)
"""Every accept policy, in the order the form and `seal run --help` list them."""
