"""The Cluster API targets: ``capi-metal3``, ``capi-kubevirt`` and ``capi-vsphere``.

Per cluster of the placed substrate (:mod:`~underlay.export.clusters`), in
``<cluster>/``:

- ``cluster.yaml``: the ``Cluster`` and its provider's cluster object;
- ``control-plane.yaml``: the ``KubeadmControlPlane`` (version, replicas, the kubelet
  configuration of its machines, the per-node pod CIDR) and its machine template;
- ``pool-<pool>.yaml`` per worker pool: a ``MachineDeployment`` (replicas), its
  ``KubeadmConfigTemplate`` (the kubelet configuration) and machine template;

and, for bare-metal clusters, ``inventory/baremetalhosts.yaml``: a ``BareMetalHost``
stub per host the plan uses.

The target names the provider of the VMs; bare-metal clusters are Metal3 in every
Cluster API target (the one bare-metal provider here), so a hybrid of bare metal and
KVM VMs is one ``capi-kubevirt`` export. A plan the target cannot express is refused
whole, naming the cluster (:func:`check`): VMs on ``capi-metal3``, VMs of another
hypervisor, a hosted control plane (a KubeadmControlPlane runs machines of its own), a
vSphere VM under 2 vCPUs (its minimum).
"""

from __future__ import annotations

from typing import Any

from underlay.errors import ExportError
from underlay.export.capi_infra import (
    INFRA_GROUP,
    METAL3,
    PROVIDERS,
    Provider,
    bare_metal_hosts,
)
from underlay.export.clusters import ClusterFacts, Kubelet, Machine, cluster_facts
from underlay.export.kubelet import kubelet_args, node_cidr_args
from underlay.export.manifest import ExportInput, FieldSource, Manifest, Target
from underlay.export.names import object_name, semver
from underlay.model.scenario import Vm

__all__ = ["CAPI_TARGETS", "capi_target", "check"]

CAPI = "cluster.x-k8s.io"
CAPI_VERSION = f"{CAPI}/v1beta2"
CLUSTER_LABEL = f"{CAPI}/cluster-name"
POOL_LABEL = "underlay.io/pool"


def _provider_of(f: ClusterFacts, vms: Provider) -> Provider:
    return vms if _machines(f) and _machines(f)[0].vm else METAL3


def _machines(f: ClusterFacts) -> list[Machine]:
    cp = [f.control_plane.machine] if f.control_plane.machine else []
    return cp + [p.machine for p in f.pools]


def check(inp: ExportInput, facts: list[ClusterFacts], target: str, vms: Provider) -> None:
    """Refuse (ExportError, exit 2) a plan ``target`` cannot express, naming the cluster."""
    where = f"substrate {inp.substrate!r}"
    any_vm = False
    for f in facts:
        who = f"{where}, {f.title}"
        if f.control_plane.mode == "hosted":
            raise ExportError(
                f"{who}: its control plane is hosted (shared control-plane nodes), which a "
                f"KubeadmControlPlane cannot express (it runs machines of its own); set the "
                "cluster's control_plane to dedicated or stacked, or export --target kubernetes"
            )
        kinds = {m.vm for m in _machines(f)}
        if len(kinds) > 1:
            raise ExportError(
                f"{who}: its control plane runs on management VMs and its workers on bare "
                "metal; a Cluster API cluster has one infrastructure provider: set its "
                "control_plane to dedicated or stacked"
            )
        if True not in kinds:
            continue
        any_vm = True
        hypervisor = _hypervisor(inp, f)
        if vms is METAL3:
            suggestion = _target_for(hypervisor)
            raise ExportError(
                f"{who}: runs on {hypervisor} VMs, which capi-metal3 cannot express (it "
                f"provisions bare-metal hosts){suggestion}"
            )
        if hypervisor != vms.hypervisor:
            raise ExportError(
                f"{who}: runs on {hypervisor} VMs, which {target} cannot express (its VMs "
                f"are {vms.hypervisor}){_target_for(hypervisor)}"
            )
        for m in _machines(f):
            _check_machine(m, vms, who, target)
    if vms is not METAL3 and not any_vm:
        raise ExportError(
            f"{where}: has no VMs for {target} to make (its clusters run on bare metal): "
            "export it with --target capi-metal3"
        )


