"""A short calibration on this machine: what it measures, the qualitative results that
hold on any machine (never a timing threshold), and nothing left behind, also when it is
terminated in the middle."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from underlay.calibration import run_calibration
from underlay.calibration.cgroups import PERIOD_US, Hierarchy
from underlay.calibration.neighbours import CASES, HOG_QUOTA_CORES
from underlay.calibration.results import Calibration
from underlay.defaults import load_defaults


@pytest.fixture(scope="module")
def calibration(hierarchy: Hierarchy) -> Calibration:
    steps: list[str] = []
    cal = run_calibration(10, progress=steps.append)
    assert len(steps) == 4 + 4  # four benchmarks, four cases
    return cal


def test_it_measures_the_container_overhead_and_every_case(
    calibration: Calibration, hierarchy: Hierarchy
) -> None:
    assert calibration.cgroup == hierarchy.version
    assert [o.bench for o in calibration.overheads] == ["cpu", "membw", "syscall", "loopback"]
    for run in calibration.overheads:
        assert run.native > 0 and run.container is not None and run.container > 0
        assert run.vm is None and run.why_not_vm
    assert [n.case for n in calibration.neighbours] == list(CASES)
    assert calibration.comparisons == []


def test_a_hard_quota_caps_the_hog_at_the_quota(calibration: Calibration) -> None:
    cases = {n.case: n for n in calibration.neighbours}
    hard, soft = cases["hard-quota"], cases["soft-shares"]
    assert hard.hog_quota_cores == HOG_QUOTA_CORES
    assert hard.hog_cpu_seconds is not None and hard.hog_throttled_s is not None
    # At most quota x window, give or take one period at each end of the window.
    cap = HOG_QUOTA_CORES * (hard.duration_s + 2 * PERIOD_US / 1e6)
    assert hard.hog_cpu_seconds <= cap * 1.1
    assert hard.hog_throttled_s > 0  # the hog wants its whole core: the quota holds it back
    # Under soft shares the same hog gets more of the core than under the quota.
    assert soft.hog_cpu_seconds is not None
    assert soft.hog_cpu_seconds / soft.duration_s > hard.hog_cpu_seconds / hard.duration_s
    # Soft shares: both groups weighted as their requests (1 core each: equal).
    assert soft.probe_weight == soft.hog_weight is not None
    assert soft.hog_quota_cores is None and soft.hog_throttled_s is None


def test_the_probe_percentiles_are_ordered(calibration: Calibration) -> None:
    for case in calibration.neighbours:
        probe = case.probe
        assert probe.service_p50_us is not None and 0 < probe.service_p50_us <= probe.p50_us
        assert probe.p50_us <= probe.p95_us <= probe.p99_us


def test_figures_say_what_they_replace_and_what_was_not_measured(
    calibration: Calibration,
) -> None:
    defaults = load_defaults()
    figures = {f.default: f for f in calibration.figures}
    slowdown = figures["interference.slowdown_at_full_load"]
    assert slowdown.cited == defaults.interference.slowdown_at_full_load
    assert slowdown.measured is not None and 0 <= slowdown.measured < 1
    assert "containers.cpu_overhead_percent" not in figures  # no such default: compared only
    kvm = figures["hypervisors.kvm.cpu_overhead_percent"]
    assert kvm.cited == defaults.hypervisors["kvm"].cpu_overhead_percent
    assert kvm.measured is None and kvm.why_not
    assert any(n.startswith("KVM guest overhead: not measured: ") for n in calibration.notes)


def test_it_leaves_no_group_behind(
    calibration: Calibration, leftovers: Callable[[int], list[str]]
) -> None:
    assert leftovers(os.getpid()) == []


def test_sigterm_in_the_middle_leaves_no_group_and_no_process(
    hierarchy: Hierarchy, leftovers: Callable[[int], list[str]]
) -> None:
    code = "from underlay.calibration import run_calibration; run_calibration(60)"
    mark = f"calibration-test-{uuid.uuid4()}"  # inherited by every process it starts
    env = {**os.environ, "UNDERLAY_TEST_MARK": mark}
    calibrating = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not leftovers(calibrating.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert leftovers(calibrating.pid), "the calibration made no group"
        time.sleep(1.5)  # a workload is running by now
        assert marked(mark) != [calibrating.pid]
        calibrating.send_signal(signal.SIGTERM)
        calibrating.wait(timeout=30)
    finally:
        calibrating.kill()
    assert leftovers(calibrating.pid) == []
    assert marked(mark) == []  # none of its workloads survived it


def marked(mark: str) -> list[int]:
    """The processes whose environment carries ``mark``."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if mark.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
    return found


def test_without_a_writable_cgroup_it_says_what_it_could_not_measure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from underlay.calibration import cgroups

    monkeypatch.setattr(cgroups, "detect", lambda: "cgroup v2 at /x is not writable")
    cal = run_calibration(4)
    assert cal.cgroup == "none"
    assert "cgroups: not measured: cgroup v2 at /x is not writable" in cal.notes
    for case in ("soft-shares", "hard-quota"):
        assert f"noisy neighbours, {case}: not measured: no writable cgroup" in cal.notes
    # The probe needs no weight alone or beside the memory-bandwidth hog; no hog accounting.
    assert [n.case for n in cal.neighbours] == ["alone", "membw-hog"]
    assert all(n.hog_cpu_seconds is None and n.probe_weight is None for n in cal.neighbours)
