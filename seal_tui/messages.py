"""The app's own messages: small dataclasses posted by workers and widgets.

Workers run engine calls in threads and report back only through these; widgets change
only in the handlers that receive them, on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from engine import events as ev
from engine.learning.drift import DriftAnswer


@dataclass
class EngineEvent(Message):
    """One event the engine reported from a worker thread."""

    event: ev.Event


@dataclass
class TrainProgress(Message):
    """Where the running update is; carries every loss so far, so a flood of steps can
    collapse into the newest one without losing the loss line."""

    step: int
    total: int
    epoch: int
    loss: float
    seconds: float
    losses: tuple[float, ...]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TrainProgress)


@dataclass
class RuntimeReady(Message):
    """The model runtime is built (and warmed where it can be) and attached to the session."""

    name: str
    placement: str = ""
    """Where it runs (RuntimeStatus.placement), e.g. "llama.cpp: all layers on GPU · torch: ..."."""


@dataclass
class LoadStep(Message):
    """The model's load began its step `index` (1-based) of `count`."""

    index: int
    count: int
    name: str


@dataclass
class DriftDetail(Message):
    """The drift set's questions scored one by one at a version (engine.sessions.session_scoring.drift_detail)."""

    version: int
    greedy: bool
    answers: list[DriftAnswer]


@dataclass
class RuntimeFailed(Message):
    reason: str


@dataclass
class WorkDone(Message):
    """A worker finished its engine call; `kind` names which (paper, generate, update)."""

    kind: str
    passage_id: int | None = None
    note: str = ""


@dataclass
class CandidateReasonRequested(Message):
    """x on a card: the person wants to reject it with a reason (asked only where they may decide)."""

    edit_id: int


@dataclass
class CandidateDecided(Message):
    """A person accepted or rejected the candidate on a card, with their reason if they gave one."""

    edit_id: int
    accept: bool
    reason: str = ""


@dataclass
class CandidateEditRequested(Message):
    edit_id: int
    text: str


@dataclass
class PassageSelected(Message):
    passage_id: int


@dataclass
class CellSelected(Message):
    """The heatmap's cursor moved to a (version, passage) cell; passage None: the drift column."""

    version: int
    passage_id: int | None


@dataclass
class PaperRequested(Message):
    """The add-paper dialog was filled: a path, or pasted text with an optional title."""

    path: str = ""
    text: str = ""
    title: str = ""
