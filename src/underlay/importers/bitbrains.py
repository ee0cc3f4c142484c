"""``underlay import bitbrains``: a scenario from the GWA-T-12 Bitbrains VM traces.

The Bitbrains traces (Grid Workloads Archive GWA-T-12; Shen, van Beek, Iosup, CCGrid
2015) have one file per VM, ``;``-and-tab separated with a header::

    Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ]; CPU usage [MHZ];
    CPU usage [%]; Memory capacity provisioned [KB]; Memory usage [KB]; ...

sampled every 5 minutes. Despite its name the timestamp is in **seconds** (Unix time).

Mapping rules (each VM is one series of the trace file and one workload):

- ``cpu_cores = CPU usage [MHZ] / (CPU capacity provisioned [MHZ] / CPU cores)``: the
  MHz a VM used, in units of one of its own cores, row by row;
- ``memory_mib = Memory usage [KB] / 1024``;
- ``time_s`` = timestamp − the earliest first timestamp of the files imported (so the
  VMs stay aligned);
- a workload per VM, replicas 1, class ``cpu``; requests by
  :data:`~underlay.importers.trace_format.REQUEST_RULE`; limits = the provisioned cores
  and memory (their largest value over the trace), never below the requests;
- tenants: one, ``bitbrains``, or ``--tenants N`` round-robin;
- hosts: one host model from the options (default 64 cores, 512Gi), sizing mode.

Rows repeating the previous timestamp are dropped (the first is kept); gaps longer than
two steps are counted in the header (the simulator interpolates across them); time
going backwards is an error.

Powered-off samples: a row with ``CPU cores`` 0 is the VM switched off (the GWA-T-12
archive keeps sampling a VM that is down, with 0 cores and 0 MHz provisioned).  Such a
sample uses no CPU and no memory (the VM holds nothing on its host while it is off),
whatever its other columns say; the header counts these samples.  A file that is off in
every row is skipped (the header names it); when every file is, the import fails.

Ranges (:data:`BITBRAINS_BOUNDS`; anything else, ``nan`` and ``inf`` included, is an
error naming file, line and column): the timestamp is a Unix time from 0 to 2100-01-01
and the files imported together span at most ten years; ``CPU cores`` 0 (off) or 1 to
4,096; ``CPU capacity provisioned [MHZ]`` more than 0 and at most 10,000 MHz a core
(any value on a powered-off row);
``CPU usage [MHZ]`` 0 or more and at most 4,096 of the VM's cores; memory columns 0 to
64 TiB in KB. The other columns are not read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.errors import InputError, TraceError
from underlay.importers.ranges import (
    MAX_CORES,
    MAX_MEMORY_MIB,
    MAX_TRACE_TIME_S,
    MAX_UNIX_TIME_S,
    Bounds,
    parse_numbers,
    read_utf8,
)
from underlay.importers.trace_format import ProgressCallback, Series
from underlay.importers.trace_import import (
    REQUEST_RULE,
    ImportedTrace,
    count_gaps,
    finish_import,
    host_model,
    hosts_line,
    memory_option,
    requests_from_usage,
    series_names,
    trace_workload,
    workload_names,
)

__all__ = [
    "BITBRAINS_BOUNDS",
    "BITBRAINS_COLUMNS",
    "MAX_MHZ_PER_CORE",
    "STEP_S",
    "BitbrainsVm",
    "bitbrains_import",
    "read_bitbrains",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

STEP_S: Final = 300.0
"""Sampling interval of the Bitbrains traces (5 minutes)."""

_TIME, _CORES, _CAP, _USE = (
    "Timestamp [ms]",
    "CPU cores",
    "CPU capacity provisioned [MHZ]",
    "CPU usage [MHZ]",
)
_MEM_CAP, _MEM_USE = "Memory capacity provisioned [KB]", "Memory usage [KB]"
BITBRAINS_COLUMNS: Final = (_TIME, _CORES, _CAP, _USE, _MEM_CAP, _MEM_USE)
"""The columns the importer needs (the files have more)."""

MAX_MHZ_PER_CORE: Final = 10_000
"""Fastest core accepted, MHz (the trace's run at 2.6-2.9 GHz); more is a unit typo."""
_MAX_KB: Final = MAX_MEMORY_MIB * 1024
BITBRAINS_BOUNDS: Final = {
    _TIME: Bounds(0, MAX_UNIX_TIME_S, " (Unix seconds, before 2100)"),
    _CORES: Bounds(1, MAX_CORES, " cores"),
    _CAP: Bounds(0, MAX_CORES * MAX_MHZ_PER_CORE, " MHz", above_low=True),
    _USE: Bounds(0, MAX_CORES * MAX_MHZ_PER_CORE, " MHz"),
    _MEM_CAP: Bounds(0, _MAX_KB, " KB"),
    _MEM_USE: Bounds(0, _MAX_KB, " KB"),
}
"""The range of each column read (the others are ignored): Unix time up to 2100, 1 to
4,096 cores, MHz more than 0 and at most 10,000 a core, memory up to 64 TiB."""

# 0 cores is the VM powered off (and then 0 MHz provisioned): kept, not range-checked.
_OFF: Final = {_CORES: (0.0,), _CAP: (0.0,)}


@dataclass(frozen=True, eq=False)
class BitbrainsVm:
    """One Bitbrains VM file, converted: duplicates dropped, times in file order."""

    path: Path
    """The file read."""
    timestamp_s: F64
    """Unix time of each sample, seconds."""
    cpu_cores: F64
    """CPU used, in cores of the VM."""
    memory_mib: F64
    """Memory used, MiB."""
    provisioned_cores: float
    """Largest ``CPU cores`` over the file."""
    provisioned_memory_mib: float
    """Largest ``Memory capacity provisioned [KB]`` over the file, in MiB."""
    duplicates: int
    """Rows dropped because they repeated the previous timestamp."""
    gaps: int
    """Gaps longer than two steps (10 minutes)."""
    lines: I64
    """The line of the file each sample was read from."""
    off: int = 0
    """Samples with 0 CPU cores (the VM powered off): read as no usage."""


def _key(column: str) -> str:
    return " ".join(column.split()).lower()


def _table(file: Path) -> tuple[list[str], list[int], list[list[str]]]:
    """The header, and the line number and cells of every data row (the needed columns,
    in :data:`BITBRAINS_COLUMNS` order)."""
    text = read_utf8(file, "a Bitbrains CSV file")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise TraceError(
            f"{file}, line 1: empty file; expected a header with the columns "
            f"{'; '.join(BITBRAINS_COLUMNS)}"
        )
    header = [h.strip().lstrip("\ufeff") for h in lines[0].split(";")]
    index = {_key(h): i for i, h in enumerate(header)}
    missing = [c for c in BITBRAINS_COLUMNS if _key(c) not in index]
    if missing:
        raise TraceError(
            f"{file}, line 1: missing column(s) {', '.join(map(repr, missing))} "
            f"(found: {'; '.join(header)[:300]}); is this a Bitbrains (GWA-T-12) file?"
        )
    cols = [index[_key(c)] for c in BITBRAINS_COLUMNS]
    numbers: list[int] = []
    cells: list[list[str]] = [[] for _ in cols]
    for number, row in enumerate(lines[1:], start=2):
        fields = row.split(";")
        if len(fields) != len(header):
            if not row.strip():
                continue
            raise TraceError(
                f"{file}, line {number}: expected {len(header)} fields as in the header, "
                f"found {len(fields)}"
            )
        numbers.append(number)
        for column, i in zip(cells, cols, strict=True):
            column.append(fields[i])
    if not numbers:
        raise TraceError(f"{file}, line 2: no rows after the header")
    return header, numbers, cells


def read_bitbrains(path: str | Path) -> BitbrainsVm:
    """Read one Bitbrains VM file (strict: TraceError naming file, line, column).

    Every column read has a range (:data:`BITBRAINS_BOUNDS`), checked column by column
    in NumPy; so is the usage in cores (``CPU usage [MHZ]`` over the MHz of one core,
    at most 4,096 cores).
    """
    file = Path(path)
    _, lines, cells = _table(file)
    t, cores, cap, use, mem_cap, mem_use = (
        parse_numbers(file, lines, c, text, BITBRAINS_BOUNDS[c], sentinels=_OFF.get(c, ()))
        for c, text in zip(BITBRAINS_COLUMNS, cells, strict=True)
    )
    off = cores == 0
    # On a powered-off row the capacity columns mean nothing; on the others, 0 MHz
    # provisioned is still out of range (the sentinel let it through parse_numbers).
    no_mhz = ~off & (cap == 0)
    if no_mhz.any():
        i = int(np.argmax(no_mhz))
        raise TraceError(
            f"{file}, line {lines[i]}, column {_CAP!r}: {cells[2][i].strip()!r} is out of "
            f"range; expected {BITBRAINS_BOUNDS[_CAP].describe()} when CPU cores is not 0"
        )
    if off.all():
        raise _AllOff(f"{file}: the VM is powered off (0 CPU cores) in every row")
    with np.errstate(divide="ignore", invalid="ignore"):  # off rows: replaced below
        per_core = np.where(off, 1.0, cap / np.where(off, 1.0, cores))
    slow = per_core > MAX_MHZ_PER_CORE
    if slow.any():
        i = int(np.argmax(slow))
        raise TraceError(
            f"{file}, line {lines[i]}, column {_CAP!r}: {cells[2][i].strip()!r} MHz over "
            f"{cores[i]:g} cores is more than {MAX_MHZ_PER_CORE:,} MHz a core; is the "
            "unit right?"
        )
    with np.errstate(over="ignore"):  # a tiny MHz a core: checked just below
        used = np.where(off, 0.0, use / per_core)
    mem_use = np.where(off, 0.0, mem_use)
    over = used > MAX_CORES
    if over.any():
        i = int(np.argmax(over))
        raise TraceError(
            f"{file}, line {lines[i]}, column {_USE!r}: {cells[3][i].strip()!r} MHz is "
            f"{used[i]:.4g} cores of {per_core[i]:.6g} MHz, more than {MAX_CORES:,} cores"
        )
    step = np.diff(t)
    backwards = step < 0
    if backwards.any():
        i = int(np.argmax(backwards)) + 1
        raise TraceError(
            f"{file}, line {lines[i]}, column {_TIME!r}: {t[i]:.15g} is before the previous "
            f"sample ({t[i - 1]:.15g}); rows must be in time order"
        )
    keep = np.concatenate(([True], step > 0))  # a repeated sample: keep the first
    return BitbrainsVm(
        path=file,
        timestamp_s=t[keep],
        cpu_cores=used[keep],
        memory_mib=mem_use[keep] / 1024.0,
        provisioned_cores=float(cores.max()),
        provisioned_memory_mib=float(mem_cap.max()) / 1024.0,
        duplicates=int(len(keep) - np.count_nonzero(keep)),
        gaps=count_gaps(t[keep], STEP_S),
        lines=np.asarray(lines, dtype=np.int64)[keep],
        off=int(np.count_nonzero(off[keep])),
    )


class _AllOff(TraceError):
    """A file whose VM is off in every row: skipped by the import, an error alone."""


def _check_span(vms: list[BitbrainsVm], files: list[Path], t0: float) -> None:
    """The trace format holds ten years from its start: name the first sample beyond."""
    for vm in vms:
        late = vm.timestamp_s - t0 > MAX_TRACE_TIME_S
        if late.any():
            i = int(np.argmax(late))
            first = files[[float(v.timestamp_s[0]) for v in vms].index(t0)]
            raise TraceError(
                f"{vm.path}, line {int(vm.lines[i])}, column {_TIME!r}: "
                f"{vm.timestamp_s[i]:.15g} is more than ten years after the first sample "
                f"({t0:.15g}, in {first}); import files of one period together"
            )


def _files(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.csv") if p.is_file())
            if not found:
                raise TraceError(f"{path}: no .csv files in this folder")
            files.extend(found)
        else:
            files.append(path)
    if not files:
        raise InputError("no Bitbrains files given: give files or folders of them")
    return files


def _series_names(files: list[Path]) -> list[str]:
    # The file stem names the VM; the same stem in two folders (the archive's
    # 2013-7/1.csv, 2013-8/1.csv ...) gets the folder as a prefix.
    stems = [f.stem for f in files]
    return [f"{f.parent.name}-{f.stem}" if stems.count(f.stem) > 1 else f.stem for f in files]


def bitbrains_import(
    paths: Sequence[str | Path],
    *,
    trace_file: str,
    name: str = "bitbrains",
    host_cores: int = 64,
    host_memory: str = "512Gi",
    tenants: int = 1,
    progress: ProgressCallback | None = None,
) -> ImportedTrace:
    """Import Bitbrains VM files (or folders of them) as a scenario whose workloads
    replay the VMs' usage from ``trace_file`` (a path relative to the scenario file)."""
    host = host_model(host_cores, memory_option("--host-memory", host_memory))
    vms, skipped = _read_all(_files(paths), progress)
    files = [vm.path for vm in vms]
    names = series_names(_series_names(files))
    t0 = min(float(vm.timestamp_s[0]) for vm in vms)
    _check_span(vms, files, t0)
    series: list[Series] = [
        (n, vm.timestamp_s - t0, vm.cpu_cores, vm.memory_mib)
        for n, vm in zip(names, vms, strict=True)
    ]
    span = max(float(s[1][-1]) for s in series)
    header = _header(vms, skipped, host, trace_file, t0, span)
    gaps = sum(vm.gaps for vm in vms)
    dups = sum(vm.duplicates for vm in vms)
    off = sum(vm.off for vm in vms)
    return finish_import(
        command="bitbrains",
        tenant="bitbrains",
        description=f"Imported from {len(files)} Bitbrains (GWA-T-12) VM files.",
        host=host,
        workloads=_workloads(names, vms, trace_file),
        series=series,
        span_s=span,
        name=name,
        tenants=tenants,
        header=header,
        summary=lambda samples: (
            f"{len(vms)} VMs, {samples:,} samples, {gaps} gaps > 2 steps, {dups} duplicates dropped"
            + (f", {off} powered-off samples" if off else "")
            + (f", {len(skipped)} files off throughout skipped" if skipped else "")
        ),
    )


def _read_all(
    files: list[Path], progress: ProgressCallback | None
) -> tuple[list[BitbrainsVm], list[_AllOff]]:
    """The VMs of ``files``, and the files whose VM is off in every row (skipped); a
    TraceError when every file is off."""
    vms: list[BitbrainsVm] = []
    skipped: list[_AllOff] = []
    for i, file in enumerate(files):
        try:
            vms.append(read_bitbrains(file))
        except _AllOff as all_off:
            skipped.append(all_off)
        if progress:
            progress(i + 1, len(files))
    if not vms:
        raise (
            skipped[0]
            if len(skipped) == 1
            else TraceError(
                f"{skipped[0]}; so are the {len(skipped) - 1} other files: nothing to import"
            )
        )
    return vms, skipped


def _header(
    vms: list[BitbrainsVm],
    skipped: list[_AllOff],
    host: dict[str, Any],
    trace_file: str,
    t0: float,
    span: float,
) -> Callable[[int, int], list[str]]:
    """The scenario header's lines, given the tenants and samples written."""
    files = [vm.path for vm in vms]
    gaps = sum(vm.gaps for vm in vms)
    gappy = sum(1 for vm in vms if vm.gaps)
    dups = sum(vm.duplicates for vm in vms)
    off = sum(vm.off for vm in vms)
    off_vms = sum(1 for vm in vms if vm.off)
    start = dt.datetime.fromtimestamp(t0, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    cores = sum(vm.provisioned_cores for vm in vms)
    mean_used = sum(float(vm.cpu_cores.mean()) for vm in vms)
    shown = ", ".join(str(f) for f in files[:3]) + (
        f" and {len(files) - 3} more" if len(files) > 3 else ""
    )

    def header(tenant_count: int, samples: int) -> list[str]:
        return [
            f"# Imported by `underlay import bitbrains` from {shown}",
            "# (GWA-T-12 Bitbrains; acknowledge the Grid Workloads Archive when publishing).",
            f"# {len(vms)} VMs -> {len(vms)} workloads (replicas 1) in "
            f"{tenant_count} tenant(s); usage replayed from {trace_file}:",
            f"# {samples:,} samples over {span / 86400:.1f} days, 5-minute steps; time_s 0 = {start}.",
            "# Mapping: cpu_cores = CPU usage [MHZ] / (CPU capacity provisioned [MHZ] / CPU cores);",
            "# memory_mib = Memory usage [KB] / 1024; the timestamp is read as seconds (despite [ms]).",
            f"# Requests: {REQUEST_RULE};",
            "# limits: the VM's provisioned cores and memory (largest value over the trace).",
            f"# The VMs were given {cores:g} cores and used {mean_used:.2f} on average "
            f"({100 * mean_used / max(cores, 1e-9):.1f}%).",
            f"# Gaps: {gaps} gaps longer than 2 steps (10 min) in {gappy} of {len(vms)} VMs; "
            "the simulator interpolates across them.",
            f"# Duplicates: {dups} rows repeating the previous timestamp were dropped.",
            f"# Powered off: {off} samples with 0 CPU cores in {off_vms} of {len(vms)} VMs "
            "were read as no CPU and no memory used.",
            *(f"# Skipped (off in every row): {s}." for s in skipped),
            hosts_line(host) + ".",
            "# Review: host prices are 0 and power is underlay's default; all workloads are class",
            "# cpu; tenants are arbitrary (round-robin); simulation.horizon_hours covers the trace.",
        ]

    return header


def _workloads(names: list[str], vms: list[BitbrainsVm], trace_file: str) -> list[dict[str, Any]]:
    """A workload per VM: requests from its usage, limits its provisioned size."""
    workloads: list[dict[str, Any]] = []
    for wname, sname, vm in zip(workload_names(names), names, vms, strict=True):
        cpu_m, mem = requests_from_usage([vm.cpu_cores], [vm.memory_mib])
        cpu_limit = max(cpu_m, round(vm.provisioned_cores * 1000))
        mem_limit = max(mem, math.ceil(vm.provisioned_memory_mib))
        workloads.append(
            trace_workload(wname, 1, (cpu_m, mem), (cpu_limit, mem_limit), trace_file, [sname])
        )
    return workloads
