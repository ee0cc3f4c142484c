"""The files of a dump given as a folder tree or an archive, read with guards.

A dump can be a folder (a must-gather, an extracted support archive or sonobuoy
results) or an archive of one (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz``,
``.zip``), recognised by its first bytes, not its name.  Only files whose name ends in
``.json``, ``.yaml`` or ``.yml`` are read; nothing is ever extracted to disk.

Guards (each a :class:`~underlay.errors.TraceError` naming the archive or folder):

* an archive member whose path is absolute or climbs out with ``..`` (path traversal)
  makes the whole archive refused: such an archive was not written by a dump tool;
* symbolic links, hard links and device files (archive members, or entries in a
  folder) are never followed; they are skipped and counted;
* at most :data:`MAX_FILE_BYTES` per file and :data:`MAX_TOTAL_BYTES` in all (counted
  as decompressed, so a compression bomb stops at the limit), and at most
  :data:`MAX_ENTRIES` entries;
* a truncated or damaged archive is reported as such.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Final

from underlay.errors import TraceError

__all__ = ["MAX_ENTRIES", "MAX_FILE_BYTES", "MAX_TOTAL_BYTES"]

MAX_FILE_BYTES: Final = 1 << 30
"""Largest file read from a dump (1 GiB: a ``kubectl get pods -A -o json`` of 100k pods
is a few hundred MiB)."""
MAX_TOTAL_BYTES: Final = 4 << 30
"""Most bytes read from one folder or archive, decompressed (4 GiB)."""
MAX_ENTRIES: Final = 1_000_000
"""Most entries (files and folders) looked at in one folder or archive."""

DUMP_SUFFIXES: Final = (".json", ".yaml", ".yml")

_GZIP, _BZIP2, _XZ = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass
class Limits:
    """The guards in force (the module constants; tests lower them)."""

    file_bytes: int = MAX_FILE_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    entries: int = MAX_ENTRIES


@dataclass
class TreeFile:
    """One file of a tree: where it is (for messages) and its bytes."""

    source: str
    """``<folder or archive>/<path inside>``, as messages print it."""
    inner: PurePosixPath
    """Its path inside the folder or archive."""
    data: bytes


@dataclass
class Walk:
    """What walking a tree skipped, for the scenario's header and error messages."""

    root: Path
    links: int = 0
    other_files: int = 0
    read_bytes: int = 0
    entries: int = 0
    first: str | None = None
    """The first JSON or YAML file read (named when nothing is recognised)."""
    suffixes: dict[str, int] = field(default_factory=dict)

    def count(self, limits: Limits) -> None:
        self.entries += 1
        if self.entries > limits.entries:
            raise TraceError(
                f"{self.root}: more than {limits.entries:,} entries; give the folder or "
                "file that holds the nodes or pods, not a whole disk"
            )

    def take(self, name: str, size: int, limits: Limits) -> None:
        if size > limits.file_bytes:
            raise TraceError(
                f"{self.root}/{name}: {size:,} bytes, more than the {limits.file_bytes:,} a "
                "dump file may have"
            )
        self.read_bytes += size
        self.first = self.first or f"{self.root}/{name}"
        if self.read_bytes > limits.total_bytes:
            raise TraceError(
                f"{self.root}: more than {limits.total_bytes:,} bytes of JSON and YAML; give "
                "the folder or file that holds the nodes or pods"
            )


def archive_kind(path: Path) -> str | None:
    """``"tar"``, ``"zip"``, ``"gzip"``, ``"bzip2"`` or ``"xz"`` from the file's first
    bytes; ``None`` for anything else (a JSON or YAML file)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(265)
    except OSError:
        return None
    if head.startswith(_ZIP):
        return "zip"
    if head.startswith(_GZIP):
        return "gzip"
    if head.startswith(_BZIP2):
        return "bzip2"
    if head.startswith(_XZ):
        return "xz"
    if head[257:262] == b"ustar":
        return "tar"
    return None


_DAMAGED = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError, lzma.LZMAError)


def _damaged(path: Path, exc: BaseException) -> TraceError:
    reason = str(exc) or type(exc).__name__
    return TraceError(
        f"{path}: the archive is truncated or damaged ({reason}); download or copy it again"
    )


def _decompressor(kind: str, raw: IO[bytes]) -> gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile:
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw)
    if kind == "bzip2":
        return bz2.BZ2File(raw)
    return lzma.LZMAFile(raw)


def _read_capped(
    handle: gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile, name: str, walk: Walk, limits: Limits
) -> bytes:
    """All of ``handle``, stopping as soon as it is over the file limit (a bomb)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := handle.read(1 << 20):
        size += len(chunk)
        if size > limits.file_bytes:
            walk.take(name, size, limits)  # raises: over the file limit
        chunks.append(chunk)
    walk.take(name, size, limits)
    return b"".join(chunks)


