"""Hand-made calibration runs for the calibration tests (no measurement needed)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from underlay.calibration.results import Calibration, Figure, NeighbourCase, ProbeStats

__all__ = ["make_calibration", "make_case", "make_probe"]


def make_probe(**overrides: Any) -> ProbeStats:
    """The probe: 1,000 requests at 100 µs median, 2,000 units of work a second."""
    probe = ProbeStats(
        requests=1000,
        p50_us=100.0,
        p95_us=150.0,
        p99_us=200.0,
        work_per_s=2000.0,
        cpu_seconds=5.0,
    )
    return replace(probe, **overrides)


def make_case(case: Any = "alone", **overrides: Any) -> NeighbourCase:
    """One noisy-neighbour case of 20 s with the default probe."""
    return replace(NeighbourCase(case=case, duration_s=20.0, probe=make_probe()), **overrides)


def make_calibration(**overrides: Any) -> Calibration:
    """A 2-core cgroup v1 run on host ``lab-1`` with one measured and one missing figure."""
    cal = Calibration(
        host="lab-1",
        measured_at="2026-12-03T08:00:00Z",
        cpu_model="Test CPU",
        cores=2,
        cgroup="v1",
        duration_s=20.0,
        figures=[
            Figure(
                default="interference.slowdown_at_full_load",
                cited=0.1,
                measured=0.07,
                unit="share of work lost",
                how="probe work lost beside a memory-bandwidth hog",
            ),
            Figure(
                default="hypervisors.kvm.cpu_overhead_percent",
                cited=2.0,
                measured=None,
                unit="%",
                how="CPU-bound loop in a KVM guest",
                why_not="/dev/kvm not usable: open() failed with EACCES",
            ),
        ],
    )
    return replace(cal, **overrides)
