"""The reports' figure rules: those of :mod:`underlay.units`, the one place every stage
(the decision's reasons too) takes them from, re-exported for the report's modules."""

from __future__ import annotations

from underlay.units import cores, gib, pct, share, times, usd

__all__ = ["cores", "gib", "pct", "share", "times", "usd"]
