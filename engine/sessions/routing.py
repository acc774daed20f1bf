"""Which version's adapter serves a passage, under the session's adapters mode.

shared: one chain. Every update continues from the session's current version, the path of
a version is it and its parents, and every passage is scored by the version asked for.
per-paper: one chain per paper, each from the base model. An update continues from the
newest update of its own paper on the current path (its parent_version); the path of a
version is its parents plus every other paper's active updates up to it; a passage is
scored at version v by its paper's newest update on v's path (0: the base model), so
learning one paper cannot move another paper's scores.
"""

from __future__ import annotations

from engine.domain import Passage, Update


def parents(updates: list[Update], version: int) -> set[int]:
    """`version` and the versions it continued from, down to the base model (0, left out;
    so is a version the session does not have)."""
    parent = {u.version: u.parent_version for u in updates}
    out = set()
    while version in parent:
        out.add(version)
        version = parent[version]
    return out


def path(updates: list[Update], version: int, mode: str) -> set[int]:
    """The versions that make up the model at `version`: those a rollback to it keeps active."""
    out = parents(updates, version)
    if mode == "per-paper":
        out |= {u.version for u in updates if u.status == "active" and u.version <= version}
    return out


def serving(
    updates: list[Update], paper_of: dict[int, int], passages: list[Passage], version: int, mode: str
) -> dict[int, int]:
    """passage id -> the version whose adapter serves it at `version` (paper_of: passage id ->
    paper id, for every passage of the session)."""
    if mode == "shared":
        return {p.id: version for p in passages}
    learned = {u.version: u.passage_id for u in updates}
    newest = {paper_of[learned[v]]: v for v in sorted(path(updates, version, mode))}
    return {p.id: newest.get(p.paper_id, 0) for p in passages}
