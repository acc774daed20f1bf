"""The LoRA inner-loop update, and the named recipes (presets) a session starts from."""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.checks import check
from engine.config.declare import FormField, nest, setting
from engine.vocabulary import Vocabulary

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
"""Every linear layer of a llama-style block: where the recipe's LoRA goes (SEAL's is q/v only)."""


@dataclass(frozen=True)
class TrainConfig:
    """The LoRA inner-loop update: the recipe measured to teach a passage at 135M without
    moving the rest of the model (BENCHMARKS.md): rank 16 on every linear layer, lr 3e-4, two
    epochs in which the passage itself trains 16 times and each self-edit line once, the
    anchor, and the drift guard. SEAL's own settings are the `seal` preset (PRESETS). Replay
    is a session setting (SessionConfig.replay): the trainer trains on the examples it is given."""

    # The LoRA shape: fixed once a session has updates (engine.sessions.home.LORA_SHAPE).
    rank: int = setting(16, "LoRA rank, fixed once a session has updates (alpha follows: 2 x rank)", flag="--rank")
    alpha: int = 32
    """LoRA alpha; given a rank alone, a session takes 2 x rank (SessionConfig.with_overrides)."""
    target_modules: tuple[str, ...] = ALL_LINEAR
    # The optimiser and the loop.
    dropout: float = 0.0
    lr: float = setting(3e-4, "LoRA learning rate", flag="--lr")
    epochs: int = setting(
        2, "LoRA epochs per update", flag="--epochs", form=FormField("epochs", 6, placeholder="recipe's")
    )
    batch_size: int = 1
    passage_repeats: int = setting(
        16,
        "the passage itself trains N times an epoch, each self-edit line once: a passage with few self-edit "
        "lines would otherwise train a step or two per epoch and learn almost nothing",
        flag="--passage-repeats",
        metavar="N",
    )
    max_length: int = 512
    """Examples longer than this many tokens are truncated (padding is always dynamic)."""
    bf16: bool = True
    """Autocast matmuls to bfloat16 where the hardware supports it (weights stay fp32)."""
    seed: int = 0
    # What guards an update against learning the wrong thing.
    anchor: float = setting(
        3.0,
        "weight of the anchor, a KL term holding the model's answers to the drift set's guard questions to "
        "the base model's (0: off)",
        flag="--anchor",
    )
    grounding: float = setting(
        0.6,
        "the model's own self-edit lines train only when this share of their content words occurs in the "
        "passage and every number they state does (0: every line)",
        flag="--grounding",
    )
    patience: int = setting(
        0,
        "the older per-epoch check: score the reward probes and guard questions after each epoch, keep the "
        "best epoch, stop after N epochs without a better score (0: off; two reward probes mostly measure noise)",
        flag="--patience",
    )
    drift_guard: float = setting(
        0.3,
        "refuse an epoch that raises the drift set's guard questions by more than this many nats over the "
        "start; the latest epoch within it is kept (0: off)",
        flag="--drift-guard",
        metavar="NATS",
    )

    def __post_init__(self) -> None:
        check(1 <= self.rank <= 512, f"rank must be 1..512, got {self.rank}")
        check(self.alpha > 0, f"alpha must be positive, got {self.alpha}")
        check(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        check(len(self.target_modules) > 0, "target_modules must name at least one module")
        check(0 < self.lr < 1, f"lr must be in (0, 1), got {self.lr}")
        check(1 <= self.epochs <= 100, f"epochs must be 1..100, got {self.epochs}")
        check(1 <= self.batch_size <= 64, f"batch_size must be 1..64, got {self.batch_size}")
        check(1 <= self.passage_repeats <= 1000, f"passage_repeats must be 1..1000, got {self.passage_repeats}")
        check(16 <= self.max_length <= 8192, f"max_length must be 16..8192, got {self.max_length}")
        check(0.0 <= self.anchor <= 100.0, f"anchor must be 0..100, got {self.anchor}")
        check(0 <= self.patience <= 100, f"patience must be 0..100, got {self.patience}")
        check(0.0 <= self.drift_guard <= 100.0, f"drift_guard must be 0..100, got {self.drift_guard}")
        check(0.0 <= self.grounding <= 1.0, f"grounding must be 0..1, got {self.grounding}")


@dataclass(frozen=True)
class Preset:
    """A named recipe: overrides of TrainConfig's defaults (flags given beside it win)."""

    name: str
    help: str
    train: tuple[tuple[str, object], ...] = ()


PRESETS: Vocabulary[Preset] = Vocabulary(
    "preset",
    (
        Preset(
            "default",
            "this project's recipe: rank 16 on every layer, lr 3e-4, 2 epochs with the passage 16 times each, "
            "grounded lines, anchor, drift guard",
        ),
        Preset(
            "seal",
            "SEAL's inner loop as published: rank 32 on q/v, lr 1e-3, 10 epochs, no anchor, no guard, every "
            "line and the passage once an epoch, to reproduce the paper",
            (
                ("rank", 32),
                ("alpha", 64),
                ("target_modules", ("q_proj", "v_proj")),
                ("lr", 1e-3),
                ("epochs", 10),
                ("anchor", 0.0),
                ("patience", 0),
                ("drift_guard", 0.0),
                ("grounding", 0.0),
                ("passage_repeats", 1),
            ),
        ),
    ),
)

TRAIN_BEFORE_GUARDS = {"anchor": 0.0, "patience": 0, "grounding": 0.0, "passage_repeats": 1, "drift_guard": 0.0}
"""What a session stored before each of these settings existed trained with: a stored train
config holds every setting of its day, so a missing one dates from before it."""


def preset(name: str) -> dict:
    """The overrides of a named preset ({"train": {...}}); ConfigError names the known ones."""
    check(name in PRESETS, PRESETS.refusal(name))
    return {"train": dict(PRESETS[name].train)}


def overrides(given: dict, preset_name: str | None = None) -> dict:
    """Nested overrides from settings given by key ({"train.lr": 1e-3}), over a preset's."""
    out = preset(preset_name) if preset_name else {}
    for key, value in nest(given).items():
        out[key] = {**out.get(key, {}), **value} if isinstance(value, dict) else value
    return out
