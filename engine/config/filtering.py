"""The reward filter (ReST-EM's filter, done locally) and the self-improving editor."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.config.checks import check
from engine.config.declare import FormField, setting
from engine.vocabulary import Choice, Vocabulary

REWARD_BASELINES: Vocabulary[Choice] = Vocabulary(
    "reward_vs",
    (
        Choice("version", "the current model, trained on the candidate alone (SEAL's reward)"),
        Choice(
            "passage",
            "a trial on the passage alone, the candidate's trial on passage + candidate, "
            "so a kept edit must add to what the passage itself teaches",
        ),
    ),
)

LOCAL_RAY = "local"
"""The Ray address that starts a Ray instance on this machine instead of joining a cluster."""


def check_ray_address(address: str | None) -> None:
    """ConfigError unless None, "local", "auto", host:port or ray://host:port."""
    check(
        address is None
        or address in (LOCAL_RAY, "auto")
        or (isinstance(address, str) and bool(re.fullmatch(r"(ray://)?[\w.\-]+:\d{1,5}", address))),
        f"a Ray address is local, auto, host:port or ray://host:port, got {address!r}",
    )


@dataclass(frozen=True)
class FilterConfig:
    """The reward filter: a cheap trial update per candidate, kept when it helps its passage
    without hurting earlier ones too much."""

    trial_epochs: int = setting(
        3, "reward filter: epochs of each trial update (the real update uses --epochs)", flag="--trial-epochs"
    )
    min_gain: float = 0.05
    """Least drop in this passage's mean probe NLL (nats) for a candidate to be kept."""
    budget: float = setting(
        0.5,
        "reward filter: forgetting budget, the most rise in earlier passages' mean probe NLL allowed, in nats",
        flag="--budget",
    )
    top_k: int = setting(
        3, "reward filter: keep at most this many candidates per passage, best gain first", flag="--top-k"
    )
    anchor_probes: int = 8
    """Probes of earlier passages checked for damage (spread over those passages)."""
    reward_vs: str = setting(
        "version",
        "reward filter: what a candidate's trial is measured against",
        flag="--reward-vs",
        choices=REWARD_BASELINES,
    )
    ray: str | None = setting(
        None,
        "reward filter: run the candidates' trials on Ray workers that each hold the model; alone: a local Ray, "
        "else a cluster's host:port, ray://host:port or auto (needs the ray extra); '' stops using Ray",
        flag="--filter-ray",
        metavar="ADDRESS",
        bare=LOCAL_RAY,
        none="one after another in this process",
    )
    ray_workers: int = setting(
        2, "reward filter: Ray workers with --filter-ray", flag="--filter-ray-workers", metavar="N"
    )

    def __post_init__(self) -> None:
        check_ray_address(self.ray)
        check(1 <= self.ray_workers <= 256, f"ray_workers must be 1..256, got {self.ray_workers}")
        check(1 <= self.trial_epochs <= 20, f"trial_epochs must be 1..20, got {self.trial_epochs}")
        check(self.budget >= 0, f"budget must be 0 or more, got {self.budget}")
        check(1 <= self.top_k <= 64, f"top_k must be 1..64, got {self.top_k}")
        check(0 <= self.anchor_probes <= 200, f"anchor_probes must be 0..200, got {self.anchor_probes}")
        check(self.reward_vs in REWARD_BASELINES, REWARD_BASELINES.refusal(self.reward_vs))


@dataclass(frozen=True)
class EditorConfig:
    """The self-improving editor (ReST-EM's outer loop): a LoRA adapter trained on kept
    (passage prompt -> self-edit) pairs, applied beside the knowledge adapter whenever the
    model writes self-edits. SEAL trains 2 epochs at lr 3e-4 on the best edit per passage."""

    every: int = setting(
        0,
        "train the self-edit editor after every N learned passages (0: on demand only)",
        flag="--editor-every",
        metavar="N",
        form=FormField("editor every", 7),
    )
    epochs: int = setting(2, "epochs of an editor round", flag="--epochs", command="editor")
    lr: float = 3e-4
    per_passage: int = setting(
        1,
        "kept self-edits per passage that train the editor, best reward first",
        flag="--per-passage",
        command="editor",
    )
    min_pairs: int = setting(2, "least kept self-edits for a round", flag="--min-pairs", command="editor")
    scale: float = setting(
        1.0,
        "how strongly the editor applies when writing self-edits (0 switches it off)",
        flag="--scale",
        command="editor",
    )

    def __post_init__(self) -> None:
        check(0 <= self.every <= 1000, f"every must be 0..1000, got {self.every}")
        check(1 <= self.epochs <= 20, f"epochs must be 1..20, got {self.epochs}")
        check(0 < self.lr < 1, f"lr must be in (0, 1), got {self.lr}")
        check(1 <= self.per_passage <= 64, f"per_passage must be 1..64, got {self.per_passage}")
        check(1 <= self.min_pairs <= 10000, f"min_pairs must be 1..10000, got {self.min_pairs}")
        check(0.0 <= self.scale <= 4.0, f"scale must be 0..4, got {self.scale}")
