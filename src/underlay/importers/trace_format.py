"""underlay's trace format: absolute usage of pods over time, and the import helpers
shared by the trace importers (Bitbrains, Alibaba 2018, PlanetLab).

The format is a UTF-8 CSV with the header ``series,time_s,cpu_cores,memory_mib``:

* ``series``: the name of one pod's usage series (a scenario workload lists the series
  its replicas replay, one per replica, cycled when there are fewer);
* ``time_s``: seconds from the trace's start, strictly increasing within a series;
* ``cpu_cores``: CPU used at that time, in cores (``0.25`` = 250m);
* ``memory_mib``: memory used at that time, in MiB.

Rows are grouped by series (the writer sorts them by series name, then time); the
sampling interval is free, the simulator resamples. Extra columns are ignored, so the
format can grow. :func:`read_trace` is strict: every problem raises
:class:`~underlay.errors.TraceError` naming the file, the line, the column and what is
wrong.

The helpers at the end turn usage series into workload requests by one documented rule
(:func:`requests_from_usage`) and write an imported scenario and its trace together,
atomically (:func:`write_import`).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.errors import InputError, TraceError

__all__ = [
    "REQUEST_RULE",
    "TRACE_COLUMNS",
    "ImportedTrace",
    "ProgressCallback",
    "Series",
    "TraceSeries",
    "build_scenario",
    "count_gaps",
    "cpu_quantity",
    "dump_yaml",
    "host_model",
    "memory_option",
    "memory_quantity",
    "read_trace",
    "requests_from_usage",
    "trace_path_for",
    "validate_import",
    "workload_names",
    "write_import",
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
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"series {name!r}: {label} must be finite and >= 0")
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
    tmp = target.with_name(f".{target.name}.tmp")
    dt, dc, dm = _DECIMALS["time_s"], _DECIMALS["cpu_cores"], _DECIMALS["memory_mib"]
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(TRACE_COLUMNS)
            for name, t, c, m in prepared:
                writer.writerows(
                    (name, _fmt(a, dt), _fmt(b, dc), _fmt(d, dm))
                    for a, b, d in zip(t.tolist(), c.tolist(), m.tolist(), strict=True)
                )
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{target}: cannot write ({exc.strerror or exc})") from None


# ------------------------------------------------------------------------------ reading


def _number(path: Path, line: int, column: str, text: str) -> float:
    where = f"{path}, line {line}, column {column!r}"
    value = text.strip()
    if not value:
        raise TraceError(f"{where}: empty, expected a number")
    try:
        number = float(value)
    except ValueError:
        raise TraceError(f"{where}: {value[:40]!r} is not a number") from None
    if not math.isfinite(number):
        raise TraceError(f"{where}: {value[:40]!r} is not a finite number")
    if number < 0:
        raise TraceError(f"{where}: {value[:40]!r} is negative, expected >= 0")
    return number


def _trace_rows(path: Path) -> Iterator[tuple[int, list[str], dict[str, int]]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(f"{path}: no such trace file") from None
    except IsADirectoryError:
        raise TraceError(f"{path}: is a directory, expected a trace CSV file") from None
    except OSError as exc:
        raise TraceError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise TraceError(
                    f"{path}, line 1: empty file; expected the header {','.join(TRACE_COLUMNS)}"
                )
            names = [h.strip().lstrip("\ufeff") for h in header]
            index: dict[str, int] = {}
            for i, name in enumerate(names):
                if name in index:
                    raise TraceError(f"{path}, line 1, column {name!r}: appears twice")
                index[name] = i
            missing = [c for c in TRACE_COLUMNS if c not in index]
            if missing:
                raise TraceError(
                    f"{path}, line 1: missing column(s) {', '.join(map(repr, missing))} "
                    f"(found: {','.join(names)[:200]}); expected {','.join(TRACE_COLUMNS)}"
                )
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue  # blank line
                if len(fields) != len(names):
                    raise TraceError(
                        f"{path}, line {reader.line_num}: expected {len(names)} fields as in "
                        f"the header, found {len(fields)}"
                    )
                yield reader.line_num, fields, index
        except csv.Error as exc:
            raise TraceError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise TraceError(f"{path}: not UTF-8 text ({exc.reason})") from None


def read_trace(path: str | Path) -> dict[str, TraceSeries]:
    """Read a trace file: series name → :class:`TraceSeries`, in file order.

    Strict: a missing column, a non-numeric, non-finite or negative value, time not
    increasing within a series, a series whose rows are not together, or a file with no
    rows raises :class:`~underlay.errors.TraceError` naming file, line and column.
    """
    file = Path(path)
    columns: dict[str, tuple[list[float], list[float], list[float]]] = {}
    first_line: dict[str, int] = {}
    current: str | None = None
    last_time = 0.0
    for line, fields, index in _trace_rows(file):
        name = fields[index["series"]].strip()
        if not name:
            raise TraceError(f"{file}, line {line}, column 'series': empty series name")
        t = _number(file, line, "time_s", fields[index["time_s"]])
        cpu = _number(file, line, "cpu_cores", fields[index["cpu_cores"]])
        mem = _number(file, line, "memory_mib", fields[index["memory_mib"]])
        if name != current:
            if name in columns:
                raise TraceError(
                    f"{file}, line {line}, column 'series': series {name!r} started on line "
                    f"{first_line[name]} and was interrupted; rows must be grouped by series "
                    "(sorted by series, then time)"
                )
            columns[name] = ([], [], [])
            first_line[name] = line
            current = name
        elif t <= last_time:
            raise TraceError(
                f"{file}, line {line}, column 'time_s': {t:.15g} does not increase "
                f"(previous sample of series {name!r} is at {last_time:.15g}); rows must be "
                "sorted by time within a series, without duplicates"
            )
        last_time = t
        ts, cs, ms = columns[name]
        ts.append(t)
        cs.append(cpu)
        ms.append(mem)
    if not columns:
        raise TraceError(f"{file}, line 2: no rows; a trace needs at least one sample")
    return {
        name: TraceSeries(
            time_s=np.array(ts, dtype=np.float64),
            cpu_cores=np.array(cs, dtype=np.float64),
            memory_mib=np.array(ms, dtype=np.float64),
        )
        for name, (ts, cs, ms) in columns.items()
    }


# ---------------------------------------------------------------- shared import helpers

CPU_ROUND_MILLI: Final = 100
"""CPU requests derived from usage are rounded up to this many millicores."""
MEMORY_ROUND_MIB: Final = 64
"""Memory requests derived from usage are rounded up to this many MiB."""
REQUEST_PERCENTILE: Final = 95.0
"""Requests derived from usage cover this percentile of the samples."""

REQUEST_RULE: Final = (
    f"p{REQUEST_PERCENTILE:g} of the usage samples, CPU rounded up to "
    f"{CPU_ROUND_MILLI}m, memory rounded up to {MEMORY_ROUND_MIB}Mi (at least that much)"
)
"""The request rule in words, for scenario headers."""


def requests_from_usage(cpu_cores: Sequence[F64], memory_mib: Sequence[F64]) -> tuple[int, int]:
    """``(cpu_milli, memory_mib)`` requests covering the p95 of usage.

    The percentile of each series is taken and the largest kept (a workload's replicas
    share one request); CPU is rounded up to 100m, memory up to 64Mi, and neither is
    below one rounding unit (a request of 0 would make the pod best-effort).
    """
    cpu_p = max((float(np.percentile(c, REQUEST_PERCENTILE)) for c in cpu_cores), default=0.0)
    mem_p = max((float(np.percentile(m, REQUEST_PERCENTILE)) for m in memory_mib), default=0.0)
    # round() first so 0.30000000000000004 cores stays 300m, not 400m
    cpu_milli = math.ceil(round(cpu_p * 1000, 6) / CPU_ROUND_MILLI) * CPU_ROUND_MILLI
    memory = math.ceil(round(mem_p, 6) / MEMORY_ROUND_MIB) * MEMORY_ROUND_MIB
    return max(cpu_milli, CPU_ROUND_MILLI), max(memory, MEMORY_ROUND_MIB)


def count_gaps(time_s: F64, step_s: float) -> int:
    """Gaps longer than two sampling steps (``step_s``) between consecutive samples."""
    if len(time_s) < 2:
        return 0
    return int(np.count_nonzero(np.diff(time_s) > 2 * step_s))


_NAME_BAD = re.compile(r"[^-A-Za-z0-9_.]+")


def workload_names(raw: Sequence[str]) -> list[str]:
    """Valid, unique workload names for ``raw`` labels: characters outside
    ``[-A-Za-z0-9_.]`` become ``-``, at most 63 characters, ``-2``, ``-3`` ... on clashes."""
    out: list[str] = []
    taken: set[str] = set()
    for label in raw:
        base = _NAME_BAD.sub("-", label).strip("-_.")[:63].strip("-_.") or "w"
        name, n = base, 1
        while name in taken:
            n += 1
            suffix = f"-{n}"
            name = base[: 63 - len(suffix)].rstrip("-_.") + suffix
        taken.add(name)
        out.append(name)
    return out


def trace_path_for(scenario_path: str | Path) -> Path:
    """The trace file written beside a scenario: ``<stem>.trace.csv``."""
    path = Path(scenario_path)
    return path.with_name(f"{path.stem}.trace.csv")


@dataclass(frozen=True, eq=False)
class ImportedTrace:
    """What a trace importer produces: the scenario (data + header) and its series."""

    data: dict[str, Any]
    """The scenario, as plain data ready to dump as YAML (validated)."""
    header: str
    """The comment block on top of the file: source, counts, mapping rules, review."""
    series: list[Series]
    """The usage series to write to the trace file."""
    summary: str
    """One line for the terminal."""

    @property
    def text(self) -> str:
        """The scenario file's text: the header comment, then the YAML."""
        return self.header + "\n" + dump_yaml(self.data)


