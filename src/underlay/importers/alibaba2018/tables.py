"""The Alibaba cluster trace v2018's tables, read strictly: ``machine_meta``,
``machine_usage``, ``container_meta`` and ``container_usage`` (CSV without a header; the
columns, ranges and invalid-sample rules are in :mod:`underlay.importers.alibaba2018`).

Rows are streamed (the usage tables are tens of GB whole); the columns read are then
checked whole in NumPy against :data:`ALIBABA_BOUNDS`, each problem a
:class:`~underlay.errors.TraceError` naming file, line and column.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.errors import TraceError
from underlay.files import not_utf8, open_text
from underlay.importers.ranges import (
    MAX_CORES,
    MAX_NAME,
    MAX_TRACE_TIME_S,
    Bounds,
    parse_numbers,
    refuse_nul,
    text_column,
)
from underlay.importers.trace_format import ProgressCallback

__all__ = [
    "ALIBABA_BOUNDS",
    "CONTAINER_META_COLUMNS",
    "CONTAINER_USAGE_COLUMNS",
    "MACHINE_META_COLUMNS",
    "MACHINE_USAGE_COLUMNS",
    "MAX_CONTAINER_CPU_PERCENT",
    "ContainerMeta",
    "MachineMeta",
    "UsageSamples",
    "UsageStats",
    "read_container_meta",
    "read_machine_meta",
    "read_usage",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _columns(header: str) -> tuple[str, ...]:
    return tuple(header.split(","))


# The tables' columns as schema.txt lists them (the files have no header line).
MACHINE_META_COLUMNS: Final = _columns(
    "machine_id,time_stamp,failure_domain_1,failure_domain_2,cpu_num,mem_size,status"
)
MACHINE_USAGE_COLUMNS: Final = _columns(
    "machine_id,time_stamp,cpu_util_percent,mem_util_percent,mem_gps,mkpi,net_in,net_out,"
    "disk_io_percent"
)
CONTAINER_META_COLUMNS: Final = _columns(
    "container_id,machine_id,time_stamp,app_du,status,cpu_request,cpu_limit,mem_size"
)
CONTAINER_USAGE_COLUMNS: Final = _columns(
    "container_id,machine_id,time_stamp,cpu_util_percent,mem_util_percent,cpi,mem_gps,mpki,"
    "net_in,net_out,disk_io_percent"
)

MAX_CONTAINER_CPU_PERCENT: Final = 10_000
"""Most CPU a container may use, % of its request (100 times it; more is a typo)."""
_PROGRESS_EVERY: Final = 50_000  # lines between progress reports

_TIME = Bounds(0, MAX_TRACE_TIME_S, " s from the trace's start")
_INVALID = " (-1 or 101: an invalid sample)"
ALIBABA_BOUNDS: Final = {
    "time_stamp": _TIME,
    "cpu_num": Bounds(1, MAX_CORES, " cores", whole=True),
    "mem_size": Bounds(0, 100, " (normalised)", above_low=True),
    "cpu_request": Bounds(0, MAX_CORES * 100, " (100 = 1 core)", whole=True),
    "cpu_limit": Bounds(0, MAX_CORES * 100, " (100 = 1 core)", whole=True),
    "container_mem_size": Bounds(0, 100, " (normalised)"),
    "machine_cpu_util_percent": Bounds(0, 100, "%" + _INVALID),
    "machine_mem_util_percent": Bounds(0, 100, "%" + _INVALID),
    "container_cpu_util_percent": Bounds(
        0, MAX_CONTAINER_CPU_PERCENT, "% of the request (-1: invalid)"
    ),
    "container_mem_util_percent": Bounds(0, 100, "% (-1: invalid)"),
}
"""The range of each numeric column read: times up to ten years from the trace's start
(it spans 8 days); 1 to 4,096 cores; normalised memory sizes more than 0 (machines) or
0 or more (containers) and at most 100; container CPU requests and limits 0 to 4,096
cores (409,600); machine percentages 0 to 100; container CPU 0 to 10,000% of the
request (a container may use more than it requested), memory 0 to 100% of its size.
The columns not listed are not read."""


@dataclass(frozen=True)
class MachineMeta:
    """A machine's capacity and failure domains (largest values over its meta rows)."""

    cpu_num: int
    """Cores."""
    mem_size: float
    """Normalised memory size, 0–100 (100 = the largest machine)."""
    failure_domain_1: str
    """First-level failure domain (a rack, roughly), from its last row."""
    failure_domain_2: str
    """Second-level failure domain, from its last row."""


@dataclass(frozen=True)
class ContainerMeta:
    """A container's placement and size (from its last meta row)."""

    machine_id: str
    app_du: str
    """Application group (deploy unit)."""
    cpu_request: int
    """100 = 1 core."""
    cpu_limit: int
    """100 = 1 core."""
    mem_size: float
    """Normalised like the machines' ``mem_size``."""


