"""The KVM guest's parts that need no hypervisor: the cpio writer (read back by the cpio
tool and by a reader written here from the format), the kernel's release and modules, the
overlay and its ``/init``, QEMU's command line, and why a guest cannot run."""

from __future__ import annotations

import shutil
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from underlay.calibration import kvm
from underlay.calibration.cpio import Member, newc
from underlay.calibration.kvm import Guest, init_script, kernel_release, qemu_command


def read_newc(data: bytes) -> dict[str, tuple[int, bytes]]:
    """Every member of a newc archive by name: (mode, contents), read as the format says
    (110-byte header, name padded to 4 bytes with the header, contents padded to 4)."""
    members, at = {}, 0
    while True:
        head = data[at : at + 110]
        assert head[:6] == b"070701"
        fields = [int(head[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[at + 110 : at + 110 + namesize - 1].decode()
        at += 110 + namesize
        at += -at % 4
        body = data[at : at + size]
        at += size + (-size % 4)
        if name == "TRAILER!!!":
            assert at == len(data)
            return members
        members[name] = (mode, body)


names = st.text(st.sampled_from("abcxyz019._-"), min_size=1, max_size=12).filter(
    lambda n: n not in (".", "..", "TRAILER!!!")
)


@given(st.dictionaries(names, st.binary(max_size=70), min_size=1, max_size=5))
@example({"a": b""})
@example({"abc": b"123"})  # name and contents each need padding
def test_newc_members_read_back_as_written(files: dict[str, bytes]) -> None:
    data = newc([Member(name, 0o640, body) for name, body in files.items()])
    assert len(data) % 4 == 0
    back = read_newc(data)
    assert {n: b for n, (_, b) in back.items()} == files
    assert all(mode == stat.S_IFREG | 0o640 for mode, _ in back.values())


@pytest.mark.skipif(shutil.which("cpio") is None, reason="the cpio tool is not installed")
def test_the_cpio_tool_unpacks_folders_files_and_links(tmp_path: Path) -> None:
    archive = newc(
        [
            Member("d", 0o755, None),
            Member("d/run", 0o755, b"#!/bin/sh\necho hi\n"),
            Member("d/link", link_to="run"),
            Member("/top", data=b"x"),  # a leading slash is dropped
        ]
    )
    done = subprocess.run(
        ["cpio", "-id", "--quiet"], input=archive, cwd=tmp_path, capture_output=True, check=True
    )
    assert done.stderr == b""
    assert (tmp_path / "d").is_dir() and (tmp_path / "top").read_bytes() == b"x"
    assert (tmp_path / "d" / "run").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "d" / "link").readlink() == Path("run")


def fake_kernel(path: Path, release: str) -> Path:
    """The x86 setup header's two fields kernel_release reads: "HdrS" at 0x202 and, at
    0x20E, where the version string is, less 0x200."""
    image = bytearray(0x3000)
    image[0x202:0x206] = b"HdrS"
    image[0x20E:0x210] = (0x2400 - 0x200).to_bytes(2, "little")
    text = f"{release} (builder@example) #1 SMP".encode()
    image[0x2400 : 0x2400 + len(text)] = text
    path.write_bytes(bytes(image))
    return path


def test_the_release_comes_from_the_setup_header(tmp_path: Path) -> None:
    assert kernel_release(fake_kernel(tmp_path / "vmlinuz", "6.1.0-9-amd64")) == "6.1.0-9-amd64"
    (tmp_path / "text").write_bytes(b"not a kernel" * 100)
    assert kernel_release(tmp_path / "text") is None


def fake_module(folder: Path, name: str, depends: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ko").write_bytes(
        b"\x7fELF...\0license=GPL\0depends=" + depends.encode() + b"\0x"
    )


def test_modules_come_with_their_dependencies_first(tmp_path: Path) -> None:
    kernel = fake_kernel(tmp_path / "vmlinuz", "6.1.0-9-amd64")
    mods = tmp_path / "lib" / "modules" / "6.1.0-9-amd64" / "kernel"
    fake_module(mods / "fs", "9p", "9pnet,netfs")
    fake_module(mods / "net", "9pnet_virtio", "virtio,9pnet")
    fake_module(mods / "net", "9pnet", "")
    fake_module(mods / "fs", "netfs", "")
    fake_module(mods / "virtio", "virtio", "")
    fake_module(mods / "virtio", "virtio_pci", "virtio")
    fake_module(mods / "other", "unrelated", "")
    got, note = kvm.guest_modules(kernel)
    order = [name for name, _ in got]
    assert sorted(order) == ["9p", "9pnet", "9pnet_virtio", "netfs", "virtio", "virtio_pci"]
    for name, needs in [
        ("9p", "9pnet"),
        ("9p", "netfs"),
        ("9pnet_virtio", "virtio"),
        ("virtio_pci", "virtio"),
    ]:
        assert order.index(needs) < order.index(name)
    assert str(mods.parent) in note


def test_no_modules_folder_is_said(tmp_path: Path) -> None:
    got, note = kvm.guest_modules(fake_kernel(tmp_path / "vmlinuz", "0.0-none"))
    assert got == [] and "no modules folder for 0.0-none" in note


def guest(tmp_path: Path, **changes: object) -> Guest:
    made = Guest("/usr/bin/qemu-system-x86_64", tmp_path / "vmlinuz", tmp_path / "initrd", cpus=2)
    return replace(made, **changes)  # type: ignore[arg-type]


def test_qemu_runs_kvm_with_the_host_cpu_and_no_network(tmp_path: Path) -> None:
    command = qemu_command(guest(tmp_path, memory_mb=768))
    joined = " ".join(command)
    assert "-enable-kvm" in command and command[command.index("-cpu") + 1] == "host"
    assert command[command.index("-smp") + 1] == "2" and command[command.index("-m") + 1] == "768M"
    assert "-nographic" in command and command[command.index("-nic") + 1] == "none"
    assert command[command.index("-kernel") + 1] == str(tmp_path / "vmlinuz")
    assert command[command.index("-initrd") + 1] == str(tmp_path / "initrd")
    virtfs = command[command.index("-virtfs") + 1].split(",")
    assert {"path=/", "mount_tag=host", "readonly=on"} <= set(virtfs)
    assert "console=ttyS0" in joined and "-no-reboot" in command
    emulated = qemu_command(guest(tmp_path, accel="tcg"))
    assert "-enable-kvm" not in emulated and emulated[emulated.index("-accel") + 1] == "tcg"


def test_the_init_mounts_the_host_read_only_and_runs_the_guest_server() -> None:
    script = init_script("/opt/it's/python", "/work/x", {"PYTHONPATH": "/a b"})
    assert script.startswith("#!/underlay/busybox sh\n")
    assert "mount -t 9p -o trans=virtio,version=9p2000.L,ro," in script
    assert "chroot /host '/opt/it'\\''s/python' -m underlay.calibration.guest" in script
    assert "export PYTHONPATH='/a b'" in script
    assert script.index(kvm.INIT_MARK) < script.index("insmod")
    busybox = shutil.which("busybox")
    if busybox is not None:  # the shell that runs it reads it without a syntax error
        subprocess.run([busybox, "sh", "-n", "-c", script], check=True)


@pytest.mark.skipif(isinstance(kvm.static_busybox(), str), reason="no static busybox on PATH")
def test_the_overlay_holds_init_busybox_and_the_modules_in_order() -> None:
    busybox = kvm.static_busybox()
    assert isinstance(busybox, Path)
    data = kvm.overlay(busybox, [("virtio", b"v"), ("9p", b"p")], "#!/underlay/busybox sh\n")
    back = read_newc(data)
    assert back["init"] == (stat.S_IFREG | 0o755, b"#!/underlay/busybox sh\n")
    assert back["underlay/busybox"][1] == busybox.read_bytes()
    assert [n for n in back if n.startswith("underlay/modules/")] == [
        "underlay/modules/00-virtio.ko",
        "underlay/modules/01-9p.ko",
    ]


def test_the_initrd_is_the_users_then_the_overlay_on_a_4_byte_boundary(tmp_path: Path) -> None:
    user = tmp_path / "initrd.img"
    user.write_bytes(b"12345")  # e.g. a compressed archive of any length
    made = kvm.write_initrd(user, b"OVERLAY", tmp_path)
    assert made.read_bytes() == b"12345\0\0\0OVERLAY"


def test_no_vm_says_each_thing_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no QEMU, no busybox
    why = kvm.why_not_vm(tmp_path / "vmlinuz", tmp_path / "initrd.img")
    assert f"{tmp_path / 'vmlinuz'} does not exist" in why
    assert "no qemu-system-x86_64 on PATH" in why and "no busybox on PATH" in why
    assert "--kernel" in kvm.why_not_vm(None, None)


def test_a_dynamic_busybox_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dynamic = Path("/bin/ls").resolve()  # any dynamically linked program
    (tmp_path / "busybox").symlink_to(dynamic)
    monkeypatch.setenv("PATH", str(tmp_path))
    why = kvm.static_busybox()
    assert isinstance(why, str) and "dynamically linked" in why
