"""Writing a session's candidate self-edits: sampled from the model (streamed), or taken from
a file of someone else's (generation.edits_from), and how each strategy's candidates fared.
Plain functions of a Session (its store, config, runtime, strategy and generation model),
which the Session's methods of the same names call."""

from __future__ import annotations

import time
from dataclasses import replace
from threading import Event
from typing import TYPE_CHECKING

from engine.learning import editor
from engine import events as ev
from engine.config import GenerationConfig
from engine.domain import Passage, SelfEdit
from engine.selfedits.imported_edits import IMPORTED, load_edits
from engine.papers.passages import estimate_tokens
from engine.selfedits.selfedit import build_messages
from engine.sessions.session_access import writes

if TYPE_CHECKING:
    from engine.runtime.protocol import Runtime
    from engine.sessions.session import Session


def _writer_error() -> type[Exception]:
    """A served writer's failure (engine.runtime.served), imported only when writing fails:
    http.client is slow to import, and the local model never raises it."""
    from engine.runtime.served import WriterError

    return WriterError


@writes
def generate(
    session: Session,
    passage: Passage,
    on_event: ev.OnEvent = ev.ignore,
    stop: Event | None = None,
    count: int | None = None,
) -> list[SelfEdit]:
    """Sample `count` new candidates (default: those still missing of the configured K),
    streaming tokens; each is stored as soon as it is complete. Returns the new ones.
    With generation.edits_from, a passage found in that file takes up to `count` of the
    file's completions not yet stored instead (strategy "imported"); the model writes only
    for a passage not in the file, or once all of its completions are stored.
    A served writer that fails (WriterError) ends generation with a CandidateFailed event and
    the error raised: its half-written candidate is not stored, and the passage's status
    stays until all of its candidates are, so asking again writes the missing ones."""
    store = session.store
    stored = store.self_edits(passage.id)
    existing = len(stored)
    if count is None:
        count = max(0, session.config.generation.candidates - existing)
    imported, file, in_file = _from_file(session, passage, sum(e.strategy == IMPORTED for e in stored), count)
    if imported:
        return _store_imported(session, passage, existing, imported, on_event, stop)
    editor.maybe_auto_round(session, on_event, stop)  # one due when a run was killed writes these
    version = session.sync_generation(on_event, passage)
    messages = build_messages(session.strategy, passage.title, passage.text)
    current = editor.current_round(session)
    writer = None if current is None else current.number
    on_event(ev.Generating(passage.id, count, writer, file, in_file=in_file))
    started, made = time.perf_counter(), []
    for index in range(existing, existing + count):
        if stop is not None and stop.is_set():
            break
        t0, pieces = time.perf_counter(), []
        try:
            for piece in session.runtime.stream_chat(messages, _sampling(session.config.generation, index), stop):
                pieces.append(piece)
                on_event(ev.Token(passage.id, index, piece))
        except _writer_error() as exc:
            on_event(ev.CandidateFailed(passage.id, index, str(exc)))
            raise
        if stop is not None and stop.is_set():
            break  # a half-written candidate is dropped, not stored
        edit = store.add_self_edit(
            passage.id,
            session.strategy.name,
            "".join(pieces).strip(),
            editor_round=writer,
            writer=_writer(session.runtime, version),
        )
        made.append(edit)
        on_event(ev.CandidateDone(passage.id, index, edit.id, edit.text, len(pieces), time.perf_counter() - t0))
    session.timings["generate"] += time.perf_counter() - started
    if len(made) == count and store.passage(passage.id).status == "new":
        store.set_passage_status(passage.id, "edits")
    return made


def _writer(runtime: Runtime, version: int) -> str:
    """Who writes, as a stored self-edit records it: a served writer's own description,
    else the local model at the version generation uses."""
    return runtime.who(version)


def _from_file(session: Session, passage: Passage, taken: int, count: int) -> tuple[list[str], str, int]:
    """The edits file's completions [taken, taken + count) for this passage (`taken`: those
    already stored), with the file's name; when there are none, the file's name and how many
    it has for the passage (0: none), which the Generating event names to say why the model
    writes instead. ("", 0 when no file was read.)"""
    path = session.config.generation.edits_from
    if not path or count <= 0:
        return [], "", 0
    if session.edits_file is None:
        session.edits_file = load_edits(path)  # once per session; ImportedEditsError names the problem
    found = session.edits_file.for_passage(passage.title, passage.text)
    name = session.edits_file.path.name
    if taken >= len(found):
        return [], name, len(found)
    return found[taken : taken + count], name, len(found)


def _store_imported(
    session: Session, passage: Passage, existing: int, texts: list[str], on_event: ev.OnEvent, stop: Event | None
) -> list[SelfEdit]:
    """Store the file's self-edits with the events generation sends, so cards fill alike."""
    assert session.edits_file is not None  # texts came from it (_from_file)
    store, name = session.store, session.edits_file.path.name
    on_event(ev.Generating(passage.id, len(texts), edits_file=name, from_file=True))
    started, made = time.perf_counter(), []
    for index, text in enumerate(texts, start=existing):
        if stop is not None and stop.is_set():
            break
        on_event(ev.Token(passage.id, index, text))
        edit = store.add_self_edit(passage.id, IMPORTED, text, writer=f"file: {name}")
        made.append(edit)
        on_event(ev.CandidateDone(passage.id, index, edit.id, edit.text, estimate_tokens(text), 0.0))
    session.timings["generate"] += time.perf_counter() - started
    if len(made) == len(texts) and store.passage(passage.id).status == "new":
        store.set_passage_status(passage.id, "edits")
    return made


def _sampling(gen: GenerationConfig, index: int) -> GenerationConfig:
    """A fixed seed still gives each candidate its own sample (seed + index)."""
    return gen if gen.seed is None else replace(gen, seed=gen.seed + index)


@writes
def regenerate(
    session: Session, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
) -> list[SelfEdit]:
    """Reject the passage's undecided candidates and sample fresh ones in their place."""
    for edit in session.store.self_edits(passage.id, status="pending"):
        session.store.decide_self_edit(edit.id, "rejected", "person", "regenerated")
    return generate(session, passage, on_event, stop, count=session.config.generation.candidates)


def strategy_stats(session: Session) -> dict[str, dict]:
    """Per strategy: candidates written, accepted, acceptance rate, mean filter reward."""
    stats: dict[str, dict] = {}
    for passage in session.passages():
        for e in session.store.self_edits(passage.id):
            row = stats.setdefault(e.strategy, {"candidates": 0, "accepted": 0, "rewards": []})
            row["candidates"] += 1
            row["accepted"] += e.status == "accepted"
            if e.reward is not None:
                row["rewards"].append(e.reward)
    for row in stats.values():
        rewards = row.pop("rewards")
        row["acceptance"] = row["accepted"] / row["candidates"]
        row["mean_reward"] = sum(rewards) / len(rewards) if rewards else None
    return stats
