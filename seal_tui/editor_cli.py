"""`seal editor SESSION`: run a self-improving editor round now, or list the rounds."""

from __future__ import annotations

import json

from seal_tui.cli_common import model_work, require_session


def cmd_editor(args) -> int:
    from rich.console import Console

    from engine import editor
    from engine.home import Home
    from engine.runtime.factory import build_runtime
    from engine.session import NoModel
    from seal_tui.render import editor_table

    home = Home()
    require_session(home, args.session)
    settings = _settings(args)
    config = home.config_for(args.session, {"editor": settings} if settings else {})
    # a round writes: the session's writer lock is taken before the model loads
    session = first = home.open(args.session, runtime=NoModel("the model is not loaded yet"), read_only=args.list)
    if not args.list:
        # checked before the model loads or a setting is stored
        editor.check_enough(len(editor.kept_edits(session, config.editor.per_passage)), config.editor.min_pairs)
        runtime = build_runtime(config.model, config.train)
        try:
            with model_work(runtime, "interrupted: no editor round was stored") as (report, stop):
                session = home.open(args.session, config, runtime)
                session.improve_editor(report, stop)
        finally:
            runtime.close()
            session.close()
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


def _settings(args) -> dict:
    return {
        key: value
        for key, value in (
            ("epochs", args.epochs),
            ("per_passage", args.per_passage),
            ("min_pairs", args.min_pairs),
            ("scale", args.scale),
        )
        if value is not None
    }
