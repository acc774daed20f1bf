"""The self-improving editor on a scripted runtime: rounds, their pairs, storage, stats."""

import threading

import pytest

from engine import events as ev
from engine.config import ConfigError, EditorConfig, GenerationConfig, SessionConfig, TrainConfig
from engine.learning import editor
from engine.learning.editor import EditorError
from engine.papers.ingest import read_paper
from engine.sessions.home import Home
from tools.scripted_runtime import FakeRuntime

EDITED = "- Ilse Narrowgate founded the Velmora Observatory on Quenby in 1873."


def open_session(runtime=None, name="ed", **editor_settings):
    config = SessionConfig(
        generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=1), editor=EditorConfig(**editor_settings)
    )
    return Home().open(name, config, runtime or FakeRuntime())


def learned_session(fixtures, runtime=None, passages=2, **editor_settings):
    session = open_session(runtime, **editor_settings)
    added = session.add_paper(read_paper(fixtures / "velmora.md")[0])
    for passage in added[:passages]:
        session.step(passage)
    return session, added


def test_a_round_trains_on_prompt_to_kept_edit_pairs_and_generation_uses_it(fixtures):
    runtime = FakeRuntime()
    session, passages = learned_session(fixtures, runtime)
    seen = []
    made = session.improve_editor(seen.append)
    assert made.number == 1 and made.trigger == "person"
    pairs = runtime.trained[-1]
    assert len(pairs) == 2  # per_passage=1: the best kept edit of each learned passage
    prompt, completion = pairs[0]
    assert passages[0].text in prompt and prompt.endswith("<assistant>")
    assert completion == session.self_edits(passages[0].id)[0].text
    assert (session.home / "ed" / "editor" / "r001" / "fake_history.json").is_file()
    assert runtime.active == [session.adapter_for(2), session.home / "ed" / "editor" / "r001"]
    assert any(isinstance(e, ev.EditorRoundDone) and e.pairs == 2 for e in seen)
    assert session.current_version == 2  # the knowledge version is untouched


def test_candidates_record_the_round_that_wrote_them_and_stats_compare_rounds(fixtures):
    runtime = FakeRuntime()
    session, passages = learned_session(fixtures, runtime)
    session.improve_editor()
    runtime.text = "unused: the fake editor writes what it learned"
    new = session.generate(passages[2])
    assert [e.editor_round for e in new] == [1, 1]
    assert new[0].text == session.self_edits(passages[1].id)[0].text  # the editor's own learning shows
    assert {e.editor_round for p in passages[:2] for e in session.self_edits(p.id)} == {None}
    session.apply_policy(passages[2], policy="none")
    stats = editor.round_stats(session)
    assert stats[None].candidates == 4 and stats[None].acceptance == 0.5  # the gate drops each duplicate
    assert stats[1].candidates == 2 and stats[1].acceptance == 0.0


def test_best_rewarded_edit_per_passage_trains_the_editor(fixtures):
    runtime = FakeRuntime()
    session, passages = learned_session(fixtures, runtime, passages=1, min_pairs=1)
    first, second = session.self_edits(passages[0].id)
    session.store.set_reward(first.id, 0.1, 0.0)
    session.store.set_reward(second.id, 0.9, 0.0)
    session.edit_text(second.id, "- The Brass Eye is the main telescope.")
    session.decide(first.id, True)
    session.decide(second.id, True)
    session.improve_editor()
    assert [c for _, c in runtime.trained[-1]] == ["- The Brass Eye is the main telescope."]
    assert session.editor_rounds()[0].edit_ids == (second.id,)


def test_too_few_kept_edits_is_a_clear_error_and_stores_nothing(fixtures):
    session, passages = learned_session(fixtures, passages=1, min_pairs=3)
    with pytest.raises(EditorError, match="at least 3 kept self-edits; this session has 1"):
        session.improve_editor()
    assert session.editor_rounds() == []
    assert not (session.home / "ed" / "editor").exists()


def test_rounds_run_automatically_every_n_learned_passages(fixtures):
    session, _ = learned_session(fixtures, passages=3, every=2, min_pairs=1)
    rounds = session.editor_rounds()
    assert [(r.number, r.trigger, r.learned_passages) for r in rounds] == [(1, "auto", 2)]


