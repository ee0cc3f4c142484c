"""Monthly host cost: amortised capex, linear power, per-core hypervisor licences."""

from __future__ import annotations

import numpy as np
import pytest

from factories import make_host_model, make_scenario
from underlay.analysis.cost import host_costs
from underlay.defaults.catalog import load_defaults


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
