"""A corpus of bad inputs to `seal`: each is refused with one clear line, no traceback, before
any model loads, and the session home is byte-identical afterwards.

The home holds one learned session, "demo" (made fast with the scripted runtime). Cases that
would reach the model use `seal run`, whose real model is never loaded here: loading it fails
the test, since every bad input must be refused before anything loads or is written.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.sessions.home import Home
from seal_cli.main import main
from tests.home_snapshot import snapshot
from tools.scripted_runtime import FakeRuntime

PAPER = Path(__file__).parent / "fixtures" / "velmora.md"


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    """The command line; "{tmp}" is the case's scratch folder, "{paper}" a good paper."""
    words: str
    """What the message must say (case-insensitive)."""
    make: Callable[[Path], object] = field(default=lambda tmp: None)
    """Makes the bad input in the scratch folder (what it returns is ignored)."""


def file(name: str, data: bytes | str) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        (tmp / name).write_bytes(data.encode() if isinstance(data, str) else data)

    return make


def folder(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).mkdir()


def encrypted_pdf(tmp: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    (tmp / "locked.pdf").write_bytes(out.getvalue())


def big_text(tmp: Path) -> None:
    """19 MB of prose: under the size limit, far over the passages limit."""
    para = "The Velmora Observatory was founded in 1873 by Ilse Narrowgate on the island of Quenby. " * 5
    with (tmp / "big.txt").open("w") as f:
        f.write((para + "\n\n") * (19 * 2**20 // (len(para) + 2)))


def run(paper: str, *flags: str, session: str = "demo") -> list[str]:
    return ["run", paper, "--session", session, *flags]


def on_paper(name: str, *flags: str) -> list[str]:
    return run("{tmp}/" + name, *flags)


ENTRY = {
    "title": "Velmora",
    "context": "The Velmora Observatory was founded in 1873.",
    "questions": [{"question": "When was it founded?", "answer": "1873"}],
}


def entry(**changes) -> str:
    out = {**ENTRY, **changes}
    return json.dumps([{k: v for k, v in out.items() if v is not None}])


TEMPLATE = {"mine": {"description": "d", "user": "Title: {title}\n{passage}\nWrite facts."}}


def template(**changes) -> str:
    spec = {**TEMPLATE["mine"], **changes}
    return json.dumps({"mine": {k: v for k, v in spec.items() if v is not None}})


def with_strategy(name: str) -> list[str]:
    return run("{paper}", "--strategy", "{tmp}/" + name)


def with_edits(name: str) -> list[str]:
    return run("{paper}", "--edits-from", "{tmp}/" + name)


def fresh_with(*flags: str) -> list[str]:
    """A new session: its model files are checked (an existing one's cannot change at all)."""
    return run("{paper}", *flags, session="fresh")


CASES = [
    # papers
    Case("paper-missing", on_paper("nope.txt"), "nope.txt: no such file"),
    Case("paper-folder", on_paper("dir.txt"), "is a directory", folder("dir.txt")),
    Case("paper-empty", on_paper("empty.txt"), "empty file", file("empty.txt", b"")),
    Case("paper-whitespace", on_paper("blank.md"), "only whitespace", file("blank.md", " \n\t\n")),
    Case("paper-binary", on_paper("bin.txt"), "binary data", file("bin.txt", b"\x00\x01\x02\xff" * 64)),
    Case(
        "paper-not-utf8", on_paper("latin.txt"), "not UTF-8", file("latin.txt", "Café au lait, 1873.".encode("latin-1"))
    ),
    Case(
        "paper-unknown-format",
        on_paper("paper.docx"),
        "supported formats",
        file("paper.docx", b"PK\x03\x04\x00\x00" + bytes(range(256))),
    ),
    Case("pdf-not-a-pdf", on_paper("fake.pdf"), "not a PDF", file("fake.pdf", "just some words, no header")),
    Case(
        "pdf-corrupt",
        on_paper("broken.pdf"),
        "corrupt or unreadable PDF",
        file("broken.pdf", b"%PDF-1.4\n" + b"\x8f garbage " * 50),
    ),
    Case("pdf-encrypted", on_paper("locked.pdf"), "encrypted PDF", encrypted_pdf),
    Case(
        "paper-too-large",
        on_paper("huge.txt"),
        "too large",
        lambda tmp: (tmp / "huge.txt").write_bytes(b"word " * (21 * 2**20 // 5)),
    ),
    Case("paper-too-many-passages", on_paper("big.txt"), "the limit is 500 passages", big_text),
    Case("paper-over-max-passages", run("{paper}", "--max-passages", "2"), "the limit is 2 passages"),
    # JSON papers
    Case("json-invalid", on_paper("bad.json"), "invalid JSON at line 1", file("bad.json", '[{"title": "x", ')),
    Case("json-not-a-list", on_paper("obj.json"), "non-empty JSON list", file("obj.json", json.dumps(ENTRY))),
    Case("json-empty-list", on_paper("none.json"), "non-empty JSON list", file("none.json", "[]")),
    Case("json-no-context", on_paper("noctx.json"), "'context' must be", file("noctx.json", entry(context=None))),
    Case(
        "json-questions-not-a-list",
        on_paper("q.json"),
        "'questions' must be a list",
        file("q.json", entry(questions="When was it founded?")),
    ),
    Case(
        "json-question-no-answer",
        on_paper("qa.json"),
        "question 1: 'answer'",
        file("qa.json", entry(questions=[{"question": "When?"}])),
    ),
    Case(
        "json-deeply-nested",
        on_paper("deep.json"),
        "nested too deeply",
        file("deep.json", "[" * 100_000 + "]" * 100_000),
    ),
    Case(
        "json-number-too-long", on_paper("num.json"), "value has 5000 digits)", file("num.json", "[" + "7" * 5000 + "]")
    ),
    # --edits-from
    Case("edits-missing", with_edits("nope.json"), "nope.json: no such file"),
    Case("edits-folder", with_edits("dir.json"), "not a file", folder("dir.json")),
    Case("edits-bad-json", with_edits("e.json"), "not JSON (line 1", file("e.json", '[{"context": "x"')),
    Case("edits-not-a-list", with_edits("e.json"), "expected a JSON list", file("e.json", '{"context": "x"}')),
    Case(
        "edits-wrong-shape",
        with_edits("e.json"),
        "'completions' must be a list",
        file("e.json", '[{"context": "x", "completions": "y"}]'),
    ),
    Case("edits-not-utf8", with_edits("e.json"), "not UTF-8", file("e.json", b'[{"context": "caf\xe9"}]')),
    Case(
        "edits-deeply-nested", with_edits("e.json"), "nested too deeply", file("e.json", "[" * 100_000 + "]" * 100_000)
    ),
    Case(
        "edits-number-too-long", with_edits("e.json"), "value has 5000 digits)", file("e.json", "[" + "7" * 5000 + "]")
    ),
    Case(
        "edits-no-completions",
        with_edits("e.json"),
        "no entry has any completions",
        file("e.json", '[{"context": "x", "completions": []}]'),
    ),
    # model files
    Case("model-missing", fresh_with("--model", "{tmp}/nope.gguf"), "no such file"),
    Case("model-folder", fresh_with("--model", "{tmp}/dir.gguf"), "dir.gguf: not a file", folder("dir.gguf")),
    Case("model-not-gguf", fresh_with("--model", "{tmp}/m.gguf"), "not a GGUF file", file("m.gguf", "not a model")),
    Case("model-magic-only", fresh_with("--model", "{tmp}/m.gguf"), "m.gguf: truncated GGUF", file("m.gguf", b"GGUF")),
    Case(
        "model-bad-version",
        fresh_with("--model", "{tmp}/m.gguf"),
        "m.gguf: unsupported GGUF version",
        file("m.gguf", b"GGUF" + (99).to_bytes(4, "little") + bytes(64)),
    ),
    Case(
        "model-no-tensors",
        fresh_with("--model", "{tmp}/m.gguf"),
        "m.gguf: truncated GGUF",
        file("m.gguf", b"GGUF" + (3).to_bytes(4, "little") + b"\xff" * 64),
    ),
    Case(
        "model-zero-tensors",
        fresh_with("--model", "{tmp}/m.gguf"),
        "holds no tensors",
        file("m.gguf", b"GGUF" + (3).to_bytes(4, "little") + bytes(16) + b"metadata" * 8),
    ),
    Case(
        "model-changed",
        run("{paper}", "--model", "{tmp}/m.gguf"),
        "model (gguf_path) cannot change once a session has updates (session 'demo' uses the embedded model)",
        file("m.gguf", b"GGUF"),
    ),
    Case("hf-dir-missing", fresh_with("--hf-dir", "{tmp}/nope"), "hf_dir: no such file or folder"),
    Case(
        "hf-dir-a-file",
        fresh_with("--hf-dir", "{tmp}/model.safetensors"),
        "not a folder",
        file("model.safetensors", b"weights"),
    ),
    Case("hf-dir-empty", fresh_with("--hf-dir", "{tmp}/hf"), "no config.json", folder("hf")),
    # strategy templates
    Case("strategy-unknown", run("{paper}", "--strategy", "poetry"), "unknown strategy 'poetry'"),
    Case("strategy-missing-file", with_strategy("mine.json"), "mine.json: no such file"),
    Case("strategy-invalid-json", with_strategy("s.json"), "invalid JSON", file("s.json", '{"mine": {')),
    Case("strategy-invalid-toml", with_strategy("s.toml"), "invalid TOML", file("s.toml", "[mine\nuser = ")),
    Case("strategy-no-user", with_strategy("s.json"), "missing 'user'", file("s.json", template(user=None))),
    Case(
        "strategy-unknown-placeholder",
        with_strategy("s.json"),
        "unknown placeholder {topic}",
        file("s.json", template(user="{topic}: {passage}")),
    ),
    Case("strategy-no-passage", with_strategy("s.json"), "lacks {passage}", file("s.json", template(user="{title}"))),
    Case(
        "strategy-unmatched-brace",
        with_strategy("s.json"),
        "unmatched brace",
        file("s.json", template(user="{passage} {")),
    ),
    Case(
        "strategy-format-spec",
        with_strategy("s.json"),
        "{passage:>999999999}: no conversions or format specs",
        file("s.json", template(user="{passage:>999999999}")),
    ),
    Case(
        "strategy-two-unpicked",
        with_strategy("s.json"),
        "holds 2 strategies",
        file("s.json", json.dumps({**TEMPLATE, "other": TEMPLATE["mine"]})),
    ),
    Case(
        "strategy-pick-missing",
        run("{paper}", "--strategy", "{tmp}/s.json:poems"),
        "no strategy 'poems'",
        file("s.json", template()),
    ),
    Case(
        "strategy-number-too-long",
        with_strategy("s.json"),
        "value has 5000 digits)",
        file("s.json", '{"mine": ' + "7" * 5000 + "}"),
    ),
    Case("strategy-not-a-table", with_strategy("s.json"), "expected a table", file("s.json", '["user"]')),
    # config values
    Case("edits-negative", run("{paper}", "--edits", "-1"), "candidates must be 0..64"),
    Case("lr-zero", run("{paper}", "--lr", "0"), "lr must be in (0, 1)"),
    Case("lr-negative", run("{paper}", "--lr", "-0.001"), "lr must be in (0, 1)"),
    Case("lr-nan", run("{paper}", "--lr", "nan"), "lr must be in (0, 1)"),
    Case("epochs-zero", run("{paper}", "--epochs", "0"), "epochs must be 1..100"),
    Case("rank-zero", run("{paper}", "--rank", "0"), "rank must be 1..512"),
    Case("replay-negative", run("{paper}", "--replay", "-0.5"), "replay must be 0..10"),
    Case("grounding-over-one", run("{paper}", "--grounding", "1.5"), "grounding must be 0..1"),
    Case("anchor-negative", run("{paper}", "--anchor", "-1"), "anchor must be 0..100"),
    Case("patience-negative", run("{paper}", "--patience", "-1"), "patience must be 0..100"),
    Case("drift-guard-negative", run("{paper}", "--drift-guard", "-0.5"), "drift_guard must be 0..100"),
    Case("passage-repeats-zero", run("{paper}", "--passage-repeats", "0"), "passage_repeats must be 1..1000"),
    Case("passage-tokens-one", run("{paper}", "--passage-tokens", "1"), "passage_tokens must be 32..4096"),
    Case("max-passages-zero", run("{paper}", "--max-passages", "0"), "max_passages must be"),
    Case("max-tokens-tiny", run("{paper}", "--max-tokens", "2"), "max_tokens must be 8..4096"),
    Case("top-k-zero", run("{paper}", "--top-k", "0"), "top_k must be 1..64"),
    Case("budget-negative", run("{paper}", "--budget", "-1"), "budget must be 0 or more"),
    Case("trial-epochs-zero", run("{paper}", "--trial-epochs", "0"), "trial_epochs must be 1..20"),
    Case("editor-every-negative", run("{paper}", "--editor-every", "-1"), "every must be 0..1000"),
    Case("rank-changed", run("{paper}", "--rank", "8"), "rank cannot change once a session has updates"),
    Case("adapters-changed", run("{paper}", "--adapters", "per-paper"), "adapters cannot change"),
    # session names
    Case("name-space", run("{paper}", session="a b"), "invalid session name 'a b'"),
    Case("name-dotdot", run("{paper}", session=".."), "invalid session name '..'"),
    Case("name-dot", run("{paper}", session="."), "invalid session name '.'"),
    Case("name-hidden", run("{paper}", session=".demo"), "invalid session name"),
    Case("name-slash", run("{paper}", session="x/../demo"), "invalid session name"),
    Case("name-empty", run("{paper}", session=""), "a session needs a name"),
    Case("name-seal-db", run("{paper}", session="seal.db"), "reserved name"),
    Case("name-con", run("{paper}", session="CON"), "reserved name"),
    Case("name-65-chars", run("{paper}", session="a" * 65), "65 characters long"),
    Case("name-differs-in-case", run("{paper}", session="DEMO"), "'demo' already exists"),
    Case("new-session-without-paper", ["run", "--session", "fresh"], "give at least one paper"),
    # commands on what does not exist
    Case("show-missing", ["show", "nope"], "no session named 'nope'"),
    Case("show-differs-in-case", ["show", "DEMO"], "no session named 'DEMO'"),
    Case("rollback-missing-session", ["rollback", "nope", "1"], "no session named 'nope'"),
    Case("rollback-missing-version", ["rollback", "demo", "99"], "no version 99"),
    Case("rollback-negative", ["rollback", "demo", "-1"], "no version -1"),
    Case("rollback-bad-name", ["rollback", "../x", "1"], "no session named '../x'"),
    Case("editor-missing-session", ["editor", "nope"], "no session named 'nope'"),
    Case("editor-epochs-zero", ["editor", "demo", "--epochs", "0"], "epochs must be 1..20"),
    Case("editor-per-passage-zero", ["editor", "demo", "--per-passage", "0"], "per_passage must be 1..64"),
    Case("editor-too-few-pairs", ["editor", "demo", "--min-pairs", "9"], "needs at least 9 kept self-edits"),
    Case("bench-missing-data", ["bench", "ki", "{tmp}/squad.json"], "squad.json: no such file"),
    Case(
        "bench-bad-data",
        ["bench", "forget", "{tmp}/squad.json"],
        "'context' must be",
        file("squad.json", entry(context=None)),
    ),
    Case("export-missing-session", ["export", "nope", "--peft", "{tmp}/out"], "no session named 'nope'"),
    Case("export-no-output", ["export", "demo"], "name at least one output"),
    Case("export-missing-version", ["export", "demo", "--version", "99", "--peft", "{tmp}/out"], "no version 99"),
    Case("export-negative-version", ["export", "demo", "--version", "-1", "--edits", "{tmp}/e.jsonl"], "no version -1"),
    Case("export-base-version", ["export", "demo", "--version", "0", "--peft", "{tmp}/out"], "base model"),
    Case(
        "export-onto-a-file", ["export", "demo", "--edits", "{tmp}/e.jsonl"], "already exists", file("e.jsonl", "{}\n")
    ),
    Case(
        "export-onto-a-folder",
        ["export", "demo", "--peft", "{tmp}/out"],
        "already exists",
        lambda tmp: (folder("out")(tmp), file("out/keep.txt", "mine")(tmp)),
    ),
]


@pytest.fixture(scope="module")
def learned(tmp_path_factory) -> Path:
    """A home with one session that has learned the sample paper (made once, copied per case)."""
    path = tmp_path_factory.mktemp("learned") / "home"
    config = SessionConfig(generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=1))
    home = Home(path)
    session = home.open("demo", config, FakeRuntime())
    session.add_paper(read_paper(PAPER)[0])
    session.run()
    session.close()
    home.close()
    return path


@pytest.fixture
def learned_home(learned, seal_home) -> Path:
    shutil.copytree(learned, seal_home)
    return seal_home


@pytest.fixture
def no_model(monkeypatch):
    """Loading the real model fails the test: a bad input must be refused before it."""
    from engine.runtime.local import LocalRuntime

    def load(self):
        raise AssertionError("the model was loaded for a bad input")

    monkeypatch.setattr(LocalRuntime, "load", load)


def test_the_corpus_is_large_and_its_ids_unique():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_is_one_clear_line_and_changes_nothing(case, learned_home, no_model, tmp_path, capsys):
    scratch = tmp_path / "input"
    scratch.mkdir()
    case.make(scratch)
    argv = [a.replace("{tmp}", str(scratch)).replace("{paper}", str(PAPER)) for a in case.argv]
    before = snapshot(learned_home)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code != 0 and out == "", out
    assert "Traceback" not in err
    assert err.startswith("seal:") and err.count("\n") == 1, err
    assert case.words.lower() in err.lower(), err
    assert snapshot(learned_home) == before


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run", str(PAPER), "--session", "demo", "--edits", "many"], "argument --edits: invalid int value: 'many'"),
        (["run", str(PAPER), "--session", "demo", "--accept", "maybe"], "argument --accept: invalid choice: 'maybe'"),
        (["rollback", "demo", "one"], "argument version: invalid int value: 'one'"),
        (["show", "demo", "--metric", "bleu"], "argument --metric: invalid choice: 'bleu'"),
        (["run", str(PAPER)], "the following arguments are required: --session"),
    ],
)
def test_a_malformed_command_line_is_a_usage_line_and_changes_nothing(argv, words, learned_home, capsys):
    before = snapshot(learned_home)
    with pytest.raises(SystemExit) as exit:
        main(argv)
    err = capsys.readouterr().err
    assert exit.value.code == 2
    usage, message = err.splitlines()[0], err.splitlines()[-1]
    assert usage.startswith("usage: seal") and message.startswith("seal") and words in message, err
    assert "Traceback" not in err
    assert snapshot(learned_home) == before


def test_the_snapshot_sees_what_a_command_writes(learned_home, capsys):
    """The check above is not blind: a good rollback changes the home, and it shows."""
    before = snapshot(learned_home)
    assert main(["rollback", "demo", "1"]) == 0
    assert snapshot(learned_home) != before


def test_the_real_command_prints_one_line_for_a_deeply_nested_paper(learned_home, tmp_path):
    """As a user runs it: a separate process, its own recursion limit and its own stderr."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    before = snapshot(learned_home)
    done = subprocess.run(
        [sys.executable, "-m", "seal_cli.main", "run", str(deep), "--session", "demo"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        timeout=60,
        env={**os.environ, "SEAL_HOME": str(learned_home)},
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"seal: error: {deep}: JSON nested too deeply\n"
    assert snapshot(learned_home) == before
