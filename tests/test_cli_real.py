"""The `seal` command on the real embedded model: automatic and on-demand editor rounds."""

import json

import pytest

from seal_cli.main import main

pytestmark = pytest.mark.slow


def test_run_with_editor_every_then_an_editor_round_on_demand(fixtures, capsys):
    args = [
        "run",
        str(fixtures / "velmora.md"),
        "--session",
        "ed",
        "--edits",
        "2",
        "--accept",
        "all",
        "--epochs",
        "1",
        "--passage-repeats",
        "2",
        "--max-tokens",
        "32",
        "--seed",
        "3",
        "--editor-every",
        "1",
        "--json",
    ]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    # one kept edit per passage; a round needs two, so rounds follow passages 2 and 3
    assert [(r["round"], r["trigger"], r["pairs"]) for r in summary["editor_rounds"]] == [
        (1, "auto", 2),
        (2, "auto", 3),
    ]
    assert main(["editor", "ed", "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert "editor round 3 (person): 3 kept self-edits" in captured.err
    assert "r3" in captured.out and "person" in captured.out
    assert main(["editor", "ed", "--list", "--json"]) == 0
    rounds = json.loads(capsys.readouterr().out)
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert rounds[0]["candidates"] == 2  # the third passage's candidates were written with round 1
