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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from underlay.errors import InputError, TraceError
from underlay.importers.alibaba2018.tables import (
    ALIBABA_BOUNDS,
    CONTAINER_META_COLUMNS,
    CONTAINER_USAGE_COLUMNS,
    MACHINE_META_COLUMNS,
    MACHINE_USAGE_COLUMNS,
    MAX_CONTAINER_CPU_PERCENT,
    ContainerMeta,
    MachineMeta,
    UsageSamples,
    UsageStats,
    read_container_meta,
    read_machine_meta,
    read_usage,
)
from underlay.importers.ranges import MAX_CORES, MAX_MEMORY_MIB
from underlay.importers.trace_format import ProgressCallback, Series
from underlay.importers.trace_import import (
    REQUEST_RULE,
    ImportedTrace,
    count_gaps,
    finish_import,
    host_model,
    hosts_line,
    memory_option,
    memory_quantity,
    requests_from_usage,
    trace_workload,
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


def _median_step(samples: dict[str, UsageSamples]) -> float:
    steps = [np.diff(s.time_s) for s in samples.values() if len(s.time_s) > 1]
    return float(np.median(np.concatenate(steps))) if steps else 0.0


@dataclass
class _Workloads:
    """What the machines or the containers became: series, workloads and their words."""

    series: list[Series]
    workloads: list[dict[str, Any]]
    kept: dict[str, UsageSamples]
    """The usage replayed (its median interval is the trace's step)."""
    t0: float
    """The trace second that becomes time_s 0."""
    what: str
    """What became workloads, for the header."""
    lines: list[str]
    """The header's mapping lines."""


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
    _check_machines(usage, meta, stats, usage_path, meta_path)
    selected = {m: meta[m] for m in usage}
    host = _host(selected, machine_mib, host_cores, host_memory)
    if containers_path is None or container_meta_path is None:
        made = _machine_workloads(usage, selected, machine_mib, trace_file)
    else:
        made = _container_workloads(
            containers_path, container_meta_path, usage_path, selected, machine_mib, trace_file
        )
        stats.invalid += made.stats.invalid
        stats.at_zero += made.stats.at_zero
        stats.duplicates += made.stats.duplicates
    series, workloads = made.series, made.workloads
    sources = [str(usage_path), str(meta_path)] + (
        [str(containers_path), str(container_meta_path)] if containers_path else []
    )
    facts = _Facts(sources, made, stats, selected, host, machine_mib, machines, trace_file)
    return finish_import(
        command="alibaba2018",
        tenant="alibaba",
        description=f"Imported from the Alibaba cluster trace v2018 ({len(selected)} machines).",
        host=host,
        workloads=workloads,
        series=series,
        span_s=facts.span,
        name=name,
        tenants=tenants,
        header=facts.header,
        summary=lambda samples: (
            f"{len(workloads)} workloads from {len(selected)} machines, {samples:,} samples, "
            f"{stats.invalid} invalid samples dropped"
        ),
    )


@dataclass(frozen=True)
class _Facts:
    """What the header says about an import."""

    sources: list[str]
    made: _Workloads
    stats: UsageStats
    selected: dict[str, MachineMeta]
    host: dict[str, Any]
    machine_mib: int
    machines: int | None
    trace_file: str

    @property
    def span(self) -> float:
        return max(float(s[1][-1]) for s in self.made.series)

    def header(self, tenant_count: int, samples: int) -> list[str]:
        made, stats = self.made, self.stats
        fd1 = Counter(m.failure_domain_1 for m in self.selected.values())
        step = _median_step(made.kept)
        gaps = sum(count_gaps(s[1], step) for s in made.series) if step else 0
        domains = ", ".join(f"{d or '?'} ({n})" for d, n in sorted(fd1.items())[:8])
        left_out = (
            [
                f"# Left out {stats.skipped_ids} further machines of the usage file "
                f"(--machines {self.machines})."
            ]
            if stats.skipped_ids
            else []
        )
        return [
            f"# Imported by `underlay import alibaba2018` from {', '.join(self.sources)}",
            "# (alibaba/clusterdata cluster-trace-v2018, research/study use).",
            f"# {made.what}, in {tenant_count} tenant(s); usage replayed from {self.trace_file}:",
            f"# {samples:,} samples over {self.span / 86400:.2f} days (median interval "
            f"{step:.15g} s); time_s 0 = trace second {made.t0:.15g}.",
            f"# Memory: mem_size 100 (the largest machine) is taken as "
            f"{memory_quantity(self.machine_mib)} (--machine-memory); the trace hides real sizes.",
            *made.lines,
            f"# Dropped: {stats.invalid} samples with blank or invalid (-1/101) percentages, "
            f"{stats.at_zero} at time 0 (outside the span), {stats.duplicates} duplicate "
            "timestamps.",
            f"# Gaps: {gaps} gaps longer than 2 median intervals; the simulator interpolates.",
            f"# Racks: the machines span {len(fd1)} failure_domain_1 values: {domains}"
            + (" ..." if len(fd1) > 8 else "")
            + "; set hardware.topology.racks to model them.",
            *left_out,
            hosts_line(self.host) + ";",
            "# by default twice the largest machine, so one machine's load fits a VM after "
            "overheads.",
            "# Review: host prices are 0 and power is underlay's default; all workloads are class",
            "# cpu; tenants are arbitrary (round-robin); simulation.horizon_hours covers the trace.",
        ]


def _check_machines(
    usage: dict[str, UsageSamples],
    meta: dict[str, MachineMeta],
    stats: UsageStats,
    usage_path: str | Path,
    meta_path: str | Path,
) -> None:
    """Every machine with usage has a meta row, and some machine has usage."""
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


def _host(
    selected: dict[str, MachineMeta],
    machine_mib: int,
    host_cores: int | None,
    host_memory: str | None,
) -> dict[str, Any]:
    """The host model: the options', by default twice the largest machine, so that one
    machine's whole load still fits a VM after hypervisor and node overheads (a
    same-size host never fits it on VMs)."""
    largest = max(selected.values(), key=lambda m: (m.cpu_num, m.mem_size))
    cores = host_cores if host_cores is not None else min(2 * largest.cpu_num, MAX_CORES)
    host_mib = (
        memory_option("--host-memory", host_memory)
        if host_memory
        else min(2 * math.ceil(largest.mem_size / 100 * machine_mib), MAX_MEMORY_MIB)
    )
    return host_model(cores, host_mib)


def _machine_workloads(
    usage: dict[str, UsageSamples],
    selected: dict[str, MachineMeta],
    machine_mib: int,
    trace_file: str,
) -> _Workloads:
    """A workload per machine replaying its whole load."""
    series: list[Series] = []
    workloads: list[dict[str, Any]] = []
    t0 = min(float(s.time_s[0]) for s in usage.values())
    for wname, (mid, s) in zip(workload_names(list(usage)), usage.items(), strict=True):
        m = selected[mid]
        memory = m.mem_size / 100 * machine_mib
        cpu = s.cpu_percent / 100 * m.cpu_num
        mem = s.mem_percent / 100 * memory
        series.append((mid, s.time_s - t0, cpu, mem))
        cpu_m, mem_req = requests_from_usage([cpu], [mem])
        limits = (max(cpu_m, m.cpu_num * 1000), max(mem_req, math.ceil(memory)))
        workloads.append(trace_workload(wname, 1, (cpu_m, mem_req), limits, trace_file, [mid]))
    return _Workloads(
        series,
        workloads,
        kept=usage,
        t0=t0,
        what=f"{len(usage)} machines -> {len(workloads)} workloads (replicas 1)",
        lines=[
            "# Mapping: cpu_cores = cpu_util_percent / 100 x cpu_num; memory_mib = "
            "mem_util_percent / 100 x mem_size / 100 x machine memory;",
            f"# Requests: {REQUEST_RULE};",
            "# limits: the machine's cores and memory. Each workload replays a whole machine's",
            "# load (its online containers and batch jobs together).",
        ],
    )


def _container_workloads(
    containers_path: str | Path,
    container_meta_path: str | Path,
    usage_path: str | Path,
    selected: dict[str, MachineMeta],
    machine_mib: int,
    trace_file: str,
) -> _ContainerWorkloads:
    """A workload per app group (``app_du``) of the containers on the selected machines,
    one series per container with usage."""
    cmeta = read_container_meta(container_meta_path)
    mine = {c: cm for c, cm in cmeta.items() if cm.machine_id in selected}
    if not mine:
        raise TraceError(
            f"{container_meta_path}: no container ran on the {len(selected)} machine(s) "
            f"selected from {usage_path} (e.g. {next(iter(selected))})"
        )
    cusage, cstats = read_usage(containers_path, containers=True, wanted=set(mine))
    t0 = min((float(s.time_s[0]) for s in cusage.values()), default=0.0)
    apps: dict[str, list[str]] = {}
    for c in sorted(mine):
        apps.setdefault(mine[c].app_du, []).append(c)
    series: list[Series] = []
    workloads: list[dict[str, Any]] = []
    no_usage_apps = mixed = 0
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
        replayed = trace_file if with_usage else None
        workloads.append(
            trace_workload(
                wname, len(members), (cpu_m, mem_req), (cpu_lim, mem_req), replayed, with_usage
            )
        )
    if not series:
        raise TraceError(
            f"{containers_path}: no valid usage for any of the {len(mine)} containers "
            f"on the selected machines"
        )
    return _ContainerWorkloads(
        series,
        workloads,
        kept=cusage,
        t0=t0,
        what=(
            f"{len(mine)} containers of {len(selected)} machines -> {len(workloads)} workloads "
            f"(one per app_du, replicas = its containers; {len(cusage)} containers have usage)"
        ),
        lines=[
            "# Mapping: a container's CPU use is a percentage of its request (clusterdata issue",
            "# #62): cpu_cores = cpu_util_percent / 100 x cpu_request / 100; memory_mib =",
            "# mem_util_percent / 100 x mem_size / 100 x machine memory (assumed: % of its size).",
            "# Requests: the app group's largest cpu_request and mem_size; CPU limit its largest",
            "# cpu_limit; memory limit = request (the trace gives one size).",
            f"# {mixed} app groups mix container sizes (the largest is used); {no_usage_apps} "
            "have no usage rows and keep the constant usage model.",
            "# The machines' own usage is not replayed: it already contains these containers'.",
        ],
        stats=cstats,
    )


@dataclass
class _ContainerWorkloads(_Workloads):
    stats: UsageStats = field(default_factory=UsageStats)
    """Samples dropped from the container usage."""


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
