"""The guest booted for real, from the image ``scripts/guest-image DIR`` builds
(``UNDERLAY_GUEST_DIR=DIR``; ``.ci/run`` builds one): a short calibration in a KVM guest,
and the same guest under QEMU's emulator (TCG), which checks the guest's own side (its
``/init``, the modules, the host mounted over 9p, the benchmark server) where KVM cannot
boot it. Qualitative facts only, never a timing threshold."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from underlay.calibration import kvm, run_calibration
from underlay.calibration.file import read_calibration, write_calibration
from underlay.calibration.guestboot import boot
from underlay.calibration.overheads import BENCHES, measure_overheads
from underlay.calibration.processes import children


@pytest.fixture(scope="module")
def image() -> tuple[Path, Path]:
    """The guest's kernel and initrd (the test is skipped without them)."""
    folder = os.environ.get("UNDERLAY_GUEST_DIR")
    if not folder:
        pytest.skip("no guest image: run scripts/guest-image DIR, then set UNDERLAY_GUEST_DIR=DIR")
    kernel, initrd = Path(folder, "vmlinuz"), Path(folder, "initrd.img")
    if not (kernel.is_file() and initrd.is_file()):
        pytest.skip(f"UNDERLAY_GUEST_DIR={folder} holds no vmlinuz and initrd.img")
    return kernel, initrd


def qemu_running(kernel: Path) -> list[int]:
    """The QEMU processes booting ``kernel``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and b"qemu-system" in args[0] and str(kernel).encode() in args:
            found.append(int(cmdline.parent.name))
    return found


def test_a_short_calibration_measures_the_kvm_guest(
    image: tuple[Path, Path], tmp_path: Path
) -> None:
    kernel, initrd = image
    why = kvm.why_not_vm(kernel, initrd)
    if why:
        pytest.skip(f"no KVM guest here: {why}")
    cal = run_calibration(10, kernel=kernel, initrd=initrd)
    assert [o.bench for o in cal.overheads] == list(BENCHES)
    assert qemu_running(kernel) == []
    if kvm.hypervisor_module() == "kvm_pvm":  # Debian's kernel does not boot on PVM
        for run in cal.overheads:
            assert run.vm is None and "kvm_pvm" in run.why_not_vm
        assert any("KVM guest overhead: not measured: " in n for n in cal.notes)
        pytest.skip("/dev/kvm here is kvm_pvm: the guest did not boot, and the run said why")
    for run in cal.overheads:
        assert run.vm is not None and run.vm > 0, run.why_not_vm
    out = tmp_path / "calibration.yaml"
    write_calibration(cal, out)
    figure = next(
        f
        for f in read_calibration(out).figures
        if f.default == "hypervisors.kvm.cpu_overhead_percent"
    )
    assert figure.measured is not None and figure.measured >= 0


@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="QEMU is not installed")
@pytest.mark.skipif(isinstance(kvm.static_busybox(), str), reason="no static busybox on PATH")
@pytest.mark.skipif(os.geteuid() != 0, reason="the guest's server brings lo up, which needs root")
def test_the_guest_runs_every_benchmark_under_emulation(
    image: tuple[Path, Path], tmp_path: Path
) -> None:
    kernel, initrd = image
    prepared = kvm.prepare(kernel, initrd, tmp_path, cpus=2)
    assert not isinstance(prepared, str), prepared
    guest, note = prepared
    assert note.startswith(f"modules from {kernel.parent}")
    # emulated, the boot takes tens of seconds on a busy host: a generous limit
    guest = replace(guest, accel="tcg", start_s=300, ready_s=600)
    with children() as kids:
        runs = measure_overheads(
            kids, None, "not asked", 0.1, boot(kids, guest), lambda _: None, answer_s=300
        )
    for run in runs:
        assert run.vm is not None and run.vm > 0, run.why_not_vm
    assert qemu_running(kernel) == []
