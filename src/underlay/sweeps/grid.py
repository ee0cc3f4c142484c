"""Sweep grids: the YAML file that maps dotted scenario paths to values, and its points.

A grid file maps a dotted path in the scenario (``weights.cost``,
``overrides.hypervisors.kvm.cpu_overhead_percent``, ``tenants.web.workloads.api.replicas``)
or ``seed`` (the scenario's ``simulation.seed``) to a list of values; every combination
is a point, in file order (the last key varies fastest). With a sample (random or Latin
hypercube), a key may also map to a range ``{min: A, max: B}`` (integers when both are);
a list is then a set of choices drawn from.

In a path, a list of named items (tenants, clusters, workloads, substrates, host models)
is entered by an item's ``name`` (or by its position, from 0); a missing mapping key is
created, so ``weights.cost`` works on a scenario that sets no weights. Whether the value
is right is the scenario's own validation, run for every point before any is run.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from underlay.errors import InputError
from underlay.files import read_text
from underlay.model.strict_yaml import clip, parse_yaml

__all__ = [
    "MAX_POINTS",
    "SAMPLES",
    "Axis",
    "Grid",
    "apply_point",
    "load_grid",
    "parse_grid",
    "points",
]

MAX_POINTS = 1_000_000
"""Most points one sweep may hold (a typo like ``range(10**9)`` is refused, not run)."""

SAMPLES = ("random", "lhs")
"""Sampling methods: uniform random draws, or a Latin hypercube (one draw per stratum)."""

Scalar = bool | int | float | str


@dataclass(frozen=True)
class Axis:
    """One key of the grid: its dotted path, its line, and its values or its range."""

    key: str  # as written in the grid file
    path: tuple[str, ...]  # in the scenario (``seed`` → simulation.seed)
    line: int  # 1-based line of the key in the grid file
    values: tuple[Scalar, ...] = ()  # the list given (empty for a range)
    low: float | None = None  # range: {min, max}
    high: float | None = None
    integer: bool = False  # a range of integers (both ends are)

    @property
    def is_range(self) -> bool:
        """True when the key maps to ``{min, max}``, not to a list."""
        return self.low is not None


@dataclass(frozen=True)
class Grid:
    """A parsed grid file: its axes in file order, and where it came from."""

    source: str
    axes: tuple[Axis, ...]

    def where(self, key: str) -> str:
        """``grid.yaml: line 3: weights.cost`` for messages about ``key``."""
        axis = next(a for a in self.axes if a.key == key)
        return f"{self.source}: line {axis.line}: {key}"


def load_grid(path: Path) -> Grid:
    """Read and check the grid file at ``path`` (InputError naming the line and key)."""
    text = read_text(path, InputError, "a YAML sweep grid", max_bytes=2**20)
    return parse_grid(text, str(path))


def parse_grid(text: str, source: str) -> Grid:
    """Check grid YAML ``text``; ``source`` names it in messages."""
    root, data = parse_yaml(text, source)
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict) or not data:
        raise InputError(
            f"{source}: a grid maps dotted scenario paths to lists of values, e.g. "
            "`weights.cost: [1, 2]`"
        )
    axes: list[Axis] = []
    for (key_node, _), (key, value) in zip(root.value, data.items(), strict=True):
        axis = _axis(source, str(key), key_node.start_mark.line + 1, value)
        same = next((a for a in axes if a.path == axis.path), None)
        if same is not None:  # `seed` and `simulation.seed`: one field set twice
            raise InputError(
                f"{source}: line {axis.line}: {axis.key}: the same field as {same.key} "
                f"(line {same.line}); give it once"
            )
        axes.append(axis)
    return Grid(source, tuple(axes))


def _axis(source: str, key: str, line: int, value: Any) -> Axis:
    where = f"{source}: line {line}: {key}"
    parts = tuple(key.split("."))
    if not key or any(not p.strip() for p in parts):
        raise InputError(f"{where}: not a dotted path (e.g. weights.cost)")
    path = ("simulation", "seed") if key == "seed" else parts
    if isinstance(value, dict):
        if set(value) != {"min", "max"}:
            raise InputError(f"{where}: a range is {{min: A, max: B}}, got keys {sorted(value)}")
        low, high = value["min"], value["max"]
        if not all(_number(x) for x in (low, high)) or not low <= high:
            raise InputError(f"{where}: a range needs numbers with min <= max, got {value}")
        both_int = isinstance(low, int) and isinstance(high, int)
        return Axis(key, path, line, low=float(low), high=float(high), integer=both_int)
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: expected a list of values (e.g. [1, 2]), got {clip(value)}")
    for v in value:
        if not isinstance(v, bool | int | float | str):
            raise InputError(
                f"{where}: each value must be a number, text or true/false, got {clip(v)}"
            )
    if len(set(map(repr, value))) != len(value):
        raise InputError(f"{where}: a value is listed twice")
    return Axis(key, path, line, values=tuple(value))


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def points(
    grid: Grid, *, sample: str | None = None, count: int | None = None, seed: int = 0
) -> list[dict[str, Scalar]]:
    """The grid's points: every combination, or ``count`` sampled ones (``sample``)."""
    if sample is None:
        ranged = [a for a in grid.axes if a.is_range]
        if ranged:
            raise InputError(
                f"{grid.where(ranged[0].key)}: a {{min, max}} range needs --sample random|lhs"
                " --points N (a grid takes lists)"
            )
        total = math.prod(len(a.values) for a in grid.axes)
        if total > MAX_POINTS:
            raise InputError(f"{grid.source}: {total:,} points; at most {MAX_POINTS:,}")
        keys = [a.key for a in grid.axes]
        return [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(a.values for a in grid.axes))
        ]
    if sample not in SAMPLES:
        raise InputError(f"--sample: unknown {sample!r} (known: {', '.join(SAMPLES)})")
    if count is None or not 1 <= count <= MAX_POINTS:
        raise InputError(f"--points: a sample needs 1 to {MAX_POINTS:,} points, got {count}")
    rng = random.Random(seed)
    columns = [_draws(a, sample, count, rng) for a in grid.axes]
    return [
        {a.key: col[i] for a, col in zip(grid.axes, columns, strict=True)} for i in range(count)
    ]


