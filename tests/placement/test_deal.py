"""The fluid deal (placement/deal.py): hand-worked pools, then its invariants (Hypothesis).

Nodes here are 10 cores, plenty of memory and 10 pod slots unless stated, so pod slots
can bind while CPU is left, as ``max_pods`` does on large hosts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from factories import make_batch
from properties import examples
from underlay.placement.deal import dealable, fluid_deal, new_nodes_needed
from underlay.placement.engine import Placer, template_fit
from underlay.placement.framework import PodBatch
from underlay.placement.plugins import default_registry
from underlay.placement.pool import NodePool, NodeTemplate
from underlay.placement.strategies import profile_for

NODE = NodeTemplate(cpu_milli=10_000, memory_mib=64 * 1024, pods=10)


class OpenNodes:
    """A node source opening as many nodes of one template as asked (``limit`` at most)."""

    def __init__(self, template: NodeTemplate, limit: int = 1_000) -> None:
        self.template = template
        self.left = limit

    def template_for(self, batch: PodBatch) -> NodeTemplate | None:
        return self.template

    def available(self, template: NodeTemplate) -> int:
        return self.left

    def open(self, pool: NodePool, template: NodeTemplate, count: int, racks: Any = None) -> Any:
        count = min(count, self.left)
        self.left -= count
        start = pool.n
        hosts = np.arange(start, start + count, dtype=np.int64)
        return pool.open(template, hosts, np.zeros(count, np.int64))

    def exhausted(self, batch: PodBatch) -> str:
        return "no node left"

    def can_grow(self, batch: PodBatch) -> bool:
        return self.left > 0


def _run(batches: list[PodBatch], *, deal: bool, limit: int = 1_000) -> tuple[Placer, list[Any]]:
    """Place ``batches`` (already in queue order) on an empty pool the way
    SubstrateBuild does, the plain ones dealt first when ``deal``: the placer and each
    batch's result."""
    pool = NodePool(max_gpus=1)
    placer = Placer(pool, OpenNodes(NODE, limit), profile_for("best-fit"), default_registry())
    proposals: dict[int, Any] | None = None
    results = []
    for i, batch in enumerate(batches):
        if deal and proposals is None and dealable(batch):
            proposals = fluid_deal(
                pool, placer.source, batches[i:], lambda t, b: template_fit(t, b, placer.filters)[0]
            )
        results.append(placer.place(batch, (proposals or {}).get(batch.key)))
    return placer, results


def test_new_nodes_needed_is_the_dominant_ratio_rounded_up() -> None:
    # CPU 13,400 / 10,000 = 1.34, slots 20 / 10 = 2.0 → 2; with 5 slots free already:
    # 15 / 10 = 1.5 → 2; nothing short → 0.
    cap = np.array([10_000, 65_536, 10])
    assert new_nodes_needed(np.array([13_400, 0, 20]), np.zeros(3, np.int64), cap) == 2
    assert new_nodes_needed(np.array([13_400, 0, 20]), np.array([0, 0, 5]), cap) == 2
    assert new_nodes_needed(np.array([13_400, 0, 20]), np.array([20_000, 0, 20]), cap) == 0


def test_large_and_small_pods_share_nodes_where_slots_bind() -> None:
    # 2 pods of 4 cores and 18 of 300m: CPU 8 + 5.4 = 13.4 cores (1.34 nodes), 20 pods
    # (2.0 nodes of 10 slots): the bound is 2 nodes.
    # Best fit alone, largest first: node 0 takes both 4-core pods (8 cores, 2 slots),
    # then 6 small ones (1.8 cores, 8 slots used, 200m left: no 7th); node 1 takes 10;
    # 2 are left for node 2 → 3 nodes.
    # Dealt: 2 nodes; one 4-core pod and 9 small ones each: 4 + 2.7 = 6.7 cores, 10 slots.
    batches = [
        make_batch(key=0, replicas=2, cpu_milli=4_000, memory_mib=1024),
        make_batch(key=1, replicas=18, cpu_milli=300, memory_mib=256),
    ]
    greedy = _run(batches, deal=False)[0].pool
    dealt = _run(batches, deal=True)[0].pool
    assert greedy.n == 3
    assert dealt.n == 2
    assert dealt.live("free_pods").tolist() == [0, 0]
    assert dealt.live("free_cpu").tolist() == [10_000 - 6_700] * 2


def test_what_the_filters_refuse_is_packed_as_before() -> None:
    # 20 pods of 6 cores (20 pods: two nodes' slots, so they are dealt): CPU 120 / 10 =
    # 12 nodes opened; room for one 6-core pod each (10 / 6 = 1.67), 20 dealt over 12,
    # so 8 nodes are offered a second pod and refuse it: the 8 refused open 8 more nodes,
    # as best fit would: 20 nodes, 4 cores free on each.
    placer, results = _run([make_batch(key=0, replicas=20, cpu_milli=6_000)], deal=True)
    assert placer.pool.n == 20
    assert placer.pool.live("free_cpu").tolist() == [4_000] * 20
    assert results[0].placed == 20


