"""The placement engine on hand-made pools of 2–4 nodes, with the arithmetic shown.

Nodes are written ``(capacity, used)`` in millicores; memory is plentiful unless stated,
so the CPU fraction decides. ``MostAllocated`` (best fit) and ``LeastAllocated`` score the
mean of the CPU and memory fractions *after* one more replica; with memory untouched that
is half the CPU fraction, so the ranking follows the CPU fraction.
"""

from __future__ import annotations

import numpy as np
import pytest

from factories import FixedNodes, make_batch, make_placer
from underlay.placement.engine import Placer, template_fit
from underlay.placement.framework import UNLIMITED, Registry
from underlay.placement.plugins import default_registry
from underlay.placement.plugins.filters import NodeResourcesFit
from underlay.placement.pool import GPU_WHOLE, NodePool, NodeTemplate
from underlay.placement.strategies import STRATEGIES, profile_for

# node 0: 10 cores, 4 used (6 free); node 1: 10 cores, 7 used (3 free); node 2: empty.
THREE = [
    {"cpu": 10_000, "used": 4_000},
    {"cpu": 10_000, "used": 7_000},
    {"cpu": 10_000, "used": 0},
]


def _layout(placer: Placer, **batch: int) -> dict[int, int]:
    res = placer.place(make_batch(**batch))
    assert res.unplaced == 0
    return dict(zip(res.nodes.tolist(), res.counts.tolist(), strict=True))


@pytest.mark.parametrize(
    ("strategy", "replicas", "layout"),
    [
        # First fit: nodes in order. Node 0 has 6 free → takes both 2-core pods.
        ("first-fit-decreasing", 1, {0: 1}),
        ("first-fit-decreasing", 2, {0: 2}),
        # Best fit: CPU used after one more 2-core pod: node 0 (4+2)/10 = 0.6,
        # node 1 (7+2)/10 = 0.9, node 2 (0+2)/10 = 0.2 → node 1 first, but it has room
        # for only one (3 free // 2 = 1), so the second goes to node 0.
        ("best-fit", 1, {1: 1}),
        ("best-fit", 2, {1: 1, 0: 1}),
        # Least allocated: the emptiest after placement first → node 2 (0.2), node 0 (0.6),
        # node 1 (0.9); one replica per node per round (water-filling) → nodes 2 and 0.
        ("least-allocated", 1, {2: 1}),
        ("least-allocated", 2, {2: 1, 0: 1}),
        # Four pods, least allocated: fit in rank order is [5, 3, 1] (10/2, 6/2, 3/2);
        # the smallest level L with Σ min(fit, L) ≥ 4 is L = 2 (2 + 2 + 1 = 5); one at level
        # 1 everywhere (3), then the 4th on the best-ranked node with room → node 2: 2.
        ("least-allocated", 4, {2: 2, 0: 1, 1: 1}),
        # Seven pods, best fit: node 1 takes 1, node 0 takes 3 (6/2), node 2 the other 3.
        ("best-fit", 7, {1: 1, 0: 3, 2: 3}),
        # Seven pods, first fit: node 0 takes 3, node 1 takes 1, node 2 takes 3.
        ("first-fit-decreasing", 7, {0: 3, 1: 1, 2: 3}),
    ],
)
def test_strategy_layouts(strategy: str, replicas: int, layout: dict[int, int]) -> None:
    placer = make_placer(strategy, THREE)
    assert _layout(placer, replicas=replicas, cpu_milli=2_000) == layout


def test_layouts_commit_the_requests() -> None:
    placer = make_placer("best-fit", THREE)
    _layout(placer, replicas=7, cpu_milli=2_000)
    # node 0: 6 free - 3 × 2 = 0; node 1: 3 - 2 = 1; node 2: 10 - 6 = 4 (cores).
    assert placer.pool.live("free_cpu").tolist() == [0, 1_000, 4_000]
    assert placer.pool.live("free_pods").tolist() == [107, 109, 107]


