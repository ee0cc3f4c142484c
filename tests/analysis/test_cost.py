"""Cost and energy: host costs (capex, power on the curve, licences), ops, attribution to
tenants, simulated vs allocated power, cost per SLA-met pod-hour; by hand and as properties."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from properties import examples
from underlay.analysis.capacity import analyse_capacity
from underlay.analysis.capacity_results import SubstrateCapacity
from underlay.analysis.cost import (
    analyse_cost,
    attribute,
    host_costs,
    licensed_cores,
    overall_shares,
    tenant_host_shares,
)
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement
from underlay.simulation.engine import simulate_substrate
from underlay.simulation.power import knot_weight_sums
from underlay.simulation.results import SubstrateSimulation

KINDS = ["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]


def _scenario() -> object:
    return make_scenario(
        hardware={
            "host_models": [
                # 128 threads, 2 sockets, SMT 2 → 64 physical cores, 32 a socket.
                make_host_model(
                    "big",
                    cores=128,
                    memory="1Ti",
                    price_usd=24_000,
                    power={"idle_watts": 220, "peak_watts": 780},
                ),
                # 16 threads → 8 physical cores, 4 a socket: licensed at the 16 minimum.
                make_host_model(
                    "small",
                    cores=16,
                    memory="64Gi",
                    price_usd=6_000,
                    lifetime_years=4,
                    power={"idle_watts": 100, "peak_watts": 300},
                ),
            ]
        }
    )


def test_capex_power_and_licences_by_hand() -> None:
    sc, d = _scenario(), load_defaults()
    costs = host_costs(sc, d, np.array([0, 1, 0]), np.array([0.0, 1.0, 0.5]), 135.0)  # type: ignore[arg-type]
    # Capex: 24000 / (5 × 12) = 400; 6000 / (4 × 12) = 125.
    assert costs.capex.tolist() == pytest.approx([400, 125, 400])
    # Power: idle + (peak - idle) × utilisation → 220 W, 300 W, 220 + 560 × 0.5 = 500 W.
    assert costs.watts.tolist() == pytest.approx([220, 300, 500])
    # × 730 h / 1000 × 0.12 $/kWh × 1.4 PUE = W × 0.12264 → 26.98, 36.79, 61.32.
    assert costs.power.tolist() == pytest.approx([220 * 0.12264, 300 * 0.12264, 500 * 0.12264])
    # Licences: big: max(32, 16) × 2 sockets = 64 cores × 135 / 12 = 720;
    # small: max(4, 16) × 2 = 32 cores × 135 / 12 = 360.
    assert costs.licences.tolist() == pytest.approx([720, 360, 720])
    assert costs.total.tolist() == pytest.approx(
        (costs.capex + costs.power + costs.licences).tolist()
    )


def test_utilisation_is_clipped() -> None:
    sc, d = _scenario(), load_defaults()
    costs = host_costs(sc, d, np.array([0, 0]), np.array([-1.0, 3.0]), 0.0)  # type: ignore[arg-type]
    assert costs.watts.tolist() == [220, 780]
    assert costs.licences.tolist() == [0, 0]


def test_esxi_licence_shows_in_the_vm_cost() -> None:
    from underlay.pipeline import compare

    base = make_scenario(substrates=[{"kind": "vm", "hypervisor": "kvm"}])
    esxi = make_scenario(substrates=[{"kind": "vm", "hypervisor": "esxi"}])
    free = compare(base).substrates[0]
    paid = compare(esxi).substrates[0]
    assert free.cost_licences == 0
    # 64-core std host: 32 physical cores, 16 a socket → 32 × 135 / 12 = 360 per host.
    assert paid.cost_licences == pytest.approx(360 * paid.hosts)


# ------------------------------------------------------------ analyse_cost, by hand


def _two_tenants(**extra: Any) -> Scenario:
    # a: dedicated control plane, b: hosted. 64-core hosts at $12,000 over 5 years = $200 a
    # month each; power 100 W idle → 400 W peak.
    return make_scenario(
        hardware={
            "host_models": [
                make_host_model(price_usd=12_000, power={"idle_watts": 100, "peak_watts": 400})
            ]
        },
        tenants=[
            make_tenant("a", workloads=[make_workload(replicas=40, cpu="1", memory="2Gi")]),
            make_tenant(
                "b",
                control_plane="hosted",
                workloads=[make_workload(replicas=10, cpu="2", memory="4Gi")],
            ),
        ],
        simulation={"horizon_hours": 2, "step_minutes": 15},
        **extra,
    )


def _run(
    sc: Scenario, kind: str, *, simulate: bool = False
) -> tuple[SubstratePlacement, SubstrateCapacity, SubstrateSimulation | None]:
    d = load_defaults()
    p = place(sc, kind, d)
    return p, analyse_capacity(sc, d, p), simulate_substrate(sc, d, p) if simulate else None


def test_without_simulation_cost_matches_the_static_comparison() -> None:
    # Same capex + power + licences and the same split among tenants as analyse_capacity
    # (which attributes with its own copy of the rule until it calls tenant_host_shares).
    sc = _two_tenants(substrates=[{"kind": k} for k in KINDS[:2]] + [{"kind": "vm", "hypervisor": "esxi"}, {"kind": "sandboxed"}])  # fmt: skip
    for kind in KINDS:
        p, static, _ = _run(sc, kind)
        cost = analyse_cost(sc, load_defaults(), p, static)
        assert cost.power_basis == "allocated"
        month = cost.per_month
        assert month.capex + month.power + month.licences == pytest.approx(
            static.cost_per_month_usd
        )
        assert month.capex == pytest.approx(200 * static.hosts)
        assert cost.watts == pytest.approx(static.watts)
        for mine, theirs in zip(cost.tenants, static.tenants, strict=True):
            parts = mine.per_month
            assert parts.capex + parts.power + parts.licences == pytest.approx(
                theirs.cost_per_month_usd
            )
            assert mine.cost_per_sla_met_pod_hour_usd is None
            assert mine.sla_met_pod_hours is None


def test_energy_at_known_simulated_utilisation() -> None:
    sc = _two_tenants(substrates=[{"kind": "baremetal-shared"}])
    p, static, sim = _run(sc, "baremetal-shared", simulate=True)
    assert sim is not None
    n = len(p.hosts)
    # Every host at 35 % for 3 steps of 4 and at 100 % for 1: mean weights put 3 × 0.5 / 4
    # on the 30 % and 40 % knots, 1/4 on the 100 % knot.
    util = np.tile([0.35, 0.35, 0.35, 1.0], (n, 1))
    sim = replace(sim, host_power_weights=knot_weight_sums(util) / 4)
    cost = analyse_cost(sc, load_defaults(), p, static, sim)
    assert cost.power_basis == "simulated"
    # Line 100 → 400 W: 35 % = 205 W, 100 % = 400 W; mean (3 × 205 + 400) / 4 = 253.75 W.
    assert cost.host_watts.tolist() == pytest.approx([253.75] * n)
    assert cost.utilisation_mean == pytest.approx((3 * 0.35 + 1) / 4)
    # kWh a month with PUE: 253.75 W × 730 h / 1000 × 1.4 = 259.3325 per host.
    assert cost.energy_kwh_per_month == pytest.approx(259.3325 * n)
    assert cost.per_month.power == pytest.approx(259.3325 * 0.12 * n)
    # Over the 2-hour horizon: 253.75 W × 2 h / 1000 × 1.4 = 0.7105 kWh per host.
    assert cost.horizon_hours == 2
    assert cost.energy_kwh_horizon == pytest.approx(0.7105 * n)
    assert sum(t.energy_kwh_per_month for t in cost.tenants) == pytest.approx(
        cost.energy_kwh_per_month
    )


def test_licences_count_at_least_16_cores_a_cpu() -> None:
    sc = make_scenario(
        hardware={
            "host_models": [
                make_host_model("small", cores=16),  # 8 physical, 4 a socket → 2 × 16 = 32
                make_host_model("big", cores=128),  # 64 physical, 32 a socket → 64
                make_host_model("odd", cores=66),  # 33 physical over 2 sockets → 33
                make_host_model("one", cores=8, sockets=1),  # 4 physical, 1 socket → 16
            ]
        }
    )
    d = load_defaults()
    assert licensed_cores(sc, d, np.array([0, 1, 2, 3])).tolist() == [32, 64, 33, 16]
    # Through analyse_cost: ESXi at $135 a core-year on 16-core hosts: 32 × 135 / 12 =
    # $360 a host a month; KVM is free and counts no licensed cores.
    small = make_scenario(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")]},
        substrates=[{"kind": "vm", "hypervisor": "esxi", "name": "esxi"}, {"kind": "vm"}],
    )
    for label, per_host, cores in (("esxi", 360.0, 32), ("vm", 0.0, 0)):
        p, static, _ = _run(small, label)
        cost = analyse_cost(small, d, p, static)
        assert cost.per_month.licences == pytest.approx(per_host * cost.hosts)
        assert cost.licensed_cores == cores * cost.hosts


def test_ops_per_host_and_per_cluster() -> None:
    sc = _two_tenants(costs={"ops_per_host_month_usd": 50, "ops_per_cluster_month_usd": 1000})
    d = load_defaults()
    # Dedicated bare metal and VMs run a's cluster, b's cluster and the pool of hosted
    # control planes: 3 clusters. The shared cluster is one.
    for kind, clusters in (("baremetal-dedicated", 3), ("vm", 3), ("baremetal-shared", 1)):
        p, static, _ = _run(sc, kind)
        cost = analyse_cost(sc, d, p, static)
        assert cost.clusters_operated == clusters
        assert cost.per_month.ops_clusters == 1000 * clusters
        assert cost.per_month.ops_hosts == 50 * cost.hosts
        shares = overall_shares(tenant_host_shares(sc, p))
        a, b = (t.per_month.ops_clusters for t in cost.tenants)
        if clusters == 3:  # own cluster each, the pool by overall share
            assert (a, b) == pytest.approx((1000 + 1000 * shares[0], 1000 + 1000 * shares[1]))
        else:  # the shared cluster by overall share
            assert (a, b) == pytest.approx((1000 * shares[0], 1000 * shares[1]))


def test_cost_per_sla_met_pod_hour() -> None:
    # No power (0 W), no licences, no ops: each host costs its capex, $200 a month.
    sc = make_scenario(
        hardware={
            "host_models": [
                make_host_model(price_usd=12_000, power={"idle_watts": 0, "peak_watts": 0})
            ]
        },
        tenants=[make_tenant("t", workloads=[make_workload(replicas=10, cpu="1")])],
        substrates=[{"kind": "baremetal-dedicated"}],
        simulation={"horizon_hours": 2, "step_minutes": 15},
    )
    p, static, sim = _run(sc, "baremetal-dedicated", simulate=True)
    assert sim is not None
    hosts = len(p.hosts)  # 3 control-plane hosts + 1 worker
    sim = replace(sim, tenants=[replace(sim.tenants[0], sla_attainment_percent=80.0)])
    (t,) = analyse_cost(sc, load_defaults(), p, static, sim).tenants
    # Over 2 h the tenant costs 200 × hosts × 2 / 730; SLA-met pod-hours 10 × 2 × 0.8 = 16.
    assert t.horizon_usd == pytest.approx(200 * hosts * 2 / 730)
    assert t.sla_met_pod_hours == pytest.approx(16)
    assert t.cost_per_sla_met_pod_hour_usd == pytest.approx(200 * hosts * 2 / 730 / 16)
    # No step met the SLA: no SLA-met pod-hour to divide by.
    never = replace(sim, tenants=[replace(sim.tenants[0], sla_attainment_percent=0.0)])
    (t0,) = analyse_cost(sc, load_defaults(), p, static, never).tenants
    assert t0.sla_met_pod_hours == 0 and t0.cost_per_sla_met_pod_hour_usd is None


def test_simulation_without_weights_falls_back_to_allocated() -> None:
    sc = _two_tenants(substrates=[{"kind": "baremetal-shared"}])
    p, static, sim = _run(sc, "baremetal-shared", simulate=True)
    assert sim is not None
    bare = replace(sim, host_power_weights=np.zeros((0, 11)))
    cost = analyse_cost(sc, load_defaults(), p, static, bare)
    assert cost.power_basis == "allocated" and cost.notes
    assert cost.per_month.power == pytest.approx(static.cost_power)
    assert all(t.cost_per_sla_met_pod_hour_usd is not None for t in cost.tenants)


def test_mismatched_results_are_refused() -> None:
    sc = _two_tenants(substrates=[{"kind": "baremetal-shared"}, {"kind": "vm"}])
    p, static, sim = _run(sc, "baremetal-shared", simulate=True)
    assert sim is not None
    p_vm, static_vm, _ = _run(sc, "vm")
    d = load_defaults()
    with pytest.raises(ValueError, match="static result is of substrate 'vm'"):
        analyse_cost(sc, d, p, static_vm)
    with pytest.raises(ValueError, match="simulation result is of substrate 'baremetal-shared'"):
        analyse_cost(sc, d, p_vm, static_vm, sim)
    with pytest.raises(ValueError, match=r"host_power_weights has shape \(2, 11\)"):
        analyse_cost(sc, d, p, static, replace(sim, host_power_weights=np.zeros((2, 11))))


# ---------------------------------------------------------------- properties


@settings(max_examples=examples(300), deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda t: st.tuples(
            st.lists(
                st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0]), min_size=t, max_size=t),
                min_size=1,
                max_size=8,
            ),
            st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=8),
        )
    )
)
def test_attribution_adds_up(case: tuple[list[list[float]], list[float]]) -> None:
    cols, values = case
    shares = np.array(cols).T  # tenants × hosts
    per_host = np.resize(np.array(values), shares.shape[1])
    out = attribute(shares, per_host)
    assert (out >= 0).all()
    assert out.sum() == pytest.approx(per_host.sum())
    both = attribute(shares, np.stack([per_host, 2 * per_host], axis=1))
    assert both[:, 1] == pytest.approx(2 * out)


tenant_specs = st.lists(
    st.tuples(
        st.integers(1, 30),  # replicas
        st.sampled_from(["250m", "1", "3"]),
        st.sampled_from(["dedicated", "hosted"]),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=examples(50), deadline=None)
@given(
    tenant_specs,
    st.sampled_from(KINDS),
    st.floats(0, 200),
    st.floats(0, 5000),
    st.lists(st.floats(0, 40), min_size=11, max_size=11),
    st.lists(st.floats(0, 600), min_size=11, max_size=11),
)
def test_cost_and_energy_add_up_and_a_higher_curve_costs_more(
    specs: list[tuple[int, str, str]], kind: str, per_host: float, per_cluster: float,
    steps: list[float], other: list[float],
) -> None:  # fmt: skip
    points = list(np.cumsum(steps) + 50)
    # Any curve at least as high at every knot, still non-decreasing.
    above = list(np.maximum.accumulate(np.maximum(points, other)))
    tenants = [
        make_tenant(
            f"t{i}",
            control_plane=cp,
            workloads=[
                make_workload(
                    replicas=r,
                    cpu=cpu,
                    usage={"model": "diurnal", "cpu": 0.7, "amplitude": 0.5, "noise": 0.3},
                )
            ],
        )
        for i, (r, cpu, cp) in enumerate(specs)
    ]

    def scenario(curve: list[float]) -> Scenario:
        return make_scenario(
            hardware={
                "host_models": [make_host_model(cores=16, memory="64Gi", power={"points": curve})]
            },
            tenants=tenants,
            substrates=[{"kind": kind, "hypervisor": "esxi"} if kind == "vm" else {"kind": kind}],
            simulation={"horizon_hours": 1, "step_minutes": 15},
            costs={"ops_per_host_month_usd": per_host, "ops_per_cluster_month_usd": per_cluster},
        )

    sc, d = scenario(points), load_defaults()
    p, static, sim = _run(sc, kind, simulate=True)
    higher = scenario(above)
    for s in (None, sim):
        cost = analyse_cost(sc, d, p, static, s)
        for name in ("capex", "power", "licences", "ops_hosts", "ops_clusters"):
            whole = getattr(cost.per_month, name)
            assert whole >= 0
            parts = [getattr(t.per_month, name) for t in cost.tenants]
            assert min(parts) >= -1e-9
            assert sum(parts) == pytest.approx(whole, abs=1e-6)
        assert cost.energy_kwh_per_month >= 0 and cost.energy_kwh_horizon >= 0
        assert sum(t.energy_kwh_per_month for t in cost.tenants) == pytest.approx(
            cost.energy_kwh_per_month
        )
        assert sum(t.horizon_usd for t in cost.tenants) == pytest.approx(cost.horizon.total)
        for t in cost.tenants:
            per_met = t.cost_per_sla_met_pod_hour_usd
            assert per_met is None or per_met >= 0
        # The same placement and usage on a curve at least as high at every knot.
        more = analyse_cost(higher, d, p, static, s)
        assert more.per_month.power >= cost.per_month.power
        assert more.energy_kwh_per_month >= cost.energy_kwh_per_month
        assert more.per_month.total >= cost.per_month.total


def test_owned_hosts_left_idle_are_paid_for_powered_off() -> None:
    # Issue 9, defect 12. 12 owned hosts at $12,000 over 5 years ($200 a month each), $50 a
    # month of operations each, ESXi at $135 a core-year, 100 → 400 W. The tenants take
    # some of them; the rest stay in the rack, paid for, powered off and unlicensed.
    from underlay.model.scenario import InventoryEntry

    sized = _two_tenants(
        substrates=[{"kind": "baremetal-dedicated"}, {"kind": "vm", "hypervisor": "esxi"}],
        costs={"ops_per_host_month_usd": 50},
    )
    owned = [InventoryEntry(model="std", count=12)]
    sc = sized.model_copy(
        update={"hardware": sized.hardware.model_copy(update={"inventory": owned})}
    )
    d = load_defaults()
    for kind in ("baremetal-dedicated", "vm"):
        p, static, _ = _run(sc, kind)
        opened = len(p.hosts)
        assert 0 < opened < 12, "the case needs idle hosts"
        cost = analyse_cost(sc, d, p, static)
        assert cost.hosts == static.hosts == opened
        assert cost.idle_hosts == static.hosts_idle == 12 - opened
        # capex and host operations for all 12 hosts: 12 × 200, 12 × 50
        assert cost.per_month.capex == pytest.approx(12 * 200)
        assert cost.per_month.ops_hosts == pytest.approx(12 * 50)
        # power and licences only for the hosts opened: licences 32 physical cores × $135
        # / 12 = $360 a host (vm); power not below each opened host's 100 W idle draw
        licence = 360.0 if kind == "vm" else 0.0
        assert cost.per_month.licences == pytest.approx(licence * opened)
        assert cost.host_watts.shape == (opened,) and cost.watts >= 100 * opened
        # the static comparison pays the same capex; tenants' shares still add up
        assert static.cost_capex == pytest.approx(12 * 200)
        assert sum(t.cost_per_month_usd for t in static.tenants) == pytest.approx(
            static.cost_per_month_usd
        )
        assert sum(t.per_month.total for t in cost.tenants) == pytest.approx(cost.per_month.total)
        # against the same hosts bought (none idle): power, licences and energy unchanged,
        # the idle hosts' $250 a month each go to the tenants by their overall share
        shares = overall_shares(tenant_host_shares(sc, p))
        idle = 12 - opened
        busy = analyse_cost(sized, d, p, static)
        assert busy.idle_hosts == 0 and busy.per_month.capex == pytest.approx(200 * opened)
        assert (cost.per_month.power, cost.per_month.licences, cost.energy_kwh_per_month) == (
            busy.per_month.power,
            busy.per_month.licences,
            busy.energy_kwh_per_month,
        )
        for t, (mine, before) in enumerate(zip(cost.tenants, busy.tenants, strict=True)):
            assert mine.per_month.capex - before.per_month.capex == pytest.approx(
                shares[t] * idle * 200
            )
            assert mine.per_month.ops_hosts - before.per_month.ops_hosts == pytest.approx(
                shares[t] * idle * 50
            )


def test_a_sized_fleet_has_no_idle_hosts() -> None:
    sc = _two_tenants(substrates=[{"kind": "baremetal-shared"}])
    p, static, _ = _run(sc, "baremetal-shared")
    cost = analyse_cost(sc, load_defaults(), p, static)
    assert cost.idle_hosts == static.hosts_idle == 0
    assert cost.per_month.capex == pytest.approx(200 * cost.hosts)


def test_cost_of_bare_metal_work_counts_the_cpu_tax_once() -> None:
    # Issue 9, defect 11. On KVM the pods' CPU tax (the profile's cpu_overhead_percent, τ)
    # is simulated as extra demand (1 / (1 − τ) as much CPU for the same work): the cost
    # for bare-metal work is then the total itself. Without a simulation nothing counted
    # the tax, so the total is divided by 1 − τ, once.
    sc = _two_tenants(substrates=[{"kind": "vm", "hypervisor": "kvm"}])
    d = load_defaults()
    tax = d.hypervisors["kvm"].cpu_overhead_percent / 100
    assert tax > 0
    p, static, sim = _run(sc, "vm", simulate=True)
    simulated = analyse_cost(sc, d, p, static, sim)
    assert simulated.work_throughput == 1.0
    assert simulated.cost_per_baremetal_work_usd == pytest.approx(simulated.per_month.total)
    static_only = analyse_cost(sc, d, p, static)
    assert static_only.work_throughput == pytest.approx(1 - tax)
    assert static_only.cost_per_baremetal_work_usd == pytest.approx(
        static_only.per_month.total / (1 - tax)
    )


def test_cost_of_bare_metal_work_divides_by_the_gpu_mode_efficiency() -> None:
    # GPUs are not simulated: a passthrough GPU's efficiency e divides the total, with a
    # simulation or without (and the CPU tax is not multiplied in).
    sc = make_scenario(
        hardware={"host_models": [make_host_model(cores=64, memory="512Gi",
                                                  gpus={"model": "A100", "count": 4})]},
        tenants=[make_tenant("ml", workloads=[make_workload(
            "train", replicas=2, cpu="8", memory="32Gi", **{"class": "gpu-training"},
            gpu={"count": 1, "models": ["A100"]})])],
        substrates=[{"kind": "vm", "hypervisor": "kvm", "gpu_mode": "passthrough"}],
        simulation={"horizon_hours": 2, "step_minutes": 15},
    )  # fmt: skip
    d = load_defaults()
    e = d.hypervisors["kvm"].gpu_passthrough_efficiency
    assert 0 < e < 1
    p, static, sim = _run(sc, "vm", simulate=True)
    assert static.allocated.gpu_milli > 0
    for cost in (analyse_cost(sc, d, p, static, sim), analyse_cost(sc, d, p, static)):
        assert cost.work_throughput == pytest.approx(e)
        assert cost.cost_per_baremetal_work_usd == pytest.approx(cost.per_month.total / e)
