"""The served writer (engine.runtime.served) against a stub OpenAI-compatible server on a free
local port (tools/openai_stub.py): pieces stream into Token events, settings and the API key
are sent, each failure is one sentence with nothing half-written stored, and a session keeps
who wrote each self-edit. The real server's test is test_served_writer_real.py."""

import json
import re
import threading
import time

import pytest

from engine import events as ev
from engine.config import ConfigError, GenerationConfig, ModelConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.runtime import Runtime, build_runtime
from engine.runtime.pair import Pair
from engine.runtime.served import ServedWriter, WriterError, api_base
from engine.sessions.export import export_edits
from engine.sessions.home import Home
from tools.openai_stub import Reply, StubServer
from tools.scripted_runtime import FakeRuntime

PIECES = ["- The Velmora", " Observatory was founded", " in 1873."]


def open_session(runtime, name="served", candidates=2, seed=7, **overrides):
    config = SessionConfig(
        generation=GenerationConfig(candidates=candidates, seed=seed, temperature=0.7, top_p=0.9, max_tokens=48),
        train=TrainConfig(epochs=1),
        **overrides,
    )
    return Home().open(name, config, runtime)


def first_passage(session, fixtures):
    return session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]


@pytest.fixture
def server():
    with StubServer([Reply(PIECES)]) as stub:
        yield stub


def test_pieces_stream_in_order_as_tokens_and_the_served_writer_is_recorded(server, fixtures):
    session = open_session(Pair(ServedWriter(server.url), FakeRuntime()))
    passage = first_passage(session, fixtures)
    seen: list[ev.Event] = []
    made = session.generate(passage, seen.append)
    tokens = [e for e in seen if isinstance(e, ev.Token)]
    assert [t.text for t in tokens] == PIECES * 2
    assert [t.index for t in tokens] == [0, 0, 0, 1, 1, 1]
    assert [e.text for e in made] == ["".join(PIECES)] * 2
    port = server.url.rsplit(":", 1)[1]
    assert {e.writer for e in session.self_edits(passage.id)} == {f"served: stub-model at 127.0.0.1:{port}"}
    assert session.store.passage(passage.id).status == "edits"


def test_the_settings_are_sent_and_the_model_is_asked_once(server, fixtures):
    session = open_session(Pair(ServedWriter(server.url + "/v1/"), FakeRuntime()))  # with /v1 and a slash
    session.generate(first_passage(session, fixtures))
    assert [r.path for r in server.requests] == ["/v1/models", "/v1/chat/completions", "/v1/chat/completions"]
    bodies = [r.body for r in server.requests[1:]]
    assert [b["seed"] for b in bodies] == [7, 8]  # seed + index, as the local model samples
    assert {(b["model"], b["stream"], b["temperature"], b["top_p"], b["max_tokens"]) for b in bodies} == {
        ("stub-model", True, 0.7, 0.9, 48)
    }
    assert bodies[0]["messages"][-1]["role"] == "user" and "Velmora" in bodies[0]["messages"][-1]["content"]


def test_a_named_model_is_sent_without_asking_and_no_seed_when_none(server, fixtures):
    session = open_session(Pair(ServedWriter(server.url, "big-model"), FakeRuntime()), seed=None)
    session.generate(first_passage(session, fixtures), count=1)
    assert [r.path for r in server.requests] == ["/v1/chat/completions"]
    assert server.requests[0].body["model"] == "big-model" and "seed" not in server.requests[0].body


def test_api_base_takes_the_url_with_or_without_v1():
    assert {api_base(u) for u in ("http://h:8000", "http://h:8000/", "http://h:8000/v1", "http://h:8000/v1/")} == {
        "http://h:8000/v1"
    }


