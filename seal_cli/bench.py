"""`seal bench ...`: runs a benchmark of seal_bench and prints its figures as JSON."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from importlib import resources
from pathlib import Path

from seal_cli.common import UsageError


def add_parser(sub) -> None:
    from engine.config import LOCAL_RAY, REWARD_BASELINES, FilterConfig

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
        "--ray-workers",
        type=int,
        default=FilterConfig.ray_workers,
        metavar="N",
        help=f"ki/forget: Ray workers with --ray (default {FilterConfig.ray_workers})",
    )
    bench.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="ki/forget: threads per model (default: the free cores; with a local --ray, cores/workers each)",
    )
    bench.set_defaults(handler=cmd_bench)


def cmd_bench(args) -> int:
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    run = {"cycle": _bench_cycle, "speed": _bench_speed, "ki": _bench_cl, "forget": _bench_cl}[args.what]
    print(json.dumps(run(args, log), indent=None if args.json else 2))
    return 0


def _sample_paper(args) -> str:
    """The paper to measure on: the one given, else the shipped sample."""
    return args.data or str(resources.files("seal_tui") / "samples" / "velmora.md")


def _bench_cycle(args, log) -> dict:
    from engine.papers.ingest import read_paper
    from engine.runtime.models import default_gguf_path
    from seal_bench import cycle, generation

    config = cycle.default_config()
    paper = _sample_paper(args)
    draft = read_paper(paper, config.passage_tokens)[0]
    result = {"machine": cycle.machine(), "paper": paper}
    log("generation speed: app vs raw llama.cpp vs transformers ...")
    result["gen_tps"] = generation.generation_speed(default_gguf_path(), threads=0, max_tokens=256)
    log(json.dumps(result["gen_tps"]))
    result.update(cycle.cycle(draft, config, args.passages or 20, log))
    return result


def _bench_cl(args, log) -> dict:
    from engine.papers.ingest import read_paper
    from engine.selfedits.imported_edits import load_edits
    from seal_bench import cl

    if args.ray is not None and Path(args.ray).is_file():  # `--ray data.json` took the file as its address
        raise UsageError(f"--ray takes a Ray address, not the file {args.ray!r}: give the data file before --ray")
    if not args.data:
        raise UsageError(f"bench {args.what} needs a SQuAD/SEAL JSON file")
    config = cl.bench_config(args.edits, args.epochs, args.max_tokens, args.reward_vs)
    if args.threads is not None:  # the same count with and without Ray gives the same figures bit for bit
        config = replace(config, model=replace(config.model, threads=args.threads))
    teacher = load_edits(args.edits_from) if args.edits_from else None
    drafts = read_paper(args.data, passage_tokens=4096)  # one passage per context, as in SEAL
    wanted = tuple(x.strip() for x in args.conditions.split(",")) if args.conditions else None
    runtime, pool = _workers(args, config, log)
    try:
        if args.what == "ki":
            passages = cl.passages_of(drafts, args.passages or 20, args.first)
            return cl.knowledge_incorporation(
                runtime, passages, config, log, teacher, wanted or cl.CONDITIONS, pool=pool
            )
        passages = cl.passages_of(drafts, args.steps, args.first)
        return cl.forgetting(runtime, passages, config, args.replay, log, wanted or cl.FORGET_RUNS, pool=pool)
    finally:
        (pool or runtime).close()


def _workers(args, config, log):
    """(runtime, None) for a run in this process; (None, a RayPool) with --ray."""
    if args.ray is None:
        from engine.runtime.factory import build_runtime

        return build_runtime(config.model, config.train), None
    from engine.config import check_ray_address
    from engine.runtime.ray_pool import RayPool

    if args.ray_workers < 1:
        raise UsageError(f"--ray-workers must be 1 or more, got {args.ray_workers}")
    check_ray_address(args.ray)
    log(f"ray: {args.ray_workers} workers ({args.ray}) ...")
    return None, RayPool(config.model, config.train, args.ray, args.ray_workers)


def _bench_speed(args, log) -> dict:
    from engine.config import ModelConfig, TrainConfig
    from engine.papers.ingest import read_paper
    from engine.runtime.local import LocalRuntime  # these figures time its own parts (peft, generator)
    from engine.runtime.protocol import LoraShape
    from seal_bench.busy import busy_speed
    from seal_bench.speed import speed, update_examples

    paper = read_paper(_sample_paper(args))[0]
    examples = update_examples(paper.passages[0])
    train = TrainConfig()
    runtime = LocalRuntime(ModelConfig(), LoraShape.of(train))
    try:
        if args.busy:
            return busy_speed(runtime, paper, examples, args.busy, log, train)
        return speed(runtime, paper, examples, log, train)
    finally:
        runtime.close()
