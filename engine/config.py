"""Settings, one frozen dataclass per concern, validated on construction."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from engine.policies import POLICIES
from engine.probes import KINDS as PROBE_KINDS
from engine.vocabulary import Choice, Vocabulary


class ConfigError(ValueError):
    """A setting has a value the engine cannot use; the message names it."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


@dataclass(frozen=True)
class ModelConfig:
    """Which weights to use. Both empty means the embedded SmolLM2 GGUF."""

    gguf_path: str | None = None
    """A local GGUF file for generation (and, without hf_dir, for training too)."""
    hf_dir: str | None = None
    """A local Hugging Face model folder (safetensors) for training and scoring."""
    n_ctx: int = 2048
    """llama.cpp context length in tokens."""
    threads: int = 0
    """CPU threads for llama.cpp and torch; 0 means all cores."""
    writer_url: str | None = None
    """An OpenAI-compatible server (http://host:port, with or without /v1) that writes the
    self-edits instead of the local model, which still learns and scores
    (engine.runtime.served). Its API key is read from SEAL_WRITER_API_KEY, never stored."""
    writer_model: str | None = None
    """The model name sent to writer_url; None: the first model the server lists."""
    writer_timeout: float = 300.0
    """Seconds one reply of writer_url may take, from the connection on; a server still
    sending then is cut off (a self-edit it was writing is not stored)."""

    def __post_init__(self) -> None:
        _check(self.n_ctx >= 256, f"n_ctx must be at least 256, got {self.n_ctx}")
        _check(self.threads >= 0, f"threads must be 0 or more, got {self.threads}")
        for name in ("gguf_path", "hf_dir"):
            value = getattr(self, name)
            if value is not None:
                _check(Path(value).expanduser().exists(), f"{name}: no such file or folder: {value}")
        if self.writer_url is not None:
            _check_writer_url(self.writer_url)
        _check(self.writer_model is None or bool(self.writer_url), "writer_model needs writer_url (the server)")
        _check(self.writer_model is None or bool(self.writer_model.strip()), "writer_model must not be empty")
        _check(
            isinstance(self.writer_timeout, int | float) and 1 <= self.writer_timeout <= 86400,
            f"writer_timeout must be 1..86400 seconds, got {self.writer_timeout!r}",
        )


