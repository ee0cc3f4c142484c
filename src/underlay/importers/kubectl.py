"""Import ``kubectl get nodes -o json`` and ``kubectl get pods -A -o json`` as a scenario.

The result is a scenario file a user can edit: plain YAML with a comment header that
says where it came from and what to review, and comments next to every value that was
derived or guessed.  The scenario is validated with
:func:`underlay.model.loading.parse_scenario` before it is returned, so the file always
loads.

Mapping rules
-------------
Input
    Either file may hold a ``List`` (``items``) or a single object (``Node`` / ``Pod``).
    Fields that old clusters lack (the sample is Kubernetes v1.8) or that are ``null`` are
    treated as absent.  Quantities use the Kubernetes grammar (``100m``, ``1``,
    ``3.75Gi``, ``7807512Ki``).  Pods in phase ``Succeeded`` or ``Failed`` are skipped
    (the header says how many).

Tenants
    One tenant per namespace (default), or per value of a pod label
    (``--tenant-from label:team``; pods without the label go to tenant ``unlabelled``).
    Each tenant gets one cluster named after it, running the imported Kubernetes version;
    its control plane is ``hosted`` when the dump has no control-plane node (a managed
    cluster), else the default ``dedicated``.

System pods
    Pods owned by a DaemonSet (in any namespace) become every cluster's ``system_pods``:
    one entry per DaemonSet, with the largest effective request among its pods (so the
    entry is what one node pays).  The other pods of the system namespaces
    (``kube-system``, ``kube-public``, ``kube-node-lease``) are not workloads either:
    control-plane static pods (mirror pods, ``tier: control-plane``) are what the
    scenario's ``control_plane`` setting models, and cluster add-ons (DNS, dashboards,
    controllers) run once per cluster, which the scenario model cannot express; both are
    listed in the header with their requests so that a user can add them by hand.

Workloads
    Pods are grouped by their controlling owner reference:

    * ``ReplicaSet <deployment>-<hash>`` → the Deployment: the ``pod-template-hash``
      label is stripped when the name ends with it, else a trailing hash-like segment
      (v1.8 names the ReplicaSet with an encoded hash that differs from the label);
    * ``Job <cronjob>-<8+ digits>`` → the CronJob; other Jobs, StatefulSets,
      ReplicationControllers and any other owner → the owner's name;
    * pods without an owner (or owned by a Node) → one workload per pod.

    ``replicas`` is the number of pods in the group.  The per-pod request is the one
    the scheduler uses (kubernetes.io, "Resource Management for Pods and Containers";
    "Sidecar Containers"): per resource, ``max(sum of app containers + restartable init
    (sidecar) containers, max over init containers of (its request + the sidecars
    started before it)) + spec.overhead``.  A container with a limit but no request
    requests its limit (API server defaulting).  A pod limit exists only when every
    container sets one.  Pods of one group that differ (a rollout in progress) get the
    largest request and limit of the group.  Pods without any request stay BestEffort
    (``requests: {}``).  GPUs come from ``nvidia.com/gpu``.  The workload class is a
    guess, marked as such: GPU pods of a Job / CronJob → ``gpu-training``, other GPU
    pods → ``gpu-inference``, everything else → ``cpu``.

Hardware
    Nodes with the same CPU and memory capacity (rounded down to millicores / MiB), GPU
    count, GPU model and instance type form one host model, named after the instance
    type label when there is one; the ``inventory`` counts the nodes of each.  The GPU
    model is the ``nvidia.com/gpu.product`` label (``nvidia-gpu`` when absent).  The
    number of zones comes from the zone labels; a common non-default ``pods`` capacity
    becomes the clusters' ``max_pods.per_node``.

Kubernetes version
    The most common ``status.nodeInfo.kubeletVersion`` minor (``v1.8.4`` → ``"1.8"``).

Every problem with the input raises :class:`~underlay.errors.TraceError` with the
message ``<file>: <json path>: <problem>``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, Final

import yaml

from underlay.errors import InputError, ScenarioError, TraceError
from underlay.importers.ranges import read_utf8
from underlay.model.loading import parse_scenario
from underlay.model.quantities import parse_quantity
from underlay.model.scenario import MAX_CPU_MILLI, MAX_MEMORY_MIB, Scenario

__all__ = [
    "GPU_PRODUCT_LABEL",
    "GPU_RESOURCE",
    "SYSTEM_NAMESPACES",
    "KubectlImport",
    "import_kubectl",
    "import_kubectl_documents",
    "parse_tenant_from",
]

SYSTEM_NAMESPACES: Final = frozenset({"kube-system", "kube-public", "kube-node-lease"})
"""Namespaces whose pods are the platform's, not a tenant's."""
GPU_RESOURCE: Final = "nvidia.com/gpu"
"""The extended resource counted as GPUs (NVIDIA device plugin)."""
GPU_PRODUCT_LABEL: Final = "nvidia.com/gpu.product"
"""Node label with the GPU model (NVIDIA GPU feature discovery)."""

_INSTANCE_TYPE_LABELS: Final = (
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
)
_ZONE_LABELS: Final = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
_CONTROL_PLANE_LABELS: Final = (
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
)
_MIRROR_ANNOTATION: Final = "kubernetes.io/config.mirror"
_SKIPPED_PHASES: Final = ("Succeeded", "Failed")
_UNLABELLED: Final = "unlabelled"
_DEFAULT_MAX_PODS: Final = 110
_MAX_GPUS_PER_POD: Final = 16
_MAX_GPUS_PER_NODE: Final = 64

_CPU, _MEMORY, _GPU = "cpu", "memory", GPU_RESOURCE
_RESOURCES: Final = (_CPU, _MEMORY, _GPU)
# Largest quantity accepted in any one field, in the resource's base unit (cores, bytes,
# GPUs); anything above is a unit typo, and the scenario model would reject it.
_CEILING: Final = {
    _CPU: Decimal(MAX_CPU_MILLI) / 1000,
    _MEMORY: Decimal(MAX_MEMORY_MIB) * 2**20,
    _GPU: Decimal(_MAX_GPUS_PER_NODE),
}

_KUBELET_VERSION = re.compile(r"^v?1\.(\d{1,2})(?!\d)")
# ReplicaSet name suffixes: rand.SafeEncodeString's alphabet (v1.8+), or the decimal hash
# older releases used.
_RS_HASH = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{5,10}|\d{6,10}")
_CRONJOB_JOB = re.compile(r"^(.+)-\d{8,}$")  # <cronjob>-<scheduled time in minutes>
_NOT_NAME = re.compile(r"[^-A-Za-z0-9_.]+")


# ----------------------------------------------------------------------- public API


@dataclass(frozen=True)
class KubectlImport:
    """The imported scenario: the YAML text to write and the model it validates to."""

    text: str
    """The scenario file, comments included."""
    scenario: Scenario
    """``text`` parsed and validated."""
    summary: str
    """One line for the terminal: what was imported."""


def parse_tenant_from(text: str) -> str | None:
    """``"namespace"`` → ``None``; ``"label:KEY"`` → ``KEY``; anything else is an error."""
    if text == "namespace":
        return None
    if text.startswith("label:") and text[len("label:") :].strip():
        return text[len("label:") :].strip()
    raise InputError(f"--tenant-from: expected 'namespace' or 'label:KEY', got {text!r}")


def import_kubectl(
    nodes: str | Path,
    pods: str | Path,
    *,
    tenant_from: str = "namespace",
    name: str | None = None,
) -> KubectlImport:
    """Read the two kubectl JSON dumps and build the scenario (see the module docstring)."""
    label = parse_tenant_from(tenant_from)
    nodes_doc = _read_json(Path(nodes))
    pods_doc = _read_json(Path(pods))
    return import_kubectl_documents(
        nodes_doc,
        pods_doc,
        nodes_source=str(nodes),
        pods_source=str(pods),
        tenant_label=label,
        name=name,
    )


def import_kubectl_documents(
    nodes_doc: Any,
    pods_doc: Any,
    *,
    nodes_source: str = "<nodes>",
    pods_source: str = "<pods>",
    tenant_label: str | None = None,
    name: str | None = None,
) -> KubectlImport:
    """Build the scenario from already-parsed JSON documents.

    ``tenant_label`` is ``None`` for tenants by namespace, else the pod label to use.
    """
    if name is not None and not _is_name(name):
        raise InputError(
            f"--name: {name!r} is not a valid scenario name "
            "(letters, digits, '-', '_', '.'; at most 63; starting and ending alphanumeric)"
        )
    nodes = [_parse_node(item) for item in _items(_At(nodes_doc, "", nodes_source), "Node")]
    if not nodes:
        raise TraceError(f"{nodes_source}: no nodes in the file")
    pods_all = [
        _parse_pod(item, tenant_label) for item in _items(_At(pods_doc, "", pods_source), "Pod")
    ]
    if not pods_all:
        raise TraceError(f"{pods_source}: no pods in the file")
    builder = _Builder(nodes, pods_all, nodes_source, pods_source, tenant_label)
    return builder.build(name or "kubectl-import")


# ---------------------------------------------------------------- JSON with a path


@dataclass(frozen=True)
class _At:
    """A JSON value and where it is: the file and the path inside it."""

    value: Any
    path: str
    source: str

    def fail(self, problem: str) -> TraceError:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return TraceError(f"{where}: {problem}")

    def child(self, key: str | int) -> _At:
        if isinstance(key, int):
            path = f"{self.path}[{key}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            path = f"{self.path}.{key}" if self.path else key
        else:
            path = f"{self.path}[{json.dumps(key)}]"
        if isinstance(self.value, dict):
            value = self.value.get(key)
        elif isinstance(self.value, list) and isinstance(key, int):
            value = self.value[key]
        else:
            value = None
        return _At(value, path, self.source)

    def mapping(self, key: str) -> _At | None:
        """The object at ``key``; ``None`` when absent or null."""
        at = self.child(key)
        if at.value is None:
            return None
        if not isinstance(at.value, dict):
            raise at.fail(f"expected an object, got {_kind(at.value)}")
        return at

    def sequence(self, key: str) -> list[_At]:
        """The items of the array at ``key``; empty when absent or null."""
        at = self.child(key)
        if at.value is None:
            return []
        if not isinstance(at.value, list):
            raise at.fail(f"expected an array, got {_kind(at.value)}")
        return [at.child(i) for i in range(len(at.value))]

    def objects(self, key: str) -> list[_At]:
        """Like :meth:`sequence`, each item an object."""
        items = self.sequence(key)
        for item in items:
            if not isinstance(item.value, dict):
                raise item.fail(f"expected an object, got {_kind(item.value)}")
        return items

    def text(self, key: str) -> str | None:
        """The string at ``key``; ``None`` when absent or null."""
        at = self.child(key)
        if at.value is None:
            return None
        if not isinstance(at.value, str):
            raise at.fail(f"expected a string, got {_kind(at.value)}")
        return at.value

    def strings(self, key: str) -> dict[str, str]:
        """A string-to-string map (labels, annotations); non-string values are skipped."""
        at = self.mapping(key)
        if at is None:
            return {}
        return {k: v for k, v in at.value.items() if isinstance(k, str) and isinstance(v, str)}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - JSON has no other types


def _read_json(path: Path) -> Any:
    text = read_utf8(path, "a JSON file")
    try:
        # An integer of hundreds of digits is out of every range: read it as a float
        # (infinite), reported with its JSON path, not as Python's int-size ValueError.
        return json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        hint = " (this looks like YAML: use `-o json`)" if text.lstrip()[:1] not in "{[" else ""
        raise TraceError(
            f"{path}, line {exc.lineno}, column {exc.colno}: not JSON: {exc.msg}{hint}"
        ) from None
    except RecursionError:
        raise TraceError(f"{path}: the JSON is nested too deeply") from None


def _json_int(text: str) -> int | float:
    return int(text) if len(text) <= 400 else float(text)


def _items(doc: _At, kind: str) -> list[_At]:
    """The objects of a ``List`` / ``<kind>List``, or the one object of ``kind``."""
    command = f"`kubectl get {kind.lower()}s{' -A' if kind == 'Pod' else ''} -o json`"
    if not isinstance(doc.value, dict):
        raise doc.fail(
            f"expected a {kind} or a List of {kind}s (from {command}), got {_kind(doc.value)}"
        )
    given = doc.text("kind")
    if given in ("List", f"{kind}List") or (given is None and "items" in doc.value):
        items = doc.objects("items")
        for item in items:
            item_kind = item.text("kind")
            if item_kind is not None and item_kind != kind:
                raise item.child("kind").fail(
                    f"expected a {kind}, got {item_kind!r} (is this the output of {command}?)"
                )
        return items
    if given == kind or (given is None and ("metadata" in doc.value or "spec" in doc.value)):
        return [doc]
    got = f"kind {given!r}" if given is not None else "an object without kind or items"
    raise doc.fail(f"expected a {kind} or a List of {kind}s (from {command}), got {got}")


# -------------------------------------------------------------------- quantities


def _quantity(at: _At, resource: str) -> Decimal:
    """The quantity at ``at`` in the resource's base unit (cores, bytes, GPUs)."""
    value = at.value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise at.fail(f"expected a quantity such as '500m' or '4Gi', got {_kind(value)}")
    try:
        amount = parse_quantity(value)
    except ValueError as exc:
        raise at.fail(str(exc)) from None
    except ArithmeticError:
        raise at.fail(f"{value!r} is out of range for a quantity") from None
    if amount < 0:
        raise at.fail(f"{value!r} must not be negative")
    if amount > _CEILING[resource]:
        raise at.fail(
            f"{value!r} is more than {_fmt(resource, _CEILING[resource])}; is the unit right?"
        )
    if resource == _GPU and amount != amount.to_integral_value():
        raise at.fail(f"{value!r}: GPUs are counted in whole devices")
    return amount


