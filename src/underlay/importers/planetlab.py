"""``underlay import planetlab``: a scenario from the PlanetLab VM CPU traces.

The traces (CoMon project, March–April 2011, as shipped with CloudSim; Beloglazov &
Buyya, CCPE 2012) are folders of files, one per VM, each holding 288 integers: the VM's
CPU utilisation in percent at 5-minute steps over one day.

Mapping rules:

- **CPU**: CloudSim reads each value as a percentage of the VM's MIPS; underlay reads it
  as a percentage of ``vm_cores`` cores (``--vm-cores``, default 1):
  ``cpu_cores = value / 100 × vm_cores``;
- **memory**: the traces have none; every sample is the constant ``vm_memory``
  (``--vm-memory``, default 1Gi), which is also the memory request and limit;
- ``time_s = 300 × (line − 1)``;
- a workload per file (replicas 1, class ``cpu``), or with ``--group N`` one per N
  files in name order (replicas N, one series per replica); CPU request by
  :data:`~underlay.importers.trace_format.REQUEST_RULE` (the largest over the group),
  CPU limit = ``vm_cores`` (only the CPU half of the rule applies);
- files are taken in name order (hidden files skipped), the first ``--limit N`` of them;
- ranges: each value a whole percentage 0 to 100 (``nan``, ``inf``, ``12.5`` and blank
  cells in a line are errors naming file and line; blank lines are skipped), at most ten
  years of samples per file;
- tenants: one, ``planetlab``, or ``--tenants N`` round-robin; hosts: one model from the
  options (default 64 cores, 512Gi), sizing mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.errors import InputError, TraceError
from underlay.importers.ranges import MAX_TRACE_TIME_S, Bounds, parse_numbers, read_utf8
from underlay.importers.trace_format import ProgressCallback, Series
from underlay.importers.trace_import import (
    ImportedTrace,
    cores_option,
    finish_import,
    host_model,
    hosts_line,
    memory_option,
    memory_quantity,
    requests_from_usage,
    series_names,
    trace_workload,
    workload_names,
)

__all__ = [
    "MAX_SAMPLES",
    "PERCENT",
    "STEP_S",
    "PlanetLabVm",
    "planetlab_files",
    "planetlab_import",
    "read_planetlab",
]

F64 = npt.NDArray[np.float64]

STEP_S: Final = 300.0
"""Sampling interval of the PlanetLab traces (5 minutes)."""
SAMPLES_PER_DAY: Final = 288
MAX_SAMPLES: Final = int(MAX_TRACE_TIME_S // STEP_S)
"""Most samples in one file: ten years of 5-minute steps (the trace format's span)."""
PERCENT: Final = Bounds(0, 100, "%", whole=True)
"""The range of each value: CPU utilisation, a whole percentage."""


@dataclass(frozen=True, eq=False)
class PlanetLabVm:
    """One PlanetLab VM file: CPU utilisation in percent, one value per 5 minutes."""

    path: Path
    cpu_percent: F64


def read_planetlab(path: str | Path) -> PlanetLabVm:
    """Read one VM file (strict: TraceError naming file, line and problem; the values
    are checked against :data:`PERCENT` in one NumPy pass)."""
    file = Path(path)
    rows = read_utf8(file, "a PlanetLab VM file").splitlines()
    lines = np.arange(1, len(rows) + 1, dtype=np.int64)
    # Blank lines are skipped: parsed as NaN (a literal "nan" is refused, not blank).
    values = parse_numbers(file, lines, "cpu_percent", rows, PERCENT, blank=np.nan)
    kept = ~np.isnan(values)
    count = int(np.count_nonzero(kept))
    if not count:
        raise TraceError(f"{file}, line 1: empty file; expected one CPU percentage per line")
    if count > MAX_SAMPLES:
        raise TraceError(
            f"{file}, line {int(lines[kept][MAX_SAMPLES])}: more than {MAX_SAMPLES:,} samples "
            "(ten years of 5-minute steps); is this a PlanetLab VM file?"
        )
    return PlanetLabVm(file, values[kept])


def planetlab_files(folder: str | Path, limit: int | None = None) -> list[Path]:
    """The VM files of a PlanetLab folder, in name order, the first ``limit`` of them."""
    path = Path(folder)
    if not path.is_dir():
        raise TraceError(f"{path}: not a folder; give the folder of one day (e.g. 20110303)")
    if limit is not None and limit < 1:
        raise InputError(f"--limit: {limit} must be at least 1")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise TraceError(f"{path}: no files in this folder")
    return files[:limit] if limit is not None else files


def planetlab_import(
    folder: str | Path,
    *,
    trace_file: str,
    limit: int | None = None,
    group: int = 1,
    vm_cores: int = 1,
    vm_memory: str = "1Gi",
    host_cores: int = 64,
    host_memory: str = "512Gi",
    tenants: int = 1,
    name: str = "planetlab",
    progress: ProgressCallback | None = None,
) -> ImportedTrace:
    """Import a PlanetLab folder as a scenario whose workloads replay the VMs' CPU use
    from ``trace_file`` (a path relative to the scenario file)."""
    if group < 1:
        raise InputError(f"--group: {group} must be at least 1")
    cores_option("--vm-cores", vm_cores)
    mem_mib = memory_option("--vm-memory", vm_memory)
    host = host_model(host_cores, memory_option("--host-memory", host_memory))
    files = planetlab_files(folder, limit)
    vms: list[PlanetLabVm] = []
    for i, file in enumerate(files):
        vms.append(read_planetlab(file))
        if progress:
            progress(i + 1, len(files))
    names = series_names([f.name for f in files])
    series = _series(names, vms, vm_cores, mem_mib)
    workloads = _workloads(names, series, group, vm_cores, mem_mib, trace_file)
    lengths = sorted({len(vm.cpu_percent) for vm in vms})
    mean = float(np.mean([vm.cpu_percent.mean() for vm in vms]))
    odd: list[str] = []
    if lengths != [SAMPLES_PER_DAY]:
        odd.append(
            f"# Note: files have {lengths[0]}-{lengths[-1]} samples, not {SAMPLES_PER_DAY} "
            "(one day)."
        )
    grouping = "replicas 1" if group == 1 else f"--group {group}: up to {group} files per workload"

    def header(tenant_count: int, samples: int) -> list[str]:
        return [
            f"# Imported by `underlay import planetlab` from {folder}",
            "# (PlanetLab CoMon CPU traces as shipped with CloudSim; Beloglazov & Buyya 2012).",
            f"# {len(files)} VMs -> {len(workloads)} workloads ({grouping}) in "
            f"{tenant_count} tenant(s); usage replayed from {trace_file}:",
            f"# {samples:,} samples, 5-minute steps; mean CPU {mean:.1f}%.",
            *odd,
            f"# Mapping: cpu_cores = value / 100 x {vm_cores} (--vm-cores; CloudSim reads the value",
            "# as % of the VM's MIPS, underlay as % of the VM's cores);",
            f"# memory: not in the trace; a constant {memory_quantity(mem_mib)} (--vm-memory), "
            "also the memory request and limit.",
            "# CPU request: p95 of the samples rounded up to 100m (at least 100m; the largest in",
            f"# the group); CPU limit: the VM's {vm_cores} core(s).",
            hosts_line(host) + ".",
            "# Review: memory is invented (set --vm-memory); host prices are 0 and power is",
            "# underlay's default; tenants are arbitrary (round-robin).",
        ]

    return finish_import(
        command="planetlab",
        tenant="planetlab",
        description=f"Imported from {len(files)} PlanetLab VM files of {Path(folder).name}.",
        host=host,
        workloads=workloads,
        series=series,
        span_s=max(float(s[1][-1]) for s in series) + STEP_S,
        name=name,
        tenants=tenants,
        header=header,
        summary=lambda _: f"{len(files)} VMs -> {len(workloads)} workloads, mean CPU {mean:.1f}%",
    )


def _series(names: list[str], vms: list[PlanetLabVm], vm_cores: int, mem_mib: int) -> list[Series]:
    """Each VM's samples in cores (``value / 100 x vm_cores``) and constant memory."""
    series: list[Series] = []
    for sname, vm in zip(names, vms, strict=True):
        t = np.arange(len(vm.cpu_percent), dtype=np.float64) * STEP_S
        cpu = vm.cpu_percent / 100 * vm_cores
        series.append((sname, t, cpu, np.full(len(t), float(mem_mib))))
    return series


def _workloads(
    names: list[str],
    series: list[Series],
    group: int,
    vm_cores: int,
    mem_mib: int,
    trace_file: str,
) -> list[dict[str, Any]]:
    """A workload per VM, or per ``group`` VMs in name order (one series per replica)."""
    count = len(series)
    groups = [list(range(i, min(i + group, count))) for i in range(0, count, group)]
    labels = [names[g[0]] if group == 1 else f"vms-{k + 1:04d}" for k, g in enumerate(groups)]
    workloads: list[dict[str, Any]] = []
    for wname, members in zip(workload_names(labels), groups, strict=True):
        cpu_m, _ = requests_from_usage([series[i][2] for i in members], [])
        limits = (max(cpu_m, vm_cores * 1000), mem_mib)
        replayed = [names[i] for i in members]
        workloads.append(
            trace_workload(wname, len(members), (cpu_m, mem_mib), limits, trace_file, replayed)
        )
    return workloads
