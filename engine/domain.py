"""The session's records as plain dataclasses; the store converts rows to these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PassageDraft:
    """A passage cut from a paper, before it is stored."""

    title: str
    text: str
    questions: tuple[tuple[str, str], ...] = ()
    """(question, answer) pairs that came with the input, if any."""


@dataclass(frozen=True)
class PaperDraft:
    """A paper read from a file, split into passages, before it is stored."""

    title: str
    source: str
    """Where it came from (a path, or 'pasted text')."""
    sha256: str
    """Hash of the content, so the same paper is not added to a session twice."""
    passages: tuple[PassageDraft, ...]


@dataclass(frozen=True)
class Probe:
    """A fixed question about a passage, with its gold answer."""

    id: int
    passage_id: int
    kind: str
    """given, cloze or qa."""
    question: str
    answer: str
    role: str = "heldout"
    """heldout: only reports read it (heatmap, seal show, benchmarks); reward: only the
    filter, trials and the per-epoch check read it (engine.papers.probes.split_roles)."""


@dataclass(frozen=True)
class Passage:
    id: int
    paper_id: int
    position: int
    """Order of the passage within its session (0-based)."""
    title: str
    text: str
    status: str
    """new, edits (candidates generated, not yet learned), learned."""
    probes: tuple[Probe, ...] = ()


@dataclass(frozen=True)
class SelfEdit:
    id: int
    passage_id: int
    strategy: str
    text: str
    status: str
    """pending, accepted, rejected."""
    decided_by: str | None = None
    """person, heuristic, policy (accept all/none), or None while pending."""
    reason: str = ""
    """Why the gate or the person decided as they did."""
    reward: float | None = None
    """Reward filter: gain on this passage's probes from a trial update on this edit alone."""
    damage: float | None = None
    """Reward filter: how much that trial update worsened earlier passages' probes."""
    editor_round: int | None = None
    """The editor round whose adapter helped write it; None: the model without an editor."""
    original_text: str | None = None
    """The model's own text when a person has edited it (kept from the first edit); None:
    never edited. `text` is what trains."""
    writer: str | None = None
    """Who wrote it: "local: MODEL vN", "served: MODEL at HOST:PORT" or "file: NAME" (None:
    stored before writers were recorded)."""

    @property
    def edited(self) -> bool:
        """A person changed the text the model wrote."""
        return self.original_text is not None and self.original_text != self.text


@dataclass(frozen=True)
class Update:
    id: int
    version: int
    """The model version this update produced (version 0 is the base model)."""
    passage_id: int
    params: dict
    losses: tuple[float, ...]
    adapter_path: str
    seconds: float
    examples: int = 0
    parent_version: int = 0
    """The version this update continued from."""
    status: str = "active"
    """active (on the session's current path) or abandoned (rolled back)."""


@dataclass(frozen=True)
class EditorRound:
    """One round of the self-improving editor: trained on kept (prompt -> self-edit) pairs."""

    id: int
    number: int
    """1, 2, ... within the session; self-edits written with it carry this number."""
    trigger: str
    """person (on demand) or auto (every N learned passages)."""
    edit_ids: tuple[int, ...]
    """The kept self-edits it learned from."""
    params: dict
    losses: tuple[float, ...]
    adapter_path: str
    seconds: float
    learned_passages: int
    """Passages learned when the round ran (auto rounds count from here)."""
    created_at: str


@dataclass(frozen=True)
class Score:
    version: int
    probe_id: int
    passage_id: int
    answer_nll: float
    f1: float | None = None
    contains: float | None = None
    answer: str | None = None
    """The greedy answer, when one was generated."""


@dataclass(frozen=True)
class SessionInfo:
    id: int
    name: str
    config: dict
    current_version: int
    created_at: str
    passages: int = 0
    updates: int = 0


def version_label(version: int) -> str:
    """How reports name a model version: "base" for version 0, else "v3"."""
    return "base" if version == 0 else f"v{version}"
