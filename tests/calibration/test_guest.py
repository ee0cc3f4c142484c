"""Talking to the guest, with a stand-in for QEMU (a script given QEMU's command line):
the boot's time limits and reasons, the retry without IA32_ARCH_CAPABILITIES, the
benchmarks asked of the guest's server, and nothing left running afterwards."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from underlay.calibration import guest as guest_server
from underlay.calibration import kvm
from underlay.calibration.guestboot import ask_guest, boot
from underlay.calibration.kvm import CPU_MODELS, ERROR_MARK, INIT_MARK, Guest
from underlay.calibration.overheads import BENCHES, measure_overheads
from underlay.calibration.processes import children
from underlay.calibration.results import OverheadRun
from underlay.calibration.run import figures
from underlay.defaults import load_defaults

NO_FILES = "no guest kernel and initrd given (--kernel, --initrd)"
SERVER = f"exec {sys.executable} -m underlay.calibration.guest"


def fake_qemu(tmp_path: Path, body: str) -> Guest:
    """A guest whose "QEMU" is a shell script: it logs its arguments, then runs ``body``."""
    script = tmp_path / "qemu"
    script.write_text(f'#!/bin/sh\necho "core=$(ulimit -c) $@" >> {tmp_path}/calls\n{body}\n')
    script.chmod(0o755)
    return Guest(
        str(script), tmp_path / "vmlinuz", tmp_path / "initrd", cpus=1, start_s=5, ready_s=60
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the guest's server brings lo up (SIOCSIFFLAGS), which needs root"
)


@needs_root
def test_every_benchmark_gets_a_vm_figure_from_the_guest_server(tmp_path: Path) -> None:
    vm = fake_qemu(tmp_path, f'echo "{INIT_MARK}"\n{SERVER}')
    with children() as kids:
        runs = measure_overheads(
            kids, None, "no sandbox here", 0.05, boot(kids, vm), lambda _: None
        )
        pids = [p.pid for p in kids.running]
    assert [r.bench for r in runs] == list(BENCHES)
    for run in runs:
        assert run.vm is not None and run.vm > 0 and run.why_not_vm == ""
        assert run.container is None and run.why_not_container == "no sandbox here"
    assert not any(alive(pid) for pid in pids)


def test_a_kernel_that_never_starts_init_is_given_up(tmp_path: Path) -> None:
    vm = replace(fake_qemu(tmp_path, "sleep 60"), start_s=0.5)
    with children() as kids:
        why = boot(kids, vm)
        pid = kids.running[0].pid
    assert isinstance(why, str) and why.startswith(
        "the guest's kernel did not start /init within 0.5 s"
    )
    assert not alive(pid)


def test_a_server_never_ready_is_given_up(tmp_path: Path) -> None:
    vm = replace(fake_qemu(tmp_path, f'echo "{INIT_MARK}"; sleep 60'), ready_s=1)
    with children() as kids:
        why = boot(kids, vm)
    assert why == "the guest did not answer within 1 s"


def test_the_guest_says_why_it_could_not_mount_the_host(tmp_path: Path) -> None:
    vm = fake_qemu(
        tmp_path, f'echo "{INIT_MARK}"; echo "{ERROR_MARK} could not mount the host: no 9p"'
    )
    with children() as kids:
        why = boot(kids, vm)
    assert why == "the guest could not mount the host: no 9p"


@needs_root
def test_qemu_refusing_the_msr_is_tried_again_without_it(tmp_path: Path) -> None:
    refuse = (
        'case "$*" in *"-cpu host "*) echo "error: failed to set MSR 0x10a to 0x69" >&2; exit 134;; esac\n'
        f'echo "{INIT_MARK}"\n{SERVER}'
    )
    vm = fake_qemu(tmp_path, refuse)
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if hard != 0:  # allow core files here, so that only boot() can stop them
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else min(hard, 1 << 20)
        resource.setrlimit(resource.RLIMIT_CORE, (wanted, hard))
    with children() as kids:
        try:
            booted = boot(kids, vm)
        finally:
            resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
        assert not isinstance(booted, str), booted
        assert "iterations" in str(ask_guest(kids, booted, "cpu", 0.05, 30))
    tried = [
        line.split(" -cpu ")[1].split()[0] for line in (tmp_path / "calls").read_text().splitlines()
    ]
    assert tried == list(CPU_MODELS)
    assert all(line.startswith("core=0 ") for line in (tmp_path / "calls").read_text().splitlines())


def test_qemu_failing_otherwise_is_not_retried(tmp_path: Path) -> None:
    vm = fake_qemu(tmp_path, 'echo "qemu: could not load kernel" >&2; exit 1')
    with children() as kids:
        why = boot(kids, vm)
    assert (
        why == "QEMU ended (exit status 1) before the guest was ready: qemu: could not load kernel"
    )
    assert len((tmp_path / "calls").read_text().splitlines()) == 1


def test_a_guest_that_stops_answering_is_killed(tmp_path: Path) -> None:
    vm = fake_qemu(tmp_path, f'echo "{INIT_MARK}"; echo \'{{"event": "ready"}}\'; sleep 60')
    with children() as kids:
        booted = boot(kids, vm)
        assert not isinstance(booted, str)
        assert (
            ask_guest(kids, booted, "cpu", 0.05, 1) == "the guest did not answer within 1 s (cpu)"
        )
        assert booted.wait(timeout=5) is not None


def test_the_time_the_host_took_is_not_counted_as_the_benchmarks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steal = iter([10.0, 10.25])
    monkeypatch.setattr(guest_server, "steal_seconds", lambda: next(steal))
    monkeypatch.setitem(guest_server.KINDS, "cpu", lambda s: {"work": 100, "cpu_seconds": 1.0})
    result = guest_server._run("cpu", 1.0)
    assert result == {"work": 100, "cpu_seconds": 1.0 - 0.25, "steal_seconds": 0.25}


def test_the_kvm_figure_is_the_cpu_loops_loss_in_the_guest() -> None:
    cited = load_defaults().hypervisors["kvm"].cpu_overhead_percent
    runs = [OverheadRun("cpu", "iterations/CPU-s", 200.0, None, 190.0)]
    kvm = next(f for f in figures(runs, [], "") if f.default.startswith("hypervisors.kvm"))
    assert kvm.cited == cited and kvm.measured == pytest.approx(100 * (1 - 190 / 200))
    faster = [OverheadRun("cpu", "iterations/CPU-s", 200.0, None, 210.0)]
    kvm = next(f for f in figures(faster, [], "") if f.default.startswith("hypervisors.kvm"))
    assert kvm.measured == 0.0  # a gain counts as 0
    none = [OverheadRun("cpu", "iterations/CPU-s", 200.0, None, None, why_not_vm="no QEMU")]
    kvm = next(f for f in figures(none, [], "no QEMU") if f.default.startswith("hypervisors.kvm"))
    assert kvm.measured is None and kvm.why_not == "no QEMU"


@pytest.mark.skipif(isinstance(kvm.static_busybox(), str), reason="no static busybox on PATH")
@pytest.mark.skipif(
    bool(kvm.why_not_vm(None, None).replace(NO_FILES, "").strip("; ")), reason="no usable /dev/kvm"
)
def test_sigterm_while_the_guest_runs_leaves_no_qemu(tmp_path: Path) -> None:
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    busybox = kvm.static_busybox()
    assert isinstance(busybox, Path)
    (bin_ / "busybox").symlink_to(busybox)
    pids = tmp_path / "pids"
    qemu = bin_ / "qemu-system-x86_64"  # boots, then never gets ready
    qemu.write_text(f'#!/bin/sh\necho $$ >> {pids}\necho "{INIT_MARK}"\nexec sleep 300\n')
    qemu.chmod(0o755)
    for name in ("vmlinuz", "initrd"):
        (tmp_path / name).write_bytes(b"\0" * 64)
    code = (
        "import sys; from pathlib import Path; from underlay.calibration import run_calibration; "
        "run_calibration(60, kernel=Path(sys.argv[1]), initrd=Path(sys.argv[2]), "
        "progress=lambda line: print(line, flush=True))"
    )
    env = {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}"}
    args = [sys.executable, "-c", code, str(tmp_path / "vmlinuz"), str(tmp_path / "initrd")]
    calibrating = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert calibrating.stdout is not None
        for line in calibrating.stdout:
            if "booting the KVM guest" in line:
                break
        deadline = time.monotonic() + 30
        while not pids.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(pids.read_text().split()[0])
        assert alive(pid)
        calibrating.send_signal(signal.SIGTERM)
        calibrating.wait(timeout=30)
    finally:
        calibrating.kill()
    time.sleep(0.2)
    assert not alive(pid)
