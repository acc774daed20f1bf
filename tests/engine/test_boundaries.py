"""The engine stands alone: importing all of it never pulls in the UI."""
import pkgutil
import subprocess
import sys
from pathlib import Path

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
        "import sys\nfrom seal_tui.cli import build_parser\nbuild_parser()\n"
        "print(','.join(m for m in ('torch', 'transformers', 'llama_cpp', 'textual') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == ""
