"""``underlay import prometheus``: a scenario's workloads replay the usage Prometheus
measured (per pod, CPU and memory, over a range such as the last week).

The scenario (typically written by ``import kubectl``) gives the workloads; Prometheus
gives, per pod, the CPU rate and memory working set (cAdvisor) and the pod's owner
(kube-state-metrics); :mod:`.join` groups pods into workloads, folds pods that came and
went into replica slots and finds the workloads in the scenario. The result is the
scenario with ``usage: {model: trace}`` on every workload found, and its trace file
(one series per replica slot, time from the range's start; a step where a pod had no
sample is no row: gaps stay gaps). The queries are in :mod:`.queries`, the HTTP client
in :mod:`.client`.

A sample needs both CPU and memory: a step with one but not the other (the first step of
a pod, whose CPU rate needs two counter samples) is left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import yaml

from underlay.errors import InputError, ScenarioError
from underlay.files import read_text
from underlay.importers.prometheus.client import (
    Connection,
    PrometheusClient,
    PrometheusError,
    connection,
)
from underlay.importers.prometheus.join import (
    PodWorkload,
    ScenarioWorkload,
    Slots,
    fold_slots,
    match_workloads,
    scenario_workloads,
    workload_of,
)
from underlay.importers.prometheus.queries import (
    CPU_SERIES,
    LIMITS_SERIES,
    MEMORY_SERIES,
    POD_OWNER_SERIES,
    REPLICASET_OWNER_SERIES,
    REQUESTS_SERIES,
    cpu_query,
    memory_query,
    owner_query,
    replicaset_query,
    resource_query,
)
from underlay.importers.ranges import MAX_CORES, MAX_MEMORY_MIB
from underlay.importers.trace_format import ProgressCallback, Series
from underlay.importers.trace_import import (
    ImportedTrace,
    series_names,
    validate_import,
)
from underlay.model.traces import retarget_traces

__all__ = ["Connection", "PrometheusError", "Window", "connection", "prometheus_import"]

F64 = npt.NDArray[np.float64]
_MIB: Final = 2.0**20
_POD_LABELS: Final = ("namespace", "pod")
_SEEN_STEP_S: Final = 3600.0
MAX_STEPS: Final = 110_000
"""Most points per pod imported: a year at 5 minutes (the pods x steps arrays must fit)."""


@dataclass(frozen=True)
class Window:
    """The range asked for, on the step grid: ``points`` steps from ``start_s``."""

    start_s: float
    step_s: float
    points: int

    @classmethod
    def of(cls, end_s: float, range_s: float, step_s: float) -> Window:
        """The grid ending at ``end_s`` rounded down to a whole step (so two imports of
        the same range see the same samples), ``range_s`` long."""
        if range_s < step_s:
            raise InputError(f"--range: {range_s:g} s is shorter than --step {step_s:g} s")
        end = math.floor(end_s / step_s) * step_s
        steps = int(range_s // step_s)
        if steps + 1 > MAX_STEPS:
            raise InputError(
                f"--range / --step: {steps + 1:,} points per pod, more than the {MAX_STEPS:,} "
                "underlay imports (a year at 5 minutes); use a longer --step or a shorter --range"
            )
        return cls(end - steps * step_s, step_s, steps + 1)

    @property
    def end_s(self) -> float:
        """The last step's time."""
        return self.start_s + (self.points - 1) * self.step_s

    @property
    def range_text(self) -> str:
        """``[start, end]`` for messages, as Unix times."""
        return f"{self.start_s:.0f} to {self.end_s:.0f} (step {self.step_s:g} s)"


def _need(labels: dict[str, str], names: Sequence[str], series: str, client: Any) -> None:
    missing = [n for n in names if not labels.get(n)]
    if missing:
        raise PrometheusError(
            f"Prometheus at {client.conn.url}: series {series} without the label(s) "
            f"{', '.join(missing)} (labels seen: {', '.join(sorted(labels)) or 'none'}); "
            "underlay needs the labels cAdvisor and kube-state-metrics set: are they "
            "relabelled away?"
        )


