"""Points that differ only in decision-only fields (the weights) share one comparison,
replay and analysis: each point's document must equal the one it gets alone, and the
evidence must be computed once per group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sweep_cases import tiny_scenario

from underlay.sweeps.grid import parse_grid, points
from underlay.sweeps.points import PointJob, group_results, jobs, run_point
from underlay.sweeps.run import groups


def _jobs(tmp_path: Path, grid_text: str) -> list[PointJob]:
    grid = parse_grid(grid_text, "grid.yaml")
    return jobs(tiny_scenario(tmp_path), grid, points(grid))


def _text(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, allow_nan=False)


def test_weights_share_evidence_and_seeds_do_not(tmp_path: Path) -> None:
    todo = _jobs(tmp_path, "seed: [0, 1]\nweights.cost: [1, 3]\nweights.sla: [1, 2]\n")
    # 2 seeds × 2 × 2 weights: the 4 points of a seed share one evidence key
    keys = [j.evidence for j in todo]
    assert len(set(keys)) == 2
    assert keys[:4] == [keys[0]] * 4 and keys[4:] == [keys[4]] * 4
    assert [[j.index for j in g] for g in groups(todo)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    # at most 3 a task: 4 points a key in ceil(4 / 3) = 2 equal parts of 2
    assert [len(g) for g in groups(todo, most=3)] == [2, 2, 2, 2]
    # 3 workers want 2 × 3 = 6 tasks from 2 keys: ceil(6 / 2) = 3 parts a key, of
    # ceil(4 / 3) = 2 points: 2 + 2 a key (a part never smaller than it needs to be)
    assert [len(g) for g in groups(todo, workers=3)] == [2, 2, 2, 2]
    # 8 workers: ceil(16 / 2) = 8 parts a key, of ceil(4 / 8) = 1 point
    assert [len(g) for g in groups(todo, workers=8)] == [1] * 8


def test_a_shared_evidence_gives_each_point_its_own_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import underlay.pipeline as pipeline

    todo = _jobs(tmp_path, "weights.cost: [1, 4]\nweights.isolation: [0.5, 3]\n")
    alone = {j.index: run_point(j) for j in todo}
    calls: list[int] = []
    real = pipeline.simulate

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "simulate", counted)
    shared = list(group_results(todo))
    assert len(calls) == 1  # one replay for the 4 points
    assert [r.index for r in shared] == [0, 1, 2, 3]
    for result in shared:
        assert result.error is None and result.document is not None
        assert alone[result.index].document is not None
        assert _text(result.document) == _text(alone[result.index].document)
    # the plan and frontier solved once are there to compare (not empty on both sides)
    first = shared[1].document
    assert first is not None and first["decision"]["hybrid"] and first["decision"]["pareto"]
    # the weights did reach each decision (else the test could not fail)
    weights = [r.document["decision"]["weights"] for r in shared if r.document]
    assert [(w["cost"], w["isolation"]) for w in weights] == [(1, 0.5), (1, 3), (4, 0.5), (4, 3)]
    # the documents are separate objects: changing one leaves the others
    assert shared[0].document is not None and shared[1].document is not None
    shared[0].document["substrates"][0]["name"] = "changed"
    assert shared[1].document["substrates"][0]["name"] != "changed"


def test_a_group_refuses_mixed_evidence(tmp_path: Path) -> None:
    todo = _jobs(tmp_path, "seed: [0, 1]\n")
    with pytest.raises(ValueError, match="share their evidence"):
        list(group_results(todo))


def test_when_the_shared_evidence_fails_every_point_of_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import underlay.pipeline as pipeline
    from underlay.errors import InputError

    def nothing_fits(*args: Any, **kwargs: Any) -> Any:
        raise InputError("nothing fits")

    todo = _jobs(tmp_path, "weights.cost: [1, 2, 3]\n")
    monkeypatch.setattr(pipeline, "compare", nothing_fits)
    results = list(group_results(todo))
    assert [(r.index, r.document, r.error) for r in results] == [
        (0, None, "nothing fits"),
        (1, None, "nothing fits"),
        (2, None, "nothing fits"),
    ]
