"""The child-process side of engine.runtime.generator: loads llama.cpp once and serves
commands over a Pipe (the protocol is described in generator.py). A new command is a
function `_cmd_<name>(llm, conn, **kwargs)` listed in COMMANDS. Only this module imports
llama_cpp, and only inside the child.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path


def _use_threads(llm, threads: int | None) -> None:
    """Run the next call on `threads` threads (the parent picks them per call: cores free now)."""
    if threads and threads != _live.get("threads"):
        import llama_cpp

        _, ctx = _handles(llm)
        llama_cpp.llama_set_n_threads(ctx, threads, threads)
        _live["threads"] = threads


def _cmd_chat(llm, conn, *, messages, max_tokens, temperature, top_p, seed, repeatable=False, threads=None):
    """A streamed chat reply. `repeatable`: the caller chose the seed, so the same chat and
    seed must give the same text whatever was read before (ExactPrompts)."""
    _use_threads(llm, threads)
    _live["prompts"].repeatable = repeatable
    tokens = 0
    stream = llm.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed, stream=True
    )
    cancelled = False
    try:
        for chunk in stream:
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                tokens += 1
                conn.send(("piece", text))
            if conn.poll() and conn.recv()[0] == "cancel":
                cancelled = True
                break
    finally:
        stream.close()
        _live["prompts"].repeatable = False
    conn.send(("done", {"tokens": tokens, "cancelled": cancelled}))


class ExactPrompts:
    """Seeded replies that repeat, without reading the same prompt twice.

    llama-cpp-python continues a prompt it has cached by reading only the part after the
    cached prefix, and re-reads the last token alone when the whole prompt is cached. On some
    builds (CPUs without AVX-512, GPUs) a token read in a smaller batch gets slightly different
    logits than in a whole read, so a seeded reply would change with what was read before.
    For a repeatable reply the prompt is therefore read whole, and the logits of its last
    token are kept: the next repeatable reply to the same prompt, while the context still
    holds exactly that read, truncates the context to the prompt and samples from the kept
    logits, which is what a whole read would give, bit for bit (BENCHMARKS.md: the cost).
    Anything else that reads into the context drops them. Uses llama-cpp-python 0.3's
    `generate`, `eval`, `n_tokens`, `_input_ids` and `_requires_eval` (the version is pinned).
    """

    def __init__(self, llm):
        self.llm = llm
        self.repeatable = False
        self._kept: tuple[tuple[int, ...], object] | None = None  # (prompt tokens, last logits)
        self._reading: tuple[int, ...] | None = None  # a prompt being read whole, to keep
        self._generate, self._eval = llm.generate, llm.eval
        llm.generate, llm.eval = self.generate, self.eval

    def forget(self) -> None:
        self._kept = self._reading = None

    def _last_logits(self):
        import llama_cpp
        import numpy as np

        pointer = llama_cpp.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.llm.n_vocab(),))

    def generate(self, tokens, *args, **kwargs):
        llm, prompt = self.llm, tuple(tokens)
        if not self.repeatable:
            self.forget()
        elif self._kept is not None and self._kept[0] == prompt and tuple(llm._input_ids[: len(prompt)]) == prompt:
            llm._ctx.kv_cache_seq_rm(-1, len(prompt), -1)
            llm.n_tokens = len(prompt)
            self._last_logits()[:] = self._kept[1]
            llm._requires_eval = False  # generate samples at once, from the kept logits
        else:
            self.forget()
            llm.reset()
            self._reading = prompt
        return self._generate(tokens, *args, **kwargs)

    def eval(self, tokens) -> None:
        self._eval(tokens)
        llm, prompt = self.llm, self._reading
        if prompt is not None and llm.n_tokens == len(prompt) and tuple(llm._input_ids) == prompt:
            self._kept, self._reading = (prompt, self._last_logits().copy()), None


def _cmd_greedy(llm, conn, *, prompt, max_tokens, stop_strings, threads=None):
    _use_threads(llm, threads)
    out = llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, stop=list(stop_strings) or None)
    conn.send(("done", {"text": out["choices"][0]["text"], "tokens": out["usage"]["completion_tokens"]}))


class _Refused(Exception):
    """A command cannot be done; the message (one line) goes to the caller as is."""


_live: dict = {"adapters": [], "log": deque()}  # child-side state: the applied LoRAs, the llama.cpp log


def _handles(llm):
    """llama.cpp's model and context pointers (private attributes of llama-cpp-python 0.3)."""
    model = getattr(getattr(llm, "_model", None), "model", None)
    ctx = getattr(getattr(llm, "_ctx", None), "ctx", None)
    if not model or not ctx:
        raise _Refused(
            "this llama-cpp-python exposes no model/context handles (Llama._model.model, "
            "Llama._ctx.ctx); adapter hot-swap needs llama-cpp-python 0.3.x"
        )
    return model, ctx