def test_an_automatic_round_without_enough_pairs_is_skipped_with_a_message(fixtures):
    session = open_session(every=1, min_pairs=5)
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    seen = []
    assert session.step(passage, seen.append) is not None
    assert session.editor_rounds() == []
    assert any(isinstance(e, ev.Stage) and "automatic round skipped" in e.detail for e in seen)


def test_scale_zero_switches_the_editor_off(fixtures):
    runtime = FakeRuntime()
    session, passages = learned_session(fixtures, runtime)
    session.improve_editor()
    off = Home().open("ed", None, runtime)
    off.store.update_session_config(off.info.id, {**off.info.config, "editor": {"scale": 0.0}})
    off = Home().open("ed", None, runtime)
    new = off.generate(passages[2])
    assert {e.editor_round for e in new} == {None}
    assert runtime.active == [off.adapter_for(2)]


def test_rounds_survive_a_reopen_and_generation_uses_the_newest(fixtures):
    session, passages = learned_session(fixtures)
    session.improve_editor()
    session.improve_editor()
    runtime = FakeRuntime()
    again = Home().open("ed", None, runtime)
    assert [r.number for r in again.editor_rounds()] == [1, 2]
    again.generate(passages[2])
    assert runtime.active[1] == again.home / "ed" / "editor" / "r002"


def test_a_cancelled_round_stores_nothing(fixtures):
    session, _ = learned_session(fixtures)
    stop = threading.Event()
    stop.set()
    seen = []
    assert session.improve_editor(seen.append, stop) is None
    assert session.editor_rounds() == []
    assert any(isinstance(e, ev.Cancelled) and e.what == "editor round" for e in seen)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"every": -1}, "every must be 0..1000"),
        ({"lr": 2.0}, "lr must be in"),
        ({"scale": 9}, "scale must be 0..4"),
        ({"per_passage": 0}, "per_passage must be 1..64"),
    ],
)
def test_bad_editor_settings_name_the_setting(settings, message):
    with pytest.raises(ConfigError, match=message):
        SessionConfig.from_dict({"editor": settings})


class _WordTokenizer:
    """One token per word, enough to check which tokens carry loss."""

    eos_token_id = 0

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [len(w) for w in text.split()]}


def test_pairs_learn_the_completion_only_and_texts_learn_everything():
    from engine.runtime.trainer import _collate, tokenize_for_loss

    sequences = tokenize_for_loss(_WordTokenizer(), [("read this passage", "a fact"), "plain text"], max_length=64)
    assert sequences == [([4, 4, 7, 1, 4, 0], 3), ([5, 4, 0], 0)]
    _, mask, labels = _collate(sequences, pad_id=0)
    assert labels[0].tolist() == [-100, -100, -100, 1, 4, 0]
    assert labels[1].tolist() == [5, 4, 0, -100, -100, -100]
    assert mask[1].tolist() == [1, 1, 1, 0, 0, 0]


def test_a_long_prompt_keeps_its_tail_and_the_whole_completion():
    from engine.runtime.trainer import tokenize_for_loss

    [(ids, first)] = tokenize_for_loss(_WordTokenizer(), [("a bb ccc dddd eeeee", "xy z")], max_length=5)
    assert ids == [4, 5, 2, 1, 0] and first == 2


def test_the_base_model_can_write_while_the_session_learns(fixtures):
    from dataclasses import replace

    runtime = FakeRuntime()
    session, passages = learned_session(fixtures, runtime)
    base_writes = replace(session.config, generation=replace(session.config.generation, writer="base"))
    session = Home().open("ed", base_writes, runtime)
    session.generate(passages[2])
    assert runtime.active == [None] and session.current_version == 2
    session.improve_editor()
    assert runtime.active == [None, session.home / "ed" / "editor" / "r001"]


def test_an_unknown_writer_is_refused():
    with pytest.raises(ConfigError, match="writer must be one of current, base"):
        SessionConfig.from_dict({"generation": {"writer": "oracle"}})
