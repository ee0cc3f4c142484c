"""Shared fixtures; makes ``tests/factories.py`` importable as ``factories``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from hypothesis import settings  # noqa: E402

from factories import make_scenario  # noqa: E402
from properties import examples  # noqa: E402
from underlay.defaults.catalog import Defaults, load_defaults  # noqa: E402
from underlay.model.scenario import Scenario  # noqa: E402

REPO = TESTS.parent
EXAMPLES = REPO / "examples"

# Hypothesis profiles. `ci` (the default, and what CI runs) derives every property test's
# examples from the test itself: the same examples on every run and every machine, so a
# failure is never a matter of luck and a pass is never forgotten by the next run; no
# example database, for the same reason. `random` (HYPOTHESIS_PROFILE=random, as
# scripts/test-random sets it) draws fresh examples and keeps what fails in .hypothesis/
# so the next run replays it; print_blob prints the line that reproduces a failure. A
# failure found either way is added to the test as an @example. Counts: each test's own
# (tests/properties.py), 100 where it sets none; deadlines off, the machines are shared.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=examples(100)
)
settings.register_profile(
    "random", derandomize=False, deadline=None, print_blob=True, max_examples=examples(100)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every Hypothesis test `property`, so `-m property` selects exactly them."""
    for item in items:
        if hasattr(getattr(item, "obj", None), "hypothesis"):
            item.add_marker(pytest.mark.property)


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
