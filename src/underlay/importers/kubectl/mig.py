"""NVIDIA Multi-Instance GPU (MIG) resources, read as shares of whole GPUs.

With the GPU operator's ``mixed`` MIG strategy a node advertises its GPU instances as
extended resources named after their profile, ``nvidia.com/mig-<g>g.<m>gb`` (``g`` compute
slices of the GPU's 7, ``m`` GB of its memory: NVIDIA's MIG user guide lists the A100 and
H100 profiles, 1g.5gb to 7g.40gb / 7g.80gb), and ``nvidia.com/gpu`` counts only the GPUs
left whole; the node's label ``nvidia.com/gpu.count`` still counts its physical GPUs.
underlay models a host's physical GPUs and a pod's share of one, so:

* a node's GPUs are ``nvidia.com/gpu.count`` when it advertises MIG instances (else the
  instances' slices over 7, rounded up, plus its whole GPUs);
* a pod's MIG instances become one GPU request of ``fraction`` = its slices / 7 (at most
  one GPU) and ``memory`` = their memory, so placement packs it like any GPU share.

The ``single`` strategy (every instance advertised as ``nvidia.com/gpu``, the product
label ending in ``-MIG-<profile>``) is read for the node's physical GPUs and model; its
pods' ``nvidia.com/gpu`` then counts instances, which a dump cannot tell from whole GPUs:
the importer says so in the header.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["SLICES_PER_GPU", "MigShare", "node_gpus", "pod_share", "product_model"]

SLICES_PER_GPU: Final = 7
"""Compute slices of an A100 or H100 (NVIDIA MIG user guide)."""

_PROFILE: Final = re.compile(r"^nvidia\.com/mig-(\d+)g\.(\d+)gb$")
_GPU_COUNT_LABEL: Final = "nvidia.com/gpu.count"
_MIG_SUFFIX: Final = re.compile(r"-MIG-(\d+)g\.\d+gb$")


@dataclass(frozen=True)
class MigShare:
    """A pod's MIG instances as a share of one GPU."""

    fraction: float
    """Compute slices asked for / 7, at most 1."""
    memory_mib: int
    """The instances' memory."""
    slices: int


def _count(value: Any) -> int:
    """A resource count as written (``1``, ``"2"``); 0 for anything else."""
    text = str(value).strip()
    return int(text) if text.isdigit() else 0


def _profiles(resources: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    """``(count, slices, memory GB)`` of each MIG resource in ``resources``."""
    out = []
    for key, value in resources.items():
        match = _PROFILE.match(key)
        if match and (n := _count(value)):
            out.append((n, int(match.group(1)), int(match.group(2))))
    return out


def pod_share(spec: Mapping[str, Any]) -> MigShare | None:
    """The MIG instances the pod's app containers ask for (limits, else requests: an
    extended resource's request equals its limit), None when it asks for none."""
    slices = memory_gb = 0
    containers = spec.get("containers")
    for container in containers if isinstance(containers, list) else []:
        resources = container.get("resources") if isinstance(container, dict) else None
        if not isinstance(resources, dict):
            continue
        section = resources.get("limits") or resources.get("requests")
        if isinstance(section, dict):
            for n, g, m in _profiles(section):
                slices += n * g
                memory_gb += n * m
    if not slices:
        return None
    return MigShare(min(1.0, slices / SLICES_PER_GPU), memory_gb * 1024, slices)


def node_gpus(capacity: Mapping[str, Any], labels: Mapping[str, str], whole: int) -> int:
    """The node's physical GPUs: ``whole`` (its ``nvidia.com/gpu``) unless it advertises
    MIG instances or its product label names a MIG profile (see the module docstring)."""
    profiles = _profiles(capacity)
    single = _MIG_SUFFIX.search(labels.get("nvidia.com/gpu.product", ""))
    if not profiles and not single:
        return whole
    counted = _count(labels.get(_GPU_COUNT_LABEL, ""))
    if counted:
        return counted
    if single:  # nvidia.com/gpu counts instances: 7 // g of them fit on one GPU
        per_gpu = max(1, SLICES_PER_GPU // max(1, int(single.group(1))))
        return math.ceil(whole / per_gpu)
    slices = sum(n * g for n, g, _ in profiles)
    return whole + math.ceil(slices / SLICES_PER_GPU)


def product_model(product: str) -> str:
    """The GPU model of a product label, without a MIG profile suffix."""
    return _MIG_SUFFIX.sub("", product)
