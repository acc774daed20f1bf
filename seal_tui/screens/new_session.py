"""The create-session form: a name, the recipe (preset), and every setting declared with a
form field (engine.config.SETTINGS: FormField), each in its slot, two to a row, with the
setting's help as its tooltip."""

from __future__ import annotations

from typing import Literal, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select

from engine.config import PRESETS, SETTINGS, ConfigError, SessionConfig, Setting, overrides
from engine.runtime.models import ModelFileError
from engine.selfedits.imported_edits import ImportedEditsError
from engine.selfedits.policies import POLICIES
from engine.selfedits.selfedit import STRATEGIES, StrategyError
from engine.store import StoreError
from engine.store.names import check_session_name
from seal_tui.host import seal_app

NAME_SLOT, PRESET_SLOT = 0, 11
"""The two fields that are no setting: the session's name and its recipe."""
KINDS: dict[type, Literal["integer", "number", "text"]] = {int: "integer", float: "number", str: "text"}


def form_settings() -> list[Setting]:
    """The settings the form shows, in slot order."""
    return sorted((s for s in SETTINGS.values() if s.form is not None), key=lambda s: s.form.slot if s.form else 0)


def text_field(
    field_id: str,
    value: str = "",
    *,
    placeholder: str = "",
    kind: Literal["integer", "number", "text"] = "text",
    tooltip: str | None = None,
) -> Input:
    return Input(value, placeholder=placeholder, type=kind, id=field_id, compact=True, tooltip=tooltip)


def choice(field_id: str, names: list[str], value: str, tooltip: str | None = None) -> Select:
    options = [(k, k) for k in names]
    return Select(options, value=value, allow_blank=False, id=field_id, compact=True, tooltip=tooltip)


def setting_field(s: Setting) -> Widget:
    """The form's field for a setting: a Select for choices and on/off, else a typed Input that
    starts with the default, or empty with the placeholder where one is declared."""
    assert s.form is not None
    start = s.default if s.form.start is None else s.form.start
    if s.kind is bool:
        return choice(s.form.id, ["off", "on"], "on" if start else "off", s.flag_help())
    if s.choices is not None:
        return choice(s.form.id, list(s.choices), start, s.flag_help())
    placeholder = s.form.placeholder.format(default=s.default_text())
    value = "" if placeholder else s.default_text()
    return text_field(s.form.id, value, placeholder=placeholder, kind=KINDS[s.kind], tooltip=s.flag_help())


def row(*fields: tuple[str, Widget]) -> ComposeResult:
    """One line of the form: each field after its label (the second and later inline)."""
    with Horizontal(classes="field"):
        for i, (label, widget) in enumerate(fields):
            yield Label(label, classes="field-label" + (" inline" if i else ""))
            yield widget


class NewSessionScreen(ModalScreen[tuple[str, SessionConfig] | None]):
    """Returns (name, config) once the settings pass the engine's own checks."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "create", "Create")]

    def compose(self) -> ComposeResult:
        with Vertical(id="new-session", classes="dialog"):
            yield Label("[b]New session[/]", classes="dialog-title")
            fields: dict[int, tuple[str, Widget]] = {
                NAME_SLOT: ("name", text_field("name", placeholder="e.g. velmora"))
            }
            fields[PRESET_SLOT] = ("recipe", choice("preset", list(PRESETS), "default", PRESETS.describe()))
            fields |= {s.form.slot: (s.form.label, setting_field(s)) for s in form_settings() if s.form}
            slots = sorted(fields)
            for pair in zip(slots[::2], slots[1::2] + [None]):
                yield from row(*(fields[slot] for slot in pair if slot is not None))
            yield Label("", id="strategy-help", classes="dim")
            yield Label("", id="form-error")
            with Horizontal(classes="buttons"):
                yield Button("Create", variant="primary", id="create")
                yield Button("Cancel", id="cancel")

    def _choice(self, selector: str) -> str:
        """What a Select of the form holds: each has allow_blank=False, so always an option's value."""
        return cast(str, self.query_one(selector, Select).value)

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self.on_select_changed()

    def on_select_changed(self, event=None) -> None:
        strategy = STRATEGIES.get(self._choice("#strategy"))
        policy = POLICIES.get(self._choice("#accept"))
        accept = policy.help if policy else ""
        about = [f"strategy: {strategy.description}" if strategy else "", f"accept: {accept}" if accept else ""]
        self.query_one("#strategy-help", Label).update("\n".join(x for x in about if x))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_create()
        else:
            self.dismiss(None)

    def on_input_submitted(self) -> None:
        self.action_create()

    def action_create(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        error = self.query_one("#form-error", Label)
        home = seal_app(self).home
        try:
            check_session_name(name)
        except StoreError as exc:
            error.update(f"[red]{escape(str(exc))}[/]")
            return
        if home.exists(name):
            error.update(f"[red]A session called {name!r} exists already.[/]")
            return
        given = {}
        for s in form_settings():
            assert s.form is not None
            if s.kind is bool or s.choices is not None:
                value = self._choice(f"#{s.form.id}")
                given[s.key] = value == "on" if s.kind is bool else value
            elif text := self.query_one(f"#{s.form.id}", Input).value.strip():
                try:
                    given[s.key] = s.parse(text)
                except ValueError as exc:
                    error.update(f"[red]{escape(str(exc))}[/]")
                    return
        try:
            config = home.config_for(name, overrides(given, self._choice("#preset")))
            home.check_inputs(config)  # a file that is no model is named now, before the session is created
        except (ConfigError, ModelFileError, StoreError, ImportedEditsError, StrategyError) as exc:
            error.update(f"[red]{escape(str(exc))}[/]")
            return
        self.dismiss((name, config))
