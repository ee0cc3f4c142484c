"""The workloads, in-process and as processes, and the sandbox they run in."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from underlay.calibration import workloads
from underlay.calibration.processes import WorkloadFailed, children, workload_command
from underlay.calibration.results import NeighbourCase, ProbeStats
from underlay.calibration.run import _membw_slowdown
from underlay.calibration.sandbox import sandbox_prefix, why_not_vm


@pytest.mark.parametrize("kind", ["cpu", "syscall", "loopback"])
def test_each_benchmark_counts_work_in_its_window(kind: str) -> None:
    result = workloads.KINDS[kind](0.1)
    assert result["work"] > 0
    assert result["seconds"] >= 0.1


def test_the_probe_is_paced_and_its_percentiles_ordered() -> None:
    # Request i is due at i / rate while i / rate < seconds: ceil(seconds x rate) requests,
    # however fast or slow the machine.
    seconds, rate = 0.25, 100.0
    result = workloads.probe(seconds, rate)
    assert result["requests"] == math.ceil(seconds * rate) == 25
    assert 0 < result["p50_us"] <= result["p95_us"] <= result["p99_us"]
    assert result["cpu_seconds"] > 0
    assert 0 < result["service_p50_us"] <= result["p50_us"]  # a request's latency includes it
    # The on-time requests are some of the requests, and the CPU time of their unit of work
    # alone is part of the process's CPU time (which adds the pacing and the set-up).
    assert 0 <= result["on_time_requests"] <= result["requests"]
    assert 0 <= result["on_time_cpu_seconds"] <= result["cpu_seconds"]


def test_a_workload_process_prints_its_start_then_its_result() -> None:
    with children() as kids:
        process = kids.start(workload_command("syscall", 0.1))
        kids.started(process)
        result = kids.result(process, timeout_s=60)
    assert result["unit"] == "syscalls/s"


def test_a_failing_workload_says_why() -> None:
    with children() as kids:
        process = kids.start([sys.executable, "-c", "raise SystemExit('no luck')"])
        with pytest.raises(WorkloadFailed, match="exit status 1: no luck"):
            kids.started(process)


def test_the_sandbox_has_its_own_pids_and_network() -> None:
    prefix = sandbox_prefix()
    if isinstance(prefix, str):
        pytest.skip(f"no sandbox here: {prefix}")
    code = (
        "import os, socket; from underlay.calibration.workloads import loopback_up;"
        "loopback_up(); print(os.getpid(), [n for _, n in socket.if_nameindex()])"
    )
    out = subprocess.run(
        [*prefix, sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split(maxsplit=1) == ["1", "['lo']\n"]  # PID 1, only a loopback interface
    with children() as kids:
        process = kids.start(workload_command("loopback", 0.1, sandbox=prefix))
        assert kids.result(process, timeout_s=60)["work"] > 0  # lo is up inside


def test_no_vm_says_what_is_missing(tmp_path: Path) -> None:
    kernel = tmp_path / "vmlinuz"
    why = why_not_vm(kernel, tmp_path / "initrd.img")
    assert f"{kernel} does not exist" in why
    assert "--kernel" in why_not_vm(None, None)


def case(service_p50_us: float | None) -> NeighbourCase:
    probe = ProbeStats(400, 300.0, 900.0, 2000.0, 200.0, 0.1, service_p50_us)
    return NeighbourCase("alone", 2.0, probe)


def test_membw_slowdown_is_the_share_of_service_speed_lost() -> None:
    # Median service 100 us alone, 125 us beside the hog: 1 - 100/125 = 0.2 of the work lost.
    assert _membw_slowdown(case(100.0), case(125.0)) == pytest.approx(0.2)
    # Faster beside the hog (noise): recorded as no loss, not as a gain.
    assert _membw_slowdown(case(100.0), case(80.0)) == 0.0
    assert _membw_slowdown(case(None), case(100.0)) is None
