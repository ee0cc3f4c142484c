"""Example counts of the Hypothesis property tests, scaled for a longer hunt.

Each property test states its own count (``@settings(max_examples=examples(300))``),
sized so the default run stays quick; ``UNDERLAY_HYPOTHESIS_SCALE=10`` multiplies every
count by ten (``scripts/test-random`` with fresh randomness is where that pays off). The
profiles themselves (fixed seed or random) are registered in ``conftest.py``.
"""

from __future__ import annotations

import os

__all__ = ["SCALE", "examples"]

SCALE = float(os.environ.get("UNDERLAY_HYPOTHESIS_SCALE", "1"))


def examples(count: int) -> int:
    """``count`` examples, times ``UNDERLAY_HYPOTHESIS_SCALE`` (at least one)."""
    return max(1, round(count * SCALE))