def _milli(cores: Decimal, rounding: str = ROUND_CEILING) -> int:
    return int((cores * 1000).to_integral_value(rounding=rounding))


def _fmt_cpu(cores: Decimal, rounding: str = ROUND_CEILING) -> str:
    milli = _milli(cores, rounding)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


_MEMORY_UNITS: Final = (
    ("Ti", 2**40),
    ("Gi", 2**30),
    ("Mi", 2**20),
    ("G", 10**9),
    ("M", 10**6),
    ("Ki", 2**10),
)


def _fmt_memory(size: Decimal) -> str:
    """Bytes → the exact quantity in the largest unit that divides it ("0" → "0Mi")."""
    if size == 0:
        return "0Mi"
    whole = size.to_integral_value(rounding=ROUND_CEILING)
    for suffix, unit in _MEMORY_UNITS:
        if whole % unit == 0:
            return f"{whole // unit}{suffix}"
    return str(whole)


def _fmt(resource: str, amount: Decimal) -> str:
    if resource == _CPU:
        return _fmt_cpu(amount)
    if resource == _MEMORY:
        return _fmt_memory(amount)
    return str(int(amount))


# -------------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class _NodeInfo:
    name: str
    cpu_milli: int
    memory_mib: int
    gpus: int
    gpu_model: str | None
    instance_type: str | None
    zone: str | None
    max_pods: int | None
    kubelet: str | None
    control_plane: bool
    provider: str | None

    @property
    def shape(self) -> tuple[int, int, int, str, str]:
        return (
            self.cpu_milli,
            self.memory_mib,
            self.gpus,
            self.gpu_model or "",
            self.instance_type or "",
        )


