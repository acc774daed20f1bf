"""Each setting a person can give, declared once beside its config field.

A config field made with `setting(default, help, ...)` is a setting: its name, type and default
are the field's, and the declaration adds what a person reads and types: the help, the flag
(on `seal run` unless `command` names another), the new-session form's field (`FormField`), the
choices (a Vocabulary) and what an empty value means. `declared(SessionConfig)` reads them in
declaration order; engine.config.SETTINGS holds them, and the command line, the form, the
settings line of `seal show` and README's settings table (checked by a test) all read it.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from engine.vocabulary import Vocabulary

_KEY = "seal.setting"


@dataclass(frozen=True)
class FormField:
    """Where a setting shows on the new-session form: its label, its place (fields go two to a
    row in slot order), a placeholder (the field then starts empty; "{default}" is filled in)
    and the form's own starting value where the app starts otherwise than the engine."""

    label: str
    slot: int
    placeholder: str = ""
    start: Any = None

    @property
    def id(self) -> str:
        return self.label.lower().replace(" ", "-")


@dataclass(frozen=True)
class Setting:
    """One setting: `key` is "section.field" (a field of SessionConfig itself has no dot)."""

    key: str
    help: str
    default: Any
    kind: type
    flag: str
    command: str = "run"
    choices: Mapping[str, Any] | None = None
    """The names the setting takes (a Vocabulary, or the built-ins of an `open` setting)."""
    open: bool = False
    """A name of `choices` or a file of the person's own (a strategy template)."""
    form: FormField | None = None
    metavar: str | None = None
    bare: str | None = None
    """What the flag given alone means (argparse's nargs="?")."""
    none: str = ""
    """What None means, for the help ("the embedded SmolLM2-135M"); a setting that may be None
    takes an empty value to go back to None."""
    path: bool = False
    """A file a session reads later: stored absolute, so the session finds it from anywhere."""

    @property
    def name(self) -> str:
        return self.key

    @property
    def section(self) -> str | None:
        return self.key.partition(".")[0] if "." in self.key else None

    @property
    def field(self) -> str:
        return self.key.rpartition(".")[2]

    @property
    def dest(self) -> str:
        return self.key.replace(".", "_")

    @property
    def nullable(self) -> bool:
        return self.default is None or bool(self.none)

    def default_text(self) -> str:
        """The default as the help and README say it."""
        if self.default is None:
            return self.none or "none"
        if self.kind is bool:
            return "on" if self.default else "off"
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    def flag_help(self) -> str:
        told = "" if self.kind is bool else f" (default {self.default_text()})"
        if isinstance(self.choices, Vocabulary):
            listed = f": {self.choices.describe()}"
        elif self.choices is not None:
            listed = f": {', '.join(self.choices)}, or a file"
        else:
            listed = ""
        return f"{self.help}{told}{listed}"

    def parse(self, text: str) -> Any:
        """A typed value from what a person typed; ValueError names what was wanted."""
        text = text.strip()
        if self.nullable and not text:
            return None
        if self.kind in (int, float):
            try:
                return self.kind(text)
            except ValueError:
                what = "a whole number" if self.kind is int else "a number"
                raise ValueError(f"{self.form.id if self.form else self.flag} must be {what}, got {text!r}") from None
        if self.path:
            return str(Path(text).expanduser().resolve())
        return text


def setting(default: Any, help: str, *, flag: str, **declared: Any) -> Any:
    """A dataclass field that is a setting (the other Setting attributes as keywords)."""
    return field(default=default, metadata={_KEY: {"help": help, "flag": flag, **declared}})


def declared(config: type, section: str | None = None) -> tuple[Setting, ...]:
    """Every setting of a config dataclass and of its nested config dataclasses, in order."""
    hints = typing.get_type_hints(config)
    found: list[Setting] = []
    for f in fields(config):
        kind = hints[f.name]
        if isinstance(kind, type) and is_dataclass(kind):
            found += declared(kind, f.name)
        elif _KEY in f.metadata:
            assert f.default is not MISSING, f"setting {f.name} needs a default"
            key = f"{section}.{f.name}" if section else f.name
            found.append(Setting(key=key, default=f.default, kind=_plain_type(kind), **f.metadata[_KEY]))
    return tuple(found)


def _plain_type(hint: Any) -> type:
    """int for `int`, `int | None`; str for `str | None`; bool, float as they are."""
    options = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
    return options[0]


def nest(values: dict[str, Any]) -> dict[str, Any]:
    """{"train.lr": 1e-3, "replay": 0.5} -> {"train": {"lr": 1e-3}, "replay": 0.5}."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        section, _, name = key.rpartition(".")
        (out.setdefault(section, {}) if section else out)[name] = value
    return out