def _check_writer_url(url: str) -> None:
    """An http(s) URL with a host, and no credentials in it (they would be stored with the session)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"writer_url is not a URL ({exc})") from None
    _check(
        parts.username is None and parts.password is None,
        "writer_url must not hold a user name or password; put the API key in SEAL_WRITER_API_KEY instead",
    )
    _check(parts.scheme in ("http", "https"), f"writer_url must start with http:// or https://, got {url!r}")
    _check(bool(parts.hostname), f"writer_url names no host: {url!r}")
    _check(not parts.query and not parts.fragment, f"writer_url must be the server's address alone, got {url!r}")


WRITERS: Vocabulary[Choice] = Vocabulary(
    "writer",
    (
        Choice("current", "the session's current version, so the model that has just learned writes the next ones"),
        Choice(
            "base", "the base model, which keeps its instruction following however many updates the session has had"
        ),
    ),
)


@dataclass(frozen=True)
class GenerationConfig:
    """How self-edit candidates are sampled (SEAL: 5 samples, temperature 1.0, top_p 0.95)."""

    candidates: int = 5
    """Self-edit candidates per passage."""
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 256
    """Upper bound on the length of one candidate."""
    seed: int | None = None
    """Sampling seed; None draws a fresh one."""
    writer: str = "current"
    """Which model writes the self-edits (WRITERS: current or base). The editor adapter
    applies to either."""
    edits_from: str | None = None
    """A SEAL-format JSON file (passages with a `completions` list each): a passage found in
    it takes its self-edits from the file instead of from the model (engine.imported_edits)."""

    def __post_init__(self) -> None:
        _check(self.writer in WRITERS, WRITERS.refusal(self.writer))
        _check(0 <= self.candidates <= 64, f"candidates must be 0..64, got {self.candidates}")
        _check(0.0 <= self.temperature <= 5.0, f"temperature must be 0..5, got {self.temperature}")
        _check(0.0 < self.top_p <= 1.0, f"top_p must be in (0, 1], got {self.top_p}")
        _check(8 <= self.max_tokens <= 4096, f"max_tokens must be 8..4096, got {self.max_tokens}")


ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
"""Every linear layer of a llama-style block: where the recipe's LoRA goes (SEAL's is q/v only)."""


@dataclass(frozen=True)
class TrainConfig:
    """The LoRA inner-loop update: the recipe measured to teach a passage at 135M without
    moving the rest of the model (BENCHMARKS.md): rank 16 on every linear layer, lr 3e-4, two
    epochs in which the passage itself trains 16 times and each self-edit line once, the
    anchor, and the drift guard. SEAL's own settings are the `seal` preset (PRESETS). Replay
    is a session setting (SessionConfig.replay): the trainer trains on the examples it is given."""

    # The LoRA shape: fixed once a session has updates (engine.home.LORA_SHAPE).
    rank: int = 16
    alpha: int = 32
    target_modules: tuple[str, ...] = ALL_LINEAR
    # The optimiser and the loop.
    dropout: float = 0.0
    lr: float = 3e-4
    epochs: int = 2
    batch_size: int = 1
    passage_repeats: int = 16
    """The passage itself trains this many times per epoch, every other example once: a
    passage with few self-edit lines (or none that grounding keeps) would otherwise train a
    step or two per epoch and learn almost nothing (BENCHMARKS.md)."""
    max_length: int = 512
    """Examples longer than this many tokens are truncated (padding is always dynamic)."""
    bf16: bool = True
    """Autocast matmuls to bfloat16 where the hardware supports it (weights stay fp32)."""
    seed: int = 0
    # What guards an update against learning the wrong thing.
    anchor: float = 3.0
    """Weight of the anchor: a KL term holding the model's answers to the drift set's guard
    questions to the base model's (0: off)."""
    grounding: float = 0.6
    """Self-edit lines train only when at least this share of their content words occur in
    the passage and every number they state does (engine.selfedit.grounded); 0: all lines."""
    patience: int = 0
    """The per-epoch check of earlier sessions: score the reward probes and guard questions
    after each epoch, keep the best epoch's weights, stop after this many epochs without a
    better score (0: off). Off by default: two reward probes swing about 0.1 nat between
    epochs, so it mostly kept noise, often the starting weights (BENCHMARKS.md)."""
    drift_guard: float = 0.3
    """Drift guard: after each epoch the drift set's guard questions are scored, and an epoch
    that raised their mean answer NLL by more than this many nats over the start is refused;
    the latest epoch within it is kept (0: off). Reward probes never decide."""

    def __post_init__(self) -> None:
        _check(1 <= self.rank <= 512, f"rank must be 1..512, got {self.rank}")
        _check(self.alpha > 0, f"alpha must be positive, got {self.alpha}")
        _check(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout}")
        _check(len(self.target_modules) > 0, "target_modules must name at least one module")
        _check(0 < self.lr < 1, f"lr must be in (0, 1), got {self.lr}")
        _check(1 <= self.epochs <= 100, f"epochs must be 1..100, got {self.epochs}")
        _check(1 <= self.batch_size <= 64, f"batch_size must be 1..64, got {self.batch_size}")
        _check(1 <= self.passage_repeats <= 1000, f"passage_repeats must be 1..1000, got {self.passage_repeats}")
        _check(16 <= self.max_length <= 8192, f"max_length must be 16..8192, got {self.max_length}")
        _check(0.0 <= self.anchor <= 100.0, f"anchor must be 0..100, got {self.anchor}")
        _check(0 <= self.patience <= 100, f"patience must be 0..100, got {self.patience}")
        _check(0.0 <= self.drift_guard <= 100.0, f"drift_guard must be 0..100, got {self.drift_guard}")
        _check(0.0 <= self.grounding <= 1.0, f"grounding must be 0..1, got {self.grounding}")


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
    import re

    _check(
        address is None
        or address in (LOCAL_RAY, "auto")
        or (isinstance(address, str) and bool(re.fullmatch(r"(ray://)?[\w.\-]+:\d{1,5}", address))),
        f"a Ray address is local, auto, host:port or ray://host:port, got {address!r}",
    )