def _check_machine(m: Machine, vms: Provider, who: str, target: str) -> None:
    mode = "vgpu" if m.gpu_slice_milli else "passthrough" if m.gpus else None
    if mode is not None and mode not in vms.gpu_modes:
        raise ExportError(f"{who}: its VMs get GPUs by {mode}, which {target} cannot attach")
    if vms.name == "vsphere" and m.cpu_milli < 2000:
        raise ExportError(
            f"{who}: a VM of {m.cpu_milli // 1000} vCPU, under the 2 a VSphereMachineTemplate "
            "allows (numCPUs >= 2): give the substrate VM shapes of 2 vCPUs or more"
        )


def _hypervisor(inp: ExportInput, f: ClusterFacts) -> str:
    if isinstance(f.substrate, Vm):
        return f.substrate.hypervisor
    return inp.defaults.control_plane.management_hypervisor  # management VMs


def _target_for(hypervisor: str) -> str:
    target = next((f"capi-{p.name}" for p in PROVIDERS.values() if p.hypervisor == hypervisor), "")
    if target:
        return f": export it with --target {target}"
    return f"; no Cluster API target here makes {hypervisor} VMs"


def _ref(group: str, kind: str, name: str) -> dict[str, str]:
    return {"apiGroup": group, "kind": kind, "name": name}


def _doc(kind: str, api: str, name: str, spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, **meta}, "spec": spec}


def _template(
    p: Provider, name: str, m: Machine, pinned: bool, inp: ExportInput, file: str
) -> Manifest:
    spec, sources = p.machine_spec(m, pinned, inp.defaults)
    return Manifest(_doc(p.template_kind, p.api_version, name, spec), file, tuple(sources))


def _cluster_objects(inp: ExportInput, f: ClusterFacts, p: Provider) -> list[Manifest]:
    file = f"{f.name}/cluster.yaml"
    labels = {"underlay.io/substrate": object_name(inp.substrate)}
    spec = {
        "controlPlaneRef": _ref(f"controlplane.{CAPI}", "KubeadmControlPlane", f.name),
        "infrastructureRef": _ref(INFRA_GROUP, p.cluster_kind, f.name),
    }
    infra, sources = p.cluster_spec(f)
    return [
        Manifest(_doc("Cluster", CAPI_VERSION, f.name, spec, labels=labels), file),
        Manifest(_doc(p.cluster_kind, p.api_version, f.name, infra), file, tuple(sources)),
    ]


def _node_registration(
    kubelet: Kubelet, machine: Machine, path: str, who: str
) -> tuple[dict[str, Any], list[FieldSource]]:
    args, sources = kubelet_args(kubelet, machine, f"{path}.kubeletExtraArgs", who)
    return {"kubeletExtraArgs": args}, sources


def _control_plane(inp: ExportInput, f: ClusterFacts, p: Provider) -> list[Manifest]:
    cp = f.control_plane
    assert cp.machine is not None and cp.kubelet is not None  # hosted ones are refused
    file = f"{f.name}/control-plane.yaml"
    template = object_name(f.name, "control-plane")
    who = f"substrate {inp.substrate!r}, {f.title}, control plane"
    cfg: dict[str, Any] = {}
    sources: list[FieldSource] = []
    base = "spec.kubeadmConfigSpec"
    cidr, cidr_sources = node_cidr_args(
        f.pod_cidr_prefix, f"{base}.clusterConfiguration.controllerManager.extraArgs"
    )
    cfg["clusterConfiguration"] = {"controllerManager": {"extraArgs": cidr}}
    sources += cidr_sources
    for phase in ("initConfiguration", "joinConfiguration"):
        reg, more = _node_registration(
            cp.kubelet, cp.machine, f"{base}.{phase}.nodeRegistration", who
        )
        if cp.mode == "stacked":
            reg["taints"] = []  # stacked on workers: the control-plane nodes take pods
        cfg[phase] = {"nodeRegistration": reg}
        sources += more
    spec = {
        "version": semver(f.version),
        "replicas": cp.replicas,
        "machineTemplate": {
            "spec": {"infrastructureRef": _ref(INFRA_GROUP, p.template_kind, template)}
        },
        "kubeadmConfigSpec": cfg,
    }
    sized = f"{cp.vcpus} vCPU, {cp.memory_mib} MiB each for {cp.nodes} nodes"
    figure = f"control-plane replicas, {cp.mode} ({sized}; defaults control_plane)"
    sources.append(FieldSource("spec.replicas", figure))
    body = _doc("KubeadmControlPlane", f"controlplane.{CAPI}/v1beta2", f.name, spec)
    kcp = Manifest(body, file, tuple(sources))
    pinned = cp.kubelet.cpu_manager_static
    return [kcp, _template(p, template, cp.machine, pinned, inp, file)]


