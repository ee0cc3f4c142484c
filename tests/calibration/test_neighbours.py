"""The probe alone is not slower than beside the hog: the issue's qualitative check, with
the cases repeated so that one disturbance (other work on the shared machine, the
hypervisor taking the core away) does not decide it.

The scheduler lets a waking probe preempt the hog at once, so beside a quota-held hog
the probe's p95 is often within the run-to-run noise of the probe alone (CI saw medians
176.9 us alone against 174.9 us beside, the alone repeats spanning 169.9-181.9 us).
"Not slower" is therefore judged beyond that noise: the alone median may exceed the
beside one by no more than the spread of the alone repeats themselves."""

from __future__ import annotations

import os
import statistics

import pytest

from underlay.calibration.cgroups import Hierarchy, session
from underlay.calibration.neighbours import HOG_QUOTA_CORES, Hog, run_case
from underlay.calibration.processes import children

REPEATS = 3
SECONDS = 0.5


# Above this many runnable tasks per core, the probe's core is taken away from it by
# other work more than by the hog (seen once at load 11 on 2 cores): the comparison then
# measures the machine, not the hog.
OVERLOADED_PER_CORE = 3.0


def test_the_probe_alone_is_not_slower_than_beside_the_hog(hierarchy: Hierarchy) -> None:
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > OVERLOADED_PER_CORE * cores:
        pytest.skip(f"machine overloaded (load {load:.1f} on {cores} cores): timing unfair")
    alone: list[float] = []
    beside: list[float] = []
    with children() as kids, session(hierarchy) as made:
        made.prevail()
        core = 0
        for i in range(REPEATS):
            probe = made.group(f"probe-{i}")
            case = run_case(kids, "alone", SECONDS, probe_group=probe, probe_cpu=core, hog=None)
            alone.append(case.probe.p95_us)
            # The hog on the probe's core under the hard quota: it runs its 50 ms at the
            # start of every 100 ms period, and a probe request that wakes meanwhile waits.
            hog = Hog("cpu", made.group(f"hog-{i}"), core, HOG_QUOTA_CORES)
            case = run_case(kids, "hard-quota", SECONDS, probe_group=probe, probe_cpu=core, hog=hog)
            assert case.hog_throttled_s is not None and case.hog_throttled_s > 0
            beside.append(case.probe.p95_us)
    noise = max(alone) - min(alone)
    assert statistics.median(alone) <= statistics.median(beside) + noise, (alone, beside)
