"""Power from a utilisation curve: interpolation weights, SPECpower-style knots, and the
per-host weights the simulation accumulates (mean draw = weights @ knots, exactly)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from properties import examples
from underlay.analysis.cost import host_costs
from underlay.defaults.catalog import load_defaults
from underlay.placement.result import WORKER
from underlay.simulation.engine import simulate_substrate
from underlay.simulation.power import (
    UTILISATION_AT_KNOTS,
    host_knots,
    knot_weight_sums,
    knot_weights,
    watts,
)

# A SPECpower-style curve: watts at 0, 10, ..., 100 %.
POINTS = [100, 120, 135, 150, 170, 190, 215, 240, 270, 300, 330]


def _curve_scenario(**power: Any) -> Any:
    return make_scenario(
        hardware={
            "host_models": [
                make_host_model("spec", power={"idle_watts": 100, "peak_watts": 330, **power}),
                make_host_model("line", power={"idle_watts": 200, "peak_watts": 500}),
            ]
        }
    )


def test_weights_by_hand() -> None:
    w = knot_weights(np.array([0.0, 0.35, 1.0, 1.5, -0.2, 0.05, 0.9]))
    expected = np.zeros((7, 11))
    expected[0, 0] = 1  # 0 %: the idle knot
    expected[1, 3] = expected[1, 4] = 0.5  # 35 %: halfway between 30 % and 40 %
    expected[2, 10] = 1  # 100 %: the peak knot
    expected[3, 10] = 1  # over 100 % counts as 100 %
    expected[4, 0] = 1  # below 0 counts as 0
    expected[5, 0] = expected[5, 1] = 0.5  # 5 %
    expected[6, 9] = 1  # 90 %: exactly a knot
    assert w == pytest.approx(expected)


def test_watts_at_35_percent_interpolate_the_points() -> None:
    sc, d = _curve_scenario(points=POINTS), load_defaults()
    costs = host_costs(sc, d, np.array([0, 0, 1]), np.array([0.35, 0.0, 0.35]), 0.0)
    # spec at 35 %: 150 W at 30 %, 170 W at 40 % → 150 + 0.5 × 20 = 160 W; at 0 %: 100 W.
    # line at 35 %: 200 + 0.35 × 300 = 305 W (the straight line, no points).
    assert costs.watts.tolist() == pytest.approx([160, 100, 305])
    # Energy a month: W × 730 h / 1000 × 1.4 PUE; cost × 0.12 $/kWh.
    assert costs.energy_kwh.tolist() == pytest.approx([160 * 1.022, 100 * 1.022, 305 * 1.022])
    assert costs.power.tolist() == pytest.approx([160 * 0.12264, 100 * 0.12264, 305 * 0.12264])


def test_without_points_the_curve_is_the_straight_line() -> None:
    sc = _curve_scenario()
    u = np.linspace(-0.1, 1.1, 121)
    knots = host_knots(sc, np.zeros(len(u), np.int64))
    assert watts(knots, knot_weights(u)) == pytest.approx(100 + 230 * np.clip(u, 0, 1))


def test_a_host_at_known_utilisation_steps() -> None:
    # One host at 35 %, 35 %, 100 %, 0 % over four steps; another idle throughout.
    util = np.array([[0.35, 0.35, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    mean_w = knot_weight_sums(util) / 4
    # knot 0: 1/4 (the 0 % step); knots 3 and 4: 2 × 0.5 / 4 = 1/4 each; knot 10: 1/4.
    assert mean_w[0][[0, 3, 4, 10]] == pytest.approx([0.25, 0.25, 0.25, 0.25])
    assert mean_w[1][0] == 1
    knots = host_knots(_curve_scenario(points=POINTS), np.array([0, 0]))
    # Mean draw: (160 + 160 + 330 + 100) / 4 = 187.5 W; the idle host 100 W.
    assert watts(knots, mean_w) == pytest.approx([187.5, 100])


def test_simulated_weights_match_a_constant_load() -> None:
    # One tenant, hosted control plane: its pods sit on one worker host, using exactly
    # their request (constant usage, cpu 1.0); on every host the node's own software runs
    # too (the kubelet and runtime, the DaemonSets at their share of requests).
    work = make_workload(replicas=6, cpu="4", memory="4Gi", usage={"model": "constant", "cpu": 1.0})
    sc = make_scenario(
        hardware={"host_models": [make_host_model(cores=64)]},
        tenants=[make_tenant("t", control_plane="hosted", workloads=[work])],
        substrates=[{"kind": "baremetal-dedicated"}],
        simulation={"horizon_hours": 1, "step_minutes": 15},
    )
    d = load_defaults()
    p = place(sc, "baremetal-dedicated", d)
    sim = simulate_substrate(sc, d, p)
    assert sim.host_power_weights.shape == (len(p.hosts), 11)
    (node,) = np.unique(np.concatenate(p.pod_nodes))
    host = int(p.nodes.host[node])
    # Utilisation = (6 × 4000m granted + the node's own 100m + 45 % of its DaemonSets'
    # 400m) ÷ the host's 64,000m = 24,280 / 64,000 = 0.379; every other host runs only
    # its node software: 280 / 64,000.
    node_software = (
        d.node_daemons.kubelet_runtime_cpu_milli + d.node_daemons.system_pods_cpu_use * 400
    )
    assert node_software == 280
    util = (24_000 + 280) / 64_000
    assert sim.host_power_weights[host] == pytest.approx(knot_weights(np.array([util]))[0])
    others = np.flatnonzero(np.arange(len(p.hosts)) != host)
    idle = knot_weights(np.full(len(others), 280 / 64_000))
    assert sim.host_power_weights[others] == pytest.approx(idle)
    assert int(p.nodes.role[node]) == WORKER


def test_simulated_weights_keep_the_mean_utilisation() -> None:
    noisy = {"model": "diurnal", "cpu": 0.6, "amplitude": 0.4, "noise": 0.3, "burst_probability": 0.05, "burst_factor": 3}  # fmt: skip
    sc = make_scenario(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")]},
        tenants=[
            make_tenant("a", workloads=[make_workload(replicas=12, cpu="1", usage=noisy)]),
            make_tenant("b", workloads=[make_workload(replicas=8, cpu="2", usage=noisy)]),
        ],
        simulation={"horizon_hours": 6, "step_minutes": 10},
    )
    d = load_defaults()
    for kind in ("baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"):
        p = place(sc, kind, d)
        sim = simulate_substrate(sc, d, p)
        w = sim.host_power_weights
        assert w.shape == (len(p.hosts), 11)
        assert (w >= 0).all()
        assert w.sum(axis=1) == pytest.approx(np.ones(len(p.hosts)))
        # Σ_k w_k · k/10 is the mean clipped utilisation; the engine's own per-step mean
        # over hosts, averaged over steps, is the same number (utilisation never tops 1).
        assert (w @ UTILISATION_AT_KNOTS).mean() == pytest.approx(
            sim.host_utilisation_mean.mean(), rel=1e-5, abs=1e-7
        )


# ---------------------------------------------------------------- properties

utilisations = st.lists(
    st.floats(-0.5, 1.5, allow_nan=False, width=32), min_size=1, max_size=40
).map(np.array)


@st.composite
def curves(draw: st.DrawFn) -> list[float]:
    """Non-decreasing watts at the 11 knots (as the scenario model requires)."""
    steps = draw(st.lists(st.floats(0, 200, allow_nan=False), min_size=11, max_size=11))
    return list(np.cumsum(steps))


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(utilisations, min_size=1, max_size=6).map(
    lambda rows: np.array([np.resize(r, 12) for r in rows])
))  # fmt: skip
def test_weight_sums_are_interpolation_weights(util: np.ndarray) -> None:
    sums = knot_weight_sums(util)
    assert (sums >= -1e-12).all()
    assert sums.sum(axis=1) == pytest.approx(np.full(len(util), util.shape[1]))
    clipped = np.clip(util.astype(np.float64), 0, 1).sum(axis=1)
    assert sums @ UTILISATION_AT_KNOTS == pytest.approx(clipped, abs=1e-9)


@settings(max_examples=examples(200), deadline=None)
@given(curves(), curves(), utilisations)
def test_a_higher_curve_never_draws_less(a: list[float], extra: list[float], u: np.ndarray) -> None:
    low = np.array([a])
    high = low + np.array([extra])  # at least as high at every knot
    w = knot_weights(u)
    w_low = watts(np.repeat(low, len(u), axis=0), w)
    w_high = watts(np.repeat(high, len(u), axis=0), w)
    assert (w_low >= -1e-9).all()
    assert (w_high >= w_low - 1e-9).all()
    # And more utilisation never draws less on a non-decreasing curve.
    order = np.argsort(np.clip(u, 0, 1), kind="stable")
    assert (np.diff(w_low[order]) >= -1e-6).all()
