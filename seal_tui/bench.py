"""`seal bench ...`: runs a benchmark of engine.benchmarks and prints its figures."""
from __future__ import annotations

import json
import sys
from importlib import resources


def cmd_bench(args) -> int:
    from engine import benchmarks
    from engine.ingest import read_paper
    from engine.runtime.models import default_gguf_path

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.what in ("ki", "forget"):
        return _bench_cl(args, log)
    if args.what == "speed":
        return _bench_speed(args, log)
    config = benchmarks.default_config()
    paper = args.data or str(resources.files("seal_tui") / "samples" / "velmora.md")
    draft = read_paper(paper, config.passage_tokens)[0]
    result = {"machine": benchmarks.machine(), "paper": paper}
    log("generation speed: app vs raw llama.cpp vs transformers ...")
    result["gen_tps"] = benchmarks.generation_speed(default_gguf_path(), threads=0, max_tokens=256)
    log(json.dumps(result["gen_tps"]))
    result.update(benchmarks.cycle(draft, config, args.passages or 20, log))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _bench_cl(args, log) -> int:
    from engine import benchmarks_cl
    from engine.ingest import read_paper
    from engine.runtime.local import LocalRuntime

    if not args.data:
        raise SystemExit(f"seal: error: bench {args.what} needs a SQuAD/SEAL JSON file")
    from engine.imported_edits import load_edits

    config = benchmarks_cl.bench_config(args.edits, args.epochs, args.max_tokens, args.reward_vs)
    teacher = load_edits(args.edits_from) if args.edits_from else None
    drafts = read_paper(args.data, passage_tokens=4096)  # one passage per context, as in SEAL
    wanted = tuple(x.strip() for x in args.conditions.split(",")) if args.conditions else None
    runtime = LocalRuntime(config.model, config.train)
    try:
        if args.what == "ki":
            passages = benchmarks_cl.passages_of(drafts, args.passages or 20, args.first)
            result = benchmarks_cl.knowledge_incorporation(runtime, passages, config, log, teacher,
                                                           wanted or benchmarks_cl.CONDITIONS)
        else:
            passages = benchmarks_cl.passages_of(drafts, args.steps, args.first)
            result = benchmarks_cl.forgetting(runtime, passages, config, args.replay, log,
                                              wanted or benchmarks_cl.FORGET_RUNS)
    finally:
        runtime.close()
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _bench_speed(args, log) -> int:
    from engine import benchmarks_speed
    from engine.config import ModelConfig, TrainConfig
    from engine.ingest import read_paper
    from engine.runtime.local import LocalRuntime
    from engine.selfedit import to_examples

    paper_path = args.data or str(resources.files("seal_tui") / "samples" / "velmora.md")
    paper = read_paper(paper_path)[0]
    passage = paper.passages[0]
    # SEAL-sized: a self-edit's lines plus the passage, as one update would see them
    lines = "\n".join(s.strip() + "." for s in passage.text.split(". ") if s.strip())
    examples = to_examples(lines, passage.title, passage.text, "implications")
    runtime = LocalRuntime(ModelConfig(), TrainConfig())
    try:
        if args.busy:
            from engine.benchmarks_busy import busy_speed

            result = busy_speed(runtime, paper, examples, args.busy, log)
        else:
            result = benchmarks_speed.speed(runtime, paper, examples, log)
    finally:
        runtime.close()
    print(json.dumps(result, indent=None if args.json else 2))
    return 0
