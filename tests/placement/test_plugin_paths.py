"""Every fit decision goes through the registered filter plugins (issue 11 §1).

A node already open, a node about to be opened (judged as an empty node of its
template), GPU pods placed one at a time under ``gpu-fragmentation`` and VMs placed on
hosts: a filter added to the registry is obeyed on each path, and a refusal names the
plugin and says whether more hosts would help.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from factories import (
    FixedNodes,
    make_batch,
    make_host_model,
    make_placer,
    make_scenario,
    make_tenant,
    make_workload,
)
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import Scenario
from underlay.placement.engine import Placer, template_fit
from underlay.placement.framework import PodBatch, Registry, Unfit
from underlay.placement.plugins import default_registry
from underlay.placement.pool import GPU_WHOLE, NodePool, NodeTemplate
from underlay.placement.result import WORKER
from underlay.placement.strategies import STRATEGIES, profile_for
from underlay.placement.substrates import place_substrate

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
HOST = NodeTemplate(cpu_milli=64_000, memory_mib=256 * 1024, pods=110)


class AtMostCores:
    """A site rule: no pod above ``limit`` millicores (VMs on hosts are not pods)."""

    name = "SiteAtMostCores"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def relevant(self, batch: PodBatch) -> bool:
        return batch.pod_slots > 0 and batch.cpu_milli > self.limit

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        return np.zeros(pool.n, np.int64)

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        return Unfit("cpu_milli", batch.cpu_milli, self.limit, self.limit, "site rule")


class NoGpuPods:
    """A site rule: GPU pods are not run here."""

    name = "SiteNoGpuPods"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.needs_gpu

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        return np.zeros(pool.n, np.int64)

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        return Unfit("gpus", batch.gpu_count, 0, 0, "site rule")


class CpuHeadroom:
    """Keeps a tenth of every node's (and host's) CPU free: a count, not a yes/no."""

    name = "CpuHeadroom"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.cpu_milli > 0

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        room = pool.live("free_cpu") - pool.live("cap_cpu") // 10
        out: I64 = np.maximum(room, 0) // batch.cpu_milli
        return out

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        free = float(pool.free_cpu[node] - pool.cap_cpu[node] // 10)
        return Unfit("cpu_milli", batch.cpu_milli, free, float(pool.cap_cpu[node]), "headroom")


class LastNodeFirst:
    """Prefers the most recently opened node (the opposite of first fit)."""

    name = "LastNodeFirst"

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        out: F64 = 100.0 * (nodes + 1) / max(pool.n, 1)
        return out


def _registry(*filters: object, scores: tuple[object, ...] = ()) -> Registry:
    registry = default_registry()
    for f in filters:
        registry.add_filter(f)  # type: ignore[arg-type]
    for s in scores:
        registry.add_score(s)  # type: ignore[arg-type]
    return registry


class Hosts:
    """An unlimited supply of one host template, counting what it opens."""

    def __init__(self, template: NodeTemplate = HOST) -> None:
        self.template = template
        self.opened = 0

    def template_for(self, batch: PodBatch) -> NodeTemplate | None:
        return self.template

    def available(self, template: NodeTemplate) -> int:
        return 1_000

    def open(self, pool: NodePool, template: NodeTemplate, count: int, racks: object = None) -> I64:
        self.opened += count
        hosts = np.arange(pool.n, pool.n + count, dtype=np.int64)
        return pool.open(template, hosts, np.zeros(count, np.int64))

    def exhausted(self, batch: PodBatch) -> str:
        return "never"

    def can_grow(self, batch: PodBatch) -> bool:
        return True


# ------------------------------------------------------------------ the two regressions


@pytest.mark.parametrize("anti_affinity", ["none", "host"])
def test_a_site_filter_does_not_make_the_placer_open_empty_hosts(anti_affinity: str) -> None:
    # Issue 11: the filters refused the 4-core pods on every node, but the node about to
    # be opened was judged by template_fit's own arithmetic (4 cores fit 64), so the
    # placer kept opening hosts that then stayed empty ("needs more racks").
    source = Hosts()
    pool = NodePool(max_gpus=1)
    placer = Placer(pool, source, profile_for("best-fit"), _registry(AtMostCores(3_000)))
    res = placer.place(make_batch(replicas=5, cpu_milli=4_000, anti_affinity=anti_affinity))
    assert (res.placed, res.unplaced, source.opened, pool.n) == (0, 5, 0, 0)
    assert res.reason is not None
    assert (res.reason.plugin, res.reason.resolvable) == ("SiteAtMostCores", False)
    assert res.reason.status == "UnschedulableAndUnresolvable"
    # Pods the rule allows still open hosts: 5 pods of 3 cores fit on one 64-core host
    # (one per host under anti-affinity).
    res = placer.place(make_batch(replicas=5, cpu_milli=3_000, anti_affinity=anti_affinity))
    assert (res.placed, source.opened) == (5, 5 if anti_affinity == "host" else 1)


def test_a_site_filter_opens_no_host_in_a_whole_run() -> None:
    def scenario(replicas: int) -> Scenario:
        workload = make_workload(replicas=replicas, cpu="4", spread={"anti_affinity": "host"})
        return make_scenario(
            substrates=[{"kind": "baremetal-dedicated"}],
            tenants=[make_tenant(workloads=[workload])],
        )

    sc = scenario(5)
    defaults = load_defaults(sc.overrides)
    ruled = place_substrate(
        sc, defaults, "baremetal-dedicated", registry=_registry(AtMostCores(3_000))
    )
    (unplaced,) = ruled.unplaced
    assert (unplaced.pods, unplaced.reason.plugin) == (5, "SiteAtMostCores")
    assert not unplaced.reason.resolvable
    # The refused pods open nothing: the same hosts as with no pods at all (the control
    # plane's), where without the rule each replica needs a host of its own.
    empty = place_substrate(scenario(0), defaults, "baremetal-dedicated")
    plain = place_substrate(sc, defaults, "baremetal-dedicated")
    assert len(ruled.hosts) == len(empty.hosts)
    assert len(plain.hosts) >= 5 > len(empty.hosts)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_a_filter_forbidding_gpu_pods_holds_under_every_strategy(strategy: str) -> None:
    # Issue 11: under gpu-fragmentation GPU pods went to the GPU kernel, which checked
    # CPU, memory and GPUs itself and never asked the registered filters.
    nodes = [{"cpu": 32_000, "gpus": 4, "gpu_model": 0} for _ in range(2)]
    placer = make_placer(strategy, nodes, max_gpus=4)
    placer = Placer(placer.pool, FixedNodes(), profile_for(strategy), _registry(NoGpuPods()))
    whole = make_batch(replicas=3, cpu_milli=1_000, gpu_count=1, gpu_milli=GPU_WHOLE)
    share = make_batch(replicas=3, cpu_milli=1_000, gpu_count=1, gpu_milli=250, key=1)
    placer.expect([whole, share], ("L4",))
    for batch in (whole, share):
        res = placer.place(batch)
        assert (res.placed, res.unplaced) == (0, 3)
        assert res.reason is not None and res.reason.plugin == "SiteNoGpuPods"
    assert (placer.pool.gpu_free[:2] == GPU_WHOLE).all()
    # CPU pods are not GPU pods: the rule lets them through.
    assert placer.place(make_batch(replicas=2, key=2)).placed == 2


# ------------------------------------------------------------ a custom filter and score


def test_template_fit_asks_the_filters() -> None:
    filters = _registry(CpuHeadroom()).filters()
    # 64 cores less a tenth (6.4) = 57.6 cores → 14 pods of 4 cores (16 without it).
    assert template_fit(HOST, make_batch(cpu_milli=4_000), filters) == (14, None)
    assert template_fit(HOST, make_batch(cpu_milli=4_000))[0] == 64_000 // 4_000
    fit, why = template_fit(HOST, make_batch(cpu_milli=60_000), filters)
    assert fit == 0 and why is not None
    # NodeResourcesFit is registered first and still fits the 60-core pod on 64 cores.
    assert (why.plugin, why.detail, why.resolvable) == ("CpuHeadroom", "headroom", False)


def test_custom_filter_and_score_on_live_and_new_nodes() -> None:
    registry = _registry(CpuHeadroom(), scores=(LastNodeFirst(),))
    profile = profile_for("first-fit-decreasing", {"NodeOrder": 0.0, "LastNodeFirst": 1.0})
    pool = NodePool(max_gpus=1)
    source = Hosts(NodeTemplate(cpu_milli=10_000, memory_mib=65_536, pods=110))
    placer = Placer(pool, source, profile, registry)
    # New nodes: 9 cores usable of 10 → 4 pods of 2 cores each (5 without the filter);
    # 10 pods → 3 nodes, filled last node first: 4 on node 2, 4 on node 1, 2 on node 0.
    res = placer.place(make_batch(replicas=10, cpu_milli=2_000))
    assert res.unplaced == 0 and pool.n == 3
    assert dict(zip(res.nodes.tolist(), res.counts.tolist(), strict=True)) == {2: 4, 1: 4, 0: 2}
    # Live nodes: node 0 has 6 cores free, 5 usable → 2 pods of 2 cores; the score
    # still prefers later nodes, but they are full under the filter.
    res = placer.place(make_batch(replicas=2, cpu_milli=2_000, key=1))
    assert dict(zip(res.nodes.tolist(), res.counts.tolist(), strict=True)) == {0: 2}
    assert source.opened == 3
    assert (pool.live("free_cpu") >= pool.live("cap_cpu") // 10).all()


def test_custom_filter_and_score_for_vms_on_hosts() -> None:
    # A VM on a host is a batch without pod slots; the same plugins judge it. A 64-core
    # host keeps 6.4 cores free → 7 VMs of 8 vCPUs (8 without the filter); 10 VMs → 2
    # hosts, the later one filled first.
    registry = _registry(CpuHeadroom(), scores=(LastNodeFirst(),))
    profile = profile_for("best-fit", {"MostAllocated": 0.0, "LastNodeFirst": 1.0})
    pool, source = NodePool(max_gpus=1), Hosts()
    placer = Placer(pool, source, profile, registry)
    res = placer.place(make_batch(replicas=10, cpu_milli=8_000, pod_slots=0))
    assert dict(zip(res.nodes.tolist(), res.counts.tolist(), strict=True)) == {1: 7, 0: 3}


def test_custom_filter_holds_for_gpu_pods_placed_one_at_a_time() -> None:
    # 4 cores and 8 GPUs per node; the headroom filter leaves 3.6 cores → 3 pods of
    # 1 core per node, although GPUs (8 × 4 quarter shares) and pod slots allow more.
    nodes = [{"cpu": 4_000, "gpus": 8, "gpu_model": 0} for _ in range(2)]
    pool = make_placer("gpu-fragmentation", nodes, max_gpus=8).pool
    placer = Placer(pool, FixedNodes(), profile_for("gpu-fragmentation"), _registry(CpuHeadroom()))
    batch = make_batch(replicas=10, cpu_milli=1_000, gpu_count=1, gpu_milli=250)
    placer.expect([batch], ("L4",))
    res = placer.place(batch)
    assert (res.placed, res.unplaced) == (6, 4)
    assert res.reason is not None and res.reason.plugin == "CpuHeadroom"
    assert pool.free_cpu[:2].tolist() == [1_000, 1_000]
    assert int((GPU_WHOLE - pool.gpu_free[:2]).sum()) == 6 * 250


@pytest.mark.parametrize(("weight", "node"), [(0.0, 0), (1.0, 1)])
def test_custom_score_ranks_gpu_pods_placed_one_at_a_time(weight: float, node: int) -> None:
    # Two identical GPU nodes: FGD scores them alike and ties go to node 0. A custom
    # score (weight 1, in points of FGD's 0–100 node score) that prefers the later node
    # (50 vs 100 points) moves the pod to node 1.
    nodes = [{"cpu": 32_000, "gpus": 4, "gpu_model": 0} for _ in range(2)]
    pool = make_placer("gpu-fragmentation", nodes, max_gpus=4).pool
    registry = _registry(scores=(LastNodeFirst(),))
    profile = profile_for("gpu-fragmentation", {"LastNodeFirst": weight})
    placer = Placer(pool, FixedNodes(), profile, registry)
    batch = make_batch(cpu_milli=1_000, gpu_count=1, gpu_milli=500)
    placer.expect([batch], ("L4",))
    res = placer.place(batch)
    assert res.nodes.tolist() == [node]
    assert int(pool.gpu_free[node].sum()) == 4 * GPU_WHOLE - 500


def test_custom_filter_holds_for_vms_on_hosts() -> None:
    # VMs of 8 vCPUs on 64-core hosts: the filter keeps 6.4 host cores free, so a host
    # takes fewer VMs than without it, and no host is filled beyond 90 % of its CPU.
    sc = make_scenario(
        hardware={"host_models": [make_host_model(cores=64, memory="1Ti")]},
        substrates=[
            {
                "kind": "vm",
                "sizing": "requests",
                "shapes": [{"name": "s", "vcpus": 8, "memory": "32Gi"}],
            }
        ],
        tenants=[make_tenant(workloads=[make_workload(replicas=60, cpu="1", memory="1Gi")])],
    )
    defaults = load_defaults(sc.overrides)
    plain = place_substrate(sc, defaults, "vm")
    ruled = place_substrate(sc, defaults, "vm", registry=_registry(CpuHeadroom()))
    assert not plain.unplaced and not ruled.unplaced
    for p in (plain, ruled):
        assert int(p.placed.sum()) == 60
    vm = ruled.nodes.is_vm & (ruled.nodes.host >= 0)
    used = np.bincount(ruled.nodes.host[vm], ruled.nodes.size_cpu[vm], len(ruled.hosts))
    hosts = np.unique(ruled.nodes.host[vm])
    assert (used[hosts] <= ruled.host_cpu[hosts] * 0.9).all()
    # Pods inside the VMs obey it too: no VM's pods take more than 90 % of its allocatable.
    workers = ruled.nodes.role == WORKER
    assert (ruled.nodes.used_cpu[workers] <= ruled.nodes.alloc_cpu[workers] * 0.9).all()
    assert len(ruled.hosts) >= len(plain.hosts)


def test_no_host_model_with_an_allowed_gpu_is_unresolvable() -> None:
    # Sizing (no inventory) with CPU hosts only: no host model has a GPU at all, so no
    # host bought would take a GPU pod; a CPU pod that finds no room would be helped.
    sc = make_scenario(
        substrates=[{"kind": "baremetal-shared"}],
        tenants=[make_tenant(workloads=[make_workload(replicas=2, cpu="1", gpu={"count": 1})])],
    )
    p = place_substrate(sc, load_defaults(sc.overrides), "baremetal-shared")
    (unplaced,) = p.unplaced
    assert unplaced.pods == 2
    assert not unplaced.reason.resolvable
    assert unplaced.reason.status == "UnschedulableAndUnresolvable"
