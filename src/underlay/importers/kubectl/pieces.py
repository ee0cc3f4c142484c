"""The pieces of an imported scenario: pods split by what they become, workloads from
groups of pods (with their disruption budget), and names made valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import yaml

from underlay.errors import ScenarioError
from underlay.importers.kubectl.budgets import _Budget
from underlay.importers.kubectl.emitter import _Comments
from underlay.importers.kubectl.grouping import _Group, _PodInfo
from underlay.importers.kubectl.resources import (
    _CPU,
    _GPU,
    _MEMORY,
    _RESOURCES,
    _fmt,
    _fmt_cpu,
    _fmt_memory,
)
from underlay.model.labels import label_problem
from underlay.model.loading import parse_scenario
from underlay.model.scenario import Scenario

__all__ = ["SYSTEM_NAMESPACES", "KubectlImport"]


SYSTEM_NAMESPACES: Final = frozenset({"kube-system", "kube-public", "kube-node-lease"})
"""Kubernetes' own namespaces (all matched by the platform pattern ``kube-*``)."""

_SKIPPED_PHASES: Final = ("Succeeded", "Failed")

_NOT_NAME = re.compile(r"[^-A-Za-z0-9_.]+")

MAX_IMPORTED_LABELS: Final = 16
"""Labels kept per imported workload (the first by key): enough for the usual app,
team, tier and ``app.kubernetes.io/*`` labels, few enough to keep the file readable."""

CONTROLLER_LABELS: Final = frozenset(
    {
        "pod-template-hash",  # Deployment / ReplicaSet
        "controller-revision-hash",  # StatefulSet, DaemonSet
        "pod-template-generation",  # DaemonSet
        "statefulset.kubernetes.io/pod-name",  # StatefulSet, one per pod
        "apps.kubernetes.io/pod-index",  # StatefulSet, one per pod
        "controller-uid",  # Job (before batch.kubernetes.io/)
        "job-name",
        "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-name",
        "batch.kubernetes.io/job-completion-index",
    }
)
"""Labels a controller adds to the pods it makes (per revision, job or pod): not the
pod template's, so not kept (kubernetes.io, "Well-Known Labels, Annotations and Taints")."""

_YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class KubectlImport:
    """The imported scenario: the YAML text to write and the model it validates to."""

    text: str
    """The scenario file, comments included."""
    scenario: Scenario
    """``text`` parsed and validated."""
    summary: str
    """One line for the terminal: what was imported."""


@dataclass(frozen=True)
class _Split:
    """The pods of the dump by what they become."""

    finished: list[_PodInfo]
    """Succeeded or Failed: skipped."""
    daemon: list[_PodInfo]
    """Of a DaemonSet (in any namespace): the clusters' system pods."""
    control_plane: list[_PodInfo]
    """Static (mirror) pods anywhere, and ``tier: control-plane`` pods of the platform."""
    addons: list[_PodInfo]
    """The platform namespaces' other pods: skipped, listed in the header."""
    apps: list[_PodInfo]
    """The rest: the tenants' workloads."""

    @classmethod
    def of(cls, pods: list[_PodInfo], is_platform: Callable[[str], bool]) -> _Split:
        live = [p for p in pods if p.phase not in _SKIPPED_PHASES]
        rest = [p for p in live if not p.daemonset]
        platform = {p.namespace: is_platform(p.namespace) for p in rest}
        control = [p for p in rest if p.static or (platform[p.namespace] and p.control_plane)]
        chosen = {id(p) for p in control}
        return cls(
            finished=[p for p in pods if p.phase in _SKIPPED_PHASES],
            daemon=[p for p in live if p.daemonset],
            control_plane=control,
            addons=[p for p in rest if id(p) not in chosen and platform[p.namespace]],
            apps=[p for p in rest if id(p) not in chosen and not platform[p.namespace]],
        )


def _budget_for(group: _Group, budgets: list[_Budget]) -> tuple[_Budget | None, int]:
    """The first PDB (by name) of the group's namespace selecting all its pods, and how
    many PDBs do."""
    matching = [
        b
        for b in budgets
        if b.namespace == group.namespace and all(b.selects(p.labels) for p in group.pods)
    ]
    matching.sort(key=lambda b: b.name)
    return (matching[0] if matching else None), len(matching)


