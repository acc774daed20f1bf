"""The error a bad setting raises, and the one-line check every config uses."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting has a value the engine cannot use; the message names it."""


def check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)
