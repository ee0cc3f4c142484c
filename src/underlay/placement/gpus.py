"""GPUs: how a workload gets its GPUs on a substrate, and how much of a GPU that is.

**The mode** of a GPU workload (:func:`gpu_mode`) follows what the substrate does with its
GPUs, pod by pod:

- bare metal: whole GPUs as they are (``baremetal``); a share of a GPU by time-slicing
  (``time-slicing``: work-conserving, no isolation, co-located pods slow each other in the
  simulation) or MIG (``mig``: fixed, isolated hardware slices), as the substrate's
  ``gpu_sharing`` says;
- ``vm``: whole GPUs are passed through to the VM (``passthrough``), whatever the
  substrate's ``gpu_mode``; a share of a GPU is time-sliced among the pods of a VM holding
  whole passthrough GPUs (``gpu_mode: passthrough``), or a vGPU slice of the VM's own
  (``gpu_mode: vgpu``: ``vgpu`` time-sliced, ``vgpu-mig`` with ``gpu_sharing: mig``);
  placement may find a VM holding whole GPUs cheaper for ``vgpu`` pods, and they then
  time-slice those GPUs in the simulation as under passthrough (their mode, and so their
  efficiency, stays ``vgpu``);
- ``sandboxed``: GPUs go to the pod's sandbox whole — Kata passes them through to the
  pod's VM (VFIO hands over a device), and every sandboxed runtime is modelled so, gVisor
  too — so a share of a GPU takes a whole one.

Its **efficiency** (:func:`gpu_efficiency`) is that mode's: 1 on bare metal (time-slicing
and MIG give a share of a bare-metal GPU), the hypervisor's ``gpu_passthrough_efficiency``
or ``vgpu_efficiency`` (Kata: KVM's) — so passthrough is never charged vGPU's figure.

**How much of a GPU** (:func:`gpu_share`): ``fraction`` of each GPU, at least the share of
its memory the pod needs (``gpu.memory`` over the model's memory, the smallest among the
models it may use); under MIG the share is rounded up to the smallest published profile of
the model that holds both its compute (``fraction``) and its memory (``gpu.memory``, else
that fraction of the model's) — ``g`` of the model's ``slices`` compute slices count
``floor(1000 × g / slices)`` milli-GPUs, so seven 1g slices fill an A100 — taking the
largest such share among its MIG-capable models, and only MIG-capable models are allowed
to it. A hypervisor that can attach no GPU (Firecracker) refuses GPU workloads with an
error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from underlay.defaults.catalog import Defaults, GpuModelSpec
from underlay.errors import ScenarioError
from underlay.model.scenario import (
    BaremetalDedicated,
    BaremetalShared,
    Sandboxed,
    Scenario,
    Vm,
    Workload,
)

__all__ = ["GPU_MODES", "GpuShare", "check_attach", "gpu_efficiency", "gpu_mode", "gpu_share"]

GPU_MODES = ("baremetal", "time-slicing", "mig", "passthrough", "vgpu", "vgpu-mig")
_WHOLE = 1000


@dataclass(frozen=True)
class GpuShare:
    """What one replica of a workload takes of each GPU it uses on a substrate."""

    milli: int  # per GPU; 1000 = whole
    models: frozenset[str] | None  # GPU models it may use (None = any)
    note: str = ""


NO_GPU = GpuShare(0, None)  # a workload without GPUs


def gpu_mode(substrate: object, workload: Workload) -> str | None:
    """How ``workload`` gets its GPUs on ``substrate`` (None without GPUs); see the module."""
    if not workload.gpu_count:
        return None
    whole = workload.gpu is not None and workload.gpu.fraction >= 1
    if isinstance(substrate, Vm):
        if whole or substrate.gpu_mode == "passthrough":
            return "passthrough"
        return "vgpu-mig" if substrate.gpu_sharing == "mig" else "vgpu"
    if isinstance(substrate, Sandboxed):
        return "passthrough"
    if whole:
        return "baremetal"
    if isinstance(substrate, BaremetalDedicated | BaremetalShared):
        return "mig" if substrate.gpu_sharing == "mig" else "time-slicing"
    return "time-slicing"


def gpu_efficiency(substrate: object, defaults: Defaults, mode: str | None) -> float:
    """Work per GPU share vs a bare-metal GPU in ``mode`` (1 without GPUs)."""
    if mode is None:
        return 1.0
    if mode in ("baremetal", "time-slicing", "mig"):
        return defaults.gpu_modes[mode].efficiency
    if isinstance(substrate, Vm):
        hyp = defaults.hypervisors[substrate.hypervisor]
    else:  # a Kata pod is a KVM guest
        hyp = defaults.hypervisors["kvm"]
    return hyp.gpu_passthrough_efficiency if mode == "passthrough" else hyp.vgpu_efficiency


def _specs(scenario: Scenario, defaults: Defaults) -> dict[str, GpuModelSpec | None]:
    """GPU model → its memory (the host model's own figure first) and MIG profiles."""
    out: dict[str, GpuModelSpec | None] = {}
    for m in scenario.hardware.host_models:
        if m.gpus is None:
            continue
        spec = defaults.gpu_catalog.find(m.gpus.model)
        if m.gpus.memory_mib is not None:
            spec = GpuModelSpec.model_validate(
                {"memory": f"{m.gpus.memory_mib}Mi", "mig": spec.mig if spec else None}
            )
        out[m.gpus.model] = spec
    return out


def gpu_share(
    scenario: Scenario, defaults: Defaults, substrate: object, workload: Workload, where: str
) -> GpuShare:
    """The share of each GPU one replica of ``workload`` takes on ``substrate`` (see the
    module docstring); ``where`` names the workload in errors."""
    req = workload.gpu
    if req is None or not req.count:
        return NO_GPU
    specs = _specs(scenario, defaults)
    # Only the GPU models this scenario's hosts have: a hybrid part restricted to some
    # host models may have none of the workload's (its pods are then unplaced).
    models = [m for m in (sorted(req.models) if req.models else sorted(specs)) if m in specs]
    mode = gpu_mode(substrate, workload)
    milli = asked = round(req.fraction * _WHOLE)
    if not models:
        return GpuShare(min(milli, _WHOLE), frozenset())
    if req.memory_mib is not None:
        known = [(m, specs[m]) for m in models if specs.get(m) is not None]
        unknown = [m for m in models if specs.get(m) is None]
        if unknown:
            raise ScenarioError(
                f"{where}: gpu.memory needs the memory of GPU model {unknown[0]!r}, which the "
                "GPU catalog does not know: give it as hardware.host_models[].gpus.memory"
            )
        fits = [m for m, spec in known if spec is not None and spec.memory_mib >= req.memory_mib]
        if not fits:
            raise ScenarioError(
                f"{where}: gpu.memory {req.memory_mib / 1024:g} GiB is more than any allowed GPU "
                f"model has ({', '.join(f'{m} {s.memory_mib / 1024:g} GiB' for m, s in known if s)})"
            )
        models = fits
        smallest = min(specs[m].memory_mib for m in fits)  # type: ignore[union-attr]
        milli = max(milli, math.ceil(_WHOLE * req.memory_mib / smallest))
    if mode == "passthrough" and isinstance(substrate, Sandboxed) and milli < _WHOLE:
        return GpuShare(_WHOLE, frozenset(models) if req.models or req.memory_mib else None,
                        "a Kata pod gets whole GPUs (passed through to its VM): its share is rounded up")  # fmt: skip
    if mode in ("mig", "vgpu-mig") and asked < _WHOLE:
        # a MIG profile has its own memory: the compute share asked for and the memory pick
        # the profile on each model (not the memory share of the smallest model allowed,
        # which may have no MIG at all)
        return _mig_share(specs, models, asked, req.memory_mib, where)
    narrowed = frozenset(models) if (req.models or req.memory_mib is not None) else None
    return GpuShare(min(milli, _WHOLE), narrowed)


def _mig_share(
    specs: dict[str, GpuModelSpec | None],
    models: list[str],
    milli: int,
    memory_mib: int | None,
    where: str,
) -> GpuShare:
    shares: dict[str, int] = {}
    for m in models:
        spec = specs.get(m)
        if spec is None or spec.mig is None:
            continue
        need_mem = memory_mib if memory_mib is not None else milli / _WHOLE * spec.memory_mib
        slices = spec.mig.slices
        fitting = [
            (g, mem)
            for g, mem in spec.mig.profiles
            if g * _WHOLE >= milli * slices - 1e-9 and mem >= need_mem
        ]
        g = min(fitting)[0] if fitting else slices
        shares[m] = _WHOLE if g >= slices else _WHOLE * g // slices
    if not shares:
        raise ScenarioError(
            f"{where}: gpu_sharing is mig but no GPU model it may use has MIG "
            f"({', '.join(models) or 'no GPU models'}); MIG runs on A30, A100, H100 and H200 — "
            "use gpu_sharing: time-slicing"
        )
    return GpuShare(max(shares.values()), frozenset(shares))


def check_attach(scenario: Scenario, defaults: Defaults, label: str) -> None:
    """Refuse GPU workloads on a ``vm`` substrate whose hypervisor cannot attach GPUs."""
    substrate = scenario.substrate(label)
    if not isinstance(substrate, Vm):
        return
    hyp = defaults.hypervisors[substrate.hypervisor]
    needs = {"vgpu" if substrate.gpu_mode == "vgpu" else "passthrough", "passthrough"}
    gpu = [
        f"{t.name}/{w.name}"
        for t in scenario.tenants
        for c in t.clusters
        for w in c.workloads
        if w.gpu_count and w.replicas
    ]
    missing = sorted(m for m in needs if m not in hyp.gpu_attach)
    if gpu and missing:
        raise ScenarioError(
            f"substrates: {label}: hypervisor {substrate.hypervisor!r} cannot attach GPUs "
            f"({' or '.join(missing)}: see `underlay defaults`), but "
            f"{', '.join(gpu[:3])}{' and more' if len(gpu) > 3 else ''} ask for GPUs; compare "
            "the GPU workloads on a hypervisor that can (e.g. kvm), or leave the substrate out"
        )