def _seen(
    client: PrometheusClient, window: Window, query: Callable[[float], str]
) -> list[tuple[dict[str, str], float]]:
    """Every series ``query(seconds)`` (a ``max_over_time`` over that many seconds) gives
    over the range, with its largest value. Asked as a range query at one point an hour
    (or a step, when longer), each point looking back to the one before: one query over
    the whole week would load every sample of it at once, beyond Prometheus'
    ``--query.max-samples`` (50 million by default) on a large cluster."""
    step = max(window.step_s, _SEEN_STEP_S)
    points = max(1, math.ceil((window.end_s - window.start_s) / step))
    best: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], float]] = {}
    for part in client.query_range(query(step), window.start_s + step, step, points):
        finite = part.values[np.isfinite(part.values)]
        value = float(finite.max()) if finite.size else math.nan
        key = tuple(sorted(part.labels.items()))
        if key not in best or value > best[key][1]:
            best[key] = (part.labels, value)
    return list(best.values())


def _owners(client: PrometheusClient, window: Window) -> dict[tuple[str, str], PodWorkload]:
    """Each pod's workload, from the owners seen over the range."""
    rs_deployment: dict[tuple[str, str], tuple[str, str]] = {}
    for labels, _ in _seen(client, window, replicaset_query):
        _need(labels, ("namespace", "replicaset", "owner_kind"), REPLICASET_OWNER_SERIES, client)
        if labels.get("owner_name") and labels["owner_kind"] not in ("<none>", ""):
            key = (labels["namespace"], labels["replicaset"])
            rs_deployment[key] = (labels["owner_kind"], labels["owner_name"])
    pods: dict[tuple[str, str], PodWorkload] = {}
    answer = _seen(client, window, owner_query)
    if not answer:
        raise PrometheusError(
            f"Prometheus at {client.conn.url}: no {POD_OWNER_SERIES} series from "
            f"{window.range_text}: is kube-state-metrics scraped by this server?"
        )
    for labels, _ in sorted(answer, key=lambda a: sorted(a[0].items())):
        _need(labels, ("namespace", "pod", "owner_kind", "owner_name"), POD_OWNER_SERIES, client)
        ns, pod, kind, name = (labels[k] for k in ("namespace", "pod", "owner_kind", "owner_name"))
        if kind in ("<none>", "Node"):  # a bare or a static (mirror) pod: its own workload
            kind, name = "Pod", pod
        elif kind == "ReplicaSet" and (ns, name) in rs_deployment:
            kind, name = rs_deployment[(ns, name)]
        else:
            kind, name = workload_of(kind, name)
        pods.setdefault((ns, pod), PodWorkload(ns, kind, name))
    return pods


def _usage(
    client: PrometheusClient,
    window: Window,
    query: str,
    series: str,
    scale: float,
    pods: dict[tuple[str, str], int],
) -> F64:
    """Pods x steps of ``query``'s values times ``scale`` (NaN: no sample); rows are
    ``pods`` (extended by pods that have usage but no owner)."""
    known = len(pods)
    out = np.full((known, window.points), np.nan)  # filled in place: no copy of the whole
    extra: list[F64] = []
    seen = 0
    for part in client.query_range(query, window.start_s, window.step_s, window.points, known):
        seen += 1
        _need(part.labels, _POD_LABELS, series, client)
        key = (part.labels["namespace"], part.labels["pod"])
        row = pods.setdefault(key, len(pods))
        if row >= known:
            extra += [np.full(window.points, np.nan) for _ in range(row + 1 - known - len(extra))]
        target = out[row] if row < known else extra[row - known]
        inside = (part.steps >= 0) & (part.steps < window.points) & np.isfinite(part.values)
        values = part.values[inside] * scale
        if np.any(values < 0):
            raise PrometheusError(
                f"Prometheus at {client.conn.url}: {series} of pod {key[0]}/{key[1]} is "
                "negative; usage cannot be"
            )
        target[part.steps[inside]] = values
    if not seen:
        raise PrometheusError(
            f"Prometheus at {client.conn.url}: no samples of {series} from {window.range_text}: "
            "is cAdvisor (the kubelet's /metrics/cadvisor) scraped, and is the range right "
            "(--end, --range)?"
        )
    extra += [np.full(window.points, np.nan) for _ in range(len(pods) - known - len(extra))]
    return np.vstack([out, *extra]) if extra else out


