"""Per strategy: candidates written, accepted, acceptance rate and mean filter reward."""

from __future__ import annotations

from rich import box
from rich.table import Table
from textual.widgets import Static


class StrategyStats(Static):
    """A small table from Session.strategy_stats(); prompt choice moves results, so it shows."""

    def show(self, stats: dict[str, dict]) -> None:
        if not stats:
            self.update("No candidates yet: strategies are compared once some are written.")
            return
        table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), show_edge=False, expand=False)
        table.add_column("strategy", style="italic")
        for name in ("candidates", "accepted", "acceptance", "mean reward"):
            table.add_column(name, justify="right")
        for strategy, row in sorted(stats.items()):
            reward = row.get("mean_reward")
            table.add_row(
                strategy,
                str(row["candidates"]),
                str(row["accepted"]),
                f"{row['acceptance']:.0%}",
                "-" if reward is None else f"{reward:+.2f}",
            )
        self.update(table)
