"""The session loop on a scripted runtime: ordering, storage, resume, cancel (fast)."""

import threading

import pytest

from engine import events as ev
from engine.config import GenerationConfig, SessionConfig, TrainConfig
from engine.papers.ingest import read_paper
from engine.sessions.home import Home
from tools.scripted_runtime import FakeRuntime


def open_session(name="demo", runtime=None, **overrides):
    overrides.setdefault("train", TrainConfig(epochs=2, passage_repeats=1))
    config = SessionConfig(generation=GenerationConfig(candidates=2), **overrides)
    return Home().open(name, config, runtime or FakeRuntime())


def test_run_learns_each_passage_and_fills_the_matrix(fixtures):
    session = open_session()
    seen = []
    session.add_paper(read_paper(fixtures / "velmora.md")[0], seen.append)
    updates = session.run(seen.append)
    passages = session.passages()
    assert len(updates) == len(passages) == 3
    assert [u.version for u in updates] == [1, 2, 3]
    matrix = session.matrix()
    assert matrix.rows == [0, 1, 2, 3]
    # the first passage is scored by every version; the last only by base, v2 (before) and v3
    assert all(v is not None for v in (matrix.cell(r, passages[0].id) for r in matrix.rows))
    assert matrix.cell(1, passages[2].id) is None
    kinds = {type(e) for e in seen}
    assert {
        ev.PaperAdded,
        ev.Token,
        ev.CandidateDone,
        ev.GateDecision,
        ev.TrainStep,
        ev.UpdateDone,
        ev.ScoresReady,
    } <= kinds


def test_training_examples_are_accepted_lines_plus_the_passage(fixtures):
    runtime = FakeRuntime()
    session = open_session(runtime=runtime, accept="all")
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.step(passage)
    examples = runtime.trained[0]
    assert examples[-1] == f"{passage.title}\n{passage.text}"
    assert any("founded in 1873" in e and e.startswith(passage.title) for e in examples[:-1])
    assert not any("Here are the implications" in e for e in examples)
    # grounding: the Brass Eye is passage 2's, so a line about it on passage 1 does not train
    assert not any("Brass Eye" in e for e in examples) and "Brass Eye" not in passage.text


def test_grounding_zero_trains_every_line(fixtures):
    runtime = FakeRuntime()
    session = open_session(runtime=runtime, accept="all", train=TrainConfig(grounding=0.0))
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.step(passage)
    assert any("Brass Eye" in e for e in runtime.trained[0][:-1])


def test_accept_none_trains_on_the_passage_only(fixtures):
    runtime = FakeRuntime()
    session = open_session(runtime=runtime, accept="none")
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.step(passage)
    assert runtime.trained[0] == [f"{passage.title}\n{passage.text}"]
    assert {e.status for e in session.self_edits(passage.id)} == {"rejected"}


def test_same_paper_twice_is_not_added_again(fixtures):
    session = open_session()
    draft = read_paper(fixtures / "velmora.md")[0]
    first = session.add_paper(draft)
    again = session.add_paper(draft)
    assert [p.id for p in again] == [p.id for p in first]
    assert len(session.passages()) == 3


def test_cancelled_update_keeps_previous_version_and_accepted_edits(fixtures):
    session = open_session()
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    stop = threading.Event()

    def stop_on_first_step(event):
        if isinstance(event, ev.TrainStep):
            stop.set()

    assert session.run(stop_on_first_step, stop) == []
    assert session.current_version == 0
    accepted = [e.id for e in session.self_edits(session.passages()[0].id) if e.status == "accepted"]
    assert accepted
    # reopening continues with the same accepted edits, nothing regenerated
    runtime = FakeRuntime()
    reopened = Home().open("demo", runtime=runtime)
    reopened.run()
    first = reopened.passages()[0]
    assert [e.id for e in reopened.self_edits(first.id) if e.status == "accepted"] == accepted
    assert len(reopened.self_edits(first.id)) == 2
    assert reopened.current_version == 3


def test_person_decisions_overrule_and_edits_change_training(fixtures):
    runtime = FakeRuntime()
    session = open_session(runtime=runtime)
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    first, second = session.generate(passage)
    session.decide(first.id, False, "off topic")
    session.edit_text(second.id, "Quenby has nineteen-hour winter nights.")
    session.decide(second.id, True)
    session.apply_policy(passage)
    assert [e.decided_by for e in session.self_edits(passage.id)] == ["person", "person"]
    session.learn(passage)
    assert runtime.trained[0] == [
        f"{passage.title}\nQuenby has nineteen-hour winter nights.",
        f"{passage.title}\n{passage.text}",
    ]


