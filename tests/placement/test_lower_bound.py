"""The lower bound on hosts (placement.bounds): hand-computed cases and its use in placement."""

from __future__ import annotations

import numpy as np
import pytest

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from underlay.placement.bounds import hosts_lower_bound
from underlay.placement.result import WORKER

GIB = 1024
# Resources: cpu_milli, memory_mib, pod slots, milli-GPUs.
STD = [64_000, 256 * GIB, 110, 0]


def _all(models: int) -> np.ndarray:
    return np.ones(models, bool)


def test_single_model_is_the_ceiling_of_the_dominant_resource() -> None:
    # 10 pods of 30 cores on 64-core hosts: ceil(300 / 64) = ceil(4.69) = 5.
    cap = np.array([STD], np.float64)
    demand = np.array([300_000, 10 * GIB, 10, 0], np.float64)
    assert hosts_lower_bound(cap, [(_all(1), demand)]) == 5


def test_pod_slots_can_dominate() -> None:
    # 1000 tiny pods, 110 slots a host: ceil(1000 / 110) = ceil(9.09) = 10.
    cap = np.array([STD], np.float64)
    demand = np.array([1000 * 10, 1000 * 16, 1000, 0], np.float64)
    assert hosts_lower_bound(cap, [(_all(1), demand)]) == 10


def test_two_models_mix() -> None:
    # A: 64 cores / 256 GiB, B: 32 cores / 512 GiB; need 128 cores and 1024 GiB.
    # All-A: 1024 / 256 = 4 hosts; all-B: 128 / 32 = 4 hosts; 1 A + 2 B: 64 + 64 = 128
    # cores, 256 + 1024 GiB → 3 hosts, and 2 hosts cannot do (at most 128 cores with 2 A,
    # but then 512 GiB). Bound = 3.
    cap = np.array([[64_000, 256 * GIB, 110, 0], [32_000, 512 * GIB, 110, 0]], np.float64)
    demand = np.array([128_000, 1024 * GIB, 0, 0], np.float64)
    assert hosts_lower_bound(cap, [(_all(2), demand)]) == 3
    # Without any A in the inventory: 128 / 32 = 4 B hosts.
    assert hosts_lower_bound(cap, [(_all(2), demand)], available=np.array([0, 10.0])) == 4


def test_inventory_too_small_falls_back_to_the_unbounded_programme() -> None:
    cap = np.array([STD], np.float64)
    demand = np.array([640_000, 0, 0, 0], np.float64)
    # 10 hosts needed, 2 in stock: the bound stays 10 (what it would take), not "infeasible".
    assert hosts_lower_bound(cap, [(_all(1), demand)], available=np.array([2.0])) == 10


def test_gpu_pods_only_count_on_gpu_models() -> None:
    # Model 0: 64 cores, no GPUs; model 1: 64 cores, 8 GPUs.
    # GPU group: 16 whole GPUs + 16 cores → ≥ 2 GPU hosts.
    # CPU group: 200 cores anywhere. Total CPU 216 cores / 64 = 3.375 → 4 hosts (2 + 2).
    cap = np.array([STD, [64_000, 256 * GIB, 110, 8_000]], np.float64)
    gpu = (np.array([False, True]), np.array([16_000, 0, 16, 16_000], np.float64))
    cpu = (_all(2), np.array([200_000, 0, 0, 0], np.float64))
    assert hosts_lower_bound(cap, [gpu, cpu]) == 4
    # 40 GPUs alone need 5 GPU hosts even though the CPU would fit on 4.
    gpu40 = (np.array([False, True]), np.array([40_000, 0, 40, 40_000], np.float64))
    assert hosts_lower_bound(cap, [gpu40]) == 5


@pytest.mark.parametrize(("at_least", "expected"), [(0, 1), (7, 7)])
def test_at_least_from_anti_affinity(at_least: int, expected: int) -> None:
    cap = np.array([STD], np.float64)
    demand = np.array([7_000, 7 * GIB, 7, 0], np.float64)
    assert hosts_lower_bound(cap, [(_all(1), demand)], at_least=at_least) == expected


def test_no_demand_needs_no_hosts() -> None:
    cap = np.array([STD], np.float64)
    assert hosts_lower_bound(cap, [(_all(1), np.zeros(4))]) == 0
    assert hosts_lower_bound(cap, [], at_least=2) == 2


@pytest.mark.parametrize(
    ("cores", "hosts", "bound"),
    [
        # Allocatable of a 64-core host: 64000 - 230 (GKE) - 400 (DaemonSets) = 63370m.
        # 30-core pods: 2 a host → 10 pods on 5 hosts; bound ceil(300000 / 63370) =
        # ceil(4.73) = 5: packing is provably optimal.
        (30, 5, 5),
        # 40-core pods: 1 a host → 10 hosts; bound ceil(400000 / 63370) = ceil(6.31) = 7.
        # Bin packing's integrality gap: 24 cores of every host are stranded.
        (40, 10, 7),
        # 20-core pods: 3 a host → ceil(10 / 3) = 4 hosts; ceil(200000 / 63370) = 4.
        (20, 4, 4),
    ],
)
def test_bound_in_a_shared_cluster(cores: int, hosts: int, bound: int) -> None:
    sc = make_scenario(
        substrates=[{"kind": "baremetal-shared"}],
        tenants=[make_tenant(workloads=[make_workload(replicas=10, cpu=str(cores), memory="8Gi")])],
    )
    p = place(sc, "baremetal-shared")
    workers = sum(1 for r in p.hosts.role if r == WORKER)
    assert workers == hosts
    # The control plane is stacked on 3 of the workers (2 vCPU each, counted in the bound:
    # 6 cores more demand, and at least 3 hosts); no host is its own.
    assert len(p.hosts) == hosts
    assert p.lower_bound_hosts == bound


