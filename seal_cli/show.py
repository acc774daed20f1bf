"""`seal show NAME` (the forgetting heatmap) and `seal sessions` (the list)."""

from __future__ import annotations

import json

from seal_cli.common import require_session


def add_parsers(sub) -> None:
    from engine.papers.probes import FAMILIES
    from engine.scores.metrics import METRICS

    show = sub.add_parser("show", help="the forgetting heatmap of a session")
    show.add_argument("session")
    show.add_argument(
        "--metric", default="answer_nll", choices=list(METRICS), help=f"what the heatmap shows: {METRICS.describe()}"
    )
    show.add_argument(
        "--probes",
        choices=list(FAMILIES),
        help=f"which held-out probes the heatmap averages (default: each the session has): {FAMILIES.describe()}",
    )
    show.add_argument("--json", action="store_true", help="print the matrix as JSON")
    show.set_defaults(handler=cmd_show)
    sub.add_parser("sessions", help="list sessions").set_defaults(handler=cmd_sessions)


def print_show(session, metric: str = "answer_nll", family: str | None = None) -> None:
    """The heatmap with its summary per probe family (the one asked for, else each the session has)."""
    from shlex import join

    from rich.console import Console

    from engine.config import as_flags
    from seal_tui.render import base_warning, heatmap, strategy_table, summary_table

    console = Console()
    flags = as_flags(session.config)
    console.print(f"settings: {join(flags) if flags else 'the defaults'}", markup=False, highlight=False)
    titles = {p.id: p.title for p in session.passages()}
    rollback = f"`seal rollback {session.name} VERSION` makes an earlier version current again."
    for shown in [family] if family else session.families():
        matrix = session.matrix(metric, shown)
        console.print(heatmap(matrix, titles))
        table, bwt = summary_table(matrix)
        console.print(table)
        console.print(f"backward transfer (BWT): {'-' if bwt is None else f'{bwt:+.3f}'}  (negative means forgetting)")
        labels = {col: f"p{col}" for col in matrix.cols}
        if warning := base_warning(matrix, session.current_version, labels, rollback):
            console.print(warning, style="bold red", markup=False, highlight=False)
    console.print(strategy_table(session.strategy_stats()))
    rounds = session.editor_rounds()
    if rounds:
        from engine.learning.editor import round_stats
        from seal_tui.render import editor_table

        console.print(editor_table(rounds, round_stats(session)))


def cmd_show(args) -> int:
    from engine.sessions.home import Home
    from engine.sessions.session import NoModel

    home = Home()
    require_session(home, args.session)
    session = home.open(args.session, runtime=NoModel("a read-only command used the model"), read_only=True)
    if args.json:
        m = session.matrix(args.metric, args.probes)
        print(json.dumps({"metric": m.metric, "probes": m.family, "rows": m.rows, "cols": m.cols, "values": m.values}))
    else:
        print_show(session, args.metric, args.probes)
    return 0


def cmd_sessions(_args) -> int:
    from rich.console import Console

    from engine.sessions.home import Home
    from seal_tui.render import sessions_table

    home = Home()
    sessions = home.sessions()
    if not sessions:
        print(f"no sessions yet in {home.path}")
    else:
        Console().print(sessions_table(sessions))
    return 0
