"""Usage models: constant, diurnal (noise, correlation, bursts), trace resampling.

The sampler is driven directly (no placement): ``flatten`` gives the workloads,
``pod_table`` the canonical pods, ``UsageSampler.chunk`` the (pods × steps) arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from factories import make_scenario, make_tenant, make_workload
from underlay.model.scenario import Scenario
from underlay.placement.substrates import flatten
from underlay.simulation.pods import pod_table
from underlay.simulation.usage import CHUNK_STEPS, UsageSampler, resample_mean

F32 = NDArray[np.float32]


def scenario(
    *workloads: dict[str, Any], hours: float = 24, step_minutes: float = 60, seed: int = 0
) -> Scenario:
    return make_scenario(
        tenants=[make_tenant("t", workloads=list(workloads))],
        simulation={"horizon_hours": hours, "step_minutes": step_minutes, "seed": seed},
    )


def sampler(sc: Scenario, seed: int | None = None) -> UsageSampler:
    _, workloads = flatten(sc)
    return UsageSampler(sc, workloads, pod_table(sc, workloads), seed=seed)


def run(s: UsageSampler) -> tuple[F32, F32]:
    """All steps, chunk by chunk as the engine asks for them."""
    cpus, mems = [], []
    for start in range(0, s.steps, CHUNK_STEPS):
        cpu, mem = s.chunk(start, min(s.steps, start + CHUNK_STEPS))
        cpus.append(cpu)
        mems.append(mem)
    return np.concatenate(cpus, axis=1), np.concatenate(mems, axis=1)


def usage_of(*workloads: dict[str, Any], **kw: Any) -> tuple[F32, F32]:
    return run(sampler(scenario(*workloads, **kw)))


# ---------------------------------------------------------------------------- constant


def test_constant_levels_are_fractions_of_the_request() -> None:
    cpu, mem = usage_of(
        make_workload("w", replicas=2, cpu="2", memory="4Gi", usage={"cpu": 0.25, "memory": 0.5})
    )
    assert cpu.shape == (2, 24)
    assert mem.shape == (2, 1)  # memory without a trace is one constant column
    assert np.all(cpu == 500)  # 0.25 × 2000m
    assert np.all(mem == 2048)  # 0.5 × 4096Mi


def test_default_levels() -> None:
    # The model's defaults: CPU 0.45 of the request, memory 0.8.
    cpu, mem = usage_of(make_workload("w", cpu="1", memory="1Gi"))
    np.testing.assert_allclose(cpu, 450, rtol=1e-6)
    np.testing.assert_allclose(mem, 0.8 * 1024, rtol=1e-6)


def test_constant_levels_are_fractions_of_the_limit_without_request() -> None:
    cpu, mem = usage_of(
        make_workload(
            "w",
            cpu="0",
            memory="0",
            limits={"cpu": "3", "memory": "2Gi"},
            usage={"cpu": 0.5, "memory": 0.25},
        )
    )
    assert np.all(cpu == 1500)  # 0.5 × 3000m
    assert np.all(mem == 512)  # 0.25 × 2048Mi


def test_constant_levels_without_request_or_limit_are_of_100m_and_128mi() -> None:
    cpu, mem = usage_of(make_workload("w", cpu="0", memory="0", usage={"cpu": 3, "memory": 2}))
    assert np.all(cpu == 300)  # 3 × 100m
    assert np.all(mem == 256)  # 2 × 128Mi


def test_mixed_request_and_limit() -> None:
    # CPU requested, memory only limited: each resource falls back on its own.
    cpu, mem = usage_of(
        make_workload(
            "w", cpu="1", memory="0", limits={"memory": "1Gi"}, usage={"cpu": 2, "memory": 0.5}
        )
    )
    assert np.all(cpu == 2000) and np.all(mem == 512)


# ----------------------------------------------------------------------------- diurnal


@pytest.mark.parametrize("peak_hour", [0, 3, 14, 23])
def test_diurnal_peaks_at_peak_hour(peak_hour: int) -> None:
    # Hourly steps over two days: 1000m × (1 + 0.5 cos(2π (h − peak)/24)), max at the peak
    # (1500m), min twelve hours away (500m).
    cpu, _ = usage_of(
        make_workload(
            "w",
            cpu="1",
            usage={"model": "diurnal", "cpu": 1.0, "amplitude": 0.5, "peak_hour": peak_hour},
        ),
        hours=48,
    )
    day = cpu[0]
    assert int(np.argmax(day[:24])) == peak_hour
    assert int(np.argmax(day[24:])) == peak_hour
    assert day[peak_hour] == pytest.approx(1500, rel=1e-5)
    assert day[(peak_hour + 12) % 24] == pytest.approx(500, rel=1e-5)
    hours = np.arange(48)
    expected = 1000 * (1 + 0.5 * np.cos(2 * np.pi * (hours - peak_hour) / 24))
    np.testing.assert_allclose(day, expected, rtol=1e-5)


def test_diurnal_clips_at_zero() -> None:
    # Level 0.2, swing 1.0: the trough would be −0.8 × request; demand never goes negative.
    cpu, _ = usage_of(
        make_workload("w", cpu="1", usage={"model": "diurnal", "cpu": 0.2, "amplitude": 1.0})
    )
    assert cpu.min() == 0
    assert cpu.max() == pytest.approx(1200, rel=1e-5)


def test_memory_stays_at_its_level_under_diurnal_noise_and_bursts() -> None:
    cpu, mem = usage_of(
        make_workload(
            "w",
            replicas=3,
            cpu="1",
            memory="1Gi",
            usage={
                "model": "diurnal",
                "amplitude": 0.3,
                "noise": 0.2,
                "burst_probability": 0.3,
                "burst_factor": 4,
                "memory": 0.5,
            },
        )
    )
    assert np.all(mem == 512)
    assert cpu.std() > 0


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_two_pods_of_a_workload_correlate_by_correlation(rho: float) -> None:
    # 4096 five-minute steps; level 10 × request with noise sd 1 × request, so clipping
    # at 0 never happens. The sample correlation of n = 4096 pairs has a standard error of
    # about (1 − ρ²)/√n ≤ 0.016; the tolerance 0.06 is over 3.5 standard errors.
    cpu, _ = usage_of(
        make_workload(
            "w",
            replicas=2,
            cpu="1",
            usage={"model": "diurnal", "cpu": 10, "noise": 1.0, "correlation": rho},
        ),
        hours=4096 * 5 / 60,
        step_minutes=5,
    )
    assert cpu.shape == (2, 4096)
    assert cpu.min() > 0
    r = float(np.corrcoef(cpu[0], cpu[1])[0, 1])
    assert r == pytest.approx(rho, abs=0.06)
    # and each pod's noise has sd ≈ 1000m (the wave is flat: amplitude 0)
    assert float(cpu[0].std()) == pytest.approx(1000, rel=0.05)


def test_pods_of_different_workloads_do_not_correlate() -> None:
    noisy = {"model": "diurnal", "cpu": 10, "noise": 1.0, "correlation": 1.0}
    cpu, _ = usage_of(
        make_workload("a", cpu="1", usage=noisy),
        make_workload("b", cpu="1", usage=noisy),
        hours=4096 * 5 / 60,
        step_minutes=5,
    )
    assert abs(float(np.corrcoef(cpu[0], cpu[1])[0, 1])) < 0.06


def _runs(flags: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, length) of each run of True."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def test_bursts_last_burst_steps() -> None:
    # Rare bursts (p = 0.02 per step) of 5 steps, ×3, over 20 chunks: every run of bursting
    # steps is at least 5 long; an isolated burst exactly 5; a burst started in the last
    # steps of a chunk carries on into the next chunk.
    steps = 20 * CHUNK_STEPS
    cpu, _ = usage_of(
        make_workload(
            "w",
            replicas=2,
            cpu="1",
            usage={
                "model": "diurnal",
                "cpu": 1.0,
                "burst_probability": 0.02,
                "burst_factor": 3,
                "burst_steps": 5,
            },
        ),
        hours=steps * 5 / 60,
        step_minutes=5,
        seed=3,
    )
    assert set(np.unique(cpu).tolist()) == {1000.0, 3000.0}
    bursting = cpu[0] > 1000
    assert np.array_equal(bursting, cpu[1] > 1000)  # the whole workload bursts
    runs = _runs(bursting)
    assert len(runs) >= 5
    assert all(length >= 5 for _, length in runs)
    assert min(length for _, length in runs) == 5
    # at least one burst crosses a chunk boundary, and it is not cut short there
    crossing = [(a, n) for a, n in runs if a // CHUNK_STEPS != (a + n - 1) // CHUNK_STEPS]
    assert crossing, runs
    assert all(n >= 5 for _, n in crossing)


def test_burst_probability_one_bursts_every_step() -> None:
    cpu, _ = usage_of(
        make_workload(
            "w",
            cpu="1",
            usage={"model": "diurnal", "cpu": 0.5, "burst_probability": 1, "burst_factor": 10},
        )
    )
    assert np.all(cpu == 5000)


def test_gpu_use_is_its_share_times_usage_gpu_times_the_cpu_burst() -> None:
    # A constant workload of 1 core bursting ×3: its CPU is 1,000 or 3,000 m, and its GPU
    # use 1.5 × a 500-milli share = 750, or 2,250 in the same steps (the burst is the
    # workload's, for CPU and GPU alike).
    usage = {"model": "constant", "cpu": 1.0, "gpu": 1.5, "burst_probability": 0.1,
             "burst_factor": 3, "burst_steps": 4}  # fmt: skip
    one_half = {"count": 1, "fraction": 0.5}
    sc = scenario(
        make_workload("w", replicas=2, cpu="1", gpu=one_half, usage=usage),
        hours=4 * CHUNK_STEPS,
        seed=5,
    )
    s = sampler(sc)
    pods = np.arange(2, dtype=np.int64)
    cpus, bursts, gpus = [], [], []
    for start in range(0, s.steps, CHUNK_STEPS):
        cpu, _ = s.chunk(start, min(s.steps, start + CHUNK_STEPS))
        cpus.append(cpu)
        bursts.append(s.burst_rows(pods))
        gpus.append(s.gpu_rows(pods, np.full(2, 500, np.float32)))
    cpu, burst, gpu = (np.concatenate(x, axis=1) for x in (cpus, bursts, gpus))
    assert set(np.unique(burst).tolist()) == {1.0, 3.0}
    assert np.array_equal(burst, cpu / 1000)
    assert np.array_equal(gpu, 750 * burst)


# ------------------------------------------------------------------------ reproducibility

NOISY = make_workload(
    "w",
    replicas=3,
    cpu="1",
    usage={
        "model": "diurnal",
        "amplitude": 0.3,
        "noise": 0.3,
        "burst_probability": 0.1,
        "burst_factor": 2,
    },
)


def test_same_seed_same_usage_different_seed_different() -> None:
    sc = scenario(NOISY, hours=100, step_minutes=5)
    a, _ = run(sampler(sc, seed=11))
    b, _ = run(sampler(sc, seed=11))
    c, _ = run(sampler(sc, seed=12))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # the scenario's seed is the default
    d, _ = run(sampler(scenario(NOISY, hours=100, step_minutes=5, seed=11)))
    assert np.array_equal(a, d)


def test_chunks_must_come_in_order() -> None:
    s = sampler(scenario(NOISY, hours=10, step_minutes=5))
    s.chunk(0, CHUNK_STEPS)
    with pytest.raises(ValueError, match="in order"):
        s.chunk(2 * CHUNK_STEPS, 3 * CHUNK_STEPS)
    with pytest.raises(ValueError, match="in order"):
        s.chunk(0, CHUNK_STEPS)  # nor again
    s.chunk(CHUNK_STEPS, 2 * CHUNK_STEPS)  # the next one is fine


# ------------------------------------------------------------------------ resample_mean


def resample(time_s: list[float], values: list[float], step_s: float, steps: int) -> list[float]:
    out: list[float] = resample_mean(
        np.array(time_s, np.float64), np.array(values, np.float64), step_s, steps
    ).tolist()
    return out


def test_resample_one_minute_samples_to_five_minute_steps() -> None:
    # Samples 0, 1, ..., 9 at minutes 0..9; the trace repeats with period 10 min, the
    # last sample (9) joined linearly back to the first (0) over [9, 10) min.
    # Step 0 [0, 5) min: trapezoids (0+1)/2 + (1+2)/2 + ... + (4+5)/2 = 12.5 → mean 2.5.
    # Step 1 [5, 10): 5.5 + 6.5 + 7.5 + 8.5 + (9+0)/2 = 32.5 → 6.5.
    # Step 2 is step 0 again.
    got = resample([60.0 * i for i in range(10)], list(range(10)), 300, 3)
    np.testing.assert_allclose(got, [2.5, 6.5, 2.5], rtol=1e-12)


def test_resample_interpolates_a_ten_minute_trace() -> None:
    # Samples 0, 6, 3 at 0, 10, 20 min; period 30 min (back to 0 over [20, 30)).
    # 5-minute steps: 0→3, 3→6, 6→4.5, 4.5→3, 3→1.5, 1.5→0 → means 1.5, 4.5, 5.25,
    # 3.75, 2.25, 0.75; then again from the start.
    got = resample([0, 600, 1200], [0, 6, 3], 300, 7)
    np.testing.assert_allclose(got, [1.5, 4.5, 5.25, 3.75, 2.25, 0.75, 1.5], rtol=1e-12)


def test_resample_wraps_past_the_end_with_steps_not_dividing_the_period() -> None:
    # Samples 0, 6, 2 at 0, 60, 120 s: period 180 s; areas per segment 180, 240, 60
    # (2→0 over [120, 180)), 480 per lap. 120-s steps:
    #   [0, 120): 180 + 240 = 420 → 3.5;  [120, 240): 60 + 180 = 240 → 2.0;
    #   [240, 360): 240 + 60 = 300 → 2.5 (two laps: 420 + 240 + 300 = 960 ✓).
    got = resample([0, 60, 120], [0, 6, 2], 120, 3)
    np.testing.assert_allclose(got, [3.5, 2.0, 2.5], rtol=1e-12)
    # and far past the end: the mean over a whole number of laps is the lap mean, 480/180
    many = resample([0, 60, 120], [0, 6, 2], 180, 1000)
    np.testing.assert_allclose(many, 480 / 180, rtol=1e-9)


def test_resample_interpolates_over_a_gap() -> None:
    # 1-minute samples 1, 1, 1 at 0, 60, 120 s, then nothing until 9, 9 at 600, 660 s.
    # The median interval is 60 s, so the period is 720 s. Linear 1 → 9 over the gap
    # [120, 600): value 1 + (t − 120)/60. 240-s steps:
    #   [0, 240): 1 × 120 + (1 + 3)/2 × 120 = 360 → 1.5
    #   [240, 480): 3 → 7 → 5
    #   [480, 720): (7 + 9)/2 × 120 + 9 × 60 + (9 + 1)/2 × 60 = 1800 → 7.5
    got = resample([0, 60, 120, 600, 660], [1, 1, 1, 9, 9], 240, 3)
    np.testing.assert_allclose(got, [1.5, 5.0, 7.5], rtol=1e-12)


def test_resample_a_series_that_starts_late_holds_its_first_value() -> None:
    # Times count from the trace's origin: samples 2, 6, 3 at 60, 70, 80 min hold 2 from
    # 0 to 60 min; the period is 80 + 10 = 90 min, wrapping 3 → 2 over [80, 90).
    # 10-minute steps: six of 2, then 2→6 (4), 6→3 (4.5), 3→2 (2.5), then 2 again.
    late = resample([3600, 4200, 4800], [2, 6, 3], 600, 10)
    np.testing.assert_allclose(late, [2] * 6 + [4, 4.5, 2.5, 2], rtol=1e-12)


def test_resample_a_single_sample_is_constant() -> None:
    assert resample([100.0], [4.0], 300, 3) == [4.0, 4.0, 4.0]


def test_resample_mean_over_a_lap_is_the_trapezoid_mean() -> None:
    rng = np.random.default_rng(5)
    t = np.cumsum(rng.uniform(30, 90, 40))
    t = np.round(t - t[0])
    v = rng.uniform(0, 10, 40)
    interval = float(np.median(np.diff(t)))
    period = t[-1] + interval
    tt, vv = np.append(t, period), np.append(v, v[0])
    lap_mean = float(np.sum(np.diff(tt) * (vv[1:] + vv[:-1]) / 2) / period)
    # one step = one lap; ten steps of a tenth of a lap average to it too
    assert resample(t.tolist(), v.tolist(), period, 3) == pytest.approx([lap_mean] * 3, rel=1e-9)
    assert np.mean(resample(t.tolist(), v.tolist(), period / 10, 10)) == pytest.approx(
        lap_mean, rel=1e-9
    )


def test_workload_peaks_belong_to_their_workloads() -> None:
    # Constant usage: every step's value is the peak, so each workload's peak is its level
    # × its request — cpu 0.5 × 2,000 = 1,000m, 1.5 × 1,000 = 1,500m, 3 × 500 = 1,500m,
    # 0.25 × 4,000 = 1,000m, 1 × 1,000; memory 0.8 × 1,024 … — whatever its replica count
    # (20 and 9 are both sampled as 8): workloads grouped by replicas keep their own.
    from underlay.simulation.usage import workload_peaks

    specs = [(3, "2", 0.5, "1Gi", 0.8), (3, "1", 1.5, "2Gi", 0.5), (20, "500m", 3, "4Gi", 1.0),
             (9, "4", 0.25, "512Mi", 0.25), (1, "1", 1, "1Gi", 1)]  # fmt: skip
    sc = make_scenario(
        tenants=[
            make_tenant(
                "t",
                workloads=[
                    make_workload(
                        f"w{i}",
                        replicas=r,
                        cpu=c,
                        memory=m,
                        usage={"model": "constant", "cpu": u, "memory": mu},
                    )
                    for i, (r, c, u, m, mu) in enumerate(specs)
                ],
            )
        ],
        simulation={"horizon_hours": 2},
    )
    _, workloads = flatten(sc)
    cpu, mem = workload_peaks(sc, workloads, 95)
    assert cpu.tolist() == pytest.approx([1000, 1500, 1500, 1000, 1000], rel=1e-6)
    assert mem.tolist() == pytest.approx(
        [0.8 * 1024, 0.5 * 2048, 1.0 * 4096, 0.25 * 512, 1024], rel=1e-6
    )
