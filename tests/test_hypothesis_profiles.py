"""Property tests draw the same examples on every run unless asked for fresh ones.

The profiles live in conftest.py: ``ci`` (the default) derandomised, without an example
database; ``random`` (``HYPOTHESIS_PROFILE=random``, ``scripts/test-random``) fresh.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]


def _draws(profile: str) -> list[int]:
    seen: list[int] = []

    @settings(settings.get_profile(profile), max_examples=25, database=None)
    @given(st.integers(0, 2**64))
    def probe(n: int) -> None:
        seen.append(n)

    probe()
    return seen


def test_the_default_profile_is_the_derandomised_one() -> None:
    wanted = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    assert settings.default.derandomize is (wanted == "ci")
    ci = settings.get_profile("ci")
    assert ci.derandomize is True and ci.database is None


def test_ci_draws_the_same_examples_every_time() -> None:
    assert _draws("ci") == _draws("ci")


def test_random_draws_fresh_examples() -> None:
    assert settings.get_profile("random").derandomize is False
    # 25 draws of 65-bit integers twice alike would be a broken random profile, not luck.
    assert _draws("random") != _draws("random")


@settings(max_examples=1, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.none())
def test_property_tests_are_marked_property(request: pytest.FixtureRequest, _: None) -> None:
    assert request.node.get_closest_marker("property") is not None


def test_a_plain_test_is_not_marked_property(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("property") is None


def test_the_random_command_runs_the_property_tests_with_the_random_profile() -> None:
    script = REPO / "scripts" / "test-random"
    assert os.access(script, os.X_OK)
    text = script.read_text(encoding="utf-8")
    assert "HYPOTHESIS_PROFILE=random" in text and "-m property" in text
