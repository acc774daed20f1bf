"""Pick a session, create one, or (on a first run) start the demo on the sample paper.
A session another process writes is marked; it opens read-only. Each session's line names
its probes as its own screen does (as made), and its current version against the base
model: better or worse on the passages it learned, and any passage it scores worse than base."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from engine.config import ConfigError, SessionConfig
from engine.papers.probes import kinds_label
from engine.scores.evaluate import summarize
from engine.session_lock import Holder, WriterLock
from engine.sessions.home import Home
from engine.sessions.session import NoModel
from seal_tui.host import seal_app
from seal_tui.render import change_style, change_word, vs_base, worse_than_base
from seal_tui.screens.session_access import OPEN_FAILURES

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "velmora.md"
DEMO = "velmora-demo"
WELCOME = (
    "[b]Welcome to seal.[/] No sessions yet.\n\n"
    "A session teaches the local model a paper, one passage at a time: it writes its own "
    "training notes (self-edits), you keep or veto them, a LoRA update teaches it, and a "
    "heatmap shows what it keeps and forgets.\n\n"
    "Press [b]d[/] to start the demo on a short sample paper about an invented observatory "
    "(facts the model cannot already know), or [b]n[/] to create your own session."
)


def standing(home: Home, name: str) -> tuple[str, Text]:
    """(the probes as made, the current version against base) of a session, read-only;
    ("", empty) when it cannot be read now."""
    try:
        session = home.open(name, runtime=NoModel("listed only"), read_only=True)
    except OPEN_FAILURES:
        return "", Text()
    try:
        passages = session.passages()
        probes = kinds_label(session.config.probes, (q for p in passages for q in p.probes))
        version, matrix = session.current_version, session.matrix()
        out = Text()
        if version == 0:
            return probes, out
        names = {p.id: f"P{p.position + 1}" for p in passages}
        learned = [s.passage_id for s in summarize(matrix)[0] if s.learned_at is not None]
        changes = [found[2] for pid in learned if (found := vs_base(matrix, version, pid)) is not None]
        if changes:
            change = sum(changes) / len(changes)
            out.append(f"  vs base {change:+.2f} {change_word(matrix, change)}", style=change_style(matrix, change))
        worse = [names.get(pid, "?") for pid in matrix.cols if worse_than_base(matrix, version, pid)]
        if worse:
            out.append(f"  ⚠ v{version} worse than base: {', '.join(worse)}", style="bold red")
        return probes, out
    finally:
        session.close()


def writer_of(home: Home, name: str) -> Holder | None:
    """The other process that writes a session now, if any (this one is not counted)."""
    try:
        holder = WriterLock(home.path / name, name).holder()
    except OSError:
        return None
    return holder if holder is not None and holder.pid != os.getpid() else None


class SessionsScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open", show=False),
        Binding("n", "new", "New session"),
        Binding("d", "demo", "Demo"),
    ]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Vertical(id="sessions-body"):
            yield Static(WELCOME, id="welcome")
            yield OptionList(id="session-list")
            with Horizontal(classes="buttons"):
                yield Button("Open", variant="primary", id="open")
                yield Button("New session (n)", id="new")
                yield Button("Demo (d)", id="demo")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title, self.sub_title = "seal", "sessions"
        self.query_one("#session-list").border_title = "Sessions"
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        sessions = seal_app(self).home.sessions()
        options = self.query_one("#session-list", OptionList)
        options.clear_options()
        for s in sessions:
            cfg = s.config
            probes, against_base = standing(seal_app(self).home, s.name)
            text = Text.assemble(
                (s.name, "bold"),
                (f"  v{s.current_version}", "bold"),
                against_base,
                (
                    f"  {s.passages} passage(s) · {s.updates} update(s) · {cfg.get('strategy', '')} · "
                    f"{cfg.get('generation', {}).get('candidates', '?')} candidates · "
                    f"probes {probes or cfg.get('probes', '')}",
                    "dim",
                ),
            )
            if (holder := writer_of(seal_app(self).home, s.name)) is not None:
                text.append(f"  (open in process {holder.pid}, {holder.command}: read-only here)", style="dim italic")
            options.add_option(Option(text, id=s.name))
        self.query_one("#welcome").display = not sessions
        options.display = bool(sessions)
        self.query_one("#open").display = bool(sessions)
        if sessions:
            options.highlighted = 0
            options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:  # every option is a session, its name as its id
            seal_app(self).open_session(event.option.id)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id is not None:  # every button here has an action's name as its id
            await self.run_action(event.button.id)

    def action_open(self) -> None:
        options = self.query_one("#session-list", OptionList)
        if options.highlighted is not None and (name := options.get_option_at_index(options.highlighted).id):
            seal_app(self).open_session(name)

    def action_new(self) -> None:
        from seal_tui.screens.new_session import NewSessionScreen

        def create(result: tuple[str, SessionConfig] | None) -> None:
            if result:
                seal_app(self).open_session(*result)  # the form's config, checked once there

        self.app.push_screen(NewSessionScreen(), create)

    def action_demo(self) -> None:
        """The demo session on the shipped sample paper (reopened when it exists)."""
        home = seal_app(self).home
        if home.exists(DEMO):
            seal_app(self).open_session(DEMO)
            return
        try:
            # short enough to watch: 3 candidates of at most 160 tokens, the recipe's update, and
            # the model's answers scored so that a cell's details show them (BENCHMARKS.md: their cost)
            config = home.config_for(DEMO, {"generation": {"candidates": 3, "max_tokens": 160}, "greedy_answers": True})
        except ConfigError as exc:
            self.notify(str(exc), severity="error")
            return
        seal_app(self).open_session(DEMO, config, paper=str(SAMPLE))
