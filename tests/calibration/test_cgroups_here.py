"""The cgroup layer on this machine's real hierarchy (v1 here; v2 where mounted): a quota
caps a hog's CPU time, measured from the group's own statistics, and nothing is left
behind, also after a Ctrl-C in the middle. Qualitative checks only: the machine is shared.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import pytest

from underlay.calibration.cgroups import PERIOD_US, CpuStat, Hierarchy, session
from underlay.calibration.processes import children, workload_command

QUOTA_CORES = 0.1
SECONDS = 1.5


def hog_usage(hierarchy: Hierarchy, quota: float | None) -> tuple[CpuStat, float]:
    """Two unpinned CPU hogs in one group for SECONDS: the group's stats and the wall time."""
    with children() as kids, session(hierarchy) as made:
        group = made.group("hog")
        group.set_limit(quota)
        hogs = [kids.start(workload_command("cpu", SECONDS), group=group) for _ in range(2)]
        for hog in hogs:
            kids.started(hog)
        before, began = group.stat(), time.monotonic()
        for hog in hogs:
            kids.result(hog, timeout_s=60)
        after, wall = group.stat(), time.monotonic() - began
    used = CpuStat(
        after.usage_s - before.usage_s,
        after.throttled_s - before.throttled_s,
        after.nr_throttled - before.nr_throttled,
    )
    return used, wall


def test_a_hard_quota_caps_the_hogs_cpu_time(
    hierarchy: Hierarchy, leftovers: Callable[[int], list[str]]
) -> None:
    capped, wall = hog_usage(hierarchy, QUOTA_CORES)
    free, _ = hog_usage(hierarchy, None)
    # CFS gives the group at most quota x wall, give or take one period at each end.
    cap = QUOTA_CORES * wall + 2 * PERIOD_US / 1e6 * QUOTA_CORES
    assert capped.usage_s <= cap * 1.1, (capped, wall)
    assert capped.nr_throttled > 0 and capped.throttled_s > 0
    assert free.nr_throttled == 0
    assert capped.usage_s < free.usage_s
    assert leftovers(os.getpid()) == []


def test_ctrl_c_in_the_middle_leaves_no_group_and_no_process(
    hierarchy: Hierarchy, leftovers: Callable[[int], list[str]]
) -> None:
    with pytest.raises(KeyboardInterrupt), children() as kids, session(hierarchy) as made:
        group = made.group("hog")
        hog = kids.start(workload_command("cpu", 60), group=group)
        kids.started(hog)
        assert group.pids() == [hog.pid]
        os.kill(os.getpid(), signal.SIGINT)  # Python's handler raises KeyboardInterrupt
        time.sleep(5)
    assert hog.poll() is not None
    assert leftovers(os.getpid()) == []
