"""`seal run PATH... --session NAME`: feed papers to a session, with its settings as flags."""

from __future__ import annotations

import json
import time

from seal_cli.common import UsageError, progress
from seal_cli.flags import add_setting_flags, overrides
from seal_cli.show import print_show

INTERRUPTED = "interrupted: everything finished so far is saved; run the same command to continue"


def add_parser(sub) -> None:
    run = sub.add_parser("run", help="feed papers to a session: self-edits, LoRA updates, re-scoring")
    run.add_argument("paths", nargs="*", metavar="PATH", help="papers: .txt, .md, .pdf, or SQuAD/SEAL .json")
    run.add_argument("--session", required=True, help="session name (created when new, continued otherwise)")
    run.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    add_setting_flags(run, "run")
    run.set_defaults(handler=cmd_run)


def cmd_run(args) -> int:
    from engine.papers.ingest import read_paper
    from engine.sessions.home import Home

    started = time.perf_counter()
    home = Home()
    # Everything is checked before the session is touched, so bad input changes nothing.
    config = home.config_for(args.session, overrides(args, "run"))
    home.check_inputs(config)
    drafts = [d for path in args.paths for d in read_paper(path, config.passage_tokens, config.max_passages)]
    if not drafts and not home.exists(args.session):
        raise UsageError(f"session {args.session!r} does not exist yet: give at least one paper")
    with (
        progress(INTERRUPTED) as (report, stop),
        home.with_model(args.session, config, report) as session,
    ):
        for draft in drafts:
            session.add_paper(draft, report)
        session.run(report, stop)
    timings = {**{k: round(v, 2) for k, v in session.timings.items()}, "total": round(time.perf_counter() - started, 2)}
    if args.json:
        print(json.dumps(run_summary(session, timings)))
    else:
        print_show(session)
    return 0


def run_summary(session, timings: dict) -> dict:
    """The machine-readable result of `seal run --json` (a stable contract)."""
    from engine.domain import version_label

    matrices = {family: session.matrix("answer_nll", family) for family in session.families()}
    matrix = next(iter(matrices.values()))

    def plain(m) -> dict:
        return {
            "metric": m.metric,
            "probes": m.family,
            "rows": [version_label(v) for v in m.rows],
            "cols": m.cols,
            "values": m.values,
        }

    return {
        "session": session.name,
        "passages": [{"id": p.id, "title": p.title} for p in session.passages()],
        "updates": [
            {
                "id": u.id,
                "passage_id": u.passage_id,
                "loss_first": u.losses[0] if u.losses else None,
                "loss_last": u.losses[-1] if u.losses else None,
                "seconds": round(u.seconds, 3),
            }
            for u in session.updates()
        ],
        "matrix": plain(matrix),
        "matrices": {family: plain(m) for family, m in matrices.items()},
        "editor_rounds": [
            {"round": r.number, "trigger": r.trigger, "pairs": len(r.edit_ids)} for r in session.editor_rounds()
        ],
        "timings": timings,
    }