def _resources(client: PrometheusClient, window: Window) -> dict[str, dict[tuple[str, str], float]]:
    """``{"requests cpu": {(ns, pod): cores}, ...}``: the largest over the range."""
    out: dict[str, dict[tuple[str, str], float]] = {}
    for series, what in ((REQUESTS_SERIES, "requests"), (LIMITS_SERIES, "limits")):
        for resource in ("cpu", "memory"):
            answer = _seen(client, window, partial(resource_query, series, resource))
            values = out.setdefault(f"{what} {resource}", {})
            for labels, value in answer:
                if math.isnan(value):
                    continue
                _need(labels, _POD_LABELS, series, client)
                values[(labels["namespace"], labels["pod"])] = value
    return out


@dataclass(frozen=True)
class _Joined:
    scenario: ScenarioWorkload
    workload: PodWorkload
    slots: Slots
    names: list[str]


def _slots(
    pods: dict[tuple[str, str], int],
    owners: dict[tuple[str, str], PodWorkload],
    cpu: F64,
    mem: F64,
) -> dict[PodWorkload, Slots]:
    """Every workload's pods folded into replica slots (one NumPy fold per workload)."""
    rows: dict[PodWorkload, list[tuple[int, str, int]]] = {}
    seen = ~(np.isnan(cpu) & np.isnan(mem))
    has: npt.NDArray[np.bool_] = np.asarray(seen.any(axis=1), dtype=np.bool_)
    first = np.where(has, np.argmax(seen, axis=1), cpu.shape[1])
    for (ns, pod), row in pods.items():
        if has[row]:
            owner = owners.get((ns, pod)) or PodWorkload(ns, "Pod", pod)
            rows.setdefault(owner, []).append((int(first[row]), pod, row))
    return {
        owner: fold_slots([r for _, _, r in sorted(members)], cpu, mem)
        for owner, members in rows.items()
    }


def _series(joined: list[_Joined], window: Window) -> list[Series]:
    out: list[Series] = []
    times = np.arange(window.points, dtype=np.float64) * window.step_s
    for item in joined:
        for k, name in enumerate(item.names):
            c, m = item.slots.cpu_cores[k], item.slots.memory_mib[k]
            keep = ~np.isnan(c) & ~np.isnan(m)
            out.append((name, times[keep], c[keep], m[keep]))
    return out


def _check_bounds(url: str, joined: list[_Joined]) -> None:
    for item in joined:
        for values, limit, what in (
            (item.slots.cpu_cores, MAX_CORES, f"{CPU_SERIES} (cores)"),
            (item.slots.memory_mib, MAX_MEMORY_MIB, f"{MEMORY_SERIES} (MiB)"),
        ):
            if np.nanmax(values, initial=0.0) > limit:
                raise PrometheusError(
                    f"Prometheus at {url}: {what} of workload {item.workload} "
                    f"reaches {np.nanmax(values):.6g}, above the {limit:,} a trace may hold"
                )


def _fetch(
    conn: Connection, window: Window, progress: ProgressCallback | None
) -> tuple[
    dict[tuple[str, str], PodWorkload],
    dict[PodWorkload, Slots],
    dict[str, dict[tuple[str, str], float]],
]:
    """Everything asked of the server: pods' owners, their usage folded into each
    workload's replica slots (workloads without a complete sample left out), and the
    requests and limits."""
    client = PrometheusClient(conn)
    try:
        owners = _owners(client, window)
        pods = {key: row for row, key in enumerate(sorted(owners))}
        cpu = _usage(client, window, cpu_query(window.step_s), CPU_SERIES, 1.0, pods)
        if progress:
            progress(1, 3)
        mem = _usage(client, window, memory_query(), MEMORY_SERIES, 1 / _MIB, pods)
        if progress:
            progress(2, 3)
        if cpu.shape[0] < mem.shape[0]:  # pods with memory but no CPU samples
            cpu = np.vstack([cpu, np.full((mem.shape[0] - cpu.shape[0], window.points), np.nan)])
        resources = _resources(client, window)
    finally:
        client.close()
    slots = _slots(pods, owners, cpu, mem)
    if not any(s.cpu_cores.shape[0] for s in slots.values()):
        raise PrometheusError(
            f"Prometheus at {conn.url}: no pod has a step with both {CPU_SERIES} and "
            f"{MEMORY_SERIES} from {window.range_text}; a trace needs both"
        )
    return owners, {w: s for w, s in slots.items() if s.cpu_cores.shape[0]}, resources