def test_dominant_resource_prefers_the_node_whose_leftover_matches_the_pod() -> None:
    # Both nodes: 10 cores, 10 GiB. Node 0 has 2 cores / 8 GiB free, node 1 8 cores / 2 GiB.
    # A CPU-heavy pod (2 cores, 512 MiB): demand (0.2, 0.05).
    # cos(node 0) = (0.2·0.2 + 0.05·0.8) / (0.206 · 0.825) = 0.08 / 0.170 = 0.47
    # cos(node 1) = (0.2·0.8 + 0.05·0.2) / (0.206 · 0.825) = 0.17 / 0.170 = 1.00
    nodes = [
        {"cpu": 10_000, "used": 8_000, "mem": 10_240, "used_mem": 2_048},
        {"cpu": 10_000, "used": 2_000, "mem": 10_240, "used_mem": 8_192},
    ]
    assert _layout(make_placer("dominant-resource", nodes), cpu_milli=2_000, memory_mib=512) == {
        1: 1
    }
    # First fit takes node 0, which still has room for exactly one.
    assert _layout(make_placer("first-fit-decreasing", nodes), cpu_milli=2_000, memory_mib=512) == {
        0: 1
    }


def test_max_pods_binds_before_cpu() -> None:
    # 64 free cores would take 64 one-core pods, but only 3 pod slots are left.
    placer = make_placer("best-fit", [{"cpu": 64_000, "pods": 3}])
    res = placer.place(make_batch(replicas=5, cpu_milli=1_000))
    assert (res.placed, res.unplaced) == (3, 2)
    assert res.reason is not None
    assert res.reason.resource == "pods"
    assert (res.reason.requested, res.reason.free, res.reason.capacity) == (1, 0, 3)


def test_unplaced_reports_the_resource_with_numbers() -> None:
    placer = make_placer("best-fit", [{"cpu": 8_000, "used": 6_000}, {"cpu": 8_000}])
    res = placer.place(make_batch(replicas=3, cpu_milli=4_000))
    # node 1 takes 2 (8/4), node 0 none (2 free); one left over.
    assert (res.placed, res.unplaced) == (2, 1)
    assert res.reason is not None
    assert res.reason.resource == "cpu_milli"
    assert res.reason.requested == 4_000
    assert res.reason.capacity == 8_000
    assert "requested 4000" in res.reason.describe()


def test_can_place_changes_nothing() -> None:
    placer = make_placer("best-fit", THREE)
    before = {k: placer.pool.live(k).copy() for k in ("free_cpu", "free_mem", "free_pods")}
    # 6/2 + 3/2 + 10/2 = 3 + 1 + 5 = 9 two-core pods fit in total.
    fits, reason = placer.can_place(make_batch(replicas=12, cpu_milli=2_000))
    assert fits == 9
    assert reason is not None
    assert placer.can_place(make_batch(replicas=9, cpu_milli=2_000)) == (9, None)
    for key, arr in before.items():
        assert np.array_equal(placer.pool.live(key), arr)


def test_can_place_names_the_binding_resource() -> None:
    placer = make_placer("best-fit", THREE)
    # 9 two-core pods fit (3 + 1 + 5); the 10th-12th are short of CPU, not of racks.
    _, reason = placer.can_place(make_batch(replicas=12, cpu_milli=2_000))
    assert reason is not None
    assert reason.resource == "cpu_milli"


def test_host_anti_affinity_puts_one_replica_per_node() -> None:
    placer = make_placer("best-fit", [{"cpu": 64_000}] * 3)
    res = placer.place(make_batch(replicas=4, cpu_milli=1_000, anti_affinity="host"))
    assert res.counts.tolist() == [1, 1, 1]
    assert res.unplaced == 1
    assert res.reason is not None and res.reason.resource == "anti_affinity"


def test_spread_racks_caps_each_rack_at_its_share() -> None:
    # Nodes 0..3 in racks 0, 1, 0, 1. Eight pods over 2 racks: at most ceil(8/2) = 4 a rack.
    nodes = [{"cpu": 64_000, "rack": i % 2} for i in range(4)]
    spread = _layout(
        make_placer("first-fit-decreasing", nodes, racks=2),
        replicas=8,
        cpu_milli=1_000,
        spread_racks=True,
    )
    per_rack = [sum(c for n, c in spread.items() if n % 2 == r) for r in (0, 1)]
    assert per_rack == [4, 4]
    # Without spread, first fit puts all eight on node 0.
    assert _layout(
        make_placer("first-fit-decreasing", nodes, racks=2), replicas=8, cpu_milli=1_000
    ) == {0: 8}


