"""Search for an update recipe on the tuning split: per passage and setting, a fresh LoRA from
the base model trained on the examples a session would build (the model's own self-edits,
gated and grounded, or a teacher's, and the passage), scored after every epoch on the
passage's held-out questions and recall probes, its reward probes, both halves of the drift
set and an unrelated passage's held-out probes. Writes JSON lines as it goes, so a run cut
short keeps every setting measured so far.

The model's own self-edits (5 per passage, the session's defaults, seeded) are written once
into a cache file with llama.cpp, so every setting trains on the same candidates.

    python bench/recipe_sweep.py DATA.json [--teacher IMPLICATIONS.json] --first 100 --count 12 \\
        --settings "passage|3e-4|3|all16|prep=16;teacher|3e-4|3|all16|prep=16|ground=0" \\
        --epochs 3 --workers 2 --out sweep.jsonl [--candidates cands.json]

A setting is data|lr|anchor|lora[|key=value...]: data passage, edits or teacher; lora qv32
(SEAL's rank 32 on q/v), all16 or all8 (every linear layer); prep=N trains the passage N
times an epoch; steps=N repeats the examples until an epoch has N steps; plus=K gives LoRA's
B matrices K times the learning rate (LoRA+); ground=S is the grounding share.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import ALL_LINEAR, GenerationConfig, TrainConfig  # noqa: E402
from engine.learning.drift import drift_items  # noqa: E402
from engine.papers.probes import recall_probes, split_probes  # noqa: E402
from engine.scores.evaluate import probe_prompt  # noqa: E402
from engine.selfedits.edit_lines import to_examples  # noqa: E402
from engine.selfedits.gate import gate, grounded  # noqa: E402
from engine.selfedits.selfedit import build_messages, resolve_strategy  # noqa: E402

LORA = {"qv32": (("q_proj", "v_proj"), 32), "all16": (ALL_LINEAR, 16), "all8": (ALL_LINEAR, 8)}


def parse_setting(name: str) -> dict:
    data, lr, anchor, lora, *extra = name.split("|")
    out = dict(data=data, lr=float(lr), anchor=float(anchor), lora=lora, steps=1, plus=1.0, ground=0.6, prep=1)
    out.update({k: float(v) for k, v in (x.split("=") for x in extra)})
    return out


def rows_of(args) -> dict[str, dict]:
    """id -> passage (title, context, questions, teacher), the tuning split only."""
    rows = json.loads(Path(args.data).read_text())
    teacher = json.loads(Path(args.teacher).read_text()) if args.teacher else [{}] * len(rows)
    stem = Path(args.data).stem
    return {
        f"{stem}:{i}": {**rows[i], "teacher": (teacher[i].get("completions") or [""])[0]}
        for i in range(args.first, min(len(rows), args.first + args.count))
    }


def write_candidates(rows: dict[str, dict], path: Path) -> dict[str, list[str]]:
    """The base model's own self-edits per passage (session defaults), written once."""
    from engine.runtime.generator import Generator
    from engine.runtime.models import default_gguf_path

    cache = json.loads(path.read_text()) if path.exists() else {}
    missing = [k for k in rows if k not in cache]
    if missing:
        strategy, g = resolve_strategy("implications"), GenerationConfig()
        with Generator(default_gguf_path()) as gen:
            for key in missing:
                r = rows[key]
                messages = build_messages(strategy, r["title"], r["context"])
                seed = zlib.crc32(key.encode()) % 100_000 * 10
                cache[key] = [
                    "".join(gen.stream_chat(messages, max_tokens=g.max_tokens, seed=seed + k)).strip()
                    for k in range(g.candidates)
                ]
                path.write_text(json.dumps(cache, indent=1))
    return cache


def probe_sets(row: dict, other: dict) -> dict[str, list[tuple[str, str]]]:
    def own(r):
        given = [(q["question"], q["answer"]) for q in r["questions"]]
        split = split_probes(r["title"], r["context"], given, "given")
        q = {
            role: [(probe_prompt(r["title"], x), a) for _, x, a, rr in split if rr == role]
            for role in ("heldout", "reward")
        }
        recall = [(f"{r['title']}\n{p}", a) for p, a in recall_probes(r["title"], r["context"], 6)]
        return q, {"heldout": recall[0::2], "reward": recall[1::2]}

    (q, rec), (oq, orec) = own(row), own(other)
    return {
        "q_heldout": q["heldout"],
        "q_reward": q["reward"],
        "r_heldout": rec["heldout"],
        "r_reward": rec["reward"],
        "guard": drift_items("guard"),
        "report": drift_items("report"),
        "other_q": oq["heldout"],
        "other_r": orec["heldout"],
    }


def examples(row: dict, cands: list[str], s: dict) -> list:
    title, text = row["title"], row["context"]
    lines: list = []
    if s["data"] == "edits":
        strategy = resolve_strategy("implications")
        prompt = "\n".join(m["content"] for m in build_messages(strategy, title, text))
        made = [
            x
            for c, v in zip(cands, gate(cands, text, prompt, strategy.name))
            if v.ok
            for x in to_examples(c, title, text, strategy.name)[:-1]
        ]
        lines = grounded(list(dict.fromkeys(made)), title, text, s["ground"])
    elif s["data"] == "teacher":
        lines = grounded(
            list(dict.fromkeys(to_examples(row["teacher"], title, text, "imported")[:-1])), title, text, s["ground"]
        )
    out = lines + [f"{title}\n{text}"] * int(s["prep"])
    return out * max(1, math.ceil(s["steps"] / len(out)))


