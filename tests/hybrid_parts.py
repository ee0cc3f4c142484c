"""A scenario for the tests of a hybrid's per-part figures (static and decision).

Host models: ``std`` = 64 cores, 256 GiB; ``a100`` = 128 cores, 1 TiB, 8 A100-80GB.
Tenant ml: ``train`` (2 pods of 8 whole A100s, gpu-training) and ``api`` (30 one-core
pods); tenant web: ``site`` (20 one-core pods). Substrates: ``baremetal-dedicated``,
``vm`` (KVM, sized by requests) and two hybrids of those two: ``gpu-in-vms`` sends every
GPU workload and web to the VMs and ml's api to bare metal; ``gpu-on-metal`` the other
way round (GPU workloads and ml to bare metal, web in VMs).
"""

from __future__ import annotations

from typing import Any

from factories import make_host_model, make_scenario, make_tenant, make_workload
from underlay.model.scenario import Scenario

__all__ = ["scenario"]

STD = make_host_model("std")
A100 = make_host_model("a100", cores=128, memory="1Ti", gpus={"model": "A100-80GB", "count": 8})
VMS = {"kind": "vm", "sizing": "requests"}  # KVM
METAL = {"kind": "baremetal-dedicated"}


def _hybrid(name: str, gpu_in_vms: bool) -> dict[str, Any]:
    return {
        "kind": "hybrid",
        "name": name,
        "parts": [
            {"name": "vms", "substrate": VMS, "tenants": ["web"], "gpu_workloads": gpu_in_vms},
            {
                "name": "metal",
                "substrate": METAL,
                "tenants": ["ml"],
                "gpu_workloads": not gpu_in_vms,
            },
        ],
    }


def scenario() -> Scenario:
    """The two tenants on bare metal, in VMs and on both hybrids."""
    train = make_workload(
        "train",
        replicas=2,
        cpu="8",
        memory="32Gi",
        gpu={"count": 8, "models": ["A100-80GB"]},
        **{"class": "gpu-training"},
    )
    api = make_workload("api", replicas=30, cpu="1", memory="1Gi")
    return make_scenario(
        hardware={"host_models": [STD, A100]},
        substrates=[METAL, VMS, _hybrid("gpu-in-vms", True), _hybrid("gpu-on-metal", False)],
        tenants=[
            make_tenant("ml", workloads=[train, api]),
            make_tenant(
                "web", workloads=[make_workload("site", replicas=20, cpu="1", memory="1Gi")]
            ),
        ],
    )
