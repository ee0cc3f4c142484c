"""A block's usage rows: a table row per group of alike pods, then each pod's own terms.

``UsageSampler.rows`` copies each pod's row of the chunk's table (level, wave and common
noise, shared by a workload's replicas), adds its own noise, applies its workload's
bursts and clips at 0. These tests hold it to the model written out from the chunk's
random draws (the draws themselves unchanged), and to rows that do not depend on which
pods are asked for with them, whichever of its paths a block takes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from factories import make_scenario, make_tenant, make_workload
from underlay.model.scenario import Scenario
from underlay.placement.substrates import flatten
from underlay.simulation.normals import fill_standard_normal
from underlay.simulation.pods import pod_table
from underlay.simulation.usage import UsageSampler
from underlay.simulation.usage_models import rows_by_runs

F32 = NDArray[np.float32]
SEED = 7
STEP_MINUTES = 60


def _scenario(*workloads: dict[str, Any]) -> Scenario:
    return make_scenario(
        tenants=[make_tenant("t", workloads=list(workloads))],
        simulation={"horizon_hours": 24, "step_minutes": STEP_MINUTES, "seed": SEED},
    )


def _sampler(sc: Scenario) -> UsageSampler:
    _, workloads = flatten(sc)
    return UsageSampler(sc, workloads, pod_table(sc, workloads))


def _diurnal(**usage: Any) -> dict[str, Any]:
    return {"model": "diurnal", "cpu": 2.0, **usage}


# Pods in canonical order (workload by workload): 0-2 "noisy" (2 cores: level 2 × 2000m
# = 4000m, swing 0.5 × 2000m, peak 14:00, noise sd 0.3 × 2000m = 600m, ρ = 0.25);
# 3-4 "calm" (1 core: level 2000m, swing 0.25 × 1000m, peak 3:00, no noise);
# 5 "other" (noise sd 0.1 × 1000m = 100m, ρ = 1: common noise only, its own weighs 0);
# 6-13 "flat", constant 0.5 × 1000m = 500m.
WORKLOADS = (
    make_workload(
        "noisy",
        replicas=3,
        cpu="2",
        usage=_diurnal(amplitude=0.5, peak_hour=14, noise=0.3, correlation=0.25),
    ),
    make_workload("calm", replicas=2, cpu="1", usage=_diurnal(amplitude=0.25, peak_hour=3)),
    make_workload("other", cpu="1", usage=_diurnal(noise=0.1, correlation=1.0)),
    make_workload("flat", replicas=8, cpu="1", usage={"model": "constant", "cpu": 0.5}),
)


def test_diurnal_rows_are_the_model_on_the_chunks_draws() -> None:
    # The draws of chunk [start, stop), in the documented order: the constant model draws
    # nothing; the diurnal one draws each workload's common noise (4 workloads × n), then
    # the own noise of its pods with noise (pods 0, 1, 2, 5, in that order) × n.
    sampler = _sampler(_scenario(*WORKLOADS))
    start, stop = 0, 24
    n = stop - start
    rng = np.random.default_rng([SEED, start])
    drawn = np.empty((4, n), np.float32), np.empty((4, n), np.float32)
    for values in drawn:
        fill_standard_normal(rng, values)
    common, own = (values.astype(np.float64) for values in drawn)
    hours = np.arange(start, stop) * STEP_MINUTES / 60

    def wave(level: float, swing: float, peak: int) -> NDArray[np.float64]:
        return level + swing * np.cos(2 * np.pi * (hours - peak) / 24)

    expected = np.zeros((14, n))
    for pod in range(3):  # sd (√ρ common + √(1 − ρ) own) = 600 (0.5 common + √0.75 own)
        noise = 600 * (0.5 * common[0] + np.sqrt(0.75) * own[pod])
        expected[pod] = wave(4000, 1000, 14) + noise
    expected[3] = expected[4] = wave(2000, 250, 3)
    expected[5] = 2000 + 100 * common[2]  # ρ = 1: √0 × its own draw (row 3 of own)
    expected[6:] = 500
    sampler.begin(start, stop)
    cpu, mem = sampler.rows(np.arange(14, dtype=np.int64))
    # float32 rounding of terms of up to ~6000m (an ulp of 4096-8192 is ~5e-4m)
    np.testing.assert_allclose(cpu, np.maximum(expected, 0), rtol=2e-6, atol=1e-3)
    assert mem.shape == (14, 1)


def test_diurnal_rows_round_as_the_pod_by_pod_float32_sum() -> None:
    # Bit for bit, whatever is shared in tables: in float32,
    # (((level + wc·cos t) + ws·sin t) + (common·√ρ)·sd) + own·(√(1−ρ)·sd), each operation
    # rounded in that order (wc, ws = swing × cos, sin of the peak's angle).
    f = np.float32
    sampler = _sampler(_scenario(*WORKLOADS))
    rng = np.random.default_rng([SEED, 0])
    common, own = np.empty((4, 24), np.float32), np.empty((4, 24), np.float32)
    fill_standard_normal(rng, common)
    fill_standard_normal(rng, own)
    t = 2 * np.pi * np.arange(24) * STEP_MINUTES * 60 / 86400
    cos_t, sin_t = np.cos(t).astype(f), np.sin(t).astype(f)
    peak = 2 * np.pi * 14 * 3600 / 86400
    wc, ws = f(f(1000) * np.cos(peak)), f(f(1000) * np.sin(peak))
    rho = f(0.25)
    sampler.begin(0, 24)
    cpu, _ = sampler.rows(np.array([2, 0], np.int64))
    for got, pod in zip(cpu, (2, 0), strict=True):
        base = (f(4000) + wc * cos_t) + ws * sin_t
        shared = base + (common[0] * np.sqrt(rho)) * f(600)
        mine = own[pod] * (np.sqrt(f(1) - rho) * f(600))
        np.testing.assert_array_equal(got, np.maximum(shared + mine, f(0)))


def test_a_constant_pods_row_is_its_level_exactly() -> None:
    sampler = _sampler(_scenario(*WORKLOADS))
    sampler.begin(0, 24)
    cpu, _ = sampler.rows(np.arange(6, 14, dtype=np.int64))
    assert np.all(cpu == np.float32(500))  # 0.5 × 1000m, nothing added


def test_rows_by_runs_numbers_runs_of_alike_pods() -> None:
    # Pods 0, 1, 3, 4, 5 are the model's; their keys 1, 1, 1, 2, 2 (pod 2, another
    # model's, is skipped, so pod 3 continues pod 1's run): rows 0, 0, 0, 1, 1.
    mine = np.array([True, True, False, True, True, True])
    key = np.array([1.0, 1.0, 9.0, 1.0, 2.0, 2.0])
    rows, first = rows_by_runs(mine, key)
    assert rows.tolist() == [0, 0, -1, 0, 1, 1]
    assert first.tolist() == [0, 4]
    # a second key splits a run where it changes: pod 1 differs from pod 0 in it
    rows, first = rows_by_runs(mine, key, np.array([0, 5, 5, 5, 5, 5]))
    assert rows.tolist() == [0, 1, -1, 1, 2, 2]
    assert first.tolist() == [0, 1, 4]


BURSTY = (
    *WORKLOADS[:3],
    make_workload(
        "flat",
        replicas=8,
        cpu="1",
        usage={
            "model": "constant",
            "cpu": 0.5,
            "burst_probability": 0.3,
            "burst_factor": 2.0,
            "burst_steps": 3,
        },
    ),
)


@settings(max_examples=40, deadline=None)
@given(
    st.permutations(list(range(14))),
    st.integers(1, 14),
    st.booleans(),
)
@example(list(range(14)), 14, False)  # all pods: the noise added over the whole array
@example([0, 6, 7, 8, 9, 10], 6, True)  # 1 noisy pod of 6: the noise added to its row alone
def test_a_pods_row_does_not_depend_on_the_pods_asked_with_it(
    order: list[int], size: int, into_buffer: bool
) -> None:
    # A block where a third or more of the pods have own noise takes the whole-array path
    # (the others weigh theirs by 0), else the per-row one: both give every pod, bit for
    # bit, the row it has when all pods are asked for at once (and so does an ``out``).
    sampler = _sampler(_scenario(*BURSTY))
    sampler.begin(0, 24)
    whole, _ = sampler.rows(np.arange(14, dtype=np.int64))
    idx = np.array(order[:size], np.int64)
    out = np.full((size, 24), np.nan, np.float32) if into_buffer else None
    cpu, _ = sampler.rows(idx, out)
    np.testing.assert_array_equal(cpu, whole[idx])
    if out is not None:
        assert cpu is out


def test_bursts_multiply_the_rows_of_the_workloads_bursting_in_the_chunk() -> None:
    # The constant pods' rows are 500m × their workload's burst factor at each step
    # (burst_rows: 2 while it bursts, else 1), whether the chunk has a burst or not.
    sampler = _sampler(_scenario(*BURSTY))
    idx = np.arange(6, 14, dtype=np.int64)
    bursts = 0
    for start in range(0, 24, 8):
        sampler.begin(start, start + 8)
        cpu, _ = sampler.rows(idx)
        factor = sampler.burst_rows(idx)
        np.testing.assert_array_equal(cpu, np.float32(500) * factor)
        bursts += int((factor == 2).sum())
    assert bursts > 0  # (p = 0.3 a step over 24 steps: some burst, with this seed)