@dataclass(frozen=True, eq=False)
class UsageSamples:
    """Usage of one machine or container, sorted by time, invalid samples dropped."""

    time_s: F64
    cpu_percent: F64
    mem_percent: F64
    lines: I64
    """The line of the file each sample was read from."""


@dataclass
class UsageStats:
    """Samples dropped while reading a usage table, and ids left out."""

    invalid: int = 0
    at_zero: int = 0
    duplicates: int = 0
    skipped_ids: int = 0


def _records(
    path: Path,
    columns: tuple[str, ...],
    progress: ProgressCallback | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of a headerless CSV; TraceError on a wrong field count."""
    handle = open_text(path, TraceError, "a CSV table")
    total = os.fstat(handle.fileno()).st_size
    done = 0
    width = len(columns)
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                done += len(line)
                if progress is not None and number % _PROGRESS_EVERY == 0:
                    progress(min(done, total), total)
                if "\x00" in line:
                    refuse_nul(path, line, number - 1)
                fields = line.rstrip("\r\n").split(",")
                if len(fields) != width:
                    if not line.strip():
                        continue
                    raise TraceError(
                        f"{path}, line {number}: expected {width} fields "
                        f"({','.join(columns)}), found {len(fields)}"
                    )
                yield number, fields
        except UnicodeDecodeError:
            raise not_utf8(path, TraceError) from None
    if progress is not None:
        progress(total, total)


_NO_HEADER: Final = " (these tables have no header line)"


def _numbers(
    path: Path,
    lines: list[int],
    column: str,
    cells: list[str],
    bounds: Bounds,
    **blank: Any,
) -> F64:
    """:func:`parse_numbers`, with a hint when line 1 looks like a header."""
    try:
        return parse_numbers(path, lines, column, cells, bounds, **blank)
    except TraceError as exc:
        if f"{path}, line 1, " in str(exc) and "is not a number" in str(exc):
            text = str(exc).replace("is not a number", f"is not a number{_NO_HEADER}", 1)
            raise TraceError(text) from None
        raise


def _ids(path: Path, lines: list[int], column: str, cells: list[str]) -> npt.NDArray[np.str_]:
    """The id column, stripped; TraceError naming the first empty or overlong id."""
    return text_column(path, lines, column, cells, MAX_NAME, required="id")


def _last_rows(ids: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.str_], I64, I64]:
    """Distinct ids (sorted), each row's index into them, and each id's last row."""
    keys, inverse = np.unique(ids, return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    last = np.full(len(keys), -1, dtype=np.int64)
    np.maximum.at(last, inverse, np.arange(len(ids), dtype=np.int64))
    return keys, inverse, last


def _meta_table(file: Path, columns: tuple[str, ...]) -> tuple[list[int], list[list[str]]]:
    """The line of every row of a meta table and the cells of every column."""
    lines: list[int] = []
    cells: list[list[str]] = [[] for _ in columns]
    for line, fields in _records(file, columns):
        lines.append(line)
        for column, cell in zip(cells, fields, strict=True):
            column.append(cell)
    if not lines:
        raise TraceError(f"{file}, line 1: no rows")
    return lines, cells


def read_machine_meta(path: str | Path) -> dict[str, MachineMeta]:
    """Read ``machine_meta``: machine id → capacity and failure domains (ranges:
    :data:`ALIBABA_BOUNDS`, checked per column in NumPy)."""
    file = Path(path)
    lines, cells = _meta_table(file, MACHINE_META_COLUMNS)
    ids = _ids(file, lines, "machine_id", cells[0])
    _numbers(file, lines, "time_stamp", cells[1], ALIBABA_BOUNDS["time_stamp"])
    cpu = _numbers(file, lines, "cpu_num", cells[4], ALIBABA_BOUNDS["cpu_num"])
    mem = _numbers(file, lines, "mem_size", cells[5], ALIBABA_BOUNDS["mem_size"])
    keys, inverse, last = _last_rows(ids)
    cpu_max = np.zeros(len(keys))
    mem_max = np.zeros(len(keys))
    np.maximum.at(cpu_max, inverse, cpu)
    np.maximum.at(mem_max, inverse, mem)
    return {
        str(key): MachineMeta(
            cpu_num=int(c),
            mem_size=float(m),
            failure_domain_1=cells[2][row].strip(),
            failure_domain_2=cells[3][row].strip(),
        )
        for key, c, m, row in zip(
            keys, cpu_max.tolist(), mem_max.tolist(), last.tolist(), strict=True
        )
    }


def read_container_meta(path: str | Path) -> dict[str, ContainerMeta]:
    """Read ``container_meta``: container id → machine, app group and size (last row;
    ranges: :data:`ALIBABA_BOUNDS`)."""
    file = Path(path)
    lines, cells = _meta_table(file, CONTAINER_META_COLUMNS)
    ids = _ids(file, lines, "container_id", cells[0])
    machines = _ids(file, lines, "machine_id", cells[1])
    _numbers(file, lines, "time_stamp", cells[2], ALIBABA_BOUNDS["time_stamp"])
    apps = _ids(file, lines, "app_du", cells[3])
    request = _numbers(file, lines, "cpu_request", cells[5], ALIBABA_BOUNDS["cpu_request"])
    limit = _numbers(file, lines, "cpu_limit", cells[6], ALIBABA_BOUNDS["cpu_limit"])
    mem = _numbers(file, lines, "mem_size", cells[7], ALIBABA_BOUNDS["container_mem_size"])
    keys, _, last = _last_rows(ids)
    order = np.argsort(last, kind="stable")  # file order of each container's last row
    return {
        str(keys[k]): ContainerMeta(
            str(machines[row]), str(apps[row]), int(request[row]), int(limit[row]), float(mem[row])
        )
        for k, row in zip(order.tolist(), last[order].tolist(), strict=True)
    }


def read_usage(
    path: str | Path,
    *,
    containers: bool = False,
    wanted: set[str] | None = None,
    limit: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[dict[str, UsageSamples], UsageStats]:
    """Read ``machine_usage`` (or, with ``containers``, ``container_usage``).

    Keeps the ids in ``wanted`` (all when None), at most the first ``limit`` distinct
    ids in file order. Blank, -1 and (machines only) 101 percentages are invalid and
    dropped, as are samples at time 0; each series is sorted by time and keeps the first
    of duplicate timestamps. The columns read are checked whole against
    :data:`ALIBABA_BOUNDS`; the others are not read.
    """
    file = Path(path)
    columns = CONTAINER_USAGE_COLUMNS if containers else MACHINE_USAGE_COLUMNS
    first = 3 if containers else 2  # index of cpu_util_percent
    invalid_values = (-1.0,) if containers else (-1.0, 101.0)
    codes: dict[str, int] = {}
    skipped: set[str] = set()
    lines: list[int] = []
    series: list[int] = []
    cells: tuple[list[str], list[str], list[str]] = ([], [], [])
    for line, f in _records(file, columns, progress):
        key = f[0].strip()
        code = codes.get(key)
        if code is None:
            full = limit is not None and len(codes) >= limit
            if full or (wanted is not None and key not in wanted):
                skipped.add(key)
                continue
            text_column(file, [line], columns[0], [key], MAX_NAME, required="id")
            code = codes[key] = len(codes)
        lines.append(line)
        series.append(code)
        for column, cell in zip(cells, f[first - 1 : first + 2], strict=True):
            column.append(cell)
    if not lines and not skipped:
        raise TraceError(f"{file}, line 1: no rows")
    stats = UsageStats(skipped_ids=len(skipped))
    pct = "container" if containers else "machine"
    t = _numbers(file, lines, "time_stamp", cells[0], ALIBABA_BOUNDS["time_stamp"])
    read = columns[first : first + 2]
    bounds = [ALIBABA_BOUNDS[f"{pct}_{column}"] for column in read]
    cpu, mem = (
        _numbers(file, lines, c, text, b, blank=math.nan, sentinels=invalid_values)
        for c, text, b in zip(read, cells[1:], bounds, strict=True)
    )
    invalid = np.isnan(cpu) | np.isnan(mem) | np.isin(cpu, invalid_values)
    invalid |= np.isin(mem, invalid_values)
    at_zero = ~invalid & (t == 0)  # the trace's "before or after the 8-day span"
    keep = ~invalid & ~at_zero
    stats.invalid, stats.at_zero = int(invalid.sum()), int(at_zero.sum())
    code = np.asarray(series, dtype=np.int64)[keep]
    row = np.asarray(lines, dtype=np.int64)[keep]
    t, cpu, mem = t[keep], cpu[keep], mem[keep]
    order = np.lexsort((t, code))  # stable: duplicates keep file order
    code, row, t, cpu, mem = code[order], row[order], t[order], cpu[order], mem[order]
    new = np.ones(len(code), dtype=bool)
    new[1:] = (np.diff(code) != 0) | (np.diff(t) > 0)
    stats.duplicates = int(len(new) - np.count_nonzero(new))
    code, row, t, cpu, mem = code[new], row[new], t[new], cpu[new], mem[new]
    starts = np.flatnonzero(np.diff(code, prepend=-1) != 0)
    ends = np.append(starts[1:], len(code))[: len(starts)]
    names = list(codes)
    return {
        names[int(code[a])]: UsageSamples(t[a:b], cpu[a:b], mem[a:b], row[a:b])
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    }, stats
