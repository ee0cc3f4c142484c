"""The PromQL the Prometheus importer sends, and the durations and times it accepts.

Series (the standard ones of a Kubernetes monitoring stack):

* cAdvisor (the kubelet's ``/metrics/cadvisor``): ``container_cpu_usage_seconds_total``
  (a counter of CPU seconds, turned into cores with ``rate``) and
  ``container_memory_working_set_bytes`` (what the kubelet's eviction manager and
  ``kubectl top`` call memory usage). Only container series are summed (``container``
  set and not ``POD``): cAdvisor also exports a pod-level cgroup series with
  ``container=""`` that would count every container twice, and the pause container.
* kube-state-metrics: ``kube_pod_owner`` (pod → controller),
  ``kube_replicaset_owner`` (ReplicaSet → Deployment), and
  ``kube_pod_container_resource_requests`` / ``..._limits`` (``resource`` label
  ``cpu`` in cores, ``memory`` in bytes).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Final

from underlay.errors import InputError

__all__ = [
    "CPU_SERIES",
    "LIMITS_SERIES",
    "MEMORY_SERIES",
    "POD_OWNER_SERIES",
    "REPLICASET_OWNER_SERIES",
    "REQUESTS_SERIES",
    "cpu_query",
    "duration_seconds",
    "end_time",
    "memory_query",
    "owner_query",
    "replicaset_query",
    "resource_query",
]

CPU_SERIES: Final = "container_cpu_usage_seconds_total"
MEMORY_SERIES: Final = "container_memory_working_set_bytes"
POD_OWNER_SERIES: Final = "kube_pod_owner"
REPLICASET_OWNER_SERIES: Final = "kube_replicaset_owner"
REQUESTS_SERIES: Final = "kube_pod_container_resource_requests"
LIMITS_SERIES: Final = "kube_pod_container_resource_limits"

_CONTAINERS: Final = 'container!="",container!="POD"'

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNIT_S: Final = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(option: str, text: str) -> float:
    """A Prometheus duration (``5m``, ``7d``, ``1h30m``) or plain seconds, in seconds;
    :class:`~underlay.errors.InputError` naming ``option`` when it is not one."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        parts = _DURATION.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise InputError(
                f"{option}: {text[:40]!r} is not a duration; write e.g. 30s, 5m, 2h, 7d"
            ) from None
        seconds = sum(int(n) * _UNIT_S[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"{option}: {text[:40]!r} must be a positive duration")
    return seconds


def end_time(text: str | None, now: float) -> float:
    """``--end``: a Unix time in seconds or an RFC 3339 time (``2024-05-06T00:00:00Z``);
    ``now`` when not given."""
    if text is None:
        return now
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--end: {text[:40]!r} is not a time; write a Unix time in seconds or "
            "an RFC 3339 time such as 2024-05-06T00:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _window(step_s: float) -> str:
    # rate() needs two samples in its window; twice the step holds two at the usual
    # scrape intervals up to the step itself, and the windows of consecutive points
    # overlap by one step only.
    return f"{round(2 * step_s)}s"


def cpu_query(step_s: float) -> str:
    """CPU used by each pod, in cores: the rate of its containers' CPU counters."""
    return f"sum by (namespace, pod) (rate({CPU_SERIES}{{{_CONTAINERS}}}[{_window(step_s)}]))"


def memory_query() -> str:
    """Memory used by each pod, in bytes: its containers' working sets."""
    return f"sum by (namespace, pod) ({MEMORY_SERIES}{{{_CONTAINERS}}})"


def _over(selector: str, range_s: float) -> str:
    return f"max_over_time({selector}[{round(range_s)}s])"


def owner_query(range_s: float) -> str:
    """Each pod's controller (``owner_kind``, ``owner_name``) seen in the last
    ``range_s`` seconds (old kube-state-metrics lack ``owner_is_controller``)."""
    selector = f'{POD_OWNER_SERIES}{{owner_is_controller!="false"}}'
    return f"max by (namespace, pod, owner_kind, owner_name) ({_over(selector, range_s)})"


def replicaset_query(range_s: float) -> str:
    """Each ReplicaSet's controller (a Deployment, usually) seen in the last ``range_s``
    seconds."""
    selector = REPLICASET_OWNER_SERIES
    return f"max by (namespace, replicaset, owner_kind, owner_name) ({_over(selector, range_s)})"


def resource_query(series: str, resource: str, range_s: float) -> str:
    """A pod's largest request or limit of ``resource`` in the last ``range_s`` seconds
    (summed over its containers)."""
    per_container = _over(f'{series}{{resource="{resource}"}}', range_s)
    return f"sum by (namespace, pod) ({per_container})"
