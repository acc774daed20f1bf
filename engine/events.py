"""What the engine reports while it works. Every event is a small frozen dataclass,
delivered through the `on_event` callback a caller passes in.

A long step announces itself with a Stage event: one class per kind of step, its counts as
fields, its kind one of StageName, and the words a person reads built from the fields in its
`detail` alone (the app and the command line show them; nothing parses them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import ClassVar, TypeVar, dataclass_transform

from engine.domain import version_label
from engine.update_notes import kept_note


@dataclass(frozen=True)
class Event:
    pass


class StageName(StrEnum):
    """The kinds of long step: the `name` of each Stage event."""

    LOAD = "load"
    PROBES = "probes"
    GENERATE = "generate"
    FILTER = "filter"
    TRAIN = "train"
    EDITOR = "editor"
    SCORE = "score"
    ANSWERS = "answers"


@dataclass(frozen=True)
class Stage(Event):
    """A long step begins: loading, generating, training, scoring... (a subclass per kind of
    step, declared with `stage`)."""

    name: ClassVar[StageName]

    @property
    def detail(self) -> str:
        """What the step does, in the words a person reads ("5 candidates", "v2 on 39 probes")."""
        return describe(self)


KindOfStage = TypeVar("KindOfStage", bound=type[Stage])


@dataclass_transform(frozen_default=True)
def stage(name: StageName) -> Callable[[KindOfStage], KindOfStage]:
    """Declare a kind of Stage: a frozen dataclass whose events are named `name`."""

    def declare(cls: KindOfStage) -> KindOfStage:
        cls.name = name
        dataclass(frozen=True)(cls)
        return cls

    return declare


@stage(StageName.LOAD)
class ModelLoading(Stage):
    """The model loads (the command line's first step)."""

    model: str


@stage(StageName.PROBES)
class WritingProbes(Stage):
    """The model writes question-and-answer probes about a passage (probes="qa")."""

    title: str


@stage(StageName.GENERATE)
class Generating(Stage):
    """Candidates for a passage begin: written by the model, or taken from an edits file."""

    passage_id: int
    count: int
    """How many are to come."""
    editor_round: int | None = None
    """The editor round that writes them (None: no round yet)."""
    edits_file: str = ""
    """The name of the edits file (generation.edits_from) they come from, or that had none left
    for this passage ("": no file was read)."""
    from_file: bool = False
    """Taken from edits_file, not written by the model."""
    in_file: int = 0
    """When the model writes although there is an edits file: the self-edits the file has for
    this passage, all stored already (0: the passage is not in it)."""


@stage(StageName.FILTER)
class Filtering(Stage):
    """The reward filter begins its trial updates."""

    passage_id: int
    trials: int
    """One per candidate."""
    seconds: float
    """What the trials should take, estimated from the machine's measured speed."""


@stage(StageName.TRAIN)
class Training(Stage):
    """An update begins training on a passage's examples."""

    passage_id: int
    examples: int
    replayed: int
    """Examples of passages learned earlier, trained again beside these."""
    passage_repeats: int
    """Times the passage itself is trained each epoch."""
    epochs: int


@stage(StageName.TRAIN)
class EpochKept(Stage):
    """An update has trained: which epoch's weights it keeps, and why (engine.update_notes;
    the fields as an update's stored params name them)."""

    passage_id: int
    epochs: int
    kept_epoch: int | None = None
    """None: no per-epoch check ran, every epoch was trained."""
    epoch_scores: tuple[float, ...] = ()
    drift_scores: tuple[float, ...] = ()
    drift_guard: float = 0.0


@stage(StageName.EDITOR)
class EditorTraining(Stage):
    """An editor round begins training on the kept self-edits."""

    round: int
    pairs: int
    """Kept self-edits it trains on."""
    epochs: int


@stage(StageName.SCORE)
class Scoring(Stage):
    """A version's answer NLL on probes begins to be scored (its ScoresReady follows)."""

    version: int
    probes: int
    """How many, over every passage scored."""


@stage(StageName.ANSWERS)
class ScoringAnswers(Stage):
    """A version's greedy answers on probes scored without them."""

    version: int
    probes: int


@stage(StageName.EDITOR)
class EditorSkipped(Stage):
    """An automatic editor round was due but could not run."""

    reason: str


def describe(stage: Stage) -> str:
    """A stage in the words a person reads, from its fields (Stage.detail)."""
    match stage:
        case ModelLoading(model=model):
            return model
        case WritingProbes(title=title):
            return f"writing questions about {title}"
        case Generating(count=count, edits_file=file, from_file=True):
            return f"{count} self-edits from {file}"
        case Generating(count=count, editor_round=writer, edits_file=file, in_file=had):
            text = f"{count} candidates" + (f", editor round {writer}" if writer else "")
            if file:
                text += f" (the {had} self-edits in {file} are used)" if had else f" (passage not in {file})"
            return text
        case Filtering(trials=trials, seconds=seconds):
            return f"{trials} trial updates, about {seconds:.0f}s"
        case Training(examples=examples, replayed=replayed, passage_repeats=repeats, epochs=epochs):
            text = f"{examples} examples" + (f" + {replayed} replayed" if replayed else "")
            return text + (f", the passage {repeats} times an epoch" if repeats > 1 else "") + f" x {epochs} epochs"
        case EpochKept():
            return kept_note(asdict(stage))
        case EditorTraining(round=number, pairs=pairs, epochs=epochs):
            return f"round {number}: {pairs} kept self-edits x {epochs} epochs"
        case EditorSkipped(reason=reason):
            return f"automatic round skipped: {reason}"
        case Scoring(version=version, probes=probes) | ScoringAnswers(version=version, probes=probes):
            return f"{version_label(version)} on {probes} probes"
    raise TypeError(f"no words for {stage!r}")


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
    """The session is back at `version`; the versions after it are abandoned."""

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
    """The work named (an update, generation, the reward filter...) stopped when asked."""

    what: str


OnEvent = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """An on_event that drops everything."""
