"""Control planes (issue 9, defect 3): sized by the cluster, and run the ways teams run them.

The sizes come from the table kube-up used (kubernetes.io "Building Large Clusters"): 1-5
nodes 1 vCPU / 3.75 GB, 6-10 2 / 7.5, 11-100 4 / 15, 101-250 8 / 30, 251-500 16 / 60,
more 32 / 120 — at least kubeadm's 2 CPUs / 2 GB.
"""

from __future__ import annotations

import numpy as np
import pytest

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from underlay.defaults.catalog import load_defaults
from underlay.pipeline import compare
from underlay.placement.result import CONTROL_PLANE, MANAGEMENT, WORKER

D = load_defaults().control_plane


@pytest.mark.parametrize(
    ("nodes", "vcpus", "memory_mib"),
    [
        (1, 2, 3840),  # 1 vCPU lifted to kubeadm's 2; 3.75 GiB
        (5, 2, 3840),
        (6, 2, 7680),
        (100, 4, 15 * 1024),
        (101, 8, 30 * 1024),
        (500, 16, 60 * 1024),
        (5000, 32, 120 * 1024),
    ],
)
def test_control_plane_size_follows_the_node_count(nodes: int, vcpus: int, memory_mib: int) -> None:
    assert D.size_for(nodes) == (vcpus, memory_mib)


# One tenant, 12 pods of 4 cores on 64-core hosts: 48 cores, one host's allocatable
# (64,000 − GKE's 230m − the DaemonSets' 400m = 63,370m) holds them, so the cluster is
# estimated at 3 nodes (the replicas) → a 2 vCPU / 3.75 GiB control plane.
WORK = make_workload("w", replicas=12, cpu="4", memory="8Gi")
CP_SMALL = make_host_model("cp-small", cores=8, memory="32Gi", price_usd=3000)


def test_without_a_control_plane_model_bare_metal_stacks_it_on_three_workers() -> None:
    # The old default took 3 whole 64-core hosts per cluster; stacked, the control plane
    # keeps 2 vCPU and 3.75 GiB on each of 3 workers, and no host is its own.
    sc = make_scenario(tenants=[make_tenant("t", workloads=[WORK])])
    for kind in ("baremetal-dedicated", "baremetal-shared"):
        p = place(sc, kind)
        assert set(p.hosts.role) == {WORKER}, kind
        n = p.nodes
        stacked = np.flatnonzero(n.control_plane_cpu > 0)
        assert len(stacked) == 3 and len(set(n.host[stacked])) == 3
        assert set(n.control_plane_cpu[stacked]) == {2000}
        assert set(n.control_plane_mem[stacked]) == {3840}
        # kept off the allocatable, not counted as a tenant's use
        assert (n.alloc_cpu[stacked] == 64_000 - 230 - 400 - 2000).all()
        assert n.used_cpu.sum() == 12 * 4000
        (cp,) = p.control_planes
        assert (cp.mode, cp.replicas, cp.vcpus, cp.memory_mib) == ("stacked", 3, 2, 3840)
        assert int(p.placed.sum()) == 12


def test_a_named_control_plane_model_gives_dedicated_machines_of_it() -> None:
    sc = make_scenario(
        hardware={
            "host_models": [make_host_model(cores=64), CP_SMALL],
            "control_plane_model": "cp-small",
        },
        tenants=[make_tenant("a", workloads=[WORK]), make_tenant("b", workloads=[WORK])],
    )
    p = place(sc, "baremetal-dedicated")
    role = np.asarray(p.hosts.role)
    model = np.asarray(p.hosts.model)
    owner = np.asarray(p.hosts.owner)
    cp_hosts = np.flatnonzero(role == CONTROL_PLANE)
    assert len(cp_hosts) == 6  # 3 per cluster
    assert set(model[cp_hosts]) == {1}  # cp-small
    assert sorted(owner[cp_hosts].tolist()) == [0, 0, 0, 1, 1, 1]
    assert set(model[role == WORKER]) == {0}
    assert [c.host_model for c in p.control_planes] == ["cp-small", "cp-small"]


def test_dedicated_without_a_model_uses_the_smallest_that_holds_it_and_says_so() -> None:
    sc = make_scenario(
        hardware={"host_models": [make_host_model(cores=64), CP_SMALL]},
        tenants=[make_tenant("a", control_plane="dedicated", workloads=[WORK])],
    )
    p = place(sc, "baremetal-dedicated")
    (cp,) = p.control_planes
    assert cp.mode == "dedicated" and cp.host_model == "cp-small"
    assert any("hardware.control_plane_model" in n for n in p.notes)


