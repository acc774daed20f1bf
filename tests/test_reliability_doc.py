"""RELIABILITY.md lists each promise beside the tests that prove it: every promise names at
least one test, and every test it names exists."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def promises() -> list[str]:
    """Each promise (a top-level bullet) with the lines under it."""
    found, current = [], None
    for line in (ROOT / "RELIABILITY.md").read_text().splitlines():
        if line.startswith("- **"):
            current = [line]
            found.append(current)
        elif line.startswith("#"):
            current = None
        elif current is not None:
            current.append(line)
    return ["\n".join(p) for p in found]


def test_every_promise_names_a_test_that_proves_it():
    listed = promises()
    assert len(listed) >= 20
    unproved = [p.splitlines()[0][:80] for p in listed if not NAMED.search(p)]
    assert unproved == []


def test_every_test_named_exists():
    missing = []
    for path, name in NAMED.findall((ROOT / "RELIABILITY.md").read_text()):
        source = ROOT / path
        defined = (
            {
                node.name
                for node in ast.walk(ast.parse(source.read_text()))
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            if source.is_file()
            else set()
        )
        if name not in defined:
            missing.append(f"{path}::{name}")
    assert missing == []
