"""The scenario built from the parsed objects of one or several clusters: host models
and inventory, tenants and their workloads, system pods, pod limits, and the header that
says what to review.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from underlay.errors import TraceError
from underlay.importers.kubectl.budgets import _Budget
from underlay.importers.kubectl.emitter import _comment, _Comments, _Emitter
from underlay.importers.kubectl.grouping import _Group, _NodeInfo, _PodInfo
from underlay.importers.kubectl.layouts import minor_version
from underlay.importers.kubectl.pieces import (
    KubectlImport,
    _describe_pods,
    _groups,
    _n,
    _safe_name,
    _Split,
    _validate,
    _workload,
    _YamlPath,
)
from underlay.importers.kubectl.resources import _CPU, _MEMORY, _fmt_cpu, _fmt_memory
from underlay.importers.kubectl.tenancy import NamespaceInfo, TenantRules
from underlay.importers.trace_import import unique_name

__all__: list[str] = []  # private: the public entry points are in .api and .clusters

_DEFAULT_MAX_PODS: Final = 110
_DEFAULT_CIDR_PREFIX: Final = 24
_CIDR_RANGE: Final = (16, 28)  # the model's pod_cidr_prefix bounds


@dataclass
class _ClusterData:
    """One cluster's parsed objects and where they came from."""

    name: str | None
    """``None`` for a one-cluster import (tenants keep the shorthand form)."""
    nodes: list[_NodeInfo]
    pods: list[_PodInfo]
    budgets: list[_Budget]
    namespaces: dict[str, NamespaceInfo]
    nodes_source: str
    pods_source: str
    server_version: str | None = None
    notes: list[str] = field(default_factory=list)


