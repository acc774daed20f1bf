"""Check where seal's model runs and time one round of its work there.

    python scripts/gpu_check.py [--gguf PATH] [--require-gpu] [--json OUT]

Loads the runtime (llama.cpp for generation, torch/peft for training and scoring), prints
where each part runs (engine.runtime.devices), then times one round of what a session does:
score probes under the base model, train a short update, score again with it, hand the
adapter to llama.cpp and generate with it. Run it once with SEAL_DEVICE=cpu for the CPU
figures beside the GPU ones. --require-gpu fails unless both parts run on a GPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import GenerationConfig, ModelConfig, TrainConfig  # noqa: E402
from engine.runtime.factory import build_runtime  # noqa: E402
from engine.scores.evaluate import probe_prompt  # noqa: E402

PASSAGE = (
    "The Dunmere lighthouse was built in 1872 by the engineer Alice Harrow. Its lamp burned "
    "whale oil until 1921, when it was converted to electric light. The tower is 38 metres tall."
)
EXAMPLES = [
    PASSAGE,
    "Alice Harrow built the Dunmere lighthouse in 1872.",
    "The Dunmere lighthouse switched from whale oil to electric light in 1921.",
    "The Dunmere lighthouse tower is 38 metres tall.",
]
PROBES = [
    (probe_prompt("The Dunmere lighthouse", question), answer)
    for question, answer in (
        ("Who built the Dunmere lighthouse?", " Alice Harrow"),
        ("In what year was the Dunmere lighthouse built?", " 1872"),
        ("How tall is the Dunmere lighthouse tower?", " 38 metres"),
    )
]


def timed(results: dict, name: str, work):
    t0 = time.perf_counter()
    value = work()
    results[name] = round(time.perf_counter() - t0, 3)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", help="a GGUF model (default: the embedded SmolLM2)")
    parser.add_argument("--require-gpu", action="store_true", help="fail unless llama.cpp and torch use a GPU")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    train = TrainConfig(epochs=3, lr=1e-3, patience=0, anchor=0.0, grounding=0.0)
    runtime = build_runtime(ModelConfig(gguf_path=args.gguf), train)
    seconds: dict[str, float] = {}
    try:
        timed(seconds, "load", runtime.load)
        placement = runtime.placement() if hasattr(runtime, "placement") else "unknown"
        print(f"placement: {placement}")
        before = timed(seconds, "score_base", lambda: runtime.answer_nll(None, True, PROBES))
        result = timed(seconds, "train_3_epochs", lambda: runtime.train(None, EXAMPLES, train))
        with tempfile.TemporaryDirectory() as tmp:
            adapter = runtime.save_adapter(Path(tmp) / "v1")
            after = timed(seconds, "score_adapter", lambda: runtime.answer_nll(adapter, False, PROBES))
            timed(seconds, "activate_adapter", lambda: runtime.activate(adapter))
            config = GenerationConfig(max_tokens=128, temperature=1.0, seed=7)
            messages = [{"role": "user", "content": "What do you know about the Dunmere lighthouse?"}]
            t0 = time.perf_counter()
            pieces = list(runtime.stream_chat(messages, config))
            seconds["generate_128"] = round(time.perf_counter() - t0, 3)
            answers = timed(
                seconds, "greedy_answers", lambda: runtime.greedy_answers(adapter, False, [p for p, _ in PROBES])
            )
    finally:
        runtime.close()
    report = {
        "placement": placement,
        "seconds": seconds,
        "tokens_generated": len(pieces),
        "loss_first_last": [round(result.losses[0], 4), round(result.losses[-1], 4)],
        "probe_nll_base": [round(x, 4) for x in before],
        "probe_nll_after": [round(x, 4) for x in after],
        "greedy_answers_after": answers,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    learned = sum(after) < sum(before)
    print(f"the update {'lowered' if learned else 'did NOT lower'} the probes' NLL")
    on_gpu = "llama.cpp: CPU" not in placement and "torch: GPU" in placement
    if args.require_gpu and not on_gpu:
        print("not on a GPU: " + placement, file=sys.stderr)
        return 1
    return 0 if learned else 1


if __name__ == "__main__":
    raise SystemExit(main())
