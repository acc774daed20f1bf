"""A served writer costs bounded time and memory, and its key goes only where it belongs
(engine.runtime.served), against misbehaving stub servers (tools/openai_stub.py): a stream
without end ends at max_tokens, one enormous line or body is refused, a server that sends a
byte at a time meets the whole-reply deadline. Each refusal is one sentence and stores
nothing. The measured runs of `seal run` against each are in BENCHMARKS.md
(bench/served_bounds.py)."""

from __future__ import annotations

import time

import pytest

from engine import events as ev
from engine.config import ConfigError, GenerationConfig, ModelConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.runtime.pair import Pair
from engine.runtime.served import ServedWriter, WriterError
from engine.sessions.home import Home
from tools.openai_stub import Reply, StubServer
from tools.scripted_runtime import FakeRuntime


@pytest.fixture
def paper(fixtures):
    return read_paper(fixtures / "velmora.md")[0]


def writes(writer, paper, max_tokens=16):
    """(stored edits, events, seconds) of one generate call; a WriterError is kept in events."""
    config = SessionConfig(
        generation=GenerationConfig(candidates=1, max_tokens=max_tokens, seed=1), train=TrainConfig(epochs=1)
    )
    session = Home().open("bounds", config, writer)
    passage = session.add_paper(paper)[0]
    seen: list = []
    started = time.perf_counter()
    try:
        session.generate(passage, seen.append)
    except WriterError as exc:
        seen.append(exc)
    return session.self_edits(passage.id), seen, time.perf_counter() - started


def failure(seen) -> str:
    errors = [e for e in seen if isinstance(e, WriterError)]
    assert len(errors) == 1, seen
    message = str(errors[0])
    assert "\n" not in message and [e for e in seen if isinstance(e, ev.CandidateFailed)][0].message == message
    return message


def test_a_stream_without_end_ends_at_max_tokens(paper):
    with StubServer([Reply(["- The Velmora ", "Observatory ", "stands on Quenby. "], endless=True)]) as stub:
        edits, seen, seconds = writes(Pair(ServedWriter(stub.url, "m"), FakeRuntime()), paper, max_tokens=16)
    assert len(edits) == 1, seen
    pieces = [e.text for e in seen if isinstance(e, ev.Token)]
    assert len(pieces) <= 16 and len(edits[0].text) <= 16 * 8
    assert edits[0].text.startswith("- The Velmora Observatory stands on Quenby.")
    assert seconds < 10


def test_pieces_longer_than_max_tokens_allow_are_cut_at_the_bound(paper):
    with StubServer([Reply(["y" * 5000] * 3)]) as stub:
        edits, _, _ = writes(Pair(ServedWriter(stub.url, "m"), FakeRuntime()), paper, max_tokens=16)
    assert [len(e.text) for e in edits] == [16 * 8]


def test_one_enormous_line_is_refused_and_nothing_is_stored(paper):
    with StubServer([Reply(line_bytes=3_000_000)]) as stub:
        edits, seen, _ = writes(Pair(ServedWriter(stub.url, "m"), FakeRuntime()), paper)
        assert edits == []
        assert failure(seen) == f"the writer at {stub.url} sent a stream line longer than 64 KiB"


def test_an_enormous_body_is_refused_and_nothing_is_stored(paper):
    with StubServer([Reply(body_bytes=3_000_000)]) as stub:
        edits, seen, _ = writes(Pair(ServedWriter(stub.url, "m"), FakeRuntime()), paper)
        assert edits == []
        assert failure(seen) == f"the writer at {stub.url} sent a reply larger than 1 MiB"


def test_a_stream_of_empty_chunks_is_refused_past_the_reply_cap(paper):
    empty = '{"choices": [{"index": 0, "delta": {}}]}'
    with StubServer([Reply(lines=[empty], endless=True)]) as stub:
        edits, seen, _ = writes(Pair(ServedWriter(stub.url, "m", reply_bytes=200_000), FakeRuntime()), paper)
        assert edits == []
        assert failure(seen) == f"the writer at {stub.url} sent more than 195 KiB without finishing its reply"