def test_regenerate_sets_pending_candidates_aside(fixtures):
    session = open_session()
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.generate(passage)
    fresh = session.regenerate(passage)
    edits = session.self_edits(passage.id)
    assert len(fresh) == 2 and len(edits) == 4
    assert [e.reason for e in edits[:2]] == ["regenerated", "regenerated"]


def test_learning_then_forgetting_shows_in_the_matrix(fixtures):
    session = open_session(accept="all")
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    session.run()
    m = session.matrix()
    p0 = session.passages()[0].id
    assert m.cell(1, p0) < m.cell(0, p0)  # learned
    assert m.cell(3, p0) > m.cell(1, p0)  # then partly forgotten


def test_a_fixed_seed_still_samples_each_candidate_differently(fixtures):
    runtime = FakeRuntime()
    config = SessionConfig(generation=GenerationConfig(candidates=3, seed=11))
    session = Home().open("seeded", config, runtime)
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.generate(passage)
    assert runtime.seeds == [11, 12, 13]


def test_an_update_records_the_edits_it_trained_on(fixtures):
    session = open_session(accept="all")
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    update = session.step(passage)
    accepted = [e.id for e in session.self_edits(passage.id) if e.status == "accepted"]
    assert update.params["edit_ids"] == accepted and accepted
    session.decide(accepted[0], False, "changed my mind")
    assert session.updates()[0].params["edit_ids"] == accepted


def test_greedy_answers_add_f1_and_contains(fixtures):
    session = open_session(greedy_answers=True)
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.step(passage)
    gold = {p.id: p.answer for p in passage.probes}
    scores = session.scores(1)
    assert scores and all(s.answer == "1873" for s in scores)  # what the fake model answers
    for s in scores:
        expected = 1.0 if gold[s.probe_id] == "1873" else 0.0
        assert (s.f1, s.contains) == (expected, expected)
    assert "1873" in gold.values()
    assert session.matrix("f1").cell(1, passage.id) is not None


def test_model_written_probes_are_added_to_cloze_ones(fixtures):
    runtime = FakeRuntime(
        text="Q: Who founded the Velmora Observatory? A: Ilse Narrowgate\nQ: When was the Brass Eye installed? A: 1888"
    )
    session = open_session(runtime=runtime, probes="qa")
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    kinds = [p.kind for p in passage.probes]
    assert "cloze" in kinds and kinds.count("qa") == 2
    assert ("Who founded the Velmora Observatory?", "Ilse Narrowgate") in [
        (p.question, p.answer) for p in passage.probes
    ]


def test_reward_filter_keeps_candidates_that_teach_their_passage(fixtures):
    runtime = FakeRuntime()
    config = SessionConfig(accept="filter", generation=GenerationConfig(candidates=2), train=TrainConfig(epochs=1))
    session = Home().open("filtered", config, runtime)
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.generate(passage)
    first, second = session.self_edits(passage.id)
    session.edit_text(second.id, "Ships once sailed to the moon on silver winds.")  # off topic
    seen = []
    session.apply_policy(passage, seen.append)
    a, b = session.self_edits(passage.id)
    assert a.reward > 0 and a.damage == 0.0  # no earlier passages: nothing to damage
    assert a.status == "accepted" and a.decided_by == "filter" and "reward" in a.reason
    assert (b.status, b.decided_by, b.reward) == ("rejected", "heuristic", None)  # the gate vets first
    assert len(runtime.trials) == 1 and session.current_version == 0
    assert any(isinstance(e, ev.TrialDone) for e in seen)
    assert any(isinstance(e, ev.Stage) and e.name == "filter" and "about" in e.detail for e in seen)


def test_reward_against_the_passage_counts_only_what_a_candidate_adds(fixtures):
    from engine.config import FilterConfig

    runtime = FakeRuntime()
    config = SessionConfig(
        accept="filter",
        generation=GenerationConfig(candidates=1),
        train=TrainConfig(epochs=1),
        filter=FilterConfig(reward_vs="passage"),
    )
    session = Home().open("marginal", config, runtime)
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.generate(passage)
    session.apply_policy(passage)
    [edit] = session.self_edits(passage.id)
    example = f"{passage.title}\n{passage.text}"
    assert runtime.trials[0] == [example]  # the baseline: the passage alone
    assert runtime.trials[1][-1] == example and len(runtime.trials[1]) > 1
    # the passage already teaches every probe answer in the fake: the candidate adds nothing
    assert edit.reward == 0.0 and edit.status == "rejected" and "reward below" in edit.reason


