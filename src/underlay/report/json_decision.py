"""JSON of the decision (``compare --json``, ``recommend --json``; docs/json.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from underlay.decision.results import Decision

__all__ = ["decision_to_dict"]


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return round(x, 4)
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def _plan_check(d: Decision) -> dict[str, Any] | None:
    check = d.plan_check
    if check is None:
        return None
    return {**asdict(check), "kept_round": check.rounds.index(check.final) + 1}


def decision_to_dict(d: Decision) -> dict[str, Any]:
    """The scorecard, verdict, hybrid plan, Pareto points and sensitivity as plain data."""
    card = d.scorecard
    out: dict[str, Any] = {
        "weights": card.weights,
        "verdict": asdict(card.verdict),
        "substrates": [
            {
                "name": s.name,
                "kind": s.kind,
                "total": s.total,
                "factors": {f: asdict(x) for f, x in s.factors.items()},
            }
            for s in card.substrates
        ],
        "tenants": [asdict(t) for t in card.tenants],
        "hybrid": asdict(d.hybrid) if d.hybrid is not None else None,
        "pareto": [asdict(p) for p in d.pareto],
        "sensitivity": asdict(d.sensitivity) if d.sensitivity is not None else None,
        "plan_check": _plan_check(d),
        "notes": [*card.notes, *d.notes],
    }
    cleaned: dict[str, Any] = _clean(out)
    return cleaned