def _parse_node(item: _At) -> _NodeInfo:
    meta = item.mapping("metadata")
    name = (meta.text("name") if meta else None) or item.path or "node"
    labels = meta.strings("labels") if meta else {}
    status = item.mapping("status")
    capacity = (status.mapping("capacity") or status.mapping("allocatable")) if status else None
    if capacity is None:
        spec = item.mapping("spec")
        hint = (
            " (this looks like a Pod: is it the pods file?)"
            if spec and "containers" in spec.value
            else ""
        )
        raise item.fail(f"status.capacity: missing; a node needs its cpu and memory capacity{hint}")
    amounts: dict[str, Decimal] = {}
    for resource in _RESOURCES:
        if capacity.value.get(resource) is not None:
            amounts[resource] = _quantity(capacity.child(resource), resource)
        elif resource != _GPU:
            raise capacity.fail(f"{resource}: missing; a node needs its {resource} capacity")
    cpu_milli = _milli(amounts[_CPU], ROUND_FLOOR)
    memory_mib = int((amounts[_MEMORY] / 2**20).to_integral_value(rounding=ROUND_FLOOR))
    if cpu_milli < 1:
        raise capacity.child(_CPU).fail("a node needs some CPU capacity")
    if memory_mib < 1024:
        raise capacity.child(_MEMORY).fail(
            f"{_fmt_memory(amounts[_MEMORY])} is less than the 1Gi a host model needs"
        )
    gpus = int(amounts.get(_GPU, Decimal(0)))
    max_pods: int | None = None
    if capacity.value.get("pods") is not None:
        pods = _quantity(capacity.child("pods"), _CPU)  # a plain count; the CPU ceiling fits
        max_pods = int(pods) if pods == pods.to_integral_value() else None
    node_info = status.mapping("nodeInfo") if status else None
    spec = item.mapping("spec")
    provider = spec.text("providerID") if spec else None
    return _NodeInfo(
        name=name,
        cpu_milli=cpu_milli,
        memory_mib=memory_mib,
        gpus=gpus,
        gpu_model=(labels.get(GPU_PRODUCT_LABEL) or "nvidia-gpu") if gpus else None,
        instance_type=next((labels[k] for k in _INSTANCE_TYPE_LABELS if labels.get(k)), None),
        zone=next((labels[k] for k in _ZONE_LABELS if labels.get(k)), None),
        max_pods=max_pods,
        kubelet=node_info.text("kubeletVersion") if node_info else None,
        control_plane=any(k in labels for k in _CONTROL_PLANE_LABELS)
        or labels.get("kubernetes.io/role") == "master",
        provider=provider.split(":", 1)[0] if provider and ":" in provider else None,
    )