@dataclass(frozen=True)
class FilterConfig:
    """The reward filter (ReST-EM's filter, done locally): a cheap trial update per
    candidate, kept when it helps its passage without hurting earlier ones too much."""

    trial_epochs: int = 3
    """Epochs of each trial update (the real update uses TrainConfig.epochs)."""
    min_gain: float = 0.05
    """Least drop in this passage's mean probe NLL (nats) for a candidate to be kept."""
    budget: float = 0.5
    """Forgetting budget: most rise in earlier passages' mean probe NLL (nats) allowed."""
    top_k: int = 3
    """Keep at most this many candidates per passage, best gain first."""
    anchor_probes: int = 8
    """Probes of earlier passages checked for damage (spread over those passages)."""
    reward_vs: str = "version"
    """What a candidate's trial is measured against (REWARD_BASELINES: version or passage)."""
    ray: str | None = None
    """Run the candidates' trials on Ray workers that each hold the model: "local" (a Ray
    started on this machine), a cluster's address (host:port, ray://host:port, auto), or
    None: one after another in this process (engine.runtime.ray_pool)."""
    ray_workers: int = 2
    """Ray workers for the trials, when `ray` is set."""

    def __post_init__(self) -> None:
        check_ray_address(self.ray)
        _check(1 <= self.ray_workers <= 256, f"ray_workers must be 1..256, got {self.ray_workers}")
        _check(1 <= self.trial_epochs <= 20, f"trial_epochs must be 1..20, got {self.trial_epochs}")
        _check(self.budget >= 0, f"budget must be 0 or more, got {self.budget}")
        _check(1 <= self.top_k <= 64, f"top_k must be 1..64, got {self.top_k}")
        _check(0 <= self.anchor_probes <= 200, f"anchor_probes must be 0..200, got {self.anchor_probes}")
        _check(self.reward_vs in REWARD_BASELINES, REWARD_BASELINES.refusal(self.reward_vs))


@dataclass(frozen=True)
class EditorConfig:
    """The self-improving editor (ReST-EM's outer loop): a LoRA adapter trained on kept
    (passage prompt -> self-edit) pairs, applied beside the knowledge adapter whenever the
    model writes self-edits. SEAL trains 2 epochs at lr 3e-4 on the best edit per passage."""

    every: int = 0
    """Run a round automatically after every this many learned passages; 0: on demand only."""
    epochs: int = 2
    lr: float = 3e-4
    per_passage: int = 1
    """Kept self-edits per passage that train the editor, best reward first."""
    min_pairs: int = 2
    """A round needs at least this many kept pairs."""
    scale: float = 1.0
    """How strongly the editor adapter applies when writing self-edits; 0 switches it off."""

    def __post_init__(self) -> None:
        _check(0 <= self.every <= 1000, f"every must be 0..1000, got {self.every}")
        _check(1 <= self.epochs <= 20, f"epochs must be 1..20, got {self.epochs}")
        _check(0 < self.lr < 1, f"lr must be in (0, 1), got {self.lr}")
        _check(1 <= self.per_passage <= 64, f"per_passage must be 1..64, got {self.per_passage}")
        _check(1 <= self.min_pairs <= 10000, f"min_pairs must be 1..10000, got {self.min_pairs}")
        _check(0.0 <= self.scale <= 4.0, f"scale must be 0..4, got {self.scale}")


PRESETS: dict[str, dict] = {
    "default": {"train": {}},
    "seal": {
        "train": {
            "rank": 32,
            "alpha": 64,
            "target_modules": ("q_proj", "v_proj"),
            "lr": 1e-3,
            "epochs": 10,
            "anchor": 0.0,
            "patience": 0,
            "drift_guard": 0.0,
            "grounding": 0.0,
            "passage_repeats": 1,
        }
    },
}
"""Named settings a session starts from, as overrides of TrainConfig's defaults (flags given
beside a preset win). default: this project's recipe; seal: SEAL's inner loop as published
(rank 32 on q/v, lr 1e-3, 10 epochs, no anchor, no guard, every line and the passage once an
epoch), to reproduce the paper's behaviour."""

TRAIN_BEFORE_GUARDS = {"anchor": 0.0, "patience": 0, "grounding": 0.0, "passage_repeats": 1, "drift_guard": 0.0}
"""What a session stored before each of these settings existed trained with: a stored train
config holds every setting of its day, so a missing one dates from before it."""


def preset(name: str) -> dict:
    """The overrides of a named preset; ConfigError names the known ones."""
    _check(name in PRESETS, f"preset must be one of {', '.join(PRESETS)}, got {name!r}")
    return {key: dict(value) for key, value in PRESETS[name].items()}


