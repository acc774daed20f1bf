"""The key map and how a session goes, on `?`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from engine.scores.metrics import METRICS

HELP = """\
# seal: keys

A session teaches the model papers one passage at a time. For each passage the model
writes **self-edits** (its own training data); you keep or veto them; a LoRA **update**
teaches the model; the **heatmap** then shows what every earlier passage kept or lost.
Its cells score each passage's *held-out* probes, which nothing in training reads; its
**drift** column is the change on unrelated questions against the base model (red above
+0.1): a model that got worse as a whole shows there, apart from what it learned.

| key | what it does |
|-----|--------------|
| `p` | add a paper (path, file picker with ctrl+o, or pasted text) |
| `s` | start: the model writes candidates for the selected passage |
| `a` / `r` / `e` | accept / reject / edit the focused candidate card, marked ▶ (Tab from the passages to the cards, up/down between them); after a decision the next undecided card has focus |
| `x` | reject the focused card with a reason (a one-line note kept with the decision) |
| `o` | on an edited card: show or hide the model's original text |
| `A` / `R` | accept all / reject all candidates of the passage |
| `g` | regenerate: reject the undecided candidates and write fresh ones |
| `f` | reward filter: a short trial update per undecided candidate; keeps those that help this passage within the forgetting budget (scores show on the cards; `a`/`r` still overrule) |
| `i` | improve the editor (a ReST-EM round): train an editor adapter on the kept self-edits, one per passage, best reward first; the model then writes new candidates with it (cards show `editor r1`, `h` compares acceptance and reward before and after each round) |
| `u` | run the update on the selected passage (undecided cards go to the accept policy); on a passage without candidates it first writes them and stops, so you see them before anything trains: `u` again learns |
| `Esc` | cancel the running work; the current version stays |
| `m` | switch what the heatmap shows: the probe family (questions, recall) and the metric (METRIC_NAMES) |
| `w` | the model's answers: score them in this session (the versions so far too) or stop; they show in a cell's details, and F1 and contains need them |
| arrows on the heatmap | pick a cell: every probe of its passage shows below, held-out and reward alike, with its NLL under base and under that version (and the model's answers); right of the last passage, the drift column's questions. The cards, `s` and `u` stay on the passage the list selects; Tab to the details to scroll |
| `z` | roll back: make the selected heatmap row's version current again (asks first); later versions stay, dimmed, as abandoned |
| `h` | history: per-strategy acceptance and reward, editor rounds, and per update its parameters, loss curves, accepted and rejected edits (who decided), its passage's NLL before and after against base, timing |
| `b` | back to the session list |
| `ctrl+s` | save an SVG screenshot into the session home |
| `ctrl+p` | command palette: every action by name |
| `?` | this help |
| `q` | quit (asks first while an update or an editor round trains) |

In the passage list ○ is new, ◐ has candidates, ● is learned.

## What the numbers mean

- **NLL** (answer NLL): how surprised the model is by a probe's gold answer, in nats per
  token, asked closed-book (only the topic and the question). Lower is better: the model
  has learned the answer. Each heatmap cell is the mean over the passage's **held-out**
  probes, which nothing in training reads; **reward** probes (shown in the cell details)
  steer the reward filter and the per-epoch training check.
- **vs base**: a score now minus the base model's (version 0, before any learning). For NLL
  negative is better. An update can show a gain over the version before and still leave a
  passage above base: the heatmap marks such a cell with `!`, the stats line names the
  passage, and the update's note warns.
- **gain**: how much learning a passage improved its score, from the version before its
  update to the version that learned it (positive is better). It says nothing about base.
- **forget** / **forgetting**: how far a learned passage has slipped since its best score
  (0 when it holds).
- **BWT** (backward transfer): over passages learned before the last version, the mean
  change from right after learning to now; negative means later updates made the model
  forget them.
- **drift**: the change, against base, of the NLL on general questions no session learns (the
  drift set); red above +0.1 means an update moved the whole model, not only what it learned.
- The colour of a cell runs over the values in view, from the best (green) to the worst
  (red); it is a scale, not a before and after.
Tab moves focus from the passage list to the cards, the heatmap and the cell details, and
round again (shift+Tab back). A learned passage keeps the decisions its update trained on:
to decide again, roll back to before it (`z`).
Undecided candidates are decided by the session's accept policy when the update starts
(by default the heuristic gate, whose verdict each card shows; with the policy `filter`,
the reward filter). The new-session form also sets the replay share: earlier passages'
examples mixed into each update against forgetting (0 keeps plain SEAL), and how often an
editor round runs by itself (every N learned passages; 0: only on `i`). Everything is saved in
SQLite as it happens: close the app and reopen the session to find it as it was.

One process writes a session at a time. A session that `seal run` or another window is
writing opens **read-only** here: you can look, not change. While an update, the reward
filter or an editor round runs, decisions wait: what trains is what you decided before it
started (RELIABILITY.md says what seal promises about your data).
"""


def help_text() -> str:
    """HELP with the metrics registered now (engine.scores.metrics), as the metric switch cycles them."""
    return HELP.replace("METRIC_NAMES", ", ".join(METRICS[name].label for name in METRICS))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss(None)", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="dialog"):
            yield Markdown(help_text())
