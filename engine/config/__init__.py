"""Settings: one frozen dataclass per concern, validated on construction, each setting a
person can give declared once beside its field (engine.config.declare). SETTINGS lists them
for the command line, the new-session form, `seal show` and README's settings table."""

from engine.config.checks import ConfigError
from engine.config.declare import FormField, Setting, declared, nest
from engine.config.filtering import LOCAL_RAY, REWARD_BASELINES, EditorConfig, FilterConfig, check_ray_address
from engine.config.generation import WRITERS, GenerationConfig
from engine.config.model import ModelConfig
from engine.config.session import ADAPTER_MODES, PROBE_KINDS, SETTINGS, SessionConfig, as_flags
from engine.config.train import ALL_LINEAR, PRESETS, TRAIN_BEFORE_GUARDS, Preset, TrainConfig, overrides, preset

__all__ = [
    "ADAPTER_MODES",
    "ALL_LINEAR",
    "LOCAL_RAY",
    "PRESETS",
    "PROBE_KINDS",
    "REWARD_BASELINES",
    "SETTINGS",
    "TRAIN_BEFORE_GUARDS",
    "WRITERS",
    "as_flags",
    "ConfigError",
    "EditorConfig",
    "FilterConfig",
    "FormField",
    "GenerationConfig",
    "ModelConfig",
    "Preset",
    "SessionConfig",
    "Setting",
    "TrainConfig",
    "check_ray_address",
    "declared",
    "nest",
    "overrides",
    "preset",
]
