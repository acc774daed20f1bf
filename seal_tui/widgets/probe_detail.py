"""One passage's probes with their gold answers and scores at one version."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.domain import Passage, Score


class ProbeDetail(Static):
    def show(self, passage: Passage | None, label: str, version: int | None, scores: list[Score]) -> None:
        if passage is None:
            self.update(Text("Select a passage or a heatmap cell to see its probes.", style="dim"))
            return
        by_probe = {s.probe_id: s for s in scores}
        where = "not scored" if not by_probe else ("base" if version == 0 else f"v{version}")
        text = Text.assemble((f"{label} ", "bold"), passage.title, (f"  · {where}", "dim"))
        for probe in passage.probes:
            text.append(f"\n? {probe.question}")
            text.append(f"  → {probe.answer}", style="green")
            s = by_probe.get(probe.id)
            if s is not None:
                text.append(f"  nll {s.answer_nll:.2f}", style="bold")
                if s.f1 is not None:
                    text.append(f"  f1 {s.f1:.2f}")
                if s.answer is not None:
                    text.append(f"  said: {s.answer[:40]!r}", style="dim")
        if not passage.probes:
            text.append("\n(no probes)", style="dim")
        self.update(text)
