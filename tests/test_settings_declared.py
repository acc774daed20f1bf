"""Each setting is declared once, beside its config field: from that declaration alone (here, a
test's own) come its `seal run` flag with help and default, its new-session form field, its
place in the settings line of `seal show`, and README's row, which a test checks. So adding a
setting touches two files: its field in engine/config/ and README's row."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.config import SETTINGS, FormField, as_flags, declared
from engine.config.declare import setting
from engine.sessions.home import Home
from seal_cli.flags import overrides
from seal_cli.main import build_parser, main
from tools.settings_table import readme_table, row, table

README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass(frozen=True)
class WithDropout:
    """What TrainConfig.dropout's declaration would be: the field a new setting adds."""

    dropout: float = setting(0.0, "LoRA dropout on the adapter input", flag="--dropout", form=FormField("dropout", 16))


@pytest.fixture
def dropout():
    """train.dropout declared as a setting for this test only (TrainConfig has the field)."""
    (declaration,) = declared(WithDropout, "train")
    SETTINGS.register(declaration)
    yield declaration
    SETTINGS.unregister(declaration.key)


def test_readme_lists_every_setting_as_declared():
    missing = [line for line in table() if line not in readme_table(README.read_text())]
    assert not missing, "README's settings table lacks or differs at (python -m tools.settings_table):\n" + "\n".join(
        missing
    )
    assert len(readme_table(README.read_text())) == len(table()), "README's settings table has rows no setting has"


def test_a_declared_setting_is_a_flag_with_its_help_and_default(dropout, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    assert "--dropout" in text and "LoRA dropout on the adapter input (default 0)" in " ".join(text.split())
    args = build_parser().parse_args(["run", "--session", "s", "--dropout", "0.1"])
    config = Home().config_for("s", overrides(args, "run"))
    assert config.train.dropout == 0.1
    assert as_flags(config)[-2:] == ["--dropout", "0.1"]


def test_a_declared_setting_is_missing_from_readme_until_its_row_is_added(dropout):
    assert row(dropout) in table() and row(dropout) not in readme_table(README.read_text())


@pytest.mark.asyncio
async def test_a_declared_setting_is_a_form_field_that_reaches_the_session(dropout):
    from seal_tui.screens.session import SessionScreen
    from tools.pilot import make_app, until

    app = make_app()
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press("n")
        form = app.screen
        field = form.query_one("#dropout")
        assert field.value == "0" and "LoRA dropout" in str(field.tooltip)
        form.query_one("#name").value = "dropped"
        field.value = "0.2"
        await pilot.click("#create")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen), what="session screen")
        assert app.screen.session.config.train.dropout == 0.2
