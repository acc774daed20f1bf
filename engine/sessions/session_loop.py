"""The continual-learning loop of a session: the LoRA update that learns one passage (learn),
the whole cycle for one passage (step), and every passage not yet learned (run). Plain
functions of a Session, which Session.learn, Session.step and Session.run call.

For each passage, in order: candidates are generated (streamed as Token events), gated,
accepted by policy or by a person; a LoRA update continues from the current adapter (with
per-paper adapters, from the passage's own paper's: engine.sessions.routing); then every passage seen
so far is re-scored, which fills one row of the forgetting matrix. Every step commits to the
store before the next begins, so a killed run resumes where it stopped with nothing accepted
lost. Long steps honour a stop Event.
"""

from __future__ import annotations

from dataclasses import asdict
from threading import Event
from typing import TYPE_CHECKING

from engine.learning import editor
from engine import events as ev
from engine.domain import Passage, Update
from engine.faults import crash_point
from engine.recovery import saved, saving
from engine.sessions.session_access import writes
from engine.sessions.session_scoring import fill_scores, score, score_drift
from engine.sessions.session_writing import generate
from engine.learning.training_examples import repeat_passage

if TYPE_CHECKING:
    from engine.sessions.session import Session


@writes
def learn(
    session: Session, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
) -> Update | None:
    """One LoRA update on the passage's accepted edits, continuing from start_version.
    Returns None when cancelled; the previous version then stays current. The decisions
    and texts read at the start are the ones trained and recorded, whatever changes
    while it trains."""
    accepted = session.store.self_edits(passage.id, status="accepted")
    examples = session.examples_for(passage, accepted)
    record = {
        "edit_ids": [e.id for e in accepted],
        "edits": {str(e.id): e.text for e in accepted},
        "deciders": {str(e.id): e.decided_by for e in accepted},
        "lines": {str(e.id): list(session.training_lines(passage, e)) for e in accepted},
    }  # what trained, as it stood: the history reads these, whatever is decided later
    record["model"] = session.runtime.identity()
    version = session.start_version(passage)
    train = session.config.train
    replayed = session.replay_examples(passage, round(session.config.replay * len(examples)), version)
    on_event(ev.Training(passage.id, len(examples), len(replayed), train.passage_repeats, train.epochs))
    trained = repeat_passage(examples, train.passage_repeats) + replayed
    examples = examples + replayed

    def on_step(step, total, epoch, loss, seconds):
        on_event(ev.TrainStep(step, total, epoch, loss, seconds))

    result = session.runtime.train(
        session.adapter_for(version), trained, train, on_step, stop, guards=session.guards(passage)
    )
    session.timings["train"] += result.seconds
    if result.cancelled:
        on_event(ev.Cancelled("update"))
        return None
    crash_point("trained")
    epoch_scores = tuple(round(x, 4) for x in result.epoch_scores)
    drift_scores = tuple(round(x, 4) for x in result.drift_scores)
    check = {}
    if result.kept_epoch is not None:
        check = {
            "kept_epoch": result.kept_epoch,
            "epoch_scores": list(epoch_scores),
            "drift_scores": list(drift_scores),
        }
    kept = ev.EpochKept(passage.id, train.epochs, result.kept_epoch, epoch_scores, drift_scores, train.drift_guard)
    if kept.detail:
        on_event(kept)
    new_version = max([0] + [u.version for u in session.updates()]) + 1
    folder = session.runtime.save_adapter(saving(session.home / session.name / "adapters" / f"v{new_version:04d}"))
    crash_point("adapter-saved")
    update = session.store.add_update(
        session.info.id,
        passage.id,
        new_version,
        {**asdict(train), "replay": session.config.replay, **record, **check},
        result.losses,
        session.path_in_home(folder),
        result.seconds,
        len(examples),
        parent_version=version,
    )
    saved(folder)
    crash_point("update-committed")
    on_event(ev.UpdateDone(update.id, new_version, passage.id, result.losses[0], result.losses[-1], result.seconds))
    session.sync_generation(on_event, passage)
    return update


@writes
def step(
    session: Session, passage: Passage, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
) -> Update | None:
    """The whole cycle for one passage; resumes from whatever part is already stored."""
    seen = [p for p in session.passages() if p.position <= passage.position]
    score(session, 0, seen, on_event, stop)
    score_drift(session, 0, on_event)
    score(session, session.current_version, [passage], on_event, stop)
    if stop is not None and stop.is_set():
        return None
    if session.store.passage(passage.id).status == "new":
        generate(session, passage, on_event, stop)
        if stop is not None and stop.is_set():
            on_event(ev.Cancelled("generation"))
            return None
    session.apply_policy(passage, on_event, stop=stop)
    if stop is not None and stop.is_set():
        on_event(ev.Cancelled("reward filter"))
        return None
    update = learn(session, passage, on_event, stop)
    if update is not None:
        score(session, update.version, seen, on_event, stop)
        score_drift(session, update.version, on_event)
        editor.maybe_auto_round(session, on_event, stop)
    return update


@writes
def run(session: Session, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None) -> list[Update]:
    """Learn every passage not yet learned, in order, and make sure scores are complete.
    An automatic editor round that was due when a run was killed runs before the next
    candidates are written (engine.sessions.session_writing.generate), or at the end."""
    made = []
    for passage in session.passages():
        if stop is not None and stop.is_set():
            break
        if passage.status == "learned":
            continue
        update = step(session, passage, on_event, stop)
        if update is not None:
            made.append(update)
    if stop is None or not stop.is_set():
        editor.maybe_auto_round(session, on_event, stop)
    fill_scores(session, on_event, stop)
    return made
