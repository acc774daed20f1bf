"""Rows -> domain dataclasses, plus the vocabularies the store accepts and their checks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from datetime import UTC, datetime

from engine.domain import EditorRound, Passage, Probe, Score, SelfEdit, SessionInfo, Update
from engine.probes import KINDS as PROBE_KINDS
from engine.probes import ROLES


class StoreError(Exception):
    """A write the store refuses (bad value, missing row, duplicate), with a message for people."""


PASSAGE_STATUSES = ("new", "edits", "learned")
# PROBE_KINDS and ROLES are engine.probes's: how probes are made decides what a stored one may be.
SELF_EDIT_STATUSES = ("pending", "accepted", "rejected")
DECIDERS = ("person", "heuristic", "policy", "filter")
ROUND_TRIGGERS = ("person", "auto")


def now() -> str:
    """UTC timestamp in ISO 8601, e.g. 2025-01-31T12:00:00.123+00:00."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def check_one_of(what: str, value: object, allowed: Collection[str]) -> None:
    if value not in allowed:
        raise StoreError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")


def check_decision(status: str, decided_by: str | None) -> None:
    """A pending self-edit has no decider; an accepted or rejected one names who decided."""
    check_one_of("self-edit status", status, SELF_EDIT_STATUSES)
    if status == "pending":
        if decided_by is not None:
            raise StoreError(f"a pending self-edit has no decider, got decided_by={decided_by!r}")
    else:
        check_one_of("decided_by", decided_by, DECIDERS)


def checked_probe(item: object) -> tuple[str, str, str, str]:
    """A probe as given to add_paper: (kind, question, answer[, role]), all strings, a known
    kind and role (held out when not given)."""
    if not (isinstance(item, tuple | list) and len(item) in (3, 4) and all(isinstance(x, str) for x in item)):
        raise StoreError(f"a probe must be (kind, question, answer[, role]) strings, got {item!r}")
    check_one_of("probe kind", item[0], PROBE_KINDS)
    role = item[3] if len(item) == 4 else "heldout"
    check_one_of("probe role", role, ROLES)
    return (*item[:3], role)


def to_json(value: object) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"value is not JSON-serialisable: {exc}") from None


def session_info(row: sqlite3.Row) -> SessionInfo:
    keys = row.keys()
    return SessionInfo(
        id=row["id"],
        name=row["name"],
        config=json.loads(row["config"]),
        current_version=row["current_version"],
        created_at=row["created_at"],
        passages=row["passages"] if "passages" in keys else 0,
        updates=row["updates"] if "updates" in keys else 0,
    )


def probe(row: sqlite3.Row) -> Probe:
    return Probe(
        id=row["id"],
        passage_id=row["passage_id"],
        kind=row["kind"],
        question=row["question"],
        answer=row["answer"],
        role=row["role"],
    )


def passage(row: sqlite3.Row, probes: tuple[Probe, ...] = ()) -> Passage:
    return Passage(
        id=row["id"],
        paper_id=row["paper_id"],
        position=row["position"],
        title=row["title"],
        text=row["text"],
        status=row["status"],
        probes=probes,
    )


def self_edit(row: sqlite3.Row) -> SelfEdit:
    return SelfEdit(
        id=row["id"],
        passage_id=row["passage_id"],
        strategy=row["strategy"],
        text=row["text"],
        status=row["status"],
        decided_by=row["decided_by"],
        reason=row["reason"],
        reward=row["reward"],
        damage=row["damage"],
        editor_round=row["editor_round"],
        original_text=row["original_text"],
    )


def update(row: sqlite3.Row) -> Update:
    return Update(
        id=row["id"],
        version=row["version"],
        passage_id=row["passage_id"],
        params=json.loads(row["params"]),
        losses=tuple(float(x) for x in json.loads(row["losses"])),
        adapter_path=row["adapter_path"],
        seconds=row["seconds"],
        examples=row["examples"],
        parent_version=row["parent_version"],
        status=row["status"],
    )


def score(row: sqlite3.Row) -> Score:
    return Score(
        version=row["version"],
        probe_id=row["probe_id"],
        passage_id=row["passage_id"],
        answer_nll=row["answer_nll"],
        f1=row["f1"],
        contains=row["contains"],
        answer=row["answer"],
    )


def editor_round(row: sqlite3.Row) -> EditorRound:
    return EditorRound(
        id=row["id"],
        number=row["number"],
        trigger=row["trigger"],
        edit_ids=tuple(json.loads(row["edit_ids"])),
        params=json.loads(row["params"]),
        losses=tuple(float(x) for x in json.loads(row["losses"])),
        adapter_path=row["adapter_path"],
        seconds=row["seconds"],
        learned_passages=row["learned_passages"],
        created_at=row["created_at"],
    )