def _pools(inp: ExportInput, f: ClusterFacts, p: Provider) -> list[Manifest]:
    out: list[Manifest] = []
    for pool in f.pools:
        name = object_name(f.name, pool.name)
        file = f"{f.name}/pool-{pool.name}.yaml"
        who = f"substrate {inp.substrate!r}, {f.title}, pool {pool.name}"
        labels = {CLUSTER_LABEL: f.name, POOL_LABEL: pool.name}
        spec = {
            "clusterName": f.name,
            "replicas": pool.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "clusterName": f.name,
                    "version": semver(f.version),
                    "bootstrap": {
                        "configRef": _ref(f"bootstrap.{CAPI}", "KubeadmConfigTemplate", name)
                    },
                    "infrastructureRef": _ref(INFRA_GROUP, p.template_kind, name),
                },
            },
        }
        what = "VMs" if pool.machine.vm else f"{pool.machine.host_model} hosts"
        md_source = FieldSource("spec.replicas", f"{pool.replicas} worker {what} (placement)")
        md = _doc("MachineDeployment", CAPI_VERSION, name, spec)
        path = "spec.template.spec.joinConfiguration.nodeRegistration"
        reg, sources = _node_registration(pool.kubelet, pool.machine, path, who)
        kct = {"template": {"spec": {"joinConfiguration": {"nodeRegistration": reg}}}}
        out += [
            Manifest(md, file, (md_source,)),
            Manifest(
                _doc("KubeadmConfigTemplate", f"bootstrap.{CAPI}/v1beta2", name, kct),
                file,
                tuple(sources),
            ),
            _template(p, name, pool.machine, pool.kubelet.cpu_manager_static, inp, file),
        ]
    return out


def _inventory(inp: ExportInput, facts: list[ClusterFacts]) -> list[Manifest]:
    hosts = sorted({h for f in facts for h in f.hosts})  # bare-metal clusters' hosts
    p = inp.placement
    rows = [(h, p.hosts.model[h], p.hosts.rack[h]) for h in hosts]
    return [
        Manifest(body, "inventory/baremetalhosts.yaml", tuple(sources))
        for body, sources in bare_metal_hosts(p.host_models, rows)
    ]


def capi_target(vms: Provider, name: str) -> Target:
    """The Cluster API target whose VMs ``vms`` makes (Metal3: bare metal only)."""

    def export(inp: ExportInput) -> list[Manifest]:
        facts = cluster_facts(inp)
        check(inp, facts, name, vms)
        out: list[Manifest] = []
        for f in facts:
            p = _provider_of(f, vms)
            out += _cluster_objects(inp, f, p) + _control_plane(inp, f, p) + _pools(inp, f, p)
        return out + _inventory(inp, facts)

    export.__doc__ = f"The {name} export of one placed substrate."
    return export


CAPI_TARGETS: dict[str, Target] = {
    "capi-metal3": capi_target(METAL3, "capi-metal3"),
    "capi-kubevirt": capi_target(PROVIDERS["kubevirt"], "capi-kubevirt"),
    "capi-vsphere": capi_target(PROVIDERS["vsphere"], "capi-vsphere"),
}
"""The Cluster API targets, by name."""
