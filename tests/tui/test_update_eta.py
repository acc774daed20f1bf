"""The whole update's ETA (seal_tui.update_eta), fed events as the app sees them."""

from engine import events as ev
from seal_tui.update_eta import Timings, UpdateEta


def run_update(eta: UpdateEta, before: float, after: float) -> None:
    """One update: scoring one passage (13 probes in `before` s), 4 steps of 1 s, scoring all
    three passages (39 probes in `after` s), the drift set."""
    eta.event(ev.ScoresReady(0, {1: 1.0}, before), before)
    t = before
    for step in range(1, 5):
        t += 1.0
        eta.event(ev.TrainStep(step, 4, 0, 1.0, t - before), t)
    eta.event(ev.UpdateDone(1, 1, 1, 1.0, 0.5, 4.0), t)
    eta.event(ev.AdapterSwapped(1, 0.0), t)
    eta.event(ev.Scoring(1, 39), t)
    eta.event(ev.ScoresReady(1, {1: 1.0, 2: 1.0, 3: 1.0}, after), t + after)
    eta.event(ev.DriftScored(1, 1.0), t + after + 1.0)


def test_the_scoring_after_training_is_estimated_from_the_last_one_like_it():
    probes = {1: 13, 2: 13, 3: 13}
    timings = Timings()
    run_update(UpdateEta(39, probes, timings), before=13.0, after=19.5)  # 1.0 s a probe before, 0.5 after
    eta = UpdateEta(39, probes, timings)
    eta.event(ev.ScoresReady(0, {3: 1.0}, 13.0), 13.0)  # this update's own start: 1.0 s a probe again
    assert eta.part("score") == 39 * 0.5  # fuller batches after training: the last such scoring's rate
    assert UpdateEta(39, probes, Timings(per_probe=1.0)).part("score") == 39.0  # none yet: the start's rate
