"""One update in the history: what it learned, with which settings, its loss curve, its
passage's held-out answer NLL before and after against the base model, and its edits, the
rejected ones too (marked, with who decided), and who wrote them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from engine.domain import Passage, SelfEdit, Update, version_label
from engine.update_notes import kept_note
from seal_tui.render import WORSE

PARAMS = ("rank", "alpha", "lr", "epochs", "passage_repeats", "anchor", "drift_guard", "batch_size", "dropout")


def gist(text: str, width: int = 110) -> str:
    """A self-edit on one line: its content lines joined, headings and bullets dropped."""
    lines = [x.strip(" -*") for x in text.splitlines() if x.strip() and not x.strip().endswith(":")]
    joined = " / ".join(lines)
    return joined if len(joined) <= width else joined[: width - 1] + "…"


def nll_line(label: str, update: Update, base: float | None, before: float | None, after: float | None) -> Text:
    """ "P1 held-out NLL: base 6.00 → v1 2.00 (-4.00 vs base)", with the start version when it
    is not the base model, and a warning when the update left the passage worse than base."""
    fmt = lambda v: "·" if v is None else f"{v:.2f}"  # noqa: E731
    out = Text(f"{label} held-out NLL: ", style="dim")
    out.append(f"base {fmt(base)}")
    if update.parent_version != 0:
        out.append(f" · {version_label(update.parent_version)} {fmt(before)}")
    out.append(f" → {version_label(update.version)} {fmt(after)}", style="bold")
    if base is not None and after is not None:
        change = after - base
        out.append(
            f" ({change:+.2f} vs base)", style="bold red" if change > WORSE else "green" if change < -WORSE else ""
        )
        if change > WORSE:
            out.append("  ⚠ worse than base", style="bold red")
    return out


def trained_lines(kept: int, total: int) -> Text:
    """ " (trained 2 of 3 lines)", or a warning when none of them trained."""
    unit = "line" if total == 1 else "lines"
    if total and not kept:
        return Text(f" (trained none of its {total} {unit})", style="bold yellow")
    return Text(f" (trained {kept} of {total} {unit})", style="dim")


class UpdateEntry(Vertical):
    def __init__(
        self,
        update: Update,
        passage: Passage | None,
        label: str,
        accepted: list[SelfEdit],
        rejected: Sequence[SelfEdit] = (),
        nll: tuple[float | None, float | None, float | None] = (None, None, None),
    ) -> None:
        """rejected: the passage's rejected edits; nll: (base, before, after) held-out answer
        NLL of the passage (history.nll_around)."""
        super().__init__(classes="update-entry")
        self.update_row, self.passage, self.label, self.accepted = update, passage, label, accepted
        self.rejected, self.nll = list(rejected), nll

    def compose(self) -> ComposeResult:
        u = self.update_row
        head = Text.assemble(
            (f"v{u.version}", "bold"),
            " learned ",
            (self.label, "bold"),
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
        if note := kept_note(u.params):
            head.append(f"\n{note}", style="bold yellow" if u.params.get("kept_epoch") == 0 else "")
        head.append("\n")
        head.append_text(nll_line(self.label, u, *self.nll))
        yield Static(head)
        yield Sparkline(list(u.losses), classes="update-loss")
        edits = Text(f"{len(self.accepted)} accepted edit(s):", style="dim")
        lines = u.params.get("lines", {})
        for edit in self.accepted:
            edits.append(f"\n  ✓ [{edit.decided_by}] {gist(edit.text)}", style="")
            if (counted := lines.get(str(edit.id))) is not None:
                edits.append_text(trained_lines(*counted))
        if "lines" in u.params and not any(kept for kept, _ in lines.values()):
            edits.append("\n  ⚠ only the passage itself trained: ", style="bold yellow")
            edits.append(
                "no accepted edit" if not self.accepted else "grounding kept none of the accepted edits' lines",
                style="yellow",
            )
        if self.rejected:
            edits.append(f"\n{len(self.rejected)} rejected edit(s):", style="dim")
        for edit in self.rejected:
            edits.append("\n  ✗ rejected", style="red")
            edits.append(f" by {edit.decided_by or '?'}", style="dim")
            edits.append(f" {gist(edit.text, 90)}", style="dim")
            if edit.reason:
                edits.append(f" ({edit.reason})", style="dim italic")
        if writers := sorted({e.writer for e in (*self.accepted, *self.rejected) if e.writer}):
            edits.append(f"\nwritten by {'; '.join(writers)}", style="dim")
        yield Static(edits)
