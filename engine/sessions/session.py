"""One session: its store, model runtime and settings, and what a person or a policy does with
it, driven by plain method calls. The loop that learns passages (engine.sessions.session_loop),
writing candidates (engine.sessions.session_writing) and scoring versions (engine.sessions.session_scoring)
are plain functions of a Session; its methods of the same names call them.

A session is opened for writing by one process at a time (engine.session_lock, taken by
engine.sessions.home); opened read-only, every method that would write raises ReadOnlySession.
Paths in the store are relative to the session home, so a moved home still opens.
"""

from __future__ import annotations

from pathlib import Path
from threading import Event

from engine.learning import editor, guards, reward_filter, training_examples

from engine.sessions import routing, session_loop, session_scoring, session_writing
from engine import events as ev
from engine.config import GenerationConfig, SessionConfig
from engine.domain import EditorRound, PaperDraft, Passage, Score, SelfEdit, SessionInfo, Update
from engine.scores.evaluate import Matrix
from engine.faults import crash_point
from engine.selfedits.gate import GateVerdict, passage_verdicts
from engine.selfedits.imported_edits import IMPORTED, ImportedEdits
from engine.selfedits.policies import POLICIES, Pending
from engine.papers.probes import parse_qa_pairs, probes_for, qa_probe_messages, recall_roles, split_roles
from engine.runtime.protocol import Runtime, TrainingGuards
from engine.selfedits.selfedit import Strategy, StrategyError, resolve_strategy
from engine.sessions.session_access import ModelMismatch, NoModel, check_model, writes
from engine.session_lock import WriterLock
from engine.store import Store

__all__ = ["IMPORTED", "ModelMismatch", "NoModel", "Session", "check_model"]