def test_reward_filter_rejects_damage_over_budget(fixtures):
    from engine.config import FilterConfig
    from engine.domain import SelfEdit
    from engine.learning.reward_filter import Trial, verdicts

    edits = [SelfEdit(i, 1, "implications", f"e{i}", "pending") for i in range(4)]
    trials = [
        Trial(edits[0], 1.0, 0.1),
        Trial(edits[1], 0.01, 0.0),
        Trial(edits[2], 2.0, 0.9),
        Trial(edits[3], 0.5, 0.0),
    ]
    f = FilterConfig(min_gain=0.05, budget=0.5, top_k=1)
    out = verdicts(trials, f.min_gain, f.budget, f.top_k)
    assert (out[0].kept, out[0].reason) == (True, "reward +1.00, damage +0.10: rank 1")
    assert out[1].kept is False and "below" in out[1].reason
    assert out[2].kept is False and "budget" in out[2].reason
    assert out[3].kept is False and "beyond top 1" in out[3].reason


def test_rollback_abandons_later_versions_and_continues_from_the_chosen_one(fixtures):
    session = open_session(accept="all")
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    session.run()
    p = session.passages()
    session.rollback(1)
    assert session.current_version == 1
    assert [(u.version, u.status) for u in session.updates()] == [(1, "active"), (2, "abandoned"), (3, "abandoned")]
    assert [x.status for x in session.passages()] == ["learned", "edits", "edits"]
    made = session.run()  # relearns passages 2 and 3 from version 1, with their accepted edits
    assert [(u.version, u.parent_version) for u in made] == [(4, 1), (5, 4)]
    m = session.matrix()
    assert m.rows == [0, 1, 2, 3, 4, 5] and m.abandoned == {2, 3}
    assert m.learned_at == {p[0].id: 1, p[1].id: 4, p[2].id: 5}
    assert m.cell(2, p[0].id) is not None  # the abandoned path stays visible


def test_replay_mixes_earlier_examples_into_later_updates(fixtures):
    runtime = FakeRuntime()
    session = open_session(runtime=runtime, accept="all", replay=1.0, train=TrainConfig(epochs=1, passage_repeats=1))
    session.add_paper(read_paper(fixtures / "velmora.md")[0])
    session.run()
    first, second = session.passages()[:2]
    assert runtime.trained[0] == session.examples_for(first)  # nothing to replay yet
    new = session.examples_for(second)
    assert runtime.trained[1][: len(new)] == new
    replayed = runtime.trained[1][len(new) :]
    assert replayed and set(replayed) <= set(session.examples_for(first))


def test_strategy_stats_count_acceptance(fixtures):
    session = open_session(accept="all")
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    session.step(passage)
    stats = session.strategy_stats()
    assert stats == {"implications": {"candidates": 2, "accepted": 2, "acceptance": 1.0, "mean_reward": None}}


def test_reward_filter_measures_damage_on_earlier_passages(fixtures):
    from engine.config import FilterConfig

    config = SessionConfig(
        accept="filter",
        generation=GenerationConfig(candidates=1),
        train=TrainConfig(epochs=1),
        filter=FilterConfig(budget=0.25),
    )
    session = Home().open("damage", config, FakeRuntime())
    first, second = session.add_paper(read_paper(fixtures / "velmora.md")[0])[:2]
    session.step(first)  # learned: its probes now score 2.0 in the fake
    session.generate(second)
    session.apply_policy(second)
    edit = session.self_edits(second.id)[0]
    # the trial makes the first passage's facts one update older in the fake (2.0 -> 3.0),
    # except those the new candidate repeats
    assert 0.25 < edit.damage <= 1.0 and edit.reward > 0
    assert edit.status == "rejected" and "damage over the budget of 0.25" in edit.reason


def test_generation_follows_the_current_version(fixtures):
    runtime = FakeRuntime()
    session = open_session(runtime=runtime, accept="all")
    first, second = session.add_paper(read_paper(fixtures / "velmora.md")[0])[:2]
    seen = []
    session.generate(first, seen.append)
    assert runtime.active == [None]  # the base model writes the first self-edits
    session.step(first, seen.append)
    assert runtime.active == [session.adapter_for(1)]
    assert [e.version for e in seen if isinstance(e, ev.AdapterSwapped)] == [0, 1]
    session.rollback(0)
    session.generate(second)
    assert runtime.active == [None]


