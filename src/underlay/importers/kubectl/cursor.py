"""A JSON value with its place (file and JSON path), so every problem in a kubectl dump
is reported as ``<file>: <json path>: <problem>``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from underlay.errors import TraceError

__all__: list[str] = []  # private to the kubectl importer (its package uses the _names)


@dataclass(frozen=True)
class _At:
    """A JSON value and where it is: the file and the path inside it."""

    value: Any
    path: str
    source: str

    def fail(self, problem: str) -> TraceError:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return TraceError(f"{where}: {problem}")

    def child(self, key: str | int) -> _At:
        if isinstance(key, int):
            path = f"{self.path}[{key}]"
        else:
            segment = _segment(key)
            path = segment[1:] if not self.path and segment[0] == "." else self.path + segment
        if isinstance(self.value, dict):
            value = self.value.get(key)
        elif isinstance(self.value, list) and isinstance(key, int):
            value = self.value[key]
        else:
            value = None
        return _At(value, path, self.source)

    def mapping(self, key: str) -> _At | None:
        """The object at ``key``; ``None`` when absent or null."""
        at = self.child(key)
        if at.value is None:
            return None
        if not isinstance(at.value, dict):
            raise at.fail(f"expected an object, got {_kind(at.value)}")
        return at

    def sequence(self, key: str) -> list[_At]:
        """The items of the array at ``key``; empty when absent or null."""
        at = self.child(key)
        if at.value is None:
            return []
        if not isinstance(at.value, list):
            raise at.fail(f"expected an array, got {_kind(at.value)}")
        return [at.child(i) for i in range(len(at.value))]

    def objects(self, key: str) -> list[_At]:
        """Like :meth:`sequence`, each item an object."""
        items = self.sequence(key)
        for item in items:
            if not isinstance(item.value, dict):
                raise item.fail(f"expected an object, got {_kind(item.value)}")
        return items

    def text(self, key: str) -> str | None:
        """The string at ``key``; ``None`` when absent or null."""
        at = self.child(key)
        if at.value is None:
            return None
        if not isinstance(at.value, str):
            raise at.fail(f"expected a string, got {_kind(at.value)}")
        return at.value

    def strings(self, key: str) -> dict[str, str]:
        """A string-to-string map (labels, annotations); non-string values are skipped."""
        at = self.mapping(key)
        if at is None:
            return {}
        return {k: v for k, v in at.value.items() if isinstance(k, str) and isinstance(v, str)}


@functools.lru_cache(maxsize=4096)
def _segment(key: str) -> str:
    """``.key``, or ``["key"]`` for a key that is not an identifier (cached: the same few
    keys come back for every object of a dump)."""
    if _IDENTIFIER.fullmatch(key):
        return f".{key}"
    return f"[{json.dumps(key)}]"


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - JSON has no other types


def _json_int(text: str) -> int | float:
    return int(text) if len(text) <= 400 else float(text)
