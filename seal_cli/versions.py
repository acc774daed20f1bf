"""`seal rollback NAME VERSION` and `seal export NAME`: a session's versions."""

from __future__ import annotations

from seal_cli.common import UsageError, require_session


def add_parsers(sub) -> None:
    rollback = sub.add_parser("rollback", help="make an earlier version current again (later ones are kept, abandoned)")
    rollback.add_argument("session")
    rollback.add_argument("version", type=int, help="the version to return to (0 = the base model)")
    rollback.set_defaults(handler=cmd_rollback)

    export = sub.add_parser("export", help="write a version as a peft folder, GGUF adapter, merged model, JSONL edits")
    export.add_argument("session")
    export.add_argument("--version", type=int, help="default: the current version")
    export.add_argument("--peft", metavar="DIR", help="the peft adapter folder")
    export.add_argument("--gguf", metavar="FILE", help="a GGUF LoRA adapter for llama.cpp (--lora)")
    export.add_argument("--merged", metavar="DIR", help="a Hugging Face model folder with the adapter merged in")
    export.add_argument("--edits", metavar="FILE", help="accepted self-edits as chat-format JSONL")
    export.set_defaults(handler=cmd_export)


def cmd_rollback(args) -> int:
    from engine.sessions.home import Home
    from engine.sessions.session import NoModel

    home = Home()
    require_session(home, args.session)
    session = home.open(args.session, runtime=NoModel("rolling back needs no model"))
    session.rollback(args.version)
    abandoned = [u.version for u in session.updates() if u.status == "abandoned"]
    print(
        f"{args.session}: version {args.version} is current"
        + (f"; abandoned: {', '.join(f'v{v}' for v in abandoned)}" if abandoned else "")
    )
    return 0


def cmd_export(args) -> int:
    from pathlib import Path

    from engine.runtime.models import resolve_gguf
    from engine.sessions import export
    from engine.sessions.home import Home
    from engine.sessions.session import NoModel

    home = Home()
    require_session(home, args.session)
    wanted = {k: Path(v).expanduser() for k in ("peft", "gguf", "merged", "edits") if (v := getattr(args, k))}
    if not wanted:
        raise UsageError("name at least one output: --peft DIR, --gguf FILE, --merged DIR, --edits FILE")
    session = home.open(args.session, runtime=NoModel("exporting needs no model"), read_only=True)
    version = session.current_version if args.version is None else args.version
    for kind, path in wanted.items():  # every output checked before any is written
        (export.check_fresh_dir if kind in ("peft", "merged") else export.check_fresh_file)(path)
    needs_adapter = any(kind != "edits" for kind in wanted)
    if needs_adapter or version != 0:  # the version exists (and has an adapter, where one is written)
        export.adapter_of(session, version)
    base = resolve_gguf(session.config.model) if needs_adapter else None
    for kind, path in wanted.items():
        if kind == "peft":
            export.export_peft(session, version, path)
        elif kind == "gguf":
            assert base is not None  # resolved above: this output needs the adapter
            export.export_gguf(session, version, path, base)
        elif kind == "merged":
            assert base is not None  # resolved above: this output needs the adapter
            export.export_merged(session, version, path, session.config.model, base)
        else:
            count = export.export_edits(session, version, path)
            print(f"{path}: {count} accepted self-edit(s)")
            continue
        print(f"{path}: {kind} of {args.session} v{version}")
    return 0