def test_fewer_pods_than_two_nodes_of_slots_are_not_dealt() -> None:
    # 19 pods < 2 x 10 slots: no deal, nothing opened by it; best fit places them.
    pool = NodePool(max_gpus=1)
    placer = Placer(pool, OpenNodes(NODE), profile_for("best-fit"), default_registry())
    batches = [make_batch(key=0, replicas=19, cpu_milli=100)]
    fits = lambda t, b: template_fit(t, b, placer.filters)[0]  # noqa: E731
    assert fluid_deal(pool, placer.source, batches, fits) == {}
    assert pool.n == 0
    batches = [make_batch(key=0, replicas=20, cpu_milli=100)]
    assert set(fluid_deal(pool, placer.source, batches, fits)) == {0}
    assert pool.n == 2


def test_a_batch_no_empty_node_takes_opens_nothing() -> None:
    # 40-core pods fit no 10-core node: left out of the deal (and unplaced later), so the
    # node count is the small pods' alone: 20 slots / 10 = 2 nodes (counting the 3 large
    # ones, CPU (120 + 2) / 10 would open 13).
    pool = NodePool(max_gpus=1)
    placer = Placer(pool, OpenNodes(NODE), profile_for("best-fit"), default_registry())
    batches = [
        make_batch(key=0, replicas=3, cpu_milli=40_000),
        make_batch(key=1, replicas=20, cpu_milli=100),
    ]
    proposals = fluid_deal(
        pool, placer.source, batches, lambda t, b: template_fit(t, b, placer.filters)[0]
    )
    assert set(proposals) == {1}
    assert pool.n == 2


def test_the_deal_opens_no_more_than_the_source_has() -> None:
    # 30 pods need 3 nodes; the source has 2: both opened, 20 pods placed, 10 unplaced.
    placer, _ = _run([make_batch(key=0, replicas=30, cpu_milli=100)], deal=True, limit=2)
    assert placer.pool.n == 2
    assert placer.pool.live("free_pods").tolist() == [0, 0]


# ---------------------------------------------------------------------- invariants

PROPERTY = settings(
    max_examples=examples(60),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def batch_lists(draw: st.DrawFn) -> list[PodBatch]:
    """Anti-affine batches first, then plain ones largest first (the queue's order)."""
    out = []
    for key in range(draw(st.integers(1, 6))):
        anti = draw(st.sampled_from(["none", "none", "none", "host"]))
        out.append(
            make_batch(
                key=key,
                replicas=draw(st.integers(0, 40 if anti == "none" else 6)),
                cpu_milli=draw(st.sampled_from([0, 100, 250, 1_000, 4_000, 9_000, 12_000])),
                memory_mib=draw(st.sampled_from([0, 128, 4_096, 40_000, 70_000])),
                anti_affinity=anti,
            )
        )
    return sorted(out, key=lambda b: (b.anti_affinity == "none", -b.cpu_milli, b.key))


@PROPERTY
@given(batch_lists(), st.integers(1, 12))
@example(
    [
        make_batch(key=0, replicas=2, cpu_milli=4_000, memory_mib=1024),
        make_batch(key=1, replicas=18, cpu_milli=300, memory_mib=256),
    ],
    1,
)
def test_the_deal_never_breaks_a_constraint(batches: list[PodBatch], limit: int) -> None:
    placer, results = _run(batches, deal=True, limit=limit)
    pool = placer.pool
    # No node over its allocatable CPU, memory or pod slots; no more nodes than the source.
    assert (pool.live("free_cpu") >= 0).all()
    assert (pool.live("free_mem") >= 0).all()
    assert (pool.live("free_pods") >= 0).all()
    assert pool.n <= limit
    # Pods conserved: what the nodes hold is what the results say was placed.
    used_pods = int((pool.live("cap_pods") - pool.live("free_pods")).sum())
    used_cpu = int((pool.live("cap_cpu") - pool.live("free_cpu")).sum())
    assert used_pods == sum(r.placed for r in results)
    assert used_cpu == sum(r.placed * b.cpu_milli for r, b in zip(results, batches, strict=True))
    for r, b in zip(results, batches, strict=True):
        assert r.placed + r.unplaced == b.replicas
        assert (r.counts > 0).all()
        if b.anti_affinity == "host":  # one replica per node
            assert (r.counts == 1).all() and len(set(r.nodes.tolist())) == len(r.nodes)
    # The same input, the same placement.
    again, _ = _run(batches, deal=True, limit=limit)
    assert again.pool.live("free_cpu").tolist() == pool.live("free_cpu").tolist()
