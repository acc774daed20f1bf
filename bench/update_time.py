"""Seconds of one update on the first sample passage, the recipe against SEAL's preset,
measured alternately in one run (the same examples: a self-edit's lines and the passage).

    .venv/bin/python bench/update_time.py [--reps 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import ModelConfig, TrainConfig, preset  # noqa: E402
from engine.drift import drift_items  # noqa: E402
from engine.evaluate import probe_prompt  # noqa: E402
from engine.ingest import read_paper  # noqa: E402
from engine.probes import split_probes  # noqa: E402
from engine.runtime.factory import build_runtime  # noqa: E402
from engine.runtime.protocol import TrainingGuards  # noqa: E402
from seal_bench.speed import update_examples  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    passage = read_paper(str(resources.files("seal_tui") / "samples" / "velmora.md"))[0].passages[0]
    examples = update_examples(passage)
    roles = split_probes(passage.title, passage.text, [], "cloze")
    reward = tuple((probe_prompt(passage.title, q), a) for _, q, a, r in roles if r == "reward")
    guards = TrainingGuards(reward, tuple(drift_items("guard")))
    configs = {"recipe": TrainConfig(), "seal": TrainConfig(**preset("seal")["train"])}
    runtime = build_runtime(ModelConfig(), TrainConfig())
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    epochs: dict[str, list[int]] = {name: [] for name in configs}
    for _ in range(args.reps):
        for name, config in configs.items():
            result = runtime.train(None, examples, config, guards=guards)
            seconds[name].append(round(result.seconds, 2))
            epochs[name].append(result.kept_epoch if result.kept_epoch is not None else config.epochs)
    runtime.close()
    best = {name: min(v) for name, v in seconds.items()}
    print(
        json.dumps(
            {
                "examples": len(examples),
                "seconds": seconds,
                "kept_epoch": epochs,
                "recipe_vs_seal": round(best["recipe"] / best["seal"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