def test_rack_anti_affinity_puts_one_replica_per_rack() -> None:
    nodes = [{"cpu": 64_000, "rack": r} for r in (0, 0, 1, 1, 2)]
    placer = make_placer("best-fit", nodes, racks=3)
    res = placer.place(make_batch(replicas=4, cpu_milli=1_000, anti_affinity="rack"))
    racks = placer.pool.rack[res.nodes].tolist()
    assert sorted(racks) == [0, 1, 2]
    assert res.unplaced == 1


def test_fractional_gpus_share_devices_best_fit_inside_the_node() -> None:
    placer = make_placer("best-fit", [{"cpu": 64_000, "gpus": 2}], max_gpus=2)
    free = placer.pool.gpu_free[0]
    placer.place(make_batch(cpu_milli=100, gpu_count=1, gpu_milli=500))
    assert free.tolist() == [500, 1000]
    placer.place(make_batch(cpu_milli=100, gpu_count=1, gpu_milli=750))
    # 750 does not fit device 0 (500 free) → device 1.
    assert free.tolist() == [500, 250]
    placer.place(make_batch(cpu_milli=100, gpu_count=1, gpu_milli=250))
    # Best fit inside the node: the device with least room that still fits → device 1.
    assert free.tolist() == [500, 0]
    res = placer.place(make_batch(cpu_milli=100, gpu_count=1, gpu_milli=GPU_WHOLE))
    assert res.unplaced == 1
    assert res.reason is not None and res.reason.resource == "gpus"


def test_whole_gpu_pods_take_fully_free_devices() -> None:
    placer = make_placer("best-fit", [{"cpu": 64_000, "gpus": 8}], max_gpus=8)
    # 8 GPUs / 2 per pod = 4 pods; the 5th does not fit.
    res = placer.place(make_batch(replicas=5, cpu_milli=100, gpu_count=2, gpu_milli=GPU_WHOLE))
    assert (res.placed, res.unplaced) == (4, 1)
    assert placer.pool.gpu_free[0].tolist() == [0] * 8


def test_gpu_model_filter() -> None:
    nodes = [
        {"cpu": 64_000, "gpus": 4, "gpu_model": 0},
        {"cpu": 64_000, "gpus": 4, "gpu_model": 1},
    ]
    placer = make_placer("first-fit-decreasing", nodes, max_gpus=4)
    res = placer.place(
        make_batch(
            replicas=4, cpu_milli=100, gpu_count=1, gpu_milli=GPU_WHOLE, gpu_models=frozenset({1})
        )
    )
    assert dict(zip(res.nodes.tolist(), res.counts.tolist(), strict=True)) == {1: 4}
    res = placer.place(
        make_batch(cpu_milli=100, gpu_count=1, gpu_milli=GPU_WHOLE, gpu_models=frozenset({1}))
    )
    # The only node of an allowed model (1) is full; node 0 is emptier but of the wrong
    # model, which no amount of room would change. The reason names what more nodes of
    # the right kind would fix: whole GPUs (issue 11 §5: either reason used to pass).
    assert res.unplaced == 1
    assert res.reason is not None
    assert (res.reason.resource, res.reason.plugin) == ("gpus", "GpuFit")
    assert res.reason.resolvable


@pytest.mark.parametrize(
    ("batch", "per_node", "resource"),
    [
        (make_batch(cpu_milli=3_000), 2, None),  # 8 // 3 = 2
        (make_batch(cpu_milli=1_000, memory_mib=3_000), 2, None),  # 8192 // 3000 = 2
        (make_batch(cpu_milli=100), 5, None),  # 5 pod slots bind
        (make_batch(cpu_milli=9_000), 0, "cpu_milli"),
        (make_batch(cpu_milli=0, memory_mib=9_000), 0, "memory_mib"),
        (make_batch(cpu_milli=0, memory_mib=0, pod_slots=0), int(UNLIMITED), None),
        (make_batch(cpu_milli=100, gpu_count=1, gpu_milli=GPU_WHOLE), 0, "gpus"),
    ],
)
def test_template_fit(batch, per_node: int, resource: str | None) -> None:  # type: ignore[no-untyped-def]
    template = NodeTemplate(cpu_milli=8_000, memory_mib=8_192, pods=5)
    fit, why = template_fit(template, batch)
    assert fit == per_node
    assert (why.resource if why else None) == resource


