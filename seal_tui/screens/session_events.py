"""What the session screen shows of the engine's events as its workers post them: the
cards filling and being decided, the update's progress lines, and notifications of what
finished. Called from the screen's EngineEvent handler only, so widgets change on the UI
thread; each event's words come from its fields (a Stage's from its `detail`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from engine import events as ev
from engine.domain import version_label
from seal_tui.widgets.candidate_list import CandidateList
from seal_tui.widgets.update_progress import UpdateProgress

if TYPE_CHECKING:
    from seal_tui.screens.session import SessionScreen


def show_event(screen: SessionScreen, event: ev.Event) -> None:
    cards, progress = screen.query_one(CandidateList), screen.query_one(UpdateProgress)
    progress.engine_event(event, time.monotonic())
    match event:
        case ev.Generating(passage_id=pid):
            if cards.failure is not None and cards.failure.passage_id == pid:
                cards.failure = None  # written again: the failed card gives way
            if pid == screen.passage_id:
                screen.refresh_cards()
            progress.began(event)
        case ev.Stage():
            progress.began(event)
            if isinstance(event, ev.Training | ev.EpochKept):
                screen.decisions.training_began(event.passage_id)
            if isinstance(event, ev.Filtering):
                screen.notify(f"Reward filter: {event.detail}.", title="Estimate")
        case ev.Token(passage_id=pid, index=index, text=text):
            progress.candidate(index)
            if pid == cards.passage_id:
                cards.card(index).append(text)
        case ev.CandidateDone(passage_id=pid, index=index, edit_id=eid, text=text):
            progress.candidate_done(event)
            if pid == cards.passage_id:
                card = cards.card(index)
                card.edit_id, card.text, card.status = eid, text, "pending"
        case ev.CandidateFailed():  # the worker's failure notifies; the card keeps the message
            cards.failed(event)
        case ev.GateDecision(edit_id=eid, accepted=ok, decided_by=by, reason=reason):
            if (decided := cards.by_edit(eid)) is not None:
                decided.decided_by, decided.reason = by, reason
                decided.status = "accepted" if ok else "rejected"
                decided.refresh(layout=True)
        case ev.TrialDone(edit_id=eid, reward=reward, damage=damage):
            progress.trial(event)
            if (tried := cards.by_edit(eid)) is not None:
                tried.scores(reward, damage)
        case ev.RolledBack(version=v, abandoned=gone):
            left = f"; abandoned: {', '.join(f'v{x}' for x in gone)}" if gone else ""
            screen.notify(f"{version_label(v)} is current again{left}.")
        case ev.AdapterSwapped(version=v, seconds=secs):
            progress.note(f"generation now uses {version_label(v)} ({secs:.1f}s)")
        case ev.UpdateDone(version=v, loss_first=a, loss_last=b):
            screen.notify(f"v{v} trained: loss {a:.3f} → {b:.3f}")
        case ev.EditorRoundDone(number=n, pairs=pairs, trigger=trigger, loss_first=a, loss_last=b):
            how = "automatic " if trigger == "auto" else ""
            screen.notify(
                f"Editor round {n} ({how}on {pairs} kept self-edits): loss {a:.3f} → {b:.3f}. "
                "New candidates are written with it; h compares rounds.",
                title="Editor",
            )
            screen.show_subtitle()
        case ev.ScoresReady():
            screen.view.refresh_matrix()
        case ev.Cancelled(what=what):
            again = " Nothing of it is kept: the next update starts over from step 1." if what == "update" else ""
            screen.notify(
                f"The {what} was cancelled; version v{screen.opened_session.current_version} stays.{again}",
                severity="warning",
            )