def worker(args, jobs: list[tuple[str, str, str]], out_path: str) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engine.runtime.scorer import answer_nll
    from engine.runtime.trainer import Anchor, EpochCheck, train_lora

    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    tok.pad_token = tok.pad_token or tok.eos_token
    base = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32)
    rows, cands = rows_of(args), json.loads(Path(args.candidates).read_text())
    peft_model = None
    slots: dict[str, str] = {}
    adamw = torch.optim.AdamW
    with open(out_path, "a") as out:
        for key, other, name in jobs:
            s = parse_setting(name)
            targets, rank = LORA[s["lora"]]
            if s["lora"] not in slots:
                lora = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=list(targets), task_type="CAUSAL_LM")
                slots[s["lora"]] = f"a{len(slots)}"
                if peft_model is None:
                    peft_model = get_peft_model(base, lora, adapter_name=slots[s["lora"]])
                else:
                    peft_model.add_adapter(slots[s["lora"]], lora)
            assert peft_model is not None  # made with the first setting's adapter
            model, slot = peft_model, slots[s["lora"]]
            model.set_adapter(slot)
            torch.manual_seed(0)
            b_params = set()
            for n, p in model.named_parameters():
                if f".{slot}." in n and "lora_B" in n:
                    torch.nn.init.zeros_(p)
                    b_params.add(id(p))
                elif f".{slot}." in n and "lora_A" in n:
                    torch.nn.init.kaiming_uniform_(p, a=5**0.5)

            def lora_plus(params, lr, weight_decay=0.0, plus=s["plus"]):  # B matrices at plus x lr
                params = list(params)
                groups = [[p for p in params if id(p) not in b_params], [p for p in params if id(p) in b_params]]
                return adamw([{"params": groups[0], "lr": lr}, {"params": groups[1], "lr": lr * plus}], lr=lr)

            torch.optim.AdamW = lora_plus  # type: ignore[misc,assignment]  # train_lora makes its optimiser here
            row, sets = rows[key], probe_sets(rows[key], rows[other])
            flat = [(g, item) for g, items in sets.items() for item in items]
            config = TrainConfig(
                rank=rank,
                alpha=2 * rank,
                target_modules=targets,
                lr=s["lr"],
                epochs=args.epochs,
                anchor=s["anchor"],
                patience=0,
                drift_guard=0.0,
                passage_repeats=1,
                bf16=False,
            )
            record: dict = {"passage": key, "setting": name, "epochs": {}, "t": {}}
            clock = {"train": 0.0}

            def measure(epoch: int) -> float:
                groups: dict[str, list[float]] = {}
                for (g, _), v in zip(flat, answer_nll(model, tok, [item for _, item in flat])):
                    groups.setdefault(g, []).append(v)
                record["epochs"][epoch] = {g: round(sum(v) / len(v), 4) for g, v in groups.items()}
                record["t"][epoch] = round(clock["train"], 1)
                return 0.0

            trained = examples(row, cands[key], s)
            record["examples"] = len(trained)
            anchor = Anchor(model, tok, sets["guard"]) if s["anchor"] else None
            t0 = time.perf_counter()
            train_lora(
                model,
                tok,
                trained,
                config,
                on_step=lambda *a: clock.update(train=a[-1]),
                anchor=anchor,
                check=EpochCheck(score=measure),
            )
            torch.optim.AdamW = adamw  # type: ignore[misc]
            record["seconds"] = round(time.perf_counter() - t0, 1)
            out.write(json.dumps(record) + "\n")
            out.flush()


def main() -> None:
    from engine.runtime.hf_model import converted_dir
    from engine.runtime.models import default_gguf_path

    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--teacher")
    parser.add_argument("--first", type=int, default=100)
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--settings", required=True, help="settings separated by ;")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model-dir", default=None, help="default: the embedded model's converted folder")
    parser.add_argument("--candidates", default="bench/results/candidates.json")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if "squad" in Path(args.data).name:
        assert args.first >= 100, "the sweep reads the tuning split of SEAL's passages (100-199) only"
    args.model_dir = args.model_dir or str(converted_dir(default_gguf_path()))
    rows = rows_of(args)
    write_candidates(rows, Path(args.candidates))
    keys = list(rows)
    done = {
        (r["passage"], r["setting"])
        for f in Path(args.out).parent.glob(Path(args.out).name + ".*")
        for r in map(json.loads, f.read_text().splitlines())
    }
    jobs = [
        (key, keys[(i + len(keys) // 2) % len(keys)], name)
        for i, key in enumerate(keys)
        for name in args.settings.split(";")
        if (key, name) not in done
    ]
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=worker, args=(args, jobs[k :: args.workers], f"{args.out}.{k}"))
        for k in range(args.workers)
        if jobs[k :: args.workers]
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()
