"""``underlay import alibaba2018``: a scenario from the Alibaba cluster trace v2018.

The trace (alibaba/clusterdata ``cluster-trace-v2018``, schema in its ``schema.txt``)
has CSV tables without a header; the ones read here:

* ``machine_meta``: ``machine_id,time_stamp,failure_domain_1,failure_domain_2,cpu_num,
  mem_size,status`` (``mem_size`` normalised 0–100, 100 = the largest machine);
* ``machine_usage``: ``machine_id,time_stamp,cpu_util_percent,mem_util_percent,mem_gps,
  mkpi,net_in,net_out,disk_io_percent`` (blank fields occur; -1 and 101 mark invalid
  values);
* optionally ``container_meta``: ``container_id,machine_id,time_stamp,app_du,status,
  cpu_request,cpu_limit,mem_size`` (``cpu_request`` and ``cpu_limit``: 100 = 1 core;
  ``mem_size`` normalised like the machines'; ``app_du`` = the application group);
* and ``container_usage``: ``container_id,machine_id,time_stamp,cpu_util_percent,
  mem_util_percent,cpi,mem_gps,mpki,net_in,net_out,disk_io_percent``.

Times are seconds from the start of the trace's 8 days (0 means "outside the span").

Mapping rules:

- **memory**: the trace hides memory sizes; ``mem_size`` 100 is mapped to
  ``machine_memory`` (``--machine-memory``, default 512Gi), so a machine has
  ``mem_size / 100 × machine_memory``;
- **machines** (without container tables): each of the first ``--machines N`` machines
  of the usage file is a series and a workload (replicas 1, class ``cpu``):
  ``cpu_cores = cpu_util_percent / 100 × cpu_num``, ``memory_mib = mem_util_percent /
  100 × the machine's memory``; requests by
  :data:`~underlay.importers.trace_format.REQUEST_RULE`, limits = the machine's cores
  and memory. Replaying a machine's whole load (its online containers and batch jobs)
  on each substrate asks "what if this machine's load ran there";
- **containers** (with ``--containers`` and ``--container-meta``): the containers that
  ran on those machines replace the machines as workloads (the machines' usage already
  contains theirs): a workload per ``app_du``, replicas = its containers, one series per
  container with usage. A container's CPU use is a percentage of its **request**
  (alibaba/clusterdata issue #62, answered by the maintainers), so ``cpu_cores =
  cpu_util_percent / 100 × cpu_request / 100``; memory is taken as a percentage of its
  ``mem_size``: ``memory_mib = mem_util_percent / 100 × mem_size / 100 ×
  machine_memory``. Requests and limits are the group's largest ``cpu_request``,
  ``cpu_limit`` and ``mem_size`` (memory limit = request: the trace has one size);
- **invalid samples** (blank, -1, 101 for machines; blank or -1 for containers, whose
  CPU may exceed 100% of the request) and samples at time 0 are dropped and counted;
  duplicates of a timestamp keep the first; samples are sorted by time per series;
- **failure domains**: ``failure_domain_1`` is listed in the header as a rack hint;
- **ranges** (:data:`ALIBABA_BOUNDS`; ``nan``, ``inf`` and anything outside is an error
  naming file, line and column): times 0 to ten years; ``cpu_num`` 1 to 4,096;
  ``mem_size`` more than 0 (machines) or 0 or more (containers), at most 100;
  ``cpu_request`` and ``cpu_limit`` 0 to 409,600; machine percentages 0 to 100;
  container CPU 0 to 10,000% of the request (and at most 4,096 cores), memory 0 to 100%;
- hosts: one model from the options (default: twice the largest machine's cores and
  memory, so one machine's whole load fits a VM after overheads), sizing mode; tenants: one, ``alibaba``, or ``--tenants N``.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.errors import InputError, TraceError
from underlay.files import not_utf8, open_text
from underlay.importers.ranges import (
    MAX_CORES,
    MAX_MEMORY_MIB,
    MAX_NAME,
    MAX_TRACE_TIME_S,
    Bounds,
    parse_numbers,
    refuse_nul,
    text_column,
)
from underlay.importers.trace_format import ProgressCallback, Series
from underlay.importers.trace_import import (
    REQUEST_RULE,
    ImportedTrace,
    build_scenario,
    count_gaps,
    cpu_quantity,
    host_model,
    memory_option,
    memory_quantity,
    requests_from_usage,
    validate_import,
    workload_names,
)

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
    "alibaba2018_import",
    "read_container_meta",
    "read_machine_meta",
    "read_usage",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MACHINE_META_COLUMNS: Final = (
    "machine_id", "time_stamp", "failure_domain_1", "failure_domain_2", "cpu_num",
    "mem_size", "status",
)  # fmt: skip
MACHINE_USAGE_COLUMNS: Final = (
    "machine_id", "time_stamp", "cpu_util_percent", "mem_util_percent", "mem_gps", "mkpi",
    "net_in", "net_out", "disk_io_percent",
)  # fmt: skip
CONTAINER_META_COLUMNS: Final = (
    "container_id", "machine_id", "time_stamp", "app_du", "status", "cpu_request",
    "cpu_limit", "mem_size",
)  # fmt: skip
CONTAINER_USAGE_COLUMNS: Final = (
    "container_id", "machine_id", "time_stamp", "cpu_util_percent", "mem_util_percent",
    "cpi", "mem_gps", "mpki", "net_in", "net_out", "disk_io_percent",
)  # fmt: skip
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
class _UsageStats:
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


def read_machine_meta(path: str | Path) -> dict[str, MachineMeta]:
    """Read ``machine_meta``: machine id → capacity and failure domains (ranges:
    :data:`ALIBABA_BOUNDS`, checked per column in NumPy)."""
    file = Path(path)
    lines: list[int] = []
    cells: list[list[str]] = [[] for _ in MACHINE_META_COLUMNS]
    for line, fields in _records(file, MACHINE_META_COLUMNS):
        lines.append(line)
        for column, cell in zip(cells, fields, strict=True):
            column.append(cell)
    if not lines:
        raise TraceError(f"{file}, line 1: no rows")
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
    lines: list[int] = []
    cells: list[list[str]] = [[] for _ in CONTAINER_META_COLUMNS]
    for line, fields in _records(file, CONTAINER_META_COLUMNS):
        lines.append(line)
        for column, cell in zip(cells, fields, strict=True):
            column.append(cell)
    if not lines:
        raise TraceError(f"{file}, line 1: no rows")
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
) -> tuple[dict[str, UsageSamples], _UsageStats]:
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
    stats = _UsageStats(skipped_ids=len(skipped))
    pct = "container" if containers else "machine"
    t = _numbers(file, lines, "time_stamp", cells[0], ALIBABA_BOUNDS["time_stamp"])
    cpu, mem = (
        _numbers(file, lines, column, text, ALIBABA_BOUNDS[f"{pct}_{column}"],
                 blank=math.nan, sentinels=invalid_values)
        for column, text in zip(columns[first : first + 2], cells[1:], strict=True)
    )  # fmt: skip
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


def _median_step(samples: dict[str, UsageSamples]) -> float:
    steps = [np.diff(s.time_s) for s in samples.values() if len(s.time_s) > 1]
    return float(np.median(np.concatenate(steps))) if steps else 0.0


def alibaba2018_import(
    usage_path: str | Path,
    meta_path: str | Path,
    *,
    trace_file: str,
    containers_path: str | Path | None = None,
    container_meta_path: str | Path | None = None,
    machines: int | None = None,
    machine_memory: str = "512Gi",
    host_cores: int | None = None,
    host_memory: str | None = None,
    tenants: int = 1,
    name: str = "alibaba2018",
    progress: ProgressCallback | None = None,
) -> ImportedTrace:
    """Import machine (and optionally container) usage of the Alibaba 2018 trace as a
    scenario whose workloads replay it from ``trace_file`` (relative to the scenario)."""
    if (containers_path is None) != (container_meta_path is None):
        raise InputError("--containers and --container-meta go together: give both or neither")
    if machines is not None and machines < 1:
        raise InputError(f"--machines: {machines} must be at least 1")
    machine_mib = memory_option("--machine-memory", machine_memory)
    meta = read_machine_meta(meta_path)
    usage, stats = read_usage(usage_path, limit=machines, progress=progress)
    unknown = [m for m in usage if m not in meta]
    if unknown:
        raise TraceError(
            f"{usage_path}, line {int(usage[unknown[0]].lines[0])}, column 'machine_id': "
            f"no row for machine {unknown[0]!r} in {meta_path}"
            + (f" (nor for {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + "; give the complete machine_meta table"
        )
    if not usage:
        raise TraceError(
            f"{usage_path}: no valid machine usage samples ({stats.invalid} with blank or "
            f"invalid percentages, {stats.at_zero} at time 0)"
        )
    selected = {m: meta[m] for m in usage}
    # Default host: twice the largest machine, so that one machine's whole load still fits
    # a VM after hypervisor and node overheads (a same-size host never fits it on VMs).
    largest = max(selected.values(), key=lambda m: (m.cpu_num, m.mem_size))
    cores = host_cores if host_cores is not None else min(2 * largest.cpu_num, MAX_CORES)
    host_mib = (
        memory_option("--host-memory", host_memory)
        if host_memory
        else min(2 * math.ceil(largest.mem_size / 100 * machine_mib), MAX_MEMORY_MIB)
    )
    host = host_model(cores, host_mib)

    def machine_mem(m: MachineMeta) -> float:
        return m.mem_size / 100 * machine_mib

    lines: list[str]
    series: list[Series] = []
    workloads: list[dict[str, Any]] = []
    if containers_path is None or container_meta_path is None:
        t0 = min(float(s.time_s[0]) for s in usage.values())
        for wname, (mid, s) in zip(workload_names(list(usage)), usage.items(), strict=True):
            m = selected[mid]
            cpu = s.cpu_percent / 100 * m.cpu_num
            mem = s.mem_percent / 100 * machine_mem(m)
            series.append((mid, s.time_s - t0, cpu, mem))
            cpu_m, mem_req = requests_from_usage([cpu], [mem])
            workloads.append(
                _workload(wname, 1, cpu_m, mem_req, max(cpu_m, m.cpu_num * 1000),
                          max(mem_req, math.ceil(machine_mem(m))), trace_file, [mid])
            )  # fmt: skip
        kept = usage
        what = f"{len(usage)} machines -> {len(workloads)} workloads (replicas 1)"
        lines = [
            "# Mapping: cpu_cores = cpu_util_percent / 100 x cpu_num; memory_mib = "
            "mem_util_percent / 100 x mem_size / 100 x machine memory;",
            f"# Requests: {REQUEST_RULE};",
            "# limits: the machine's cores and memory. Each workload replays a whole machine's",
            "# load (its online containers and batch jobs together).",
        ]
    else:
        cmeta = read_container_meta(container_meta_path)
        mine = {c: cm for c, cm in cmeta.items() if cm.machine_id in selected}
        if not mine:
            raise TraceError(
                f"{container_meta_path}: no container ran on the {len(selected)} machine(s) "
                f"selected from {usage_path} (e.g. {next(iter(selected))})"
            )
        cusage, cstats = read_usage(containers_path, containers=True, wanted=set(mine))
        stats.invalid += cstats.invalid
        stats.at_zero += cstats.at_zero
        stats.duplicates += cstats.duplicates
        kept = cusage
        t0 = min((float(s.time_s[0]) for s in cusage.values()), default=0.0)
        apps: dict[str, list[str]] = {}
        for c in sorted(mine):
            apps.setdefault(mine[c].app_du, []).append(c)
        no_usage_apps = 0
        mixed = 0
        app_names = sorted(apps)
        for wname, app in zip(workload_names(app_names), app_names, strict=True):
            members = apps[app]
            metas = [mine[c] for c in members]
            if len({(x.cpu_request, x.cpu_limit, x.mem_size) for x in metas}) > 1:
                mixed += 1
            cpu_m = max(x.cpu_request for x in metas) * 10
            cpu_lim = max(cpu_m, max(x.cpu_limit for x in metas) * 10)
            mem_req = math.ceil(max(x.mem_size for x in metas) / 100 * machine_mib)
            with_usage = [c for c in members if c in cusage]
            for c in with_usage:
                s, cm = cusage[c], mine[c]
                cpu = s.cpu_percent / 100 * cm.cpu_request / 100
                _check_cores(containers_path, c, s, cpu, cm)
                mem = s.mem_percent / 100 * cm.mem_size / 100 * machine_mib
                series.append((c, s.time_s - t0, cpu, mem))
            if not with_usage:
                no_usage_apps += 1
            workloads.append(
                _workload(wname, len(members), cpu_m, mem_req, cpu_lim, mem_req,
                          trace_file if with_usage else None, with_usage)
            )  # fmt: skip
        if not series:
            raise TraceError(
                f"{containers_path}: no valid usage for any of the {len(mine)} containers "
                f"on the selected machines"
            )
        what = (
            f"{len(mine)} containers of {len(selected)} machines -> {len(workloads)} workloads "
            f"(one per app_du, replicas = its containers; {len(cusage)} containers have usage)"
        )
        lines = [
            "# Mapping: a container's CPU use is a percentage of its request (clusterdata issue",
            "# #62): cpu_cores = cpu_util_percent / 100 x cpu_request / 100; memory_mib =",
            "# mem_util_percent / 100 x mem_size / 100 x machine memory (assumed: % of its size).",
            "# Requests: the app group's largest cpu_request and mem_size; CPU limit its largest",
            "# cpu_limit; memory limit = request (the trace gives one size).",
            f"# {mixed} app groups mix container sizes (the largest is used); {no_usage_apps} have "
            "no usage rows and keep the constant usage model.",
            "# The machines' own usage is not replayed: it already contains these containers'.",
        ]
    span = max(float(s[1][-1]) for s in series)
    fd1 = Counter(m.failure_domain_1 for m in selected.values())
    data = build_scenario(
        name=name,
        description=f"Imported from the Alibaba cluster trace v2018 ({len(selected)} machines).",
        host=host,
        workloads=workloads,
        tenant="alibaba",
        tenants=tenants,
        span_s=span,
    )
    validate_import(data, "<alibaba2018 import>")
    samples = sum(len(s[1]) for s in series)
    step = _median_step(kept)
    gaps = sum(count_gaps(s[1], step) for s in series) if step else 0
    sources = [str(usage_path), str(meta_path)] + (
        [str(containers_path), str(container_meta_path)] if containers_path else []
    )
    domains = ", ".join(f"{d or '?'} ({n})" for d, n in sorted(fd1.items())[:8])
    header = "\n".join(
        [
            f"# Imported by `underlay import alibaba2018` from {', '.join(sources)}",
            "# (alibaba/clusterdata cluster-trace-v2018, research/study use).",
            f"# {what}, in {len(data['tenants'])} tenant(s); usage replayed from {trace_file}:",
            f"# {samples:,} samples over {span / 86400:.2f} days (median interval {step:.15g} s); "
            f"time_s 0 = trace second {t0:.15g}.",
            f"# Memory: mem_size 100 (the largest machine) is taken as {memory_quantity(machine_mib)} "
            "(--machine-memory); the trace hides real sizes.",
            *lines,
            f"# Dropped: {stats.invalid} samples with blank or invalid (-1/101) percentages, "
            f"{stats.at_zero} at time 0 (outside the span), {stats.duplicates} duplicate timestamps.",
            f"# Gaps: {gaps} gaps longer than 2 median intervals; the simulator interpolates.",
            f"# Racks: the machines span {len(fd1)} failure_domain_1 values: {domains}"
            + (" ..." if len(fd1) > 8 else "")
            + "; set hardware.topology.racks to model them.",
            *(
                [
                    f"# Left out {stats.skipped_ids} further machines of the usage file (--machines {machines})."
                ]
                if stats.skipped_ids
                else []
            ),
            f"# Hosts: one model, {host['name']} ({host['cores']} cores, {host['memory']}), sized by "
            "underlay (no inventory);",
            "# by default twice the largest machine, so one machine's load fits a VM after overheads.",
            "# Review: host prices are 0 and power is underlay's default; all workloads are class",
            "# cpu; tenants are arbitrary (round-robin); simulation.horizon_hours covers the trace.",
        ]
    )
    summary = (
        f"{len(workloads)} workloads from {len(selected)} machines, {samples:,} samples, "
        f"{stats.invalid} invalid samples dropped"
    )
    return ImportedTrace(data=data, header=header, series=series, summary=summary)


def _check_cores(
    path: str | Path, container: str, s: UsageSamples, cpu: F64, cm: ContainerMeta
) -> None:
    """A container's use in cores must fit the largest host (4,096 cores)."""
    over = cpu > MAX_CORES
    if over.any():
        i = int(np.argmax(over))
        raise TraceError(
            f"{path}, line {int(s.lines[i])}, column 'cpu_util_percent': {s.cpu_percent[i]:g}% "
            f"of container {container}'s request ({cm.cpu_request / 100:g} cores) is "
            f"{cpu[i]:,.0f} cores, more than {MAX_CORES:,}"
        )


def _workload(
    name: str,
    replicas: int,
    cpu_m: int,
    mem: int,
    cpu_limit: int,
    mem_limit: int,
    trace_file: str | None,
    series: list[str],
) -> dict[str, Any]:
    w: dict[str, Any] = {
        "name": name,
        "replicas": replicas,
        "requests": {"cpu": cpu_quantity(cpu_m), "memory": memory_quantity(mem)},
        "limits": {"cpu": cpu_quantity(cpu_limit), "memory": memory_quantity(mem_limit)},
        "class": "cpu",
    }
    if trace_file is not None:
        w["usage"] = {"model": "trace", "trace": trace_file, "series": series}
    return w
