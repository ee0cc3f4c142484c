"""The model beside the measurement: each case's prediction derived here from the model's
published rules (CFS shares and quotas, the M/M/1 latency rule of defaults.yaml
``latency``, the shared-hardware rule of ``interference``), not from the code's output.

Latency inflation goes through the simulation's log-spaced histogram (3 % bins, the
upper edge reported), so it is checked to within one bin."""

from __future__ import annotations

import math

import pytest
from calibration_factories import make_calibration, make_case, make_probe
from hypothesis import example, given, settings
from hypothesis import strategies as st

from properties import examples
from underlay.calibration.predict import (
    EFFICIENCY,
    HOG_CPU,
    HOG_THROTTLED,
    LATENCY,
    OVERHEAD,
    THROUGHPUT,
    TOLERANCES,
    compare_with_model,
    request_milli,
)
from underlay.calibration.results import MIN_ON_TIME, Calibration, Comparison, OverheadRun
from underlay.defaults.catalog import load_defaults

BIN = 1000 ** (1 / 240)  # one latency bin (LAT_BINS: 240 log steps from 1 to 1,000)
K = load_defaults().interference.slowdown_at_full_load  # cited k (0.1 in defaults.yaml)
RHO_MAX = load_defaults().latency.rho_max  # 0.95


def response(rho: float) -> float:
    """defaults.yaml `latency`: M/M/1's 1 / (1 − ρ) up to rho_max, then growing with the
    backlog in proportion to ρ."""
    return max(rho / RHO_MAX, 1.0) / (1 - min(rho, RHO_MAX))


def by_figure(comparisons: list[Comparison], experiment: str) -> dict[str, Comparison]:
    return {c.figure: c for c in comparisons if c.experiment == experiment}


def assert_inflation(c: Comparison, expected: float) -> None:
    assert expected <= c.predicted <= expected * BIN * 1.0001  # the bin's upper edge


# The probe alone used 4 CPU seconds in 20 s: 0.2 cores; 2,000 work/s; p95 150 µs.
ALONE = make_case("alone", probe=make_probe(cpu_seconds=4.0))


def calibrate(*cases: object, **kw: object) -> Calibration:
    return make_calibration(neighbours=[ALONE, *cases], **kw)


def test_soft_shares_equal_weights() -> None:
    # 2 cores; weights 1024 each (cgroup v1): requests 1024 × 1000 / 1024 = 1000m each.
    # Probe wants 200m (< its request: guaranteed); hog (2 threads) wants 2000m: gets its
    # 1000m request plus all that is left, 2000 − 200 − 1000 = 800m → 1800m.
    case = make_case(
        "soft-shares",
        probe=make_probe(p95_us=300.0, work_per_s=1900.0),
        hog_cpu_seconds=35.0,
        probe_weight=1024,
        hog_weight=1024,
    )
    got = by_figure(compare_with_model(calibrate(case)), "soft-shares")
    assert got[HOG_CPU].predicted == pytest.approx(1.8 * 20)  # cores × 20 s
    # Throughput: all its demand granted, less k·L of work, L = 1.8 / 2 cores.
    assert got[THROUGHPUT].predicted == pytest.approx(2000 * (1 - K * 0.9), rel=1e-4)
    # Latency: no idle CPU, so the probe's server is max(grant 0.2, request 1.0) = 1.0:
    # ρ = 0.2; alone its server is the host's 2 cores: ρ = 0.1.
    assert_inflation(got[LATENCY], response(0.2) / response(0.1))
    assert got[LATENCY].measured == pytest.approx(300 / 150)
    assert got[THROUGHPUT].measured == 1900.0
    assert HOG_THROTTLED not in got  # no quota


def test_a_probe_and_hog_pinned_to_one_core_are_a_one_core_host() -> None:
    # The run pins the probe and the CPU hog (one thread) to one core: 1000m between them.
    # Weights 1024 each: requests 1000m each, more than the core, so scaled to 500m each
    # (the ratio kept). The probe wants 200m; the hog wants 1000m and gets the rest of the
    # core, 1000 − 200 = 800m: 0.8 cores × 20 s = 16 CPU seconds (on the machine's two
    # cores it would have been 1.0 core, its one thread's worth: 20 s).
    case = make_case(
        "soft-shares",
        probe=make_probe(),
        hog_cpu_seconds=16.0,
        probe_weight=1024,
        hog_weight=1024,
        hog_threads=1,
        cores=1,
    )
    got = by_figure(compare_with_model(calibrate(case)), "soft-shares")
    assert got[HOG_CPU].predicted == pytest.approx(0.8 * 20)
    unpinned = make_case(
        "soft-shares",
        probe=make_probe(),
        hog_cpu_seconds=20.0,
        probe_weight=1024,
        hog_weight=1024,
        hog_threads=1,
    )
    got = by_figure(compare_with_model(calibrate(unpinned)), "soft-shares")
    assert got[HOG_CPU].predicted == pytest.approx(1.0 * 20)


