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
- hosts: one model from the options (default: twice the largest machine's cores and
  memory, so one machine's whole load fits a VM after overheads), sizing mode; tenants: one, ``alibaba``, or ``--tenants N``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.errors import TraceError
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
    "CONTAINER_META_COLUMNS",
    "CONTAINER_USAGE_COLUMNS",
    "MACHINE_META_COLUMNS",
    "MACHINE_USAGE_COLUMNS",
    "ContainerMeta",
    "MachineMeta",
    "UsageSamples",
    "alibaba2018_import",
    "read_container_meta",
    "read_machine_meta",
    "read_usage",
]

F64 = npt.NDArray[np.float64]

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
_PROGRESS_EVERY: Final = 50_000  # lines between progress reports


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
    try:
        handle = path.open(encoding="utf-8", newline="")
        total = path.stat().st_size
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TraceError(f"{path}: is a directory, expected a CSV table") from None
    except OSError as exc:
        raise TraceError(f"{path}: cannot read ({exc.strerror or exc})") from None
    done = 0
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                done += len(line)
                if progress is not None and number % _PROGRESS_EVERY == 0:
                    progress(min(done, total), total)
                text = line.rstrip("\r\n")
                if not text.strip():
                    continue
                fields = text.split(",")
                if len(fields) != len(columns):
                    raise TraceError(
                        f"{path}, line {number}: expected {len(columns)} fields "
                        f"({','.join(columns)}), found {len(fields)}"
                    )
                yield number, fields
        except UnicodeDecodeError as exc:
            raise TraceError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if progress is not None:
        progress(total, total)


def _number(path: Path, line: int, column: str, text: str, *, blank_ok: bool = False) -> float:
    """A finite number; NaN for a blank cell when ``blank_ok``."""
    value = text.strip()
    where = f"{path}, line {line}, column {column!r}"
    if not value:
        if blank_ok:
            return math.nan
        raise TraceError(f"{where}: empty, expected a number")
    try:
        number = float(value)
    except ValueError:
        hint = " (these tables have no header line)" if line == 1 else ""
        raise TraceError(f"{where}: {value[:40]!r} is not a number{hint}") from None
    if not math.isfinite(number):
        raise TraceError(f"{where}: {value[:40]!r} is not a finite number")
    return number


def _ident(path: Path, line: int, column: str, text: str) -> str:
    value = text.strip()
    if not value:
        raise TraceError(f"{path}, line {line}, column {column!r}: empty id")
    return value


def read_machine_meta(path: str | Path) -> dict[str, MachineMeta]:
    """Read ``machine_meta``: machine id → capacity and failure domains."""
    file = Path(path)
    out: dict[str, MachineMeta] = {}
    for line, f in _records(file, MACHINE_META_COLUMNS):
        machine = _ident(file, line, "machine_id", f[0])
        _number(file, line, "time_stamp", f[1])
        cpu = _number(file, line, "cpu_num", f[4])
        if cpu < 1 or not cpu.is_integer():
            raise TraceError(
                f"{file}, line {line}, column 'cpu_num': {f[4].strip()!r}; expected a whole "
                "number of cores >= 1"
            )
        mem = _number(file, line, "mem_size", f[5])
        if not 0 < mem <= 100:
            raise TraceError(
                f"{file}, line {line}, column 'mem_size': {f[5].strip()!r}; expected a "
                "normalised size in (0, 100]"
            )
        old = out.get(machine)
        out[machine] = MachineMeta(
            cpu_num=max(int(cpu), old.cpu_num if old else 0),
            mem_size=max(mem, old.mem_size if old else 0.0),
            failure_domain_1=f[2].strip(),
            failure_domain_2=f[3].strip(),
        )
    if not out:
        raise TraceError(f"{file}, line 1: no rows")
    return out


