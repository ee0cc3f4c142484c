"""Throughput of a GPU and of a CPU relative to bare metal, from the cited defaults: what
the static comparison shows for a substrate and for each tenant on it.

Each workload counts on its own substrate — in a hybrid, its part's — so a tenant of a
hybrid gets the figures the pure substrate of its part gives it (a vm part its
hypervisor's, a bare-metal part bare metal's), and a tenant split by ``gpu_workloads``
the figures of both its parts, weighted as below:

- **GPU**: the efficiency of the mode each GPU workload's share is given in
  (:func:`~underlay.placement.gpus.gpu_efficiency`), weighted by GPUs asked for (replicas
  × GPUs × share); when nothing asks for a GPU, the whole-GPU mode's figure of the
  workloads' substrates (passthrough on a vm or sandbox, else bare metal), pod-weighted;
- **CPU**: 1 − the substrate's tax (:func:`~underlay.placement.overheads.cpu_tax`: a plain
  container's ``container_runtime.cpu_overhead_percent``, in a vm compounded with its
  hypervisor's; a sandbox's tax on class ``cpu``), pod-weighted — shown here, charged
  once, in the simulation (:mod:`underlay.simulation.engine`).

A tenant with no workload takes the figures of the part its tenant rule names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Hybrid, Sandboxed, Scenario, Vm
from underlay.placement.gpus import gpu_efficiency, gpu_mode
from underlay.placement.overheads import cpu_tax
from underlay.placement.part_substrates import (
    each_workload_substrate,
    tenant_mean,
    tenant_substrates,
)
from underlay.placement.result import SubstratePlacement

__all__ = ["Efficiencies", "cpu_efficiency", "efficiencies", "whole_gpu_efficiency"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Efficiencies:
    """The substrate's GPU and CPU throughput vs bare metal, and each tenant's."""

    gpu: float
    cpu: float
    tenant_gpu: F64
    tenant_cpu: F64


def whole_gpu_efficiency(substrate: object, defaults: Defaults) -> float:
    """A substrate's GPU efficiency when nothing asks for a GPU: its whole-GPU mode's."""
    whole = "passthrough" if isinstance(substrate, Vm | Sandboxed) else "baremetal"
    return gpu_efficiency(substrate, defaults, whole)


def cpu_efficiency(substrate: object, defaults: Defaults) -> float:
    """Work of a CPU vs bare metal on ``substrate``: 1 − its tax (a plain container's on
    bare metal, 0 by default)."""
    return 1 - cpu_tax(substrate, defaults, "cpu")


def efficiencies(
    scenario: Scenario, defaults: Defaults, substrate: object, p: SubstratePlacement
) -> Efficiencies:
    """The GPU and CPU throughput of placement ``p`` of ``substrate`` and of each tenant
    on it (see the module docstring)."""
    subs = each_workload_substrate(substrate, p)
    gpu_w, gpu_e, cpu_e = [], [], []
    for sub, ref in zip(subs, p.workloads, strict=True):
        w = ref.workload
        mode = gpu_mode(sub, w)
        gpu_w.append(w.replicas * w.gpu_count * w.gpu_milli if mode is not None else 0)
        gpu_e.append(
            gpu_efficiency(sub, defaults, mode) if mode else whole_gpu_efficiency(sub, defaults)
        )
        cpu_e.append(cpu_efficiency(sub, defaults))
    reps = np.array([ref.workload.replicas for ref in p.workloads], np.float64)
    gpu_weights = [np.array(gpu_w, np.float64), reps, np.ones(len(reps))]
    cpu_weights = [reps, np.ones(len(reps))]
    # the whole substrate is one group of every workload; each tenant a group of its own
    everyone = np.zeros(len(reps), np.int64)
    by_tenant = np.array([ref.tenant_index for ref in p.workloads], np.int64)
    first = [substrate.parts[0].substrate if isinstance(substrate, Hybrid) else substrate]
    own = tenant_substrates(scenario, substrate)

    def gpu(groups: I64, fallback: list[object]) -> F64:
        none = np.array([whole_gpu_efficiency(s, defaults) for s in fallback])
        return tenant_mean(np.array(gpu_e, np.float64), gpu_weights, groups, none)

    def cpu(groups: I64, fallback: list[object]) -> F64:
        none = np.array([cpu_efficiency(s, defaults) for s in fallback])
        return tenant_mean(np.array(cpu_e, np.float64), cpu_weights, groups, none)

    return Efficiencies(
        gpu=float(gpu(everyone, first)[0]),
        cpu=float(cpu(everyone, first)[0]),
        tenant_gpu=gpu(by_tenant, own),
        tenant_cpu=cpu(by_tenant, own),
    )
