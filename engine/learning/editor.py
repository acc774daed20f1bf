"""The self-improving editor: ReST-EM's outer loop, done locally.

A round trains a fresh editor adapter on the session's kept (passage prompt -> self-edit)
pairs, best reward first per passage, with the loss on the self-edit only. llama.cpp then
applies it beside the knowledge adapter whenever the model writes self-edits, and every
candidate records the round that helped write it, so each round's acceptance and reward
can be compared with the round before. Rounds run on demand or after every N learned
passages; each is trained from scratch on all pairs kept so far.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from threading import Event

from engine import events as ev
from engine.domain import EditorRound, Passage, SelfEdit
from engine.faults import crash_point
from engine.recovery import saved, saving
from engine.selfedits.selfedit import StrategyError, build_messages, resolve_strategy


class EditorError(Exception):
    """An editor round cannot run; the message says why and what would let it."""


@dataclass(frozen=True)
class RoundStats:
    """What the candidates written with one editor (or none) came to."""

    candidates: int
    decided: int
    accepted: int
    rewards: int
    """How many of them the reward filter scored."""
    mean_reward: float | None

    @property
    def acceptance(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


def kept_edits(session, per_passage: int | None = None) -> list[tuple[Passage, SelfEdit]]:
    """Per passage, its accepted self-edits best reward first (unscored ones after, oldest
    first), at most `per_passage` (default: the session's editor.per_passage)."""
    limit = per_passage or session.config.editor.per_passage
    out = []
    for passage in session.passages():
        accepted = [e for e in session.self_edits(passage.id) if e.status == "accepted"]
        accepted.sort(key=lambda e: (e.reward is None, -(e.reward or 0.0), e.id))
        out += [(passage, e) for e in accepted[:limit]]
    return out


def training_pairs(session, kept: list[tuple[Passage, SelfEdit]]) -> list[tuple[SelfEdit, tuple[str, str]]]:
    """(edit, (chat prompt, self-edit text)) for each kept edit whose strategy is known."""
    strategies = {session.strategy.name: session.strategy}
    out = []
    for passage, edit in kept:
        if edit.strategy not in strategies:
            try:
                strategies[edit.strategy] = resolve_strategy(edit.strategy)
            except StrategyError:
                continue  # written by a template file this session no longer has
        messages = build_messages(strategies[edit.strategy], passage.title, passage.text)
        out.append((edit, (session.runtime.chat_prompt(messages), edit.text)))
    return out


def check_enough(kept: int, min_pairs: int) -> None:
    """Raise EditorError when `kept` pairs are too few for a round."""
    if kept < min_pairs:
        raise EditorError(
            f"an editor round needs at least {min_pairs} kept self-edits; this session has "
            f"{kept} (accept more candidates and learn their passages, or lower editor.min_pairs)"
        )


def current_round(session) -> EditorRound | None:
    """The round generation writes with: the newest, unless the editor's scale is 0."""
    rounds = session.editor_rounds()
    return rounds[-1] if rounds and session.config.editor.scale > 0 else None


def run_round(
    session, trigger: str = "person", on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
) -> EditorRound | None:
    """Train and store a new editor round, then generate with it. None when cancelled."""
    config = session.config.editor
    pairs = training_pairs(session, kept_edits(session))
    check_enough(len(pairs), config.min_pairs)
    rounds = session.editor_rounds()
    number = (rounds[-1].number if rounds else 0) + 1
    # a prompt holds a whole passage and its instructions: room for it and a long self-edit
    train = replace(
        session.config.train, epochs=config.epochs, lr=config.lr, max_length=max(session.config.train.max_length, 1024)
    )
    on_event(ev.EditorTraining(number, len(pairs), train.epochs))

    def on_step(step, total, epoch, loss, seconds):
        on_event(ev.TrainStep(step, total, epoch, loss, seconds))

    result = session.runtime.train(None, [pair for _, pair in pairs], train, on_step, stop)
    if result.cancelled:
        on_event(ev.Cancelled("editor round"))
        return None
    folder = session.runtime.save_adapter(saving(session.home / session.name / "editor" / f"r{number:03d}"))
    crash_point("editor-saved")
    learned = sum(p.status == "learned" for p in session.passages())
    params = {
        "epochs": train.epochs,
        "lr": train.lr,
        "rank": train.rank,
        "alpha": train.alpha,
        "per_passage": config.per_passage,
    }
    made = session.add_editor_round(
        trigger,
        [e.id for e, _ in pairs],
        params,
        result.losses,
        session.path_in_home(folder),
        result.seconds,
        learned,
    )
    saved(folder)
    on_event(ev.EditorRoundDone(made.number, len(pairs), trigger, result.losses[0], result.losses[-1], result.seconds))
    session.sync_generation(on_event)
    return made


def auto_round_due(session) -> bool:
    """True when `editor.every` passages have been learned since the last round."""
    every = session.config.editor.every
    if every <= 0:
        return False
    rounds = session.editor_rounds()
    learned = sum(p.status == "learned" for p in session.passages())
    return learned - (rounds[-1].learned_passages if rounds else 0) >= every


def maybe_auto_round(session, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None) -> EditorRound | None:
    """Run an automatic round when one is due and enough pairs are kept."""
    if not auto_round_due(session):
        return None
    try:
        return run_round(session, "auto", on_event, stop)
    except EditorError as exc:
        on_event(ev.EditorSkipped(str(exc)))
        return None


def round_stats(session) -> dict[int | None, RoundStats]:
    """Per editor round (None: before any round), the stats of the candidates it wrote."""
    groups: dict[int | None, list[SelfEdit]] = {None: []}
    for r in session.editor_rounds():
        groups[r.number] = []
    for passage in session.passages():
        for e in session.self_edits(passage.id):
            groups.setdefault(e.editor_round, []).append(e)
    out = {}
    for number, edits in groups.items():
        rewards = [e.reward for e in edits if e.reward is not None]
        out[number] = RoundStats(
            candidates=len(edits),
            decided=sum(e.status != "pending" for e in edits),
            accepted=sum(e.status == "accepted" for e in edits),
            rewards=len(rewards),
            mean_reward=sum(rewards) / len(rewards) if rewards else None,
        )
    return out
