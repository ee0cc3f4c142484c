"""The comment header of a scenario whose usage was imported from Prometheus: where the
usage came from, what was joined, what was left out, and what to review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from underlay.importers.prometheus.join import PodWorkload, ScenarioWorkload, Slots

__all__ = ["header_lines"]


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _when(time_s: float) -> str:
    return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _largest(
    resources: Mapping[str, Mapping[tuple[str, str], float]],
    key: str,
    pods: Sequence[tuple[str, str]],
) -> float | None:
    values = [resources.get(key, {}).get(p) for p in pods]
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _requests_line(
    pods: Sequence[tuple[str, str]],
    resources: Mapping[str, Mapping[tuple[str, str], float]],
) -> str:
    parts = []
    for what in ("requests", "limits"):
        cpu = _largest(resources, f"{what} cpu", pods)
        mem = _largest(resources, f"{what} memory", pods)
        if cpu is not None or mem is not None:
            cpu_text = f"cpu {cpu * 1000:.0f}m" if cpu is not None else "no cpu"
            mem_text = f"memory {mem / 2**20:.0f}Mi" if mem is not None else "no memory"
            parts.append(f"{what} {cpu_text}, {mem_text}")
    return "; ".join(parts) if parts else "no requests or limits in kube-state-metrics"


def header_lines(
    path: Path,
    url: str,
    window: Any,
    *,
    joined: Sequence[Any],
    targets: Sequence[ScenarioWorkload],
    slots: Mapping[PodWorkload, Slots],
    resources: Mapping[str, Mapping[tuple[str, str], float]],
    owners: Mapping[tuple[str, str], PodWorkload],
    original: str = "",
) -> list[str]:
    """The header's lines (without ``#``): source, range, each joined workload with its
    pods, slots and largest requests, and the workloads on either side left unjoined."""
    lines = [
        f"Usage imported from Prometheus at {url} into the scenario {path.name}.",
        f"Range: {_when(window.start_s)} to {_when(window.end_s)}, one point every "
        f"{window.step_s:g} s; time 0 of the trace is the range's start.",
        "CPU: rate of container_cpu_usage_seconds_total over twice the step, summed per pod; "
        "memory: container_memory_working_set_bytes summed per pod (cAdvisor).",
        "Pods are grouped into workloads by kube_pod_owner and kube_replicaset_owner; pods "
        "that came and went (rollouts) fill replica slots, the k-th oldest pod alive at a "
        "step in slot k; a step without a sample is a gap in the trace, not a zero.",
        "",
        f"Workloads replaying measured usage: {len(joined)} of {len(targets)}:",
    ]
    pods_of: dict[PodWorkload, list[tuple[str, str]]] = {}
    for pod, owner in owners.items():
        pods_of.setdefault(owner, []).append(pod)
    for item in joined:
        s = item.slots
        present = int(np.count_nonzero(~np.isnan(s.cpu_cores) & ~np.isnan(s.memory_mib)))
        lines.append(
            f"  {item.scenario.tenant}/{item.scenario.name} <- {item.workload.kind} "
            f"{item.workload}: {_n(s.pods, 'pod')} in {_n(s.cpu_cores.shape[0], 'slot')}, "
            f"{_n(present, 'sample')}; {_requests_line(pods_of.get(item.workload, []), resources)}"
        )
        replicas = item.scenario.data.get("replicas")
        if isinstance(replicas, int) and replicas < s.cpu_cores.shape[0]:
            lines.append(
                f"    {replicas} replicas in the scenario: the first {replicas} slots replay, "
                "the others (surge during rollouts) do not"
            )
    unjoined = [t for t in targets if not t.matched]
    if unjoined:
        lines.append(f"Workloads without usage in Prometheus (usage unchanged): {len(unjoined)}:")
        lines += [f"  {t.tenant}/{t.name}" for t in unjoined[:20]]
        if len(unjoined) > 20:
            lines.append(f"  ... and {len(unjoined) - 20} more")
    done = {item.workload for item in joined}
    extra = sorted(w for w in slots if w not in done)
    if extra:
        lines.append(
            f"Workloads in Prometheus but not in the scenario (left out): {len(extra)}, e.g. "
            + ", ".join(str(w) for w in extra[:5])
        )
    kept = [
        line[1:].lstrip(" ") if line.startswith("# ") else line[1:] for line in _leading(original)
    ]
    if kept:
        lines += ["", f"The header of {path.name}, as it was:", *kept]
    return lines


def _leading(text: str) -> list[str]:
    """The comment lines at the top of a scenario file (its importer's header)."""
    out: list[str] = []
    for line in text.split("\n"):
        if not line.startswith("#"):
            break
        out.append(line)
    return out