def _workload(
    group: _Group, name: str, path: _YamlPath, comments: _Comments, budgets: list[_Budget]
) -> dict[str, Any]:
    """The scenario's workload for a group of pods, its comments written to ``comments``."""
    requests: dict[str, Any] = {}
    for resource, key in ((_CPU, "cpu"), (_MEMORY, "memory")):
        amount = group.request(resource)
        if amount:
            requests[key] = _fmt(resource, amount)
    workload: dict[str, Any] = {"name": name, "replicas": len(group.pods), "requests": requests}
    limits = {
        key: _fmt(resource, limit)
        for resource, key in ((_CPU, "cpu"), (_MEMORY, "memory"))
        if (limit := group.limit(resource)) is not None
    }
    if limits:
        workload["limits"] = limits
    gpus = int(group.request(_GPU))
    mig = group.pods[0].mig
    if gpus:
        workload["gpu"] = {"count": gpus}
    elif mig is not None:  # MIG instances: one GPU share (importers/kubectl/mig.py)
        workload["gpu"] = {
            "count": 1,
            "fraction": round(mig.fraction, 4),
            "memory": f"{mig.memory_mib}Mi",
        }
        comments.after[(*path, "gpu")] = (
            f"MIG: {mig.slices} of a GPU's 7 compute slices, {mig.memory_mib // 1024} GB"
        )
        gpus = 1
    batch = group.kind in ("Job", "CronJob")
    workload["class"] = ("gpu-training" if batch else "gpu-inference") if gpus else "cpu"
    budget, covering = _budget_for(group, budgets)
    if budget is not None:
        workload["disruption_budget"], how = budget.for_replicas(len(group.pods))
        if covering > 1:
            how += f"; {covering} PDBs select these pods (eviction refuses that): review"
        comments.after[(*path, "disruption_budget")] = how
    labels, dropped = _template_labels(group)
    if labels:
        workload["labels"] = labels
    if dropped:
        comments.after[(*path, "labels")] = (
            f"{_n(dropped, 'more label')} not kept (at most {MAX_IMPORTED_LABELS}, by key)"
        )
    comments.before[path] = _workload_lines(group)
    if not requests and not limits:
        comments.after[(*path, "requests")] = "BestEffort: no requests"
    comments.after[(*path, "class")] = "guess: review"
    return workload


def _template_labels(group: _Group) -> tuple[dict[str, str], int]:
    """The labels of the group's pod template: the pairs every pod carries, less those a
    controller adds; the first :data:`MAX_IMPORTED_LABELS` by key, and how many more
    there were. A pair Kubernetes would refuse (only in a hand-made dump) is left out."""
    common = dict(group.pods[0].labels)
    for pod in group.pods[1:]:
        common = {k: v for k, v in common.items() if pod.labels.get(k) == v}
    keys = sorted(
        k for k, v in common.items() if k not in CONTROLLER_LABELS and label_problem(k, v) is None
    )
    kept = keys[:MAX_IMPORTED_LABELS]
    return {k: common[k] for k in kept}, len(keys) - len(kept)


def _workload_lines(group: _Group) -> list[str]:
    first = group.pods[0]
    nodes = len({p.node for p in group.pods if p.node})
    origin = first.via if group.kind == "Pod" else f"{group.kind} {group.name}"
    if group.kind != "Pod" and first.via != f"{group.kind} {group.name}":
        origin += f" (via {first.via})"
    where = f"namespace {group.namespace}"
    placed = f"on {_n(nodes, 'node')}" if nodes else "not scheduled yet"
    lines = [f"{origin} in {where}: {_n(len(group.pods), 'pod')} {placed}"]
    if group.kind == "Pod":
        lines = [f"bare pod {group.name} in {where}"]
    for resource in (_CPU, _MEMORY):
        formula = first.requests[resource].formula
        if formula:
            lines.append(
                f"{resource} per pod = {formula} = {_fmt(resource, first.requests[resource].amount)}"
            )
    if any(
        p.requests[r].amount != first.requests[r].amount or p.limits.get(r) != first.limits.get(r)
        for p in group.pods
        for r in _RESOURCES
    ):
        lines.append("pods differ (a rollout?): the largest request and limit are kept")
    return lines


def _describe_pods(pods: Iterable[_PodInfo]) -> Iterator[str]:
    """One header line per owner: what was left out and what it requests."""
    groups: dict[tuple[str, str, str], list[_PodInfo]] = {}
    for pod in pods:
        groups.setdefault((pod.namespace, pod.owner_kind, pod.owner_name), []).append(pod)
    for (namespace, kind, name), members in sorted(groups.items()):
        cpu = max(p.requests[_CPU].amount for p in members)
        memory = max(p.requests[_MEMORY].amount for p in members)
        what = f"{kind} {name}" if kind != "Pod" else f"pod {name}"
        yield (
            f"  {namespace}/{what}: {_n(len(members), 'pod')} requesting "
            f"cpu {_fmt_cpu(cpu)}, memory {_fmt_memory(memory)} each"
        )


def _groups(apps: list[_PodInfo]) -> dict[tuple[str, str, str, str], _Group]:
    """Application pods grouped by tenant, namespace and controlling owner."""
    groups: dict[tuple[str, str, str, str], _Group] = {}
    for pod in apps:
        key = (pod.tenant, pod.namespace, pod.owner_kind, pod.owner_name)
        groups.setdefault(key, _Group(*key)).pods.append(pod)
    return groups


def _validate(text: str, data: dict[str, Any], name: str) -> Scenario:
    """Parse the text as a user would; any failure is a bug of this importer."""
    try:
        scenario = parse_scenario(text, source=f"<imported scenario {name}>")
    except ScenarioError as exc:
        raise RuntimeError(
            f"underlay import kubectl built an invalid scenario (a bug): {exc}"
        ) from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # LibYAML when built with it
    if yaml.load(text, Loader=loader) != data:
        raise RuntimeError("underlay import kubectl wrote YAML that does not read back (a bug)")
    return scenario


# ------------------------------------------------------------------------- names


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _safe_name(text: str, fallback: str) -> str:
    """``text`` made into a scenario name (letters, digits, ``-_.``, at most 63)."""
    cleaned = _NOT_NAME.sub("-", text)[:63].strip("-_.")
    return cleaned or fallback
