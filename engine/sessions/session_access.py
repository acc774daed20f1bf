"""How a session may be used: the write guard of a session opened read-only, the stand-in
runtime where no model is loaded, and the check that a model is the one a session learned on."""

from __future__ import annotations

import functools

from engine.domain import Update
from engine.session_lock import ReadOnlySession


class NoModel:
    """Stands in for the runtime where no model is loaded (yet, or at all): any use of it is
    refused with `reason`."""

    def __init__(self, reason: str = "no model is loaded"):
        self.reason = reason

    def __getattr__(self, name):
        raise RuntimeError(self.reason)


class ModelMismatch(Exception):
    """The model given is not the one a session's updates were trained on."""


def check_model(name: str, updates: list[Update], identity: str) -> None:
    """ModelMismatch unless `identity` is the model the newest of `updates` was trained on."""
    trained = [u.params["model"] for u in updates if "model" in u.params]
    if trained and trained[-1] != identity:
        raise ModelMismatch(
            f"session {name!r} was trained on {trained[-1].split(' ')[0]} ({trained[-1]}), "
            f"not on this model ({identity}); start a new session to use it"
        )


def writes(method):
    """Refuse the method on a session opened read-only."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if self.read_only:
            raise ReadOnlySession(f"session {self.name!r} is open read-only: {self.read_only}")
        return method(self, *args, **kwargs)

    return guarded
