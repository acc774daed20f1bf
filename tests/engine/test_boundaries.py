"""The engine stands alone: importing all of it never pulls in the UI, and no engine module
names the app, the benchmarks or the dev tools (seal_tui, seal_cli, seal_bench and tools sit above it)."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parents[2]


def test_engine_never_imports_textual_rich_or_seal_tui():
    modules = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'seal_tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(modules) > 15
    assert out.stdout.strip() == ""


def test_seal_help_imports_nothing_heavy():
    code = (
        "import sys\nfrom seal_cli.main import build_parser\nbuild_parser()\n"
        "print(','.join(m for m in ('torch', 'transformers', 'llama_cpp', 'textual', 'ray') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == ""


NEVER_IMPORTS = {
    "engine": {"seal_tui", "seal_cli", "seal_bench", "tools", "tests", "textual", "rich"},
    "seal_bench": {"seal_tui", "seal_cli", "tools", "tests", "textual"},
    "seal_tui": {"seal_cli", "tools", "tests"},
    "seal_cli": {"tools", "tests"},
    "tools": {"tests"},
    "bench": {"tests"},
}
"""Each folder and the top-level packages it must not import: arrows point down, and
nothing but the tests imports the tests."""


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports anywhere in it (inside functions too)."""
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("folder", sorted(NEVER_IMPORTS))
def test_imports_point_one_way(folder):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    bad = {str(f.relative_to(ROOT)): sorted(imported_packages(f) & NEVER_IMPORTS[folder]) for f in files}
    assert {f: names for f, names in bad.items() if names} == {}
