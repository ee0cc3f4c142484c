"""The lean replay kernel gives the same figures as the kernel before it (issue 15, 4a).

``benchmarks/replay_baseline`` is a frozen copy of the replay kernel as it was before it
was made leaner (fewer passes over the arrays, rows that cannot change skipped); both
replay the same placements here and every figure of the ``SubstrateSimulation`` — every
tenant's every figure, SLATAH, utilisation over time, the interference matrix, the power
weights — must agree within float32 rounding (``ROUNDING``, relative, as
``replay_baseline/compare.py`` measures it). The first lean kernel only skipped work whose
result is known (x + 0 is x, x · 1 is x) and was equal bit for bit; the one after it sums
in other orders (blocks sized to the cache, a product in place of a sum), so the last
bits of a float32 sum may move, and nothing more.

Cases: the reference oracle's small case on its seven substrates (contention, CPU-ready,
OOM kills, evictions, a sandbox's vCPU cap, GPUs, unplaced pods), once with the usual
blocks and once cut into blocks of a few pods (many blocks per chunk); and a trace whose
memory crosses its limit on some steps only (kills that vary from step to step).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.defaults.catalog import Defaults, load_defaults
from underlay.model.loading import load_scenario
from underlay.model.scenario import Scenario
from underlay.pipeline import place
from underlay.simulation import blocks
from underlay.simulation.engine import simulate_substrate

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from replay_baseline import engine as old_engine  # noqa: E402
from replay_baseline.compare import differences  # noqa: E402


def _load_benchmark() -> Any:
    spec = importlib.util.spec_from_file_location(
        "underlay_bench_simulate_lean", BENCHMARKS / "simulate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_case() -> tuple[Scenario, Defaults]:
    bench = _load_benchmark()
    data = bench.small_case(100, 30, 4, 1, hours=8, host_cores=8, vm_overcommit=3.0)
    scenario = Scenario.model_validate(data)
    return scenario, load_defaults(scenario.overrides)


# float32 keeps 24 bits (6e-8 relative a rounding); sums of a few thousand of them in
# another order move by far less than this: 1e-4 is the rounding of the figures printed.
ROUNDING = 1e-4


def _same(scenario: Scenario, defaults: Defaults, label: str) -> None:
    placement = place(scenario, defaults, label)
    old = old_engine.simulate_substrate(scenario, defaults, placement)
    new = simulate_substrate(scenario, defaults, placement)
    assert differences(old, new, rtol=ROUNDING) == [], label
    # Not equal on zeros: the case has work in it.
    assert sum(t.demand_core_hours for t in new.tenants) > 0


LABELS = ("baremetal-dedicated", "baremetal-shared", "vm", "vm-passthrough", "vm-vgpu-mig",
          "kata", "gvisor")  # fmt: skip


@pytest.mark.parametrize("label", LABELS)
def test_same_figures_as_the_previous_kernel(
    small_case: tuple[Scenario, Defaults], label: str
) -> None:
    _same(*small_case, label)


@pytest.mark.parametrize("label", ("baremetal-shared", "vm", "kata"))
def test_same_figures_in_many_small_blocks(
    small_case: tuple[Scenario, Defaults], label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks of whole hosts of about 8 pods: both kernels cut them with the one blocks
    # module (the baseline keeps no copy of its own).
    monkeypatch.setattr(blocks, "BLOCK_PODS", 8)
    _same(*small_case, label)


def test_the_small_case_exercises_the_skipped_paths(small_case: tuple[Scenario, Defaults]) -> None:
    # Equality means something only where the lean kernel skips work: CPU-ready on some
    # VMs only, kills, throttling of limited pods next to unlimited ones.
    scenario, defaults = small_case
    sim = simulate_substrate(scenario, defaults, place(scenario, defaults, "vm"))
    assert sum(t.cpu_ready_core_hours for t in sim.tenants) > 0
    assert sum(t.oom_kills for t in sim.tenants) > 0
    assert sum(t.throttled_core_hours for t in sim.tenants) > 0


TRACE = """series,time_s,cpu_cores,memory_mib
a,0,1,100
a,300,3,300
a,600,2,200
b,0,0.5,64
b,600,1.5,64
"""


def test_same_figures_with_kills_that_vary_by_step(tmp_path: Path) -> None:
    # Series a uses 250 MiB on average one step in three (the 5-minute mean of 300 → 200),
    # over its 220 MiB limit: killed that step
    # only (memory varies, so the kill flags are per step, not one column).
    (tmp_path / "usage.csv").write_text(TRACE, encoding="utf-8")
    traced = make_workload(
        "traced",
        replicas=4,
        cpu="1",
        memory="128Mi",
        limits={"cpu": "2", "memory": "220Mi"},
        usage={"model": "trace", "trace": "usage.csv", "series": ["a", "b"]},
    )
    busy = make_workload("busy", replicas=6, cpu="1", memory="1Gi", usage={"cpu": 3.0})
    data = scenario_dict(
        hardware={"host_models": [make_host_model(cores=4, memory="16Gi")]},
        tenants=[make_tenant("t0", workloads=[traced]), make_tenant("t1", workloads=[busy])],
        substrates=[{"kind": "baremetal-shared"}, {"kind": "vm", "cpu_overcommit": 2.0}],
        simulation={"horizon_hours": 3, "step_minutes": 5},
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scenario = load_scenario(path)
    defaults = load_defaults(scenario.overrides)
    for label in scenario.substrate_labels:
        _same(scenario, defaults, label)
    sim = simulate_substrate(scenario, defaults, place(scenario, defaults, "baremetal-shared"))
    kills = sum(t.oom_kills for t in sim.tenants)
    assert 0 < kills < 4 * scenario.simulation.steps  # some steps, not every one
