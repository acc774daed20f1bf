"""What the engine reports while it works. Every event is a small frozen dataclass,
delivered through the `on_event` callback a caller passes in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class Stage(Event):
    """A long step begins: loading, generating, training, scoring..."""

    name: str
    detail: str = ""
    passage_id: int | None = None


@dataclass(frozen=True)
class PaperAdded(Event):
    paper_id: int
    title: str
    passage_ids: tuple[int, ...]


@dataclass(frozen=True)
class Token(Event):
    """A streamed piece of text of candidate `index` for a passage."""

    passage_id: int
    index: int
    text: str


@dataclass(frozen=True)
class CandidateDone(Event):
    passage_id: int
    index: int
    edit_id: int
    text: str
    tokens: int
    seconds: float


@dataclass(frozen=True)
class CandidateFailed(Event):
    """Candidate `index` could not be written (a served writer's WriterError); nothing of it is
    stored and generation stops, so asking again writes it afresh."""

    passage_id: int
    index: int
    message: str


@dataclass(frozen=True)
class GateDecision(Event):
    edit_id: int
    accepted: bool
    decided_by: str
    reason: str


@dataclass(frozen=True)
class TrialDone(Event):
    """The reward filter's trial update of one candidate has been scored."""

    edit_id: int
    index: int
    total: int
    reward: float
    damage: float
    seconds: float


@dataclass(frozen=True)
class AdapterSwapped(Event):
    """Generation now uses this version (exported to GGUF and switched in llama.cpp)."""

    version: int
    seconds: float


@dataclass(frozen=True)
class RolledBack(Event):
    version: int
    abandoned: tuple[int, ...]


@dataclass(frozen=True)
class TrainStep(Event):
    step: int
    total: int
    epoch: int
    loss: float
    seconds: float
    """Seconds since the update began."""


@dataclass(frozen=True)
class UpdateDone(Event):
    update_id: int
    version: int
    passage_id: int
    loss_first: float
    loss_last: float
    seconds: float


@dataclass(frozen=True)
class EditorRoundDone(Event):
    """A self-improving editor round has trained; generation now writes with it."""

    number: int
    pairs: int
    trigger: str
    loss_first: float
    loss_last: float
    seconds: float


@dataclass(frozen=True)
class ScoresReady(Event):
    """A version has been scored on these passages: mean answer NLL per passage."""

    version: int
    passage_nll: dict[int, float]
    seconds: float


@dataclass(frozen=True)
class DriftScored(Event):
    """A version has been scored on the drift set: mean answer NLL of its report questions."""

    version: int
    report_nll: float


@dataclass(frozen=True)
class Cancelled(Event):
    what: str


OnEvent = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """An on_event that drops everything."""
