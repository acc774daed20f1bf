"""The `seal` command: a thin client of the engine (and the app when run bare)."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

from seal_tui.cli_common import Interrupted, UsageError, model_work, require_session


def _user_errors() -> tuple[type[Exception], ...]:
    """What a person can act on: printed as one line, exit status 2 (imported only when raised)."""
    from engine.config import ConfigError
    from engine.editor import EditorError
    from engine.export import ExportError
    from engine.imported_edits import ImportedEditsError
    from engine.ingest import IngestError
    from engine.runtime.generator import GeneratorError
    from engine.runtime.hf_model import ModelLoadError
    from engine.runtime.models import ModelFileError
    from engine.runtime.ray_pool import RayPoolError
    from engine.selfedit import StrategyError
    from engine.session import ModelMismatch
    from engine.session_lock import ReadOnlySession, SessionLocked
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


def _one_of(vocabulary, about: str, default: str | None = None) -> dict:
    """A flag's choices and help, read from one of the engine's vocabularies (declared once)."""
    told = f" (default {default})" if default is not None else ""
    return {"choices": list(vocabulary), "help": f"{about}{told}: {vocabulary.describe()}"}


def build_parser() -> argparse.ArgumentParser:
    from engine.config import (
        ADAPTER_MODES,
        LOCAL_RAY,
        PRESETS,
        PROBE_KINDS,
        REWARD_BASELINES,
        WRITERS,
        FilterConfig,
        GenerationConfig,
        ModelConfig,
        SessionConfig,
    )
    from engine.metrics import METRICS
    from engine.policies import POLICIES
    from engine.probes import FAMILIES
    from engine.selfedit import STRATEGIES

    parser = argparse.ArgumentParser(
        prog="seal", description="Continual-learning sessions with a local language model."
    )
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="feed papers to a session: self-edits, LoRA updates, re-scoring")
    run.add_argument("paths", nargs="*", metavar="PATH", help="papers: .txt, .md, .pdf, or SQuAD/SEAL .json")
    run.add_argument("--session", required=True, help="session name (created when new, continued otherwise)")
    run.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    run.add_argument(
        "--strategy", help=f"{', '.join(STRATEGIES)}, or a template file (default {SessionConfig.strategy})"
    )
    run.add_argument(
        "--edits", type=int, help=f"self-edit candidates per passage (default {GenerationConfig.candidates})"
    )
    run.add_argument(
        "--accept", **_one_of(POLICIES, "how candidates are accepted when no person decides", SessionConfig.accept)
    )
    run.add_argument(
        "--replay",
        type=float,
        help=f"mix earlier passages' examples into updates (share, e.g. 0.5; default {SessionConfig.replay:g})",
    )
    run.add_argument(
        "--adapters",
        **_one_of(ADAPTER_MODES, "adapter chains, fixed once a session has updates", SessionConfig.adapters),
    )
    run.add_argument("--budget", type=float, help="reward filter: forgetting budget in nats (default 0.5)")
    run.add_argument("--top-k", type=int, help="reward filter: keep at most this many per passage (default 3)")
    run.add_argument("--trial-epochs", type=int, help="reward filter: epochs of each trial update (default 3)")
    run.add_argument(
        "--reward-vs",
        **_one_of(REWARD_BASELINES, "reward filter: what trials are measured against", FilterConfig.reward_vs),
    )
    run.add_argument(
        "--filter-ray",
        nargs="?",
        const=LOCAL_RAY,
        metavar="ADDRESS",
        help="reward filter: run the candidates' trials on Ray workers that each hold the model; alone: a "
        "local Ray, else a cluster's host:port, ray://host:port or auto (needs the ray extra); '' stops using Ray",
    )
    run.add_argument(
        "--filter-ray-workers", type=int, metavar="N", help="reward filter: Ray workers with --filter-ray (default 2)"
    )
    run.add_argument(
        "--editor-every",
        type=int,
        metavar="N",
        help="train the self-edit editor after every N learned passages (default 0: on demand)",
    )
    run.add_argument("--probes", **_one_of(PROBE_KINDS, "probe questions per passage", SessionConfig.probes))
    run.add_argument(
        "--preset",
        choices=list(PRESETS),
        help="training recipe: default (rank 16 on every layer, lr 3e-4, 2 epochs with the passage 16 times "
        "each, anchor, drift guard) or seal (SEAL's rank 32 on q/v, lr 1e-3, 10 epochs, neither); flags beside it win",
    )
    run.add_argument("--epochs", type=int, help="LoRA epochs per update (default 2)")
    run.add_argument("--lr", type=float, help="LoRA learning rate (default 3e-4)")
    run.add_argument(
        "--anchor", type=float, help="weight of the KL anchor to the base model on the drift guard (default 3; 0: off)"
    )
    run.add_argument(
        "--grounding",
        type=float,
        help="self-edit lines train only when this share of their content words is in the passage "
        "and every number they state is (default 0.6; 0: every line)",
    )
    run.add_argument(
        "--patience",
        type=int,
        help="the older per-epoch check: stop after N epochs without a better reward+guard score, keep the "
        "best (default 0: off)",
    )
    run.add_argument(
        "--drift-guard",
        type=float,
        metavar="NATS",
        help="refuse an epoch that raises the drift set's guard questions by more than this; the latest "
        "epoch within it is kept (default 0.3; 0: off)",
    )
    run.add_argument(
        "--passage-repeats",
        type=int,
        metavar="N",
        help="the passage trains N times an epoch, each self-edit line once (default 16)",
    )
    run.add_argument("--rank", type=int, help="LoRA rank (default 16; fixed once a session has updates)")
    run.add_argument("--max-tokens", type=int, help="longest self-edit in tokens (default 256)")
    run.add_argument("--passage-tokens", type=int, help="passage size when splitting papers (default 300)")
    run.add_argument(
        "--max-passages",
        type=int,
        metavar="N",
        help="most passages one paper may split into; a longer paper is refused (default 500)",
    )
    run.add_argument("--greedy", action="store_true", help="also score greedy answers (F1, contains)")
    run.add_argument("--model", help="a local GGUF file (default: the embedded SmolLM2-135M)")
    run.add_argument("--hf-dir", help="a local Hugging Face model folder for training and scoring")
    run.add_argument("--seed", type=int, help="sampling seed")
    run.add_argument(
        "--writer-url",
        metavar="URL",
        help="an OpenAI-compatible server (e.g. http://127.0.0.1:8000) writes the self-edits; the local "
        "model still learns and is scored; API key from $SEAL_WRITER_API_KEY; '' writes locally again",
    )
    run.add_argument(
        "--writer-model", metavar="NAME", help="the model name sent to --writer-url (default: the first it lists)"
    )
    run.add_argument(
        "--writer-timeout",
        type=float,
        metavar="SECONDS",
        help=f"longest one reply of --writer-url may take; a server still sending then is cut off "
        f"(default {ModelConfig.writer_timeout:g})",
    )
    run.add_argument("--writer", **_one_of(WRITERS, "which model writes self-edits", GenerationConfig.writer))
    run.add_argument(
        "--edits-from",
        metavar="FILE.json",
        help="take self-edits from a SEAL-format file (title, context, completions) for the passages "
        "it holds, e.g. a stronger model's; '' stops using one",
    )

    show = sub.add_parser("show", help="the forgetting heatmap of a session")
    show.add_argument("session")
    show.add_argument("--metric", default="answer_nll", **_one_of(METRICS, "what the heatmap shows", "answer_nll"))
    show.add_argument(
        "--probes",
        **_one_of(FAMILIES, "which held-out probes the heatmap averages; default: each the session has", None),
    )
    show.add_argument("--json", action="store_true", help="print the matrix as JSON")

    sub.add_parser("sessions", help="list sessions")

    editor = sub.add_parser("editor", help="train the self-edit editor on the kept self-edits now (ReST-EM round)")
    editor.add_argument("session")
    editor.add_argument("--list", action="store_true", help="only list the rounds and how each changed acceptance")
    editor.add_argument("--json", action="store_true", help="print the rounds as JSON")
    editor.add_argument("--epochs", type=int, help="epochs of the round (default 2)")
    editor.add_argument("--per-passage", type=int, help="kept self-edits per passage, best reward first (default 1)")
    editor.add_argument("--min-pairs", type=int, help="least kept self-edits for a round (default 2)")
    editor.add_argument("--scale", type=float, help="editor strength when writing self-edits (0 switches it off)")

    rollback = sub.add_parser("rollback", help="make an earlier version current again (later ones are kept, abandoned)")
    rollback.add_argument("session")
    rollback.add_argument("version", type=int, help="the version to return to (0 = the base model)")

    export = sub.add_parser("export", help="write a version as a peft folder, GGUF adapter, merged model, JSONL edits")
    export.add_argument("session")
    export.add_argument("--version", type=int, help="default: the current version")
    export.add_argument("--peft", metavar="DIR", help="the peft adapter folder")
    export.add_argument("--gguf", metavar="FILE", help="a GGUF LoRA adapter for llama.cpp (--lora)")
    export.add_argument("--merged", metavar="DIR", help="a Hugging Face model folder with the adapter merged in")
    export.add_argument("--edits", metavar="FILE", help="accepted self-edits as chat-format JSONL")

    from seal_tui.serve import add_parser as add_serve

    add_serve(sub)

    bench = sub.add_parser("bench", help="benchmarks (figures in BENCHMARKS.md)")
    bench.add_argument(
        "what",
        choices=["cycle", "speed", "ki", "forget"],
        help="cycle: one passage cycle; speed: adapted generation, swap, padding, memory; "
        "ki: SEAL's conditions; forget: sequential updates, plain vs replay",
    )
    bench.add_argument(
        "data", nargs="?", help="cycle: a paper (default: the shipped sample); ki/forget: SQuAD/SEAL JSON"
    )
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--passages", type=int, help="passages (cycle: scoring scale-up, default 20; ki: default 20)")
    bench.add_argument("--steps", type=int, default=8, help="forget: passages applied in sequence")
    bench.add_argument("--edits", type=int, default=3, help="ki/forget: self-edit candidates per passage")
    bench.add_argument("--epochs", type=int, help="ki/forget: epochs per update (default: the recipe's 2)")
    bench.add_argument("--first", type=int, default=0, help="ki/forget: skip this many passages (a split's start)")
    bench.add_argument(
        "--conditions",
        help="ki: conditions to run (base,passage,edits,filtered,teacher); forget: runs (plain,replay,seal,per-paper)",
    )
    bench.add_argument(
        "--edits-from",
        dest="edits_from",
        metavar="FILE.json",
        help="ki: a SEAL-format file whose first self-edit per passage trains the teacher condition",
    )
    bench.add_argument("--max-tokens", type=int, default=128, help="ki/forget: longest self-edit")
    bench.add_argument("--replay", type=float, default=0.5, help="forget: replay share for the replay run")
    bench.add_argument(
        "--busy",
        type=int,
        metavar="N",
        help="speed: the figures alone and beside N CPU-bound programs it starts, with ratios",
    )
    bench.add_argument(
        "--reward-vs",
        choices=list(REWARD_BASELINES),
        default=FilterConfig.reward_vs,
        help="ki: the filter's reward against the model (SEAL) or against training on the passage alone",
    )
    bench.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL_RAY,
        metavar="ADDRESS",
        help="ki/forget: run passages (ki) or runs (forget) on Ray workers that each hold the model; "
        "alone: a local Ray, else a cluster's host:port, ray://host:port or auto (needs the ray extra)",
    )
    bench.add_argument(
        "--ray-workers", type=int, default=2, metavar="N", help="ki/forget: Ray workers with --ray (default 2)"
    )
    bench.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="ki/forget: threads per model (default: the free cores; with a local --ray, cores/workers each)",
    )
    return parser


def _overrides(args) -> dict:
    from engine.config import preset

    out: dict = {"generation": {}, "train": {}, "model": {}, "filter": {}, "editor": {}}
    for arg, key in (
        ("strategy", "strategy"),
        ("accept", "accept"),
        ("adapters", "adapters"),
        ("probes", "probes"),
        ("replay", "replay"),
        ("passage_tokens", "passage_tokens"),
        ("max_passages", "max_passages"),
    ):
        if getattr(args, arg) is not None:
            out[key] = getattr(args, arg)
    if args.greedy:
        out["greedy_answers"] = True
    for arg, key in (("edits", "candidates"), ("max_tokens", "max_tokens"), ("seed", "seed"), ("writer", "writer")):
        if getattr(args, arg) is not None:
            out["generation"][key] = getattr(args, arg)
    if getattr(args, "preset", None):
        for key, value in preset(args.preset).items():
            out[key].update(value)
    for arg, key in (
        ("epochs", "epochs"),
        ("lr", "lr"),
        ("rank", "rank"),
        ("anchor", "anchor"),
        ("patience", "patience"),
        ("drift_guard", "drift_guard"),
        ("passage_repeats", "passage_repeats"),
        ("grounding", "grounding"),
    ):
        if getattr(args, arg, None) is not None:
            out["train"][key] = getattr(args, arg)
    out["filter"] = {
        key: getattr(args, arg)
        for arg, key in (
            ("budget", "budget"),
            ("top_k", "top_k"),
            ("trial_epochs", "trial_epochs"),
            ("reward_vs", "reward_vs"),
            ("filter_ray_workers", "ray_workers"),
        )
        if getattr(args, arg) is not None
    }
    if args.filter_ray is not None:
        if Path(args.filter_ray).is_file():  # `--filter-ray paper.md` took the paper as its address
            raise UsageError(f"--filter-ray takes a Ray address, not the file {args.filter_ray!r}: give papers first")
        out["filter"]["ray"] = args.filter_ray or None
    if args.edits_from is not None:  # stored absolute, so the session finds it from anywhere
        out["generation"]["edits_from"] = str(Path(args.edits_from).expanduser().resolve()) if args.edits_from else None
    if args.editor_every is not None:
        out["editor"]["every"] = args.editor_every
    if args.rank is not None:
        out["train"]["alpha"] = 2 * args.rank
    for arg, key in (("model", "gguf_path"), ("hf_dir", "hf_dir")):
        if getattr(args, arg) is not None:
            out["model"][key] = getattr(args, arg)
    if args.writer_url is not None:  # a new server forgets the old one's model name unless given
        out["model"].update(writer_url=args.writer_url or None, writer_model=args.writer_model or None)
    elif args.writer_model is not None:
        out["model"]["writer_model"] = args.writer_model or None
    if args.writer_timeout is not None:
        out["model"]["writer_timeout"] = args.writer_timeout
    return {k: v for k, v in out.items() if v != {}}


def cmd_run(args) -> int:
    from engine.home import Home
    from engine.imported_edits import load_edits
    from engine.ingest import read_paper
    from engine.runtime.factory import build_runtime
    from engine.runtime.models import check_model_files
    from engine.selfedit import resolve_strategy

    started = time.perf_counter()
    home = Home()
    # Everything is checked before the session is touched, so bad input changes nothing.
    config = home.config_for(args.session, _overrides(args))
    resolve_strategy(config.strategy, home.path)
    if config.generation.edits_from:
        load_edits(config.generation.edits_from)
    drafts = [d for path in args.paths for d in read_paper(path, config.passage_tokens, config.max_passages)]
    if not drafts and not home.exists(args.session):
        raise UsageError(f"session {args.session!r} does not exist yet: give at least one paper")
    check_model_files(config.model)
    lock = home.writer(args.session)  # a second writer is told now, not after the model loads
    runtime, session = None, None
    try:
        runtime = build_runtime(config.model, config.train)
        home.check_model(args.session, runtime.identity())
        with model_work(
            runtime, "interrupted: everything finished so far is saved; run the same command to continue"
        ) as (report, stop):
            session = home.open(args.session, config, runtime)
            for draft in drafts:
                session.add_paper(draft, report)
            session.run(report, stop)
    finally:
        if runtime is not None:
            runtime.close()
        if session is not None:
            session.close()
        lock.release()
    timings = {**{k: round(v, 2) for k, v in session.timings.items()}, "total": round(time.perf_counter() - started, 2)}
    if args.json:
        print(json.dumps(run_summary(session, timings)))
    else:
        _print_show(session)
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


def _print_show(session, metric: str = "answer_nll", family: str | None = None) -> None:
    """The heatmap with its summary per probe family (the one asked for, else each the session has)."""
    from rich.console import Console

    from seal_tui.render import base_warning, heatmap, strategy_table, summary_table

    console = Console()
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
        from engine.editor import round_stats
        from seal_tui.render import editor_table

        console.print(editor_table(rounds, round_stats(session)))


def cmd_show(args) -> int:
    from engine.home import Home
    from engine.session import NoModel

    home = Home()
    require_session(home, args.session)
    session = home.open(args.session, runtime=NoModel("a read-only command used the model"), read_only=True)
    if args.json:
        m = session.matrix(args.metric, args.probes)
        print(json.dumps({"metric": m.metric, "probes": m.family, "rows": m.rows, "cols": m.cols, "values": m.values}))
    else:
        _print_show(session, args.metric, args.probes)
    return 0


def cmd_rollback(args) -> int:
    from engine.home import Home
    from engine.session import NoModel

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

    from engine import export
    from engine.home import Home
    from engine.runtime.models import resolve_gguf
    from engine.session import NoModel

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


def cmd_sessions(_args) -> int:
    from rich.console import Console

    from engine.home import Home
    from seal_tui.render import sessions_table

    home = Home()
    sessions = home.sessions()
    if not sessions:
        print(f"no sessions yet in {home.path}")
    else:
        Console().print(sessions_table(sessions))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int]
    if args.command == "bench":
        from seal_tui.bench import cmd_bench as handler
    elif args.command == "editor":
        from seal_tui.editor_cli import cmd_editor as handler
    elif args.command == "serve":
        from seal_tui.serve import cmd_serve as handler
    else:
        handler = {
            None: _launch,
            "run": cmd_run,
            "show": cmd_show,
            "sessions": cmd_sessions,
            "rollback": cmd_rollback,
            "export": cmd_export,
        }[args.command]
    try:
        return handler(args)
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
        from engine.home import default_home
        from seal_tui.failure_text import failure_text

        print(f"seal: {failure_text(exc, default_home() / 'seal.db')}", file=sys.stderr)
        return 1


def _launch(_args) -> int:
    """The app, once the session home opens: a home that cannot fails here, before Textual starts."""
    from engine.home import Home
    from seal_tui.launch import launch_app

    Home().close()
    return launch_app()


if __name__ == "__main__":
    sys.exit(main())
