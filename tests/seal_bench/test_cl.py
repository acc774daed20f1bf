"""seal bench ki and forget on the scripted runtime: their JSON contracts and conditions."""

from engine.papers.ingest import read_paper
from seal_bench import cl
from tools.scripted_runtime import FakeRuntime


def passages(fixtures, n):
    return cl.passages_of(read_paper(fixtures / "squad_sample.json", passage_tokens=4096), n)


def test_ki_reports_held_out_drift_and_specific_gain_per_condition(fixtures):
    chosen = passages(fixtures, 2)
    config = cl.bench_config(edits=2, epochs=1, max_tokens=64)
    result = cl.knowledge_incorporation(FakeRuntime(), chosen, config, lambda line: None)
    assert set(result["conditions"]) == {"base", "passage", "edits", "filtered"}  # teacher needs a file
    for name, row in result["conditions"].items():
        if name != "base":
            assert set(row) == {"heldout_nll", "own_change", "drift_change", "specific_gain", "better_than_base"}
            assert row["specific_gain"] == round(row["drift_change"] - row["own_change"], 4)
    heldout = sum(len([r for r in split_roles(p) if r == "heldout"]) for p in chosen)
    assert result["passages"] == 2 and result["heldout_questions"] == heldout < sum(len(p.questions) for p in chosen)
    # in the fake, training on the passage teaches its answers; the base model knows none
    assert result["conditions"]["passage"]["heldout_nll"] < result["conditions"]["base"]["heldout_nll"]


def split_roles(p):
    from engine.papers.probes import split_probes

    return [role for *_, role in split_probes(p.title, p.text, list(p.questions), "given")]


def test_ki_teacher_condition_trains_the_files_first_self_edit(fixtures, tmp_path):
    import json

    from engine.selfedits.imported_edits import load_edits

    [p] = passages(fixtures, 1)
    path = tmp_path / "teacher.json"
    path.write_text(
        json.dumps([{"title": p.title, "context": p.text, "completions": [f"{p.title} is in Ostrand.", "Unused."]}])
    )
    runtime = FakeRuntime()
    config = cl.bench_config(edits=1, epochs=1, max_tokens=64)
    result = cl.knowledge_incorporation(runtime, [p], config, lambda line: None, load_edits(path), ("base", "teacher"))
    assert set(result["conditions"]) == {"base", "teacher"}
    repeats = config.train.passage_repeats  # the passage trains as many times an epoch as in a session
    assert [f"{p.title}\n{p.title} is in Ostrand.", *[f"{p.title}\n{p.text}"] * repeats] in runtime.trials
    assert set(result["recall"]) == {"base", "teacher"} and result["recall_probes"] > 0


def test_ki_reward_against_the_passage_trials_the_passage_first(fixtures):
    runtime = FakeRuntime()
    [p] = passages(fixtures, 1)
    config = cl.bench_config(edits=1, epochs=1, max_tokens=64, reward_vs="passage")
    cl.knowledge_incorporation(runtime, [p], config, lambda line: None)
    example = f"{p.title}\n{p.text}"
    assert runtime.trials[0] == [example] and runtime.trials[1][-1] == example


def test_forget_runs_the_recipe_plain_with_replay_seals_preset_and_per_paper_adapters(fixtures):
    chosen = passages(fixtures, 2)
    config = cl.bench_config(edits=1, epochs=1, max_tokens=64)
    result = cl.forgetting(FakeRuntime(), chosen, config, 1.0, lambda line: None)
    runs = result["runs"]
    assert set(runs) == {"plain", "replay", "seal", "per-paper"}
    for run in runs.values():
        assert set(run) == set(runs["plain"])
        assert len(run["matrix"]) == 3 and len(run["matrix"][0]) == 2 and isinstance(run["bwt"], float)
        assert run["passages"] == 2 and 0 <= run["end_below_base"] <= 2 and len(run["drift_by_version"]) == 3
    assert runs["replay"]["replay"] == 1.0 and runs["seal"]["replay"] == 0.0
    # each passage is its own paper: the second update leaves the first passage's score alone
    assert runs["per-paper"]["bwt"] == 0.0 and runs["plain"]["bwt"] < 0.0


def test_forget_on_a_single_passage_reports_no_bwt_instead_of_failing(fixtures):
    lines: list[str] = []
    result = cl.forgetting(FakeRuntime(), passages(fixtures, 1), cl.bench_config(1, 1, 64), 0.5, lines.append)
    assert result["runs"]["plain"]["bwt"] is None
    assert any(line.startswith("plain: BWT - (one passage)") for line in lines)