def _forget_state(llm) -> None:
    """Nothing computed before now may be reused: KV cache, prompt-prefix match, saved states."""
    _live["prompts"].forget()
    llm.reset()
    if getattr(llm, "cache", None) is not None:
        llm.set_cache(None)


def _cmd_set_adapters(llm, conn, *, adapters):
    """Apply GGUF LoRA adapters together, [(path, scale), ...] (empty: the base model)."""
    import ctypes

    import llama_cpp

    start = time.perf_counter()
    model, ctx = _handles(llm)
    loaded = []
    try:
        for path, _scale in adapters:
            _live["log"].clear()
            handle = llama_cpp.llama_adapter_lora_init(model, os.fsencode(path))
            if not handle:
                reason = _first_error(_live["log"]) or "llama.cpp could not load it"
                raise _Refused(f"{Path(path).name}: {reason}")
            loaded.append(handle)
        count = len(loaded)
        handles = (llama_cpp.llama_adapter_lora_p_ctypes * count)(*loaded) if count else None
        scales = (ctypes.c_float * count)(*(float(s) for _, s in adapters)) if count else None
        status = llama_cpp.llama_set_adapters_lora(ctx, handles, count, scales)
        if status != 0:
            raise _Refused(f"llama.cpp refused to apply the adapter (status {status})")
    except BaseException:
        for handle in loaded:
            llama_cpp.llama_adapter_lora_free(handle)
        raise
    old, _live["adapters"] = _live["adapters"], loaded
    for handle in old:  # no longer on the context: safe to free
        llama_cpp.llama_adapter_lora_free(handle)
    _forget_state(llm)
    conn.send(("done", {"seconds": time.perf_counter() - start}))


def _cmd_next_token(llm, conn, *, prompt, top_k):
    import llama_cpp
    import numpy as np

    _, ctx = _handles(llm)
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
    if not tokens or len(tokens) > llm.n_ctx():
        raise _Refused(f"the prompt has {len(tokens)} tokens; it must have 1 to {llm.n_ctx()} (the context window)")
    _forget_state(llm)
    llm.eval(tokens)
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(llm.n_vocab(),))
    order = np.argsort(-logits, kind="stable")
    if top_k is not None:
        order = order[:top_k]
    conn.send(("done", {"prompt_tokens": list(tokens), "top": [(int(i), float(logits[i])) for i in order]}))


COMMANDS: dict[str, Callable] = {
    "chat": _cmd_chat,
    "greedy": _cmd_greedy,
    "set_adapters": _cmd_set_adapters,
    "next_token": _cmd_next_token,
}


def _first_error(log: deque) -> str:
    for level, text in log:
        if level >= 4 and text.strip():  # GGML_LOG_LEVEL_ERROR
            return re.sub(r"^(\w+: )+", "", text.strip())
    return ""


def child_main(conn, model_path: str, n_ctx: int, threads: int, log_path: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)  # nothing from here may reach the app's terminal
    os.dup2(fd, 2)
    os.close(fd)
    log: deque = deque(maxlen=50)
    _live["log"] = log
    try:
        import ctypes

        import llama_cpp

        @llama_cpp.llama_log_callback
        def keep_log(level, text, _user):
            log.append((level, text.decode("utf-8", "replace")))
            if level in (3, 4):  # warnings and errors go to the log file
                os.write(2, text)

        llama_cpp.llama_log_set(keep_log, ctypes.c_void_p(0))
        from engine.runtime.devices import gpu_layers

        layers = gpu_layers(bool(llama_cpp.llama_supports_gpu_offload()))
        llm = llama_cpp.Llama(
            model_path=model_path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=layers,
            verbose=False,
        )
        _live["gpu_layers"] = layers
        _live["threads"] = threads
        _live["prompts"] = ExactPrompts(llm)
    except Exception as exc:  # noqa: BLE001 - every load failure becomes one line
        conn.send(("error", _first_error(log) or f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("done", {"n_ctx": llm.n_ctx(), "gpu_layers": layers}))
    while True:
        try:
            name, kwargs = conn.recv()
        except (EOFError, OSError):
            name = "close"
        if name == "close":
            llm.close()  # freed here, not in interpreter teardown (which logs noise)
            return
        if name not in COMMANDS:  # includes a "cancel" that arrived after its command ended
            if name != "cancel":
                conn.send(("error", f"unknown command {name!r}"))
            continue
        try:
            COMMANDS[name](llm, conn, **kwargs)
        except _Refused as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the caller, child lives on
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