def test_placer_opens_nodes_from_its_source() -> None:
    class Unlimited:
        template = NodeTemplate(cpu_milli=8_000, memory_mib=32_768, pods=110)

        def template_for(self, batch):  # type: ignore[no-untyped-def]
            return self.template

        def available(self, template):  # type: ignore[no-untyped-def]
            return 1_000

        def open(self, pool, template, count, racks=None):  # type: ignore[no-untyped-def]
            return pool.open(template, np.arange(pool.n, pool.n + count), np.zeros(count, np.int64))

        def exhausted(self, batch):  # type: ignore[no-untyped-def]
            return "never"

        def can_grow(self, batch):  # type: ignore[no-untyped-def]
            return True

    pool = NodePool(max_gpus=1)
    placer = Placer(pool, Unlimited(), profile_for("best-fit"), default_registry())
    # 10 pods of 3 cores, 2 per 8-core node → ceil(10 / 2) = 5 nodes.
    res = placer.place(make_batch(replicas=10, cpu_milli=3_000))
    assert (res.placed, pool.n) == (10, 5)
    assert (pool.live("free_cpu") >= 0).all()


def test_registry_refuses_duplicate_names() -> None:
    registry = Registry()
    registry.add_filter(NodeResourcesFit())
    with pytest.raises(ValueError, match="twice"):
        registry.add_filter(NodeResourcesFit())
    with pytest.raises(KeyError, match="unknown score plugin"):
        registry.score("Nope")


def test_every_strategy_names_registered_plugins() -> None:
    known = set(default_registry().score_names())
    for profile in STRATEGIES.values():
        assert set(profile.weights) <= known


def test_profile_weights_override() -> None:
    profile = profile_for("best-fit", {"NodeOrder": 2.0})
    assert profile.weights == {"MostAllocated": 1.0, "NodeOrder": 2.0}
    assert profile_for("best-fit") is STRATEGIES["best-fit"]


@pytest.mark.parametrize("name", default_registry().score_names())
def test_scores_are_bounded(name: str) -> None:
    placer = make_placer("best-fit", [*THREE, {"cpu": 10_000, "used": 10_000, "gpus": 1}])
    plugin = default_registry().score(name)
    batches = (
        make_batch(cpu_milli=2_000),  # fits nodes 0, 1 and 2
        make_batch(cpu_milli=10_000),  # fits only the empty node 2, filling it
        make_batch(cpu_milli=0, gpu_count=1, gpu_milli=GPU_WHOLE),  # only node 3 (GPU)
    )
    for batch in batches:
        # The contract: scores are asked for candidates, nodes the batch fits.
        candidates = np.flatnonzero(placer.fit(batch) > 0)
        assert len(candidates) > 0
        scores = plugin.score(placer.pool, batch, candidates)
        assert len(scores) == len(candidates)
        assert ((scores >= 0) & (scores <= 100)).all(), (batch, scores)
    # A batch no node fits is never scored by the placer; asked anyway, a plugin may
    # leave 0–100 (a node "more than full"), and the framework clips it.
    too_big = make_batch(cpu_milli=20_000, memory_mib=10**6)
    every = np.arange(placer.pool.n)
    assert np.isfinite(plugin.score(placer.pool, too_big, every)).all()
    weighted = placer.weighted(too_big, every, [(plugin, 2.0)])
    assert ((weighted >= 0) & (weighted <= 200)).all()


def test_fixed_nodes_source_is_empty() -> None:
    assert FixedNodes().template_for(make_batch()) is None


def test_gpu_per_pod_path_never_overruns_pod_slots() -> None:
    # Review of issue 9: the GPU-fragmentation path hid a node whose pod slots were full
    # by showing the kernel no free CPU there, which a GPU pod requesting no CPU still
    # fits. Two nodes with 3 pod slots and 8 GPUs each; 10 pods of 1/8 GPU, no CPU, no
    # memory: the GPUs hold 64, the pod slots 2 × 3 = 6 → 6 placed, 4 unplaced on slots.
    nodes = [{"cpu": 64_000, "pods": 3, "gpus": 8, "gpu_model": 0} for _ in range(2)]
    placer = make_placer("gpu-fragmentation", nodes, max_gpus=8)
    batch = make_batch(replicas=10, cpu_milli=0, gpu_count=1, gpu_milli=125)
    placer.expect([batch], ("L4",))
    res = placer.place(batch)
    assert (res.placed, res.unplaced) == (6, 4)
    assert placer.pool.free_pods[:2].tolist() == [0, 0]
    # the devices are recorded in the order of np.repeat(nodes, counts), one per pod
    assert len(res.devices) == 6 and (res.devices >= 0).all()
