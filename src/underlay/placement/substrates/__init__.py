"""How each substrate turns tenants into nodes and hosts, and places every pod.

One class per substrate kind, all built on :class:`~.build.SubstrateBuild` (the run's
state and shared helpers) and :class:`~.control_plane_nodes.ControlPlaneBuild` (control
planes): :class:`~.baremetal.BaremetalBuild` for ``baremetal-dedicated``,
``baremetal-shared`` and ``sandboxed``, :class:`~.vms.VmBuild` for ``vm`` (with VM shape
choice in :mod:`.vm_shapes`). Every fit decision of every level goes through the
registry's filter plugins (see :mod:`underlay.placement.framework`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import BaremetalShared, Hybrid, Sandboxed, Scenario, Vm
from underlay.placement.framework import Registry
from underlay.placement.gpus import check_attach
from underlay.placement.result import SubstratePlacement
from underlay.placement.substrates.baremetal import BaremetalBuild
from underlay.placement.substrates.build import Progress, flatten
from underlay.placement.substrates.hybrid import place_hybrid
from underlay.placement.substrates.vms import VmBuild

__all__ = ["flatten", "place_substrate"]

Peaks = tuple[NDArray[np.float64], NDArray[np.float64]]


def place_substrate(
    scenario: Scenario,
    defaults: Defaults,
    label: str,
    *,
    progress: Progress | None = None,
    peaks: Peaks | None = None,
    registry: Registry | None = None,
) -> SubstratePlacement:
    """Place the whole scenario on the substrate named ``label`` (its kind when unnamed);
    ``progress(n)`` is told of pods as they are placed. ``peaks`` (per workload: CPU
    millicores and memory MiB of one pod at its usage percentile) size VMs under
    ``sizing: peak`` — :func:`underlay.pipeline.place` draws them from the usage models.
    ``registry`` holds the filter and score plugins (the built-in ones when None); every
    fit decision of every level — pods on nodes, VMs on hosts — goes through its filters.
    A ``hybrid`` places each part on its own pool (see :mod:`.hybrid`)."""
    substrate = scenario.substrate(label)
    if isinstance(substrate, Hybrid):

        def part(cut: Scenario, sub: str, part_peaks: Peaks | None) -> SubstratePlacement:
            return place_substrate(
                cut, defaults, sub, progress=progress, peaks=part_peaks, registry=registry
            )

        return place_hybrid(scenario, substrate, label, part, peaks)
    check_attach(scenario, defaults, label)
    if isinstance(substrate, Vm) and substrate.sizing == "peak" and peaks is None:
        raise ValueError(
            f"substrate {label!r} sizes VMs by peak usage: pass peaks "
            "(underlay.pipeline.place draws them)"
        )
    kind = substrate.kind
    if isinstance(substrate, Vm):
        vm = VmBuild(scenario, defaults, progress, substrate, registry)
        vm.peaks = peaks
        vm.vms(substrate)
        return vm.result(kind, label)
    run = BaremetalBuild(scenario, defaults, progress, substrate, registry)
    run.peaks = peaks
    if kind == "baremetal-dedicated":
        run.baremetal_dedicated()
    elif isinstance(substrate, BaremetalShared | Sandboxed):
        run.shared_cluster(substrate)
    return run.result(kind, label)
