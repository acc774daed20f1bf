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
    config = benchmarks.default_config()
    paper = args.data or str(resources.files("seal_tui") / "samples" / "velmora.md")
    draft = read_paper(paper, config.passage_tokens)[0]
    result = {"machine": benchmarks.machine(), "paper": paper}
    log("generation speed: app vs raw llama.cpp vs transformers ...")
    result["gen_tps"] = benchmarks.generation_speed(default_gguf_path(), threads=0, max_tokens=256)
    log(json.dumps(result["gen_tps"]))
    result.update(benchmarks.cycle(draft, config, args.passages, log))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0
