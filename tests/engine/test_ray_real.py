"""Ray on the real embedded model: a local Ray with two workers, short settings. With the
workers' thread count (cores/2 each) in the run without Ray, the numbers match bit for bit:
every NLL a job returns, the ki table built from them, and the reward filter's rewards,
damages and verdicts as the store keeps them. (Other thread counts sum floats in another
order: about 1e-6 nats apart.)"""

from dataclasses import replace

import pytest

from engine import events as ev
from engine.config import FilterConfig
from engine.papers.ingest import read_paper
from engine.runtime.cores import usable_cores
from engine.runtime.factory import build_runtime
from engine.runtime.ray_pool import Serial, Workers, close_shared, shared_pool
from engine.sessions.home import Home
from seal_bench import cl

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="needs the ray extra: pip install -e '.[ray]'")

BENCH = cl.bench_config(edits=2, epochs=1, max_tokens=40)
CONFIG = replace(
    BENCH,
    # every epoch runs and every line trains, so the numbers move; no anchor, to keep the test short
    train=replace(BENCH.train, patience=0, grounding=0.0, anchor=0.0, passage_repeats=2),
    filter=FilterConfig(trial_epochs=1),
)


class Recording:
    """Workers that keep every result they hand back."""

    def __init__(self, inner: Workers):
        self.inner = inner
        self.results: list = []

    def run(self, jobs, start=None, stop=None):
        for result in self.inner.run(jobs, start, stop):
            self.results.append(result)
            yield result


@pytest.fixture(scope="module")
def runtime():
    """The run without Ray, on as many threads as each local worker has."""
    rt = build_runtime(replace(CONFIG.model, threads=max(1, usable_cores() // 2)), CONFIG.train)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def pool():
    """Two local workers, kept for the module (the filter's session finds the same pool)."""
    yield shared_pool(CONFIG.model, CONFIG.train, "local", 2)
    close_shared()
    assert not ray.is_initialized()


def test_ki_on_two_ray_workers_gives_the_table_of_a_run_without_ray(runtime, pool, fixtures):
    passages = cl.passages_of(read_paper(fixtures / "squad_sample.json", passage_tokens=4096), 2)
    conditions = ("base", "filtered")  # filtered: self-edits, the filter's trials, then the update
    here, there = Recording(Serial(runtime)), Recording(pool)
    alone = cl.knowledge_incorporation(None, passages, CONFIG, lambda line: None, None, conditions, pool=here)
    on_ray = cl.knowledge_incorporation(None, passages, CONFIG, lambda line: None, None, conditions, pool=there)
    assert there.results == here.results  # every float, bit for bit
    assert {**on_ray, "seconds": 0} == {**alone, "seconds": 0}
    assert alone["conditions"]["filtered"]["own_change"] != 0  # the updates moved the model
    assert len(alone["per_passage"]) == 2


def test_the_reward_filter_on_ray_keeps_what_it_keeps_without_ray(runtime, pool, fixtures):
    draft = read_paper(fixtures / "velmora.md")[0]
    draft = replace(draft, passages=draft.passages[:2])  # the second trials from the first's adapter
    seen: dict[str, list] = {}
    for name, where in (("alone", None), ("on-ray", "local")):
        config = replace(CONFIG, accept="filter", filter=replace(CONFIG.filter, ray=where))
        session = Home().open(name, config, runtime)
        session.add_paper(draft)
        session.run(ev.ignore)
        assert session.adapter_for(1) is not None  # the second passage's trials started from it
        edits = [e for p in session.passages() for e in session.self_edits(p.id)]
        seen[name] = [(e.text, e.status, e.decided_by, e.reason, e.reward, e.damage) for e in edits]
        seen[name].append(session.matrix().values)
        session.close()
    assert seen["on-ray"] == seen["alone"]
    assert any(row[4] is not None for row in seen["alone"][:-1])  # the filter trialled candidates
    assert shared_pool(CONFIG.model, CONFIG.train, "local", 2) is pool  # the same workers served it
