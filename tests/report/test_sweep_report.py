"""The sweep report's arithmetic, on hand-made results files (tests/report/sweep_db_cases):
levels, partial dependence, heat-map cells and flips, each expected figure worked out by
hand from the points written below."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sweep_db_cases import make_sweep

from underlay.report.results_db import ResultsDB
from underlay.report.sweep_data import (
    MAX_LEVELS,
    SweepData,
    cells,
    flips,
    levels,
    load_sweep,
    partial_dependence,
)

# A 2 × 2 grid; A's and B's overall scores at each point (the higher wins).
TWO_BY_TWO = [
    ({"weights.cost": 1, "price": 10}, {"A": 60.0, "B": 40.0}),  # A by 20
    ({"weights.cost": 1, "price": 20}, {"A": 50.0, "B": 50.5}),  # B by 0.5
    ({"weights.cost": 2, "price": 10}, {"A": 70.0, "B": 30.0}),  # A by 40
    ({"weights.cost": 2, "price": 20}, {"A": 20.0, "B": 80.0}),  # B by 60
]


def _load(path: Path, sweep_id: int) -> SweepData:
    with ResultsDB(path, read_only=True) as db:
        return load_sweep(db, sweep_id)


def test_partial_dependence_averages_over_the_other_parameter(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    data = _load(db, make_sweep(db, ["weights.cost", "price"], TWO_BY_TWO))
    assert data.substrates == ("A", "B") and data.size == 4
    lv, means = partial_dependence(data, "weights.cost")
    assert lv.labels == ("1", "2")
    # cost 1: A (60 + 50) / 2 = 55, B (40 + 50.5) / 2 = 45.25
    # cost 2: A (70 + 20) / 2 = 45, B (30 + 80) / 2 = 55
    assert means.tolist() == [[55.0, 45.0], [45.25, 55.0]]
    lv, means = partial_dependence(data, "price")
    assert lv.labels == ("10", "20")
    # price 10: A (60 + 70) / 2 = 65, B (40 + 30) / 2 = 35
    # price 20: A (50 + 20) / 2 = 35, B (50.5 + 80) / 2 = 65.25
    assert means.tolist() == [[65.0, 35.0], [35.0, 65.25]]


def test_one_point_a_cell_is_that_points_verdict(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    data = _load(db, make_sweep(db, ["weights.cost", "price"], TWO_BY_TWO))
    grid = cells(data, "price", "weights.cost")  # rows: price, columns: cost
    # row price=10: cost 1 → A, cost 2 → A; row price=20: cost 1 → B, cost 2 → B
    assert grid.winner.tolist() == [[0, 0], [1, 1]]
    assert grid.count.tolist() == [[1, 1], [1, 1]]
    assert grid.margin.tolist() == [[20.0, 40.0], [0.5, 60.0]]


def test_a_cell_of_several_points_shows_who_won_most(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    pts = [
        ({"a": 1, "b": "x", "c": 0}, {"A": 10.0, "B": 8.0}),  # A by 2
        ({"a": 1, "b": "x", "c": 1}, {"A": 4.0, "B": 10.0}),  # B by 6
        ({"a": 1, "b": "x", "c": 2}, {"A": 1.0, "B": 2.0}),  # B by 1
        ({"a": 2, "b": "x", "c": 0}, {"A": 10.0, "B": 7.0}),  # A by 3
        ({"a": 2, "b": "x", "c": 1}, {"A": 5.0, "B": 6.0}),  # B by 1
        ({"a": 2, "b": "x", "c": 2}, None),  # failed: no verdict
    ]
    data = _load(db, make_sweep(db, ["a", "b", "c"], pts))
    assert data.size == 5 and data.failed == 1
    grid = cells(data, "b", "a")
    # (a=1, b=x): B won 2 of 3, mean margin (2 + 6 + 1) / 3 = 3
    # (a=2, b=x): A and B 1 each: the first listed, A; margin (3 + 1) / 2 = 2
    assert grid.winner.tolist() == [[1, 0]]
    assert grid.wins.tolist() == [[2, 1]] and grid.count.tolist() == [[3, 2]]
    assert grid.margin.tolist() == [[3.0, 2.0]]
    # partial dependence on c skips the failed point: c=2 holds only point 2 (A 1, B 2)
    lv, means = partial_dependence(data, "c")
    assert lv.labels == ("0", "1", "2")
    assert means.tolist() == [[10.0, 4.5, 1.0], [7.5, 8.0, 2.0]]


def test_levels_sort_numbers_keep_text_in_grid_order_and_bin_many(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    pts = [({"n": v, "t": t}, {"A": 1.0, "B": 0.0}) for v, t in [(10, "z"), (2, "a"), (0.5, "z")]]
    data = _load(db, make_sweep(db, ["n", "t"], pts))
    n = levels(data, "n")
    assert n.labels == ("0.5", "2", "10") and n.index.tolist() == [2, 1, 0]
    t = levels(data, "t")
    assert t.labels == ("z", "a") and t.index.tolist() == [0, 1, 0]
    # 41 distinct values 0, 1, …, 40: MAX_LEVELS bins of width 40 / 20 = 2
    many = tmp_path / "m.duckdb"
    data = _load(many, make_sweep(many, ["v"], [({"v": v}, {"A": 1.0}) for v in range(41)]))
    lv = levels(data, "v")
    assert lv.binned and len(lv.labels) == MAX_LEVELS
    assert lv.labels[:2] == ("1", "3")  # midpoints 0 + 2 × 0.5, 0 + 2 × 1.5
    # v = 3 → bin 1 (3 // 2); v = 40, the top edge, stays in the last bin
    assert lv.index[3] == 1 and lv.index[40] == MAX_LEVELS - 1


def test_flips_are_neighbours_one_parameter_apart_with_other_winners(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    data = _load(db, make_sweep(db, ["weights.cost", "price"], TWO_BY_TWO))
    found = flips(data)
    # along cost (price fixed): 10 → A, A; 20 → B, B: none.
    # along price (cost fixed): cost 1: A → B (points 0 → 1); cost 2: A → B (2 → 3)
    assert [(f.key, f.before, f.after, f.others) for f in found] == [
        ("price", 0, 1, "weights.cost=1"),
        ("price", 2, 3, "weights.cost=2"),
    ]
    assert (found[0].winner_before, found[0].winner_after) == ("A", "B")
    assert (found[0].margin_before, found[0].margin_after) == (20.0, 0.5)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.floats(0, 100)),
        min_size=6,
        max_size=6,
    )
)
def test_partial_dependence_of_a_full_grid_averages_to_the_mean(
    scores: list[tuple[float, float]],
) -> None:
    """In a full grid each level holds as many points, so the mean of a parameter's
    partial-dependence line is the mean score over all points (for every parameter)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "s.duckdb"
        combos = [{"a": a, "b": b} for a in (1, 2, 3) for b in ("x", "y")]
        pts = [(c, {"A": s[0], "B": s[1]}) for c, s in zip(combos, scores, strict=True)]
        data = _load(db, make_sweep(db, ["a", "b"], pts))
    overall = np.array(scores).mean(axis=0)
    for key in ("a", "b"):
        _, means = partial_dependence(data, key)
        assert means.mean(axis=1) == pytest.approx(overall, abs=1e-9)


def test_no_such_sweep_is_one_clear_error(tmp_path: Path) -> None:
    from underlay.errors import InputError

    db = tmp_path / "s.duckdb"
    make_sweep(db, ["a"], [({"a": 1}, {"A": 1.0})])
    with pytest.raises(InputError, match="--report 7: no such sweep"):
        _load(db, 7)