def test_soft_shares_weights_in_proportion() -> None:
    # Hog weight 3072 (3000m), probe 512 (500m), on 4 cores; hog 4 threads (4000m).
    # Probe use 0.2 cores ≤ 500m: guaranteed. Hog: min(4000, 4000 − 200) = 3800m.
    case = make_case("soft-shares", probe_weight=512, hog_weight=3072, hog_cpu_seconds=70.0)
    cal = calibrate(case, cores=4)
    got = by_figure(compare_with_model(cal), "soft-shares")
    assert got[HOG_CPU].predicted == pytest.approx(3.8 * 20)
    # Server = max(0.2 + 0 idle, 0.5 request) = 0.5 → ρ 0.4; alone 4 cores → ρ 0.05.
    assert_inflation(got[LATENCY], response(0.4) / response(0.05))


def test_weights_beyond_the_host_keep_their_ratio() -> None:
    # Weights 1024 : 3072 give 1000m + 3000m on a 2-core host: scaled by 2000 / 4000 to
    # 500m + 1500m. Probe use 0.2 → server max(0.2, 0.5) = 0.5: ρ 0.4; alone ρ 0.1.
    # Hog (2 threads): 2000 − 200 = 1800m.
    case = make_case("soft-shares", probe_weight=1024, hog_weight=3072, hog_cpu_seconds=36.0)
    got = by_figure(compare_with_model(calibrate(case)), "soft-shares")
    assert_inflation(got[LATENCY], response(0.4) / response(0.1))
    assert got[HOG_CPU].predicted == pytest.approx(1.8 * 20)


def test_a_saturated_probe_follows_the_overloaded_end_of_the_rule() -> None:
    # No weights: both requests are the probe's use, 200m. Hog of 2 threads wants 2000m:
    # guaranteed 200m, plus the 2000 − 400 = 1600m left (the probe wants no more) → 1800m.
    # The probe's server: its grant 0.2 + no idle CPU, at least its request 0.2 → ρ = 1,
    # past rho_max: response (1 / 0.95) / (1 − 0.95).
    case = make_case("soft-shares", hog_cpu_seconds=36.0)
    got = by_figure(compare_with_model(calibrate(case)), "soft-shares")
    assert_inflation(got[LATENCY], response(1.0) / response(0.1))
    assert got[HOG_CPU].predicted == pytest.approx(36.0)


@pytest.mark.parametrize(
    ("quota", "threads", "cores"),
    [(1.0, 2, 2), (0.5, 2, 2), (1.5, 4, 4), (0.25, 1, 2)],
)
def test_hard_quota_caps_the_hog_at_the_quota(quota: float, threads: int, cores: int) -> None:
    # CFS quota: the hog gets min(threads, quota) cores (the probe's 0.2 leaves room);
    # throttled: (threads − quota) cores for the 20 s.
    case = make_case(
        "hard-quota",
        hog_quota_cores=quota,
        hog_threads=threads,
        hog_cpu_seconds=quota * 20,
        hog_throttled_s=(threads - quota) * 20,
    )
    got = by_figure(compare_with_model(calibrate(case, cores=cores)), "hard-quota")
    assert got[HOG_CPU].predicted == pytest.approx(quota * 20, rel=1e-3)
    assert got[HOG_THROTTLED].predicted == pytest.approx((threads - quota) * 20, rel=1e-3)
    assert got[HOG_CPU].agrees and got[HOG_THROTTLED].agrees
    # Throughput: all the probe's demand, less k·L with L = quota ÷ cores.
    assert got[THROUGHPUT].predicted == pytest.approx(2000 * (1 - K * quota / cores), rel=1e-4)
    # Tolerances as stated: 10 % of the predicted CPU time, 20 % of the whole demand.
    assert got[HOG_CPU].tolerance == pytest.approx(TOLERANCES[HOG_CPU][0] * quota * 20, rel=1e-3)
    assert got[HOG_THROTTLED].tolerance == pytest.approx(0.2 * threads * 20, rel=1e-3)