ADAPTER_MODES: Vocabulary[Choice] = Vocabulary(
    "adapters",
    (
        Choice("shared", "one adapter chain that every passage continues"),
        Choice(
            "per-paper",
            "one chain per paper from the base model, and each passage is scored by its own "
            "paper's adapter, so learning one paper cannot move another's scores",
        ),
    ),
)


@dataclass(frozen=True)
class SessionConfig:
    """Everything a session needs; stored with the session so a reopen continues alike."""

    strategy: str = "implications"
    """Self-edit strategy name (see engine.selfedit.STRATEGIES) or a template file path."""
    accept: str = "heuristic"
    """How candidates are accepted when no person decides: a policy of engine.policies
    (all, none, heuristic, filter)."""
    probes: str = "given"
    """Which probe questions each passage gets (engine.probes.KINDS: given, cloze, qa)."""
    replay: float = 0.0
    """Replay: earlier passages' examples mixed into each update, as a share of the new
    examples (0.5 adds one old example per two new ones). 0 keeps plain SEAL behaviour."""
    passage_tokens: int = 300
    """Token budget of one passage when papers are split."""
    max_passages: int = 500
    """Most passages one paper may split into; a longer paper is refused (engine.ingest)."""
    greedy_answers: bool = False
    """Also score a greedy answer (token F1, contains) for every probe."""
    adapters: str = "shared"
    """One adapter chain for all papers or one per paper (ADAPTER_MODES; engine.routing).
    Fixed once a session has updates."""
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    editor: EditorConfig = field(default_factory=EditorConfig)

    def __post_init__(self) -> None:
        _check(self.accept in POLICIES, POLICIES.refusal(self.accept))
        _check(self.adapters in ADAPTER_MODES, ADAPTER_MODES.refusal(self.adapters))
        _check(self.probes in PROBE_KINDS, PROBE_KINDS.refusal(self.probes, "probes"))
        _check(
            isinstance(self.replay, int | float) and 0.0 <= self.replay <= 10.0,
            f"replay must be 0..10, got {self.replay!r}",
        )
        _check(32 <= self.passage_tokens <= 4096, f"passage_tokens must be 32..4096, got {self.passage_tokens}")
        _check(
            type(self.max_passages) is int and self.max_passages >= 1,
            f"max_passages must be a whole number of 1 or more, got {self.max_passages!r}",
        )

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (
                {g.name: _plain(getattr(value, g.name)) for g in fields(value)}
                if hasattr(value, "__dataclass_fields__")
                else value
            )
        return out

    @classmethod
    def from_dict(cls, data: dict) -> SessionConfig:
        nested = {
            "model": ModelConfig,
            "generation": GenerationConfig,
            "train": TrainConfig,
            "filter": FilterConfig,
            "editor": EditorConfig,
        }
        data = _replay_from_train(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        _check(not unknown, f"unknown setting(s): {', '.join(sorted(unknown))}")
        kwargs = {}
        for key, value in data.items():
            if key in nested:
                _check(isinstance(value, dict), f"{key} must be a mapping")
                sub_known = {f.name for f in fields(nested[key])}
                bad = set(value) - sub_known
                _check(not bad, f"unknown {key} setting(s): {', '.join(sorted(bad))}")
                if key == "train" and "target_modules" in value:
                    value = {**value, "target_modules": tuple(value["target_modules"])}
                if key == "train" and "bf16" in value:  # stored whole: an older session keeps its recipe
                    value = {**TRAIN_BEFORE_GUARDS, **value}
                try:
                    kwargs[key] = nested[key](**value)
                except TypeError as exc:
                    raise ConfigError(f"{key}: {exc}") from None
            else:
                kwargs[key] = value
        return cls(**kwargs)


def _replay_from_train(data: dict) -> dict:
    """A stored config from before replay was a session setting (train.replay) reads with the
    same meaning; given both ways, they must agree."""
    train = data.get("train")
    if not isinstance(train, dict) or "replay" not in train:
        return data
    legacy = train["replay"]
    _check(
        "replay" not in data or data["replay"] == legacy,
        f"replay is given twice ({data.get('replay')!r} and train.replay {legacy!r}); it is a session setting",
    )
    return {**data, "replay": legacy, "train": {k: v for k, v in train.items() if k != "replay"}}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
