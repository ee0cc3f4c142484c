"""Shared fixtures; makes ``tests/factories.py`` importable as ``factories``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from factories import make_scenario  # noqa: E402
from underlay.defaults.catalog import Defaults, load_defaults  # noqa: E402
from underlay.model.scenario import Scenario  # noqa: E402

REPO = TESTS.parent
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def defaults() -> Defaults:
    """The packaged defaults, no overrides."""
    return load_defaults()


@pytest.fixture
def scenario() -> Scenario:
    """The factory's default scenario: one 64-core host model, one tenant, one workload."""
    return make_scenario()


@pytest.fixture
def write_yaml(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write text to ``tmp_path/name`` and return the path."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