# --------------------------------------------------------------------------- pods


@dataclass(frozen=True)
class _Term:
    """One resource of one pod: the effective amount and how it was reached."""

    amount: Decimal
    formula: str
    """e.g. ``max(200m + 50m, init 500m) + overhead 250m``; empty when trivial."""


@dataclass(frozen=True)
class _PodInfo:
    path: str
    name: str
    namespace: str
    tenant: str
    owner_kind: str  # "Deployment", "StatefulSet", ..., "Pod" for bare pods
    owner_name: str
    via: str  # the owner reference as written, e.g. "ReplicaSet web-7d4b9c8f5d"
    daemonset: bool
    control_plane: bool
    phase: str | None
    node: str | None
    requests: dict[str, _Term]
    limits: dict[str, Decimal | None]


def _parse_pod(item: _At, tenant_label: str | None) -> _PodInfo:
    meta = item.mapping("metadata")
    name = (meta.text("name") if meta else None) or item.path or "pod"
    namespace = (meta.text("namespace") if meta else None) or "default"
    labels = meta.strings("labels") if meta else {}
    annotations = meta.strings("annotations") if meta else {}
    spec = item.mapping("spec")
    if spec is None or spec.value.get("containers") is None:
        raise item.fail("spec.containers: missing; is this a Pod?")
    status = item.mapping("status")

    owner_kind, owner_name, via = "Pod", name, "no owner"
    refs = meta.objects("ownerReferences") if meta else []
    ref = next((r for r in refs if r.value.get("controller") is True), refs[0] if refs else None)
    if ref is not None:
        kind = ref.text("kind") or ""
        ref_name = ref.text("name") or ""
        if kind and ref_name:
            via = f"{kind} {ref_name}"
            owner_kind, owner_name = _workload_of(kind, ref_name, labels)
    mirror = _MIRROR_ANNOTATION in annotations or owner_kind == "Node"
    if owner_kind == "Node":
        owner_kind, owner_name = "Pod", name

    tenant = namespace if tenant_label is None else (labels.get(tenant_label) or _UNLABELLED)
    requests, limits = _pod_resources(spec)
    return _PodInfo(
        path=item.path,
        name=name,
        namespace=namespace,
        tenant=tenant,
        owner_kind=owner_kind,
        owner_name=owner_name,
        via=via,
        daemonset=owner_kind == "DaemonSet",
        control_plane=mirror or labels.get("tier") == "control-plane",
        phase=status.text("phase") if status else None,
        node=spec.text("nodeName"),
        requests=requests,
        limits=limits,
    )


