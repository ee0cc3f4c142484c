"""Defaults measured on the user's own hardware, as a scenario carries them.

A scenario's ``calibration: FILE`` names a calibration file (:mod:`underlay.model.calibration`
reads it); its measured figures become :class:`MeasuredDefaults`, which the defaults are
loaded with. The order, lowest first:

1. the cited defaults (``underlay defaults``);
2. the calibration file's measured figures (each replaces the default at its path);
3. the scenario's own ``overrides:``, which win over a measurement: an override is the
   user's explicit statement about *this* scenario (a planned BIOS change, a hypervisor
   other than the one measured), a measurement is a fact about one machine.

This module is plain data with no import of the defaults, so the scenario model can hold it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

__all__ = ["MeasuredDefault", "MeasuredDefaults", "merge_overrides"]


@dataclass(frozen=True)
class MeasuredDefault:
    """One default replaced by a measurement: its dotted path in ``underlay defaults``."""

    path: str  # e.g. "interference.slowdown_at_full_load"
    value: float
    unit: str
    how: str


@dataclass(frozen=True)
class MeasuredDefaults:
    """The measured figures of one calibration file (``source``), from one host."""

    source: str
    host: str
    measured_at: str  # ISO 8601, as the file wrote it
    figures: tuple[MeasuredDefault, ...]

    @property
    def note(self) -> str:
        """How every replaced figure is marked: ``measured on <host> at <date>``."""
        return f"measured on {self.host} at {self.measured_at}"

    def overrides(self) -> dict[str, Any]:
        """The figures in the layout of a scenario's ``overrides`` (nested by path)."""
        out: dict[str, Any] = {}
        for fig in self.figures:
            *parents, leaf = fig.path.split(".")
            node = out
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = fig.value
        return out

    def in_effect(self, overrides: dict[str, Any]) -> list[MeasuredDefault]:
        """The figures a scenario's ``overrides`` do not replace again (those it uses)."""
        return [f for f in self.figures if not _has_path(overrides, f.path)]


def _has_path(data: dict[str, Any], path: str) -> bool:
    node: Any = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def merge_overrides(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged over it: mappings merge key by key, anything else in
    ``extra`` replaces (as a scenario's overrides merge over the defaults)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_overrides(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
