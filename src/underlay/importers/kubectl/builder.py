"""The scenario built from the parsed nodes and pods: host models and inventory,
tenants and their workloads, system pods, and the header that says what to review.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import yaml

from underlay.errors import ScenarioError, TraceError
from underlay.importers.kubectl.emitter import _comment, _Comments, _Emitter
from underlay.importers.kubectl.grouping import _UNLABELLED, _Group, _NodeInfo, _PodInfo
from underlay.importers.kubectl.resources import (
    _CPU,
    _GPU,
    _MEMORY,
    _RESOURCES,
    _fmt,
    _fmt_cpu,
    _fmt_memory,
)
from underlay.importers.trace_import import unique_name
from underlay.model.loading import parse_scenario
from underlay.model.scenario import Scenario

__all__ = ["SYSTEM_NAMESPACES", "KubectlImport"]


SYSTEM_NAMESPACES: Final = frozenset({"kube-system", "kube-public", "kube-node-lease"})
"""Namespaces whose pods are the platform's, not a tenant's."""

_SKIPPED_PHASES: Final = ("Succeeded", "Failed")

_DEFAULT_MAX_PODS: Final = 110

_KUBELET_VERSION = re.compile(r"^v?1\.(\d{1,2})(?!\d)")

_NOT_NAME = re.compile(r"[^-A-Za-z0-9_.]+")


@dataclass(frozen=True)
class KubectlImport:
    """The imported scenario: the YAML text to write and the model it validates to."""

    text: str
    """The scenario file, comments included."""
    scenario: Scenario
    """``text`` parsed and validated."""
    summary: str
    """One line for the terminal: what was imported."""


class _Builder:
    def __init__(
        self,
        nodes: list[_NodeInfo],
        pods: list[_PodInfo],
        nodes_source: str,
        pods_source: str,
        tenant_label: str | None,
    ) -> None:
        self.nodes = nodes
        self.all_pods = pods
        self.nodes_source = nodes_source
        self.pods_source = pods_source
        self.tenant_label = tenant_label
        self.comments = _Comments()
        self.notes: list[str] = []

    # The pieces -------------------------------------------------------------------

    def _version(self) -> str | None:
        minors = Counter[int]()
        for node in self.nodes:
            match = _KUBELET_VERSION.match(node.kubelet or "")
            if match:
                minors[int(match.group(1))] += 1
        if not minors:
            self.notes.append(
                "no node reports a kubelet version (status.nodeInfo.kubeletVersion); "
                "tenants get the model's default version"
            )
            return None
        # Most common; on a tie the newest (an upgrade in progress is mostly done).
        minor = max(minors, key=lambda m: (minors[m], m))
        if len(minors) > 1:
            seen = ", ".join(f"1.{m} on {n}" for m, n in sorted(minors.items()))
            self.notes.append(f"nodes run several versions ({seen}); imported as 1.{minor}")
        return f"1.{minor}"

    def _hardware(self) -> dict[str, Any]:
        shapes: dict[tuple[int, int, int, str, str], list[_NodeInfo]] = {}
        for node in self.nodes:
            shapes.setdefault(node.shape, []).append(node)
        taken: set[str] = set()
        models: list[dict[str, Any]] = []
        inventory: list[dict[str, Any]] = []
        for index, (shape, members) in enumerate(sorted(shapes.items())):
            cpu_milli, memory_mib, gpus, gpu_model, instance_type = shape
            generic = f"{_fmt_cpu(Decimal(cpu_milli) / 1000)}cpu-{_fmt_memory(Decimal(memory_mib) * 2**20)}"
            if gpus:
                generic += f"-{gpus}gpu"
            name = unique_name([_safe_name(instance_type, generic), generic], taken)
            model: dict[str, Any] = {
                "name": name,
                "cores": cpu_milli // 1000 if cpu_milli % 1000 == 0 else f"{cpu_milli}m",
                "memory": _fmt_memory(Decimal(memory_mib) * 2**20),
            }
            if gpus:
                model["gpus"] = {"model": _safe_name(gpu_model, "nvidia-gpu"), "count": gpus}
            path = ("hardware", "host_models", index)
            names = sorted(n.name for n in members)
            listed = ", ".join(names[:3]) + (
                f" and {len(names) - 3} more" if len(names) > 3 else ""
            )
            self.comments.before[path] = [f"{_n(len(members), 'node')}: {listed}"]
            self.comments.after[(*path, "memory")] = "capacity, rounded down to MiB"
            models.append(model)
            inventory.append({"model": name, "count": len(members)})
        hardware: dict[str, Any] = {"host_models": models, "inventory": inventory}
        zones = {n.zone for n in self.nodes if n.zone}
        if len(zones) > 1:
            hardware["topology"] = {"zones": min(len(zones), 64)}
            self.comments.after[("hardware", "topology")] = f"zones: {', '.join(sorted(zones))}"
        return hardware

    def _system_pods(self, daemon_pods: list[_PodInfo]) -> list[dict[str, Any]]:
        by_daemonset: dict[tuple[str, str], list[_PodInfo]] = {}
        for pod in daemon_pods:
            by_daemonset.setdefault((pod.namespace, pod.owner_name), []).append(pod)
        taken: set[str] = set()
        entries: list[dict[str, Any]] = []
        for (namespace, ds), pods in sorted(
            by_daemonset.items(), key=lambda kv: (kv[0][1], kv[0][0])
        ):
            cpu = max(p.requests[_CPU].amount for p in pods)
            memory = max(p.requests[_MEMORY].amount for p in pods)
            name = unique_name(
                [_safe_name(ds, "daemonset"), _safe_name(f"{namespace}-{ds}", "daemonset")], taken
            )
            on = len({p.node for p in pods if p.node})
            note = f"DaemonSet {namespace}/{ds}: on {on} of {len(self.nodes)} nodes"
            if len({(p.requests[_CPU].amount, p.requests[_MEMORY].amount) for p in pods}) > 1:
                note += "; pods differ, the largest request is kept"
            entries.append({"name": name, "cpu": _fmt_cpu(cpu), "memory": _fmt_memory(memory)})
            # The list is written once, under the first tenant; the others alias it.
            self.comments.after[("tenants", 0, "system_pods", len(entries) - 1)] = note
        return entries

    def _workload(self, group: _Group, name: str, path: tuple[str | int, ...]) -> dict[str, Any]:
        requests: dict[str, Any] = {}
        for resource, key in ((_CPU, "cpu"), (_MEMORY, "memory")):
            amount = group.request(resource)
            if amount:
                requests[key] = _fmt(resource, amount)
        workload: dict[str, Any] = {
            "name": name,
            "replicas": len(group.pods),
            "requests": requests,
        }
        limits = {
            key: _fmt(resource, limit)
            for resource, key in ((_CPU, "cpu"), (_MEMORY, "memory"))
            if (limit := group.limit(resource)) is not None
        }
        if limits:
            workload["limits"] = limits
        gpus = int(group.request(_GPU))
        if gpus:
            workload["gpu"] = {"count": gpus}
        batch = group.kind in ("Job", "CronJob")
        workload["class"] = ("gpu-training" if batch else "gpu-inference") if gpus else "cpu"

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
        for resource in (_CPU, _MEMORY, _GPU):
            formula = first.requests[resource].formula
            if formula and resource != _GPU:
                lines.append(
                    f"{resource} per pod = {formula} = {_fmt(resource, first.requests[resource].amount)}"
                )
        if any(
            p.requests[r].amount != first.requests[r].amount
            or p.limits.get(r) != first.limits.get(r)
            for p in group.pods
            for r in _RESOURCES
        ):
            lines.append("pods differ (a rollout?): the largest request and limit are kept")
        if not requests and not limits:
            self.comments.after[(*path, "requests")] = "BestEffort: no requests"
        self.comments.before[path] = lines
        self.comments.after[(*path, "class")] = "guess: review"
        return workload

    def _describe_pods(self, pods: Iterable[_PodInfo]) -> Iterator[str]:
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

    # The whole ----------------------------------------------------------------------

    def build(self, name: str) -> KubectlImport:
        pods = _Split.of(self.all_pods)
        if not pods.apps:
            raise TraceError(
                f"{self.pods_source}: no application pods to import: of {len(self.all_pods)} "
                f"pods, {len(pods.finished)} finished, {len(pods.daemon)} belong to DaemonSets "
                f"and {len(pods.system)} to system namespaces"
            )

        version = self._version()
        hardware = self._hardware()
        system_pods = self._system_pods(pods.daemon)
        groups = _groups(pods.apps)
        max_pods = {n.max_pods for n in self.nodes}
        per_node = next(iter(max_pods)) if len(max_pods) == 1 else None
        tenants = self._tenants(groups, version, system_pods, per_node)

        nodes_n, pods_n = len(self.nodes), len(self.all_pods)
        data: dict[str, Any] = {
            "name": name,
            "description": f"Imported from kubectl: {nodes_n} nodes and {pods_n} pods.",
            "hardware": hardware,
            "tenants": tenants,
        }
        header = self._header(
            pods,
            tenants=len(tenants),
            workloads=len(groups),
            has_system_pods=bool(system_pods),
            per_node=per_node,
        )
        # Each cluster gets the same DaemonSets: one list, anchored, so it is edited once.
        anchors: dict[tuple[str | int, ...], str] = {}
        if system_pods:
            anchors[("tenants", 0, "system_pods")] = "system_pods"
        body = _Emitter(self.comments, anchors).document(data)
        text = header + body
        scenario = _validate(text, data, name)
        summary = (
            f"{_n(len(tenants), 'tenant')}, {_n(len(groups), 'workload')} of "
            f"{_n(len(pods.apps), 'pod')}, {_n(len(system_pods), 'DaemonSet')} as system pods, "
            f"{_n(nodes_n, 'node')} as {_n(len(hardware['host_models']), 'host model')}"
        )
        return KubectlImport(text=text, scenario=scenario, summary=summary)

    def _tenants(
        self,
        groups: dict[tuple[str, str, str, str], _Group],
        version: str | None,
        system_pods: list[dict[str, Any]],
        per_node: int | None,
    ) -> list[dict[str, Any]]:
        """One tenant per tenant key (namespace or label value), in name order."""
        by_tenant: dict[str, list[_Group]] = {}
        for key in sorted(groups, key=lambda k: (k[0], k[3], k[1], k[2])):  # tenant, name
            by_tenant.setdefault(key[0], []).append(groups[key])
        tenants: list[dict[str, Any]] = []
        tenant_names: set[str] = set()
        for tenant_key in sorted(by_tenant):
            path: tuple[str | int, ...] = ("tenants", len(tenants))
            tenant: dict[str, Any] = {
                "name": unique_name([_safe_name(tenant_key, "tenant")], tenant_names)
            }
            if version is not None:
                tenant["kubernetes_version"] = version
            self._control_plane(tenant, path)
            if system_pods:
                tenant["system_pods"] = system_pods
            if per_node is not None and per_node != _DEFAULT_MAX_PODS and 1 <= per_node <= 2000:
                tenant["max_pods"] = {"per_node": per_node}
                self.comments.after[(*path, "max_pods")] = "the nodes' pods capacity"
            tenant["workloads"] = self._workloads(by_tenant[tenant_key], path)
            self.comments.before[path] = [f"tenant from {self._tenant_source(tenant_key)}"]
            tenants.append(tenant)
        return tenants

    def _control_plane(self, tenant: dict[str, Any], path: tuple[str | int, ...]) -> None:
        if not any(n.control_plane for n in self.nodes):
            tenant["control_plane"] = "hosted"
            self.comments.after[(*path, "control_plane")] = (
                "no control-plane node in the dump: a managed control plane"
            )
        else:
            tenant["control_plane"] = "dedicated"
            self.comments.after[(*path, "control_plane")] = (
                "the dump has control-plane nodes: machines of their own"
            )

    def _workloads(self, groups: list[_Group], path: tuple[str | int, ...]) -> list[dict[str, Any]]:
        workloads: list[dict[str, Any]] = []
        taken: set[str] = set()
        for group in groups:
            wl_name = unique_name(
                [
                    _safe_name(group.name, "workload"),
                    _safe_name(f"{group.namespace}-{group.name}", "workload"),
                    _safe_name(f"{group.name}-{group.kind.lower()}", "workload"),
                ],
                taken,
            )
            workloads.append(self._workload(group, wl_name, (*path, "workloads", len(workloads))))
        return workloads

    def _tenant_source(self, tenant_key: str) -> str:
        if self.tenant_label is None:
            return f"namespace {tenant_key}"
        if tenant_key != _UNLABELLED:
            return f"pods labelled {self.tenant_label}={tenant_key}"
        return f"pods without the label {self.tenant_label}"

    def _header(
        self,
        pods: _Split,
        *,
        tenants: int,
        workloads: int,
        has_system_pods: bool,
        per_node: int | None,
    ) -> str:
        tenant_rule = (
            "namespaces" if self.tenant_label is None else f"the pod label {self.tenant_label!r}"
        )
        phases = Counter(p.phase for p in pods.finished)
        lines = [
            "Imported by `underlay import kubectl` from:",
            f"  nodes: {self.nodes_source} ({len(self.nodes)} nodes)",
            f"  pods:  {self.pods_source} ({len(self.all_pods)} pods)",
            f"{_n(len(pods.apps), 'pod')} became {_n(workloads, 'workload')} of "
            f"{_n(tenants, 'tenant')} (tenants from {tenant_rule}).",
            f"{_n(len(pods.daemon), 'DaemonSet pod')} became the clusters' system_pods.",
        ]
        if pods.finished:
            counts = ", ".join(
                f"{n} {phase}" for phase, n in sorted(phases.items(), key=lambda kv: str(kv[0]))
            )
            lines.append(f"Skipped {_n(len(pods.finished), 'finished pod')} ({counts}).")
        if pods.control_plane:
            lines.append(
                f"Skipped {_n(len(pods.control_plane), 'control-plane pod')} (the scenario's "
                "control_plane setting models them):"
            )
            lines.extend(self._describe_pods(pods.control_plane))
        if pods.addons:
            lines.append(
                f"Skipped {_n(len(pods.addons), 'cluster add-on pod')} of system namespaces: they "
                "run once per cluster, which a scenario cannot say; add them to a tenant's "
                "workloads if they matter:"
            )
            lines.extend(self._describe_pods(pods.addons))
        unscheduled = sum(1 for p in pods.apps if not p.node)
        if unscheduled:
            lines.append(f"{_n(unscheduled, 'imported pod')} had no node yet (Pending).")
        lines += ["", *self._review(has_system_pods, per_node)]
        return "".join(f"# {_comment(line)}".rstrip() + "\n" for line in lines) + "\n"

    def _review(self, has_system_pods: bool, per_node: int | None) -> list[str]:
        """The header's list of what to check before trusting the results."""
        lines = [
            "Review before trusting the results:",
            "- hardware: price_usd, lifetime_years, power, sockets and threads_per_core are",
            "  not in a kubectl dump; the defaults are used, so costs need your prices.",
            "- the inventory counts every node as a host.",
        ]
        control_plane_nodes = sum(n.control_plane for n in self.nodes)
        if control_plane_nodes:
            lines += [
                f"- the dump has {_n(control_plane_nodes, 'control-plane node')} (in the inventory);",
                "  a dedicated control plane takes 3 machines per cluster, on bare metal hosts of",
                "  hardware.control_plane_model (set it to their model), else the smallest host",
                "  model that holds it; control_plane: stacked or hosted are the alternatives.",
            ]
        providers = sorted({n.provider for n in self.nodes if n.provider})
        if providers:
            lines.append(
                f"- the nodes are cloud machines ({', '.join(providers)}): their capacity is a "
                "VM's, not a physical host's; for bare metal, describe the hosts you would buy."
            )
        lines += [
            "- tenants: isolation, sla and upgrade_cadence_months are defaults; set them.",
            "- workload classes are guesses (marked 'guess'); replicas are the pods that",
            "  ran at dump time (an autoscaler may run more or fewer).",
        ]
        if not has_system_pods:
            lines.append("- no DaemonSet pods were found: clusters get the default system pods.")
        if per_node is None and len({n.max_pods for n in self.nodes if n.max_pods}) > 1:
            lines.append("- the nodes differ in their pods capacity: max_pods keeps its default.")
        lines += [f"- {note}" for note in self.notes]
        return lines