def _draws(axis: Axis, sample: str, count: int, rng: random.Random) -> list[Scalar]:
    """``count`` values of ``axis``: uniform draws, or one per stratum in shuffled order."""
    if sample == "lhs":
        order = list(range(count))
        rng.shuffle(order)
        unit = [(k + rng.random()) / count for k in order]
    else:
        unit = [rng.random() for _ in range(count)]
    if not axis.is_range:
        n = len(axis.values)
        return [axis.values[min(int(u * n), n - 1)] for u in unit]
    assert axis.low is not None and axis.high is not None
    if axis.integer:  # each integer of [min, max] an equal share of [0, 1)
        span = int(axis.high) - int(axis.low) + 1
        return [int(axis.low) + min(int(u * span), span - 1) for u in unit]
    return [axis.low + u * (axis.high - axis.low) for u in unit]


def apply_point(data: dict[str, Any], grid: Grid, point: dict[str, Scalar]) -> dict[str, Any]:
    """A copy of raw scenario ``data`` with ``point``'s values set at their paths."""
    import copy

    out = copy.deepcopy(data)
    for axis in grid.axes:
        _set(out, axis.path, point[axis.key], grid.where(axis.key))
    return out


def _set(data: dict[str, Any], path: Sequence[str], value: Scalar, where: str) -> None:
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        node = _enter(node, part, path[: depth + 1], where)
    last = path[-1]
    if isinstance(node, list):
        raise InputError(f"{where}: {'.'.join(path[:-1])} is a list; name an item of it")
    node[last] = value


def _enter(node: Any, part: str, done: Sequence[str], where: str) -> Any:
    """The child ``part`` of ``node``: a mapping's key (created when missing), or a list's
    item by name or position."""
    shown = ".".join(done)
    if isinstance(node, dict):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict | list):
            raise InputError(f"{where}: {shown} is a value ({clip(child)}), not a mapping")
        return child
    if isinstance(node, list):
        shown = ".".join(done[:-1])
        named = [i for i, item in enumerate(node) if _name(item) == part]
        if len(named) == 1:
            return node[named[0]]
        if len(named) > 1:
            raise InputError(f"{where}: {shown}: {len(named)} items are named {part!r}")
        if part.isdigit() and int(part) < len(node):
            return node[int(part)]
        names = [str(_name(i)) for i in node if _name(i) is not None]
        known = f"names: {', '.join(names)}" if names else f"positions 0 to {len(node) - 1}"
        raise InputError(f"{where}: {shown}: no item named {part!r} ({known})")
    raise InputError(f"{where}: {shown} is a value ({clip(node)}), not a mapping")


def _name(item: Any) -> Any:
    """A list item's name: its ``name``, else its ``kind`` (an unnamed substrate's label)."""
    if not isinstance(item, dict):
        return None
    return item.get("name", item.get("kind"))