def test_control_planes_on_a_gpu_fleet_do_not_take_gpu_hosts() -> None:
    # A GPU-only fleet: stacked control planes keep CPU and memory on GPU workers, and no
    # GPU host runs only a control plane.
    gpu = make_host_model("gpu", cores=64, memory="512Gi", gpus={"model": "A100", "count": 8})
    sc = make_scenario(
        hardware={"host_models": [gpu]},
        tenants=[
            make_tenant("t", workloads=[make_workload(replicas=8, cpu="8", gpu={"count": 1})])
        ],
    )
    p = place(sc, "baremetal-dedicated")
    assert set(p.hosts.role) == {WORKER}
    assert (p.nodes.gpu_used_milli > 0).sum() >= 1


def test_management_vms_share_a_few_hypervisor_hosts() -> None:
    # Two clusters, each 3 control-plane VMs (2 vCPU, 3.75 GiB) on a management cluster of
    # KVM hosts, one VM of a cluster per host: 3 management hosts carry all 6 VMs.
    sc = make_scenario(
        tenants=[
            make_tenant("a", control_plane="management", workloads=[WORK]),
            make_tenant("b", control_plane="management", workloads=[WORK]),
        ],
    )
    p = place(sc, "baremetal-dedicated")
    role = np.asarray(p.hosts.role)
    mgmt = np.flatnonzero(role == MANAGEMENT)
    assert len(mgmt) == 3
    vms = np.flatnonzero(p.nodes.role == CONTROL_PLANE)
    assert len(vms) == 6 and p.nodes.is_vm[vms].all()
    for cluster in (0, 1):
        mine = vms[p.nodes.cluster[vms] == cluster]
        assert len(set(p.nodes.host[mine])) == 3  # one per host
    assert set(p.nodes.host[vms]) == set(mgmt.tolist())
    # the management hosts keep KVM's reservation: 60 + 12 × 63 = 816m on a 64-core host
    assert set(p.host_hypervisor_cpu[mgmt].tolist()) == {816}
    assert [c.mode for c in p.control_planes] == ["management", "management"]


def test_vm_control_planes_are_sized_by_the_cluster() -> None:
    # 120 one-core pods in 1-pod-per-VM shapes: 120 worker VMs → the 101-250 row: 8 vCPU,
    # 30 GiB per control-plane VM.
    sc = make_scenario(
        substrates=[{"kind": "vm", "shapes": [{"name": "small", "vcpus": 2, "memory": "4Gi"}]}],
        tenants=[make_tenant("t", workloads=[make_workload(replicas=120, cpu="1", memory="2Gi")])],
    )
    p = place(sc, "vm")
    assert int((p.nodes.role == WORKER).sum()) == 120
    (cp,) = p.control_planes
    assert (cp.mode, cp.replicas, cp.vcpus, cp.memory_mib, cp.nodes) == (
        "dedicated",
        3,
        8,
        30 * 1024,
        120,
    )
    cp_rows = p.nodes.role == CONTROL_PLANE
    assert set(p.nodes.size_cpu[cp_rows]) == {8000}
    assert len(set(p.nodes.host[cp_rows])) == 3


def test_stacked_asked_on_vms_gets_vms_and_a_note() -> None:
    sc = make_scenario(
        substrates=[{"kind": "vm"}],
        tenants=[make_tenant("t", control_plane="stacked", workloads=[WORK])],
    )
    p = place(sc, "vm")
    assert [c.mode for c in p.control_planes] == ["dedicated"]
    assert any("apply to bare metal" in n for n in p.notes)


def test_the_shared_clusters_control_plane_follows_its_substrate() -> None:
    sc = make_scenario(
        hardware={"host_models": [make_host_model(cores=64), CP_SMALL]},
        substrates=[{"kind": "baremetal-shared", "control_plane": "dedicated"}],
        tenants=[make_tenant("t", workloads=[WORK])],
    )
    p = place(sc, "baremetal-shared")
    (cp,) = p.control_planes
    assert cp.cluster == -1 and cp.mode == "dedicated" and cp.host_model == "cp-small"
    assert sum(r == CONTROL_PLANE for r in p.hosts.role) == 3


def test_an_unknown_control_plane_model_is_refused_at_load() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="no host model is called 'cp-smal'"):
        make_scenario(
            hardware={
                "host_models": [make_host_model(), CP_SMALL],
                "control_plane_model": "cp-smal",
            }
        )


