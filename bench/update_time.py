"""Seconds of one update, the recipe against the one it replaced and SEAL's preset, measured
in turn in one run on the same examples: each sample passage alone (grounding often keeps no
self-edit line), with three lines, and with one line per sentence.

    .venv/bin/python bench/update_time.py [--reps 1] [--cases "alone,3 lines,all lines"]

Prints one JSON line: seconds per configuration and case, and the totals' ratios.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import ModelConfig, TrainConfig, preset  # noqa: E402
from engine.learning.drift import drift_items  # noqa: E402
from engine.learning.training_examples import repeat_passage  # noqa: E402
from engine.papers.ingest import read_paper  # noqa: E402
from engine.papers.probes import recall_roles, split_probes  # noqa: E402
from engine.runtime.local import LocalRuntime  # noqa: E402
from engine.runtime.protocol import LoraShape, TrainingGuards  # noqa: E402
from engine.scores.evaluate import probe_text  # noqa: E402
from seal_bench.speed import update_examples  # noqa: E402

BEFORE = TrainConfig(
    rank=32, alpha=64, target_modules=("q_proj", "v_proj"), epochs=5, patience=2, drift_guard=0.0, passage_repeats=1
)
"""The recipe this one replaced: rank 32 on q/v, at most 5 epochs, the reward+guard check (patience 2)."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--cases", default="alone,3 lines,all lines", help="which of the cases, comma-separated")
    args = parser.parse_args()
    configs = {"before": BEFORE, "recipe": TrainConfig(), "seal": TrainConfig(**preset("seal")["train"])}
    runtimes: dict[tuple, LocalRuntime] = {}
    for config in configs.values():
        shape = (config.rank, config.target_modules)
        runtimes.setdefault(shape, LocalRuntime(ModelConfig(), LoraShape.of(config)))
    sample = read_paper(str(resources.files("seal_tui") / "samples" / "velmora.md"))[0]
    seconds: dict[str, dict[str, list[float]]] = {name: {} for name in configs}
    kept: dict[str, list] = {name: [] for name in configs}
    for _ in range(args.reps):
        for n, passage in enumerate(sample.passages, 1):
            lines = update_examples(passage)[:-1]
            roles = split_probes(passage.title, passage.text, list(passage.questions), "given")
            roles += recall_roles(passage.title, passage.text)
            reward = tuple((probe_text(passage.title, k, q), a) for k, q, a, r in roles if r == "reward")
            guards = TrainingGuards(reward, tuple(drift_items("guard")))
            cases = {"alone": [], "3 lines": lines[:3], "all lines": lines}
            for case in args.cases.split(","):
                chosen = cases[case]
                examples = [*chosen, f"{passage.title}\n{passage.text}"]
                for name, config in configs.items():  # in turn, so a noisy moment hits each
                    runtime = runtimes[(config.rank, config.target_modules)]
                    result = runtime.train(
                        None, repeat_passage(examples, config.passage_repeats), config, guards=guards
                    )
                    seconds[name].setdefault(f"p{n} {case}", []).append(round(result.seconds, 2))
                    kept[name].append(result.kept_epoch)
    for runtime in runtimes.values():
        runtime.close()
    total = {name: round(sum(min(v) for v in cases.values()), 1) for name, cases in seconds.items()}
    print(
        json.dumps(
            {
                "seconds": seconds,
                "kept_epoch": kept,
                "total_s": total,
                "recipe_vs_before": round(total["recipe"] / total["before"], 2),
                "recipe_vs_seal": round(total["recipe"] / total["seal"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
