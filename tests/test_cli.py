"""The `seal` command line: bad input, listing and showing (fast; no model is loaded)."""

import json
import sqlite3

import pytest

from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.sessions.home import Home
from seal_cli.main import main
from tools.pilot import WorseThanBase
from tools.scripted_runtime import FakeRuntime


def dump(home) -> list[str]:
    conn = sqlite3.connect(home / "seal.db")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def learned_session(fixtures):
    config = SessionConfig(generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=1))
    home = Home()
    session = home.open("demo", config, FakeRuntime())
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    session.run()
    home.close()
    return session


def write(path, data: bytes):
    path.write_bytes(data)
    return path


BAD_INPUTS = {
    "empty.txt": (b"   \n", "empty"),
    "binary.txt": (b"\x00\x01\x02\xff" * 20, "not"),
    "broken.json": (b'[{"title": "x", ', "JSON"),
    "shape.json": (b'[{"title": "x", "context": ""}]', "context"),
    "fake.pdf": (b"%PDF-1.4 garbage", "PDF"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_paper_names_file_and_reason_and_changes_nothing(name, learned_session, seal_home, tmp_path, capsys):
    data, word = BAD_INPUTS[name]
    bad = write(tmp_path / name, data)
    good = tmp_path / "good.txt"
    good.write_text("A perfectly fine paper about the Quenby lighthouse, built in 1790.")
    before = dump(seal_home)
    code = main(["run", str(good), str(bad), "--session", "demo"])
    err = capsys.readouterr().err
    assert code == 2
    assert name in err and word.lower() in err.lower()
    assert "Traceback" not in err
    assert dump(seal_home) == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--edits", "-1"], "candidates"),
        (["--epochs", "0"], "epochs"),
        (["--strategy", "poetry"], "poetry"),
        (["--rank", "8"], "rank cannot change"),
        (["--trial-epochs", "50"], "trial_epochs must be 1..20"),
        (["--adapters", "per-paper"], "adapters cannot change"),
    ],
)
def test_bad_settings_are_refused_before_anything_changes(args, message, learned_session, seal_home, fixtures, capsys):
    before = dump(seal_home)
    code = main(["run", str(fixtures / "velmora.md"), "--session", "demo", *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert dump(seal_home) == before


def test_bad_model_file_is_named(tmp_path, fixtures, capsys):
    junk = write(tmp_path / "model.gguf", b"not a model at all")
    code = main(["run", str(fixtures / "velmora.md"), "--session", "x", "--model", str(junk)])
    assert code == 2
    assert "model.gguf" in capsys.readouterr().err
    assert not Home().exists("x")


def test_new_session_needs_a_paper(capsys):
    assert main(["run", "--session", "nothing"]) == 2
    assert "give at least one paper" in capsys.readouterr().err


@pytest.mark.parametrize(
    "data, message",
    [
        (None, "no such file"),
        (b'[{"context": "x"', "not JSON (line 1"),
        (b'[{"context": "x", "completions": "y"}]', "'completions' must be a list"),
    ],
)
def test_bad_edits_file_is_refused_before_anything_changes(
    data, message, learned_session, seal_home, fixtures, tmp_path, capsys
):
    path = tmp_path / "edits.json"
    if data is not None:
        path.write_bytes(data)
    before = dump(seal_home)
    code = main(["run", str(fixtures / "velmora.md"), "--session", "demo", "--edits-from", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "edits.json" in err and message in err and "Traceback" not in err
    assert dump(seal_home) == before


def test_edits_from_is_stored_as_an_absolute_path(tmp_path, monkeypatch):
    from seal_cli.flags import overrides
    from seal_cli.main import build_parser

    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["run", "--session", "x", "--edits-from", "edits.json"])
    assert overrides(args, "run")["generation"]["edits_from"] == str(tmp_path.resolve() / "edits.json")
    args = build_parser().parse_args(["run", "--session", "x", "--edits-from", ""])
    assert overrides(args, "run")["generation"]["edits_from"] is None


def test_adapters_flag_reaches_the_sessions_config():
    from seal_cli.flags import overrides
    from seal_cli.main import build_parser

    args = build_parser().parse_args(["run", "--session", "x", "--adapters", "per-paper"])
    assert Home().config_for("x", overrides(args, "run")).adapters == "per-paper"
    assert "adapters" not in overrides(build_parser().parse_args(["run", "--session", "x"]), "run")


def test_sessions_lists_and_show_draws_the_heatmap(learned_session, capsys):
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "v3" in out
    assert main(["show", "demo"]) == 0
    out = capsys.readouterr().out
    assert "base" in out and "v3" in out and "BWT" in out
    assert "worse than the base model" not in out  # the scripted model learns


def test_show_says_so_when_the_current_version_is_worse_than_base(fixtures, capsys):
    config = SessionConfig(generation=GenerationConfig(candidates=1), train=TrainConfig(epochs=1))
    home = Home()
    session = home.open("worse", config, WorseThanBase())
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    session.run()
    home.close()
    assert main(["show", "worse"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "v3 scores p1 2.24 → 7.19, p2 2.24 → 7.19, p3 2.24 → 7.19 worse than the base model did" in out
    assert "`seal rollback worse VERSION` makes an earlier version current again" in out


def test_show_json_and_unknown_session(learned_session, capsys):
    assert main(["show", "demo", "--json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert matrix["rows"] == [0, 1, 2, 3] and len(matrix["cols"]) == 3
    assert main(["show", "nope"]) == 2
    assert "no session named 'nope'" in capsys.readouterr().err


def test_rollback_marks_later_versions_abandoned(learned_session, capsys):
    assert main(["rollback", "demo", "1"]) == 0
    assert "abandoned: v2, v3" in capsys.readouterr().out
    assert main(["show", "demo"]) == 0
    out = capsys.readouterr().out
    assert "v2 abandoned" in out and "implications" in out
    assert main(["rollback", "demo", "9"]) == 2
    assert "no version 9" in capsys.readouterr().err


def test_export_edits_and_peft_then_refuses_to_overwrite(learned_session, tmp_path, capsys):
    edits, peft = tmp_path / "edits.jsonl", tmp_path / "adapter"
    assert main(["export", "demo", "--edits", str(edits), "--peft", str(peft)]) == 0
    lines = [json.loads(x) for x in edits.read_text().splitlines()]
    assert lines and all([m["role"] for m in x["messages"]][-2:] == ["user", "assistant"] for x in lines)
    assert (peft / "adapter_config.json").is_file()
    assert main(["export", "demo", "--edits", str(edits)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_export_needs_an_output_and_a_real_version(learned_session, tmp_path, capsys):
    assert main(["export", "demo"]) == 2
    assert "name at least one output" in capsys.readouterr().err
    assert main(["export", "demo", "--version", "0", "--peft", str(tmp_path / "p")]) == 2
    assert "base model" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_corrupt_model_fails_before_the_session_is_touched(learned_session, seal_home, tmp_path, fixtures, capsys):
    broken = write(tmp_path / "broken.gguf", b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    before = dump(seal_home)
    for session, names in (("demo", "model (gguf_path) cannot change"), ("fresh", "broken.gguf")):
        code = main(["run", str(fixtures / "velmora.md"), "--session", session, "--model", str(broken)])
        err = capsys.readouterr().err
        assert code == 2 and names in err and "Traceback" not in err
    assert dump(seal_home) == before


def test_editor_lists_rounds_with_acceptance_before_and_after(learned_session, capsys):
    assert main(["editor", "demo", "--list"]) == 0
    assert "no editor rounds yet" in capsys.readouterr().out
    home = Home()
    session = home.open("demo", runtime=FakeRuntime())
    session.improve_editor()
    home.close()
    assert main(["editor", "demo", "--list"]) == 0
    out = capsys.readouterr().out
    assert "editor rounds" in out and "r1" in out and "person" in out
    assert main(["editor", "demo", "--list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["round"] == 1 and row["pairs"] == 3 and row["candidates"] == 0
    assert main(["show", "demo"]) == 0
    assert "editor rounds" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["editor", "nope"], "no session named 'nope'"),
        (["editor", "demo", "--min-pairs", "9"], "needs at least 9 kept self-edits; this session has 3"),
        (["editor", "demo", "--scale", "9"], "scale must be 0..4"),
        (["run", "--session", "demo", "--editor-every", "-2"], "every must be 0..1000"),
    ],
)
def test_bad_editor_requests_are_refused_and_change_nothing(args, message, learned_session, seal_home, capsys):
    before = dump(seal_home)
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert dump(seal_home) == before


@pytest.mark.parametrize(
    "argv, kept",
    [
        (
            ["run", "{paper}", "--session", "new"],
            "interrupted: everything finished so far is saved; run the same command to continue",
        ),
        (["editor", "demo"], "interrupted: no editor round was stored"),
    ],
)
def test_ctrl_c_says_what_was_kept_and_exits_130(argv, kept, learned_session, seal_home, fixtures, monkeypatch, capsys):
    from engine.runtime.local import LocalRuntime

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalRuntime, "load_steps", lambda self: [("reading the weights", interrupted)])
    monkeypatch.setattr(LocalRuntime, "identity", lambda self: FakeRuntime().identity())  # the session's model
    argv = [a.replace("{paper}", str(fixtures / "velmora.md")) for a in argv]
    before = dump(seal_home)
    assert main(argv) == 130
    assert capsys.readouterr().err.splitlines()[-1] == kept
    assert dump(seal_home) == before
    assert main(argv) == 130  # the writer's lock was given back
