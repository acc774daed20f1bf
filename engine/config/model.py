"""Which weights a session uses, and the served model that may write its self-edits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config.checks import ConfigError, check
from engine.config.declare import FormField, setting


@dataclass(frozen=True)
class ModelConfig:
    """Which weights to use. Both empty means the embedded SmolLM2 GGUF."""

    gguf_path: str | None = setting(
        None,
        "a local GGUF file for generation (and, without --hf-dir, for training too)",
        flag="--model",
        metavar="FILE.gguf",
        none="the embedded SmolLM2-135M",
        form=FormField("model", 12, placeholder="GGUF (empty: SmolLM2)"),
    )
    hf_dir: str | None = setting(
        None,
        "a local Hugging Face model folder (safetensors) for training and scoring",
        flag="--hf-dir",
        metavar="DIR",
        none="the GGUF's own weights",
    )
    n_ctx: int = 2048
    """llama.cpp context length in tokens."""
    threads: int = 0
    """CPU threads for llama.cpp and torch; 0 means all cores."""
    writer_url: str | None = setting(
        None,
        "an OpenAI-compatible server (e.g. http://127.0.0.1:8000, with or without /v1) writes the self-edits; "
        "the local model still learns and is scored; API key from $SEAL_WRITER_API_KEY, never stored; "
        "'' writes locally again",
        flag="--writer-url",
        metavar="URL",
        none="the local model writes",
        form=FormField("writer URL", 13, placeholder="http://host:port"),
    )
    writer_model: str | None = setting(
        None,
        "the model name sent to --writer-url",
        flag="--writer-model",
        metavar="NAME",
        none="the first it lists",
        form=FormField("writer model", 15, placeholder="first listed"),
    )
    writer_timeout: float = setting(
        300.0,
        "longest one reply of --writer-url may take, from the connection on; a server still sending then is "
        "cut off (a self-edit it was writing is not stored)",
        flag="--writer-timeout",
        metavar="SECONDS",
        form=FormField("writer timeout", 1, placeholder="{default} s"),
    )

    def __post_init__(self) -> None:
        check(self.n_ctx >= 256, f"n_ctx must be at least 256, got {self.n_ctx}")
        check(self.threads >= 0, f"threads must be 0 or more, got {self.threads}")
        for name in ("gguf_path", "hf_dir"):
            value = getattr(self, name)
            if value is not None:
                check(Path(value).expanduser().exists(), f"{name}: no such file or folder: {value}")
        if self.writer_url is not None:
            _check_writer_url(self.writer_url)
        check(self.writer_model is None or bool(self.writer_url), "writer_model needs writer_url (the server)")
        check(self.writer_model is None or bool(self.writer_model.strip()), "writer_model must not be empty")
        check(
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
    check(
        parts.username is None and parts.password is None,
        "writer_url must not hold a user name or password; put the API key in SEAL_WRITER_API_KEY instead",
    )
    check(parts.scheme in ("http", "https"), f"writer_url must start with http:// or https://, got {url!r}")
    check(bool(parts.hostname), f"writer_url names no host: {url!r}")
    check(not parts.query and not parts.fragment, f"writer_url must be the server's address alone, got {url!r}")