def prometheus_import(
    scenario_path: str | Path,
    conn: Connection,
    *,
    trace_file: str,
    range_s: float,
    step_s: float,
    end_s: float,
    progress: ProgressCallback | None = None,
    output_dir: Path | None = None,
) -> ImportedTrace:
    """The scenario at ``scenario_path`` with its workloads replaying the usage that the
    server measured over ``range_s`` seconds up to ``end_s`` at ``step_s``, from the trace
    file ``trace_file`` (written beside the scenario by
    :func:`~underlay.importers.trace_import.write_import`). ``output_dir`` is where that
    scenario is written: the input's other trace files are renamed relative to it."""
    path = Path(scenario_path)
    original, data = _scenario_data(path)
    if output_dir is not None:
        retarget_traces(data, path.parent, output_dir)
    window = Window.of(end_s, range_s, step_s)
    owners, slots, resources = _fetch(conn, window, progress)
    targets = list(scenario_workloads(data))
    matches = match_workloads(list(slots), targets)
    joined = _join(matches, slots)
    if not joined:
        found = ", ".join(str(w) for w in sorted(slots)[:5])
        raise PrometheusError(
            f"{path}: none of its {len(targets)} workloads is among the {len(slots)} workloads "
            f"Prometheus at {conn.url} has usage for (e.g. {found}); is it the scenario of "
            "this cluster (from `underlay import kubectl`)?"
        )
    _check_bounds(conn.url, joined)
    for item in joined:
        usage = {"model": "trace", "trace": trace_file, "series": item.names}
        item.scenario.data["usage"] = usage
    _simulation(data, window)
    validate_import(data, "<prometheus import>")
    series = _series(joined, window)
    from underlay.importers.prometheus.header import header_lines

    header = header_lines(
        path,
        conn.url,
        window,
        joined=joined,
        targets=targets,
        slots=slots,
        resources=resources,
        owners=owners,
        original=original,
    )
    samples = sum(len(s[1]) for s in series)
    summary = (
        f"{len(joined)} of {len(targets)} workloads replay {len(series)} replica slots, "
        f"{samples:,} samples"
    )
    return ImportedTrace(data=data, header="\n".join(header), series=series, summary=summary)


def _join(
    matches: dict[PodWorkload, ScenarioWorkload], slots: dict[PodWorkload, Slots]
) -> list[_Joined]:
    joined: list[_Joined] = []
    labels: list[str] = []
    for pw, target in sorted(matches.items()):
        count = slots[pw].cpu_cores.shape[0]
        labels += [f"{pw.namespace}/{pw.name}/{k + 1}" for k in range(count)]
        joined.append(_Joined(target, pw, slots[pw], []))
    names = iter(series_names(labels))
    for item in joined:
        item.names.extend(next(names) for _ in range(item.slots.cpu_cores.shape[0]))
    return joined


def _scenario_data(path: Path) -> tuple[str, dict[str, Any]]:
    """The scenario's data, after checking it loads (so its problems are reported as
    the scenario's, not as the import's)."""
    from underlay.model.loading import parse_scenario

    text = read_text(path, ScenarioError, "a YAML scenario file")
    parse_scenario(text, source=str(path))
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: not a scenario (a YAML mapping)")
    return text, data


def _simulation(data: dict[str, Any], window: Window) -> None:
    """Simulate the imported range at the import's step (the simulator resamples)."""
    hours = min(24 * 366, max(1.0, (window.points - 1) * window.step_s / 3600))
    simulation = data.setdefault("simulation", {})
    simulation["horizon_hours"] = round(hours, 6)
    simulation["step_minutes"] = round(min(24 * 60, window.step_s / 60), 6)
