"""Scoring a session: probe scores per version, the model's greedy answers, the drift set, and
the forgetting matrix built from them. Plain functions of a Session (its store, config,
runtime, passages, updates and routing), which the Session's methods of the same names call."""

from __future__ import annotations

import time
from dataclasses import replace
from threading import Event
from typing import TYPE_CHECKING

from engine import events as ev
from engine.domain import Passage, Score
from engine.learning.drift import PARTS as DRIFT_PARTS
from engine.learning.drift import DriftAnswer, drift_items, drift_questions
from engine.scores.evaluate import Matrix, build_matrix, contains_match, probe_text, token_f1
from engine.faults import crash_point
from engine.papers.probes import family as family_of
from engine.sessions.session_access import writes

if TYPE_CHECKING:
    from engine.sessions.session import Session


@writes
def set_greedy_answers(session: Session, on: bool) -> None:
    """Score the model's greedy answers from now on (or stop); stored with the session.
    Scores made before keep what they have (fill_answers adds the missing answers)."""
    config = replace(session.config, greedy_answers=on)
    session.store.update_session_config(session.info.id, config.to_dict())
    session.config = config


def missing_answers(session: Session) -> dict[int, list[Passage]]:
    """version -> the passages whose scores at that version have no greedy answer yet."""
    passages = {p.id: p for p in session.passages()}
    out: dict[int, list[Passage]] = {}
    for s in session.store.scores(session.info.id):
        if s.answer is None and s.passage_id in passages and passages[s.passage_id] not in out.get(s.version, []):
            out.setdefault(s.version, []).append(passages[s.passage_id])
    return out


@writes
def fill_answers(session: Session, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None) -> int:
    """Score the greedy answers that scores made without them lack (a session that
    turned answers on later), version by version, each with the adapter that scored its
    NLL; stops between versions when asked. Returns how many answers it added."""
    added = 0
    for version, passages in sorted(missing_answers(session).items()):
        if stop is not None and stop.is_set():
            break
        stored = {(s.probe_id, s.passage_id): s for s in session.store.scores(session.info.id, version)}
        on_event(ev.ScoringAnswers(version, sum(len(p.probes) for p in passages)))
        served = session.serving(version, passages)
        filled = []
        for by in sorted(set(served.values())):
            probes = [(p, q) for p in passages if served[p.id] == by for q in p.probes if (q.id, p.id) in stored]
            prompts = [probe_text(p.title, q.kind, q.question) for p, q in probes]
            answers = session.runtime.greedy_answers(session.adapter_for(by), by == 0, prompts)
            filled += [
                replace(stored[(q.id, p.id)], f1=token_f1(a, q.answer), contains=contains_match(a, q.answer), answer=a)
                for (p, q), a in zip(probes, answers)
            ]
        session.store.add_scores(session.info.id, filled)
        added += len(filled)
    return added


def drift_detail(session: Session, version: int) -> list[DriftAnswer]:
    """Each report question of the drift set under the base model and under `version`
    (its answer NLL, and the greedy answers when the session scores them): what the
    heatmap's drift column averages, computed now (the store keeps only the means)."""
    questions, items = drift_questions("report"), drift_items("report")
    adapter = session.adapter_for(version)
    base = session.runtime.answer_nll(None, True, items)
    now = base if version == 0 else session.runtime.answer_nll(adapter, False, items)
    said: tuple[list, list] = ([None] * len(items), [None] * len(items))
    if session.config.greedy_answers:
        prompts = [prompt for prompt, _ in items]
        before = session.runtime.greedy_answers(None, True, prompts)
        said = (before, before if version == 0 else session.runtime.greedy_answers(adapter, False, prompts))
    return [
        DriftAnswer(topic, question, answer, b, v, sb, sv)
        for (topic, question, answer), b, v, sb, sv in zip(questions, base, now, *said)
    ]


def families(session: Session) -> list[str]:
    """The probe families this session's passages have held-out probes of, the one the
    heatmap shows first leading: questions where a passage came with its own (or the
    model wrote some), else recall (BENCHMARKS.md: what each kind shows)."""
    kinds = {q.kind for p in session.passages() for q in p.probes if q.role == "heldout"}
    found = [f for f in ("question", "recall") if any(family_of(k) == f for k in kinds)]
    if "recall" in found and not kinds & {"given", "qa"}:
        found.sort(key=lambda f: f != "recall")
    return found or ["question"]