def _workload_of(kind: str, name: str, labels: dict[str, str]) -> tuple[str, str]:
    """The workload a pod's controller stands for: ``(kind, name)``."""
    if kind == "ReplicaSet":
        template_hash = labels.get("pod-template-hash")
        if (
            template_hash
            and name.endswith(f"-{template_hash}")
            and len(name) > len(template_hash) + 1
        ):
            return "Deployment", name[: -len(template_hash) - 1]
        head, dash, tail = name.rpartition("-")
        if dash and head and _RS_HASH.fullmatch(tail):
            return "Deployment", head
        return "ReplicaSet", name
    if kind == "Job":
        match = _CRONJOB_JOB.match(name)
        if match:
            return "CronJob", match.group(1)
    return kind, name


@dataclass
class _Sum:
    """Builds one resource's effective request and the text of its arithmetic."""

    app: list[Decimal] = field(default_factory=list)
    sidecars: list[Decimal] = field(default_factory=list)
    init: Decimal = Decimal(0)
    init_terms: list[Decimal] | None = None  # the largest init step; None: no init containers

    def add_init(self, amount: Decimal, *, restartable: bool) -> None:
        # An init container runs next to the sidecars started before it (and a sidecar
        # next to its predecessors): kubernetes.io "Sidecar Containers", resource sharing.
        terms = [*self.sidecars, amount]
        total = sum(terms, Decimal(0))
        if self.init_terms is None or total > self.init:
            self.init, self.init_terms = total, terms
        if restartable:
            self.sidecars.append(amount)

    def total(self, overhead: Decimal) -> Decimal:
        running = sum(self.app, Decimal(0)) + sum(self.sidecars, Decimal(0))
        return max(running, self.init) + overhead

    def formula(self, resource: str, overhead: Decimal) -> str:
        """The arithmetic of :meth:`total` as text; empty when there is nothing to show."""
        terms = [_fmt(resource, a) for a in self.app]
        terms += [f"sidecar {_fmt(resource, s)}" for s in self.sidecars]
        text = " + ".join(terms) or "0"
        if self.init_terms is not None:
            init = " + ".join(_fmt(resource, t) for t in self.init_terms)
            text = f"max({text}, init {init})"
        if overhead:
            text = f"{text} + overhead {_fmt(resource, overhead)}"
        simple = len(terms) <= 1 and self.init_terms is None and not overhead
        return "" if simple else text