def read_container_meta(path: str | Path) -> dict[str, ContainerMeta]:
    """Read ``container_meta``: container id → machine, app group and size (last row)."""
    file = Path(path)
    out: dict[str, ContainerMeta] = {}
    for line, f in _records(file, CONTAINER_META_COLUMNS):
        container = _ident(file, line, "container_id", f[0])
        machine = _ident(file, line, "machine_id", f[1])
        _number(file, line, "time_stamp", f[2])
        app = _ident(file, line, "app_du", f[3])
        sizes = []
        for column, text in (("cpu_request", f[5]), ("cpu_limit", f[6])):
            value = _number(file, line, column, text)
            if value < 0 or not value.is_integer():
                raise TraceError(
                    f"{file}, line {line}, column {column!r}: {text.strip()!r}; expected a "
                    "whole number >= 0 (100 = 1 core)"
                )
            sizes.append(int(value))
        mem = _number(file, line, "mem_size", f[7])
        if not 0 <= mem <= 100:
            raise TraceError(
                f"{file}, line {line}, column 'mem_size': {f[7].strip()!r}; expected a "
                "normalised size in [0, 100]"
            )
        out[container] = ContainerMeta(machine, app, sizes[0], sizes[1], mem)
    if not out:
        raise TraceError(f"{file}, line 1: no rows")
    return out


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
    of duplicate timestamps.
    """
    file = Path(path)
    columns = CONTAINER_USAGE_COLUMNS if containers else MACHINE_USAGE_COLUMNS
    first = 3 if containers else 2  # index of cpu_util_percent
    invalid_values = (-1.0,) if containers else (-1.0, 101.0)
    rows: dict[str, list[tuple[float, float, float]]] = {}
    stats = _UsageStats()
    skipped: set[str] = set()
    for line, f in _records(file, columns, progress):
        key = f[0].strip()
        if key not in rows:
            full = limit is not None and len(rows) >= limit
            if full or (wanted is not None and key not in wanted):
                skipped.add(key)
                continue
            rows[_ident(file, line, columns[0], f[0])] = []
        t = _number(file, line, "time_stamp", f[first - 1])
        if t < 0:
            raise TraceError(
                f"{file}, line {line}, column 'time_stamp': {f[first - 1].strip()!r} is "
                "negative; times are seconds from the trace's start"
            )
        values = []
        for column, text in zip(columns[first : first + 2], f[first : first + 2], strict=True):
            v = _number(file, line, column, text, blank_ok=True)
            if not math.isnan(v) and v not in invalid_values:
                upper = "" if containers else " and 100"
                if v < 0 or (not containers and v > 100):
                    raise TraceError(
                        f"{file}, line {line}, column {column!r}: {text.strip()!r}; expected "
                        f"a percentage between 0{upper} (-1{'' if containers else ' or 101'} "
                        "= invalid)"
                    )
            values.append(v)
        if any(math.isnan(v) or v in invalid_values for v in values):
            stats.invalid += 1
            continue
        if t == 0:
            stats.at_zero += 1  # the trace's "before or after the 8-day span"
            continue
        rows[key].append((t, values[0], values[1]))
    stats.skipped_ids = len(skipped)
    out: dict[str, UsageSamples] = {}
    for key, samples in rows.items():
        if not samples:
            continue
        table = np.array(samples, dtype=np.float64)
        table = table[np.argsort(table[:, 0], kind="stable")]
        keep = np.ones(len(table), dtype=bool)
        keep[1:] = np.diff(table[:, 0]) > 0
        stats.duplicates += int((~keep).sum())
        table = table[keep]
        out[key] = UsageSamples(table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy())
    return out, stats


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
        raise TraceError("--containers and --container-meta go together: give both or neither")
    if machines is not None and machines < 1:
        raise TraceError(f"--machines: {machines} must be at least 1")
    machine_mib = memory_option("--machine-memory", machine_memory)
    meta = read_machine_meta(meta_path)
    usage, stats = read_usage(usage_path, limit=machines, progress=progress)
    unknown = [m for m in usage if m not in meta]
    if unknown:
        raise TraceError(
            f"{meta_path}: no row for machine {unknown[0]!r} of {usage_path}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + "; give the complete machine_meta table"
        )
    if not usage:
        raise TraceError(f"{usage_path}: no valid machine usage samples")
    selected = {m: meta[m] for m in usage}
    # Default host: twice the largest machine, so that one machine's whole load still fits
    # a VM after hypervisor and node overheads (a same-size host never fits it on VMs).
    largest = max(selected.values(), key=lambda m: (m.cpu_num, m.mem_size))
    cores = host_cores if host_cores is not None else 2 * largest.cpu_num
    host_mib = (
        memory_option("--host-memory", host_memory)
        if host_memory
        else 2 * math.ceil(largest.mem_size / 100 * machine_mib)
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