def _safe_member(archive: Path, name: str) -> PurePosixPath:
    inner = PurePosixPath(name.replace("\\", "/"))
    if inner.is_absolute() or ".." in inner.parts or (inner.parts and ":" in inner.parts[0]):
        raise TraceError(
            f"{archive}: member {name!r} points outside the archive (path traversal); "
            "refusing the whole archive: it was not written by a dump tool"
        )
    return PurePosixPath(*[p for p in inner.parts if p not in ("", ".")])


def archive_files(path: Path, kind: str, limits: Limits, walk: Walk) -> Iterator[TreeFile]:
    """The JSON and YAML files of an archive (every member checked first)."""
    try:
        if kind == "zip":
            yield from _zip_files(path, limits, walk)
        else:
            yield from _tar_files(path, kind, limits, walk)
    except TraceError:
        raise
    except _DAMAGED as exc:
        raise _damaged(path, exc) from None


def _tar_files(path: Path, kind: str, limits: Limits, walk: Walk) -> Iterator[TreeFile]:
    mode = {"tar": "r:", "gzip": "r:gz", "bzip2": "r:bz2", "xz": "r:xz"}[kind]
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        members = []
        for member in tar:  # reads the whole index: a truncated archive fails here
            walk.count(limits)
            members.append((member, _safe_member(path, member.name)))
        for member, inner in members:
            if member.issym() or member.islnk():
                walk.links += 1
            elif not member.isfile():
                continue
            elif not inner.name.lower().endswith(DUMP_SUFFIXES):
                walk.other_files += 1
            else:
                walk.take(str(inner), member.size, limits)
                handle = tar.extractfile(member)
                data = handle.read() if handle is not None else b""
                if len(data) != member.size:
                    raise _damaged(path, EOFError(f"{inner} is cut short"))
                yield TreeFile(f"{path}/{inner}", inner, data)


def _zip_files(path: Path, limits: Limits, walk: Walk) -> Iterator[TreeFile]:
    with zipfile.ZipFile(path) as archive:
        infos = []
        for info in archive.infolist():
            walk.count(limits)
            infos.append((info, _safe_member(path, info.filename)))
        for info, inner in infos:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                walk.links += 1
            elif info.is_dir():
                continue
            elif not inner.name.lower().endswith(DUMP_SUFFIXES):
                walk.other_files += 1
            else:
                walk.take(str(inner), info.file_size, limits)
                try:
                    with archive.open(info) as handle:
                        data = handle.read(limits.file_bytes + 1)
                except (RuntimeError, NotImplementedError) as exc:  # encrypted, deflate64...
                    raise TraceError(
                        f"{path}/{inner}: cannot be read from this zip ({exc}); unpack it with "
                        "another tool and give the folder"
                    ) from None
                if len(data) > info.file_size:  # the header lied: a bomb, or damage
                    raise _damaged(path, zipfile.BadZipFile(f"{inner} is larger than declared"))
                yield TreeFile(f"{path}/{inner}", inner, data)


def compressed_file(path: Path, kind: str, limits: Limits) -> bytes | None:
    """The decompressed bytes of a compressed single file (``pods.json.gz``); ``None``
    when it is a compressed tar (the caller reads it as an archive)."""
    walk = Walk(path)
    try:
        with path.open("rb") as raw, _decompressor(kind, raw) as handle:
            head = handle.read(512)
            if head[257:262] == b"ustar":
                return None
            return head + _read_capped(handle, path.name, walk, limits)
    except TraceError:
        raise
    except _DAMAGED as exc:
        raise _damaged(path, exc) from None


def folder_files(root: Path, limits: Limits, walk: Walk) -> Iterator[TreeFile]:
    """The JSON and YAML files under ``root``, in name order; links are not followed."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        base = Path(folder)
        for name in sorted(files):
            walk.count(limits)
            file = base / name
            try:
                info = file.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                walk.links += 1
            elif not stat.S_ISREG(info.st_mode):
                continue
            elif not name.lower().endswith(DUMP_SUFFIXES):
                walk.other_files += 1
            else:
                inner = PurePosixPath(file.relative_to(root).as_posix())
                walk.take(str(inner), info.st_size, limits)
                try:
                    data = file.read_bytes()
                except OSError as exc:
                    raise TraceError(f"{file}: cannot be read ({exc.strerror})") from None
                yield TreeFile(str(file), inner, data)
        for name in dirs:
            if (base / name).is_symlink():
                walk.links += 1
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
