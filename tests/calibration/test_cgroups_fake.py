"""The cgroup layer against a fake cgroupfs in tmp_path: detection, the files each setting
writes, the statistics it reads, and the cleanup (v2 and v1)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from underlay.calibration import cgroups
from underlay.calibration.cgroups import Hierarchy, detect, session, shares_for, weight_for


def fake_v2(tmp_path: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    root = tmp_path / "unified"
    root.mkdir()
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text("")
    return root


@pytest.fixture
def fake_rmdir(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real cgroupfs lets rmdir remove a group with its control files in it; a plain
    # directory holding the files the test wrote needs rmtree.
    def rmdir(path: Path, wait_s: float = 2.0) -> None:
        if path.exists():
            shutil.rmtree(path)

    monkeypatch.setattr(cgroups, "_rmdir", rmdir)


def test_v2_with_cpu_is_chosen(tmp_path: Path) -> None:
    root = fake_v2(tmp_path)
    table = f"cgroup2 {root} cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n"
    assert detect(table) == Hierarchy("v2", root, root)


def test_v2_without_cpu_falls_back_to_v1_with_cpuacct_apart(tmp_path: Path) -> None:
    unified = fake_v2(tmp_path, "hugetlb")
    cpu, acct = tmp_path / "cpu", tmp_path / "cpuacct"
    cpu.mkdir()
    acct.mkdir()
    table = (
        f"cgroup2 {unified} cgroup2 rw,relatime 0 0\n"
        f"cgroup {cpu} cgroup rw,relatime,cpu 0 0\n"
        f"cgroup {acct} cgroup rw,relatime,cpuacct 0 0\n"
        f"cgroup {tmp_path / 'memory'} cgroup rw,relatime,memory 0 0\n"
    )
    assert detect(table) == Hierarchy("v1", cpu, acct)


def test_v1_co_mounted_cpu_and_cpuacct(tmp_path: Path) -> None:
    both = tmp_path / "cpu,cpuacct"
    both.mkdir()
    table = f"cgroup {both} cgroup rw,nosuid,cpu,cpuacct 0 0\n"
    assert detect(table) == Hierarchy("v1", both, both)


def test_no_cpu_controller_anywhere_says_why(tmp_path: Path) -> None:
    unified = fake_v2(tmp_path, "memory pids")
    found = detect(f"cgroup2 {unified} cgroup2 rw 0 0\nproc /proc proc rw 0 0\n")
    assert isinstance(found, str)
    assert f"cgroup v2 at {unified} has no cpu controller" in found
    assert "no cgroup hierarchy" in detect("proc /proc proc rw 0 0\n")


def test_v2_group_settings_and_statistics(tmp_path: Path, fake_rmdir: None) -> None:
    root = fake_v2(tmp_path)
    with session(Hierarchy("v2", root, root)) as made:
        parent = made.parents[0]
        # The cpu controller is delegated to the parent's children, and to the parent.
        assert (root / "cgroup.subtree_control").read_text() == "+cpu"
        assert (parent / "cgroup.subtree_control").read_text() == "+cpu"
        made.prevail()
        assert (parent / "cpu.weight").read_text() == "10000"  # cgroup v2's largest
        group = made.group("probe")
        # 1 core = 1024 shares; weight 1 + (1024 - 2) * 9999 // 262142 = 1 + 38 = 39.
        assert group.set_request(1.0) == 39
        assert (group.cpu_dir / "cpu.weight").read_text() == "39"
        group.set_limit(0.5)  # 0.5 x 100 000 us
        assert (group.cpu_dir / "cpu.max").read_text() == "50000 100000"
        group.set_limit(None)
        assert (group.cpu_dir / "cpu.max").read_text() == "max 100000"
        (group.cpu_dir / "cpu.stat").write_text(
            "usage_usec 2500000\nuser_usec 2000000\nnr_periods 30\n"
            "nr_throttled 7\nthrottled_usec 125000\n"
        )
        stat = group.stat()
        assert (stat.usage_s, stat.throttled_s, stat.nr_throttled) == (2.5, 0.125, 7)
    assert not parent.exists()


def test_v1_settings_and_statistics_in_two_controllers(tmp_path: Path, fake_rmdir: None) -> None:
    cpu, acct = tmp_path / "cpu", tmp_path / "cpuacct"
    cpu.mkdir()
    acct.mkdir()
    with session(Hierarchy("v1", cpu, acct)) as made:
        made.prevail()
        assert (made.parents[0] / "cpu.shares").read_text() == "262144"  # v1's largest
        group = made.group("hog")
        assert group.dirs == [made.parents[0] / "hog", made.parents[1] / "hog"]
        assert group.set_request(2.0) == 2048  # 2 cores x 1024
        group.set_limit(0.25)
        assert (group.cpu_dir / "cpu.cfs_period_us").read_text() == "100000"
        assert (group.cpu_dir / "cpu.cfs_quota_us").read_text() == "25000"  # 0.25 x 100 000
        (group.acct_dir / "cpuacct.usage").write_text("1500000000\n")  # ns
        (group.cpu_dir / "cpu.stat").write_text(
            "nr_periods 20\nnr_throttled 12\nthrottled_time 600000000\n"
        )
        stat = group.stat()
        assert (stat.usage_s, stat.throttled_s, stat.nr_throttled) == (1.5, 0.6, 12)
    assert list(cpu.iterdir()) == [] and list(acct.iterdir()) == []


def test_cleanup_kills_the_groups_processes_even_on_ctrl_c(
    tmp_path: Path, fake_rmdir: None
) -> None:
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        with pytest.raises(KeyboardInterrupt), session(Hierarchy("v1", cpu, cpu)) as made:
            made.group("hog").add(sleeper.pid)
            raise KeyboardInterrupt
        assert sleeper.wait(timeout=5) == -9  # SIGKILL
        assert list(cpu.iterdir()) == []
    finally:
        sleeper.kill()
        sleeper.wait()


@given(st.floats(min_value=0.001, max_value=256), st.floats(min_value=0.001, max_value=256))
def test_weights_follow_requests(a: float, b: float) -> None:
    # Bounds of cgroup v2 cpu.weight: 1..10000; more cores never weigh less.
    low, high = sorted((a, b))
    assert 1 <= weight_for(low) <= weight_for(high) <= 10000
    assert 2 <= shares_for(low) <= shares_for(high)


def test_remove_stale_removes_only_the_groups_of_dead_processes(
    tmp_path: Path, fake_rmdir: None
) -> None:
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()  # its id names a process that no longer exists
    stale = cpu / f"underlay-calibration-{gone.pid}"
    (stale / "hog").mkdir(parents=True)
    (stale / "hog" / "cgroup.procs").write_text("")
    live = cpu / f"underlay-calibration-{os.getpid()}"
    live.mkdir()
    assert cgroups.remove_stale(Hierarchy("v1", cpu, cpu)) == [stale]
    assert sorted(cpu.iterdir()) == [live]


def test_a_hierarchy_that_refuses_groups_is_unusable_and_says_why(tmp_path: Path) -> None:
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    (cpu / f"underlay-calibration-{os.getpid()}").write_text("")  # mkdir there fails
    why = cgroups.why_unusable(Hierarchy("v1", cpu, cpu))
    assert why.startswith("cannot create a CPU group in cgroup v1: File exists")


def test_a_usable_hierarchy_leaves_nothing_from_its_trial(tmp_path: Path, fake_rmdir: None) -> None:
    root = fake_v2(tmp_path)
    assert cgroups.why_unusable(Hierarchy("v2", root, root)) == ""
    assert sorted(p.name for p in root.iterdir()) == [
        "cgroup.controllers",
        "cgroup.subtree_control",
    ]
