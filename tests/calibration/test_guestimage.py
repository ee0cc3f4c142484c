"""The guest image helper's parts that need no download: which package, which modules,
and one clear message (exit 2) when it cannot build."""

from __future__ import annotations

from pathlib import Path

import pytest

from underlay.calibration import guestimage
from underlay.calibration.guestimage import BuildError, needed_modules


def fake_module(folder: Path, name: str, depends: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ko").write_bytes(b"\x7fELF\0depends=" + depends.encode() + b"\0")


def test_the_modules_are_the_9p_ones_and_what_they_need(tmp_path: Path) -> None:
    fake_module(tmp_path / "fs", "9p", "9pnet")
    fake_module(tmp_path / "net", "9pnet", "")
    fake_module(tmp_path / "net", "9pnet_virtio", "9pnet,virtio")
    fake_module(tmp_path / "virtio", "virtio", "")
    fake_module(tmp_path / "virtio", "virtio_pci", "virtio")
    fake_module(tmp_path / "other", "ext4", "")
    names = sorted(p.stem for p in needed_modules(tmp_path))
    assert names == ["9p", "9pnet", "9pnet_virtio", "virtio", "virtio_pci"]


def test_a_kernel_without_9p_is_refused_by_name(tmp_path: Path) -> None:
    fake_module(tmp_path / "virtio", "virtio_pci", "")
    with pytest.raises(BuildError, match="no module 9pnet_virtio, 9p"):
        needed_modules(tmp_path)


def test_the_kernel_package_is_what_the_metapackage_depends_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    listing = "linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n"
    monkeypatch.setattr(guestimage, "_run", lambda command, cwd: listing)
    assert guestimage.kernel_package(tmp_path) == "linux-image-6.1.0-57-amd64"
    monkeypatch.setattr(guestimage, "_run", lambda command, cwd: "linux-image-amd64\n")
    with pytest.raises(BuildError, match="no linux-image package listed"):
        guestimage.kernel_package(tmp_path)


def test_a_failed_build_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(target: Path) -> Path:
        raise BuildError("apt-get download linux-image-x failed: 404 Not Found")

    monkeypatch.setattr(guestimage, "build", fail)
    assert guestimage.main([str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert (
        out == "" and err == "guest-image: apt-get download linux-image-x failed: 404 Not Found\n"
    )
