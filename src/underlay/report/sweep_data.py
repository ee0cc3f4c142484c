"""A finished (or partly run) sweep read back from its results file, and the arithmetic of
its report: where in the grid the verdict changes.

Everything comes from the DuckDB file (:mod:`underlay.report.results_db`): the sweep's
keys from ``sweeps.parameters``, each point's values and verdict from ``runs``, each
substrate's overall score (``substrate_score_total``) from ``results``. Failed points
(``runs.status = 'failed'``) have no verdict and are left out of every figure.

- **Levels of a parameter**: its distinct values, numbers in increasing order, text in
  the order the grid first gives it. A sampled numeric key with more than
  :data:`MAX_LEVELS` distinct values (a ``{min, max}`` range) is cut into
  :data:`MAX_LEVELS` bins of equal width, each shown by its midpoint.
- **Partial dependence** of a substrate's score on a parameter: for each level, the mean
  of that substrate's overall score over the points at that level — in a full grid, the
  average over every combination of the other parameters (Friedman's partial dependence,
  computed on the grid itself: Friedman 2001, "Greedy function approximation", §8.2).
- **A heat-map cell** (one level of each of two parameters): its winner is the substrate
  that won the most of the cell's points (ties: the substrate listed first in the
  scenario); its margin is the mean verdict margin of those points. In a two-key grid
  each cell is one point, and both are that point's verdict.
- **A flip**: two points that differ in one parameter only, at neighbouring levels of it,
  whose winners differ.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.errors import InputError
from underlay.report.results_db import ResultsDB

__all__ = [
    "MAX_LEVELS",
    "Cells",
    "Flip",
    "Levels",
    "SweepData",
    "cells",
    "describe",
    "flips",
    "levels",
    "load_sweep",
    "partial_dependence",
]

MAX_LEVELS = 20
"""Most levels a numeric parameter is shown with; more distinct values are binned."""

Value = bool | int | float | str | None


@dataclass(frozen=True)
class SweepData:
    """The points of one sweep that have a verdict, as arrays over points."""

    sweep_id: int
    scenario: str
    keys: tuple[str, ...]  # the grid's keys, in file order
    substrates: tuple[str, ...]  # in the scenario's order
    total: int  # points in the sweep
    failed: int  # points committed as failed (no verdict)
    point: NDArray[np.int64]  # (points,) each point's index in the sweep
    values: tuple[tuple[Value, ...], ...]  # [key][point] the point's value of each key
    winner: NDArray[np.int64]  # (points,) index into substrates; -1: no winner
    margin: NDArray[np.float64]  # (points,) the verdict's margin (NaN: none)
    tie: NDArray[np.bool_]  # (points,)
    scores: NDArray[np.float64]  # (points, substrates) overall score; NaN: none

    @property
    def size(self) -> int:
        """Points with a verdict."""
        return int(self.point.size)


@dataclass(frozen=True)
class Levels:
    """A parameter's levels (their labels) and each point's level."""

    key: str
    labels: tuple[str, ...]
    index: NDArray[np.int64]  # (points,) the level of each point
    binned: bool  # numeric values cut into bins


@dataclass(frozen=True)
class Cells:
    """A heat map over two parameters: per cell the winner and the mean margin."""

    rows: Levels  # y
    columns: Levels  # x
    winner: NDArray[np.int64]  # (rows, columns) substrate index; -1: no point there
    wins: NDArray[np.int64]  # (rows, columns) points the cell's winner won
    count: NDArray[np.int64]  # (rows, columns) points in the cell
    margin: NDArray[np.float64]  # (rows, columns) mean margin; NaN: no point


@dataclass(frozen=True)
class Flip:
    """Two neighbouring points (one parameter apart) with different winners."""

    key: str
    before: int  # point index in the sweep
    after: int
    value_before: Value
    value_after: Value
    others: str  # the other parameters' values, ``k=v, …``
    winner_before: str
    winner_after: str
    margin_before: float
    margin_after: float


def load_sweep(db: ResultsDB, sweep_id: int) -> SweepData:
    """Sweep ``sweep_id`` of ``db`` (InputError when the file has no such sweep)."""
    _, found = db.query(
        "SELECT parameters, scenario, points FROM sweeps WHERE sweep_id = ?", [sweep_id]
    )
    if not found:
        raise InputError(f"--report {sweep_id}: no such sweep (underlay results FILE lists them)")
    keys = tuple(str(k) for k in json.loads(found[0][0]))
    _, runs = db.query(
        "SELECT point, parameters, winner, margin, tie, status FROM runs "
        "WHERE sweep_id = ? ORDER BY point",
        [sweep_id],
    )
    done = [r for r in runs if r[5] == "done"]
    has_scores = "substrate_score_total" in db.columns
    score_sql = "any_value(substrate_score_total)" if has_scores else "NULL"
    _, rows = db.query(
        f"SELECT point, substrate, {score_sql}, min(rowid) AS first FROM results "
        "WHERE sweep_id = ? GROUP BY point, substrate ORDER BY first",
        [sweep_id],
    )
    substrates = _in_order([str(r[1]) for r in rows] + [str(r[2]) for r in done if r[2]])
    where = {name: j for j, name in enumerate(substrates)}
    position = {int(r[0]): i for i, r in enumerate(done)}
    scores = np.full((len(done), len(substrates)), np.nan)
    for point, substrate, score, _ in rows:
        if int(point) in position and score is not None:
            scores[position[int(point)], where[str(substrate)]] = float(score)
    params = [json.loads(r[1]) for r in done]
    return SweepData(
        sweep_id=sweep_id,
        scenario=str(found[0][1] or ""),
        keys=keys,
        substrates=tuple(substrates),
        total=int(found[0][2] or 0),
        failed=len(runs) - len(done),
        point=np.array([int(r[0]) for r in done], dtype=np.int64),
        values=tuple(tuple(p.get(k) for p in params) for k in keys),
        winner=np.array([where[r[2]] if r[2] else -1 for r in done], dtype=np.int64),
        margin=np.array([np.nan if r[3] is None else float(r[3]) for r in done]),
        tie=np.array([bool(r[4]) for r in done], dtype=np.bool_),
        scores=scores,
    )


def _in_order(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _is_number(v: Value) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _shown(v: Value) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def levels(data: SweepData, key: str) -> Levels:
    """The levels of parameter ``key`` and each point's level (see the module's rules)."""
    column = data.values[data.keys.index(key)]
    if column and all(_is_number(v) for v in column):
        numbers = np.array(column, dtype=np.float64)
        distinct = np.unique(numbers)
        if distinct.size <= MAX_LEVELS:
            index = np.searchsorted(distinct, numbers)
            shown = dict(zip(numbers.tolist(), column, strict=True))  # 1 stays 1, not 1.0
            labels = tuple(_shown(shown[float(x)]) for x in distinct)
            return Levels(key, labels, index.astype(np.int64), binned=False)
        low, high = float(distinct[0]), float(distinct[-1])
        width = (high - low) / MAX_LEVELS
        index = np.minimum(((numbers - low) / width).astype(np.int64), MAX_LEVELS - 1)
        mids = low + width * (np.arange(MAX_LEVELS) + 0.5)
        return Levels(key, tuple(f"{m:.4g}" for m in mids), index, binned=True)
    names = [_shown(v) for v in column]
    order = _in_order(names)
    at = {name: i for i, name in enumerate(order)}
    return Levels(key, tuple(order), np.array([at[n] for n in names], dtype=np.int64), False)


def partial_dependence(data: SweepData, key: str) -> tuple[Levels, NDArray[np.float64]]:
    """Each substrate's mean overall score at each level of ``key``: (levels, array of
    shape (substrates, levels); NaN where no point of that level has a score)."""
    lv = levels(data, key)
    n = len(lv.labels)
    known = ~np.isnan(data.scores)  # (points, substrates)
    out = np.full((len(data.substrates), n), np.nan)
    for j in range(len(data.substrates)):
        mask = known[:, j]
        sums = np.bincount(lv.index[mask], weights=data.scores[mask, j], minlength=n)
        counts = np.bincount(lv.index[mask], minlength=n)
        np.divide(sums, counts, out=out[j], where=counts > 0)
    return lv, out


def cells(data: SweepData, row_key: str, column_key: str) -> Cells:
    """The heat map of ``column_key`` (x) against ``row_key`` (y)."""
    rows, columns = levels(data, row_key), levels(data, column_key)
    shape = (len(rows.labels), len(columns.labels))
    ns = len(data.substrates)
    won = data.winner >= 0
    tally = np.zeros((*shape, ns + 1), dtype=np.int64)  # last slot: no winner
    np.add.at(tally, (rows.index, columns.index, np.where(won, data.winner, ns)), 1)
    count = tally.sum(axis=2)
    # argmax takes the first of equal counts: the substrate listed first
    best = tally[:, :, :ns].argmax(axis=2) if ns else np.zeros(shape, dtype=np.int64)
    wins = np.take_along_axis(tally[:, :, :ns], best[:, :, None], axis=2)[:, :, 0] if ns else best
    winner = np.where(wins > 0, best, -1)
    has = ~np.isnan(data.margin)
    sums = np.zeros(shape)
    hits = np.zeros(shape, dtype=np.int64)
    np.add.at(sums, (rows.index[has], columns.index[has]), data.margin[has])
    np.add.at(hits, (rows.index[has], columns.index[has]), 1)
    margin = np.full(shape, np.nan)
    np.divide(sums, hits, out=margin, where=hits > 0)
    return Cells(rows, columns, winner, np.where(wins > 0, wins, 0), count, margin)


def flips(data: SweepData) -> list[Flip]:
    """Every pair of points one parameter apart, at neighbouring levels, whose winners
    differ; by parameter (grid order), then by point."""
    all_levels = [levels(data, k) for k in data.keys]
    out: list[Flip] = []
    for a, lv in enumerate(all_levels):
        others = [b for b in range(len(data.keys)) if b != a]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i in range(data.size):  # per point, not per pod: a sweep has ~1,000
            groups.setdefault(tuple(int(all_levels[b].index[i]) for b in others), []).append(i)
        for members in groups.values():
            by_level: dict[int, int] = {}
            for i in members:  # one point a level (a sample may draw a value twice)
                by_level.setdefault(int(lv.index[i]), i)
            ordered = sorted(by_level.items())
            for (la, i), (lb, j) in itertools.pairwise(ordered):
                if lb == la + 1 and data.winner[i] != data.winner[j]:
                    out.append(_flip(data, a, others, i, j))
    return sorted(out, key=lambda f: (data.keys.index(f.key), f.before, f.after))


def _flip(data: SweepData, a: int, others: list[int], i: int, j: int) -> Flip:
    def name(k: int) -> str:
        w = int(data.winner[k])
        return data.substrates[w] if w >= 0 else "none"

    return Flip(
        key=data.keys[a],
        before=int(data.point[i]),
        after=int(data.point[j]),
        value_before=data.values[a][i],
        value_after=data.values[a][j],
        others=", ".join(f"{data.keys[b]}={_shown(data.values[b][i])}" for b in others),
        winner_before=name(i),
        winner_after=name(j),
        margin_before=float(data.margin[i]),
        margin_after=float(data.margin[j]),
    )


def describe(value: Any) -> str:
    """A parameter's value as the report shows it."""
    return _shown(value)
