"""Text generation with llama.cpp, run in a child process.

A native crash in llama.cpp (a segfault) ends the child, not the app: the call in flight
raises GeneratorCrashed and the next call starts a fresh child. The child loads the model
once and serves commands over a Pipe:

    parent -> child   (name, kwargs)           one command at a time; ("cancel", {}) mid-stream
    child  -> parent  ("piece", text)*         zero or more, streamed commands only
                      ("done", result) | ("error", reason)   exactly one, ends the command

The child's side, with its commands, is engine.runtime.llama_child. Nothing here imports
llama_cpp in the parent process.

The child is started with multiprocessing's "spawn", which re-imports the program's main
module in the child: a script that uses Generator must guard its entry point with
`if __name__ == "__main__":` (console scripts and pytest already do).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path

from engine.runtime.llama_child import child_main
from engine.runtime.models import check_gguf, thread_count

_POLL_S = 0.05  # how often a waiting parent looks at the stop event and the child's health


class GeneratorError(Exception):
    """Generation failed; the message says why in one line."""


class GeneratorCrashed(GeneratorError):
    """The child process died during a call; the next call starts a new one."""

    def __init__(self, reason: str):
        super().__init__(f"the generation backend stopped ({reason}); it will restart on next use")
        self.reason = reason


# ---------------------------------------------------------------- parent side


def _send_cancel(conn) -> bool:
    try:
        conn.send(("cancel", {}))
    except (OSError, ValueError):
        pass
    return True


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@contextmanager
def _real_std_streams():
    """multiprocessing hands the process's stderr descriptor to the helpers it starts; a
    host that replaced sys.stderr (a terminal UI does) has none, so the originals stand in."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = sys.__stdout__ or saved[0], sys.__stderr__ or saved[1]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


@dataclass(frozen=True)
class NextToken:
    """llama.cpp's scores for the token after a prompt."""

    prompt_tokens: list[int]
    """The ids llama.cpp evaluated (with BOS where the model adds one)."""
    top: list[tuple[int, float]]
    """(token id, logit) pairs, best first."""