def _container_resources(container: _At) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    resources = container.mapping("resources")
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    if resources is not None:
        for key, out in (("requests", requests), ("limits", limits)):
            section = resources.mapping(key)
            if section is None:
                continue
            for resource in _RESOURCES:
                if section.value.get(resource) is not None:
                    out[resource] = _quantity(section.child(resource), resource)
    for resource, limit in limits.items():
        requests.setdefault(resource, limit)  # the API server defaults a request to the limit
        if requests[resource] > limit:
            raise container.fail(
                f"resources: requests.{resource} {_fmt(resource, requests[resource])} "
                f"is above limits.{resource} {_fmt(resource, limit)}"
            )
    return requests, limits


def _pod_resources(spec: _At) -> tuple[dict[str, _Term], dict[str, Decimal | None]]:
    overhead: dict[str, Decimal] = {}
    overhead_at = spec.mapping("overhead")
    if overhead_at is not None:
        for resource in _RESOURCES:
            if overhead_at.value.get(resource) is not None:
                overhead[resource] = _quantity(overhead_at.child(resource), resource)
    sums = {r: _Sum() for r in _RESOURCES}
    limit_sums = {r: _Sum() for r in _RESOURCES}
    unlimited: set[str] = set()
    for container in spec.objects("initContainers"):
        requests, limits = _container_resources(container)
        restartable = container.value.get("restartPolicy") == "Always"
        for resource in _RESOURCES:
            sums[resource].add_init(requests.get(resource, Decimal(0)), restartable=restartable)
            limit_sums[resource].add_init(limits.get(resource, Decimal(0)), restartable=restartable)
            if resource not in limits:
                unlimited.add(resource)
    for container in spec.objects("containers"):
        requests, limits = _container_resources(container)
        for resource in _RESOURCES:
            sums[resource].app.append(requests.get(resource, Decimal(0)))
            limit_sums[resource].app.append(limits.get(resource, Decimal(0)))
            if resource not in limits:
                unlimited.add(resource)
    terms: dict[str, _Term] = {}
    for resource in _RESOURCES:
        extra = overhead.get(resource, Decimal(0))
        amount = sums[resource].total(extra)
        if amount > _CEILING[resource] or (resource == _GPU and amount > _MAX_GPUS_PER_POD):
            ceiling = _MAX_GPUS_PER_POD if resource == _GPU else _CEILING[resource]
            raise spec.fail(
                f"the pod requests {_fmt(resource, amount)} {resource} in total, more than "
                f"{_fmt(resource, Decimal(ceiling))}; is a unit wrong?"
            )
        terms[resource] = _Term(amount, sums[resource].formula(resource, extra))
    pod_limits: dict[str, Decimal | None] = {}
    has_containers = bool(spec.value.get("containers"))
    for resource in (_CPU, _MEMORY):
        if resource in unlimited or not has_containers:
            pod_limits[resource] = None
        else:
            # Limits are at least the requests container by container, so also in total.
            limit = limit_sums[resource].total(overhead.get(resource, Decimal(0)))
            if limit > _CEILING[resource]:
                raise spec.fail(f"the pod's {resource} limit is too large; is a unit wrong?")
            pod_limits[resource] = limit
    return terms, pod_limits


# ------------------------------------------------------------------ the scenario


@dataclass
class _Group:
    tenant: str
    namespace: str
    kind: str
    name: str
    pods: list[_PodInfo] = field(default_factory=list)

    def request(self, resource: str) -> Decimal:
        return max(p.requests[resource].amount for p in self.pods)

    def limit(self, resource: str) -> Decimal | None:
        values = [p.limits[resource] for p in self.pods]
        return None if any(v is None for v in values) else max(v for v in values if v is not None)