def test_membw_hog_is_the_interference_rule() -> None:
    # One hog thread on 2 cores, no weights: it gets its 1000m (room for both): L = 0.5.
    # The probe does 1 − k·L of the work alone.
    case = make_case("membw-hog", probe=make_probe(work_per_s=1500.0), hog_threads=1)
    got = by_figure(compare_with_model(calibrate(case)), "membw-hog")
    expected = 2000 * (1 - K * 0.5)
    assert got[THROUGHPUT].predicted == pytest.approx(expected, rel=1e-4)
    assert got[THROUGHPUT].tolerance == pytest.approx(0.1 * 2000)
    assert got[THROUGHPUT].agrees == (abs(expected - 1500) <= 200)
    # Work per CPU second: alone 2,000 × 20 / 4 = 10,000; the model: × (1 − k·L).
    # Measured: 1,500 × 20 / 5 (the default probe's 5 CPU seconds) = 6,000.
    assert got[EFFICIENCY].predicted == pytest.approx(10_000 * (1 - K * 0.5), rel=1e-4)
    assert got[EFFICIENCY].measured == pytest.approx(6_000)
    assert got[EFFICIENCY].tolerance == pytest.approx(0.1 * 10_000)


def test_overheads_against_the_cited_taxes() -> None:
    kvm = load_defaults().hypervisors["kvm"].cpu_overhead_percent  # 2.0 in defaults.yaml
    runs = [
        OverheadRun("cpu", "it/s", native=100.0, container=97.0, vm=90.0),
        OverheadRun("loopback", "round trips/s", native=50.0, container=50.0, vm=25.0),
        OverheadRun("syscall", "syscalls/s", 10.0, None, None, "no unshare", "no kvm"),
    ]
    got = {c.experiment: c for c in compare_with_model(make_calibration(overheads=runs))}
    assert set(got) == {"cpu in a container", "cpu in a KVM guest", "loopback in a container"}
    assert (got["cpu in a container"].predicted, got["cpu in a container"].measured) == (
        0.0,
        pytest.approx(3.0),  # 1 − 97 / 100
    )
    assert got["cpu in a KVM guest"].predicted == kvm
    assert got["cpu in a KVM guest"].measured == pytest.approx(10.0)
    assert not got["cpu in a KVM guest"].agrees  # |2 − 10| > 5 points
    assert all(c.figure == OVERHEAD and c.tolerance == 5.0 for c in got.values())


def test_without_an_alone_case_no_neighbour_is_compared() -> None:
    cal = make_calibration(neighbours=[make_case("hard-quota", hog_quota_cores=1.0)])
    assert compare_with_model(cal) == []


@pytest.mark.parametrize(
    ("weight", "cgroup", "expected"),
    [
        (1024, "v1", 1000),  # Kubernetes: shares = milli × 1024 / 1000
        (2, "v1", 2),  # round(2 × 1000 / 1024)
        (100, "v1", 98),
        # v2: weight = 1 + (shares − 2) × 9999 / 262142; 1000m → shares 1024 → weight 39.98;
        # runc's integer division gives 39 → shares 2 + 38 × 262142 / 9999 = 998.2 → 975m.
        (39, "v2", round((2 + 38 * 262142 / 9999) * 1000 / 1024)),
        (None, "v1", 250),  # no weight: the fallback
    ],
)
def test_requests_from_cgroup_weights(weight: int | None, cgroup: str, expected: int) -> None:
    assert request_milli(weight, cgroup, 250.0) == expected


@settings(max_examples=examples(12))
@given(
    cores=st.integers(1, 4),
    threads=st.integers(1, 4),
    quota_milli=st.integers(50, 4000),
)
@example(cores=2, threads=2, quota_milli=100)  # a quota below the probe's 200m request
def test_hard_quota_arithmetic_holds_for_any_quota(
    cores: int, threads: int, quota_milli: int
) -> None:
    # CFS: the probe keeps its 0.2 cores (within its request); the hog runs min(threads,
    # quota) cores, at most what the probe leaves; it is throttled for the demand above
    # the quota, whatever the contention: max(threads − quota, 0) cores over the 20 s.
    quota = quota_milli / 1000
    case = make_case(
        "hard-quota",
        hog_quota_cores=quota,
        hog_threads=threads,
        hog_cpu_seconds=1.0,
        hog_throttled_s=1.0,
    )
    got = by_figure(compare_with_model(calibrate(case, cores=cores)), "hard-quota")
    expected_cpu = min(threads, quota, cores - 0.2) * 20
    assert got[HOG_CPU].predicted == pytest.approx(expected_cpu, rel=1e-3, abs=1e-3)
    expected_throttled = max(threads - quota, 0) * 20
    assert got[HOG_THROTTLED].predicted == pytest.approx(expected_throttled, rel=1e-3, abs=1e-3)


