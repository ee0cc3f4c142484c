"""The KVM guest the overhead benchmarks run in: the user's kernel and initrd under QEMU.

The guest gets underlay by sharing the host's own file tree: QEMU exports ``/``
read-only over virtio-9p, and an overlay archive appended to the user's initrd (the
kernel unpacks both, the overlay's files replacing the initrd's) brings an ``/init`` that

1. loads the virtio-PCI and 9p modules the overlay carries (taken from the kernel's
   modules folder, ``lib/modules/RELEASE`` beside the kernel file or in ``/``; none when
   the kernel has them built in),
2. mounts the host's tree on ``/host``, with the guest's own ``/proc``, ``/sys`` and ``/dev``
   over it and a scratch tmpfs on ``/dev/shm`` (not over ``/tmp``, where the host's
   Python or project may live),
3. runs the same Python, with the same environment, as the native benchmarks:
   ``python -m underlay.calibration.guest`` (:mod:`underlay.calibration.guest`), chrooted
   into ``/host``, on the serial console, which is QEMU's stdin and stdout,
4. powers the guest off when that ends.

The guest has no network device (``-nic none``): its loopback benchmark runs on the
guest's own loopback interface. The overlay runs its ``/init`` with a statically linked
busybox from the host (Debian: ``busybox-static``), so the user's initrd needs none.
"""

from __future__ import annotations

import errno
import lzma
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from underlay.calibration.cpio import Member, newc

__all__ = [
    "CPU_MODELS",
    "ERROR_MARK",
    "GUEST_MODULES",
    "INIT_MARK",
    "QEMU",
    "Guest",
    "guest_modules",
    "init_script",
    "kernel_release",
    "module_bytes",
    "module_depends",
    "module_index",
    "overlay",
    "qemu_command",
    "static_busybox",
    "why_not_vm",
]

QEMU = ("qemu-system-x86_64",)
CPU_MODELS = ("host", "host,-arch-capabilities")
"""QEMU's ``-cpu``, in the order tried: the host's CPU as it is, then without the
IA32_ARCH_CAPABILITIES register, which a nested hypervisor may refuse to set (QEMU then
stops at once: "failed to set MSR 0x10a")."""
GUEST_MODULES = ("virtio_pci", "9pnet_virtio", "9p")
"""The modules the guest needs to mount the host (their dependencies come along)."""
INIT_MARK = "underlay-guest: /init started"
"""The first line of the guest's ``/init``: its kernel booted."""
ERROR_MARK = "underlay-guest-error:"
"""What ``/init`` prints before saying why the guest could not run the benchmarks."""
MEMORY_MB = 1024


@dataclass(frozen=True)
class Guest:
    """What boots the guest: QEMU, the kernel, the initrd with the overlay appended."""

    qemu: str
    kernel: Path
    initrd: Path  # the user's initrd followed by the overlay (a temporary file)
    cpus: int
    memory_mb: int = MEMORY_MB
    cpu: str = "host"  # QEMU's -cpu: the host's CPU model (CPU_MODELS)
    accel: str = "kvm"  # "tcg": QEMU's emulator (only to test the guest's plumbing)
    start_s: float = 30.0  # how long the kernel may take to start /init (INIT_MARK)
    ready_s: float = 120.0  # and the benchmark server to be ready, from QEMU's start


def why_not_vm(kernel: Path | None, initrd: Path | None) -> str:
    """Why no KVM guest can run the benchmarks here ("" when everything it needs is here)."""
    reasons = []
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        reasons.append(f"/dev/kvm not usable: open() failed with {name}")
    else:
        os.close(fd)
    if not any(shutil.which(q) for q in QEMU):
        reasons.append(f"no {' or '.join(QEMU)} on PATH (Debian: qemu-system-x86)")
    if kernel is None or initrd is None:
        reasons.append("no guest kernel and initrd given (--kernel, --initrd)")
    else:
        reasons += [f"{p} does not exist" for p in (kernel, initrd) if not p.is_file()]
    busybox = static_busybox()
    if isinstance(busybox, str):
        reasons.append(busybox)
    return "; ".join(reasons)


