"""Hand-made :class:`~underlay.decision.evidence.Evidence` for decision tests: every figure
neutral unless given, so a test states only the figures its arithmetic uses."""

from __future__ import annotations

from typing import Any

import numpy as np

from factories import make_scenario, make_tenant
from underlay.decision.evidence import Evidence

__all__ = ["make_evidence"]

KIND_OF = {
    "baremetal-dedicated": "baremetal-dedicated",
    "baremetal-shared": "baremetal-shared",
    "vm": "vm",
    "sandboxed": "sandboxed",
}


def make_evidence(
    tenants: list[str],
    substrates: list[str],
    *,
    violation_pairs: list[list[tuple[int, int]]] | None = None,
    scenario: Any = None,
    **arrays: Any,
) -> Evidence:
    """Evidence for ``tenants`` × ``substrates`` (labels that are kinds); keyword arrays
    (lists of rows) replace the neutral figures; ``substrate_cost`` (and the capex,
    licence and host-bound totals) default to the column sums of the tenants' figures;
    per-substrate figures (``gpu_efficiency``, ``host_cpu`` …) are lists, one a
    substrate; ``uses_gpu`` defaults to ``gpu_training``."""
    shape = (len(tenants), len(substrates))

    def arr(name: str, neutral: float) -> Any:
        if name in arrays:
            out = np.asarray(arrays.pop(name), np.float64)
            assert out.shape == shape, (name, out.shape, shape)
            return out
        return np.full(shape, neutral)

    cost = arr("cost", 100.0)
    fields = dict(
        cost=cost,
        throughput=arr("throughput", 1.0),
        latency_p95=arr("latency_p95", 1.0),
        unmet=arr("unmet", 0.0),
        slowdown=arr("slowdown", 0.0),
        gpu_unmet=arr("gpu_unmet", 0.0),
        exposure=arr("exposure", 0.0),
        violations=arr("violations", 0.0),
        sla_probability=arr("sla_probability", 1.0),
        cpu_sla=arr("cpu_sla", 100.0),
        months_off_version=arr("months_off_version", 0.0),
        forced_upgrades=arr("forced_upgrades", 0.0),
        months_unsupported=arr("months_unsupported", 0.0),
        placed=arr("placed", 1.0),
        cpu_tax=arr("cpu_tax", 0.0),
        host_bound=arr("host_bound", 0.0),
        version_mismatch=arr("version_mismatch", 0.0),
        capex=arr("capex", 0.0),
        licences=arr("licences", 0.0),
        exposure_host=arr("exposure_host", 0.0),
    )
    substrate_cost = np.asarray(arrays.pop("substrate_cost", cost.sum(axis=0)), np.float64)
    substrate_capex = np.asarray(arrays.pop("substrate_capex", fields["capex"].sum(axis=0)))
    substrate_licences = np.asarray(
        arrays.pop("substrate_licences", fields["licences"].sum(axis=0))
    )
    substrate_host_bound = np.asarray(
        arrays.pop("substrate_host_bound", fields["host_bound"].sum(axis=0))
    )
    per_substrate = {
        name: np.asarray(arrays.pop(name, [neutral] * len(substrates)), np.float64)
        for name, neutral in (
            ("gpu_efficiency", 1.0),
            ("host_cpu", 0.0),
            ("host_mem", 0.0),
            ("hypervisor_cpu", 0.0),
            ("hypervisor_mem", 0.0),
            ("vm_cpu", 0.0),
            ("vm_mem", 0.0),
        )
    }
    pods = np.asarray(arrays.pop("pods", [10.0] * len(tenants)), np.float64)
    training = np.asarray(arrays.pop("gpu_training", [False] * len(tenants)), bool)
    uses_gpu = np.asarray(arrays.pop("uses_gpu", training), bool)
    gpu_modes = list(arrays.pop("gpu_modes", ["baremetal"] * len(substrates)))
    # a GPU tenant's workloads get VM / sandbox GPUs where the substrate's mode is one
    virtual = np.array([m != "baremetal" for m in gpu_modes], bool)
    gpu_virtual = np.asarray(arrays.pop("gpu_virtual", uses_gpu[:, None] & virtual[None, :]))
    # a training tenant's workloads get the substrate's mode unless given
    training_modes = arrays.pop(
        "training_modes", [[[m] if t else [] for m in gpu_modes] for t in training]
    )
    assert not arrays, f"unknown figures: {sorted(arrays)}"
    if scenario is None:
        scenario = make_scenario(
            tenants=[make_tenant(t) for t in tenants],
            substrates=[{"kind": KIND_OF.get(s, "vm"), "name": s} for s in substrates],
        )
    return Evidence(
        scenario=scenario,
        tenants=list(tenants),
        substrates=list(substrates),
        kinds=[KIND_OF.get(s, "vm") for s in substrates],
        gpu_modes=gpu_modes,
        training_modes=training_modes,
        pods=pods,
        gpu_training=training,
        uses_gpu=uses_gpu,
        gpu_virtual=gpu_virtual.reshape(shape).astype(bool),
        substrate_host_bound=substrate_host_bound,
        **per_substrate,
        substrate_cost=substrate_cost,
        substrate_capex=substrate_capex,
        substrate_licences=substrate_licences,
        violation_pairs=violation_pairs or [[] for _ in substrates],
        **fields,
    )
