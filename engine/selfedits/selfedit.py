"""Self-edit strategies: how the model is asked for a self-edit, as chat messages; no model here.

The caller renders `build_messages`, samples candidates with its generator, then reads them
with engine.selfedits.edit_lines (their training examples) and engine.selfedits.gate (the heuristic gate and
grounding). A strategy is a built-in of STRATEGIES or a JSON/TOML template file.
"""

from __future__ import annotations

import json
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path


class StrategyError(ValueError):
    """A strategy or a strategy file cannot be used; the message is one line naming the problem."""


PLACEHOLDERS = ("title", "passage")


@dataclass(frozen=True)
class Strategy:
    """A way of asking the model for a self-edit."""

    name: str
    description: str
    system: str
    """System message, used verbatim (no placeholders); empty means none is sent."""
    user_template: str
    """User message; `{title}` and `{passage}` are filled in, `{{`/`}}` are literal braces."""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise StrategyError("empty strategy name")
        try:
            parsed = [
                (f, spec, conv) for _, f, spec, conv in string.Formatter().parse(self.user_template) if f is not None
            ]
        except ValueError:
            raise StrategyError("user template has an unmatched brace (write {{ or }} for a literal one)") from None
        fields = [f for f, _, _ in parsed]
        for f, spec, conv in parsed:
            if f not in PLACEHOLDERS:
                raise StrategyError(f"user template has unknown placeholder {{{f}}} (only {{title}} and {{passage}})")
            if spec or conv:  # "{passage:>999999999}" would build a gigabyte prompt
                written = f + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
                raise StrategyError(f"user template has {{{written}}}: no conversions or format specs; write {{{f}}}")
        if "passage" not in fields:
            raise StrategyError("user template lacks {passage}")


_SYSTEM = "You help a student learn a passage. Answer in plain sentences, one per line."
_HEAD = "Title: {title}\n\n{passage}\n\n"

STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "implications",
            "what follows from the passage, one short sentence per line",
            _SYSTEM,
            _HEAD + "What follows from this passage? Write five implications or consequences "
            "of it, one short sentence per line. Do not copy the passage.",
        ),
        Strategy(
            "implications-long",
            "a longer, more detailed list of what follows",
            _SYSTEM,
            _HEAD + "Write a long, detailed list of everything that follows from this passage: "
            "implications, consequences and facts it implies. Write at least ten lines, one "
            "complete sentence per line. Name things in full instead of writing 'it'. "
            "Do not copy the passage.",
        ),
        Strategy(
            "rewrites",
            "the passage retold several ways, separated by --- lines",
            "You retell passages in new words without losing any fact.",
            _HEAD + "Rewrite this passage three times, each time with different words and a "
            "different order. Keep every fact. Put a line with only --- between the rewrites.",
        ),
        Strategy(
            "qa",
            "question-answer pairs about the passage, one pair per line",
            "You write quiz questions with short answers.",
            _HEAD + "Write questions about this passage with their answers. Put each pair on "
            "one line like this:\nQ: a question? A: its answer",
        ),
        Strategy(
            "qa-spans",
            "short questions whose answers are phrases copied from the passage",
            "You write quiz questions with short answers.",
            _HEAD + "Write five short questions about this passage. Answer each with a few words "
            "copied exactly from the passage. Write each pair on two lines like this:\n"
            "Q: a question?\nA: words from the passage",
        ),
    )
}
"""The built-in strategies (SEAL's prompt variants, worded for a small instruction model), plus
`qa-spans`: Q/A pairs whose answers are checked spans of the passage, trained in the probe's
own question/answer shape with the loss on the answer."""


