"""Generation speed three ways: the app's generator, raw in-process llama-cpp-python and
transformers, measured in one run so the ratios compare like with like; and the decode
rate the other benchmarks read from a stream of pieces."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from engine.config import ModelConfig
from engine.runtime.models import thread_count

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage, CreateChatCompletionStreamResponse

PROMPT: list[dict[str, str]] = [
    {"role": "user", "content": "List five facts about how rivers shape their valleys, one per line."}
]


def _tps(tokens: int, seconds: float) -> float:
    return round(tokens / seconds, 1) if seconds > 0 else 0.0


def decode_rate(pieces: Iterable[str | None]) -> float:
    """Tokens/s after the first token: the decoding speed, whatever the prompt costs and
    however long this sample happens to be."""
    first, n = None, 0
    for piece in pieces:
        if piece:
            n += 1
            first = first or time.perf_counter()
    return _tps(n - 1, time.perf_counter() - first) if first and n > 1 else 0.0


def generation_speed(gguf: Path, threads: int, max_tokens: int, seed: int = 1234, reps: int = 3) -> dict:
    """Tokens/s of the app's generator, raw in-process llama-cpp-python, and transformers."""
    out = _llamacpp_rates(gguf, thread_count(threads), max_tokens, seed, reps)
    out["transformers"] = _transformers_rate(gguf, max_tokens, seed)
    out["app_vs_raw"] = round(out["app"] / out["raw_llamacpp"], 3)
    out["app_vs_transformers"] = round(out["app"] / out["transformers"], 2)
    return out


def _llamacpp_rates(gguf: Path, threads: int, max_tokens: int, seed: int, reps: int) -> dict:
    """Median decode rates of raw llama-cpp-python and the app's generator, interleaved.
    Both models are gone when it returns, before torch is imported (it competes for threads)."""
    import llama_cpp

    from engine.runtime.generator import Generator

    runs: dict[str, list[float]] = {"raw_llamacpp": [], "app": []}
    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=2048, n_threads=threads, verbose=False)
    messages: list[ChatCompletionRequestMessage] = [{"role": "user", "content": m["content"]} for m in PROMPT]
    temperature, top_p = 1.0, 0.95

    def raw() -> Iterator[str | None]:
        # stream=True returns the chunk iterator; llama_cpp types the result as either shape
        chunks = cast(
            "Iterator[CreateChatCompletionStreamResponse]",
            llm.create_chat_completion(
                messages=messages, stream=True, max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed
            ),
        )
        return (_content(c) for c in chunks)

    with Generator(gguf, threads=threads) as gen:
        streams: dict[str, Callable[[], Iterable[str | None]]] = {
            "raw_llamacpp": raw,
            "app": lambda: gen.stream_chat(
                PROMPT, max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed
            ),
        }
        for stream in streams.values():
            list(stream())  # warm-up
        for _ in range(reps):  # interleaved, so a noisy moment hits both sides
            for name, stream in streams.items():
                runs[name].append(decode_rate(stream()))
    return {name: statistics.median(values) for name, values in runs.items()}


def _content(chunk: CreateChatCompletionStreamResponse) -> str | None:
    """The text a stream chunk adds (None: a chunk with no text, such as the role or the end)."""
    content = chunk["choices"][0]["delta"].get("content")
    return content if isinstance(content, str) else None


def _transformers_rate(gguf: Path, max_tokens: int, seed: int) -> float:
    """Tokens/s of transformers' generate on the same model and sampling (one run)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BatchEncoding

    from engine.runtime.hf_model import _quiet_transformers, model_folder

    _quiet_transformers()
    folder = model_folder(ModelConfig(), gguf)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    ids = tok.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    assert isinstance(ids, BatchEncoding)  # return_dict=True: the tokenizer's outputs, not bare ids
    torch.manual_seed(seed)
    with torch.inference_mode():
        t0 = time.perf_counter()
        result = model.generate(
            **ids, max_new_tokens=max_tokens, do_sample=True, temperature=1.0, top_p=0.95, pad_token_id=tok.eos_token_id
        )
        seconds = time.perf_counter() - t0
    return _tps(result.shape[1] - ids["input_ids"].shape[1], seconds)