@dataclass
class _Comments:
    """Comments of the YAML emitter: whole lines before a node, or at the end of its line."""

    before: dict[tuple[str | int, ...], list[str]] = field(default_factory=dict)
    after: dict[tuple[str | int, ...], str] = field(default_factory=dict)


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
            name = _unique([_safe_name(instance_type, generic), generic], taken)
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
            name = _unique(
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
        finished = [p for p in self.all_pods if p.phase in _SKIPPED_PHASES]
        live = [p for p in self.all_pods if p.phase not in _SKIPPED_PHASES]
        daemon = [p for p in live if p.daemonset]
        system = [p for p in live if not p.daemonset and p.namespace in SYSTEM_NAMESPACES]
        control_plane = [p for p in system if p.control_plane]
        addons = [p for p in system if not p.control_plane]
        apps = [p for p in live if not p.daemonset and p.namespace not in SYSTEM_NAMESPACES]
        if not apps:
            raise TraceError(
                f"{self.pods_source}: no application pods to import: of {len(self.all_pods)} "
                f"pods, {len(finished)} finished, {len(daemon)} belong to DaemonSets and "
                f"{len(system)} to system namespaces"
            )

        version = self._version()
        hardware = self._hardware()
        system_pods = self._system_pods(daemon)

        groups: dict[tuple[str, str, str, str], _Group] = {}
        for pod in apps:
            key = (pod.tenant, pod.namespace, pod.owner_kind, pod.owner_name)
            groups.setdefault(key, _Group(*key)).pods.append(pod)
        by_tenant: dict[str, list[_Group]] = {}
        for key in sorted(groups, key=lambda k: (k[0], k[3], k[1], k[2])):  # tenant, name
            by_tenant.setdefault(key[0], []).append(groups[key])

        control_plane_nodes = sum(n.control_plane for n in self.nodes)
        max_pods = {n.max_pods for n in self.nodes}
        per_node = next(iter(max_pods)) if len(max_pods) == 1 else None
        tenants: list[dict[str, Any]] = []
        tenant_names: set[str] = set()
        for tenant_key in sorted(by_tenant):
            index = len(tenants)
            path: tuple[str | int, ...] = ("tenants", index)
            tenant_name = _unique([_safe_name(tenant_key, "tenant")], tenant_names)
            tenant: dict[str, Any] = {"name": tenant_name}
            if version is not None:
                tenant["kubernetes_version"] = version
            if not control_plane_nodes:
                tenant["control_plane"] = "hosted"
                self.comments.after[(*path, "control_plane")] = (
                    "no control-plane node in the dump: a managed control plane"
                )
            else:
                tenant["control_plane"] = "dedicated"
                self.comments.after[(*path, "control_plane")] = (
                    "the dump has control-plane nodes: machines of their own"
                )
            if system_pods:
                tenant["system_pods"] = system_pods
            if per_node is not None and per_node != _DEFAULT_MAX_PODS and 1 <= per_node <= 2000:
                tenant["max_pods"] = {"per_node": per_node}
                self.comments.after[(*path, "max_pods")] = "the nodes' pods capacity"
            workloads: list[dict[str, Any]] = []
            taken: set[str] = set()
            for group in by_tenant[tenant_key]:
                wl_name = _unique(
                    [
                        _safe_name(group.name, "workload"),
                        _safe_name(f"{group.namespace}-{group.name}", "workload"),
                        _safe_name(f"{group.name}-{group.kind.lower()}", "workload"),
                    ],
                    taken,
                )
                workloads.append(
                    self._workload(group, wl_name, (*path, "workloads", len(workloads)))
                )
            tenant["workloads"] = workloads
            source = (
                f"namespace {tenant_key}"
                if self.tenant_label is None
                else f"pods labelled {self.tenant_label}={tenant_key}"
                if tenant_key != _UNLABELLED
                else f"pods without the label {self.tenant_label}"
            )
            self.comments.before[path] = [f"tenant from {source}"]
            tenants.append(tenant)

        nodes_n, pods_n = len(self.nodes), len(self.all_pods)
        data: dict[str, Any] = {
            "name": name,
            "description": f"Imported from kubectl: {nodes_n} nodes and {pods_n} pods.",
            "hardware": hardware,
            "tenants": tenants,
        }
        header = self._header(
            finished=finished,
            daemon=daemon,
            control_plane=control_plane,
            addons=addons,
            apps=apps,
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
            f"{_n(len(apps), 'pod')}, {_n(len(system_pods), 'DaemonSet')} as system pods, "
            f"{_n(nodes_n, 'node')} as {_n(len(hardware['host_models']), 'host model')}"
        )
        return KubectlImport(text=text, scenario=scenario, summary=summary)

    def _header(
        self,
        *,
        finished: list[_PodInfo],
        daemon: list[_PodInfo],
        control_plane: list[_PodInfo],
        addons: list[_PodInfo],
        apps: list[_PodInfo],
        tenants: int,
        workloads: int,
        has_system_pods: bool,
        per_node: int | None,
    ) -> str:
        tenant_rule = (
            "namespaces" if self.tenant_label is None else f"the pod label {self.tenant_label!r}"
        )
        phases = Counter(p.phase for p in finished)
        lines = [
            "Imported by `underlay import kubectl` from:",
            f"  nodes: {self.nodes_source} ({len(self.nodes)} nodes)",
            f"  pods:  {self.pods_source} ({len(self.all_pods)} pods)",
            f"{_n(len(apps), 'pod')} became {_n(workloads, 'workload')} of "
            f"{_n(tenants, 'tenant')} (tenants from {tenant_rule}).",
            f"{_n(len(daemon), 'DaemonSet pod')} became the clusters' system_pods.",
        ]
        if finished:
            counts = ", ".join(
                f"{n} {phase}" for phase, n in sorted(phases.items(), key=lambda kv: str(kv[0]))
            )
            lines.append(f"Skipped {_n(len(finished), 'finished pod')} ({counts}).")
        if control_plane:
            lines.append(
                f"Skipped {_n(len(control_plane), 'control-plane pod')} (the scenario's "
                "control_plane setting models them):"
            )
            lines.extend(self._describe_pods(control_plane))
        if addons:
            lines.append(
                f"Skipped {_n(len(addons), 'cluster add-on pod')} of system namespaces: they run "
                "once per cluster, which a scenario cannot say; add them to a tenant's "
                "workloads if they matter:"
            )
            lines.extend(self._describe_pods(addons))
        unscheduled = sum(1 for p in apps if not p.node)
        if unscheduled:
            lines.append(f"{_n(unscheduled, 'imported pod')} had no node yet (Pending).")
        lines += [
            "",
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
        return "".join(f"# {_comment(line)}".rstrip() + "\n" for line in lines) + "\n"


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


def _is_name(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", text)) and len(text) <= 63


def _safe_name(text: str, fallback: str) -> str:
    """``text`` made into a scenario name (letters, digits, ``-_.``, at most 63)."""
    cleaned = _NOT_NAME.sub("-", text)[:63].strip("-_.")
    return cleaned or fallback


def _unique(candidates: list[str], taken: set[str]) -> str:
    """The first candidate not yet taken, else the first with a number appended."""
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


# ---------------------------------------------------------------------- YAML out


_BLOCK_ITEMS: Final = frozenset({"host_models", "tenants", "workloads"})


class _Emitter:
    """Block-style YAML with comments; small mappings of scalars in flow style."""

    def __init__(self, comments: _Comments, anchors: dict[tuple[str | int, ...], str]) -> None:
        self.comments = comments
        self.anchors = anchors
        self.lines: list[str] = []
        self.anchored: dict[int, str] = {}

    def document(self, data: dict[str, Any]) -> str:
        self._mapping(data, 0, (), None)
        return "".join(line.rstrip() + "\n" for line in self.lines)

    def _eol(self, path: tuple[str | int, ...]) -> str:
        text = self.comments.after.get(path)
        return f"  # {_comment(text)}" if text else ""

    def _before(self, path: tuple[str | int, ...], indent: int) -> None:
        for line in self.comments.before.get(path, []):
            self.lines.append(f"{' ' * indent}# {_comment(line)}")

    def _mapping(
        self, data: dict[str, Any], indent: int, path: tuple[str | int, ...], lead: str | None
    ) -> None:
        pad = " " * indent
        for position, (key, value) in enumerate(data.items()):
            here = (*path, key)
            prefix = lead if (lead is not None and position == 0) else pad
            if position or lead is None:
                self._before(here, indent)
            head = f"{prefix}{_scalar(key)}:"
            if id(value) in self.anchored:
                self.lines.append(f"{head} *{self.anchored[id(value)]}{self._eol(here)}")
            elif _is_flow(value):
                self.lines.append(f"{head} {_flow(value)}{self._eol(here)}")
            else:
                anchor = self.anchors.get(here)
                if anchor is not None:
                    self.anchored[id(value)] = anchor
                    head += f" &{anchor}"
                self.lines.append(f"{head}{self._eol(here)}")
                if isinstance(value, dict):
                    self._mapping(value, indent + 2, here, None)
                else:
                    self._sequence(value, indent + 2, here)

    def _sequence(self, items: list[Any], indent: int, path: tuple[str | int, ...]) -> None:
        pad = " " * indent
        for index, item in enumerate(items):
            here = (*path, index)
            self._before(here, indent)
            if isinstance(item, dict) and item and not _is_flow(item, path[-1]):
                self._mapping(item, indent + 2, here, f"{pad}- ")
            else:
                self.lines.append(f"{pad}- {_flow(item)}{self._eol(here)}")


def _comment(text: str) -> str:
    # Names from the dump may hold anything, line breaks included; a comment must not.
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _is_flow(value: Any, parent: str | int | None = None) -> bool:
    if isinstance(value, dict):
        scalars = all(not isinstance(v, dict | list) for v in value.values())
        return scalars and parent not in _BLOCK_ITEMS
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    return True


def _scalar(value: Any) -> str:
    # Dumping inside a flow list gives the quoting a flow context needs.
    text = yaml.safe_dump([value], default_flow_style=True, width=2**31 - 1, allow_unicode=True)
    return text.strip()[1:-1]


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)
