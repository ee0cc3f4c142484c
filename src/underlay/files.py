"""Reading the user's files, with one clear error per problem.

Every file underlay reads on the user's behalf (scenarios, traces, CSV tables, JSON
dumps) is opened here, so a missing file, a folder, an unreadable or a binary file is
refused with one wording: ``<file>: no such file``, ``<file>: is a directory, expected
<what>``, ``<file>: cannot read (<reason>)``, ``<file>: line N: not UTF-8 text``.

And every file underlay writes (reports, imported scenarios and traces, plans) goes
through :func:`atomic_writer`: a temporary file beside the target, renamed over it once
complete, so no half-written file is ever left (``<file>: cannot write (<reason>)``
otherwise); every YAML file it writes (imported scenarios, the plan of ``recommend``, the
defaults) is laid out by one writer, :func:`yaml_text`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from underlay.errors import InputError, TraceError

__all__ = [
    "atomic_writer",
    "non_negative_number",
    "not_utf8",
    "open_text",
    "read_text",
    "refuse_overwrite",
    "unreadable",
    "write_atomically",
    "yaml_text",
]


def read_text(
    path: Path, error: type[InputError], expected: str, *, max_bytes: int | None = None
) -> str:
    """The UTF-8 text of ``path``, line ends made ``\\n``; a missing, unreadable or binary
    file raises ``error`` naming the file (``expected`` says what it should be, e.g. "a YAML
    scenario file"), and so does a file over ``max_bytes``, refused before it is parsed."""
    try:
        with path.open("rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as exc:
        raise unreadable(path, exc, error, expected) from None
    if max_bytes is not None and len(data) > max_bytes:
        raise error(
            f"{path}: larger than {_size(max_bytes)}, the most {expected} may be "
            "(is it the right file?)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{path}: line {line}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def open_text(
    path: Path, error: type[InputError], expected: str, *, missing: str = "file"
) -> TextIO:
    """``path`` opened for reading as UTF-8 text, line ends as written (``newline=""``, as
    the csv module wants); a missing, unreadable file or a folder raises ``error`` naming
    the file (``missing`` names what is missing, e.g. "trace file"). Decoding errors come
    while reading: turn them into :func:`not_utf8`."""
    try:
        return path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise unreadable(path, exc, error, expected, missing) from None


def unreadable(
    path: Path, exc: OSError, error: type[InputError], expected: str, missing: str = "file"
) -> InputError:
    """The error for ``path`` that could not be opened or read (``exc``)."""
    if isinstance(exc, FileNotFoundError):
        return error(f"{path}: no such {missing}")
    if isinstance(exc, IsADirectoryError):
        return error(f"{path}: is a directory, expected {expected}")
    return error(f"{path}: cannot read ({exc.strerror or exc})")


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n:,} bytes"


def not_utf8(path: Path, error: type[InputError]) -> InputError:
    """The error for a file that is not UTF-8, naming the line of its first bad byte
    (read again here: a streaming decoder only knows the chunk it was decoding)."""
    try:
        data = path.read_bytes()
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        return error(
            f"{path}, line {line}: not UTF-8 text ({exc.reason}, byte {column} of the line); "
            "save the file as UTF-8"
        )
    except OSError as exc:
        return unreadable(path, exc, error, "a text file")
    return error(f"{path}: not UTF-8 text")  # changed while read: no line to give


def non_negative_number(path: Path, line: int, column: str, text: str) -> float:
    """The finite, non-negative number in ``text``; a TraceError naming file, line and
    column otherwise."""
    where = f"{path}, line {line}, column {column!r}"
    value = text.strip()
    if not value:
        raise TraceError(f"{where}: empty, expected a number")
    try:
        number = float(value)
    except ValueError:
        raise TraceError(f"{where}: {value[:40]!r} is not a number") from None
    if not math.isfinite(number):
        raise TraceError(f"{where}: {value[:40]!r} is not a finite number")
    if number < 0:
        raise TraceError(f"{where}: {value[:40]!r} is negative, expected >= 0")
    return number


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: equal once resolved (symlinks followed), or, both
    existing, the same inode (hard links)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:  # a symlink loop, a path too long: not provably the same
        return False


def refuse_overwrite(flag: str, target: Path, inputs: Sequence[tuple[str, Path]]) -> None:
    """InputError when writing ``target`` (given as ``flag``) would replace one of the
    ``inputs`` (``(label, path)``, e.g. ``("scenario", path)`` or ``("--pods", path)``)
    or land in an input folder, whose files are all read as input.

    Checked before any input is read, so nothing is lost and no time is spent.
    """
    for label, given in inputs:
        if given.is_dir():
            try:
                inside = target.resolve().parent == given.resolve()
            except OSError:
                inside = False
            if inside:
                raise InputError(
                    f"{flag} {target}: that is in the {label} folder {given}, whose files "
                    "are all read as input; write elsewhere"
                )
        elif _same_file(target, given):
            shown = "itself" if target == given else f"({given})"
            raise InputError(f"{flag} {target}: that is the {label} file {shown}; write elsewhere")


def yaml_text(data: dict[str, Any]) -> str:
    """``data`` as the YAML underlay writes: block style, keys in the order given, text
    as written (not escaped to ASCII), lines folded at 100 characters."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text handle (``newline=""``: line ends as written) whose content replaces
    ``path`` only once the ``with`` block ends without an error.

    It writes to a temporary file beside ``path``, which is removed whatever stops the
    write (an error, a full disk, Ctrl-C, SIGTERM: ``underlay.entry``); an ``OSError``
    becomes ``InputError("<path>: cannot write (<reason>)")``.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            yield handle
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)  # gone already once replaced


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through :func:`atomic_writer`: all of it or nothing."""
    with atomic_writer(path) as handle:
        handle.write(text)