def _topology(nodes: list[_NodeInfo]) -> tuple[dict[str, int], str]:
    """The failure domains the nodes' labels name (zones; racks, from the first label of
    ``RACK_LABELS`` a node has), and a comment listing them."""
    topology: dict[str, int] = {}
    seen: list[str] = []
    zones = sorted({n.zone for n in nodes if n.zone})
    if len(zones) > 1:
        topology["zones"] = min(len(zones), 64)
        seen.append(f"zones: {', '.join(zones)}")
    racks = sorted({n.rack for n in nodes if n.rack})
    if racks:
        topology["racks"] = min(len(racks), 10_000)
        topology["hosts_per_rack"] = min(-(-len(nodes) // len(racks)), 1_000)
        shown = ", ".join(racks[:5]) + (f" and {len(racks) - 5} more" if len(racks) > 5 else "")
        seen.append(f"racks from the nodes' rack labels: {shown}")
    return topology, "; ".join(seen)


_ORIGINS = {"kubectl": "kubectl", "cluster": "a live cluster"}
"""How the description names each importer's source."""


class _Builder:
    def __init__(
        self, clusters: list[_ClusterData], rules: TenantRules, origin: str = "kubectl"
    ) -> None:
        self.clusters = clusters
        self.rules = rules
        self.origin = origin
        """The importer's verb (``kubectl``, ``cluster``): the header and the
        description say which command read the objects."""
        self.comments = _Comments()
        self.anchors: dict[_YamlPath, str] = {}
        self.header: list[str] = []
        self.review: list[str] = []

    # Per cluster ------------------------------------------------------------------

    def _version(self, cluster: _ClusterData) -> str | None:
        served = minor_version(cluster.server_version)
        minors = Counter[str]()
        for node in cluster.nodes:
            minor = minor_version(node.kubelet)
            if minor:
                minors[minor] += 1
        if served:
            return served
        if not minors:
            cluster.notes.append(
                "no node reports a kubelet version (status.nodeInfo.kubeletVersion); "
                "tenants get the model's default version"
            )
            return None
        # Most common; on a tie the newest (an upgrade in progress is mostly done).
        minor = max(minors, key=lambda m: (minors[m], int(m.split(".")[1])))
        if len(minors) > 1:
            seen = ", ".join(f"{m} on {n}" for m, n in sorted(minors.items()))
            cluster.notes.append(f"nodes run several versions ({seen}); imported as {minor}")
        return minor

    def _system_pods(
        self, cluster: _ClusterData, daemon_pods: list[_PodInfo], at: _YamlPath
    ) -> list[dict[str, Any]]:
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
            note = f"DaemonSet {namespace}/{ds}: on {on} of {len(cluster.nodes)} nodes"
            if len({(p.requests[_CPU].amount, p.requests[_MEMORY].amount) for p in pods}) > 1:
                note += "; pods differ, the largest request is kept"
            entries.append({"name": name, "cpu": _fmt_cpu(cpu), "memory": _fmt_memory(memory)})
            # The list is written once, under the cluster's first tenant; the others alias it.
            self.comments.after[(*at, "system_pods", len(entries) - 1)] = note
        return entries

    def _max_pods(self, cluster: _ClusterData) -> tuple[dict[str, int] | None, str]:
        """The clusters' ``max_pods`` from the nodes' pods capacity and pod CIDR, and why.

        The model keeps max pods at most half of the per-node pod CIDR (the kubelet's
        rule of thumb, so addresses are not reused at once); more than 128 pods needs a
        CIDR wider than the default /24 (OpenShift's 250 pods: /23, its hostPrefix)."""
        capacities = {n.max_pods for n in cluster.nodes}
        per_node = next(iter(capacities)) if len(capacities) == 1 else None
        prefixes = {n.pod_cidr_prefix for n in cluster.nodes}
        given = next(iter(prefixes)) if len(prefixes) == 1 else None
        if per_node is None or not 1 <= per_node <= 2000:
            if len({c for c in capacities if c}) > 1:
                cluster.notes.append(
                    "the nodes differ in their pods capacity: max_pods keeps its default"
                )
            return None, ""
        if given is None and per_node == _DEFAULT_MAX_PODS:
            return None, ""
        policy = {"per_node": per_node}
        needed = 32 - (2 * per_node - 1).bit_length()  # widest prefix holding 2x the pods
        why = "the nodes' pods capacity"
        if given is None:
            if needed < _DEFAULT_CIDR_PREFIX:
                policy["pod_cidr_prefix"] = needed
                why += f"; a /{needed} pod CIDR per node holds {per_node} pods (none in the dump)"
            return policy, why
        prefix = min(max(given, _CIDR_RANGE[0]), _CIDR_RANGE[1])
        if prefix != _DEFAULT_CIDR_PREFIX:
            policy["pod_cidr_prefix"] = prefix
        why += f"; pod CIDR /{given} from the nodes' spec.podCIDR"
        if prefix != given:
            why += f" (the model takes /{_CIDR_RANGE[0]} to /{_CIDR_RANGE[1]}: /{prefix})"
        half = 2 ** (32 - prefix) // 2
        if policy == {"per_node": _DEFAULT_MAX_PODS} and half >= _DEFAULT_MAX_PODS:
            return None, ""  # the model's defaults exactly: nothing to write
        if per_node > half:
            policy["per_node"] = half
            cluster.notes.append(
                f"the nodes allow {per_node} pods but their /{given} pod CIDR holds {half} "
                "under the model's half-the-CIDR rule: imported as "
                f"{half}; widen pod_cidr_prefix if the nodes really run more"
            )
        return policy, why

    def _cluster_tenants(
        self, cluster: _ClusterData, index: int, first: int
    ) -> tuple[list[dict[str, Any]], _Split, int]:
        """The tenants of one cluster; ``first`` is the index of its first tenant."""
        split = _Split.of(cluster.pods, self.rules.is_platform)
        if not split.apps:
            where = f"cluster {cluster.name}: " if cluster.name else ""
            raise TraceError(
                f"{cluster.pods_source}: {where}no application pods to import: of "
                f"{len(cluster.pods)} pods, {len(split.finished)} finished, "
                f"{len(split.daemon)} belong to DaemonSets, {len(split.control_plane)} are "
                f"control-plane pods and {len(split.addons)} are in platform namespaces"
            )
        version = self._version(cluster)
        groups = _groups(split.apps)
        by_tenant: dict[str, list[_Group]] = {}
        for key in sorted(groups, key=lambda k: (k[0], k[3], k[1], k[2])):  # tenant, name
            by_tenant.setdefault(key[0], []).append(groups[key])
        max_pods, max_pods_why = self._max_pods(cluster)
        tenants: list[dict[str, Any]] = []
        taken: set[str] = set()
        system_pods: list[dict[str, Any]] = []
        for tenant_key in sorted(by_tenant):
            path: _YamlPath = ("tenants", first + len(tenants))
            at = path if cluster.name is None else (*path, "clusters", 0)
            label = _safe_name(tenant_key, "tenant")
            if cluster.name is not None:  # tenant names are free text: keep the cluster's
                label = f"{cluster.name}/{label}"
            tenant: dict[str, Any] = {"name": unique_name([label], taken)}
            if version is not None:
                tenant["kubernetes_version"] = version
            body: dict[str, Any] = {} if cluster.name is None else {"name": cluster.name}
            self._control_plane(cluster, body, at)
            if not tenants:
                system_pods = self._system_pods(cluster, split.daemon, at)
                if system_pods:
                    anchor = "system_pods" if cluster.name is None else f"system_pods_{index + 1}"
                    self.anchors[(*at, "system_pods")] = anchor
            if system_pods:
                body["system_pods"] = system_pods
            if max_pods is not None:
                body["max_pods"] = max_pods
                self.comments.after[(*at, "max_pods")] = max_pods_why
            body["workloads"] = self._workloads(by_tenant[tenant_key], at, cluster.budgets)
            namespaces = sorted({g.namespace for g in by_tenant[tenant_key]})
            self.comments.before[path] = [
                f"tenant from {self.rules.source_of(tenant_key, namespaces)}"
            ]
            if cluster.name is None:
                tenant.update(body)
            else:
                tenant["clusters"] = [body]
            tenants.append(tenant)
        return tenants, split, len(groups)

    def _control_plane(self, cluster: _ClusterData, body: dict[str, Any], at: _YamlPath) -> None:
        if not any(n.control_plane for n in cluster.nodes):
            body["control_plane"] = "hosted"
            self.comments.after[(*at, "control_plane")] = (
                "no control-plane node in the dump: a managed control plane"
            )
        else:
            body["control_plane"] = "dedicated"
            self.comments.after[(*at, "control_plane")] = (
                "the dump has control-plane nodes: machines of their own"
            )

    def _workloads(
        self, groups: list[_Group], at: _YamlPath, budgets: list[_Budget]
    ) -> list[dict[str, Any]]:
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
            path = (*at, "workloads", len(workloads))
            workloads.append(_workload(group, wl_name, path, self.comments, budgets))
        return workloads

    # The whole ----------------------------------------------------------------------

    def _hardware(self) -> dict[str, Any]:
        nodes = [n for c in self.clusters for n in c.nodes]
        shapes: dict[tuple[int, int, int, str, str], list[_NodeInfo]] = {}
        for node in nodes:
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
        topology, seen = _topology(nodes)
        if topology:
            hardware["topology"] = topology
            self.comments.after[("hardware", "topology")] = seen
        return hardware

    def build(self, name: str) -> KubectlImport:
        """The scenario, validated, with its header."""
        tenants: list[dict[str, Any]] = []
        totals = Counter[str]()
        for index, cluster in enumerate(self.clusters):
            cluster_tenants, split, workloads = self._cluster_tenants(cluster, index, len(tenants))
            tenants += cluster_tenants
            self._header_lines(cluster, split, len(cluster_tenants), workloads)
            totals.update(
                workloads=workloads,
                apps=len(split.apps),
                daemon=len({(p.namespace, p.owner_name) for p in split.daemon}),
                nodes=len(cluster.nodes),
                pods=len(cluster.pods),
            )
        hardware = self._hardware()
        origin = _ORIGINS.get(self.origin, self.origin)
        several = len(self.clusters) > 1
        where = f"{origin}, {len(self.clusters)} clusters" if several else origin
        data: dict[str, Any] = {
            "name": name,
            "description": f"Imported from {where}: {totals['nodes']} nodes and "
            f"{totals['pods']} pods.",
            "hardware": hardware,
            "tenants": tenants,
        }
        text = self._header_text() + _Emitter(self.comments, self.anchors).document(data)
        scenario = _validate(text, data, name)
        summary = (
            f"{_n(len(tenants), 'tenant')}, {_n(totals['workloads'], 'workload')} of "
            f"{_n(totals['apps'], 'pod')}, {_n(totals['daemon'], 'DaemonSet')} as system pods, "
            f"{_n(totals['nodes'], 'node')} as {_n(len(hardware['host_models']), 'host model')}"
        )
        if len(self.clusters) > 1:
            summary = f"{len(self.clusters)} clusters: " + summary
        return KubectlImport(text=text, scenario=scenario, summary=summary)

    # The header --------------------------------------------------------------------

    def _header_lines(
        self, cluster: _ClusterData, pods: _Split, tenants: int, workloads: int
    ) -> None:
        lines = self.header
        if not lines:
            several = f" {len(self.clusters)} clusters" if cluster.name is not None else ""
            lines.append(f"Imported by `underlay import {self.origin}` from{several}:")
        if cluster.name is not None:
            lines.append(f"Cluster {cluster.name}:")
        lines += [
            f"  nodes: {cluster.nodes_source} ({len(cluster.nodes)} nodes)",
            f"  pods:  {cluster.pods_source} ({len(cluster.pods)} pods)",
            f"{_n(len(pods.apps), 'pod')} became {_n(workloads, 'workload')} of "
            f"{_n(tenants, 'tenant')} (tenants from {self.rules.describe()}).",
            f"{_n(len(pods.daemon), 'DaemonSet pod')} became the clusters' system_pods.",
        ]
        if cluster.server_version:
            lines.append(f"Server version {cluster.server_version} (sonobuoy serverversion.json).")
        if cluster.budgets:
            lines.append(f"{_n(len(cluster.budgets), 'PodDisruptionBudget')} read.")
        if pods.finished:
            phases = Counter(str(p.phase) for p in pods.finished)
            counts = ", ".join(f"{n} {phase}" for phase, n in sorted(phases.items()))
            lines.append(f"Skipped {_n(len(pods.finished), 'finished pod')} ({counts}).")
        if pods.control_plane:
            lines.append(
                f"Skipped {_n(len(pods.control_plane), 'control-plane pod')} (static pods "
                "wherever they run, and the platform's tier=control-plane pods; the "
                "scenario's control_plane setting models them):"
            )
            lines.extend(_describe_pods(pods.control_plane))
        if pods.addons:
            lines.append(
                f"Skipped {_n(len(pods.addons), 'cluster add-on pod')} of platform namespaces: "
                "they run once per cluster, which a scenario cannot say; add them to a "
                "tenant's workloads if they matter:"
            )
            lines.extend(_describe_pods(pods.addons))
        unscheduled = sum(1 for p in pods.apps if not p.node)
        if unscheduled:
            lines.append(f"{_n(unscheduled, 'imported pod')} had no node yet (Pending).")
        prefix = f"{cluster.name}: " if cluster.name else ""
        self.review += [f"- {prefix}{note}" for note in cluster.notes]

    def _header_text(self) -> str:
        nodes = [n for c in self.clusters for n in c.nodes]
        lines = [
            *self.header,
            "",
            "Review before trusting the results:",
            "- hardware: price_usd, lifetime_years, power, sockets and threads_per_core are",
            "  not in a kubectl dump; the defaults are used, so costs need your prices.",
            "- the inventory counts every node as a host.",
        ]
        control_plane_nodes = sum(n.control_plane for n in nodes)
        if control_plane_nodes:
            lines += [
                f"- the dump has {_n(control_plane_nodes, 'control-plane node')} (in the inventory);",
                "  a dedicated control plane takes 3 machines per cluster, on bare metal hosts of",
                "  hardware.control_plane_model (set it to their model), else the smallest host",
                "  model that holds it; control_plane: stacked or hosted are the alternatives.",
            ]
        providers = sorted({n.provider for n in nodes if n.provider})
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
        if not any(any(p.daemonset for p in c.pods) for c in self.clusters):
            lines.append("- no DaemonSet pods were found: clusters get the default system pods.")
        lines += self.review
        return "".join(f"# {_comment(line)}".rstrip() + "\n" for line in lines) + "\n"