def static_busybox() -> Path | str:
    """A statically linked busybox on PATH (the overlay's ``/init`` runs it), or why none."""
    found = shutil.which("busybox")
    if found is None:
        return "no busybox on PATH for the guest's /init (Debian: busybox-static)"
    if _dynamic(Path(found)):
        return f"{found} is dynamically linked; the guest needs a static one (busybox-static)"
    return Path(found)


def _dynamic(elf: Path) -> bool:
    """Whether the 64-bit ELF file ``elf`` names a dynamic loader (a PT_INTERP header)."""
    head = elf.read_bytes()[:65536]
    if head[:4] != b"\x7fELF" or head[4] != 2:
        return True
    phoff = int.from_bytes(head[32:40], "little")
    size, count = int.from_bytes(head[54:56], "little"), int.from_bytes(head[56:58], "little")
    types = (
        int.from_bytes(head[phoff + i * size : phoff + i * size + 4], "little")
        for i in range(count)
    )
    return 3 in types  # PT_INTERP


def kernel_release(kernel: Path) -> str | None:
    """The release of an x86 kernel image (``6.1.0-57-amd64``), from its setup header: the
    ``HdrS`` signature at 0x202, the version string's offset less 0x200 at 0x20E."""
    with kernel.open("rb") as image:
        head = image.read(0x210)
        if head[0x202:0x206] != b"HdrS":
            return None
        image.seek(int.from_bytes(head[0x20E:0x210], "little") + 0x200)
        text = image.read(256).split(b"\0")[0].decode("ascii", "replace")
    return text.split()[0] if text.strip() else None


def module_index(folder: Path) -> dict[str, Path]:
    """Every module under ``folder`` by name (``-`` read as ``_``, as the kernel does)."""
    index: dict[str, Path] = {}
    for path in folder.rglob("*.ko*"):
        name = path.name.split(".ko")[0].replace("-", "_")
        if path.name.endswith((".ko", ".ko.xz")):
            index.setdefault(name, path)
    return index


def module_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return lzma.decompress(data) if path.name.endswith(".xz") else data


def module_depends(module: bytes) -> list[str]:
    """The modules ``module`` needs loaded first (its ``.modinfo`` ``depends=`` field)."""
    at = module.find(b"\0depends=")
    if at < 0:
        return []
    field = module[at + 9 : module.index(b"\0", at + 9)].decode("ascii", "replace")
    return [d.replace("-", "_") for d in field.split(",") if d]


def guest_modules(kernel: Path) -> tuple[list[tuple[str, bytes]], str]:
    """The modules (name, contents) the guest loads, dependencies first, and a note: where
    they came from, or why none (then the kernel must have them built in)."""
    release = kernel_release(kernel)
    if release is None:
        return [], f"{kernel} is not an x86 kernel image (no setup header): modules not looked for"
    places = [kernel.parent / "lib" / "modules" / release, Path("/lib/modules") / release]
    folder = next((p for p in places if p.is_dir()), None)
    if folder is None:
        return [], f"no modules folder for {release} ({' or '.join(map(str, places))})"
    index = module_index(folder)
    ordered: list[tuple[str, bytes]] = []

    def add(name: str) -> None:
        if name in index and all(name != n for n, _ in ordered):
            body = module_bytes(index[name])
            for dep in module_depends(body):
                add(dep)
            ordered.append((name, body))

    for name in GUEST_MODULES:
        add(name)
    missing = [n for n in GUEST_MODULES if n not in index]
    note = f"modules from {folder}" + (f" ({', '.join(missing)} not there)" if missing else "")
    return ordered, note