@dataclass(frozen=True)
class _Split:
    """The pods of the dump by what they become."""

    finished: list[_PodInfo]
    """Succeeded or Failed: skipped."""
    daemon: list[_PodInfo]
    """Of a DaemonSet: the clusters' system pods."""
    system: list[_PodInfo]
    """Other pods of the system namespaces: control-plane pods and add-ons, skipped."""
    control_plane: list[_PodInfo]
    addons: list[_PodInfo]
    apps: list[_PodInfo]
    """The rest: the tenants' workloads."""

    @classmethod
    def of(cls, pods: list[_PodInfo]) -> _Split:
        live = [p for p in pods if p.phase not in _SKIPPED_PHASES]
        system = [p for p in live if not p.daemonset and p.namespace in SYSTEM_NAMESPACES]
        return cls(
            finished=[p for p in pods if p.phase in _SKIPPED_PHASES],
            daemon=[p for p in live if p.daemonset],
            system=system,
            control_plane=[p for p in system if p.control_plane],
            addons=[p for p in system if not p.control_plane],
            apps=[p for p in live if not p.daemonset and p.namespace not in SYSTEM_NAMESPACES],
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
    if yaml.safe_load(text) != data:
        raise RuntimeError("underlay import kubectl wrote YAML that does not read back (a bug)")
    return scenario


# ------------------------------------------------------------------------- names


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _safe_name(text: str, fallback: str) -> str:
    """``text`` made into a scenario name (letters, digits, ``-_.``, at most 63)."""
    cleaned = _NOT_NAME.sub("-", text)[:63].strip("-_.")
    return cleaned or fallback