@settings(max_examples=examples(10))
@given(
    cores=st.integers(1, 8),
    cgroup=st.sampled_from(["v1", "v2"]),
    use=st.floats(0.0, 8.0),
    case=st.sampled_from(["soft-shares", "hard-quota", "membw-hog"]),
    weights=st.one_of(st.none(), st.tuples(st.integers(1, 10_000), st.integers(1, 10_000))),
    quota=st.one_of(st.none(), st.floats(0.0001, 16.0)),
    threads=st.one_of(st.none(), st.integers(1, 16)),
)
# found: a probe that used nothing got a 1m request, and the hog 1m beside it wanting
# 1,000× that (a usage level is at most 100× the request)
@example(cores=1, cgroup="v1", use=0.0, case="soft-shares", weights=None, quota=None, threads=None)
# found: a probe alone on 6e-306 CPU seconds: its work per CPU second was infinite
@example(
    cores=1, cgroup="v1", use=3.08e-307, case="soft-shares", weights=None, quota=None, threads=None
)
def test_any_measured_case_gets_finite_predictions(
    cores: int,
    cgroup: str,
    use: float,
    case: str,
    weights: tuple[int, int] | None,
    quota: float | None,
    threads: int | None,
) -> None:
    # Whatever a run records, each case is simulated and every figure is a number.
    alone = make_case("alone", probe=make_probe(cpu_seconds=use * 20))
    neighbour = make_case(
        case,
        probe_weight=weights[0] if weights else None,
        hog_weight=weights[1] if weights else None,
        hog_quota_cores=quota,
        hog_threads=threads,
        hog_cpu_seconds=10.0,
        hog_throttled_s=1.0,
    )
    cal = make_calibration(cores=cores, cgroup=cgroup, neighbours=[alone, neighbour])
    got = compare_with_model(cal)
    assert {c.figure for c in got} >= {LATENCY, THROUGHPUT, HOG_CPU}
    for c in got:
        assert math.isfinite(c.predicted) and c.predicted >= 0, c
        assert math.isfinite(c.tolerance) and c.tolerance >= 0, c


def test_work_per_cpu_second_is_read_from_the_on_time_requests() -> None:
    # Alone: 15,000 on-time requests whose unit of work took 1.5 CPU s: 10,000 per CPU s
    # (the process's 5 CPU seconds, pacing included, are not used). Beside the membw hog:
    # 12,000 on-time requests on 1.6 CPU s: 7,500 per CPU s. The model: 10,000 × (1 − k·L).
    alone = make_case("alone", probe=make_probe(on_time_requests=15_000, on_time_cpu_seconds=1.5))
    probe = make_probe(on_time_requests=12_000, on_time_cpu_seconds=1.6)
    case = make_case("membw-hog", probe=probe, hog_threads=1)
    cal = make_calibration(neighbours=[alone, case])
    got = by_figure(compare_with_model(cal), "membw-hog")
    assert got[EFFICIENCY].measured == pytest.approx(7_500)
    assert got[EFFICIENCY].predicted == pytest.approx(10_000 * (1 - K * 0.5), rel=1e-4)
    assert got[EFFICIENCY].tolerance == pytest.approx(0.1 * 10_000)


def test_too_few_on_time_requests_give_no_work_per_cpu_second() -> None:
    alone = make_case("alone", probe=make_probe(on_time_requests=15_000, on_time_cpu_seconds=1.5))
    probe = make_probe(on_time_requests=MIN_ON_TIME - 1, on_time_cpu_seconds=0.01)
    case = make_case("membw-hog", probe=probe, hog_threads=1)
    got = by_figure(compare_with_model(make_calibration(neighbours=[alone, case])), "membw-hog")
    assert EFFICIENCY not in got and THROUGHPUT in got
