"""README's settings table, made from the engine's declarations (engine.config.SETTINGS).

`python -m tools.settings_table` prints it; tests/test_settings_declared.py fails when README
disagrees, naming the rows to add or change."""

from __future__ import annotations

from engine.config import SETTINGS, Setting

HEADER = ("| flag | command | form field | default | what it sets |", "| --- | --- | --- | --- | --- |")


def row(s: Setting) -> str:
    form = s.form.label if s.form else ""
    names = f": {', '.join(s.choices)}{', or a file' if s.open else ''}" if s.choices is not None else ""
    return f"| `{s.flag}` | {s.command} | {form} | {s.default_text()} | {s.help}{names} |"


def table(settings: list[Setting] | None = None) -> list[str]:
    return [*HEADER, *(row(s) for s in settings or SETTINGS.values())]


def readme_table(readme: str) -> list[str]:
    """The settings table as README has it: the lines from its header row to the first non-row."""
    lines = readme.splitlines()
    if HEADER[0] not in lines:
        return []
    start = lines.index(HEADER[0])
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


if __name__ == "__main__":
    print("\n".join(table()))
