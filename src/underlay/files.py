"""Reading the user's files, with one clear error per problem."""

from __future__ import annotations

from pathlib import Path

from underlay.errors import InputError

__all__ = ["read_text"]


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
