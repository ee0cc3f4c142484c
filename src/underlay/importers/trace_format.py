"""underlay's trace format: absolute usage of pods over time.

The format is a UTF-8 CSV with the header ``series,time_s,cpu_cores,memory_mib``:

* ``series``: the name of one pod's usage series, at most 253 characters (a scenario
  workload lists the series its replicas replay, one per replica, cycled when there
  are fewer);
* ``time_s``: seconds from the trace's start, strictly increasing within a series;
* ``cpu_cores``: CPU used at that time, in cores (``0.25`` = 250m);
* ``memory_mib``: memory used at that time, in MiB.

Ranges (:data:`TRACE_BOUNDS`): ``time_s`` 0 to ten years, ``cpu_cores`` 0 to 4,096,
``memory_mib`` 0 to 64 TiB; ``nan``, ``inf`` and anything beyond is an error. The writer
refuses the same (a bug in an importer), so every trace written reads back.

Rows are grouped by series (the writer sorts them by series name, then time); the
sampling interval is free, the simulator resamples. Extra columns are ignored, so the
format can grow. :func:`read_trace` is strict: every problem raises
:class:`~underlay.errors.TraceError` naming the file, the line, the column and what is
wrong.

Turning usage series into scenarios is :mod:`underlay.importers.trace_import`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.errors import TraceError
from underlay.files import atomic_writer, open_text
from underlay.importers.ranges import (
    MAX_CORES,
    MAX_MEMORY_MIB,
    MAX_NAME,
    MAX_TRACE_TIME_S,
    Bounds,
    csv_table,
    parse_numbers,
    text_column,
)

__all__ = [
    "TRACE_BOUNDS",
    "TRACE_COLUMNS",
    "ProgressCallback",
    "Series",
    "TraceSeries",
    "read_trace",
    "write_trace",
]

F64 = npt.NDArray[np.float64]
Series = tuple[str, F64, F64, F64]
"""One series to write: ``(name, time_s, cpu_cores, memory_mib)``."""
ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while an importer reads (units are its own)."""

TRACE_COLUMNS: Final = ("series", "time_s", "cpu_cores", "memory_mib")
"""The columns of the trace format, in the order the writer puts them."""

# Decimals written per column: milliseconds, micro-cores, KiB-ish. Fixed decimals (not
# repr) so the same arrays always give the same bytes, whatever the platform.
_DECIMALS: Final = {"time_s": 3, "cpu_cores": 6, "memory_mib": 3}

TRACE_BOUNDS: Final = {
    "time_s": Bounds(0, MAX_TRACE_TIME_S, " s"),
    "cpu_cores": Bounds(0, MAX_CORES, " cores"),
    "memory_mib": Bounds(0, MAX_MEMORY_MIB, " MiB"),
}
"""The range of each numeric column: time up to ten years from the start, CPU up to the
4,096 cores of the largest host, memory up to 64 TiB (the scenario model's bounds)."""


@dataclass(frozen=True, eq=False)
class TraceSeries:
    """One series of a trace: usage samples of one pod, in time order."""

    time_s: F64
    """Seconds from the trace's start, strictly increasing."""
    cpu_cores: F64
    """CPU used, cores."""
    memory_mib: F64
    """Memory used, MiB."""

    def __len__(self) -> int:
        """Number of samples."""
        return int(self.time_s.shape[0])


# ------------------------------------------------------------------------------ writing


def _fmt(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _check_series(name: str, time_s: F64, cpu: F64, mem: F64) -> None:
    """Writing is for importers' computed data: a problem is a bug, hence ValueError."""
    if not name or name != name.strip() or any(c in name for c in "\r\n"):
        raise ValueError(f"series name {name!r}: must be non-empty, one line, no edge spaces")
    if not (time_s.ndim == cpu.ndim == mem.ndim == 1):
        raise ValueError(f"series {name!r}: arrays must be one-dimensional")
    if not (len(time_s) == len(cpu) == len(mem)) or len(time_s) == 0:
        raise ValueError(f"series {name!r}: needs equally long, non-empty arrays")
    for label, values in (("time_s", time_s), ("cpu_cores", cpu), ("memory_mib", mem)):
        bounds = TRACE_BOUNDS[label]
        if not np.all(np.isfinite(values)) or np.any(values < 0) or np.any(values > bounds.high):
            raise ValueError(f"series {name!r}: {label} must be {bounds.describe()}")
    rounded = np.round(time_s, _DECIMALS["time_s"])
    if np.any(np.diff(rounded) <= 0):
        raise ValueError(f"series {name!r}: time_s must increase (at millisecond resolution)")


def write_trace(path: str | Path, series: Sequence[tuple[str, Any, Any, Any]]) -> None:
    """Write ``series`` (``(name, time_s, cpu_cores, memory_mib)``, arrays of equal
    length) to ``path`` in the trace format, sorted by series name, atomically (through
    a temporary file beside it, so no half-written trace is ever left).

    Numbers are written with fixed decimals (time ms, CPU micro-cores, memory 1/1000
    MiB), trailing zeros dropped: the same arrays always give the same bytes.
    Raises ``ValueError`` for data that is not a valid trace (a bug in the caller) and
    :class:`~underlay.errors.InputError` when the file cannot be written.
    """
    target = Path(path)
    prepared: list[tuple[str, F64, F64, F64]] = []
    seen: set[str] = set()
    for name, t, c, m in series:
        arrays = [np.asarray(a, dtype=np.float64) for a in (t, c, m)]
        _check_series(name, *arrays)
        if name in seen:
            raise ValueError(f"series {name!r} given twice")
        seen.add(name)
        prepared.append((name, arrays[0], arrays[1], arrays[2]))
    if not prepared:
        raise ValueError("a trace needs at least one series")
    prepared.sort(key=lambda s: s[0])
    dt, dc, dm = _DECIMALS["time_s"], _DECIMALS["cpu_cores"], _DECIMALS["memory_mib"]
    with atomic_writer(target) as handle:  # all of it or nothing, whatever stops it
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TRACE_COLUMNS)
        for name, t, c, m in prepared:
            writer.writerows(
                (name, _fmt(a, dt), _fmt(b, dc), _fmt(d, dm))
                for a, b, d in zip(t.tolist(), c.tolist(), m.tolist(), strict=True)
            )


