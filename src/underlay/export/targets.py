"""The export targets by name (``underlay export --target NAME``), and the one a placed
substrate gets when none is named."""

from __future__ import annotations

from underlay.export.capi import CAPI_TARGETS
from underlay.export.manifest import Target
from underlay.model.scenario import Hybrid, Scenario, Vm

__all__ = ["TARGETS", "TARGET_NAMES", "default_target"]

TARGET_NAMES = ("capi-metal3", "capi-kubevirt", "capi-vsphere", "karpenter", "kubernetes")
"""Every target ``--target`` names, registered or not yet."""

TARGETS: dict[str, Target] = {
    **CAPI_TARGETS,
    # The targets for clusters that exist (export/kubernetes.py, export/karpenter.py) are
    # registered here, by the names of TARGET_NAMES:
    # "kubernetes": kubernetes_target,
    # "karpenter": karpenter_target,
}
"""Every registered target, by name."""


def default_target(scenario: Scenario, substrate: str) -> str:
    """The Cluster API target of a substrate: ``capi-vsphere`` when its VMs are ESXi's,
    ``capi-kubevirt`` when they are another hypervisor's (KubeVirt's KVM; the export then
    says what it cannot express), ``capi-metal3`` when it has no VMs."""
    sub = scenario.substrate(substrate)
    parts = [p.substrate for p in sub.parts] if isinstance(sub, Hybrid) else [sub]
    hypervisors = [p.hypervisor for p in parts if isinstance(p, Vm)]
    if not hypervisors:
        return "capi-metal3"
    return "capi-vsphere" if hypervisors[0] == "esxi" else "capi-kubevirt"