def test_reward_items_never_read_held_out_probes(fixtures):
    from dataclasses import replace as swap

    session = open_session(runtime=FakeRuntime())
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    heldout = {q.question for q in passage.probes if q.role == "heldout"}
    reward = {q.question for q in passage.probes if q.role == "reward"}
    assert heldout and reward and not heldout & reward
    asked = {
        prompt.split("Question: ")[1].removesuffix("\nAnswer:")
        for prompt, _ in session.reward_items(passage)
        if "Question: " in prompt
    }
    continued = {prompt.split("\n", 1)[1] for prompt, _ in session.reward_items(passage) if "Question: " not in prompt}
    assert asked | continued == reward
    assert {q.kind for q in passage.probes} == {"cloze", "recall"} and continued  # recall probes beside questions
    # a passage stored before roles existed, with one probe: cloze questions fill the reward side
    old = swap(passage, probes=tuple(swap(q, role="heldout") for q in passage.probes[:1]))
    items = session.reward_items(old)
    assert items and all(old.probes[0].question not in prompt for prompt, _ in items)


def test_each_passage_gets_recall_probes_scored_as_continuations_and_a_matrix_per_family(fixtures):
    from engine.scores.evaluate import probe_text

    class Recording(FakeRuntime):
        prompts: list[str] = []

        def answer_nll(self, adapter, base, items):
            self.prompts += [prompt for prompt, _ in items]
            return super().answer_nll(adapter, base, items)

    runtime = Recording()
    session = open_session(runtime=runtime, accept="all")
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    recall = [q for q in passage.probes if q.kind == "recall"]
    assert len(recall) >= 4 and {q.role for q in recall} == {"heldout", "reward"}
    session.step(passage)
    assert f"{passage.title}\n{recall[0].question}" in runtime.prompts  # the title, then the sentence so far
    assert probe_text(passage.title, recall[0].kind, recall[0].question) == f"{passage.title}\n{recall[0].question}"
    # no questions came with this paper: cloze questions and recall probes; recall is shown first
    assert session.families() == ["recall", "question"]
    questions, recalled = session.matrix(family="question"), session.matrix(family="recall")
    assert session.matrix().family == "recall" and questions.family == "question"
    for matrix, kinds in ((questions, {"cloze"}), (recalled, {"recall"})):  # each averages its own probes
        ids = {q.id for q in passage.probes if q.role == "heldout" and q.kind in kinds}
        values = [s.answer_nll for s in session.scores(1) if s.probe_id in ids]
        assert matrix.cell(1, passage.id) == pytest.approx(sum(values) / len(values))


def test_a_paper_with_its_own_questions_shows_them_first(tmp_path):
    paper = tmp_path / "orrin.md"
    paper.write_text(
        "# Orrin\n\nThe Orrin Canal was dug by Bastien Quell in 1761. It closed to trade in 1938.\n\n"
        "## Questions\n\nQ: Who dug the Orrin Canal?\nA: Bastien Quell\n"
    )
    session = open_session()
    passage = session.add_paper(read_paper(paper)[0])[0]
    assert {q.kind for q in passage.probes} >= {"given", "recall"}
    assert session.families() == ["question", "recall"]


def test_an_update_trains_the_passage_many_times_an_epoch_and_each_line_once(fixtures):
    runtime = FakeRuntime()
    session = open_session(runtime=runtime, accept="all", train=TrainConfig(epochs=2, passage_repeats=5))
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    update = session.step(passage)
    passage_example = f"{passage.title}\n{passage.text}"
    lines = session.examples_for(passage)[:-1]
    assert runtime.trained[-1].count(passage_example) == 5
    assert sorted(x for x in runtime.trained[-1] if x != passage_example) == sorted(lines)
    assert update.examples == len(lines) + 1  # the history counts each example once
    assert update.params["passage_repeats"] == 5


def test_imported_self_edits_train_whole_while_the_models_own_are_grounded(fixtures):
    from engine.sessions.session import IMPORTED

    session = open_session()
    passage = session.add_paper(read_paper(fixtures / "velmora.md")[0])[0]
    text = "Stargazers from far away would travel to Quenby.\nThe founder was born in 1840."
    own = session.store.add_self_edit(passage.id, "implications", text)
    imported = session.store.add_self_edit(passage.id, IMPORTED, text, writer="file: gpt.json")
    assert session.training_lines(passage, own) == (0, 2)  # invented: a year and words the passage lacks
    assert session.training_lines(passage, imported) == (2, 2)
    assert f"{passage.title}\nThe founder was born in 1840." in session.examples_for(passage, [own, imported])
