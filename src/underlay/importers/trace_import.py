"""What the trace importers (Bitbrains, Alibaba 2018, PlanetLab) share: requests from
usage by one documented rule (:func:`requests_from_usage`), workload naming, the
workloads (:func:`trace_workload`) and scenario they build and the tail every import
ends with (:func:`finish_import`: scenario, validation, header), and writing a scenario
and its trace together, atomically (:func:`write_import`).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from underlay.errors import InputError
from underlay.files import write_atomically, yaml_text
from underlay.importers.ranges import MAX_CORES, MAX_MEMORY_MIB, MAX_NAME
from underlay.importers.trace_format import ProgressCallback, Series, write_trace

__all__ = [
    "REQUEST_RULE",
    "ImportedTrace",
    "ProgressCallback",
    "build_scenario",
    "comment_block",
    "cores_option",
    "count_gaps",
    "cpu_quantity",
    "dump_yaml",
    "finish_import",
    "host_model",
    "hosts_line",
    "memory_option",
    "memory_quantity",
    "name_option",
    "requests_from_usage",
    "series_names",
    "trace_path_for",
    "trace_workload",
    "unique_name",
    "validate_import",
    "workload_names",
    "write_import",
]

F64 = npt.NDArray[np.float64]

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
    taken: set[str] = set()
    return [
        unique_name([_NAME_BAD.sub("-", label).strip("-_.")[:63].strip("-_.") or "w"], taken)
        for label in raw
    ]


def unique_name(candidates: list[str], taken: set[str]) -> str:
    """The first of ``candidates`` (valid names) not yet ``taken``, else the first with
    ``-2``, ``-3`` ... appended (cut to stay within 63 characters); added to ``taken``."""
    for candidate in candidates:
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = candidates[0][: 63 - len(suffix)].rstrip("-_.") + suffix
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        number += 1


def series_names(raw: Sequence[str]) -> list[str]:
    """Valid, unique trace series names for ``raw`` labels (file names): control
    characters become ``_``, edge spaces go, at most 253 characters (the trace format's
    limit), ``-2``, ``-3`` ... on clashes."""
    out: list[str] = []
    taken: set[str] = set()
    for label in raw:
        base = "".join(c if c.isprintable() else "_" for c in label).strip()[:MAX_NAME].strip()
        name, n = base or "series", 1
        while name in taken:
            n += 1
            suffix = f"-{n}"
            name = (base or "series")[: MAX_NAME - len(suffix)].strip() + suffix
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
        return comment_block(self.header) + "\n" + dump_yaml(self.data)


def comment_block(header: str) -> str:
    """``header`` as YAML comment lines, whatever the file names and ids quoted in it
    hold: every line starts with ``#`` and control characters (which YAML refuses even
    in a comment) become spaces."""
    lines = header.split("\n")
    printable = ("".join(c if c.isprintable() else " " for c in line) for line in lines)
    return "\n".join(line if line.startswith("#") else f"# {line}" for line in printable)


def cpu_quantity(milli: int) -> str:
    """Millicores as an exact Kubernetes quantity (``2000`` → ``2``, ``250`` → ``250m``)."""
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_quantity(mib: int) -> str:
    """MiB as an exact Kubernetes quantity (``4096`` → ``4Gi``, ``1472`` → ``1472Mi``)."""
    return f"{mib // 1024}Gi" if mib % 1024 == 0 and mib else f"{mib}Mi"


def memory_option(option: str, value: str) -> int:
    """A memory quantity given on the command line (``512Gi``), in MiB, rounded up: more
    than 0 and at most 64Ti (the scenario model's bound); InputError if not."""
    from underlay.model.quantities import parse_quantity

    try:
        amount = parse_quantity(value)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}; write a quantity such as 512Gi") from None
    except ArithmeticError:  # an exponent beyond Decimal's range
        amount = Decimal("Infinity")
    mib = amount / 2**20
    if not 0 < mib <= MAX_MEMORY_MIB:
        raise InputError(
            f"{option}: {value[:40]!r} must be more than 0 and at most 64Ti; "
            "write a quantity such as 512Gi"
        )
    return int(mib.to_integral_value(rounding=ROUND_CEILING))


