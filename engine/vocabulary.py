"""Vocabularies: the names a setting may take, each declared once with its help text.

A Vocabulary is an ordered, read-mostly mapping name -> entry. Config checks, the store's
checks, the CLI's `choices` and help, and the new-session form's Selects and help line all
read the same one, so a new entry (an accept policy in engine.selfedits.policies, a heatmap metric in
engine.scores.metrics) is one declaration. Iterating a vocabulary gives its names in declaration
order, so `name in v`, `list(v)` and `", ".join(v)` read as they would on a tuple of names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    """An entry: read-only, so a frozen dataclass is one."""

    @property
    def name(self) -> str: ...
    @property
    def help(self) -> str: ...


T = TypeVar("T", bound=Named)


@dataclass(frozen=True)
class Choice:
    """A plain named value with the help text a person reads (a probe kind, a writer)."""

    name: str
    help: str


class UnknownName(KeyError):
    """A name no entry of the vocabulary has; str() is the sentence for people."""

    def __str__(self) -> str:
        return str(self.args[0])


class Vocabulary(Mapping[str, T], Generic[T]):
    """The entries of one concept, in declaration order; `what` names the setting in messages."""

    def __init__(self, what: str, entries: tuple[T, ...] = ()):
        self.what = what
        self._entries: dict[str, T] = {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: T) -> T:
        """Declare one more entry (a plugin, a test); a name may be declared only once."""
        if entry.name in self._entries:
            raise ValueError(f"{self.what} {entry.name!r} is declared twice")
        self._entries[entry.name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Forget an entry registered for a while (a test's)."""
        self._entries.pop(name, None)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownName(self.refusal(name)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def refusal(self, value: object, what: str | None = None) -> str:
        """The sentence that refuses a value outside the vocabulary."""
        return f"{what or self.what} must be one of {', '.join(self._entries)}, got {value!r}"

    def describe(self) -> str:
        """Every name with its help, for a command-line flag's help."""
        return "; ".join(f"{name}: {entry.help}" for name, entry in self._entries.items())
