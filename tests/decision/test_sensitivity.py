"""Sensitivity by hand: the weight where the verdict flips, and the tornado's flip points."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from decision_factories import make_evidence
from properties import examples
from underlay.decision.evidence import Evidence
from underlay.decision.results import TornadoBar
from underlay.decision.scorecard import score
from underlay.decision.sensitivity import margin, sensitivity, weight_ranges
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import FACTORS

EQUAL = dict.fromkeys(FACTORS, 1.0)


def two_way():  # type: ignore[no-untyped-def]
    # shared: cost score 100, isolation 100/3 (2 escapes a year); vm: cost 60, isolation 100,
    # performance 98; versions and sla tie at 100.
    return make_evidence(
        ["a", "b"],
        ["baremetal-shared", "vm"],
        cost=[[60, 100], [60, 100]],
        capex=[[60, 100], [60, 100]],
        exposure=[[2.0, 0.0], [2.0, 0.0]],
        throughput=[[1.0, 0.98], [1.0, 0.98]],
    )


def test_cost_weight_flip_by_hand() -> None:
    # vm wins at equal weights. vm − shared per factor: perf −2, iso +200/3, cost −40.
    # With w_cost = w: −2 + 200/3 − 40 w > 0  ⇔  w < (200/3 − 2) / 40 = 1.61667
    ranges = {r.factor: r for r in weight_ranges(two_way(), EQUAL)}
    cost = ranges["cost"]
    assert cost.low is None
    assert cost.high == pytest.approx((200 / 3 - 2) / 40)
    assert cost.flips_to == "baremetal-shared"
    # isolation: −2 − 40 + (200/3) w > 0  ⇔  w > 42 / (200/3) = 0.63
    iso = ranges["isolation"]
    assert iso.low == pytest.approx(42 / (200 / 3)) and iso.high is None
    # versions and sla tie: their weights cannot change the verdict
    assert ranges["versions"].low is None and ranges["versions"].high is None
    assert ranges["sla"].flips_to is None
    # just past the flip point the verdict changes, just before it does not
    e = two_way()
    assert score(e, {**EQUAL, "cost": cost.high - 1e-6}).verdict.winner == "vm"
    assert score(e, {**EQUAL, "cost": cost.high + 1e-6}).verdict.winner == "baremetal-shared"


def test_tornado_flip_of_the_container_escape_rate_by_hand() -> None:
    # Scaling the container escape rate by k scales shared's exposure 2 → 2k: isolation
    # 100 / (1 + 2k). vm leads by −2 + (100 − 100/(1+2k)) − 40 (sum of weighted diffs).
    # It flips when 100/(1+2k) = 100 − 42 = 58 → k = (100/58 − 1) / 2 = 0.36207
    e = two_way()
    d = load_defaults()
    sens = sensitivity(e, EQUAL, d)
    bars = {b.parameter: b for b in sens.tornado}
    rate = bars["container escape rate"]
    base = d.security.container_escapes_per_year
    assert rate.base == pytest.approx(base)
    assert rate.flip_low == pytest.approx(base * (100 / 58 - 1) / 2, rel=1e-6)
    assert rate.flip_high is None
    assert rate.winner_low == "vm" and rate.winner_high == "vm"
    # at half the rate: vm's lead = (−2 + 100 − 50 − 40) / 5 = 1.6 points
    assert rate.margin_low == pytest.approx((100 - 100 / 2 - 42) / 5)
    # hardware price: shared's cost 120 → 120k, vm's 200 → 200k: ratios unchanged, no flip
    hw = bars["hardware price"]
    assert hw.margin_low == pytest.approx(hw.margin_high)
    assert hw.flip_low is None and hw.flip_high is None
    # bars sorted by how much the margin moves
    spans = [b.span for b in sens.tornado]
    assert spans == sorted(spans, reverse=True)


def _grid(low: float, high: float) -> st.SearchStrategy[list[list[float]]]:
    """Tenants x substrates figures, 3 x 3."""
    return st.lists(st.lists(st.floats(low, high), min_size=3, max_size=3), min_size=3, max_size=3)


@settings(max_examples=examples(50), deadline=None)
@given(
    ws=st.lists(st.floats(0.0, 5.0), min_size=5, max_size=5),
    cost=_grid(1, 1000),
    exposure=_grid(0, 10),
    throughput=_grid(0.5, 1),
)
# Found by the random profile: vm leads on performance and trails by 2e-12 points on
# isolation (an exposure of 1e-12), so the isolation weight may reach 5e11; there the
# totals tie to the last bit and the tie goes to the first substrate — float precision,
# not a wrong range.
@example(
    ws=[0.0] * 5,
    cost=[[1.0] * 3] * 3,
    exposure=[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1e-12, 0.0]],
    throughput=[[1.0, 1.0, 1.0], [1.0, 1.0, 0.5], [0.5, 1.0, 1.0]],
)
def test_weight_ranges_bracket_the_flip(
    ws: list[float],
    cost: list[list[float]],
    exposure: list[list[float]],
    throughput: list[list[float]],
) -> None:
    if not any(ws):
        ws = [1.0] * 5
    weights = dict(zip(FACTORS, ws, strict=True))
    e = make_evidence(
        ["a", "b", "c"],
        ["baremetal-shared", "vm", "sandboxed"],
        cost=cost,
        exposure=exposure,
        throughput=throughput,
    )
    winner = score(e, weights).verdict.winner
    for r in weight_ranges(e, weights):
        for bound, step in ((r.low, -1e-4), (r.high, 1e-4)):
            if bound is None or bound + step < 0 or abs(bound - r.weight) < 1e-3:
                continue
            inside = score(e, {**weights, r.factor: bound - step})
            outside = score(e, {**weights, r.factor: bound + step})
            # Either side of the flip point, unless the totals tie there to float precision.
            if inside.verdict.margin > 1e-6:
                assert inside.verdict.winner == winner
            if outside.verdict.margin > 1e-6:  # not a three-way tie at the flip point
                assert outside.verdict.winner != winner


def test_margin_is_negative_once_flipped() -> None:
    e = two_way()
    m, best = margin(e, {**EQUAL, "cost": 3.0}, winner=1)
    assert m < 0 and best == 0


def test_only_substrates_placing_as_many_pods_can_overtake_the_winner() -> None:
    # vm leaves b's 10 pods unplaced (its cost there $0); shared places all 20, so it wins
    # whatever the weights: no range ends, no tornado bar, and the sensitivity says why.
    e = make_evidence(
        ["a", "b"],
        ["baremetal-shared", "vm"],
        cost=[[100, 50], [100, 0]],
        capex=[[100, 50], [100, 0]],
        placed=[[1, 1], [1, 0]],
        exposure=[[2.0, 0.0], [2.0, 0.0]],
    )
    sens = sensitivity(e, EQUAL, load_defaults())
    assert all(r.low is None and r.high is None and r.flips_to is None for r in sens.weights)
    assert sens.tornado == []
    assert sens.notes == [
        "the verdict rests on placement: no other substrate places as many pods as "
        "baremetal-shared, so no weight or default can flip it"
    ]
    assert margin(e, EQUAL, winner=0) == (float("inf"), 0)
    # a third substrate placing every pod is a rival: the margin is taken against it alone
    # (sandboxed, neutral everywhere but cost $300 a tenant: cost score 200/600 → 33.3;
    # shared: isolation 100/3. Totals: shared (400 + 100/3)/5, sandboxed (400 + 100/3)/5)
    three = make_evidence(
        ["a", "b"],
        ["baremetal-shared", "vm", "sandboxed"],
        cost=[[100, 50, 300], [100, 0, 300]],
        placed=[[1, 1, 1], [1, 0, 1]],
        exposure=[[2.0, 0.0, 0.0], [2.0, 0.0, 0.0]],
    )
    m, best = margin(three, EQUAL, winner=0)
    assert m == pytest.approx((400 + 100 / 3) / 5 - (400 + 100 / 3) / 5, abs=1e-9)
    assert best == 0  # a tie keeps the scenario's order


# ------------------------------------------------------------ the tornado's new bars

SV = ["baremetal-shared", "vm"]


def _bars(e: Evidence) -> dict[str, TornadoBar]:
    return {b.parameter: b for b in sensitivity(e, EQUAL, load_defaults()).tornado}


def test_hypervisor_host_reservation_flip_by_hand() -> None:
    # One tenant. shared: 1 escape a year (isolation 100 / 2 = 50), $120 a month. vm:
    # $100, all of it host-bound (capex, licences, host ops). vm's hosts: 10 × 64 cores
    # (640,000m), the hypervisor keeping 20 a host (200,000m), the VMs taking 330,000m;
    # memory far from binding (100,000 MiB of 10 × 256 GiB less 8 GiB a host).
    # Hosts needed at k × the reservation, over today's:
    #   ρ(k) = [330,000 / (640,000 − 200,000 k)] / [330,000 / 440,000]
    #        = 440,000 / (640,000 − 200,000 k)
    e = make_evidence(
        ["a"], SV, cost=[[120, 100]], host_bound=[[0, 100]], exposure=[[1.0, 0.0]],
        host_cpu=[0, 640_000], hypervisor_cpu=[0, 200_000], vm_cpu=[0, 330_000],
        host_mem=[0, 10 * 262_144], hypervisor_mem=[0, 10 * 8192], vm_mem=[0, 100_000],
    )  # fmt: skip
    bar = _bars(e)["hypervisor host reservation"]
    assert (bar.base, bar.unit) == (1.0, "× default")

    def rho(k: float) -> float:
        return 440_000 / (640_000 - 200_000 * k)

    # vm's cost 100 ρ. Below $120 vm scores 100 on cost and shared 100 · 100ρ / 120;
    # above, vm scores 100 · 120 / (100ρ). shared's total = (100 + 100 + 50 + 100 + cost)/5.
    def lead(k: float) -> float:
        c = 100 * rho(k)
        if c <= 120:
            return 100 - (350 + 100 * c / 120) / 5
        return (400 + 100 * 120 / c) / 5 - 90

    assert bar.margin_low == pytest.approx(lead(0.5))
    assert bar.margin_high == pytest.approx(lead(2.0))
    # it flips when 120 / ρ = 50 (vm's total = shared's 90): ρ = 2.4 →
    # 640,000 − 200,000 k = 440,000 / 2.4 → k = (640,000 − 183,333.3) / 200,000 = 2.2833
    assert bar.flip_high == pytest.approx((640_000 - 440_000 / 2.4) / 200_000, rel=1e-6)
    assert bar.flip_low is None and bar.winner_high == "vm"


def test_gpu_efficiency_loss_flip_by_hand() -> None:
    # One GPU tenant. shared: bare-metal GPUs, $150. vm: passthrough at 94 % (deficit 6 %),
    # $100. Scores: performance 100 / 94, cost 66.67 / 100 → totals 93.33 / 98.8.
    # At k × the loss vm's performance is 100 (1 − 0.06 k): its total 100 − 1.2 k.
    e = make_evidence(
        ["ml"], SV, cost=[[150, 100]], throughput=[[1.0, 0.94]], uses_gpu=[True],
        gpu_modes=["baremetal", "passthrough"], gpu_efficiency=[1.0, 0.94],
    )  # fmt: skip
    bar = _bars(e)["GPU efficiency loss (VM, sandbox)"]
    assert (bar.base, bar.unit) == (pytest.approx(6.0), "%")
    shared = (400 + 100 * 100 / 150) / 5
    assert bar.margin_low == pytest.approx(100 - 1.2 * 0.5 - shared)
    assert bar.margin_high == pytest.approx(100 - 1.2 * 2 - shared)
    # flips at 100 − 1.2 k = 93.33: k = (100 − 93.33) / 1.2 = 5.556, a loss of 33.3 %
    assert bar.flip_high == pytest.approx(6.0 * (100 - shared) / 1.2, rel=1e-6)
    # a tenant without GPUs is not touched: no bar
    cpu = make_evidence(["web"], SV, cost=[[150, 100]], throughput=[[1.0, 0.94]],
                        gpu_modes=["baremetal", "passthrough"], gpu_efficiency=[1.0, 0.94])  # fmt: skip
    assert "GPU efficiency loss (VM, sandbox)" not in _bars(cpu)


def test_hypervisor_cpu_overhead_flip_by_hand() -> None:
    # One CPU tenant. shared: nothing unmet, $130. vm (KVM, τ = 2 %): 10 % of CPU demand
    # unmet, $100. Scores: performance 100 / 90, cost 76.92 / 100 → totals 95.38 / 98.
    # At k τ, 1 − unmet = 0.9 (1 − 0.02 k) / 0.98: vm's performance 100 × that.
    d = load_defaults()
    tau = d.hypervisors["kvm"].cpu_overhead_percent / 100
    assert tau == 0.02
    e = make_evidence(["web"], SV, cost=[[130, 100]], unmet=[[0, 0.1]], cpu_tax=[[0, tau]])
    bar = _bars(e)["hypervisor CPU overhead"]
    assert (bar.base, bar.unit) == (2.0, "%")
    shared = (400 + 100 * 100 / 130) / 5

    def lead(k: float) -> float:
        return (400 + 100 * 0.9 * (1 - tau * k) / (1 - tau)) / 5 - shared

    assert lead(1.0) == pytest.approx(98 - shared)
    assert bar.margin_low == pytest.approx(lead(0.5))
    assert bar.margin_high == pytest.approx(lead(2.0))
    # flips when 90 (1 − 0.02 k) / 0.98 = 76.92: k = (1 − 76.92 × 0.98 / 90) / 0.02 = 8.12
    k = (1 - (100 * 100 / 130) * (1 - tau) / 90) / tau
    assert bar.flip_high == pytest.approx(2.0 * k, rel=1e-6)
    # a GPU tenant's performance is its GPUs': the CPU tax leaves it alone
    gpu = make_evidence(["ml"], SV, cost=[[130, 100]], unmet=[[0, 0.1]], cpu_tax=[[0, tau]],
                        uses_gpu=[True])  # fmt: skip
    bar = _bars(gpu)["hypervisor CPU overhead"]
    assert bar.margin_low == pytest.approx(bar.margin_high)


def test_host_bound_cost_is_what_more_hosts_would_cost() -> None:
    # On a sized fleet more hosts cost capex, licences and host operations; on an owned
    # inventory (paid for anyway) only their licences.
    from factories import make_scenario, make_tenant, make_workload
    from underlay.decision.evidence import gather
    from underlay.pipeline import Comparison, analyse, compare

    def evidence(**hardware: object) -> tuple[Evidence, Comparison]:
        sc = make_scenario(
            hardware=hardware, costs={"ops_per_host_month_usd": 50},
            tenants=[make_tenant("a", workloads=[make_workload(replicas=20, cpu="4")])],
            substrates=[{"kind": "vm", "hypervisor": "esxi"}],
        )  # fmt: skip
        c = compare(sc)
        return gather(c, None, analyse(c, None, sections=("cost",))), c

    sized, c = evidence()
    cost = analyse(c, None, sections=("cost",)).substrates[0].cost
    assert cost is not None
    parts = cost.tenants[0].per_month
    assert sized.host_bound[0, 0] == pytest.approx(parts.capex + parts.licences + parts.ops_hosts)
    # the VMs' footprint and ESXi's reservation on a 64-core / 256 GiB host: 60 + 12 × 63
    # = 816m; memory max(the tiers' 11.88 GiB → 12,166 MiB, its 12 GiB floor) = 12,288 MiB
    p = c.placements[0]
    assert sized.hypervisor_cpu[0] == pytest.approx(816 * len(p.hosts))
    assert sized.hypervisor_mem[0] == pytest.approx(12288 * len(p.hosts))
    assert sized.host_cpu[0] == pytest.approx(p.host_cpu.sum())
    owned, _ = evidence(inventory=[{"model": "std", "count": 10}])
    assert (
        owned.host_bound[0, 0] == pytest.approx(owned.licences[0, 0]) and owned.licences[0, 0] > 0
    )


@pytest.mark.parametrize(
    ("shared_cost", "flip"),
    [
        # vm − shared per factor: perf −2, isolation +200/3 (two_way), cost 100·c/100 − 100
        # (shared the cheaper, scored 100; vm scored 100·c/100). vm holds while
        # 200/3 − 2 − w·(100 − c) > 0, so its cost weight flips the verdict at
        # (200/3 − 2) / (100 − c): 646.7 for c = 99.9, within the weights allowed ...
        (99.9, (200 / 3 - 2) / 0.1),
        # ... and 6,466.7 for c = 99.99, above the largest weight (1,000): no flip.
        (99.99, None),
    ],
)
def test_a_flip_above_the_largest_weight_is_no_flip(shared_cost: float, flip: float | None) -> None:
    e = make_evidence(
        ["a"],
        ["baremetal-shared", "vm"],
        cost=[[shared_cost, 100]],
        capex=[[shared_cost, 100]],
        exposure=[[2.0, 0.0]],
        throughput=[[1.0, 0.98]],
    )
    cost = {r.factor: r for r in weight_ranges(e, EQUAL)}["cost"]
    if flip is None:
        assert cost.high is None and cost.flips_to is None
    else:
        assert cost.high == pytest.approx(flip, rel=1e-6)
        assert cost.flips_to == "baremetal-shared"
