"""Which default a disagreement would change, and to what: k solved from the membw case
by the interference rule, the KVM tax as measured, and no default for the CFS rules."""

from __future__ import annotations

import pytest
from calibration_factories import make_calibration, make_case, make_probe

from underlay.calibration.changes import (
    CONTAINER_CPU,
    INTERFERENCE,
    KVM_CPU,
    closing_notes,
    default_changes,
)
from underlay.calibration.predict import EFFICIENCY, HOG_CPU, compare_with_model
from underlay.calibration.results import OverheadRun
from underlay.defaults.catalog import load_defaults

DEFAULTS = load_defaults()
ALONE = make_case("alone", probe=make_probe(cpu_seconds=4.0))  # 0.2 cores, 2,000 work/s


def test_membw_work_per_cpu_disagreement_solves_k() -> None:
    # One hog thread on 2 cores gets 1 core: L = 0.5. Alone the probe did 2,000 work/s
    # on 4 CPU s in 20 s: 10,000 work per CPU second. Beside the hog it kept its 2,000
    # work/s but used 40,000 / 7,000 CPU s: 7,000 per CPU second. 1 − k·L = 0.7 →
    # k = 0.3 / 0.5 = 0.6.
    probe = make_probe(work_per_s=2000.0, cpu_seconds=40_000 / 7_000)
    case = make_case("membw-hog", probe=probe, hog_threads=1)
    cal = make_calibration(neighbours=[ALONE, case])
    comparisons = compare_with_model(cal)
    changes = [c for c in default_changes(cal, comparisons) if c.default == INTERFERENCE]
    assert len(changes) == 1
    change = changes[0]
    assert change.comparison.figure == EFFICIENCY
    assert change.cited == DEFAULTS.interference.slowdown_at_full_load
    assert change.suggested == pytest.approx(0.6, rel=1e-4)
    assert "k = " in change.why


def test_k_is_kept_within_its_field() -> None:
    # 1,000 work per CPU second: 1 − k·0.5 = 0.1 → k = 1.8, beyond the field's 1: kept at 1.
    probe = make_probe(work_per_s=2000.0, cpu_seconds=40.0)  # 2,000 × 20 / 40
    case = make_case("membw-hog", probe=probe, hog_threads=1)
    cal = make_calibration(neighbours=[ALONE, case])
    (change,) = [
        c for c in default_changes(cal, compare_with_model(cal)) if c.default == INTERFERENCE
    ]
    assert change.suggested == 1.0
    assert "kept within 0–1" in change.why


def test_agreeing_figures_change_nothing() -> None:
    # Exactly the model's figures: all within tolerance, no change. (Probe: 2,000 × (1 −
    # k·0.5) work/s on its 4 CPU s alone.)
    k = DEFAULTS.interference.slowdown_at_full_load
    case = make_case(
        "membw-hog",
        probe=make_probe(work_per_s=2000 * (1 - k * 0.5), cpu_seconds=4.0),
        hog_threads=1,
        hog_cpu_seconds=20.0,
    )
    cal = make_calibration(neighbours=[ALONE, case])
    comparisons = compare_with_model(cal)
    assert [c.figure for c in comparisons if c.agrees] != []
    assert [ch.comparison.figure for ch in default_changes(cal, comparisons)] == [
        c.figure for c in comparisons if not c.agrees
    ]
    assert default_changes(cal, comparisons) == []


def test_kvm_overhead_suggests_the_measured_tax() -> None:
    run = OverheadRun("cpu", "it/s", native=100.0, container=None, vm=88.0)
    cal = make_calibration(overheads=[run])
    (change,) = default_changes(cal, compare_with_model(cal))
    assert change.default == KVM_CPU
    assert change.cited == DEFAULTS.hypervisors["kvm"].cpu_overhead_percent
    assert change.suggested == pytest.approx(12.0)  # 1 − 88 / 100


def test_cfs_disagreements_name_no_default_and_say_by_how_much() -> None:
    # Quota 1 core for 20 s: the model gives the hog 20 CPU seconds; measured 30 means
    # the quota was not enforced: the measurement (its cgroup) is suspect.
    case = make_case("hard-quota", hog_quota_cores=1.0, hog_cpu_seconds=30.0)
    cal = make_calibration(neighbours=[ALONE, case])
    changes = [
        c for c in default_changes(cal, compare_with_model(cal)) if c.comparison.figure == HOG_CPU
    ]
    assert len(changes) == 1
    assert changes[0].default is None and changes[0].suggested is None
    assert "understates it by 33 %" in changes[0].why  # (20 − 30) / 30
    assert "quota was not enforced" in changes[0].why


def test_a_container_benchmark_other_than_cpu_names_no_default() -> None:
    run = OverheadRun("syscall", "syscalls/s", native=100.0, container=80.0, vm=None)
    cal = make_calibration(overheads=[run])
    (change,) = default_changes(cal, compare_with_model(cal))
    assert change.default is None
    assert "read from the cpu benchmark alone" in change.why


def test_the_cpu_benchmark_in_a_container_suggests_the_median_paired_loss() -> None:
    # Five rounds, each losing work in the container: 10 %, 8 %, 12 %, 9 %, 20 %
    # (container = native × (1 − loss)); the median of the five is 10 %.
    native = (100.0, 200.0, 100.0, 100.0, 50.0)
    losses = (0.10, 0.08, 0.12, 0.09, 0.20)
    container = tuple(n * (1 - x) for n, x in zip(native, losses, strict=True))
    rounds = {"native_rounds": native, "container_rounds": container}
    run = OverheadRun("cpu", "it/CPU-s", max(native), max(container), None, **rounds)
    cal = make_calibration(overheads=[run])
    (change,) = default_changes(cal, compare_with_model(cal))
    assert change.default == CONTAINER_CPU
    assert change.cited == DEFAULTS.container_runtime.cpu_overhead_percent
    assert change.suggested == pytest.approx(10.0)
    assert change.comparison.measured == pytest.approx(10.0)


def test_a_container_loss_within_the_noise_suggests_nothing() -> None:
    # Rounds of +9 %, −6 %, +8 %, −2 %, +12 %: the median, 8 %, is beyond the 5-point
    # tolerance of the cited 0 %, but the signs disagree, so no figure is suggested.
    native = (100.0,) * 5
    container = (91.0, 106.0, 92.0, 102.0, 88.0)
    run = OverheadRun(
        "cpu", "it/CPU-s", 100.0, 106.0, None, native_rounds=native, container_rounds=container
    )
    cal = make_calibration(overheads=[run])
    (change,) = default_changes(cal, compare_with_model(cal))
    assert change.default == CONTAINER_CPU and change.suggested is None
    assert "within the run-to-run noise" in change.why


def test_closing_notes_say_what_would_change() -> None:
    run = OverheadRun("cpu", "it/s", native=100.0, container=None, vm=88.0)
    cal = make_calibration(overheads=[run])
    (line,) = closing_notes(default_changes(cal, compare_with_model(cal)))
    cited = DEFAULTS.hypervisors["kvm"].cpu_overhead_percent
    assert line.startswith("cpu in a KVM guest, overhead: predicted")
    assert line.endswith(f"would change {KVM_CPU} from {cited:g} to 12")  # 1 − 88 / 100