def load_strategies(path: str | Path) -> dict[str, Strategy]:
    """Read strategies from a JSON or TOML file (by suffix: .toml is TOML, else JSON):
    `{"name": {"description": ..., "system": ..., "user": "... {passage} ..."}}`."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = (
            "no such file"
            if isinstance(exc, FileNotFoundError)
            else "not UTF-8 text"
            if isinstance(exc, UnicodeDecodeError)
            else f"cannot read ({exc.strerror})"
        )
        raise StrategyError(f"{path}: {why}") from None
    try:
        data = tomllib.loads(raw) if path.suffix.lower() == ".toml" else json.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise StrategyError(f"{path}: invalid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise StrategyError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (RecursionError, ValueError) as exc:  # too deep, or an integer over Python's digit limit
        why = "nested too deeply" if isinstance(exc, RecursionError) else f"not usable ({str(exc).partition(';')[0]})"
        raise StrategyError(f"{path}: {'TOML' if path.suffix.lower() == '.toml' else 'JSON'} {why}") from None
    if not isinstance(data, dict) or not data:
        raise StrategyError(
            f'{path}: expected a table of strategies like {{"name": {{"user": "... {{passage}} ..."}}}}'
        )
    out = {}
    for name, spec in data.items():
        label = f"{path}: strategy {name!r}"
        if not name.strip():
            raise StrategyError(f"{path}: empty strategy name")
        if not isinstance(spec, dict):
            raise StrategyError(f"{label}: expected a table with description, system and user")
        unknown = sorted(set(spec) - {"description", "system", "user"})
        if unknown:
            raise StrategyError(f"{label}: unknown key(s) {', '.join(unknown)} (expected description, system, user)")
        if "user" not in spec:
            raise StrategyError(f"{label}: missing 'user' (the prompt template)")
        if bad := [key for key, value in spec.items() if not isinstance(value, str)]:
            raise StrategyError(f"{label}: '{bad[0]}' must be text")
        try:
            out[name] = Strategy(name, spec.get("description", ""), spec.get("system", _SYSTEM), spec["user"])
        except StrategyError as exc:
            raise StrategyError(f"{label}: {exc}") from None
    return out


def resolve_strategy(name_or_path: str, base: Path | None = None) -> Strategy:
    """A built-in name, `path:name`, or the path of a file holding a single strategy; a
    relative path is looked for under `base` first (a session's copy in its home)."""
    if name_or_path in STRATEGIES:
        return STRATEGIES[name_or_path]
    if (
        base is not None
        and not Path(name_or_path).is_absolute()
        and (Path(base) / name_or_path.rpartition(":")[0 if ":" in name_or_path else 2]).is_file()
    ):
        name_or_path = str(Path(base) / name_or_path)
    file, sep, name = name_or_path.rpartition(":")
    if sep and file and Path(file).expanduser().is_file():
        found = load_strategies(Path(file).expanduser())
        if name not in found:
            raise StrategyError(f"{file}: no strategy {name!r}; it has {', '.join(found)}")
        return found[name]
    path = Path(name_or_path).expanduser()
    if path.is_file():
        found = load_strategies(path)
        if len(found) != 1:
            raise StrategyError(
                f"{path}: holds {len(found)} strategies ({', '.join(found)}); pick one with {path}:NAME"
            )
        return next(iter(found.values()))
    target = file if sep and file else name_or_path
    if Path(target).suffix.lower() in (".json", ".toml"):
        raise StrategyError(f"{target}: no such file")
    raise StrategyError(f"unknown strategy {name_or_path!r}; available: {', '.join(STRATEGIES)} (or a JSON/TOML file)")


def build_messages(strategy: Strategy, title: str, passage: str) -> list[dict]:
    """Chat messages (system + user) for llama.cpp's create_chat_completion."""
    user = strategy.user_template.format(title=title, passage=passage)
    system = [{"role": "system", "content": strategy.system}] if strategy.system else []
    return system + [{"role": "user", "content": user}]


def prompt_shown(strategy: Strategy, title: str, passage: str) -> str:
    """What the model is shown for a passage, as one text (the gate tells echoes of its
    instructions from work on the passage)."""
    return "\n".join(m["content"] for m in build_messages(strategy, title, passage))