def init_script(python: str, cwd: str, env: dict[str, str]) -> str:
    """The guest's ``/init``: load the modules, mount the host, run the benchmark server."""
    exports = "".join(f"export {k}={_quote(v)}\n" for k, v in sorted(env.items()))
    return f"""#!/underlay/busybox sh
B=/underlay/busybox
echo "{INIT_MARK}"
fail() {{ echo "{ERROR_MARK} $*"; $B poweroff -f; $B sleep 60; }}
$B mkdir -p /proc /sys /dev /host /tmp
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
for m in /underlay/modules/*.ko; do [ -e "$m" ] && $B insmod "$m"; done
why=$($B mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 host /host 2>&1) \\
  || fail "could not mount the host's root over virtio-9p: $why ($($B ls /underlay/modules | $B tr '\\n' ' '))"
for fs in proc:proc sysfs:sys devtmpfs:dev; do
  $B mount -t ${{fs%%:*}} ${{fs%%:*}} /host/${{fs#*:}} || fail "could not mount /host/${{fs#*:}}"
done
# scratch space under the guest's own /dev, not over /tmp: the host's Python or project
# may live under /tmp (a CI clone), and a tmpfs there would hide it
$B mkdir -p /host/dev/shm && $B mount -t tmpfs tmpfs /host/dev/shm || fail "could not mount /host/dev/shm"
{exports}cd /host{_quote(cwd)} 2>/dev/null || cd /host
$B chroot /host {_quote(python)} -m underlay.calibration.guest \\
  || echo "{ERROR_MARK} the benchmark server ended with exit status $?"
$B poweroff -f
"""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def overlay(busybox: Path, modules: list[tuple[str, bytes]], script: str) -> bytes:
    """The archive appended to the user's initrd: ``/init``, busybox, the modules."""
    members = [
        Member("underlay", 0o755, None),
        Member("underlay/busybox", 0o755, busybox.read_bytes()),
        Member("underlay/modules", 0o755, None),
        *(Member(f"underlay/modules/{i:02d}-{n}.ko", 0o644, b) for i, (n, b) in enumerate(modules)),
        Member("init", 0o755, script.encode()),
    ]
    return newc(members)


def guest_env() -> dict[str, str]:
    """The environment of the benchmark server in the guest: the native one's, reduced."""
    keep = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        HOME="/dev/shm", TMPDIR="/dev/shm", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1"
    )
    return env


def write_initrd(initrd: Path, extra: bytes, into: Path) -> Path:
    """``initrd`` followed by ``extra`` (padded to 4 bytes between them), in ``into``."""
    data = initrd.read_bytes()
    target = into / "initrd-with-underlay"
    target.write_bytes(data + b"\0" * (-len(data) % 4) + extra)
    return target


def prepare(kernel: Path, initrd: Path, into: Path, cpus: int) -> tuple[Guest, str] | str:
    """The guest to boot (its initrd written in folder ``into``) and where its modules come
    from, or why it cannot be prepared."""
    busybox = static_busybox()
    qemu = next((q for q in map(shutil.which, QEMU) if q), None)
    if isinstance(busybox, str) or qemu is None:
        return busybox if isinstance(busybox, str) else "no QEMU on PATH"
    modules, note = guest_modules(kernel)
    script = init_script(sys.executable, os.getcwd(), guest_env())
    try:
        made = write_initrd(initrd, overlay(busybox, modules, script), into)
    except OSError as exc:
        return f"cannot write the guest's initrd: {exc}"
    return Guest(qemu, kernel, made, cpus), note


def qemu_command(guest: Guest) -> list[str]:
    """QEMU booting ``guest`` with KVM, the host's tree shared read-only, the serial
    console on stdin and stdout, no display, no network, no reboot."""
    append = "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init"
    return [
        guest.qemu,
        *(["-enable-kvm"] if guest.accel == "kvm" else ["-accel", guest.accel]),
        "-cpu",
        guest.cpu if guest.accel == "kvm" else "max",
        "-smp",
        str(guest.cpus),
        "-m",
        f"{guest.memory_mb}M",
        "-nographic",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-nic",
        "none",
        "-no-reboot",
        "-kernel",
        str(guest.kernel),
        "-initrd",
        str(guest.initrd),
        "-append",
        append,
        "-virtfs",
        "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap",
    ]


Progress = Callable[[str], None]


def hypervisor_module() -> str | None:
    """The kernel module behind ``/dev/kvm`` (``kvm_intel``, ``kvm_amd``, ``kvm_pvm``), if
    one of them is loaded."""
    names = ("kvm_intel", "kvm_amd", "kvm_pvm")
    return next((n for n in names if Path("/sys/module", n).is_dir()), None)


def pvm_hint() -> str:
    """What to add to a guest that did not answer when ``/dev/kvm`` is PVM (empty else)."""
    if hypervisor_module() != "kvm_pvm":
        return ""
    return (
        "; /dev/kvm here is kvm_pvm (PVM, virtualization without hardware support), which "
        "runs only guest kernels built for it (CONFIG_PVM_GUEST, CONFIG_X86_PIE) at speed"
    )
