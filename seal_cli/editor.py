"""`seal editor SESSION`: run a self-improving editor round now, or list the rounds."""

from __future__ import annotations

import json

from seal_cli.common import progress, require_session
from seal_cli.flags import add_setting_flags, overrides


def add_parser(sub) -> None:
    editor = sub.add_parser("editor", help="train the self-edit editor on the kept self-edits now (ReST-EM round)")
    editor.add_argument("session")
    editor.add_argument("--list", action="store_true", help="only list the rounds and how each changed acceptance")
    editor.add_argument("--json", action="store_true", help="print the rounds as JSON")
    add_setting_flags(editor, "editor")
    editor.set_defaults(handler=cmd_editor)


def cmd_editor(args) -> int:
    from rich.console import Console

    from engine.learning import editor
    from engine.sessions.home import Home
    from engine.sessions.session import NoModel
    from seal_tui.render import editor_table

    home = Home()
    require_session(home, args.session)
    config = home.config_for(args.session, overrides(args, "editor"))
    # a round writes: the session's writer lock is taken before the model loads
    session = first = home.open(args.session, runtime=NoModel("the model is not loaded yet"), read_only=args.list)
    try:
        if not args.list:
            # checked before the model loads or a setting is stored
            editor.check_enough(len(editor.kept_edits(session, config.editor.per_passage)), config.editor.min_pairs)
            with (
                progress("interrupted: no editor round was stored") as (report, stop),
                home.with_model(args.session, config, report) as session,
            ):
                session.improve_editor(report, stop)
    finally:
        first.close()
    rounds, stats = session.editor_rounds(), editor.round_stats(session)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "round": r.number,
                        "trigger": r.trigger,
                        "pairs": len(r.edit_ids),
                        "loss_last": r.losses[-1] if r.losses else None,
                        "seconds": round(r.seconds, 2),
                        "acceptance": stats[r.number].acceptance,
                        "mean_reward": stats[r.number].mean_reward,
                        "candidates": stats[r.number].candidates,
                    }
                    for r in rounds
                ]
            )
        )
    elif rounds:
        Console().print(editor_table(rounds, stats))
    else:
        print(f"{args.session}: no editor rounds yet (run `seal editor {args.session}`)")
    return 0