def test_the_api_key_comes_from_the_environment_and_never_reaches_the_database(server, fixtures, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    monkeypatch.setenv("SEAL_WRITER_API_KEY", "sk-secret-4242")
    session = open_session(Pair(ServedWriter(server.url), FakeRuntime()))
    session.generate(first_passage(session, fixtures))
    assert {r.headers.get("Authorization") for r in server.requests} == {"Bearer sk-secret-4242"}
    for path in session.home.rglob("*"):
        if path.is_file():
            assert b"sk-secret" not in path.read_bytes(), path
    monkeypatch.delenv("SEAL_WRITER_API_KEY")
    session.generate(session.passages()[1], count=1)
    assert server.requests[-1].headers.get("Authorization") is None  # OpenAI's key goes to OpenAI alone


FAILURES = {
    "http-500": (Reply(status=500, error={"error": {"message": "out of memory", "type": "server_error"}}), {}),
    "http-401": (Reply(status=401, error={"detail": "Invalid API Key"}), {}),
    "malformed": (Reply(lines=["{not json"]), {}),
    "no-choices": (Reply(lines=['{"object": "chat.completion.chunk"}']), {}),
    "stalls": (Reply(stall=30), {"read_timeout": 0.3}),
    "empty": (Reply(pieces=[]), {}),
    "cut-short": (Reply(done=False), {}),
}
WORDS = {
    "http-500": "HTTP 500: out of memory",
    "http-401": "HTTP 401: Invalid API Key (SEAL_WRITER_API_KEY is not set)",
    "malformed": "malformed stream: a data line that is not JSON",
    "no-choices": "malformed stream: a chunk without choices",
    "stalls": "sent nothing for 0.3 s",
    "empty": "sent an empty reply",
    "cut-short": "ended its stream before the reply was complete",
    "refused": "the connection was refused (is the server running?)",
}


def fails_with(runtime, fixtures, url, kind) -> None:
    """generate fails with one sentence naming the URL and the cause, as a CandidateFailed
    event too, and stores nothing of the candidate: the passage stays as it was."""
    session = open_session(runtime)
    passage = first_passage(session, fixtures)
    seen: list[ev.Event] = []
    with pytest.raises(WriterError) as caught:
        session.generate(passage, seen.append)
    message = str(caught.value)
    assert url in message and WORDS[kind] in message
    assert "\n" not in message and message.count(". ") == 0
    failed = [e for e in seen if isinstance(e, ev.CandidateFailed)]
    assert failed == [ev.CandidateFailed(passage.id, 0, message)]
    assert session.self_edits(passage.id) == []
    assert session.store.passage(passage.id).status == "new"


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_each_failure_is_one_sentence_and_nothing_half_written_is_kept(kind, fixtures, monkeypatch):
    monkeypatch.delenv("SEAL_WRITER_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    reply, options = FAILURES[kind]
    with StubServer([reply]) as stub:
        fails_with(Pair(ServedWriter(stub.url, **options), FakeRuntime()), fixtures, stub.url, kind)


def test_a_refused_connection_is_one_sentence(fixtures):
    with StubServer() as stub:
        url = stub.url  # a port that was free a moment ago and is closed now
    fails_with(Pair(ServedWriter(url, "m"), FakeRuntime()), fixtures, url, "refused")


def test_a_failure_after_some_candidates_keeps_them_and_asking_again_writes_the_rest(fixtures):
    with StubServer([Reply(PIECES), Reply(status=503, error={"error": "loading model"})]) as stub:
        session = open_session(Pair(ServedWriter(stub.url), FakeRuntime()), candidates=3)
        passage = first_passage(session, fixtures)
        with pytest.raises(WriterError, match="HTTP 503: loading model"):
            session.generate(passage)
        assert len(session.self_edits(passage.id)) == 1
        assert session.store.passage(passage.id).status == "new"
        stub.replies.append(Reply(["fine now"]))
        made = session.generate(passage)
    assert [e.text for e in made] == ["fine now", "fine now"]
    assert len(session.self_edits(passage.id)) == 3 and session.store.passage(passage.id).status == "edits"


def test_a_set_stop_ends_the_stream_and_keeps_nothing_of_it(fixtures):
    with StubServer([Reply(["x "] * 200, delay=0.1)]) as stub:
        session = open_session(Pair(ServedWriter(stub.url), FakeRuntime()))
        passage = first_passage(session, fixtures)
        stop = threading.Event()

        def on_event(event):
            if isinstance(event, ev.Token):
                stop.set()

        started = time.perf_counter()
        assert session.generate(passage, on_event, stop) == []
        assert time.perf_counter() - started < 5  # not the 20 s the whole stream takes
    assert session.self_edits(passage.id) == [] and session.store.passage(passage.id).status == "new"


def test_a_stop_while_the_server_is_silent_ends_the_wait(fixtures):
    with StubServer([Reply(stall=30)]) as stub:
        writer = ServedWriter(stub.url, "m")
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        started = time.perf_counter()
        assert list(writer.stream_chat([], GenerationConfig(), stop)) == []
        assert time.perf_counter() - started < 5


def test_writing_loads_and_switches_nothing_local_and_the_rest_is_the_learners(server, fixtures, tmp_path):
    inner = FakeRuntime()
    writer = Pair(ServedWriter(server.url), inner)
    assert isinstance(writer, Runtime)
    assert writer.activate(tmp_path / "adapter") is None and inner.active is None
    assert (writer.name, writer.identity(), writer.status()) == (inner.name, inner.identity(), inner.status())
    assert writer.load_steps() == [("loading the model", writer.load)]
    inner.fail_load = RuntimeError("loaded")
    with pytest.raises(RuntimeError, match="loaded"):
        writer.load()  # the learner's steps load; the served writer has none


def test_a_session_learns_from_the_served_edits_and_the_export_names_their_writer(server, fixtures, tmp_path):
    inner = FakeRuntime()
    session = open_session(Pair(ServedWriter(server.url, "stub-model"), inner), accept="all")
    passage = first_passage(session, fixtures)
    update = session.step(passage)
    assert update is not None and update.version == 1
    assert any("founded in 1873" in e for e in inner.trained[0])  # the local model learned the served edit
    assert session.matrix().cell(1, passage.id) is not None  # and was scored
    out = tmp_path / "edits.jsonl"
    export_edits(session, 1, out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and {x["writer"] for x in lines} == {f"served: stub-model at {server.url.removeprefix('http://')}"}


def test_the_local_model_and_an_edits_file_are_recorded_as_writers(fixtures, tmp_path):
    session = open_session(FakeRuntime(), accept="all")
    passage = first_passage(session, fixtures)
    session.step(passage)
    session.generate(session.passages()[1])
    assert {e.writer for e in session.self_edits(passage.id)} == {"local: fake-model.gguf v0"}
    assert {e.writer for e in session.self_edits(session.passages()[1].id)} == {"local: fake-model.gguf v1"}
    edits = tmp_path / "teacher.json"
    p3 = session.passages()[2]
    edits.write_text(json.dumps([{"title": p3.title, "context": p3.text, "completions": ["Quenby is cold."]}]))
    session.config = SessionConfig.from_dict(
        {**session.config.to_dict(), "generation": {**session.config.to_dict()["generation"], "edits_from": str(edits)}}
    )
    session.generate(p3, count=1)
    assert [e.writer for e in session.self_edits(p3.id)] == ["file: teacher.json"]


# -- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://me:hunter2@127.0.0.1:8000", "SEAL_WRITER_API_KEY"),
        ("ftp://127.0.0.1:8000", "http:// or https://"),
        ("127.0.0.1:8000", "http:// or https://"),
        ("http://", "names no host"),
        ("http://h:99999", "not a URL"),
    ],
)
def test_a_writer_url_that_cannot_serve_is_refused(url, words):
    with pytest.raises(ConfigError, match=re.escape(words)) as caught:
        ModelConfig(writer_url=url)
    assert "hunter2" not in str(caught.value)


def test_a_writer_model_needs_a_writer_url():
    with pytest.raises(ConfigError, match="writer_model needs writer_url"):
        ModelConfig(writer_model="m")


def test_the_factory_builds_a_served_writer_around_the_local_runtime(monkeypatch, tmp_path):
    monkeypatch.setattr("engine.runtime.local.check_model_files", lambda config: tmp_path / "model.gguf")
    runtime = build_runtime(ModelConfig(writer_url="http://127.0.0.1:8000/v1", writer_model="m"), TrainConfig())
    try:
        assert isinstance(runtime, Pair) and isinstance(runtime.writer, ServedWriter) and runtime.writer.model == "m"
        assert type(runtime.learner).__name__ == "LocalRuntime"
        assert runtime.who(3) == "served: m at 127.0.0.1:8000"
    finally:
        runtime.close()


def test_the_writer_is_stored_with_the_session_and_an_older_session_still_opens():
    config = SessionConfig(model=ModelConfig(writer_url="http://127.0.0.1:8000", writer_model="m"))
    Home().create("kept", config)
    home = Home()
    assert home.config_for("kept").model == config.model
    assert home.config_for("kept", {"model": {"writer_url": None, "writer_model": None}}).model == ModelConfig()
    older = config.to_dict()
    older["model"] = {k: v for k, v in older["model"].items() if not k.startswith("writer")}
    assert SessionConfig.from_dict(older).model == ModelConfig()
