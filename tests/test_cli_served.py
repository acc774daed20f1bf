"""`seal run --writer-url`: a served writer from the command line, on the scripted runtime
(the factory is swapped; the real server's test is tests/engine/test_served_writer_real.py)."""

import pytest

from engine.runtime.pair import Pair
from engine.runtime.served import ServedWriter
from engine.sessions.home import Home
from seal_cli.main import main
from tools.openai_stub import Reply, StubServer
from tools.scripted_runtime import FakeRuntime


@pytest.fixture(autouse=True)
def scripted(monkeypatch):
    """The factory as it is, with the scripted runtime in place of the local one."""

    def build(model, train):
        return Pair(ServedWriter.of(model), FakeRuntime()) if model.writer_url else FakeRuntime()

    monkeypatch.setattr("engine.runtime.factory.build_runtime", build)


def run(*args) -> int:
    return main(["run", *args, "--session", "demo", "--edits", "2", "--epochs", "1"])


def writers(session="demo") -> set:
    home = Home()
    opened = home.open(session, read_only=True)
    try:
        return {e.writer for p in opened.passages() for e in opened.self_edits(p.id)}
    finally:
        home.close()


def test_a_new_session_writes_with_the_server_and_a_continued_one_keeps_it(fixtures, capsys):
    paper = str(fixtures / "velmora.md")
    with StubServer([Reply(["- Founded in 1873."])]) as stub:
        assert run(paper, "--writer-url", stub.url, "--writer-model", "big") == 0
        assert Home().config_for("demo").model.writer_url == stub.url
        assert writers() == {f"served: big at {stub.url.removeprefix('http://')}"}
        assert run() == 0  # continued: the stored writer stays
        assert Home().config_for("demo").model.writer_model == "big"
    assert run("--writer-url", "") == 0  # writes locally again
    assert Home().config_for("demo").model.writer_url is None
    capsys.readouterr()


def test_a_server_that_is_down_is_one_line_and_exit_status_1(fixtures, capsys):
    with StubServer() as stub:
        url = stub.url  # closed now
    assert run(str(fixtures / "velmora.md"), "--writer-url", url) == 1
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.startswith("seal:")]
    assert said == [f"seal: cannot reach the writer at {url}: the connection was refused (is the server running?)"]
    assert "Traceback" not in err
    assert writers() == set()  # the passages are stored, no half-written self-edit


def test_credentials_in_the_url_are_refused_before_anything_is_stored(fixtures, capsys):
    assert run(str(fixtures / "velmora.md"), "--writer-url", "http://me:hunter2@127.0.0.1:8000") == 2
    err = capsys.readouterr().err
    assert "SEAL_WRITER_API_KEY" in err and "hunter2" not in err
    assert not Home().exists("demo")


@pytest.mark.parametrize(
    "reply, said",
    [
        (Reply(["- Founded in 1873."], drip=0.05), "did not finish its reply within 1.5 s"),
        (Reply(line_bytes=2_000_000), "sent a stream line longer than 64 KiB"),
        (Reply(body_bytes=2_000_000), "sent a reply larger than 1 MiB"),
    ],
    ids=["drip", "long-line", "big-body"],
)
def test_a_misbehaving_server_is_one_line_and_nothing_is_stored(reply, said, fixtures, capsys):
    with StubServer([reply]) as stub:
        code = run(str(fixtures / "velmora.md"), "--writer-url", stub.url, "--writer-timeout", "1.5")
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("seal:")] == [f"seal: the writer at {stub.url} {said}"]
    assert Home().config_for("demo").model.writer_timeout == 1.5
    assert writers() == set()


def test_a_stream_without_end_gives_candidates_no_longer_than_max_tokens(fixtures, capsys):
    with StubServer([Reply(["- The Velmora ", "Observatory."], endless=True)]) as stub:
        assert run(str(fixtures / "velmora.md"), "--writer-url", stub.url, "--max-tokens", "16") == 0
    home = Home()
    session = home.open("demo", read_only=True)
    texts = [e.text for p in session.passages() for e in session.self_edits(p.id)]
    assert texts and all(len(t) <= 16 * 8 for t in texts)
    capsys.readouterr()