def matrix(session: Session, metric: str = "answer_nll", family: str | None = None) -> Matrix:
    """The forgetting matrix under a metric of engine.scores.metrics, from the held-out probes of
    one family (engine.papers.probes.FAMILIES; None: the one shown first, families()[0])."""
    family = family or families(session)[0]
    updates = session.updates()
    versions = [0] + [u.version for u in updates]
    learned = {u.passage_id: u.version for u in updates if u.status == "active"}
    passages = session.passages()
    heldout = {
        q.id: q.answer for p in passages for q in p.probes if q.role == "heldout" and family_of(q.kind) == family
    }
    scores = [s for s in session.store.scores(session.info.id) if s.probe_id in heldout]
    matrix = build_matrix(scores, versions, [p.id for p in passages], learned, metric, gold=heldout)
    matrix.family = family
    matrix.abandoned = {u.version for u in updates if u.status == "abandoned"}
    matrix.drift = {
        v: parts["report"] for v, parts in session.store.drift(session.info.id).items() if "report" in parts
    }
    return matrix


@writes
def score(
    session: Session, version: int, passages: list[Passage], on_event: ev.OnEvent = ev.ignore, stop: Event | None = None
) -> dict[int, float]:
    """Score the probes of the given passages under a version; stores and returns mean NLL
    per passage. With per-paper adapters each passage is scored by serving(version)."""
    done = session.store.scored_versions(session.info.id)
    todo = [p for p in passages if (version, p.id) not in done and p.probes]
    if not todo:
        return {}
    on_event(ev.Scoring(version, sum(len(p.probes) for p in todo)))
    started = time.perf_counter()
    served = session.serving(version, todo)
    scores = []
    for by in sorted(set(served.values())):  # shared: one group, scored by `version` itself
        probes = [(p, probe) for p in todo if served[p.id] == by for probe in p.probes]
        prompts = [probe_text(p.title, probe.kind, probe.question) for p, probe in probes]
        adapter = session.adapter_for(by)
        nll = session.runtime.answer_nll(adapter, by == 0, list(zip(prompts, [pr.answer for _, pr in probes])))
        answers = (
            session.runtime.greedy_answers(adapter, by == 0, prompts)
            if session.config.greedy_answers
            else [None] * len(probes)
        )
        scores += [
            Score(
                version,
                probe.id,
                p.id,
                value,
                None if ans is None else token_f1(ans, probe.answer),
                None if ans is None else contains_match(ans, probe.answer),
                ans,
            )
            for (p, probe), value, ans in zip(probes, nll, answers)
        ]
    session.store.add_scores(session.info.id, scores)
    crash_point("scored")
    seconds = time.perf_counter() - started
    session.timings["score"] += seconds
    means = {}  # what a person sees first: held-out probes of the family shown first
    shown = families(session)[0]
    for p in todo:
        heldout = {q.id for q in p.probes if q.role == "heldout" and family_of(q.kind) == shown}
        values = [s.answer_nll for s in scores if s.passage_id == p.id and (s.probe_id in heldout or not heldout)]
        means[p.id] = sum(values) / len(values)
    on_event(ev.ScoresReady(version, means, seconds))
    return means


@writes
def score_drift(session: Session, version: int, on_event: ev.OnEvent = ev.ignore) -> dict[str, float]:
    """Score a version on both halves of the drift set once; returns {part: mean NLL}.
    With per-paper adapters: the adapter of the update that made `version`, the one that moved."""
    done = session.store.drift(session.info.id).get(version, {})
    if all(part in done for part in DRIFT_PARTS):
        return done
    adapter = session.adapter_for(version)
    out = {}
    for part in DRIFT_PARTS:
        values = session.runtime.answer_nll(adapter, version == 0, drift_items(part))
        out[part] = sum(values) / len(values)
        session.store.add_drift(session.info.id, version, part, out[part])
    on_event(ev.DriftScored(version, out["report"]))
    return out


@writes
def fill_scores(session: Session, on_event: ev.OnEvent = ev.ignore, stop: Event | None = None) -> None:
    """Score what a killed run left unscored: each version on the passages seen by then."""
    passages = session.passages()
    learned = {u.version: u.passage_id for u in session.updates()}
    for version, passage_id in learned.items():
        position = next(p.position for p in passages if p.id == passage_id)
        score(session, version, [p for p in passages if p.position <= position], on_event, stop)
        if stop is None or not stop.is_set():
            score_drift(session, version, on_event)
