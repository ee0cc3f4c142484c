"""Hand-made sweep results files for the sweep report's tests: each point's verdict and
scores written by hand (no pipeline run), committed through ``ResultsDB.add_run`` as a
sweep commits them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from underlay.report.results_db import ResultsDB

TENANTS = ("web", "bank")


def point_doc(scores: dict[str, float], *, tie: bool = False) -> dict[str, Any]:
    """A run document whose verdict follows ``scores``: the highest total wins, by the
    difference to the second (a tie when ``tie``)."""
    ranked = sorted(scores, key=lambda s: -scores[s])
    runner = ranked[1] if len(ranked) > 1 else None
    margin = scores[ranked[0]] - scores[runner] if runner else 0.0
    return {
        "scenario": "hand-made",
        "substrates": [{"name": s, "tenants": [{"name": t} for t in TENANTS]} for s in scores],
        "decision": {
            "verdict": {"winner": ranked[0], "runner_up": runner, "margin": margin, "tie": tie},
            "substrates": [{"name": s, "total": v, "factors": {}} for s, v in scores.items()],
            "tenants": [],
        },
    }


def make_sweep(
    path: Path,
    keys: Sequence[str],
    points: Sequence[tuple[dict[str, Any], dict[str, float] | None]],
    *,
    total: int | None = None,
) -> int:
    """A results file at ``path`` with one sweep over ``keys``: each point its parameters
    and its substrates' scores (None: a failed point). Its sweep id."""
    with ResultsDB(path) as db:
        sweep_id, _ = db.sweep_id(
            "hand-made",
            scenario="hand-made",
            parameters=json.dumps(list(keys)),
            points=len(points) if total is None else total,
        )
        for k, (params, scores) in enumerate(points):
            db.add_run(
                None if scores is None else point_doc(scores),
                parameters=params,
                sweep_id=sweep_id,
                point=k,
                error="nothing fits" if scores is None else None,
            )
    return sweep_id
