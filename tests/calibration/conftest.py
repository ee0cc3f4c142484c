"""What the calibration tests on this machine need: root and a writable CPU cgroup."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from underlay.calibration.cgroups import Hierarchy, detect


@pytest.fixture(scope="session")
def hierarchy() -> Hierarchy:
    """This machine's writable CPU cgroup hierarchy (the test is skipped without one)."""
    if os.geteuid() != 0:
        pytest.skip("not root: creating cgroups needs root")
    found = detect()
    if isinstance(found, str):
        pytest.skip(f"no writable CPU cgroup hierarchy: {found}")
    return found


Leftovers = Callable[[int], list[str]]


@pytest.fixture
def leftovers(hierarchy: Hierarchy) -> Leftovers:
    """The parent groups of process ``pid``'s calibration still in the hierarchy."""

    def left(pid: int) -> list[str]:
        roots = {hierarchy.cpu_root, hierarchy.acct_root}
        return sorted(str(p) for r in roots for p in r.glob(f"underlay-calibration-{pid}"))

    return left
