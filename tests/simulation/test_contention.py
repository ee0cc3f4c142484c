"""The contention kernel, by hand: tiny arrays through ``cpu_on_kernels``,
``share_by_weight`` and ``evict_memory``, with the arithmetic in the comments.

Conventions of :mod:`underlay.simulation.contention`: arrays are float32, (pods × steps);
pods are sorted by kernel and ``Kernels(starts, counts)`` groups them; per-pod parameters
are (pods × 1) columns; capacities are (kernels × 1) or (kernels × steps). CPU in
millicores, memory in MiB.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numpy.typing import NDArray

from underlay.simulation.contention import (
    MIN_SHARES_MILLI,
    ROUNDS,
    Kernels,
    cpu_on_kernels,
    evict_memory,
    share_by_weight,
)

INF = np.inf


def col(*values: float) -> NDArray[np.float32]:
    """A (pods × 1) float32 column."""
    return np.array(values, np.float32)[:, None]


def rows(*values: list[float]) -> NDArray[np.float32]:
    """A (pods × steps) float32 array, one list per pod."""
    return np.array(values, np.float32)


def one_kernel(pods: int) -> Kernels:
    return Kernels(starts=np.array([0], np.int64), counts=np.array([pods], np.int64))


def close(actual: NDArray[np.float32], expected: list[float] | list[list[float]]) -> None:
    # float32 arithmetic on millicores: 0.01m is far below anything that matters.
    np.testing.assert_allclose(actual, np.array(expected, np.float64), rtol=1e-5, atol=1e-2)


# ------------------------------------------------------------------------------------ CPU


def test_guaranteed_up_to_the_request_when_the_kernel_is_full() -> None:
    # Capacity 3000m = the sum of the requests (1000 + 2000): each pod gets its request,
    # nothing is left to share, so what each wants above it is unmet.
    shares = cpu_on_kernels(
        demand=col(1500, 2600),
        request=col(1000, 2000),
        limit=col(INF, INF),
        capacity=col(3000),
        kernels=one_kernel(2),
    )
    close(shares.granted, [[1000], [2000]])
    close(shares.unmet, [[500], [600]])
    close(shares.throttled, [[0], [0]])
    close(shares.burst, [[0], [0]])


def test_a_pod_below_its_request_gets_all_it_wants() -> None:
    # A wants 300 of its 1000 request; B wants 5000 on 4000m: A gets 300 (guaranteed),
    # B gets its 2000 request plus all of the free 4000 - 300 - 2000 = 1700 → 3700.
    shares = cpu_on_kernels(
        col(300, 5000), col(1000, 2000), col(INF, INF), col(4000), one_kernel(2)
    )
    close(shares.granted, [[300], [3700]])
    close(shares.unmet, [[0], [1300]])
    close(shares.burst, [[0], [1700]])


def test_excess_shared_by_request_weight_capped_by_want_then_neighbour_idle() -> None:
    # Capacity 4000m. A requests 1000 and wants 4000 (limit 3500); B requests 3000 and
    # wants 3000.
    # Step 0: guaranteed A 1000 + B 3000 = 4000 → free 0: A gets 1000, B 3000;
    #         A wanted min(4000, 3500) - 1000 = 2500 more: unmet 2500, throttled 500.
    # Step 1: B is idle (wants 0): A gets 1000 + min(2500, free 4000 - 1000) = 3500, its
    #         limit; the 500 above the limit is throttled, nothing unmet.
    shares = cpu_on_kernels(
        demand=rows([4000, 4000], [3000, 0]),
        request=col(1000, 3000),
        limit=col(3500, INF),
        capacity=col(4000),
        kernels=one_kernel(2),
    )
    close(shares.granted, [[1000, 3500], [3000, 0]])
    close(shares.unmet, [[2500, 0], [0, 0]])
    close(shares.throttled, [[500, 500], [0, 0]])
    close(shares.burst, [[0, 2500], [0, 0]])


def test_free_cpu_split_by_request_weight() -> None:
    # Capacity 6000m; A requests 1000, B 3000; both want 4000 more than their request.
    # Free = 6000 - 4000 = 2000, split 1:3 → A +500, B +1500 (neither reaches its want,
    # so round one is already the fixed point).
    shares = cpu_on_kernels(
        col(5000, 7000), col(1000, 3000), col(INF, INF), col(6000), one_kernel(2)
    )
    close(shares.granted, [[1500], [4500]])
    close(shares.unmet, [[3500], [2500]])


def test_excess_capped_by_want_goes_to_the_other_pod() -> None:
    # Capacity 6000m; A requests 1000 wants 1200 (200 more), B requests 1000 wants 9000.
    # Free 4000; equal weights: round 1 offers 2000 each, A takes 200, B 2000; round 2
    # gives B the remaining 1800 → B 1000 + 3800 = 4800, A 1200, total 6000.
    shares = cpu_on_kernels(
        col(1200, 9000), col(1000, 1000), col(INF, INF), col(6000), one_kernel(2)
    )
    close(shares.granted, [[1200], [4800]])
    close(shares.unmet, [[0], [4200]])


def test_limits_throttle_even_on_an_idle_kernel() -> None:
    # One pod alone on 16 cores: requests 1000, limit 2000, wants 3000 → granted 2000
    # (its limit), throttled 1000, unmet 0 (the limit, not a neighbour, stopped it).
    shares = cpu_on_kernels(col(3000), col(1000), col(2000), col(16000), one_kernel(1))
    close(shares.granted, [[2000]])
    close(shares.throttled, [[1000]])
    close(shares.unmet, [[0]])


def test_besteffort_weighs_two_millicores() -> None:
    # Capacity 2000m. A: request 1000, wants 3000; B: BestEffort (request 0), wants 3000.
    # Guaranteed: A 1000, B 0 → free 1000, shared by weights 1000 : 2 (cpu.shares floor):
    #   B gets 1000 · 2/1002 = 1.996m, A 1000 · 1000/1002 = 998.004m (neither capped,
    #   so later rounds have nothing left to give).
    assert MIN_SHARES_MILLI == 2.0
    shares = cpu_on_kernels(col(3000, 3000), col(1000, 0), col(INF, INF), col(2000), one_kernel(2))
    close(shares.granted, [[1000 + 1000 * 1000 / 1002], [1000 * 2 / 1002]])
    close(shares.unmet, [[2000 - 1000 * 1000 / 1002], [3000 - 1000 * 2 / 1002]])


def test_besteffort_gets_idle_cpu() -> None:
    # Same kernel, A idle: the BestEffort pod alone gets everything it wants up to 2000m.
    shares = cpu_on_kernels(col(0, 3000), col(1000, 0), col(INF, INF), col(2000), one_kernel(2))
    close(shares.granted, [[0], [2000]])
    close(shares.unmet, [[0], [1000]])


def test_kernels_and_steps_are_independent() -> None:
    # Two kernels of two pods each, two steps, per-step capacities (kernels × steps).
    # Kernel 0 (pods 0, 1; requests 1000, 1000), capacities 2000 then 4000:
    #   step 0: free 0 → 1000 / 1000;   step 1: free 2000, wants 2000 and 500 more →
    #   round 1 offers 1000 each: pod 0 +1000, pod 1 +500; round 2: pod 0 +500 → 2500 / 1500.
    # Kernel 1 (pods 2, 3; requests 500, 0), capacity 1000 both steps:
    #   step 0: wants 200 and 0 → 200 / 0;   step 1: wants 2000 and 2000 →
    #   guaranteed 500 / 0, free 500 by weights 500 : 2 → pod 2 +498.008, pod 3 +1.992.
    demand = rows([3000, 3000], [3000, 1500], [200, 2000], [0, 2000])
    shares = cpu_on_kernels(
        demand,
        col(1000, 1000, 500, 0),
        col(INF, INF, INF, INF),
        np.array([[2000, 4000], [1000, 1000]], np.float32),
        Kernels(starts=np.array([0, 2], np.int64), counts=np.array([2, 2], np.int64)),
    )
    close(
        shares.granted,
        [[1000, 2500], [1000, 1500], [200, 500 + 500 * 500 / 502], [0, 500 * 2 / 502]],
    )
    np.testing.assert_allclose(
        shares.granted + shares.unmet + shares.throttled, demand, rtol=1e-6, atol=1e-2
    )


def test_a_kernel_whose_demand_fits_gives_every_pod_all_of_it() -> None:
    # Capacity 4000m; requests 1000 and 0 (BestEffort); demands 2500 and 1200: 3700 in
    # all, within 4000 → each pod gets exactly what it wants, nothing is unmet, and the
    # kernel's total is 3700. Nobody took anything from anyone: burst 0 although pod 0 is
    # 1500 above its request.
    shares = cpu_on_kernels(col(2500, 1200), col(1000, 0), col(INF, INF), col(4000), one_kernel(2))
    np.testing.assert_array_equal(shares.granted, col(2500, 1200))
    np.testing.assert_array_equal(shares.unmet, col(0, 0))
    np.testing.assert_array_equal(shares.burst, col(0, 0))
    np.testing.assert_array_equal(shares.kernel_granted, col(3700))


def test_a_kernel_that_fits_leaves_the_others_results_bit_for_bit() -> None:
    # Kernel 0 fits at both steps (1000 + 500 <= 2000, 300 + 0 <= 2000); kernel 1 does not
    # at step 1 (2000 + 2000 > 1000). Kernel 1's grants are the same bits as when it is
    # alone, and kernel 0's are its demand; each kernel's total is the sum of its grants.
    demand = rows([1000, 300], [500, 0], [200, 2000], [0, 2000])
    request, capacity = col(1000, 1000, 500, 0), np.array([[2000], [1000]], np.float32)
    both = cpu_on_kernels(
        demand,
        request,
        col(INF, INF, INF, INF),
        capacity,
        Kernels(starts=np.array([0, 2], np.int64), counts=np.array([2, 2], np.int64)),
    )
    alone = cpu_on_kernels(demand[2:], request[2:], col(INF, INF), capacity[1:], one_kernel(2))
    np.testing.assert_array_equal(both.granted[:2], demand[:2])
    np.testing.assert_array_equal(both.unmet[:2], 0)
    for name in ("granted", "unmet", "burst"):
        np.testing.assert_array_equal(getattr(both, name)[2:], getattr(alone, name))
    np.testing.assert_array_equal(both.kernel_granted[1:], alone.kernel_granted)
    # step 1 of kernel 1: guaranteed 500 / 0, free 500 by weights 500 : 2
    close(both.granted[2:], [[200, 500 + 500 * 500 / 502], [0, 500 * 2 / 502]])
    np.testing.assert_array_equal(both.kernel_granted, both.granted[[0, 2]] + both.granted[[1, 3]])


def test_a_kernel_at_its_capacity_goes_through_the_rules() -> None:
    # 2000 + 2000 = 4000 = capacity: not below it by more than float32 rounding, so the
    # rules decide (and give the same: each its request of 2000, nothing unmet).
    shares = cpu_on_kernels(
        col(2000, 2000), col(2000, 2000), col(INF, INF), col(4000), one_kernel(2)
    )
    close(shares.granted, [[2000], [2000]])
    close(shares.unmet, [[0], [0]])


@given(
    counts=st.lists(st.integers(1, 5), min_size=1, max_size=6),
    seed=st.integers(0, 2**32 - 1),
    load=st.floats(0.2, 2.0),
)
@example(counts=[1, 3], seed=0, load=1.0)
@example(counts=[2], seed=3, load=2.0)  # requests above the capacity
def test_fitting_kernels_get_their_demand_and_the_totals_are_the_grants(
    counts: list[int], seed: int, load: float
) -> None:
    """Over random kernels (some fitting, some not): a kernel whose demand is below its
    capacity at every step has grants = demand and nothing unmet; every kernel's total is
    the sum of its pods' grants, bit for bit as a sparse product makes it; and granted +
    unmet = demand within float32 rounding; no kernel gives more than its capacity."""
    rng = np.random.default_rng(seed)
    kernels = Kernels(
        starts=(np.cumsum(counts) - counts).astype(np.int64), counts=np.array(counts, np.int64)
    )
    pods, steps = sum(counts), 4
    demand = rng.uniform(0, 2000, (pods, steps)).astype(np.float32)
    request = rng.choice([0, 250, 1000], pods).astype(np.float32)[:, None]
    capacity = (np.array(counts, np.float32) * 1000 / np.float32(load))[:, None]
    shares = cpu_on_kernels(demand, request, np.full((1, 1), INF, np.float32), capacity, kernels)
    np.testing.assert_array_equal(shares.kernel_granted, kernels.total(shares.granted))
    fits = (kernels.total(demand) <= capacity * np.float32(0.999)).all(axis=1)
    for k in np.flatnonzero(fits):
        pods_k = slice(kernels.starts[k], kernels.starts[k] + kernels.counts[k])
        np.testing.assert_array_equal(shares.granted[pods_k], demand[pods_k])
        np.testing.assert_array_equal(shares.unmet[pods_k], 0)
    np.testing.assert_allclose(shares.granted + shares.unmet, demand, rtol=1e-5, atol=1e-2)
    # the tight rows are the pods of the kernels that do not fit, in order; unmet and
    # burst are 0 in every other row
    tight = np.flatnonzero(~(kernels.total(demand) <= capacity * np.float32(1 - 1e-4)).all(axis=1))
    expected_rows = np.concatenate(
        [np.arange(kernels.starts[k], kernels.starts[k] + kernels.counts[k]) for k in tight]
        or [np.zeros(0, np.int64)]
    )
    np.testing.assert_array_equal(shares.tight_rows, expected_rows)
    np.testing.assert_array_equal(shares.tight_kernels.counts, kernels.counts[tight])
    others = np.setdiff1d(np.arange(pods), expected_rows)
    assert not shares.unmet[others].any() and not shares.burst[others].any()
    # never more than the capacity, unless the requests alone exceed it (each pod is
    # guaranteed up to its request)
    bound = np.maximum(capacity, kernels.total(np.minimum(demand, request)))
    assert (shares.kernel_granted <= bound * np.float32(1 + 1e-5) + 1e-2).all()


# ---------------------------------------------------------------------- water-filling


def exact_water_filling(want: list[float], weight: list[float], free: float) -> list[float]:
    """The exact weighted max-min share with caps: each pod gets min(want, λ·weight) with
    λ the level at which the shares add up to ``free`` (or everyone is satisfied)."""
    w, cap = np.array(weight, np.float64), np.array(want, np.float64)
    if cap.sum() <= free:
        return cap.tolist()
    lo, hi = 0.0, float((cap / w).max())
    for _ in range(200):  # bisection on λ, to far below float32 resolution
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.minimum(cap, mid * w).sum() <= free else (lo, mid)
    out: list[float] = np.minimum(cap, lo * w).tolist()
    return out


def water_fill(want: list[float], weight: list[float], free: float) -> NDArray[np.float32]:
    given = share_by_weight(
        col(*want), col(*weight), np.array([[free]], np.float32), one_kernel(len(want))
    )
    return given[:, 0]


# Tolerance: the rounds never give a pod more than its exact share (progressive filling
# stays below the water level), and what they leave ungiven is at most 1 % of the free
# CPU (and 1m absolute, for float32).
WATER_TOL = 0.01


@pytest.mark.parametrize(
    ("want", "weight", "free"),
    [
        # one capped pod, the rest uncapped: exact after round 2
        ([100, 5000, 5000], [1000, 1000, 2000], 6000),
        # two saturation levels: exact after round 3
        ([1000, 3000, 10000], [1000, 1000, 2], 4000),
        ([500, 1500, 2500, 9000], [1000, 1000, 1000, 1000], 8000),
        # everyone satisfied
        ([100, 200, 300], [1000, 2, 500], 1000),
        # nobody capped: proportional in round 1
        ([9000, 9000, 9000], [1000, 2000, 4000], 7000),
    ],
)
def test_water_filling_converges_within_rounds(
    want: list[float], weight: list[float], free: float
) -> None:
    got = water_fill(want, weight, free)
    exact = exact_water_filling(want, weight, free)
    assert np.all(got <= np.array(exact) + 1e-2)
    assert sum(exact) - float(got.sum()) <= WATER_TOL * free + 1.0
    np.testing.assert_allclose(got, exact, rtol=WATER_TOL, atol=1.0)


def test_water_filling_is_work_conserving_when_saturation_takes_more_rounds() -> None:
    # Free 8000m; weights BE 2, A 4000, B 1000, C 2000; wants 6000, 500, 3000, 2500.
    # Total want 12,000 > 8000, so all 8000 must be given. Exact: A, B, C get all they
    # want (500 + 3000 + 2500 = 6000) and the BestEffort pod the other 2000 (λ = 1000).
    # The 3 rounds:
    #   R1 λ = 8000/7002 = 1.1425: BE 2.3, A 500 (capped), B 1142.5, C 2285.1; left 4070.1
    #   R2 λ = 4070.1/3002 = 1.3558: BE 2.7, B 1355.8, C 214.9 (capped); left 2496.7
    #   R3 λ = 2496.7/1002 = 2.4917: BE 5.0, B 501.7 (capped); left 1990.0
    # BE ends with ≈10m and ≈1990m stay idle.
    want, weight, free = [6000, 500, 3000, 2500], [2, 4000, 1000, 2000], 8000.0
    exact = exact_water_filling(want, weight, free)
    np.testing.assert_allclose(exact, [2000, 500, 3000, 2500], atol=1e-3)
    got = water_fill(want, weight, free)
    assert ROUNDS == 3
    assert sum(exact) - float(got.sum()) <= WATER_TOL * free + 1.0, got


def test_cpu_on_kernels_gives_idle_cpu_to_besteffort() -> None:
    # Capacity 15000m; requests BE 0, A 4000, B 1000, C 2000 (guaranteed 7000, free 8000);
    # demands BE 6000, A 4500, B 4000, C 4500 → wants above request 6000, 500, 3000, 2500:
    # the case above. The kernel must end full: granted 15000, BE 2000, unmet only BE's 4000.
    shares = cpu_on_kernels(
        col(6000, 4500, 4000, 4500),
        col(0, 4000, 1000, 2000),
        col(INF, INF, INF, INF),
        col(15000),
        one_kernel(4),
    )
    assert float(shares.granted.sum()) == pytest.approx(15000, abs=1.0)
    close(shares.granted, [[2000], [4500], [4000], [4500]])


def test_share_by_weight_never_gives_more_than_free_or_want() -> None:
    rng = np.random.default_rng(7)
    want = rng.uniform(0, 3000, (12, 5)).astype(np.float32)
    weight = np.broadcast_to(col(*rng.choice([2, 250, 1000, 4000], 12)), want.shape)
    kernels = Kernels(np.array([0, 4, 9], np.int64), np.array([4, 5, 3], np.int64))
    free = rng.uniform(0, 6000, (3, 5)).astype(np.float32)
    given = share_by_weight(want, weight, free, kernels)
    assert np.all(given >= 0)
    assert np.all(given <= want + 1e-3)
    assert np.all(kernels.total(given) <= free + 1e-2)


# --------------------------------------------------------------------------------- memory


def test_a_pod_over_its_memory_limit_is_oom_killed_and_frees_its_memory() -> None:
    # Kernel of 4000 MiB. A: limit 1000, uses 1200 → OOM-killed. B uses 3500.
    # Without A, 3500 ≤ 4000: no node pressure, nobody evicted (with A it would be 4700).
    oom, evicted = evict_memory(
        memory=col(1200, 3500),
        request_mem=col(500, 3500),
        limit_mem=col(1000, INF),
        priority=np.zeros(2, np.int64),
        capacity=col(4000),
        kernels=one_kernel(2),
    )
    assert oom[:, 0].tolist() == [True, False]
    assert not evicted.any()


def test_at_the_limit_is_not_over_it() -> None:
    oom, evicted = evict_memory(
        col(1000), col(1000), col(1000), np.zeros(1, np.int64), col(4000), one_kernel(1)
    )
    assert not oom.any() and not evicted.any()


# Four pods on one kernel (MiB): BestEffort uses 3000; Burstable X requests 1000 uses 4000
# (3000 over); Burstable Y requests 2000 uses 2500 (500 over); Guaranteed G uses 4000.
# Total 13,500. The kubelet ranks pods over their requests first (BE, X, Y; BE and X are
# both 3000 over: canonical order), by priority (all 0 here), then by usage above request.
PRIO0 = np.zeros(4, np.int64)
USE4 = col(3000, 4000, 2500, 4000)
REQ4 = col(0, 1000, 2000, 4000)
LIM4 = col(INF, INF, INF, 4000)


@pytest.mark.parametrize(
    ("capacity", "expected"),
    [
        (14000, [False, False, False, False]),  # 13,500 fits
        (11000, [True, False, False, False]),  # - BE 3000 → 10,500 fits
        (10000, [True, True, False, False]),  # 10,500 > 10,000 → - X → 6,500
        (6000, [True, True, True, False]),  # 6,500 > 6,000 → - Y → 4,000 fits
        (3000, [True, True, True, True]),  # the pod within its request last, but it goes too
    ],
)
def test_node_pressure_evicts_in_kubelet_order_only_as_many_as_needed(
    capacity: float, expected: list[bool]
) -> None:
    oom, evicted = evict_memory(USE4, REQ4, LIM4, PRIO0, col(capacity), one_kernel(4))
    assert not oom.any()
    assert evicted[:, 0].tolist() == expected


def test_burstable_pods_are_evicted_by_usage_over_request_not_by_usage() -> None:
    # Capacity 5000. P uses 3000 with request 2900 (100 over); Q uses 2500 with request
    # 500 (2000 over). Total 5500: one must go, and it is Q (further over its request),
    # though P uses more.
    _, evicted = evict_memory(
        col(3000, 2500),
        col(2900, 500),
        col(INF, INF),
        np.zeros(2, np.int64),
        col(5000),
        one_kernel(2),
    )
    assert evicted[:, 0].tolist() == [False, True]


def test_a_burstable_pod_far_over_its_request_goes_before_a_besteffort_one_barely_over() -> None:
    # Issue 9 (8): BestEffort and over-request Burstable pods are one group, ranked by usage
    # above request — not BestEffort first. Capacity 4000: BE uses 100 (100 over its 0);
    # Burstable B requests 1000 uses 4000 (3000 over). 4100 > 4000: one goes, and it is B
    # (the old QoS story would have evicted the BestEffort pod and kept the node over).
    _, evicted = evict_memory(
        col(100, 4000), col(0, 1000), col(INF, INF), np.zeros(2, np.int64), col(4000),
        one_kernel(2),
    )  # fmt: skip
    assert evicted[:, 0].tolist() == [False, True]


def test_a_burstable_pod_within_its_request_ranks_with_guaranteed_ones() -> None:
    # Capacity 5000: Burstable W requests 3000 uses 2500 (within); Guaranteed G requests and
    # uses 2000; BestEffort E uses 1000. 5500 > 5000: E goes first (over its request) and
    # 4500 fits — W, though Burstable, is not touched.
    _, evicted = evict_memory(
        col(2500, 2000, 1000), col(3000, 2000, 0), col(INF, 2000, INF), np.zeros(3, np.int64),
        col(5000), one_kernel(3),
    )  # fmt: skip
    assert evicted[:, 0].tolist() == [False, False, True]


def test_lower_priority_goes_first_among_pods_over_their_requests() -> None:
    # Capacity 6000. A (priority 1000) is 3000 over its request; B (priority 0) only 500
    # over. 6500 > 6000: B goes, though A is further over — priority ranks before usage.
    _, evicted = evict_memory(
        col(4000, 2500), col(1000, 2000), col(INF, INF), np.array([1000, 0], np.int64),
        col(6000), one_kernel(2),
    )  # fmt: skip
    assert evicted[:, 0].tolist() == [False, True]


def test_eviction_per_kernel_and_step() -> None:
    # Kernel 0 (pods 0 BE, 1 Guaranteed) capacity 5000; kernel 1 (pod 2 BE) capacity 1000.
    # Step 0: 1000 + 3000 fits; pod 2 uses 500 fits. Step 1: 3000 + 3000 > 5000 → the BE
    # pod goes; pod 2 uses 1500 > 1000 → it goes (the only pod).
    _, evicted = evict_memory(
        rows([1000, 3000], [3000, 3000], [500, 1500]),
        col(0, 3000, 0),
        col(INF, 3000, INF),
        np.zeros(3, np.int64),
        col(5000, 1000),
        Kernels(np.array([0, 2], np.int64), np.array([2, 1], np.int64)),
    )
    assert evicted.tolist() == [[False, True], [False, False], [False, True]]
