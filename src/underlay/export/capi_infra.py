"""The infrastructure providers of the Cluster API targets: how a cluster's machines are
made — Metal3 (bare-metal hosts picked from a ``BareMetalHost`` inventory by host model),
KubeVirt (VMs on a KubeVirt cluster: KVM) or vSphere (ESXi VMs).

Each provider writes its cluster object and one machine template per machine (a host
model, or a VM shape with its GPUs). What the plan cannot know — the BMC addresses,
the OS image, the vCenter, its VM template and network — is written as ``CHANGE-ME``
for the team to fill in (README, "Apply the plan").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from underlay.defaults.catalog import Defaults
from underlay.export.clusters import HOST_MODEL_LABEL, ClusterFacts, Machine
from underlay.export.manifest import FieldSource
from underlay.export.names import memory_quantity, object_name

__all__ = ["INFRA_GROUP", "METAL3", "PROVIDERS", "Provider", "bare_metal_hosts"]

INFRA_GROUP = "infrastructure.cluster.x-k8s.io"
CHANGE_ME = "CHANGE-ME"
API_PORT = 6443
NVIDIA_PCI_VENDOR = 0x10DE  # PCI-SIG vendor ID of NVIDIA (the GPU catalog's models)

Spec = tuple[dict[str, Any], list[FieldSource]]


@dataclass(frozen=True)
class Provider:
    """One Cluster API infrastructure provider."""

    name: str  # metal3, kubevirt, vsphere
    api_version: str
    cluster_kind: str
    template_kind: str
    hypervisor: str | None  # the hypervisor profile its VMs are (None: bare metal)
    gpu_modes: tuple[str, ...]  # how it can give GPUs to a VM
    cluster_spec: Callable[[ClusterFacts], Spec]
    machine_spec: Callable[[Machine, bool, Defaults], Spec]  # machine, pinned, defaults


def _endpoint(f: ClusterFacts, path: str) -> Spec:
    return (
        {"host": f"{f.name}.{CHANGE_ME.lower()}.invalid", "port": API_PORT},
        [FieldSource(f"{path}.port", f"Kubernetes API server port {API_PORT} (kubeadm default)")],
    )


def _metal3_cluster(f: ClusterFacts) -> Spec:
    endpoint, sources = _endpoint(f, "spec.controlPlaneEndpoint")
    return {"controlPlaneEndpoint": endpoint}, sources


def _metal3_machine(m: Machine, pinned: bool, defaults: Defaults) -> Spec:
    spec = {"hostSelector": {"matchLabels": {HOST_MODEL_LABEL: m.host_model}}}
    return {"template": {"spec": spec}}, []


def _vm_size_figures(m: Machine, base: str, cpu: str, mem: str) -> list[FieldSource]:
    return [
        FieldSource(f"{base}.{cpu}", f"VM shape: {m.cpu_milli // 1000} vCPUs (placement)"),
        FieldSource(f"{base}.{mem}", f"VM shape: {m.memory_mib} MiB memory (placement)"),
    ]


def _vgpu_profile(m: Machine, defaults: Defaults) -> tuple[str, int]:
    """NVIDIA's vGPU profile name of a slice (``A100-10C``: the model and the slice's
    GiB, C for compute), and those GiB (the slice of the catalog's GPU memory)."""
    model = m.gpu_model or "GPU"
    spec = defaults.gpu_catalog.find(model)
    memory_gib = (spec.memory_mib if spec else 0) * m.gpu_slice_milli // 1000 // 1024
    return f"{model.upper()}-{memory_gib}C", memory_gib


def _kubevirt_cluster(f: ClusterFacts) -> Spec:
    return {}, []


def _kubevirt_machine(m: Machine, pinned: bool, defaults: Defaults) -> Spec:
    base = "spec.template.spec.virtualMachineTemplate.spec.template.spec.domain"
    cpu: dict[str, Any] = {"cores": m.cpu_milli // 1000}
    if pinned:
        cpu["dedicatedCpuPlacement"] = True
    devices: dict[str, Any] = {}
    sources = _vm_size_figures(m, base, "cpu.cores", "memory.guest")
    if m.gpus:
        devices["gpus"] = [
            {"name": f"gpu{i}", "deviceName": f"nvidia.com/{m.gpu_model or CHANGE_ME}"}
            for i in range(m.gpus)
        ]
        sources.append(
            FieldSource(
                f"{base}.devices.gpus", f"{m.gpus} passthrough GPUs {m.gpu_model} (placement)"
            )
        )
    elif m.gpu_slice_milli:
        profile, gib = _vgpu_profile(m, defaults)
        devices["gpus"] = [{"name": "vgpu0", "deviceName": f"nvidia.com/GRID_{profile}"}]
        sources.append(
            FieldSource(
                f"{base}.devices.gpus.0.deviceName",
                f"vGPU slice {m.gpu_slice_milli / 1000:g} of a {m.gpu_model}: {gib} GiB "
                "(placement; the resource name your KubeVirt permittedHostDevices gives it)",
            )
        )
    domain = {"cpu": cpu, "memory": {"guest": memory_quantity(m.memory_mib)}, "devices": devices}
    vm = {"runStrategy": "Always", "template": {"spec": {"domain": domain}}}
    return {"template": {"spec": {"virtualMachineTemplate": {"spec": vm}}}}, sources


def _vsphere_cluster(f: ClusterFacts) -> Spec:
    endpoint, sources = _endpoint(f, "spec.controlPlaneEndpoint")
    return {"server": f"{CHANGE_ME}-vcenter", "controlPlaneEndpoint": endpoint}, sources


def _vsphere_machine(m: Machine, pinned: bool, defaults: Defaults) -> Spec:
    base = "spec.template.spec"
    spec: dict[str, Any] = {
        "template": f"{CHANGE_ME}-vm-template",
        "numCPUs": m.cpu_milli // 1000,
        "memoryMiB": m.memory_mib,
        "network": {"devices": [{"networkName": f"{CHANGE_ME}-network", "dhcp4": True}]},
    }
    sources = _vm_size_figures(m, base, "numCPUs", "memoryMiB")
    known = m.gpu_model is not None and defaults.gpu_catalog.find(m.gpu_model) is not None
    if m.gpus:
        device: dict[str, Any] = {"customLabel": str(m.gpu_model)}
        if known:
            device["vendorId"] = NVIDIA_PCI_VENDOR
        spec["pciDevices"] = [dict(device) for _ in range(m.gpus)]
        for i in range(m.gpus if known else 0):
            sources.append(
                FieldSource(
                    f"{base}.pciDevices.{i}.vendorId",
                    f"passthrough GPU {i + 1} of {m.gpus} ({m.gpu_model}): PCI vendor "
                    "0x10de, NVIDIA (PCI-SIG vendor ID)",
                )
            )
    elif m.gpu_slice_milli:
        profile, gib = _vgpu_profile(m, defaults)
        spec["pciDevices"] = [{"vGPUProfile": f"grid_{profile.lower()}"}]
        sources.append(
            FieldSource(
                f"{base}.pciDevices.0.vGPUProfile",
                f"vGPU slice {m.gpu_slice_milli / 1000:g} of a {m.gpu_model}: {gib} GiB "
                "(placement; NVIDIA's grid_<model>-<GiB>c profile naming)",
            )
        )
    return {"template": {"spec": spec}}, sources


METAL3 = Provider(
    name="metal3",
    api_version=f"{INFRA_GROUP}/v1beta2",
    cluster_kind="Metal3Cluster",
    template_kind="Metal3MachineTemplate",
    hypervisor=None,
    gpu_modes=(),
    cluster_spec=_metal3_cluster,
    machine_spec=_metal3_machine,
)
PROVIDERS = {
    "metal3": METAL3,
    "kubevirt": Provider(
        name="kubevirt",
        api_version=f"{INFRA_GROUP}/v1alpha1",
        cluster_kind="KubevirtCluster",
        template_kind="KubevirtMachineTemplate",
        hypervisor="kvm",
        gpu_modes=("passthrough", "vgpu"),
        cluster_spec=_kubevirt_cluster,
        machine_spec=_kubevirt_machine,
    ),
    "vsphere": Provider(
        name="vsphere",
        api_version=f"{INFRA_GROUP}/v1beta2",
        cluster_kind="VSphereCluster",
        template_kind="VSphereMachineTemplate",
        hypervisor="esxi",
        gpu_modes=("passthrough", "vgpu"),
        cluster_spec=_vsphere_cluster,
        machine_spec=_vsphere_machine,
    ),
}
"""The providers, by name."""


def bare_metal_hosts(
    models: list[str], hosts: list[tuple[int, int, int]]
) -> list[tuple[dict[str, Any], list[FieldSource]]]:
    """``BareMetalHost`` stubs, one per host ``(row, model index, rack)``: named after its
    model, labelled with it (the Metal3 templates select by it) and its rack; the BMC
    address and credentials are the team's to fill in."""
    out = []
    seen: dict[str, int] = {}
    for _, model, rack in hosts:
        name = models[model]
        seen[name] = seen.get(name, 0) + 1
        host = object_name(name, f"{seen[name]:03d}")
        body = {
            "apiVersion": "metal3.io/v1alpha1",
            "kind": "BareMetalHost",
            "metadata": {
                "name": host,
                "labels": {HOST_MODEL_LABEL: name, "underlay.io/rack": str(rack + 1)},
            },
            "spec": {
                "online": True,
                "bmc": {"address": f"{CHANGE_ME}-bmc-address", "credentialsName": f"{host}-bmc"},
            },
        }
        figure = f"rack {rack + 1} (placement: hosts go round-robin into racks)"
        out.append((body, [FieldSource("metadata.labels.underlay.io/rack", figure)]))
    return out
