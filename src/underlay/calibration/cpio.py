"""A cpio archive in the ``newc`` format, the one the Linux kernel unpacks as an initramfs.

Each member is a 110-byte header of ASCII fields (the magic ``070701``, then thirteen
8-digit hexadecimal numbers: inode, mode, uid, gid, link count, mtime, file size, device
major and minor, the special file's major and minor, the name's size with its NUL, a
checksum left 0), the name and its NUL, padded to 4 bytes, then the contents, padded to
4 bytes; the member named ``TRAILER!!!`` ends the archive (the kernel's
``Documentation/driver-api/early-userspace/buffer-format.rst``). Several archives one
after the other, each starting on a 4-byte boundary, make one initramfs: the later one's
files replace the earlier one's.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Member", "newc"]

MAGIC = b"070701"
TRAILER = "TRAILER!!!"


@dataclass(frozen=True)
class Member:
    """One archive member: a directory (``data`` None), a file, or a symbolic link
    (``link_to``, its target)."""

    name: str  # without a leading "/": "init", "underlay/busybox"
    mode: int = 0o644  # permission bits; the file type comes from the member's kind
    data: bytes | None = b""
    link_to: str | None = None


def _pad(size: int) -> bytes:
    return b"\0" * (-size % 4)


def _entry(ino: int, name: str, mode: int, body: bytes) -> bytes:
    fields = (ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(body), 0, 0, 0, 0)
    encoded = name.encode() + b"\0"
    head = MAGIC + b"".join(b"%08X" % f for f in (*fields, len(encoded), 0)) + encoded
    return head + _pad(len(head)) + body + _pad(len(body))


def newc(members: Iterable[Member]) -> bytes:
    """The archive of ``members`` (in their order: a folder before what it holds), with
    its trailer; every member owned by root."""
    parts = []
    for ino, m in enumerate(members, start=1):
        if m.link_to is not None:
            kind, body = stat.S_IFLNK, m.link_to.encode()
        elif m.data is None:
            kind, body = stat.S_IFDIR, b""
        else:
            kind, body = stat.S_IFREG, m.data
        parts.append(_entry(ino, m.name.lstrip("/"), kind | (m.mode & 0o7777), body))
    parts.append(_entry(0, TRAILER, 0, b""))
    return b"".join(parts)
