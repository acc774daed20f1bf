"""The writing half of a session: candidate self-edits sampled from the model (streamed),
or taken from a file of someone else's (generation.edits_from). A mixin of
engine.session.Session (store, config, runtime, strategy, sync_generation(), timings)."""

from __future__ import annotations

import time
from dataclasses import replace
from threading import Event
from typing import TYPE_CHECKING

from engine import editor
from engine import events as ev
from engine.config import GenerationConfig
from engine.domain import Passage, SelfEdit
from engine.imported_edits import ImportedEdits, load_edits
from engine.passages import estimate_tokens
from engine.selfedit import build_messages
from engine.session_access import writes

if TYPE_CHECKING:
    from engine.config import SessionConfig
    from engine.runtime.protocol import Runtime
    from engine.selfedit import Strategy
    from engine.store import Store


def _writer_error() -> type[Exception]:
    """A served writer's failure (engine.runtime.served), imported only when writing fails:
    http.client is slow to import, and the local model never raises it."""
    from engine.runtime.served import WriterError

    return WriterError


IMPORTED = "imported"
"""Strategy name of self-edits taken from generation.edits_from; gated and split into
examples like implications (one example per line)."""


class Writing:
    # What the mixin uses of Session, declared for the type checker; Session sets them.
    store: Store
    config: SessionConfig
    runtime: Runtime
    timings: dict[str, float]

    if TYPE_CHECKING:

        @property
        def strategy(self) -> Strategy: ...
        def sync_generation(self, on_event: ev.OnEvent = ev.ignore, passage: Passage | None = None) -> int: ...

    _imported: ImportedEdits | None = None
    """generation.edits_from, read at first use."""

    @writes
    def generate(
        self, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None, count: int | None = None
    ) -> list[SelfEdit]:
        """Sample `count` new candidates (default: those still missing of the configured K),
        streaming tokens; each is stored as soon as it is complete. Returns the new ones.
        With generation.edits_from, a passage found in that file takes up to `count` of the
        file's completions not yet stored instead (strategy "imported"); the model writes only
        for a passage not in the file, or once all of its completions are stored.
        A served writer that fails (WriterError) ends generation with a CandidateFailed event and
        the error raised: its half-written candidate is not stored, and the passage's status
        stays until all of its candidates are, so asking again writes the missing ones."""
        stored = self.store.self_edits(passage.id)
        existing = len(stored)
        if count is None:
            count = max(0, self.config.generation.candidates - existing)
        imported, note = self._from_file(passage, sum(e.strategy == IMPORTED for e in stored), count)
        if imported:
            return self._store_imported(passage, existing, imported, on_event, stop)
        editor.maybe_auto_round(self, on_event, stop)  # one due when a run was killed writes these
        version = self.sync_generation(on_event, passage)
        messages = build_messages(self.strategy, passage.title, passage.text)
        current = editor.current_round(self)
        writer = None if current is None else current.number
        on_event(
            ev.Stage(
                "generate", f"{count} candidates" + (f", editor round {writer}" if writer else "") + note, passage.id
            )
        )
        started, made = time.perf_counter(), []
        for index in range(existing, existing + count):
            if stop is not None and stop.is_set():
                break
            t0, pieces = time.perf_counter(), []
            try:
                for piece in self.runtime.stream_chat(messages, self._sampling(index), stop):
                    pieces.append(piece)
                    on_event(ev.Token(passage.id, index, piece))
            except _writer_error() as exc:
                on_event(ev.CandidateFailed(passage.id, index, str(exc)))
                raise
            if stop is not None and stop.is_set():
                break  # a half-written candidate is dropped, not stored
            edit = self.store.add_self_edit(
                passage.id,
                self.strategy.name,
                "".join(pieces).strip(),
                editor_round=writer,
                writer=self._writer(version),
            )
            made.append(edit)
            on_event(ev.CandidateDone(passage.id, index, edit.id, edit.text, len(pieces), time.perf_counter() - t0))
        self.timings["generate"] += time.perf_counter() - started
        if len(made) == count and self.store.passage(passage.id).status == "new":
            self.store.set_passage_status(passage.id, "edits")
        return made

    def _writer(self, version: int) -> str:
        """Who writes, as a stored self-edit records it: a served writer's own description,
        else the local model at the version generation uses."""
        return getattr(self.runtime, "writer", None) or f"local: {self.runtime.name} v{version}"

    def _from_file(self, passage: Passage, taken: int, count: int) -> tuple[list[str], str]:
        """The edits file's completions [taken, taken + count) for this passage (`taken`: those
        already stored), and a note for the generate Stage saying why the model writes instead
        when there are none."""
        path = self.config.generation.edits_from
        if not path or count <= 0:
            return [], ""
        if self._imported is None:
            self._imported = load_edits(path)  # once per session; ImportedEditsError names the problem
        found = self._imported.for_passage(passage.title, passage.text)
        name = self._imported.path.name
        if not found:
            return [], f" (passage not in {name})"
        if taken >= len(found):
            return [], f" (the {len(found)} self-edits in {name} are used)"
        return found[taken : taken + count], ""

    def _store_imported(
        self, passage: Passage, existing: int, texts: list[str], on_event: ev.OnEvent, stop: Event | None
    ) -> list[SelfEdit]:
        """Store the file's self-edits with the events generation sends, so cards fill alike."""
        assert self._imported is not None  # texts came from it (_from_file)
        name = self._imported.path.name
        on_event(ev.Stage("generate", f"{len(texts)} self-edits from {name}", passage.id))
        started, made = time.perf_counter(), []
        for index, text in enumerate(texts, start=existing):
            if stop is not None and stop.is_set():
                break
            on_event(ev.Token(passage.id, index, text))
            edit = self.store.add_self_edit(passage.id, IMPORTED, text, writer=f"file: {name}")
            made.append(edit)
            on_event(ev.CandidateDone(passage.id, index, edit.id, edit.text, estimate_tokens(text), 0.0))
        self.timings["generate"] += time.perf_counter() - started
        if len(made) == len(texts) and self.store.passage(passage.id).status == "new":
            self.store.set_passage_status(passage.id, "edits")
        return made

    def _sampling(self, index: int) -> GenerationConfig:
        """A fixed seed still gives each candidate its own sample (seed + index)."""
        gen = self.config.generation
        return gen if gen.seed is None else replace(gen, seed=gen.seed + index)

    @writes
    def regenerate(
        self, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
    ) -> list[SelfEdit]:
        """Reject the passage's undecided candidates and sample fresh ones in their place."""
        for edit in self.store.self_edits(passage.id, status="pending"):
            self.store.decide_self_edit(edit.id, "rejected", "person", "regenerated")
        return self.generate(passage, on_event, stop, count=self.config.generation.candidates)
