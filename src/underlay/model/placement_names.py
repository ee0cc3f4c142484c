"""The placement vocabulary a scenario file may use, as data: the built-in strategies,
score plugins, plugins, and the arguments those plugins take.

The scenario model checks ``placement.strategy``, ``placement.weights`` and
``placement.args`` against these names when the file is loaded (line number and
did-you-mean), and the JSON Schema lists them, without importing the placement stage
that comes after the model. The placement registry holds the plugins themselves; a test
(tests/placement/test_registry.py) keeps its names equal to these, and the plugins that
take arguments check them here, so there is one rule and one wording.

The Python API's ``compare(registry=...)`` may add strategies and plugins of its own: it
checks them against its registry, not against this list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from underlay.model.fields import _did_you_mean

__all__ = [
    "PLUGINS",
    "PLUGIN_ARGUMENTS",
    "SCORE_PLUGINS",
    "STRATEGIES",
    "check_plugin_args",
]

STRATEGIES: Final = (
    "first-fit-decreasing",
    "best-fit",
    "least-allocated",
    "dominant-resource",
    "gpu-fragmentation",
)
"""The built-in strategies, in the registry's order (``best-fit`` is the default)."""

SCORE_PLUGINS: Final = (
    "DominantResourceAlignment",
    "GpuAvoidance",
    "GpuFragmentation",
    "LeastAllocated",
    "MostAllocated",
    "NodeOrder",
)
"""The built-in score plugins (``placement.weights`` keys)."""

PLUGINS: Final = tuple(
    sorted(
        (
            *SCORE_PLUGINS,
            "DecreasingSize",
            "GpuFit",
            "GpuModel",
            "InOrder",
            "NodeResourcesFit",
            "PodAntiAffinity",
            "PodSlots",
            "RackAntiAffinity",
            "RackSpread",
        )
    )
)
"""Every built-in plugin: filter, score, topology and queue-sort."""

PLUGIN_ARGUMENTS: Final[Mapping[str, Mapping[str, tuple[float, float]]]] = {
    "NodeResourcesFit": {"headroom_percent": (0.0, 90.0)},
}
"""The plugins that take arguments (``placement.args``): argument → (lowest, highest)."""


def check_plugin_args(name: str, given: Mapping[str, float]) -> None:
    """ValueError naming an unknown plugin, one that takes no arguments, an unknown
    argument or a value out of its range."""
    if name not in PLUGINS:
        raise ValueError(f"unknown plugin {name!r}{_did_you_mean(name, list(PLUGINS))}")
    known = PLUGIN_ARGUMENTS.get(name)
    if known is None:
        raise ValueError(f"plugin {name!r} takes no arguments")
    for key, value in given.items():
        if key not in known:
            listed = ", ".join(known)
            raise ValueError(
                f"unknown argument {key!r}{_did_you_mean(key, list(known))} (known: {listed})"
            )
        low, high = known[key]
        if not low <= value <= high:
            raise ValueError(f"{key} must be {low:g} to {high:g} (got {value:g})")
