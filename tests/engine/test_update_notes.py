"""What the history says about the epochs an update kept."""

from engine.update_notes import kept_note


def test_the_drift_guard_note_names_the_kept_epoch_and_the_epoch_it_refused():
    within = {"kept_epoch": 2, "epochs": 2, "drift_guard": 0.3, "drift_scores": [3.6, 3.7, 3.65], "epoch_scores": []}
    assert kept_note(within) == "kept epoch 2 of 2: the guard questions moved +0.05 nats (the drift guard allows 0.3)"
    refused = {**within, "kept_epoch": 1, "drift_scores": [3.6, 3.7, 4.1]}
    assert (
        kept_note(refused)
        == "kept epoch 1 of 2: epoch 2 moved the guard questions +0.50 nats, over the drift guard's 0.3"
    )
    start = {**within, "kept_epoch": 0, "drift_scores": [3.6, 4.0, 3.95]}
    assert kept_note(start).startswith("kept the starting weights: epoch 1 moved the guard questions +0.40 nats")


def test_older_records_read_as_they_were_made():
    check = {"kept_epoch": 0, "epoch_scores": [9.0, 9.1, 9.2], "patience": 2}
    assert (
        kept_note(check) == "kept the starting weights: none of 2 epochs improved the reward probes and guard questions"
    )
    assert kept_note({"kept_epoch": 3, "epoch_scores": [9.0, 8.9, 8.8, 8.7]}).startswith("kept epoch 3 of 3: the best")
    assert kept_note({"epochs": 10, "lr": 1e-3}) == "trained all 10 epochs (no per-epoch check)"
    assert kept_note({}) == ""