def test_a_stacked_control_plane_is_simulated_as_load_on_its_workers() -> None:
    # A stacked control plane uses half its size (use_fraction): 1 vCPU of the 2 kept on
    # each of its 3 workers; a pod hogging one such node gets 64,000 − 100 (kubelet and
    # runtime) − 0.45 × 400 (DaemonSets) − 0.5 × 2000 = 62,720m.
    from underlay.pipeline import simulate

    assert D.use_fraction == 0.5
    hog = make_workload(
        "h", replicas=3, cpu="1", memory="1Gi", usage={"model": "constant", "cpu": 100}
    )
    sc = make_scenario(
        substrates=[{"kind": "baremetal-shared"}],
        tenants=[make_tenant("t", workloads=[hog])],
        placement={"strategy": "least-allocated"},
        simulation={"horizon_hours": 1, "step_minutes": 15},
    )
    sim = simulate(sc)
    (t,) = sim.results[0].tenants
    assert t.granted_core_hours == pytest.approx(3 * 62.720, rel=1e-5)


def test_a_short_control_plane_inventory_reports_the_machines_it_got() -> None:
    # Review of issue 9: two clusters want 3 dedicated cp-small machines each, the
    # inventory has 2. Cluster a gets 2, cluster b none — and each was reported as
    # running on 3 machines (6 in all), beside the 2 control-plane hosts opened.
    sc = make_scenario(
        hardware={
            "host_models": [make_host_model(cores=64), CP_SMALL],
            "control_plane_model": "cp-small",
            "inventory": [{"model": "std", "count": 4}, {"model": "cp-small", "count": 2}],
        },
        substrates=[{"kind": "baremetal-dedicated"}],
        tenants=[make_tenant("a", workloads=[WORK]), make_tenant("b", workloads=[WORK])],
    )
    result = compare(sc)
    (p,), (s,) = result.placements, result.substrates
    assert [c.replicas for c in p.control_planes] == [2, 0]
    assert s.hosts_control_plane == 2
    assert s.control_plane_machines == 2
    assert [t.control_plane_machines for t in s.tenants] == [2, 0]


def test_a_gpu_clusters_control_plane_is_sized_by_and_stacked_on_its_gpu_nodes() -> None:
    # Review of issue 9: the node count was estimated on the CPU host model only, so a
    # cluster of 16 pods of 8 GPUs each (8 cores, 64 GiB) counted as 2 nodes of 128 cores
    # (3, the replicas: a 2 vCPU control plane) though it needs 16 hosts of 8 GPUs
    # (the 11-100 row: 4 vCPU, 15 GiB). And "stacked" opened 3 CPU hosts for it first,
    # which no GPU pod could use: 19 hosts, 3 of them holding only the control plane.
    cpu = make_host_model("cpu", cores=128, memory="1Ti")
    gpu = make_host_model("gpu", cores=128, memory="1Ti", gpus={"model": "A100", "count": 8})
    train = make_workload("train", replicas=16, cpu="8", memory="64Gi", gpu={"count": 8})
    sc = make_scenario(
        hardware={"host_models": [cpu, gpu]},
        tenants=[make_tenant("t", control_plane="stacked", workloads=[train])],
    )
    for kind in ("baremetal-dedicated", "baremetal-shared"):
        p = place(sc, kind)
        assert int(p.placed[0]) == 16 and len(p.hosts) == 16, kind
        (cp,) = p.control_planes
        assert (cp.replicas, cp.nodes, cp.vcpus, cp.memory_mib) == (3, 16, 4, 15 * 1024)
        stacked = np.flatnonzero(p.nodes.control_plane_cpu > 0)
        assert {p.host_models[p.hosts.model[h]] for h in p.nodes.host[stacked]} == {"gpu"}
    # A cluster filling one GPU host: the control plane keeps its room there and on two
    # CPU hosts (3 hosts, not 3 CPU hosts beside the GPU host).
    small = make_workload("small", replicas=8, cpu="8", memory="64Gi", gpu={"count": 1})
    sc = make_scenario(
        hardware={"host_models": [cpu, gpu]},
        tenants=[make_tenant("t", control_plane="stacked", workloads=[small])],
    )
    p = place(sc, "baremetal-dedicated")
    assert sorted(p.host_models[m] for m in p.hosts.model) == ["cpu", "cpu", "gpu"]
    assert (p.nodes.control_plane_cpu > 0).sum() == 3
