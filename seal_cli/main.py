"""The `seal` command: a thin client of the engine, and the app when run bare. Each command's
module adds its parser and handler; this one dispatches and turns what went wrong into one line."""

from __future__ import annotations

import argparse
import sqlite3
import sys

from seal_cli.common import Interrupted, UsageError


def _user_errors() -> tuple[type[Exception], ...]:
    """What a person can act on: printed as one line, exit status 2 (imported only when raised)."""
    from engine.config import ConfigError
    from engine.learning.editor import EditorError
    from engine.papers.ingest import IngestError
    from engine.runtime.generator import GeneratorError
    from engine.runtime.hf_model import ModelLoadError
    from engine.runtime.models import ModelFileError
    from engine.runtime.ray_pool import RayPoolError
    from engine.selfedits.imported_edits import ImportedEditsError
    from engine.selfedits.selfedit import StrategyError
    from engine.session_lock import ReadOnlySession, SessionLocked
    from engine.sessions.export import ExportError
    from engine.sessions.session import ModelMismatch
    from engine.store import StoreError

    return (
        UsageError,
        ConfigError,
        EditorError,
        ExportError,
        ImportedEditsError,
        IngestError,
        ModelFileError,
        ModelLoadError,
        GeneratorError,
        ModelMismatch,
        RayPoolError,
        ReadOnlySession,
        SessionLocked,
        StrategyError,
        StoreError,
    )


def _writer_error() -> type[Exception]:
    from engine.runtime.served import WriterError

    return WriterError


def build_parser() -> argparse.ArgumentParser:
    from seal_cli import bench, editor, run, serve, show, versions

    parser = argparse.ArgumentParser(
        prog="seal", description="Continual-learning sessions with a local language model."
    )
    parser.set_defaults(handler=_launch)
    sub = parser.add_subparsers(dest="command")
    run.add_parser(sub)
    show.add_parsers(sub)
    editor.add_parser(sub)
    versions.add_parsers(sub)
    serve.add_parser(sub)
    bench.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except _user_errors() as exc:
        print(f"seal: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:  # Ctrl+C: what was kept, and the shell's status for it
        print(exc, file=sys.stderr)
        return 130
    except _writer_error() as exc:  # a served writer that failed: what was written before is kept
        print(f"seal: {exc}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as exc:  # a home or disk that fails: a sentence, never a traceback
        from engine.sessions.home import default_home
        from seal_tui.failure_text import failure_text

        print(f"seal: {failure_text(exc, default_home() / 'seal.db')}", file=sys.stderr)
        return 1


def _launch(_args) -> int:
    """The app, once the session home opens: a home that cannot fails here, before Textual starts."""
    from engine.sessions.home import Home
    from seal_tui.launch import launch_app

    Home().close()
    return launch_app()


if __name__ == "__main__":
    sys.exit(main())
