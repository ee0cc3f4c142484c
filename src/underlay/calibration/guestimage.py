"""A guest kernel and initrd for ``underlay calibrate --kernel … --initrd …``, from Debian's
packages (``python -m underlay.calibration.guestimage DIR``, or ``scripts/guest-image DIR``).

It downloads Debian's generic kernel package (``linux-image-amd64``'s dependency, with
apt: ``apt-get download``, unpacked with ``dpkg-deb -x``, nothing installed) and writes
into DIR:

- ``vmlinuz``: the kernel;
- ``lib/modules/RELEASE/…``: the modules the guest needs to mount the host over
  virtio-9p, and those they need (Debian's cloud kernel has no 9p, hence the generic one);
- ``initrd.img``: a small initramfs (newc cpio) with a static busybox (``busybox-static``)
  and those modules; ``underlay calibrate`` appends its own ``/init`` to it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from underlay.calibration.cpio import Member, newc
from underlay.calibration.kvm import (
    GUEST_MODULES,
    kernel_release,
    module_bytes,
    module_depends,
    module_index,
    static_busybox,
)

__all__ = ["PACKAGE", "build", "main", "needed_modules"]

PACKAGE = "linux-image-amd64"
"""Debian's generic kernel (a metapackage: it depends on the current release's image)."""


class BuildError(RuntimeError):
    """The image could not be built (the message says why)."""


def _run(command: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BuildError(f"{command[0]}: {exc}") from None
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        raise BuildError(f"{' '.join(command)} failed: {last}")
    return done.stdout


def kernel_package(work: Path) -> str:
    """The versioned kernel package ``linux-image-amd64`` depends on (apt-cache)."""
    out = _run(["apt-cache", "depends", PACKAGE], work)
    for line in out.splitlines():
        name = line.strip().removeprefix("Depends:").strip()
        if line.strip().startswith("Depends:") and name.startswith("linux-image-"):
            return name
    raise BuildError(f"apt-cache depends {PACKAGE}: no linux-image package listed")


def needed_modules(folder: Path) -> list[Path]:
    """The module files under ``folder`` the guest needs (:data:`GUEST_MODULES` and what
    they depend on)."""
    index = module_index(folder)
    seen: dict[str, Path] = {}

    def add(name: str) -> None:
        if name in index and name not in seen:
            seen[name] = index[name]
            for dep in module_depends(module_bytes(index[name])):
                add(dep)

    for name in GUEST_MODULES:
        add(name)
    missing = [n for n in GUEST_MODULES if n not in seen]
    if missing:
        raise BuildError(f"{folder}: no module {', '.join(missing)}")
    return list(seen.values())


def build(target: Path) -> Path:
    """Download, unpack and write the guest into ``target`` (created); the kernel's path."""
    busybox = static_busybox()
    if isinstance(busybox, str):
        raise BuildError(busybox)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="underlay-guest-image-") as tmp:
        work = Path(tmp)
        package = kernel_package(work)
        _run(["apt-get", "download", "-q", package], work)
        deb = next(work.glob(f"{package}_*.deb"), None)
        if deb is None:
            raise BuildError(f"apt-get download {package}: no .deb written")
        _run(["dpkg-deb", "-x", str(deb), "root"], work)
        image = next((work / "root" / "boot").glob("vmlinuz-*"), None)
        if image is None:
            raise BuildError(f"{deb.name}: no boot/vmlinuz-*")
        release = kernel_release(image) or image.name.removeprefix("vmlinuz-")
        modules = work / "root" / "lib" / "modules" / release
        members = [Member("bin", 0o755, None), Member("dev", 0o755, None)]
        members += [
            Member("bin/busybox", 0o755, busybox.read_bytes()),
            Member("bin/sh", 0o777, link_to="busybox"),
        ]
        for path in needed_modules(modules):
            inside = path.relative_to(work / "root")
            copy = target / inside
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            members += [*_folders(inside, members), Member(str(inside), 0o644, path.read_bytes())]
        shutil.copyfile(image, target / "vmlinuz")
    (target / "initrd.img").write_bytes(newc(members))
    return target / "vmlinuz"


def _folders(inside: Path, members: list[Member]) -> list[Member]:
    """The folders holding ``inside`` not yet in ``members``, outermost first."""
    have = {m.name for m in members}
    return [
        Member(str(p), 0o755, None)
        for p in reversed(inside.parents)
        if str(p) != "." and str(p) not in have
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m underlay.calibration.guestimage",
        description="Write a guest kernel and initrd for underlay calibrate into DIR.",
    )
    parser.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    try:
        kernel = build(args.dir)
    except (BuildError, OSError) as exc:
        print(f"guest-image: {exc}", file=sys.stderr)
        return 2
    print(f"underlay calibrate --kernel {kernel} --initrd {args.dir / 'initrd.img'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