class Session:
    """One named session in a session home, with the model runtime it drives."""

    def __init__(
        self,
        store: Store,
        info: SessionInfo,
        home: Path,
        runtime: Runtime | None,
        lock: WriterLock | None = None,
        read_only: str = "",
    ):
        self.store = store
        self.info = info
        self.home = Path(home)
        self.lock = lock
        self.read_only = read_only
        """Why this session may not write (empty: it may, holding `lock`)."""
        self.config = SessionConfig.from_dict(info.config)
        self._strategy: Strategy | None = None
        self.timings: dict[str, float] = {"generate": 0.0, "train": 0.0, "score": 0.0}
        self.edits_file: ImportedEdits | None = None
        """generation.edits_from, read at first use (engine.sessions.session_writing)."""
        self.attach_runtime(runtime)

    def close(self) -> None:
        """Let another process write the session; the runtime is the caller's to close."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
            self.read_only = "it was closed"

    @property
    def strategy(self) -> Strategy:
        """The session's self-edit strategy; a template is read from the session's own copy."""
        if self._strategy is None:
            try:
                self._strategy = resolve_strategy(self.config.strategy, self.home)
            except StrategyError as exc:
                raise StrategyError(f"session {self.name!r} cannot read its strategy: {exc}") from None
        return self._strategy

    def path_in_home(self, path: Path) -> str:
        """How the store records a file of this session: relative to the home, as seal named
        it (a session folder or adapters folder linked elsewhere is not looked through)."""
        try:
            return Path(path).absolute().relative_to(self.home.absolute()).as_posix()
        except ValueError:
            return str(path)

    def resolve(self, stored: str) -> Path:
        """A stored path as a file on this machine. Relative paths are in the home; an
        absolute one from before paths were relative is this home's own folder of that
        session where it has one (a moved or copied home), else the path itself."""
        path = Path(stored)
        if not path.is_absolute():
            return self.home / path
        if (marker := f"/{self.name}/") in stored:
            own = self.home / self.name / stored.rsplit(marker, 1)[1]
            if own.exists():
                return own
        return path

    # -- state ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.info.name

    @property
    def current_version(self) -> int:
        info = self.store.get_session(self.name)
        assert info is not None  # an open session is in its store
        return info.current_version

    def passages(self) -> list[Passage]:
        return self.store.passages(self.info.id)

    def updates(self) -> list[Update]:
        return self.store.updates(self.info.id)

    def self_edits(self, passage_id: int) -> list[SelfEdit]:
        return self.store.self_edits(passage_id)

    def adapter_for(self, version: int) -> Path | None:
        if version == 0:
            return None
        update = self.store.update_for_version(self.info.id, version)
        return self.resolve(update.adapter_path) if update else None

    def attach_runtime(self, runtime: Runtime | None) -> None:
        """Give the session its model runtime (an app loads it after opening the session;
        None: no model, a NoModel stand-in that refuses any use).
        A model other than the one its updates were trained on is refused (ModelMismatch)."""
        if runtime is not None and not isinstance(runtime, NoModel):
            check_model(self.name, self.updates(), runtime.identity())
        self.runtime = NoModel() if runtime is None else runtime

    def sync_generation(self, on_event: ev.OnEvent = ev.ignore, passage: Passage | None = None) -> int:
        """Make the model that writes self-edits the session's current version (or the base
        model, with writer=base), with the current editor round's adapter beside it. With
        per-paper adapters and a passage, the current version of that passage's paper.
        Returns that version."""
        version = 0
        if self.config.generation.writer == "current":
            version = self.current_version if passage is None else self.start_version(passage)
        current = editor.current_round(self)
        if current is None:
            seconds = self.runtime.activate(self.adapter_for(version))
        else:
            seconds = self.runtime.activate(
                self.adapter_for(version), self.resolve(current.adapter_path), self.config.editor.scale
            )
        if seconds is not None:
            on_event(ev.AdapterSwapped(version, seconds))
        return version

    def editor_rounds(self) -> list[EditorRound]:
        return self.store.editor_rounds(self.info.id)

    @writes
    def add_editor_round(
        self,
        trigger: str,
        edit_ids: list[int],
        params: dict,
        losses: list[float],
        adapter: str,
        seconds: float,
        learned: int,
    ) -> EditorRound:
        """Record a trained editor round (engine.learning.editor.run_round); it gets the next round number."""
        return self.store.add_editor_round(self.info.id, trigger, edit_ids, params, losses, adapter, seconds, learned)

    @writes
    def improve_editor(self, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None) -> EditorRound | None:
        """Run an editor round now on the kept self-edits (raises EditorError when too few)."""
        return editor.run_round(self, "person", on_event, stop)

    def path_to(self, version: int) -> set[int]:
        """The versions that make up the model at `version` (engine.sessions.routing.path)."""
        return routing.path(self.updates(), version, self.config.adapters)

    def start_version(self, passage: Passage) -> int:
        """The version an update on this passage continues from: the current one, or with
        per-paper adapters the newest of its paper on the current path (0: the base model)."""
        return self.serving(self.current_version, [passage])[passage.id]

    def serving(self, version: int, passages: list[Passage]) -> dict[int, int]:
        """passage id -> the version whose adapter scores it at `version` (engine.sessions.routing)."""
        paper_of = {p.id: p.paper_id for p in self.passages()}
        return routing.serving(self.updates(), paper_of, passages, version, self.config.adapters)

    def shares_adapter(self, passage: Passage, other: Passage) -> bool:
        """Whether learning one of the two passages moves the other's adapter."""
        return self.config.adapters == "shared" or passage.paper_id == other.paper_id

    @writes
    def rollback(self, version: int, on_event: ev.OnEvent = ev.ignore) -> None:
        """Make an earlier version current again; later versions stay in the history as
        abandoned, and the next update continues from this one. With per-paper adapters every
        paper keeps its updates up to `version` and loses the later ones, as in shared mode."""
        self.store.rollback(self.info.id, version, self.path_to(version))
        abandoned = tuple(u.version for u in self.updates() if u.status == "abandoned")
        on_event(ev.RolledBack(version, abandoned))  # generation follows at its next use

    # -- papers --------------------------------------------------------------------
    @writes
    def add_paper(self, draft: PaperDraft, on_event: ev.OnEvent = ev.ignore) -> list[Passage]:
        """Store a paper's passages with their fixed probes; a paper already here is reused."""
        existing = self.store.find_paper(self.info.id, draft.sha256)
        if existing is not None:
            return [p for p in self.passages() if p.paper_id == existing]
        probes = [self._probes(p.title, p.text, p.questions, on_event) for p in draft.passages]
        passages = self.store.add_paper(self.info.id, draft, probes)
        on_event(ev.PaperAdded(passages[0].paper_id, draft.title, tuple(p.id for p in passages)))
        return passages

    def _probes(self, title: str, text: str, given, on_event) -> list[tuple[str, str, str, str]]:
        """The passage's fixed probes, each with its role (engine.papers.probes.split_roles)."""
        probes = probes_for(title, text, list(given), self.config.probes)
        if self.config.probes == "qa":
            on_event(ev.WritingProbes(title))
            greedy = GenerationConfig(candidates=1, temperature=0.0, max_tokens=200)
            written = "".join(self.runtime.stream_chat(qa_probe_messages(title, text), greedy))
            probes += [("qa", q, a) for q, a in parse_qa_pairs(written)]
        return split_roles(title, text, probes) + recall_roles(title, text)

    @staticmethod
    def reward_items(passage: Passage) -> list[tuple[str, str]]:
        """(prompt, answer) of the passage's reward probes (questions and recall): what the
        filter and the per-epoch check may read. A passage stored without any (one or two
        probes, before probe roles existed) gets cloze questions made from its text, never its
        held-out probes (engine.learning.guards)."""
        return guards.reward_items(passage)

    def guards(self, passage: Passage) -> TrainingGuards:
        return guards.training_guards(passage)

    # -- self-edits ----------------------------------------------------------------
    def verdicts(self, passage: Passage, edits: list[SelfEdit] | None = None) -> dict[int, GateVerdict]:
        """The heuristic gate's verdict per candidate id (engine.selfedits.gate.passage_verdicts); it decides nothing."""
        edits = self.store.self_edits(passage.id) if edits is None else edits
        return passage_verdicts(self.strategy, passage, edits) if edits else {}

    @writes
    def apply_policy(
        self, passage: Passage, on_event: ev.OnEvent = ev.ignore, policy: str | None = None, stop: Event | None = None
    ) -> list[SelfEdit]:
        """Decide every pending candidate by an accept policy of engine.selfedits.policies (the
        session's own unless one is named); a person's decisions stand. Cancelled filter
        trials leave the rest pending."""
        chosen = POLICIES[policy or self.config.accept]
        edits = self.store.self_edits(passage.id)
        verdicts = self.verdicts(passage, edits)
        pending = tuple(e for e in edits if e.status == "pending")
        decisions = chosen.decide(Pending(self, passage, pending, verdicts, on_event, stop))
        for edit_id, decision in decisions.items():
            status = "accepted" if decision.accepted else "rejected"
            stored = self.store.decide_self_edit(edit_id, status, decision.by, decision.reason)
            if stored.decided_by != decision.by:
                continue  # a person decided while this ran: theirs stands
            crash_point("decided")
            on_event(ev.GateDecision(edit_id, decision.accepted, decision.by, decision.reason))
        return self.store.self_edits(passage.id)

    def filter_verdicts(
        self, passage: Passage, candidates: list[SelfEdit], on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
    ) -> dict[int, reward_filter.FilterVerdict]:
        """The reward filter's verdict on each candidate, from a trial update each (engine.learning.reward_filter)."""
        trials = reward_filter.run_trials(self, passage, candidates, on_event, stop)
        f = self.config.filter
        return reward_filter.verdicts(trials, f.min_gain, f.budget, f.top_k)

    def strategy_stats(self) -> dict[str, dict]:
        """Per strategy, how its candidates fared (engine.sessions.session_writing.strategy_stats)."""
        return session_writing.strategy_stats(self)

    @writes
    def decide(self, edit_id: int, accept: bool, reason: str = "") -> SelfEdit:
        """A person's decision, which overrules any earlier one; `reason` (e.g. why a person
        rejected it) is kept on one line."""
        return self.store.decide_self_edit(
            edit_id, "accepted" if accept else "rejected", "person", " ".join(reason.split())
        )

    @writes
    def edit_text(self, edit_id: int, text: str) -> SelfEdit:
        """A person rewrites a candidate; the new text is what trains if it is accepted, and
        the model's own text stays in original_text (SelfEdit.edited)."""
        if not text.strip():
            raise ValueError("a self-edit cannot be empty")
        return self.store.edit_self_edit_text(edit_id, text.strip())

    def replay_examples(self, passage: Passage, count: int, version: int) -> list[str]:
        """A seeded sample of the examples of passages learned earlier on the current path
        (with per-paper adapters, of the same paper's only): engine.learning.training_examples.replay_sample."""
        earlier = [p for p in self.passages() if p.status == "learned" and p.id != passage.id]
        pool = (x for p in earlier if self.shares_adapter(passage, p) for x in self.examples_for(p))
        return training_examples.replay_sample(pool, count, self.config.train.seed, version)

    def examples_for(self, passage: Passage, accepted: list[SelfEdit] | None = None) -> list[str]:
        """Training examples: every accepted self-edit's lines (those given, else those
        accepted now), grounded (lines_to_train), then the passage itself."""
        accepted = self.store.self_edits(passage.id, status="accepted") if accepted is None else accepted
        return training_examples.passage_examples(passage, accepted, self.config.train.grounding)

    def lines_to_train(self, passage: Passage, edit: SelfEdit) -> list:
        """The lines of a self-edit an update trains: the model's own only when grounded (a
        small model invents names and years); those imported from a file (a stronger
        writer's, chosen by the person) all, since what follows from a passage is rarely
        worded as the passage words it (engine.learning.training_examples)."""
        return training_examples.lines_to_train(passage, edit, self.config.train.grounding)

    def training_lines(self, passage: Passage, edit: SelfEdit) -> tuple[int, int]:
        """(lines of this self-edit an update would train, lines it has)."""
        return training_examples.line_counts(passage, edit, self.config.train.grounding)

    # -- writing, learning and scoring (plain functions of the session) -------------
    @writes
    def generate(
        self, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None, count: int | None = None
    ) -> list[SelfEdit]:
        """New candidates for the passage (engine.sessions.session_writing.generate)."""
        return session_writing.generate(self, passage, on_event, stop, count)

    @writes
    def regenerate(
        self, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
    ) -> list[SelfEdit]:
        """Fresh candidates in place of the undecided ones (engine.sessions.session_writing.regenerate)."""
        return session_writing.regenerate(self, passage, on_event, stop)

    @writes
    def learn(self, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None) -> Update | None:
        """One LoRA update on the passage (engine.sessions.session_loop.learn); None when cancelled."""
        return session_loop.learn(self, passage, on_event, stop)

    @writes
    def step(self, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None) -> Update | None:
        """The whole cycle for one passage (engine.sessions.session_loop.step)."""
        return session_loop.step(self, passage, on_event, stop)

    @writes
    def run(self, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None) -> list[Update]:
        """Learn every passage not yet learned (engine.sessions.session_loop.run)."""
        return session_loop.run(self, on_event, stop)

    @writes
    def score(
        self, version: int, passages: list[Passage], on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
    ) -> dict[int, float]:
        """Score the passages' probes under a version (engine.sessions.session_scoring.score)."""
        return session_scoring.score(self, version, passages, on_event, stop)

    def scores(self, version: int | None = None) -> list[Score]:
        return self.store.scores(self.info.id, version)

    def families(self) -> list[str]:
        """The probe families the heatmap can show (engine.sessions.session_scoring.families)."""
        return session_scoring.families(self)

    def matrix(self, metric: str = "answer_nll", family: str | None = None) -> Matrix:
        """The forgetting matrix (engine.sessions.session_scoring.matrix)."""
        return session_scoring.matrix(self, metric, family)
