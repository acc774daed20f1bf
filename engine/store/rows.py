"""Rows -> domain dataclasses, plus the vocabularies the store accepts and their checks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import fields
from datetime import UTC, datetime
from typing import TypeVar

from engine.domain import EditorRound, Passage, Probe, Score, SelfEdit, SessionInfo, Update
from engine.papers.probes import ROLES
from engine.papers.probes import STORED_KINDS as PROBE_KINDS

T = TypeVar("T")


class StoreError(Exception):
    """A write the store refuses (bad value, missing row, duplicate), with a message for people."""


PASSAGE_STATUSES = ("new", "edits", "learned")
# PROBE_KINDS and ROLES are engine.papers.probes's: how probes are made decides what a stored one may be.
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


def _from_row(cls: type[T], row: sqlite3.Row, **computed: object) -> T:
    """A domain dataclass from its row: each field from the column of the same name, unless
    given in `computed` (decoded JSON, defaults); a field with no column keeps its default."""
    columns = set(row.keys())
    values = {
        f.name: computed[f.name] if f.name in computed else row[f.name]
        for f in fields(cls)  # type: ignore[arg-type]  # T is always one of engine.domain's dataclasses
        if f.name in computed or f.name in columns
    }
    return cls(**values)


def _json_losses(row: sqlite3.Row) -> tuple[float, ...]:
    return tuple(float(x) for x in json.loads(row["losses"]))


def session_info(row: sqlite3.Row) -> SessionInfo:
    keys = row.keys()
    return _from_row(
        SessionInfo,
        row,
        config=json.loads(row["config"]),
        passages=row["passages"] if "passages" in keys else 0,
        updates=row["updates"] if "updates" in keys else 0,
    )


def probe(row: sqlite3.Row) -> Probe:
    return _from_row(Probe, row)


def passage(row: sqlite3.Row, probes: tuple[Probe, ...] = ()) -> Passage:
    return _from_row(Passage, row, probes=probes)


def self_edit(row: sqlite3.Row) -> SelfEdit:
    return _from_row(SelfEdit, row)


def update(row: sqlite3.Row) -> Update:
    return _from_row(Update, row, params=json.loads(row["params"]), losses=_json_losses(row))


def score(row: sqlite3.Row) -> Score:
    return _from_row(Score, row)


def editor_round(row: sqlite3.Row) -> EditorRound:
    return _from_row(
        EditorRound,
        row,
        edit_ids=tuple(json.loads(row["edit_ids"])),
        params=json.loads(row["params"]),
        losses=_json_losses(row),
    )
