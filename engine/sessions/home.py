"""Where sessions live, and how a named session is opened or created.

Opening a session for writing takes its writer lock (engine.session_lock) and tidies what a
killed process left in its folder (engine.recovery); opening it read-only takes neither.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from engine import events as ev
from engine.atomic import copy_file
from engine.config import ConfigError, SessionConfig
from engine.recovery import recover
from engine.runtime.protocol import Runtime
from engine.selfedits.selfedit import STRATEGIES, resolve_strategy
from engine.sessions.session import Session, check_model
from engine.session_lock import WriterLock
from engine.store import Store, StoreError
from engine.store.names import check_session_name

_PROJECT_SESSIONS = Path(__file__).resolve().parents[2] / "sessions"
LORA_SHAPE = ("rank", "alpha", "target_modules")
MODEL_FILES = ("gguf_path", "hf_dir")


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
        self.path = (Path(path).expanduser() if path else default_home()).absolute()
        self.store = Store(self.path / "seal.db")

    def sessions(self):
        return self.store.list_sessions()

    def exists(self, name: str) -> bool:
        return self.store.get_session(name) is not None

    def config_for(self, name: str, overrides: dict | None = None) -> SessionConfig:
        """The stored config of a session (or the defaults), with overrides applied and checked."""
        check_session_name(name)
        info = self.store.get_session(name)
        if info is None and (same := self.store.session_named_like(name)):
            raise StoreError(f"a session named {same!r} already exists (names differ only in case)")
        base = SessionConfig.from_dict(info.config) if info else SessionConfig()
        config = base.with_overrides(overrides or {})
        if info and self.store.updates(info.id):
            fixed = [("adapters", config.adapters, base.adapters)]
            fixed += [(f, getattr(config.train, f), getattr(base.train, f)) for f in LORA_SHAPE]
            fixed += [(f"model ({f})", getattr(config.model, f), getattr(base.model, f)) for f in MODEL_FILES]
            for field, wanted, kept in fixed:
                if wanted != kept:
                    hint = "; start a new session to use another" if field.startswith("model") else ""
                    kept = "the embedded model" if kept is None and field.startswith("model") else kept
                    raise ConfigError(
                        f"{field} cannot change once a session has updates (session {name!r} uses {kept}){hint}"
                    )
        return config

    def check_inputs(self, config: SessionConfig) -> None:
        """What the settings name outside the session, checked before it is touched: the
        strategy template, the file of imported self-edits, the model files (StrategyError,
        ImportedEditsError or ModelFileError names the first that fails)."""
        from engine.selfedits.imported_edits import load_edits
        from engine.runtime.models import check_model_files

        resolve_strategy(config.strategy, self.path)
        if config.generation.edits_from:
            load_edits(config.generation.edits_from)
        check_model_files(config.model)

    def check_model(self, name: str, identity: str) -> None:
        """Refuse (ModelMismatch) a model other than the one the session was trained on,
        before it loads; a new session takes any."""
        info = self.store.get_session(name)
        if info is not None:
            check_model(name, self.store.updates(info.id), identity)

    @contextmanager
    def with_model(
        self,
        name: str,
        config: SessionConfig,
        on_event: ev.OnEvent = ev.ignore,
        build: Callable[[SessionConfig], Runtime] | None = None,
    ) -> Iterator[Session]:
        """A session opened to write with its model loaded: how `seal run` and `seal editor`
        open one. The writer lock comes first (SessionLocked before a model loads); a model
        other than the session's is refused before a setting is stored (ModelMismatch); the
        model loads step by step (a "load" Stage each); on the way out the model is closed and
        the session let go, whatever happened."""
        from engine.runtime.factory import build_runtime

        lock = self.writer(name)
        runtime, session = None, None
        try:
            runtime = build(config) if build else build_runtime(config.model, config.train)
            self.check_model(name, runtime.identity())
            for step, load in runtime.load_steps():
                on_event(ev.ModelLoading(step))
                load()
            session = self.open(name, config, runtime)
            yield session
        finally:
            try:
                if runtime is not None:
                    runtime.close()
            finally:
                if session is not None:
                    session.close()
                lock.release()

    def writer(self, name: str) -> WriterLock:
        """Take the session's writer lock now (SessionLocked names the holder); a process
        checks this before loading a model for a session. Release it when done."""
        lock = WriterLock(self.path / check_session_name(name), name)
        lock.acquire()
        return lock

    def create(self, name: str, config: SessionConfig) -> None:
        """Create a session without opening it; a template file is copied into its folder."""
        with_lock = self.writer(name)
        try:
            self._create(name, config)
        finally:
            with_lock.release()

    def _create(self, name: str, config: SessionConfig):
        return self.store.create_session(name, self._own_template(name, config).to_dict())

    def _own_template(self, name: str, config: SessionConfig) -> SessionConfig:
        """The config with a template file given as the strategy copied into the session's
        folder (and named there), so moving or deleting the original changes nothing; the
        session's own copy, or a built-in strategy, as it is."""
        file, sep, pick = config.strategy.rpartition(":")
        given = file if sep and file else config.strategy
        if config.strategy in STRATEGIES or Path(given).parts[:1] == (name,) and (self.path / given).is_file():
            return config
        source = Path(given).expanduser()
        if not source.is_file():
            return config
        copy = self.path / name / f"strategy{source.suffix}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy_file(source, copy, replace=True)
        return replace(config, strategy=f"{name}/{copy.name}" + (f":{pick}" if sep and file else ""))

    def open(
        self, name: str, config: SessionConfig | None = None, runtime: Runtime | None = None, read_only: bool = False
    ) -> Session:
        """Open a session, creating it when new; a given config replaces the stored one.
        For writing, the writer lock is taken (SessionLocked when another process holds it);
        read_only opens an existing session to look at, whoever writes it."""
        check_session_name(name)
        info = self.store.get_session(name)
        if read_only:
            if info is None:
                raise StoreError(f"no session named {name!r}")
            holder = WriterLock(self.path / name, name).holder()
            why = f"{holder.describe()} is writing it" if holder else "opened to look at"
            return Session(self.store, info, self.path, runtime, read_only=why)
        lock = self.writer(name)
        try:
            if info is None:
                info = self._create(name, config or SessionConfig())
            elif config is not None and (config := self._own_template(name, config)).to_dict() != info.config:
                self.store.update_session_config(info.id, config.to_dict())
                info = self.store.get_session(name)
                assert info is not None  # found above, and this process holds its writer lock
            if runtime is None:
                from engine.runtime.factory import build_runtime

                cfg = SessionConfig.from_dict(info.config)
                runtime = build_runtime(cfg.model, cfg.train)
            session = Session(self.store, info, self.path, runtime, lock=lock)
            recover(session)
            return session
        except BaseException:
            lock.release()
            raise

    def close(self) -> None:
        self.store.close()
