"""The create-session form: name, strategy, candidates per passage, the replay share, epochs
per update, how often the editor trains itself, probe kind, shared or per-paper adapters,
accept policy (heuristic gate, reward filter, all, none), the model, a file of self-edits
written by someone else, and a served model that writes them (an OpenAI-compatible URL, the
model name it serves, and how long one of its replies may take)."""

from __future__ import annotations

from typing import Literal, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select

from engine.config import (
    ADAPTER_MODES,
    PRESETS,
    PROBE_KINDS,
    ConfigError,
    EditorConfig,
    GenerationConfig,
    ModelConfig,
    SessionConfig,
    preset,
)
from engine.imported_edits import ImportedEditsError, load_edits
from engine.policies import POLICIES
from engine.runtime.models import ModelFileError, check_model_files
from engine.selfedit import STRATEGIES
from engine.store import StoreError
from engine.store.names import check_session_name
from seal_tui.host import seal_app

NUMBERS = (
    ("candidates", "generation", "candidates", int),
    ("epochs", "train", "epochs", int),
    ("editor-every", "editor", "every", int),
    ("replay", None, "replay", float),
)
"""The form's number fields: (input id, config section or None for the session level, setting,
type). An empty field leaves the setting at its default (epochs: the recipe's)."""


TIPS = {
    "replay": "Earlier passages' examples mixed into each update, as a share of the new ones (0: plain SEAL)",
    "epochs": "LoRA epochs per update (empty: the recipe's, 2; SEAL's preset: 10)",
    "editor-every": "Train the self-edit editor after every N learned passages (0: only on i)",
    "adapters": "shared: one adapter for all papers; per-paper: one per paper, "
    "so learning one paper cannot move another's scores",
    "preset": "default: rank 16 on every layer, lr 3e-4, the passage 16 times an epoch, anchor, drift guard, "
    "grounded lines; seal: SEAL's rank 32 on q/v, lr 1e-3 and 10 epochs, to reproduce the paper",
    "gguf": "A local GGUF model file (empty: the embedded SmolLM2-135M)",
    "edits-from": "Passages found in this file (SEAL-format JSON) take its completions as self-edits, "
    "e.g. a stronger model's (empty: the model writes them)",
    "writer-url": "An OpenAI-compatible server (llama.cpp's, vLLM, Ollama, e.g. http://127.0.0.1:8000) writes "
    "the self-edits; the local model still learns and is scored. Its API key is read from $SEAL_WRITER_API_KEY",
    "writer-model": "The model name sent to the server (empty: the first model it lists)",
    "writer-timeout": "Seconds one reply of the server may take; a server still sending then is cut off "
    f"(empty: {ModelConfig.writer_timeout:g})",
    "greedy": "on: every version also writes its answer to each probe, shown in the cell details beside the NLL, "
    "with F1 and contains as heatmap metrics (scoring takes longer)",
}
"""Each field's tooltip, by its id."""
EDITS_FROM_PLACEHOLDER = "SEAL-format JSON (optional)"
WRITER = ("writer_url", "writer_model")
"""The served writer's settings (ModelConfig), each from the field of the same name."""
TIMEOUT_FIELD = "writer-timeout"
"""ModelConfig.writer_timeout's field: a number of seconds, empty for the default."""


def text_field(
    field_id: str, value: str = "", *, placeholder: str = "", kind: Literal["integer", "number", "text"] = "text"
) -> Input:
    return Input(value, placeholder=placeholder, type=kind, id=field_id, compact=True, tooltip=TIPS.get(field_id))


def choice(field_id: str, names: list[str], value: str) -> Select:
    options = [(k, k) for k in names]
    return Select(options, value=value, allow_blank=False, id=field_id, compact=True, tooltip=TIPS.get(field_id))


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
            yield from row(  # the served writer's deadline: room here, none left beside its other fields
                ("name", text_field("name", placeholder="e.g. velmora")),
                (
                    "writer timeout",
                    text_field(TIMEOUT_FIELD, placeholder=f"{ModelConfig.writer_timeout:g} s", kind="number"),
                ),
            )
            yield from row(
                ("strategy", choice("strategy", [s.name for s in STRATEGIES.values()], SessionConfig.strategy)),
                ("answers", choice("greedy", ["off", "on"], "on")),  # what a newcomer looks for in a cell
            )
            yield from row(
                ("candidates", text_field("candidates", str(GenerationConfig.candidates), kind="integer")),
                ("replay", text_field("replay", f"{SessionConfig.replay:g}", kind="number")),
            )
            yield from row(
                ("epochs", text_field("epochs", placeholder="recipe's", kind="integer")),
                ("editor every", text_field("editor-every", str(EditorConfig.every), kind="integer")),
            )
            yield from row(
                ("probes", choice("probes", list(PROBE_KINDS), SessionConfig.probes)),
                ("adapters", choice("adapters", list(ADAPTER_MODES), SessionConfig.adapters)),
            )
            yield from row(
                ("accept", choice("accept", list(POLICIES), SessionConfig.accept)),
                ("recipe", choice("preset", list(PRESETS), "default")),
            )
            # The served writer shares these two rows, so the form still fits 30 lines.
            yield from row(
                ("model", text_field("gguf", placeholder="GGUF (empty: SmolLM2)")),
                ("writer URL", text_field("writer-url", placeholder="http://host:port")),
            )
            yield from row(
                ("edits from", text_field("edits-from", placeholder=EDITS_FROM_PLACEHOLDER)),
                ("writer model", text_field("writer-model", placeholder="first listed")),
            )
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
        overrides = {
            "strategy": self._choice("#strategy"),
            "probes": self._choice("#probes"),
            "adapters": self._choice("#adapters"),
            "accept": self._choice("#accept"),
            "greedy_answers": self._choice("#greedy") == "on",
            "generation": {},
            "train": preset(self._choice("#preset"))["train"],
            "editor": {},
        }
        for field, section, key, kind in NUMBERS:
            text = self.query_one(f"#{field}", Input).value.strip()
            if not text:
                continue
            try:
                value = kind(text)
            except ValueError:
                what = "a whole number" if kind is int else "a number"
                error.update(f"[red]{field} must be {what}, got {text!r}[/]")
                return
            (overrides if section is None else overrides[section])[key] = value
        gguf = self.query_one("#gguf", Input).value.strip()
        served: dict = {key: self.query_one(f"#{key.replace('_', '-')}", Input).value.strip() or None for key in WRITER}
        if timeout := self.query_one(f"#{TIMEOUT_FIELD}", Input).value.strip():
            try:
                served["writer_timeout"] = float(timeout)
            except ValueError:
                error.update(f"[red]timeout must be a number of seconds, got {escape(timeout)!r}[/]")
                return
        if gguf or any(served.values()):
            overrides["model"] = {"gguf_path": gguf or None, **served}
        if edits_from := self.query_one("#edits-from", Input).value.strip():
            try:
                found = load_edits(edits_from)
            except ImportedEditsError as exc:
                error.update(f"[red]{escape(str(exc))}[/]")
                return
            overrides["generation"]["edits_from"] = str(found.path.resolve())
        try:
            config = home.config_for(name, overrides)
            if gguf:  # a file that is no model is named now, before the session is created
                check_model_files(config.model)
        except (ConfigError, ModelFileError, StoreError) as exc:
            error.update(f"[red]{escape(str(exc))}[/]")
            return
        self.dismiss((name, config))
