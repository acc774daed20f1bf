"""One update in the history: what it learned, with which settings, its loss curve and edits."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from engine.domain import Passage, SelfEdit, Update

PARAMS = ("rank", "alpha", "lr", "epochs", "batch_size", "dropout")


class UpdateEntry(Vertical):
    def __init__(self, update: Update, passage: Passage | None, label: str, accepted: list[SelfEdit]) -> None:
        super().__init__(classes="update-entry")
        self.update_row, self.passage, self.label, self.accepted = update, passage, label, accepted

    def compose(self) -> ComposeResult:
        u = self.update_row
        head = Text.assemble(
            (f"v{u.version}", "bold"), " learned ", (self.label, "bold"),
            f" {self.passage.title if self.passage else ''}",
            (f"  · {u.examples} examples · {len(u.losses)} steps · {u.seconds:.1f}s", "dim"),
        )
        if u.status == "abandoned":
            head.append(f"  abandoned (rolled back; it continued from v{u.parent_version})", style="bold yellow")
        elif u.parent_version != u.version - 1:
            head.append(f"  from v{u.parent_version}", style="dim")
        params = "  ".join(f"{k} {u.params[k]}" for k in PARAMS if k in u.params)
        if u.params.get("replay"):
            params += f"  replay {u.params['replay']}"
        modules = ",".join(u.params.get("target_modules", []))
        head.append(f"\n{params}  modules {modules}", style="italic")
        if u.losses:
            head.append(f"\nloss {u.losses[0]:.3f} → {u.losses[-1]:.3f} (min {min(u.losses):.3f})")
        yield Static(head)
        yield Sparkline(list(u.losses), classes="update-loss")
        edits = Text(f"{len(self.accepted)} accepted edit(s):", style="dim")
        for edit in self.accepted:
            lines = [x.strip(" -*") for x in edit.text.splitlines() if x.strip() and not x.strip().endswith(":")]
            gist = " / ".join(lines)
            gist = gist if len(gist) <= 110 else gist[:109] + "…"
            edits.append(f"\n  ✓ [{edit.decided_by}] {gist}", style="")
        yield Static(edits)
