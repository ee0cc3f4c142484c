"""CPU cgroups for the calibration experiments, on cgroup v2 or v1.

:func:`detect` finds the hierarchy that is mounted *and* writable from the mount table:

- v2: a ``cgroup2`` mount whose ``cgroup.controllers`` lists ``cpu``;
- v1: the ``cgroup`` mount with the ``cpu`` controller, and the one with ``cpuacct``
  (the same directory when they are co-mounted as ``cpu,cpuacct``, two otherwise).

Either way it returns a :class:`Hierarchy`, or the reason there is none as a string
("not measured: …" is the caller's to say). :func:`session` then creates one parent
group, ``underlay-calibration-<pid>``, and :class:`CpuGroup` children in it; on leaving
the ``with`` block — normally, on an error, on Ctrl-C or SIGTERM (both unwind the stack
as exceptions in underlay) — it kills every process still in those groups and removes
every group it created. :func:`remove_stale` removes the groups of an earlier run whose
process died without cleaning up (``kill -9``).

Requests become weights as the kubelet makes them (kubernetes
pkg/kubelet/cm/helpers_linux.go ``MilliCPUToShares``: 1024 shares per core, at least 2;
cgroup v2 weight from shares as in runc libcontainer/cgroups ``ConvertCPUSharesToCgroupV2Value``:
``1 + (shares − 2) × 9999 / 262142``); limits become a CFS quota over a 100 ms period,
the kubelet's default ``cpu-cfs-quota-period``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "PERIOD_US",
    "CpuGroup",
    "CpuStat",
    "Hierarchy",
    "Session",
    "detect",
    "remove_stale",
    "session",
    "shares_for",
    "weight_for",
    "why_unusable",
]

PERIOD_US = 100_000
"""The CFS period of every quota set here (the kubelet's default, 100 ms)."""

PREFIX = "underlay-calibration-"
"""The name of every parent group this module creates, before the creating process's id."""


@dataclass(frozen=True)
class Hierarchy:
    """A writable CPU cgroup hierarchy: where groups are made and read."""

    version: Literal["v1", "v2"]
    cpu_root: Path  # v2: the unified mount; v1: the ``cpu`` controller's mount
    acct_root: Path  # v1: the ``cpuacct`` mount (may be ``cpu_root``); v2: ``cpu_root``


@dataclass(frozen=True)
class CpuStat:
    """A group's CPU accounting at one moment, since the group was made."""

    usage_s: float  # CPU time used by its processes
    throttled_s: float  # time its processes were held back by the quota
    nr_throttled: int  # periods in which they were


def shares_for(cores: float) -> int:
    """cgroup v1 ``cpu.shares`` for a request of ``cores`` (the kubelet's rule)."""
    return max(2, int(cores * 1024))


def weight_for(cores: float) -> int:
    """cgroup v2 ``cpu.weight`` for a request of ``cores`` (shares converted as runc does)."""
    return 1 + ((shares_for(cores) - 2) * 9999) // 262142


def _mounts(text: str) -> list[tuple[Path, str, set[str]]]:
    """``(mount point, type, options)`` of every cgroup mount in a mount table."""
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
            point = Path(parts[1].replace("\\040", " "))
            found.append((point, parts[2], set(parts[3].split(","))))
    return found


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def detect(mount_table: str | None = None) -> Hierarchy | str:
    """The writable CPU hierarchy (v2 preferred), or why there is none.

    ``mount_table`` is ``/proc/self/mounts`` by default (tests give a fake one).
    """
    if mount_table is None:
        try:
            mount_table = Path("/proc/self/mounts").read_text(encoding="utf-8")
        except OSError as exc:
            return f"cannot read /proc/self/mounts ({exc.strerror})"
    mounts = _mounts(mount_table)
    reasons: list[str] = []
    for point, kind, _ in mounts:
        if kind != "cgroup2":
            continue
        controllers = _read(point / "cgroup.controllers").split()
        if "cpu" not in controllers:
            reasons.append(f"cgroup v2 at {point} has no cpu controller")
        elif not _writable(point):
            reasons.append(f"cgroup v2 at {point} is not writable")
        else:
            return Hierarchy("v2", point, point)
    cpu = [p for p, kind, opts in mounts if kind == "cgroup" and "cpu" in opts]
    acct = [p for p, kind, opts in mounts if kind == "cgroup" and "cpuacct" in opts]
    if cpu and acct:
        if _writable(cpu[0]) and _writable(acct[0]):
            return Hierarchy("v1", cpu[0], acct[0])
        reasons.append(f"cgroup v1 at {cpu[0]} and {acct[0]} is not writable")
    elif not reasons:
        reasons.append("no cgroup hierarchy with the cpu controller is mounted")
    else:
        reasons.append("no cgroup v1 cpu and cpuacct controllers are mounted")
    return "; ".join(reasons)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    # One write() per value: cgroup files take one value per write call.
    with path.open("w", encoding="utf-8") as handle:
        handle.write(value)


@dataclass
class CpuGroup:
    """One child group: its weight, its quota, its processes and its accounting."""

    hierarchy: Hierarchy
    cpu_dir: Path
    acct_dir: Path

    @property
    def dirs(self) -> list[Path]:
        """Its directories (two on a v1 hierarchy whose cpuacct is mounted apart)."""
        return [self.cpu_dir] if self.acct_dir == self.cpu_dir else [self.cpu_dir, self.acct_dir]

    @property
    def procs_files(self) -> list[Path]:
        """The files a process id is written to, to move that process in."""
        return [d / "cgroup.procs" for d in self.dirs]

    def set_request(self, cores: float) -> int:
        """Set the CPU weight (v2) or shares (v1) for a request of ``cores``; the value set."""
        if self.hierarchy.version == "v2":
            value = weight_for(cores)
            _write(self.cpu_dir / "cpu.weight", str(value))
        else:
            value = shares_for(cores)
            _write(self.cpu_dir / "cpu.shares", str(value))
        return value

    def set_limit(self, cores: float | None) -> None:
        """A hard quota of ``cores`` per 100 ms period (None: no quota)."""
        quota = None if cores is None else max(1000, round(cores * PERIOD_US))
        if self.hierarchy.version == "v2":
            text = "max" if quota is None else str(quota)
            _write(self.cpu_dir / "cpu.max", f"{text} {PERIOD_US}")
        else:
            _write(self.cpu_dir / "cpu.cfs_period_us", str(PERIOD_US))
            _write(self.cpu_dir / "cpu.cfs_quota_us", "-1" if quota is None else str(quota))

    def add(self, pid: int) -> None:
        """Move process ``pid`` (and the children it starts afterwards) into the group."""
        for path in self.procs_files:
            _write(path, str(pid))

    def pids(self) -> list[int]:
        """The processes in the group now."""
        found: set[int] = set()
        for path in self.procs_files:
            found.update(int(x) for x in _read(path).split())
        return sorted(found)

    def stat(self) -> CpuStat:
        """CPU time used and time throttled, from the group's own files."""
        if self.hierarchy.version == "v2":
            fields = _keyed(_read(self.cpu_dir / "cpu.stat"))
            return CpuStat(
                usage_s=fields.get("usage_usec", 0) / 1e6,
                throttled_s=fields.get("throttled_usec", 0) / 1e6,
                nr_throttled=fields.get("nr_throttled", 0),
            )
        fields = _keyed(_read(self.cpu_dir / "cpu.stat"))
        usage = _read(self.acct_dir / "cpuacct.usage").strip()
        return CpuStat(
            usage_s=int(usage or 0) / 1e9,
            throttled_s=fields.get("throttled_time", 0) / 1e9,
            nr_throttled=fields.get("nr_throttled", 0),
        )


def _keyed(text: str) -> dict[str, int]:
    """``key value`` lines (``cpu.stat``) as a dict; lines of another shape are skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


@dataclass
class Session:
    """The groups of one run, under one parent group per hierarchy root."""

    hierarchy: Hierarchy
    parents: list[Path]
    groups: list[CpuGroup] = field(default_factory=list)

    def prevail(self) -> None:
        """Give the parent group the largest weight the hierarchy allows (v1 shares 262144,
        v2 weight 10000): other work on the machine then barely dilutes what its groups
        get, and they share their cores as they would on a host they fill alone."""
        if self.hierarchy.version == "v2":
            _write(self.parents[0] / "cpu.weight", "10000")
        else:
            _write(self.parents[0] / "cpu.shares", "262144")

    def group(self, name: str) -> CpuGroup:
        """A new child group ``name`` (removed when the session ends)."""
        cpu_dir = self.parents[0] / name
        acct_dir = self.parents[-1] / name
        group = CpuGroup(self.hierarchy, cpu_dir, acct_dir)
        for path in group.dirs:
            path.mkdir()
            # Registered as soon as one directory exists, so a failure after it still cleans up.
            if group not in self.groups:
                self.groups.append(group)
        return group


@contextlib.contextmanager
def session(hierarchy: Hierarchy) -> Iterator[Session]:
    """A parent group for this run; every group and process in it is gone on exit."""
    roots = [hierarchy.cpu_root]
    if hierarchy.acct_root != hierarchy.cpu_root:
        roots.append(hierarchy.acct_root)
    parents: list[Path] = []
    made = Session(hierarchy, parents)
    try:
        for root in roots:
            parent = root / f"{PREFIX}{os.getpid()}"
            parent.mkdir()
            parents.append(parent)
        if hierarchy.version == "v2":
            # Children get the cpu controller's files only when their parent delegates it.
            _enable_cpu(hierarchy.cpu_root)
            _write(parents[0] / "cgroup.subtree_control", "+cpu")
        yield made
    finally:
        _remove([*made.groups], parents)


def _enable_cpu(root: Path) -> None:
    if "cpu" not in _read(root / "cgroup.subtree_control").split():
        _write(root / "cgroup.subtree_control", "+cpu")


def _remove(groups: list[CpuGroup], parents: list[Path]) -> None:
    """Kill what runs in ``groups``, then remove them and ``parents`` (deepest first)."""
    for group in groups:
        for pid in group.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    failed: list[OSError] = []
    for path in [*(d for g in reversed(groups) for d in g.dirs), *reversed(parents)]:
        try:
            _rmdir(path)
        except OSError as exc:  # keep removing the others; say which one stayed
            failed.append(exc)
    if failed:
        raise OSError(f"cgroups left behind: {', '.join(str(e) for e in failed)}")


def _rmdir(path: Path, wait_s: float = 2.0) -> None:
    """Remove a group; a killed process may take a moment to leave it (EBUSY)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def why_unusable(hierarchy: Hierarchy) -> str:
    """Why groups cannot be made and set in ``hierarchy`` ("" when they can): a trial
    session with one group, weighted and limited, then removed.

    A writable mount is not always enough: in a container whose cgroup namespace root holds
    processes, cgroup v2 refuses to delegate the cpu controller below it (EBUSY).
    """
    try:
        with session(hierarchy) as trial:
            group = trial.group("trial")
            group.set_request(1.0)
            group.set_limit(None)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return (
            f"cannot create a CPU group in cgroup {hierarchy.version}: {exc.strerror or exc}{where}"
        )
    return ""


def remove_stale(hierarchy: Hierarchy) -> list[Path]:
    """Remove the parent groups of earlier runs whose process is gone; the ones removed."""
    removed: list[Path] = []
    for root in {hierarchy.cpu_root, hierarchy.acct_root}:
        for parent in sorted(root.glob(f"{PREFIX}*")):
            pid = parent.name.removeprefix(PREFIX)
            if not pid.isdigit() or Path(f"/proc/{pid}").exists():
                continue
            children = [p for p in sorted(parent.iterdir()) if p.is_dir()]
            groups = [CpuGroup(hierarchy, c, c) for c in children]
            _remove(groups, [parent])
            removed.append(parent)
    return removed