def test_dedicated_bound_is_the_sum_of_per_cluster_bounds() -> None:
    # Two tenants each with 1 core of pods: together they would fit one host, but
    # dedicated hosts cannot be shared, and each cluster's control plane is stacked on 3
    # of its own workers (one replica per node) → 3 + 3 workers, and the bound sees it.
    sc = make_scenario(
        substrates=[{"kind": "baremetal-dedicated"}],
        tenants=[make_tenant("a"), make_tenant("b")],
    )
    p = place(sc, "baremetal-dedicated")
    assert len(p.hosts) == 6
    assert p.lower_bound_hosts == 6
    # With machines of their own (the old layout): 1 + 1 workers + 2 × 3 control-plane
    # hosts = 8, the fixed hosts counted on both sides.
    sc = make_scenario(
        substrates=[{"kind": "baremetal-dedicated"}],
        tenants=[
            make_tenant("a", control_plane="dedicated"),
            make_tenant("b", control_plane="dedicated"),
        ],
    )
    p = place(sc, "baremetal-dedicated")
    assert len(p.hosts) == 8
    assert p.lower_bound_hosts == 8


@pytest.mark.parametrize("kind", ["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"])
def test_bound_never_exceeds_hosts_used_when_everything_fits(kind: str) -> None:
    sc = make_scenario(
        hardware={
            "host_models": [make_host_model("a"), make_host_model("b", cores=32, memory="512Gi")]
        },
        tenants=[
            make_tenant("x", workloads=[make_workload(replicas=50, cpu="3", memory="40Gi")]),
            make_tenant("y", workloads=[make_workload(replicas=30, cpu="7", memory="2Gi")]),
        ],
    )
    p = place(sc, kind)
    assert not p.unplaced
    assert 0 < p.lower_bound_hosts <= len(p.hosts)


@pytest.mark.parametrize("kind", ["baremetal-dedicated", "baremetal-shared", "sandboxed"])
def test_bound_is_for_placing_every_pod(kind: str) -> None:
    # Three 100-core pods on 64-core hosts fit nowhere; the bound still counts them (it is
    # the hosts needed to place every pod), so the terminal shows no ratio.
    from underlay.pipeline import compare
    from underlay.report.columns import SUBSTRATE_COLUMNS

    sc = make_scenario(
        substrates=[{"kind": kind}],
        tenants=[make_tenant(workloads=[make_workload(replicas=3, cpu="100")])],
    )
    (static,) = compare(sc).substrates
    assert static.pods_placed == 0
    column = next(c for c in SUBSTRATE_COLUMNS if c.title.startswith("LP lower bound"))
    assert "n/a" in column.text(static)


def test_the_bound_is_given_the_gpu_hosts_bought() -> None:
    # Sized with std (16 cores: 16000 - 110m GKE - 400m DaemonSets = 15,490m a node) and
    # g8 (64 cores, 8 GPUs: 64000 - 230 - 400 = 63,370m). 4 one-GPU pods of 1 core fit
    # one g8 host, and GPU hosts are bought only for GPU pods: one is. 60 pods of 2 cores
    # more: CPU 4 + 120 = 124 cores.
    # Given the 1 g8 host: 63,370 + 15,490 x std >= 124,000 → std >= 3.91 → 4; bound 5.
    # Letting each GPU pod have a g8 host of its own (up to 4): 2 g8 hosts hold 126,740m
    # → bound 2, a fleet of GPU hosts bought for their cores.
    # Placed: the g8 host takes the GPU pods and 29 CPU pods (59,370m / 2,000), the 31
    # others go 7 a std host (15,490 / 2,000) → 5 std hosts: 6 workers.
    sc = make_scenario(
        hardware={
            "host_models": [
                make_host_model("std", cores=16),
                make_host_model("g8", cores=64, gpus={"model": "h100", "count": 8}),
            ],
            "size_with": "std",
        },
        substrates=[{"kind": "baremetal-shared", "control_plane": "dedicated"}],
        tenants=[
            make_tenant(
                workloads=[
                    make_workload("train", replicas=4, cpu="1", memory="1Gi", gpu={"count": 1}),
                    make_workload("api", replicas=60, cpu="2", memory="1Gi"),
                ]
            )
        ],
    )
    p = place(sc, "baremetal-shared")
    fixed = sum(1 for r in p.hosts.role if r != WORKER)
    assert sum(1 for r in p.hosts.role if r == WORKER) == 6
    assert p.lower_bound_hosts - fixed == 5
    assert p.lower_bound_hosts_any_gpu - fixed == 2
