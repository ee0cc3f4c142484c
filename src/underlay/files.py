"""Reading the user's files, with one clear error per problem."""

from __future__ import annotations

import math
from pathlib import Path

from underlay.errors import InputError, TraceError

__all__ = ["non_negative_number", "read_text"]


def read_text(path: Path, error: type[InputError], expected: str) -> str:
    """The UTF-8 text of ``path``; a missing, unreadable or binary file raises ``error``
    naming the file (``expected`` says what it should be, e.g. "a YAML scenario file")."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected {expected}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None


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
