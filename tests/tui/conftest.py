"""Fixtures of the app's tests; the helpers that drive the app with Pilot are tools.pilot."""

from __future__ import annotations

import pytest


@pytest.fixture
def sample(fixtures):
    return fixtures / "velmora.md"
