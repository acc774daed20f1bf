"""Everything a session needs, stored with it so that a reopen continues alike."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from engine.config.checks import ConfigError, check
from engine.config.declare import FormField, Setting, declared, setting
from engine.config.filtering import EditorConfig, FilterConfig
from engine.config.generation import GenerationConfig
from engine.config.model import ModelConfig
from engine.config.train import TRAIN_BEFORE_GUARDS, TrainConfig
from engine.papers.probes import KINDS as PROBE_KINDS
from engine.selfedits.policies import POLICIES
from engine.selfedits.selfedit import STRATEGIES
from engine.vocabulary import Choice, Vocabulary

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

SECTIONS = {
    "model": ModelConfig,
    "generation": GenerationConfig,
    "train": TrainConfig,
    "filter": FilterConfig,
    "editor": EditorConfig,
}


@dataclass(frozen=True)
class SessionConfig:
    """Everything a session needs; stored with the session so a reopen continues alike."""

    strategy: str = setting(
        "implications",
        "self-edit strategy",
        flag="--strategy",
        choices=STRATEGIES,
        open=True,
        form=FormField("strategy", 2),
    )
    accept: str = setting(
        "heuristic",
        "how candidates are accepted when no person decides",
        flag="--accept",
        choices=POLICIES,
        form=FormField("accept", 10),
    )
    probes: str = setting(
        "given", "probe questions per passage", flag="--probes", choices=PROBE_KINDS, form=FormField("probes", 8)
    )
    replay: float = setting(
        0.0,
        "earlier passages' examples mixed into each update, as a share of the new ones (0.5 adds one old "
        "example per two new ones; 0: plain SEAL)",
        flag="--replay",
        form=FormField("replay", 5),
    )
    passage_tokens: int = setting(300, "token budget of one passage when papers are split", flag="--passage-tokens")
    max_passages: int = setting(
        500, "most passages one paper may split into; a longer paper is refused", flag="--max-passages", metavar="N"
    )
    greedy_answers: bool = setting(
        False,
        "also score a greedy answer for every probe (shown beside the NLL, with F1 and contains as metrics; "
        "scoring takes longer)",
        flag="--greedy",
        form=FormField("answers", 3, start=True),
    )
    adapters: str = setting(
        "shared",
        "one adapter chain for all papers or one per paper, fixed once a session has updates",
        flag="--adapters",
        choices=ADAPTER_MODES,
        form=FormField("adapters", 9),
    )
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    editor: EditorConfig = field(default_factory=EditorConfig)

    def __post_init__(self) -> None:
        check(self.accept in POLICIES, POLICIES.refusal(self.accept))
        check(self.adapters in ADAPTER_MODES, ADAPTER_MODES.refusal(self.adapters))
        check(self.probes in PROBE_KINDS, PROBE_KINDS.refusal(self.probes, "probes"))
        check(
            isinstance(self.replay, int | float) and 0.0 <= self.replay <= 10.0,
            f"replay must be 0..10, got {self.replay!r}",
        )
        check(32 <= self.passage_tokens <= 4096, f"passage_tokens must be 32..4096, got {self.passage_tokens}")
        check(
            type(self.max_passages) is int and self.max_passages >= 1,
            f"max_passages must be a whole number of 1 or more, got {self.max_passages!r}",
        )

    def with_overrides(self, overrides: dict) -> SessionConfig:
        """This config with nested overrides ({"train": {"lr": 1e-3}, "replay": 0.5}) applied
        and checked. What follows from a setting follows here: a rank given alone brings alpha
        2 x rank, and a new writer_url forgets the old server's writer_model unless one is given."""
        merged = self.to_dict()
        for key, value in overrides.items():
            merged[key] = {**merged[key], **value} if isinstance(value, dict) else value
        train, model = overrides.get("train", {}), overrides.get("model", {})
        if "rank" in train and "alpha" not in train:
            merged["train"]["alpha"] = 2 * train["rank"]
        if "writer_url" in model and "writer_model" not in model:
            merged["model"]["writer_model"] = None
        return SessionConfig.from_dict(merged)

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
        data = _replay_from_train(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        check(not unknown, f"unknown setting(s): {', '.join(sorted(unknown))}")
        kwargs = {}
        for key, value in data.items():
            if key in SECTIONS:
                check(isinstance(value, dict), f"{key} must be a mapping")
                sub_known = {f.name for f in fields(SECTIONS[key])}
                bad = set(value) - sub_known
                check(not bad, f"unknown {key} setting(s): {', '.join(sorted(bad))}")
                if key == "train" and "target_modules" in value:
                    value = {**value, "target_modules": tuple(value["target_modules"])}
                if key == "train" and "bf16" in value:  # stored whole: an older session keeps its recipe
                    value = {**TRAIN_BEFORE_GUARDS, **value}
                try:
                    kwargs[key] = SECTIONS[key](**value)
                except TypeError as exc:
                    raise ConfigError(f"{key}: {exc}") from None
            else:
                kwargs[key] = value
        return cls(**kwargs)


SETTINGS: Vocabulary[Setting] = Vocabulary("setting", declared(SessionConfig))
"""Every setting a person can give, in declaration order, keyed "section.field"."""


def as_flags(config: SessionConfig, command: str = "run") -> list[str]:
    """The flags of `command` that give this config from the defaults (the settings line of
    `seal show`): ["--accept", "filter", "--greedy", "--lr", "0.001"]."""
    out: list[str] = []
    for s in SETTINGS.values():
        section = getattr(config, s.section) if s.section else config
        value = getattr(section, s.field)
        if s.command != command or value == s.default:
            continue
        if s.kind is bool:
            out += [s.flag] if value else []
        else:
            out += [s.flag, "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)]
    return out


def _replay_from_train(data: dict) -> dict:
    """A stored config from before replay was a session setting (train.replay) reads with the
    same meaning; given both ways, they must agree."""
    train = data.get("train")
    if not isinstance(train, dict) or "replay" not in train:
        return data
    legacy = train["replay"]
    check(
        "replay" not in data or data["replay"] == legacy,
        f"replay is given twice ({data.get('replay')!r} and train.replay {legacy!r}); it is a session setting",
    )
    return {**data, "replay": legacy, "train": {k: v for k, v in train.items() if k != "replay"}}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
