"""What a session records stays true: decisions as trained, paths in a moved home, its own
template copy, the model it was trained on (fast, on the fake runtime)."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.config import ConfigError, GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.sessions import export
from engine.sessions.home import Home
from engine.sessions.session import ModelMismatch
from tools.scripted_runtime import FakeRuntime

CONFIG = SessionConfig(generation=GenerationConfig(candidates=3), train=TrainConfig(epochs=2, grounding=0.0))


class VetoWhileTraining(FakeRuntime):
    """A person rejects and rewrites edits from another thread while the update trains."""

    def __init__(self, session_of):
        super().__init__()
        self.session_of = session_of

    def train(self, start, examples, config, on_step=None, stop=None, guards=None):
        session = self.session_of()
        edits = session.self_edits(session.passages()[0].id)
        session.decide(edits[0].id, False, "changed my mind")
        session.edit_text(edits[1].id, "A text written after the update started.")
        return super().train(start, examples, config, on_step, stop, guards)


def test_an_update_trains_and_records_the_decisions_in_force_when_it_started(fixtures, tmp_path):
    holder = {}
    runtime = VetoWhileTraining(lambda: holder["session"])
    session = holder["session"] = Home().open("demo", CONFIG, runtime)
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.generate(passage)
    edits = session.self_edits(passage.id)
    for edit in edits:
        session.decide(edit.id, True)
    update = session.learn(passage)
    assert update.params["edit_ids"] == [e.id for e in edits]
    assert update.params["edits"] == {str(e.id): e.text for e in edits}, "texts as trained"
    assert not any("after the update started" in x for x in runtime.trained[0])
    now = session.self_edits(passage.id)
    assert now[0].status == "rejected" and now[1].text.startswith("A text written after")
    out = tmp_path / "edits.jsonl"
    assert export.export_edits(session, update.version, out) == 3
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [x["edit_id"] for x in lines] == [e.id for e in edits]
    assert [x["messages"][-1]["content"] for x in lines] == [e.text for e in edits]


def test_a_person_decision_made_while_the_filter_ran_stands(fixtures):
    session = Home().open("demo", SessionConfig(generation=GenerationConfig(candidates=3), accept="all"), FakeRuntime())
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.generate(passage)
    first, second, _ = session.self_edits(passage.id)
    session.decide(first.id, False, "vetoed")
    session.store.decide_self_edit(first.id, "accepted", "filter", "reward +0.3")
    session.store.decide_self_edit(second.id, "rejected", "policy", "accept=none")
    session.decide(second.id, True)
    decided = session.apply_policy(passage)
    assert [(e.status, e.decided_by) for e in decided[:2]] == [("rejected", "person"), ("accepted", "person")]


def learned(home_path: Path, runtime=None):
    session = Home(home_path).open("demo", CONFIG, runtime or FakeRuntime())
    session.add_paper(read_paper(Path(__file__).parents[1] / "fixtures" / "velmora.md")[0])
    session.run()
    return session


def test_a_moved_home_opens_with_its_adapters(tmp_path):
    session = learned(tmp_path / "a")
    stored = [u.adapter_path for u in session.updates()]
    assert stored == [f"demo/adapters/v{v:04d}" for v in (1, 2, 3)], "paths relative to the home"
    before = session.matrix().values
    session.close()
    Home(tmp_path / "a").close()
    shutil.move(tmp_path / "a", tmp_path / "b")
    moved = Home(tmp_path / "b").open("demo", runtime=FakeRuntime())
    assert moved.adapter_for(3) == tmp_path / "b" / "demo" / "adapters" / "v0003"
    assert moved.runtime.answer_nll(moved.adapter_for(3), False, [("q", "1873")]) == [2.0]
    assert moved.matrix().values == before


def test_absolute_paths_from_older_sessions_are_found_in_a_moved_home(tmp_path):
    learned(tmp_path / "a").close()
    db = sqlite3.connect(tmp_path / "a" / "seal.db")
    db.execute("UPDATE updates SET adapter_path = '/gone/old-home/' || adapter_path")
    db.commit()
    db.close()
    shutil.move(tmp_path / "a", tmp_path / "b")
    session = Home(tmp_path / "b").open("demo", runtime=FakeRuntime())
    assert session.adapter_for(2) == tmp_path / "b" / "demo" / "adapters" / "v0002"
    assert session.adapter_for(2).is_dir(), "recovery did not take the old rows' folders for orphans"


def test_a_template_is_copied_into_the_session(tmp_path, fixtures):
    template = tmp_path / "mine.json"
    template.write_text(
        json.dumps({"mine": {"description": "notes", "system": "", "user": "Notes on {title}: {passage}"}})
    )
    session = Home().open("demo", SessionConfig(strategy=str(template)), FakeRuntime())
    assert session.config.strategy == "demo/strategy.json"
    template.unlink()
    session.close()
    again = Home().open("demo", runtime=FakeRuntime())
    assert again.strategy.name == "mine"
    passage = again.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    assert again.generate(passage, count=1)[0].strategy == "mine"


def test_a_template_given_to_an_existing_session_is_copied_too(tmp_path, fixtures):
    Home().create("demo", SessionConfig())
    template = tmp_path / "later.toml"
    template.write_text('[later]\ndescription = "notes"\nsystem = ""\nuser = "Later notes on {title}: {passage}"\n')
    config = Home().config_for("demo", {"strategy": str(template)})
    session = Home().open("demo", config, FakeRuntime())
    assert session.config.strategy == "demo/strategy.toml"
    template.unlink()
    session.close()
    again = Home().open("demo", runtime=FakeRuntime())
    assert again.strategy.name == "later"
    passage = again.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    assert again.generate(passage, count=1)[0].strategy == "later"


def test_the_sessions_own_template_given_again_stays_as_it_is(tmp_path, monkeypatch):
    template = tmp_path / "mine.json"
    template.write_text(json.dumps({"mine": {"description": "n", "system": "", "user": "On {title}: {passage}"}}))
    Home().create("demo", SessionConfig(strategy=str(template)))
    home = Home()
    monkeypatch.chdir(home.path)  # the stored "demo/strategy.json" is a file from here too
    session = home.open("demo", home.config_for("demo"), FakeRuntime())
    assert session.config.strategy == "demo/strategy.json" and session.strategy.name == "mine"


def test_a_session_refuses_a_model_other_than_the_one_it_learned_on(tmp_path):
    learned(tmp_path).close()
    other = FakeRuntime()
    other.model_identity = "other-model.gguf 2000 fedcba9876543210"
    with pytest.raises(ModelMismatch, match="trained on fake-model.gguf.*start a new session"):
        Home(tmp_path).open("demo", runtime=other)
    assert all(
        u.params["model"] == FakeRuntime().model_identity for u in Home(tmp_path).open("demo", read_only=True).updates()
    )
    with pytest.raises(ConfigError, match="model .gguf_path. cannot change"):
        Home(tmp_path).config_for("demo", {"model": {"gguf_path": str(tmp_path / "seal.db")}})
