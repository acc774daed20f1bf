"""Search for an update recipe that learns at 135M: one adapter per passage from the base
model, every (data, lr, anchor, targets) setting, scored after every epoch.

Run on the tuning split only (SEAL passages 100-199); the report split (0-49) is never
read here. Per passage and setting, after each epoch: answer NLL on the passage's reward
probes and held-out probes, on both halves of the drift set, and on an unrelated passage's
questions. Workers split the passages; each writes JSON lines as it goes, so a run cut
short still leaves every setting measured on the passages done so far.

    python bench/recipe_sweep.py DATA.json --teacher IMPLICATIONS.json --first 100 --count 30 \
        --workers 12 --out results.jsonl [--model-dir DIR] [--seq]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import TrainConfig  # noqa: E402
from engine.drift import drift_items  # noqa: E402
from engine.evaluate import probe_prompt  # noqa: E402
from engine.probes import cloze_probes, sentences, split_probes  # noqa: E402
from engine.selfedit import to_examples  # noqa: E402

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def settings() -> dict[str, dict]:
    qv = ("q_proj", "v_proj")
    out: dict[str, dict] = {}
    for lr in (1e-4, 3e-4, 1e-3):
        for data in ("passage", "cloze", "teacher", "teacher+cloze"):
            for anchor in (0.0, 1.0, 3.0):
                out[f"{data}|lr{lr:g}|a{anchor:g}|qv32"] = dict(data=data, lr=lr, anchor=anchor, targets=qv, rank=32)
    for data in ("passage", "teacher+cloze"):
        out[f"{data}|lr0.0003|a0|all8"] = dict(data=data, lr=3e-4, anchor=0.0, targets=ALL_LINEAR, rank=8)
    return out


def examples(data: str, row: dict) -> list:
    title, text = row["title"], row["context"]
    passage = f"{title}\n{text}"
    out: list = []
    if data == "sentences":
        out += [f"{title}\n{s}" for s in sentences(text)]
    if data.startswith("teacher"):
        out += to_examples(row["completions"][0], title, text, "implications")[:-1]
    if data.endswith("cloze"):
        out += [(probe_prompt(title, q), " " + a) for q, a in cloze_probes(title, text, limit=8)]
    return out + [passage]


def probe_sets(rows: list[dict], i: int, first: int, count: int) -> dict[str, list[tuple[str, str]]]:
    row = rows[i]
    given = [(q["question"], q["answer"]) for q in row["questions"]]
    split = split_probes(row["title"], row["context"], given, "given")
    other = rows[first + (i - first + count // 2) % count]
    return {
        "reward": [(probe_prompt(row["title"], q), a) for _, q, a, role in split if role == "reward"],
        "heldout": [(probe_prompt(row["title"], q), a) for _, q, a, role in split if role == "heldout"],
        "guard": drift_items("guard"),
        "report": drift_items("report"),
        "other": [(probe_prompt(other["title"], q["question"]), q["answer"]) for q in other["questions"]],
    }


def _mean(values):
    return sum(values) / len(values) if values else None


def worker(args, indices: list[int], out_path: str) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.runtime.scorer import answer_nll
    from engine.runtime.trainer import Anchor, EpochCheck, train_lora

    torch.set_num_threads(1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    # transformers wraps PreTrainedModel.to in functools.wraps, whose stub loses the bound self
    base = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).to(device)  # type: ignore[arg-type]
    rows = json.loads(Path(args.data).read_text())
    teacher = json.loads(Path(args.teacher).read_text())
    for r, t in zip(rows, teacher):
        r["completions"] = t["completions"]
    grid = settings()
    if args.only:
        grid = {k: v for k, v in grid.items() if any(s in k for s in args.only.split(","))}
    models: dict = {}
    peft_model = None
    with open(out_path, "a") as out:
        for i in indices:
            sets = probe_sets(rows, i, args.first, args.count)
            flat = [(name, item) for name, items in sets.items() for item in items]
            for name, s in grid.items():
                key = (s["targets"], s["rank"])
                if key not in models:
                    lora = LoraConfig(
                        r=s["rank"],
                        lora_alpha=2 * s["rank"],
                        target_modules=list(s["targets"]),
                        task_type="CAUSAL_LM",
                        bias="none",
                    )
                    slot = f"a{len(models)}"
                    if peft_model is None:
                        peft_model = get_peft_model(base, lora, adapter_name=slot)
                    else:
                        peft_model.add_adapter(slot, lora)
                    models[key] = slot
                assert peft_model is not None  # made with the first adapter, above
                model, slot = peft_model, models[key]
                model.set_adapter(slot)
                for n, p in model.named_parameters():
                    if "lora_B" in n and f".{slot}." in n:
                        torch.nn.init.zeros_(p)
                    elif "lora_A" in n and f".{slot}." in n:
                        torch.nn.init.kaiming_uniform_(p, a=5**0.5)
                config = TrainConfig(
                    rank=s["rank"],
                    alpha=2 * s["rank"],
                    target_modules=s["targets"],
                    lr=s["lr"],
                    epochs=args.epochs,
                    anchor=s["anchor"],
                    bf16=False,
                )
                anchor = Anchor(model, tok, sets["guard"]) if s["anchor"] else None
                record = {
                    "passage": i,
                    "setting": name,
                    **{k: v for k, v in s.items() if k != "targets"},
                    "targets": len(s["targets"]),
                    "epochs": {},
                }

                def measure(epoch: int) -> float:
                    nll = answer_nll(model, tok, [item for _, item in flat])
                    groups: dict[str, list[float]] = {}
                    for (group, _), v in zip(flat, nll):
                        groups.setdefault(group, []).append(v)
                    record["epochs"][epoch] = {g: round(_mean(v), 4) for g, v in groups.items()}
                    return 0.0

                with model.disable_adapter():
                    measure(0)
                t0 = time.perf_counter()
                result = train_lora(
                    model, tok, examples(s["data"], rows[i]), config, anchor=anchor, check=EpochCheck(score=measure)
                )
                record["seconds"] = round(time.perf_counter() - t0, 2)
                record["steps"] = len(result.losses)
                out.write(json.dumps(record) + "\n")
                out.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--first", type=int, default=100)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", default="")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    assert args.first >= 100, "the sweep reads the tuning split (100-199) only"
    indices = list(range(args.first, args.first + args.count))
    parts = [indices[k :: args.workers] for k in range(args.workers)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=worker, args=(args, part, f"{args.out}.{k}")) for k, part in enumerate(parts) if part]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()