def cpu_quantity(milli: int) -> str:
    """Millicores as an exact Kubernetes quantity (``2000`` → ``2``, ``250`` → ``250m``)."""
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_quantity(mib: int) -> str:
    """MiB as an exact Kubernetes quantity (``4096`` → ``4Gi``, ``1472`` → ``1472Mi``)."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 and mib else f"{mib}Mi"


def memory_option(option: str, value: str) -> int:
    """A memory quantity given on the command line (``512Gi``), in MiB; InputError if bad."""
    from underlay.model.quantities import memory_to_mib

    try:
        mib = memory_to_mib(value)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}; write a quantity such as 512Gi") from None
    if mib <= 0:
        raise InputError(f"{option}: {value!r} must be more than 0")
    return mib


def host_model(cores: int, memory_mib: int) -> dict[str, Any]:
    """The one host model of an imported scenario (sizing mode: underlay buys enough)."""
    if cores < 1:
        raise InputError(f"--host-cores: {cores} must be at least 1")
    if memory_mib < 1024:
        raise InputError(f"--host-memory: {memory_mib}Mi is less than 1Gi")
    return {"name": f"host-{cores}c", "cores": cores, "memory": memory_quantity(memory_mib)}


def build_scenario(
    *,
    name: str,
    description: str,
    host: dict[str, Any],
    workloads: Sequence[dict[str, Any]],
    tenant: str,
    tenants: int,
    span_s: float,
) -> dict[str, Any]:
    """Scenario data: one host model to size with, workloads round-robin into ``tenants``
    tenants (``tenant`` or ``tenant-1`` ... ``tenant-N``), a simulation horizon covering
    the trace (``span_s``, at least one hour)."""
    if tenants < 1:
        raise InputError(f"--tenants: {tenants} must be at least 1")
    count = min(tenants, max(1, len(workloads)))
    names = [tenant] if count == 1 else [f"{tenant}-{i + 1}" for i in range(count)]
    groups: list[list[dict[str, Any]]] = [[] for _ in names]
    for i, workload in enumerate(workloads):
        groups[i % count].append(workload)
    horizon_h = min(max(1.0, math.ceil(span_s / 3600)), 24 * 366)
    return {
        "name": name,
        "description": description,
        "hardware": {"host_models": [host]},
        "tenants": [
            {"name": t, "isolation": "internal", "workloads": ws}
            for t, ws in zip(names, groups, strict=True)
        ],
        "simulation": {"horizon_hours": horizon_h, "step_minutes": 5},
    }


def dump_yaml(data: dict[str, Any]) -> str:
    """The scenario data as YAML, in the field order given."""
    import yaml

    return yaml.safe_dump(data, sort_keys=False, width=100)


def validate_import(data: dict[str, Any], source: str) -> None:
    """Check the imported scenario loads (a failure here is a bug in the importer)."""
    from underlay.model.loading import parse_scenario

    parse_scenario(dump_yaml(data), source=source)


def write_import(scenario_path: str | Path, result: ImportedTrace) -> Path:
    """Write the scenario and its trace (``<stem>.trace.csv`` beside it); both or neither.

    Returns the trace path. Each file goes through a temporary file; if the scenario
    cannot be written after the trace was, the trace is removed again.
    """
    target = Path(scenario_path)
    trace = trace_path_for(target)
    if trace.resolve() == target.resolve():
        raise InputError(f"{target}: the scenario file cannot be named like its trace file")
    existed = trace.exists()
    write_trace(trace, result.series)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(result.text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if not existed:
            trace.unlink(missing_ok=True)
        raise InputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    return trace
