"""The export targets by name (``underlay export --target NAME``), and the one a placed
substrate gets when none is named."""

from __future__ import annotations

from underlay.export.capi import CAPI_TARGETS
from underlay.export.karpenter import karpenter, karpenter_target
from underlay.export.kubernetes import kubernetes, kubernetes_target
from underlay.export.manifest import Target
from underlay.model.scenario import Hybrid, Scenario, Vm

__all__ = ["INTO_TARGETS", "TARGETS", "TARGET_NAMES", "default_target", "target_named"]

TARGETS: dict[str, Target] = {**CAPI_TARGETS, "karpenter": karpenter, "kubernetes": kubernetes}
"""Every target, by name."""

TARGET_NAMES = tuple(TARGETS)
"""The names ``--target`` takes."""

INTO_TARGETS = ("karpenter", "kubernetes")
"""The targets that can merge every plan cluster into one existing cluster (``--into``)."""


def target_named(name: str, into: str | None = None) -> Target:
    """The target ``name`` (one of :data:`TARGET_NAMES`); with ``into``, one of
    :data:`INTO_TARGETS` writing every plan cluster into the existing cluster ``into``."""
    if into is None:
        return TARGETS[name]
    if name == "kubernetes":
        return kubernetes_target(into=into)
    return karpenter_target(into=into)


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
