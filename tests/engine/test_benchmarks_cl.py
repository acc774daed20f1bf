"""seal bench ki and forget on the scripted runtime: their JSON contracts and conditions."""
from engine import benchmarks_cl
from engine.ingest import read_paper
from tests.fakes import FakeRuntime


def passages(fixtures, n):
    return benchmarks_cl.passages_of(read_paper(fixtures / "squad_sample.json", passage_tokens=4096), n)


def test_ki_reports_every_condition_over_every_question(fixtures):
    chosen = passages(fixtures, 2)
    config = benchmarks_cl.bench_config(edits=2, epochs=1, max_tokens=64)
    result = benchmarks_cl.knowledge_incorporation(FakeRuntime(), chosen, config, lambda line: None)
    assert set(result) == {"conditions", "passages", "questions", "seconds"}
    assert set(result["conditions"]) == {"base", "passage", "edits", "filtered"}
    assert all(set(v) == {"answer_nll", "f1", "contains"} for v in result["conditions"].values())
    assert result["passages"] == 2 and result["questions"] == sum(len(p.questions) for p in chosen)
    # in the fake, training on the passage teaches its answers; the base model knows none
    assert result["conditions"]["passage"]["answer_nll"] < result["conditions"]["base"]["answer_nll"]


def test_ki_reward_against_the_passage_trials_the_passage_first(fixtures):
    runtime = FakeRuntime()
    [p] = passages(fixtures, 1)
    config = benchmarks_cl.bench_config(edits=1, epochs=1, max_tokens=64, reward_vs="passage")
    benchmarks_cl.knowledge_incorporation(runtime, [p], config, lambda line: None)
    example = f"{p.title}\n{p.text}"
    assert runtime.trials[0] == [example] and runtime.trials[1][-1] == example


def test_forget_runs_plain_and_replay_with_a_matrix_and_bwt(fixtures):
    chosen = passages(fixtures, 2)
    config = benchmarks_cl.bench_config(edits=1, epochs=1, max_tokens=64)
    result = benchmarks_cl.forgetting(FakeRuntime(), chosen, config, 1.0, lambda line: None)
    assert set(result["runs"]) == {"plain", "replay"}
    for run in result["runs"].values():
        assert len(run["matrix"]) == 3 and len(run["matrix"][0]) == 2 and isinstance(run["bwt"], float)
    assert result["runs"]["replay"]["replay"] == 1.0
