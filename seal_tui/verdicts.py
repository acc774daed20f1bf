"""The heuristic gate's verdict on each candidate, shown on its card before anyone decides.

The same check engine.session.Session.apply_policy runs when the update starts; here it
only informs the person (pure Python, milliseconds).
"""
from __future__ import annotations

from engine.domain import Passage, SelfEdit
from engine.selfedit import build_messages, gate


def gate_verdicts(strategy, passage: Passage, edits: list[SelfEdit]) -> dict[int, tuple[bool, str]]:
    if not edits:
        return {}
    prompt_text = "\n".join(m["content"] for m in build_messages(strategy, passage.title, passage.text))
    verdicts = gate([e.text for e in edits], passage.text, prompt_text)
    return {e.id: (v.ok, v.reason) for e, v in zip(edits, verdicts)}
