"""Folding pods into replica slots and finding workloads in a scenario (no server)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from underlay.importers.prometheus.join import (
    PodWorkload,
    fold_slots,
    match_workloads,
    safe_name,
    scenario_workloads,
    workload_of,
)

NAN = np.nan


def test_rollout_one_at_a_time() -> None:
    # a: steps 0-3, b: steps 0-5, c: steps 2-7 (ordered by first step, then name)
    cpu = np.array(
        [
            [1, 1, 1, 1, NAN, NAN, NAN, NAN],
            [2, 2, 2, 2, 2, 2, NAN, NAN],
            [NAN, NAN, 3, 3, 3, 3, 3, 3],
        ]
    )
    slots = fold_slots([0, 1, 2], cpu, cpu * 10)
    assert slots.pods == 3
    # slot 1: a while alive, then b (the oldest left), then c once b ended
    np.testing.assert_array_equal(slots.cpu_cores[0], [1, 1, 1, 1, 2, 2, 3, 3])
    # slot 2: b, then c, then nobody
    np.testing.assert_array_equal(slots.cpu_cores[1], [2, 2, 2, 2, 3, 3, NAN, NAN])
    # slot 3: c while three pods were alive (steps 2-3)
    np.testing.assert_array_equal(slots.cpu_cores[2], [NAN, NAN, 3, 3, NAN, NAN, NAN, NAN])
    np.testing.assert_array_equal(slots.memory_mib, slots.cpu_cores * 10)


def test_gap_inside_a_pods_life_stays_in_its_slot() -> None:
    # a has no sample at step 2 (a scrape gap): b must not move into slot 1 meanwhile
    cpu = np.array([[1, 1, NAN, 1], [2, 2, 2, 2]])
    slots = fold_slots([0, 1], cpu, cpu)
    np.testing.assert_array_equal(slots.cpu_cores[0], [1, 1, NAN, 1])
    np.testing.assert_array_equal(slots.cpu_cores[1], [2, 2, 2, 2])


def test_slot_without_a_complete_sample_is_dropped() -> None:
    # b only has memory (its CPU rate needs two samples): no slot of its own
    cpu = np.array([[1.0, 1.0], [NAN, NAN]])
    mem = np.array([[5.0, 5.0], [NAN, 7.0]])
    slots = fold_slots([0, 1], cpu, mem)
    assert slots.cpu_cores.shape == (1, 2)
    assert slots.pods == 2


@given(
    st.lists(
        st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(0, 11)),
        min_size=1,
        max_size=8,
    )
)
def test_every_sample_lands_in_exactly_one_slot(pods: list[tuple[int, int, int]]) -> None:
    """Pods conserved: each pod's samples (with a hole or not) all appear, once, in the
    slots, and a step never has more occupied slots than pods alive."""
    steps = 12
    cpu = np.full((len(pods), steps), NAN)
    for i, (a, b, hole) in enumerate(pods):
        first, last = min(a, b), max(a, b)
        cpu[i, first : last + 1] = 100 * (i + 1) + np.arange(first, last + 1)
        if first < hole < last:
            cpu[i, hole] = NAN
    order = sorted(range(len(pods)), key=lambda i: (int(np.argmax(~np.isnan(cpu[i]))), str(i)))
    slots = fold_slots(order, cpu, cpu)
    placed = slots.cpu_cores[~np.isnan(slots.cpu_cores)]
    assert sorted(placed.tolist()) == sorted(cpu[~np.isnan(cpu)].tolist())
    alive = [sum(min(a, b) <= k <= max(a, b) for a, b, _ in pods) for k in range(steps)]
    occupied = (~np.isnan(slots.cpu_cores)).sum(axis=0)
    assert (occupied <= np.array(alive)).all()


def test_workload_of_follows_kubectl_naming() -> None:
    assert workload_of("ReplicaSet", "web-7d4b9c8f5d") == ("Deployment", "web")
    assert workload_of("Job", "backup-28471230") == ("CronJob", "backup")
    assert workload_of("StatefulSet", "db") == ("StatefulSet", "db")
    assert safe_name("team/a b", "w") == "team-a-b"


def test_match_by_tenant_then_qualified_then_unique_name() -> None:
    data = {
        "tenants": [
            {"name": "shop", "workloads": [{"name": "web"}, {"name": "shop-db"}]},
            {"name": "team-a", "clusters": [{"workloads": [{"name": "api"}]}]},
            {"name": "team-b", "workloads": [{"name": "api"}, {"name": "billing-job"}]},
        ]
    }
    targets = list(scenario_workloads(data))
    found = [
        PodWorkload("shop", "Deployment", "web"),  # tenant shop, name web
        PodWorkload("shop", "StatefulSet", "db"),  # tenant shop, name shop-db
        PodWorkload("billing", "Job", "job"),  # billing-job, in another tenant
        PodWorkload("other", "Deployment", "api"),  # two workloads named api: none
    ]
    got = {str(k): (v.tenant, v.name) for k, v in match_workloads(found, targets).items()}
    assert got == {
        "shop/web": ("shop", "web"),
        "shop/db": ("shop", "shop-db"),
        "billing/job": ("team-b", "billing-job"),
    }
