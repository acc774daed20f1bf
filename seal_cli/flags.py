"""A command's setting flags, made from the engine's declarations (engine.config.SETTINGS), and
the overrides a parsed command line gives: each flag's name, type, help and default are read
from its setting, so none is written here."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.config import PRESETS, SETTINGS, Setting
from engine.config import overrides as preset_overrides
from seal_cli.common import UsageError


def settings_of(command: str) -> list[Setting]:
    return [s for s in SETTINGS.values() if s.command == command]


def add_setting_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """One flag per setting that applies to `command` (`run` also takes --preset)."""
    if command == "run":
        parser.add_argument(
            "--preset", choices=list(PRESETS), help=f"training recipe; flags beside it win: {PRESETS.describe()}"
        )
    for s in settings_of(command):
        kwargs: dict[str, Any] = {"dest": s.dest, "help": s.flag_help()}
        if s.kind is bool:
            kwargs.update(action="store_true", default=None)
        else:
            kwargs.update(type=str if s.nullable or s.path else s.kind, metavar=s.metavar or s.field.upper())
            if s.choices is not None and not s.open:
                kwargs["choices"] = list(s.choices)
            if s.bare is not None:
                kwargs.update(nargs="?", const=s.bare)
        parser.add_argument(s.flag, **kwargs)


def overrides(args: argparse.Namespace, command: str) -> dict:
    """The nested overrides the command line gives (a preset first, each flag over it)."""
    given: dict[str, Any] = {}
    for s in settings_of(command):
        value = getattr(args, s.dest, None)
        if value is not None:
            given[s.key] = _value(s, value)
    return preset_overrides(given, getattr(args, "preset", None))


def _value(s: Setting, value: Any) -> Any:
    """The flag's value as the setting takes it: argparse typed it unless '' may mean None or
    the value is a path to store absolute."""
    if not isinstance(value, str) or not (s.nullable or s.path):
        return value
    if s.bare is not None and Path(value).is_file():  # `--filter-ray paper.md` took the paper as its value
        raise UsageError(f"{s.flag} takes {s.metavar or 'a value'}, not the file {value!r}: give papers first")
    try:
        return s.parse(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
