"""The rules that were the placer's own code are plugins now (issue 11 §1).

Pod anti-affinity and the GPU-model rule are filters, rack anti-affinity and rack spread
topology plugins, the queue order queue-sort plugins, FGD a score plugin with the
``per-pod`` fill; each built-in filter's ``empty_fit`` shortcut says what its ``fit``
says on an empty node. One registry with a custom filter and a custom score is obeyed
on every path: a live node, a node about to be opened, GPU pods placed one at a time,
and the reason given for what is left.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from factories import FixedNodes, make_batch, make_placer
from underlay.placement.engine import Placer, template_fit
from underlay.placement.framework import PodBatch, Profile, Unfit
from underlay.placement.plugins import default_registry
from underlay.placement.plugins.queue import DecreasingSize, InOrder
from underlay.placement.pool import GPU_WHOLE, NodePool, NodeTemplate
from underlay.placement.strategies import profile_for

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


# ------------------------------------------------------------------ empty_fit == fit


@st.composite
def _template_and_batch(draw: st.DrawFn) -> tuple[NodeTemplate, PodBatch]:
    gpus = draw(st.integers(0, 8))
    template = NodeTemplate(
        cpu_milli=draw(st.integers(0, 128_000)),
        memory_mib=draw(st.integers(0, 1 << 20)),
        pods=draw(st.integers(0, 250)),
        gpus=gpus,
        gpu_model=draw(st.integers(-1, 2)) if gpus else -1,
        gpu_slice_milli=draw(st.sampled_from([125, 250, 500, GPU_WHOLE])),
    )
    gpu_count = draw(st.integers(0, 4))
    batch = PodBatch(
        key=0,
        replicas=draw(st.integers(1, 50)),
        cpu_milli=draw(st.integers(0, 64_000)),
        memory_mib=draw(st.integers(0, 1 << 19)),
        gpu_count=gpu_count,
        gpu_milli=draw(st.sampled_from([0, 100, 250, 500, GPU_WHOLE])) if gpu_count else 0,
        gpu_models=draw(st.none() | st.frozensets(st.integers(0, 2), max_size=2)),
        anti_affinity=draw(st.sampled_from(["none", "host", "rack"])),
        pod_slots=draw(st.integers(0, 2)),
    )
    return template, batch


@pytest.mark.parametrize("headroom", [0.0, 10.0])
@given(case=_template_and_batch())
def test_empty_fit_says_what_fit_says_on_an_empty_node(
    headroom: float, case: tuple[NodeTemplate, PodBatch]
) -> None:
    template, batch = case
    registry = default_registry().configure({"NodeResourcesFit": {"headroom_percent": headroom}})
    pool = NodePool(max_gpus=template.gpus)
    pool.open(template, np.zeros(1, np.int64), np.zeros(1, np.int64))
    for plugin in registry.filters():
        if plugin.relevant(batch):
            assert plugin.empty_fit(template, batch) == int(plugin.fit(pool, batch)[0]), plugin.name  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the rules as plugins


def test_anti_affinity_and_gpu_model_refusals_name_their_plugin() -> None:
    nodes = [{"cpu": 16_000, "gpus": 2, "gpu_model": 0}, {"cpu": 16_000, "gpus": 2, "gpu_model": 1}]
    placer = make_placer("best-fit", nodes, max_gpus=2)
    # Model 1 only: node 0 is refused by GpuModel; node 1 takes one replica under
    # anti-affinity, so the second replica is refused by PodAntiAffinity.
    batch = make_batch(
        replicas=2,
        gpu_count=1,
        gpu_milli=GPU_WHOLE,
        gpu_models=frozenset({1}),
        anti_affinity="host",
    )
    assert placer.fit(batch).tolist() == [0, 1]
    res = placer.place(batch)
    assert (res.placed, res.unplaced) == (1, 1) and res.nodes.tolist() == [1]
    assert res.reason is not None and res.reason.plugin == "PodAntiAffinity"
    # Model 2, which no node has: GpuModel refuses everywhere.
    other = make_batch(gpu_count=1, gpu_milli=GPU_WHOLE, gpu_models=frozenset({2}), key=1)
    _, why = placer.can_place(other)
    assert why is not None and (why.plugin, why.resource) == ("GpuModel", "gpu_model")
    # An empty node of the wrong model is unresolvable, named by the same plugin.
    fit, why = template_fit(placer.pool.templates[0], other)
    assert fit == 0 and why is not None and (why.plugin, why.resolvable) == ("GpuModel", False)


def test_rack_rules_are_topology_plugins() -> None:
    registry = default_registry()
    names = [t.name for t in registry.topologies()]
    assert names == ["RackAntiAffinity", "RackSpread"]
    spread = registry.topologies()[1]
    # 7 replicas over 3 racks: 2 each, the extra one in the rack with most room (rack 1).
    quota = spread.quota(make_batch(replicas=7, spread_racks=True), np.array([5, 9, 9]))
    assert quota.tolist() == [2, 3, 2]
    # Four nodes in two racks, 8 replicas spread: 4 per rack, best fit within each.
    nodes = [{"cpu": 8_000, "rack": r} for r in (0, 0, 1, 1)]
    res = make_placer("best-fit", nodes, racks=2).place(
        make_batch(replicas=8, cpu_milli=1_000, spread_racks=True)
    )
    per_rack = np.bincount(np.array([0, 0, 1, 1])[res.nodes], res.counts, 2)
    assert per_rack.tolist() == [4, 4]


def test_queue_sort_plugins_order_batches() -> None:
    ref = NodeTemplate(cpu_milli=10_000, memory_mib=10_000, pods=110)
    small, big = make_batch(cpu_milli=1_000, key=0), make_batch(cpu_milli=5_000, key=1)
    spread = make_batch(cpu_milli=100, key=2, spread_racks=True)
    gpu = make_batch(cpu_milli=100, key=3, gpu_count=1, gpu_milli=500)
    batches = [small, big, spread, gpu]
    # GPU pods first, then the constrained (spread), then by size or as given.
    assert [b.key for b in DecreasingSize().sort(batches, ref)] == [3, 2, 1, 0]
    assert [b.key for b in InOrder().sort(batches, ref)] == [3, 2, 0, 1]
    with pytest.raises(KeyError, match="did you mean 'InOrder'"):
        registry = default_registry()
        registry.add_profile(Profile("in-order", {"MostAllocated": 1.0}, queue_sort="InOrdr"))
        registry.profile("in-order")


@pytest.mark.parametrize(("weight", "per_pod"), [(1.0, True), (0.0, False)])
def test_fgd_is_a_score_plugin_of_the_per_pod_fill(
    weight: float, per_pod: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gpu-fragmentation's profile fills per pod: GPU pods go through the GPU kernel under
    # the strategy its GpuFragmentation plugin names — unless that plugin is weighted 0,
    # when they are packed as a batch like any other pod.
    from underlay.placement import gpu_packing

    calls: list[str] = []
    real = gpu_packing.pack

    def counting(*args: object, **kw: object) -> object:
        calls.append(str(args[2]))
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(gpu_packing, "pack", counting)
    profile = profile_for("gpu-fragmentation", {"GpuFragmentation": weight})
    assert profile.fill == "per-pod"
    pool = make_placer("best-fit", [{"cpu": 8_000, "gpus": 1}] * 2, max_gpus=1).pool
    placer = Placer(pool, FixedNodes(), profile, default_registry())
    batch = make_batch(replicas=3, cpu_milli=1_000, gpu_count=1, gpu_milli=250)
    placer.expect([batch], ("L4",))
    assert placer.place(batch).placed == 3
    assert calls == (["fgd"] if per_pod else [])
    # CPU pods are packed under either weight.
    calls.clear()
    assert placer.place(make_batch(replicas=2, key=1)).placed == 2
    assert calls == []


# ------------------------------------------------------------ one custom filter + score


class TwoCoresPerNode:
    """A site rule: pods may use at most 2 cores of a node."""

    name = "TwoCoresPerNode"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.pod_slots > 0 and batch.cpu_milli > 0

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        used = pool.live("cap_cpu") - pool.live("free_cpu")
        out: I64 = np.maximum(2_000 - used, 0) // batch.cpu_milli
        return out

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        used = float(pool.cap_cpu[node] - pool.free_cpu[node])
        return Unfit("cpu_milli", batch.cpu_milli, 2_000 - used, 2_000, "site: 2 cores a node")


class PreferOddNodes:
    name = "PreferOddNodes"

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        out: F64 = np.where(nodes % 2 == 1, 100.0, 0.0)
        return out


class Hosts:
    def __init__(self) -> None:
        self.opened = 0

    def template_for(self, batch: PodBatch) -> NodeTemplate | None:
        return NodeTemplate(cpu_milli=32_000, memory_mib=65_536, pods=110, gpus=4, gpu_model=0)

    def available(self, template: NodeTemplate) -> int:
        return 3 - self.opened

    def open(self, pool: NodePool, template: NodeTemplate, count: int, racks: object = None) -> I64:
        self.opened += count
        return pool.open(template, np.arange(pool.n, pool.n + count), np.zeros(count, np.int64))

    def exhausted(self, batch: PodBatch) -> str:
        return "three hosts at most"

    def can_grow(self, batch: PodBatch) -> bool:
        return False


@pytest.mark.parametrize("strategy", ["best-fit", "gpu-fragmentation"])
def test_one_custom_filter_and_score_on_every_path(strategy: str) -> None:
    registry = default_registry()
    registry.add_filter(TwoCoresPerNode())
    registry.add_score(PreferOddNodes())
    profile = replace(profile_for(strategy), weights={"PreferOddNodes": 1.0})
    source = Hosts()
    pool = NodePool(max_gpus=4)
    placer = Placer(pool, source, profile, registry)
    cpu = make_batch(replicas=3, cpu_milli=1_000)
    gpu = make_batch(replicas=3, cpu_milli=1_000, gpu_count=1, gpu_milli=250, key=1)
    placer.expect([cpu, gpu], ("L4",))
    # New nodes: an empty node takes 2 pods of 1 core under the rule (32 without), so
    # 3 pods open 2 nodes; the odd node 1 is filled first (2), node 0 takes 1.
    res = placer.place(cpu)
    assert (source.opened, res.unplaced) == (2, 0)
    assert dict(zip(res.nodes.tolist(), res.counts.tolist(), strict=True)) == {1: 2, 0: 1}
    # GPU pods (one at a time through the kernel under gpu-fragmentation): the live
    # node 0 has room for 1, then one more node (2) opens for the other 2.
    res = placer.place(gpu)
    assert (source.opened, res.unplaced) == (3, 0)
    assert dict(zip(res.nodes.tolist(), res.counts.tolist(), strict=True)) == {0: 1, 2: 2}
    assert int(pool.gpu_free[1].sum()) == 4 * GPU_WHOLE  # node 1: full under the rule
    assert (pool.live("cap_cpu") - pool.live("free_cpu")).tolist() == [2_000] * 3
    # What is left, and why: every node is at the rule's 2 cores and the source has no
    # host left (more hosts would help); a 3-core pod fits no node at all (they would not).
    res = placer.place(make_batch(replicas=4, cpu_milli=1_000, key=2))
    assert (res.placed, res.unplaced) == (0, 4)
    assert res.reason is not None and res.reason.plugin == "TwoCoresPerNode"
    assert res.reason.status == "Unschedulable"
    res = placer.place(make_batch(cpu_milli=3_000, key=3))
    assert res.reason is not None and res.reason.plugin == "TwoCoresPerNode"
    assert res.reason.status == "UnschedulableAndUnresolvable"