def cores_option(option: str, cores: int) -> int:
    """A number of cores given on the command line: 1 to 4,096; InputError if not."""
    if not 1 <= cores <= MAX_CORES:
        raise InputError(f"{option}: {cores} must be from 1 to {MAX_CORES:,}")
    return cores


def host_model(cores: int, memory_mib: int) -> dict[str, Any]:
    """The one host model of an imported scenario (sizing mode: underlay buys enough)."""
    cores_option("--host-cores", cores)
    if memory_mib < 1024:
        raise InputError(f"--host-memory: {memory_mib}Mi is less than 1Gi")
    return {"name": f"host-{cores}c", "cores": cores, "memory": memory_quantity(memory_mib)}


_SCENARIO_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def name_option(name: str) -> str:
    """The scenario name given with ``--name``; InputError unless it is a valid name."""
    if len(name) > 63 or not _SCENARIO_NAME.fullmatch(name):
        raise InputError(
            f"--name: {name[:80]!r} is not a valid scenario name (letters, digits, '-', '_', "
            "'.'; at most 63; starting and ending with a letter or digit)"
        )
    return name


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
    name_option(name)
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


def trace_workload(
    name: str,
    replicas: int,
    requests: tuple[int, int],
    limits: tuple[int, int],
    trace_file: str | None,
    series: list[str],
) -> dict[str, Any]:
    """A workload of class ``cpu`` whose replicas replay ``series`` of ``trace_file``
    (``None``: no usage rows, the constant usage model); ``requests`` and ``limits`` are
    ``(millicores, MiB)``."""
    workload: dict[str, Any] = {
        "name": name,
        "replicas": replicas,
        "requests": {"cpu": cpu_quantity(requests[0]), "memory": memory_quantity(requests[1])},
        "limits": {"cpu": cpu_quantity(limits[0]), "memory": memory_quantity(limits[1])},
        "class": "cpu",
    }
    if trace_file is not None:
        workload["usage"] = {"model": "trace", "trace": trace_file, "series": series}
    return workload


def hosts_line(host: dict[str, Any]) -> str:
    """The header's line on the one host model (without its closing punctuation)."""
    return (
        f"# Hosts: one model, {host['name']} ({host['cores']} cores, {host['memory']}), sized by "
        "underlay (no inventory)"
    )


def finish_import(
    *,
    command: str,
    tenant: str,
    description: str,
    host: dict[str, Any],
    workloads: Sequence[dict[str, Any]],
    series: list[Series],
    span_s: float,
    name: str,
    tenants: int,
    header: Callable[[int, int], list[str]],
    summary: Callable[[int], str],
) -> ImportedTrace:
    """The tail of every trace import: the scenario (:func:`build_scenario`), checked to
    load (:func:`validate_import`, as ``<command import>``), its header and summary.

    ``header(tenants, samples)`` gives the header's lines from the number of tenants the
    workloads went to and the samples in ``series``; ``summary(samples)`` the summary.
    """
    data = build_scenario(
        name=name,
        description=description,
        host=host,
        workloads=workloads,
        tenant=tenant,
        tenants=tenants,
        span_s=span_s,
    )
    validate_import(data, f"<{command} import>")
    samples = sum(len(s[1]) for s in series)
    lines = header(len(data["tenants"]), samples)
    return ImportedTrace(
        data=data, header="\n".join(lines), series=series, summary=summary(samples)
    )


def dump_yaml(data: dict[str, Any]) -> str:
    """The scenario data as YAML, in the field order given (:func:`underlay.files.yaml_text`)."""
    return yaml_text(data)


def validate_import(data: dict[str, Any], source: str) -> None:
    """Check the imported scenario loads. The readers check every number against its
    range and the options are checked on their own, so a failure here is a bug in the
    importer (``RuntimeError``), not bad input."""
    from underlay.errors import ScenarioError
    from underlay.model.loading import parse_scenario

    try:
        parse_scenario(dump_yaml(data), source=source)
    except ScenarioError as exc:
        raise RuntimeError(f"{source} built an invalid scenario (a bug): {exc}") from exc


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
    written = False
    try:
        write_trace(trace, result.series)
        write_atomically(target, result.text)
        written = True
    finally:  # whatever stopped it (an error, Ctrl-C, SIGTERM): nothing half-done is left
        if not written and not existed:
            with contextlib.suppress(OSError):
                trace.unlink(missing_ok=True)
    return trace