def test_a_server_that_sends_a_byte_at_a_time_meets_the_deadline(paper):
    with StubServer([Reply(["- Founded in 1873."], drip=0.05)]) as stub:
        edits, seen, seconds = writes(Pair(ServedWriter(stub.url, "m", reply_timeout=1.5), FakeRuntime()), paper)
        assert edits == []
        assert failure(seen) == f"the writer at {stub.url} did not finish its reply within 1.5 s"
    assert seconds < 6


def test_a_server_that_answers_in_time_is_not_cut(paper):
    with StubServer([Reply(["- Founded ", "in 1873."], drip=0.002)]) as stub:
        edits, seen, _ = writes(Pair(ServedWriter(stub.url, "m", reply_timeout=30), FakeRuntime()), paper)
    assert [e.text for e in edits] == ["- Founded in 1873."], seen


def test_the_deadline_is_a_setting_stored_with_the_session_and_checked():
    config = SessionConfig(model=ModelConfig(writer_url="http://127.0.0.1:8000", writer_timeout=30))
    Home().create("kept", config)
    assert Home().config_for("kept").model.writer_timeout == 30
    assert ModelConfig().writer_timeout == 300
    for bad in (0, -1, 100_000):
        with pytest.raises(ConfigError, match="writer_timeout must be 1..86400 seconds"):
            ModelConfig(writer_url="http://127.0.0.1:8000", writer_timeout=bad)


# -- keys ------------------------------------------------------------------------------------


def authorization(stub, monkeypatch, env: dict[str, str], paper, local: bool = True) -> set:
    for name in ("SEAL_WRITER_API_KEY", "OPENAI_API_KEY", "SEAL_WRITER_KEY_OVER_HTTP"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if not local:  # as if the server were on another machine
        monkeypatch.setattr("engine.runtime.writer_keys.on_this_machine", lambda sock: False)
    writes(Pair(ServedWriter(stub.url), FakeRuntime()), paper)
    return {r.headers.get("Authorization") for r in stub.requests}


def test_an_openai_key_is_never_sent_to_another_server(monkeypatch, paper):
    with StubServer() as stub:
        assert authorization(stub, monkeypatch, {"OPENAI_API_KEY": "sk-openai"}, paper) == {None}


def test_the_writer_key_is_sent_to_the_writer_on_this_machine(monkeypatch, paper):
    with StubServer() as stub:
        env = {"OPENAI_API_KEY": "sk-openai", "SEAL_WRITER_API_KEY": "sk-writer"}
        assert authorization(stub, monkeypatch, env, paper) == {"Bearer sk-writer"}


def test_no_key_goes_over_plain_http_to_another_machine_unless_asked(monkeypatch, paper):
    with StubServer([Reply(status=401, error={"detail": "Invalid API Key"})]) as stub:
        env = {"SEAL_WRITER_API_KEY": "sk-writer"}
        assert authorization(stub, monkeypatch, env, paper, local=False) == {None}
    with StubServer() as stub:
        env = {"SEAL_WRITER_API_KEY": "sk-writer", "SEAL_WRITER_KEY_OVER_HTTP": "1"}
        assert authorization(stub, monkeypatch, env, paper, local=False) == {"Bearer sk-writer"}


def test_a_refused_key_says_why_it_was_not_sent(monkeypatch, paper):
    monkeypatch.setenv("SEAL_WRITER_API_KEY", "sk-writer")
    monkeypatch.setattr("engine.runtime.writer_keys.on_this_machine", lambda sock: False)
    with StubServer([Reply(status=401, error={"detail": "Invalid API Key"})]) as stub:
        _, seen, _ = writes(Pair(ServedWriter(stub.url, "m"), FakeRuntime()), paper)
        host = stub.url.removeprefix("http://").rsplit(":", 1)[0]
        assert failure(seen) == (
            f"the writer at {stub.url} answered HTTP 401: Invalid API Key (SEAL_WRITER_API_KEY is not sent over "
            f"plain http to {host}, another machine: use https://, or set SEAL_WRITER_KEY_OVER_HTTP=1)"
        )
