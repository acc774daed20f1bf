"""The key tables a person reads (README, the help screen) list exactly the keys the app binds."""

import re
from pathlib import Path

from textual.binding import Binding

from seal_tui.app import SealApp
from seal_tui.screens.help import HELP
from seal_tui.screens.session import SessionScreen
from seal_tui.widgets.candidate_card import CandidateCard

README = Path(__file__).resolve().parents[1] / "README.md"
NOT_KEYS = {"arrows on the heatmap"}
"""Rows that name a gesture rather than a binding."""
DISPLAY = {"escape": "Esc", "question_mark": "?"}


def bound() -> set[str]:
    """Every key a person can press on the session screen with a description, as tables write it."""
    keys = set()
    for binding in [*SessionScreen.BINDINGS, *CandidateCard.BINDINGS, *SealApp.BINDINGS]:
        assert isinstance(binding, Binding)  # the screens declare Binding objects, not tuples
        if binding.description and binding.key not in ("up", "down"):
            for key in binding.key.split(","):
                keys.add(DISPLAY.get(key, key))
    return keys | {"ctrl+p"}  # Textual's command palette


def table_keys(text: str) -> set[str]:
    """The keys of the first markdown table whose header is `| key | what it does |`."""
    table = text.split("| key | what it does |", 1)[1].split("\n\n", 1)[0]
    keys = set()
    for row in table.splitlines()[2:]:
        cell = row.split("|")[1].strip()
        if cell in NOT_KEYS or not cell:
            continue
        keys |= set(re.findall(r"`([^`]+)`", cell))
    return keys


def test_the_readme_lists_every_bound_key_and_no_other():
    assert table_keys(README.read_text(encoding="utf-8")) == bound()


def test_the_help_screen_lists_every_bound_key_and_no_other():
    assert table_keys(HELP) == bound()
