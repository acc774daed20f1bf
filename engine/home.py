"""Where sessions live, and how a named session is opened or created."""
from __future__ import annotations

import os
from pathlib import Path

from engine.config import ConfigError, SessionConfig
from engine.session import Session
from engine.store import Store

_PROJECT_SESSIONS = Path(__file__).resolve().parents[1] / "sessions"
LORA_SHAPE = ("rank", "alpha", "target_modules")


def default_home() -> Path:
    """$SEAL_HOME, else the project's sessions/ folder, else ~/.local/share/seal/sessions."""
    if os.environ.get("SEAL_HOME"):
        return Path(os.environ["SEAL_HOME"]).expanduser()
    if _PROJECT_SESSIONS.is_dir():
        return _PROJECT_SESSIONS
    return Path.home() / ".local" / "share" / "seal" / "sessions"


class Home:
    """A session home: one SQLite history (seal.db) plus one folder per session."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path).expanduser() if path else default_home()
        self.store = Store(self.path / "seal.db")

    def sessions(self):
        return self.store.list_sessions()

    def exists(self, name: str) -> bool:
        return self.store.get_session(name) is not None

    def config_for(self, name: str, overrides: dict | None = None) -> SessionConfig:
        """The stored config of a session (or the defaults), with overrides applied and checked."""
        info = self.store.get_session(name)
        base = SessionConfig.from_dict(info.config) if info else SessionConfig()
        merged = base.to_dict()
        for key, value in (overrides or {}).items():
            if isinstance(value, dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        config = SessionConfig.from_dict(merged)
        if info and self.store.updates(info.id):
            if config.adapters != base.adapters:
                raise ConfigError(f"adapters cannot change once a session has updates "
                                  f"(session {name!r} uses {base.adapters})")
            for field in LORA_SHAPE:
                if getattr(config.train, field) != getattr(base.train, field):
                    raise ConfigError(
                        f"{field} cannot change once a session has updates "
                        f"(session {name!r} uses {getattr(base.train, field)})"
                    )
        return config

    def open(self, name: str, config: SessionConfig | None = None, runtime=None) -> Session:
        """Open a session, creating it when new; a given config replaces the stored one."""
        info = self.store.get_session(name)
        if info is None:
            info = self.store.create_session(name, (config or SessionConfig()).to_dict())
        elif config is not None and config.to_dict() != info.config:
            self.store.update_session_config(info.id, config.to_dict())
            info = self.store.get_session(name)
        if runtime is None:
            from engine.runtime.local import LocalRuntime

            cfg = SessionConfig.from_dict(info.config)
            runtime = LocalRuntime(cfg.model, cfg.train)
        return Session(self.store, info, self.path, runtime)

    def close(self) -> None:
        self.store.close()
