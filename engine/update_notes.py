"""What an update's record says about its epochs, in words a person reads: which epoch's
weights it kept and why (the app's progress line and history, `seal show`'s history)."""

from __future__ import annotations


def kept_note(params: dict) -> str:
    """One sentence from an update's stored params (kept_epoch, epoch_scores, drift_scores,
    epochs, drift_guard, patience); empty for an update recorded before epochs were judged."""
    kept, epochs = params.get("kept_epoch"), params.get("epochs")
    drift, scores = params.get("drift_scores") or [], params.get("epoch_scores") or []
    if kept is None:
        return f"trained all {epochs} epochs (no per-epoch check)" if epochs else ""
    ran = max(len(drift), len(scores)) - 1
    if scores:  # the per-epoch check of earlier sessions decided
        if kept == 0:
            return f"kept the starting weights: none of {ran} epochs improved the reward probes and guard questions"
        return f"kept epoch {kept} of {ran}: the best score on the reward probes and guard questions"
    tolerance = params.get("drift_guard", 0.0)
    moved = [d - drift[0] for d in drift]
    if kept == ran:
        allows = f"the drift guard allows {tolerance:g}"
        return f"kept epoch {kept} of {ran}: the guard questions moved {moved[kept]:+.2f} nats ({allows})"
    over = next(e for e in range(kept + 1, len(moved)) if moved[e] > tolerance)
    start = "the starting weights" if kept == 0 else f"epoch {kept} of {ran}"
    return (
        f"kept {start}: epoch {over} moved the guard questions {moved[over]:+.2f} nats, "
        f"over the drift guard's {tolerance:g}"
    )