# ------------------------------------------------------------------------------ reading


def _trace_table(path: Path) -> tuple[list[int], list[list[str]]]:
    """The line number and fields of every data row, after checking the header; the
    fields are ``series,time_s,cpu_cores,memory_mib`` whatever the file's column order."""
    handle = open_text(path, TraceError, "a trace CSV file", missing="trace file")

    def header(first: list[str] | None) -> list[str]:
        if first is None or not any(h.strip() for h in first):
            raise TraceError(
                f"{path}, line 1: empty file; expected the header {','.join(TRACE_COLUMNS)}"
            )
        names = [h.strip().lstrip("\ufeff") for h in first]
        missing = [c for c in TRACE_COLUMNS if c not in names]
        if missing:
            # Not a trace (or a broken one): say what is missing, never quote the
            # line, which may be the first line of any file on the machine.
            raise TraceError(
                f"{path}, line 1: missing column(s) {', '.join(map(repr, missing))}; "
                f"expected the header {','.join(TRACE_COLUMNS)} (is it a trace file?)"
            )
        if len(set(names)) < len(names):
            twice = next(n for i, n in enumerate(names) if n in names[:i])
            raise TraceError(f"{path}, line 1, column {twice!r}: appears twice")
        return names

    names, lines, cells = csv_table(path, handle, header)
    return lines, [cells[names.index(c)] for c in TRACE_COLUMNS]


def read_trace(path: str | Path) -> dict[str, TraceSeries]:
    """Read a trace file: series name → :class:`TraceSeries`, in file order.

    Strict: a missing column, a value that is not a number, not finite or outside its
    range (:data:`TRACE_BOUNDS`), time not increasing within a series, a series whose
    rows are not together, or a file with no rows raises
    :class:`~underlay.errors.TraceError` naming file, line and column. The columns are
    checked whole, in NumPy.
    """
    file = Path(path)
    lines, (names, times, cpus, mems) = _trace_table(file)
    if not lines:
        raise TraceError(f"{file}, line 2: no rows; a trace needs at least one sample")
    series = text_column(file, lines, "series", names, MAX_NAME, required="series name")
    t = parse_numbers(file, lines, "time_s", times, TRACE_BOUNDS["time_s"])
    cpu = parse_numbers(file, lines, "cpu_cores", cpus, TRACE_BOUNDS["cpu_cores"])
    mem = parse_numbers(file, lines, "memory_mib", mems, TRACE_BOUNDS["memory_mib"])
    same = series[1:] == series[:-1]
    backwards = same & (np.diff(t) <= 0)
    if backwards.any():
        i = int(np.argmax(backwards)) + 1
        raise TraceError(
            f"{file}, line {lines[i]}, column 'time_s': {t[i]:.15g} does not increase "
            f"(previous sample of series {str(series[i])!r} is at {t[i - 1]:.15g}); rows must "
            "be sorted by time within a series, without duplicates"
        )
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    ends = np.append(starts[1:], len(series))
    out: dict[str, TraceSeries] = {}
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        name = str(series[start])
        if name in out:
            first = next(lines[s] for s in starts.tolist() if str(series[s]) == name)
            raise TraceError(
                f"{file}, line {lines[start]}, column 'series': series {name!r} started on "
                f"line {first} and was interrupted; rows must be grouped by series "
                "(sorted by series, then time)"
            )
        out[name] = TraceSeries(
            time_s=t[start:end].copy(),
            cpu_cores=cpu[start:end].copy(),
            memory_mib=mem[start:end].copy(),
        )
    return out