class Generator:
    """llama.cpp chat and greedy completion in a crash-isolated child process.

    One call at a time: other threads wait on a lock. `tokens_per_second` is the speed of
    the last call, wall clock from request to last token (prompt processing included).
    LoRA adapters set with `set_adapters` stay applied across child restarts.
    """

    def __init__(
        self,
        gguf_path: str | os.PathLike,
        n_ctx: int = 2048,
        threads: int = 0,
        *,
        log_path: str | os.PathLike | None = None,
    ):
        self.gguf_path = Path(gguf_path).expanduser()
        self.n_ctx = n_ctx
        self.threads = thread_count(threads)
        self.log_path = os.fspath(log_path) if log_path else os.devnull
        self.tokens_per_second = 0.0
        """Speed of the last call: tokens generated / wall seconds (prompt included)."""
        self.last_tokens = 0
        """Tokens the model generated in the last call (after a stop: up to the stop)."""
        self._proc: SpawnProcess | None = None
        self._conn: Connection | None = None
        """The child and the parent's end of its pipe, set and cleared together."""
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._result: dict = {}
        self._adapters: tuple[tuple[str, float], ...] = ()  # what the live child has applied
        self.gpu_layers = 0
        """Layers the loaded child offloaded to a GPU (-1: all; engine.runtime.devices)."""
        self.last_swap_seconds = 0.0
        """How long the last adapter switch took in the child (load, apply, cache reset)."""

    # lifecycle ---------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The child's process id while one is running."""
        return self._proc.pid if self._proc is not None else None

    def load(self) -> None:
        """Start the child and wait until the model is loaded (no-op if it is)."""
        with self._locked():
            self._ensure_started()

    def close(self) -> None:
        """Stop the child (politely, then by force). The generator may be loaded again."""
        proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if proc is None or conn is None:
            return
        try:
            conn.send(("cancel", {}))  # ends a stream in flight, if any
            conn.send(("close", {}))
        except (OSError, ValueError):
            pass
        proc.join(2)
        if proc.is_alive():
            proc.kill()
            proc.join(2)
        conn.close()

    def __enter__(self) -> Generator:
        self.load()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def adapters(self) -> tuple[tuple[str, float], ...]:
        """Every applied GGUF LoRA adapter with its scale, in the order given."""
        return self._adapters

    # calls -------------------------------------------------------------------

    def set_adapters(self, adapters: list[tuple[str | os.PathLike, float]]) -> float:
        """Apply these GGUF LoRA adapters together, each at its scale (empty: the base model),
        without reloading the model; returns the seconds the switch took. Cached prompt
        state is dropped.

        On failure the previous adapters stay applied. A child restarted after a crash
        applies the current ones again before its first call.
        """
        target = tuple((os.fspath(check_gguf(path)), float(scale)) for path, scale in adapters)
        with self._locked():
            if self._proc is None:
                self._ensure_started(reapply=False)
                self._adapters = ()
            try:
                for _ in self._call("set_adapters", dict(adapters=list(target))):
                    pass
            except GeneratorCrashed:
                raise
            except GeneratorError as exc:
                reason = str(exc).removeprefix("generation failed: ")
                raise GeneratorError(f"could not switch the adapter: {reason}") from None
            self._adapters = target
            self.last_swap_seconds = self._result["seconds"]
            return self.last_swap_seconds

    def next_token(self, prompt: str, top_k: int | None = 20) -> NextToken:
        """The logits llama.cpp gives the token after `prompt` (plain text, no chat template):
        the `top_k` best (all of the vocabulary when None), with the current adapter."""
        with self._locked():
            for _ in self._call("next_token", dict(prompt=prompt, top_k=top_k)):
                pass
            return NextToken(
                prompt_tokens=self._result["prompt_tokens"], top=[(int(i), float(v)) for i, v in self._result["top"]]
            )

    def stream_chat(
        self,
        messages: list[dict],
        *,
        max_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 0.95,
        seed: int | None = None,
        stop: threading.Event | None = None,
        threads: int | None = None,
    ) -> Iterator[str]:
        """Yield the reply to a chat as text pieces while llama.cpp produces them.

        Setting `stop` ends generation within a token or so; the iterator then just ends.
        `seed` None draws a fresh one; a given seed repeats its reply exactly, whatever the
        generator read before (engine.runtime.llama_child.ExactPrompts). Closing the iterator early cancels the rest.
        `threads` runs this call on that many threads (None: as the last call did).
        """
        kwargs = dict(
            messages=list(messages),
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=random.randrange(2**31) if seed is None else seed,
            repeatable=seed is not None,
            threads=threads,
        )
        with self._locked():
            if stop is not None and stop.is_set():
                return
            yield from self._call("chat", kwargs, stop)

    def greedy(
        self, prompt: str, max_tokens: int = 64, stop_strings: tuple[str, ...] = ("\n",), threads: int | None = None
    ) -> str:
        """Plain (non-chat) greedy continuation of `prompt`, cut at the first stop string."""
        with self._locked():
            for _ in self._call(
                "greedy", dict(prompt=prompt, max_tokens=max_tokens, stop_strings=tuple(stop_strings), threads=threads)
            ):
                pass
            return self._result["text"]

    # internals ---------------------------------------------------------------

    @contextmanager
    def _locked(self):
        """One call at a time; the same thread asking again would wait forever, so it fails."""
        if self._owner == threading.get_ident():
            raise GeneratorError("the generator is busy with an unfinished stream in this thread")
        with self._lock:
            self._owner = threading.get_ident()
            try:
                yield
            finally:
                self._owner = None

    def _ensure_started(self, reapply: bool = True) -> None:
        if self._proc is not None:
            return
        path = check_gguf(self.gguf_path)
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=child_main,
            name="seal-llama",
            daemon=True,
            args=(child, str(path), self.n_ctx, self.threads, self.log_path),
        )
        with _real_std_streams():
            proc.start()
        child.close()  # so the child's death shows as EOF here
        self._proc, self._conn = proc, parent
        try:
            for _ in self._exchange(None):
                pass
        except GeneratorError as exc:
            self.close()
            reason = (
                f"the backend process stopped ({exc.reason})"
                if isinstance(exc, GeneratorCrashed)
                else str(exc).removeprefix("generation failed: ")
            )
            raise GeneratorError(f"could not load model {path.name}: {reason}") from None
        self.gpu_layers = int(self._result.get("gpu_layers", 0))
        if reapply and self._adapters:
            self._reapply_adapters()

    def _reapply_adapters(self) -> None:
        """A fresh child has the base model only: apply the current adapters again."""
        try:
            self._child()[1].send(("set_adapters", dict(adapters=list(self._adapters))))
            for _ in self._exchange(None):
                pass
        except GeneratorError as exc:
            self.close()
            reason = exc.reason if isinstance(exc, GeneratorCrashed) else str(exc).removeprefix("generation failed: ")
            names = ", ".join(Path(path).name for path, _ in self._adapters)
            raise GeneratorError(
                f"could not apply adapter {names} again after a restart: {reason}; set another adapter or None"
            ) from None

    def _call(self, name: str, kwargs: dict, stop: threading.Event | None = None) -> Iterator[str]:
        self._ensure_started()
        start = time.perf_counter()
        try:
            self._child()[1].send((name, kwargs))
        except (OSError, ValueError):
            pass  # a dead child: _exchange reports it
        yield from self._exchange(stop)
        elapsed = time.perf_counter() - start
        self.last_tokens = self._result.get("tokens", 0)
        self.tokens_per_second = self.last_tokens / elapsed if elapsed > 0 else 0.0

    def _exchange(self, stop: threading.Event | None) -> Iterator[str]:
        """Read replies to the command in flight until it ends; yield its pieces."""
        (proc, conn), cancelled, finished = self._child(), False, False
        try:
            while True:
                try:
                    ready = conn.poll(_POLL_S)
                    message = conn.recv() if ready else None
                except (EOFError, OSError):
                    self._crashed(conn, proc)
                if message is None:
                    if stop is not None and stop.is_set() and not cancelled:
                        cancelled = _send_cancel(conn)
                    if not proc.is_alive():
                        self._crashed(conn, proc)
                    continue
                kind, payload = message
                if kind == "piece":
                    if stop is not None and stop.is_set():
                        if not cancelled:
                            cancelled = _send_cancel(conn)
                        continue  # drop pieces produced after the stop
                    yield payload
                elif kind == "done":
                    finished = True
                    self._result = payload
                    return
                else:
                    finished = True
                    raise GeneratorError(f"generation failed: {payload}")
        finally:
            if not finished and self._conn is conn:  # the caller left early: resync
                _send_cancel(conn)
                for _ in self._exchange(None):
                    pass

    def _child(self) -> tuple[SpawnProcess, Connection]:
        """The running child and the parent's end of its pipe (after _ensure_started)."""
        assert self._proc is not None and self._conn is not None, "no child: call _ensure_started first"
        return self._proc, self._conn

    def _crashed(self, conn, proc):
        if self._conn is not conn:  # close() ran during the call
            raise GeneratorError("the generator was closed during the call")
        proc.join(1)
        self._proc = self._conn = None
        conn.close()
        raise GeneratorCrashed(_exit_reason(proc.exitcode))
