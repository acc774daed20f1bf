"""The session screen's keys that act on the whole session: add a paper, write candidates,
learn a passage, run the reward filter, train the editor, roll back. Each checks that it may
act now (SessionAccess), says on the update lines what starts, and starts its worker
(SessionWork); a rollback is a quick write in place. SessionActions belongs to one
SessionScreen, whose key bindings call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.domain import version_label
from seal_tui.messages import PaperRequested
from seal_tui.widgets.heatmap import Heatmap
from seal_tui.widgets.passage_list import label
from seal_tui.widgets.update_progress import UpdateProgress

if TYPE_CHECKING:
    from seal_tui.screens.session import SessionScreen


class SessionActions:
    def __init__(self, screen: SessionScreen) -> None:
        self.screen = screen

    def add_paper(self, request: PaperRequested) -> None:
        screen = self.screen
        if screen.access.can_start(needs_model=screen.opened_session.config.probes == "qa"):
            screen.query_one(UpdateProgress).stage("reading the paper…")
            screen.work.add_paper(request)

    def ask_paper(self) -> None:
        """The add-paper dialog, then the paper it names added."""
        from seal_tui.screens.add_paper import AddPaperScreen

        screen = self.screen
        if not screen.access.writable():
            return
        if doing := screen.busy():  # keys meant for the screen would land in the dialog's fields
            screen.notify(f"Busy {doing}; add the paper after it ends (Esc cancels it).", severity="warning")
            return
        cfg = screen.opened_session.config

        def added(request: PaperRequested | None) -> None:
            if request:
                self.add_paper(request)

        screen.app.push_screen(AddPaperScreen(cfg.passage_tokens, cfg.max_passages), added)

    def generate(self) -> None:
        screen = self.screen
        if (passage := screen.selected()) and screen.access.can_start():
            session = screen.opened_session
            if session.config.generation.candidates - len(session.self_edits(passage.id)) <= 0:
                screen.notify("This passage has its candidates; g writes fresh ones.")
                return
            screen.work.generate(passage, False)

    def update(self) -> None:
        screen = self.screen
        if (passage := screen.selected()) and screen.access.can_start():
            session = screen.opened_session
            if passage.status == "learned":
                screen.notify(f"{label(passage)} is already learned.", severity="warning")
                return
            missing = session.config.generation.candidates - len(session.self_edits(passage.id))
            if passage.status == "new" and missing > 0:
                # Whatever the accept policy, a person sees what the model wrote before it trains:
                # u writes the candidates and stops; u again learns (undecided ones to the policy).
                screen.query_one(UpdateProgress).start(f"writing candidates for {label(passage)} to review…")
                screen.work.generate(passage, False, review=True)
                return
            seen = [p for p in session.passages() if p.position <= passage.position]
            probes = {p.id: len(p.probes) for p in session.passages()}
            screen.query_one(UpdateProgress).begin_update(
                f"learning {label(passage)}…", sum(len(p.probes) for p in seen), probes
            )
            screen.decisions.update_starts()
            screen.work.update(passage)

    def filter(self) -> None:
        screen = self.screen
        if (passage := screen.selected()) and screen.access.can_start():
            if not any(e.status == "pending" for e in screen.opened_session.self_edits(passage.id)):
                screen.notify("No undecided candidates here: the filter judges pending cards only.", severity="warning")
                return
            screen.query_one(UpdateProgress).start(f"reward filter on {label(passage)}…")
            screen.work.filter(passage)

    def editor(self) -> None:
        from engine.learning.editor import EditorError, check_enough, kept_edits

        screen = self.screen
        if not screen.access.can_start():
            return
        kept = len(kept_edits(screen.opened_session))
        try:
            check_enough(kept, screen.opened_session.config.editor.min_pairs)
        except EditorError as exc:
            screen.notify(f"{str(exc)[0].upper()}{str(exc)[1:]}.", severity="warning")
            return
        screen.query_one(UpdateProgress).start(f"editor round on {kept} kept self-edits…")
        screen.work.editor_round()

    def ask_rollback(self) -> None:
        """Roll back to the selected heatmap row's version, once a person confirms."""
        screen = self.screen
        if not screen.access.writable():
            return
        matrix = screen.query_one(Heatmap).matrix
        if matrix is None or not matrix.rows or screen.busy():
            if screen.busy():
                screen.notify("Finish or cancel the running work first.", severity="warning")
            return
        version = matrix.rows[screen.query_one(Heatmap).cursor[0]]
        session = screen.opened_session
        if version == session.current_version:
            screen.notify(
                f"{version_label(version)} is already the current version: pick an earlier row.", severity="warning"
            )
            return
        path = session.path_to(version)
        leaving = [u.version for u in session.updates() if u.status == "active" and u.version not in path]
        names = ", ".join(f"v{x}" for x in leaving)
        stay = f" {names} {'stay' if len(leaving) > 1 else 'stays'} in the history as abandoned." if leaving else ""
        from seal_tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes and screen.access.writable() and not screen.busy():
                self.rollback(version)

        screen.app.push_screen(
            ConfirmScreen(f"Make {version_label(version)} current again?{stay}", "Roll back (y)", "Keep (n)"), answer
        )

    def rollback(self, version: int) -> None:
        """A quick write in place; generation then follows the version in a worker."""
        screen = self.screen
        screen.opened_session.rollback(version, screen.work.reporter())
        screen.refresh_all()
        screen.query_one(Heatmap).select_version(version)
        screen.view.show_detail()
        if screen.model_state == "ready" and screen.access.can_start():
            screen.query_one(UpdateProgress).stage(f"switching generation to {version_label(version)}…")
            screen.work.sync_generation()
