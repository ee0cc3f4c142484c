"""The scenario's YAML as a user should read it: block style, small mappings of scalars
in flow style, comments before a node or at the end of its line, and anchors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

__all__: list[str] = []  # private to the kubectl importer (its package uses the _names)


@dataclass
class _Comments:
    """Comments of the YAML emitter: whole lines before a node, or at the end of its line."""

    before: dict[tuple[str | int, ...], list[str]] = field(default_factory=dict)
    after: dict[tuple[str | int, ...], str] = field(default_factory=dict)


_BLOCK_ITEMS: Final = frozenset({"host_models", "tenants", "workloads"})


class _Emitter:
    """Block-style YAML with comments; small mappings of scalars in flow style."""

    def __init__(self, comments: _Comments, anchors: dict[tuple[str | int, ...], str]) -> None:
        self.comments = comments
        self.anchors = anchors
        self.lines: list[str] = []
        self.anchored: dict[int, str] = {}

    def document(self, data: dict[str, Any]) -> str:
        self._mapping(data, 0, (), None)
        return "".join(line.rstrip() + "\n" for line in self.lines)

    def _eol(self, path: tuple[str | int, ...]) -> str:
        text = self.comments.after.get(path)
        return f"  # {_comment(text)}" if text else ""

    def _before(self, path: tuple[str | int, ...], indent: int) -> None:
        for line in self.comments.before.get(path, []):
            self.lines.append(f"{' ' * indent}# {_comment(line)}")

    def _mapping(
        self, data: dict[str, Any], indent: int, path: tuple[str | int, ...], lead: str | None
    ) -> None:
        pad = " " * indent
        for position, (key, value) in enumerate(data.items()):
            here = (*path, key)
            prefix = lead if (lead is not None and position == 0) else pad
            if position or lead is None:
                self._before(here, indent)
            head = f"{prefix}{_scalar(key)}:"
            if id(value) in self.anchored:
                self.lines.append(f"{head} *{self.anchored[id(value)]}{self._eol(here)}")
            elif _is_flow(value):
                self.lines.append(f"{head} {_flow(value)}{self._eol(here)}")
            else:
                anchor = self.anchors.get(here)
                if anchor is not None:
                    self.anchored[id(value)] = anchor
                    head += f" &{anchor}"
                self.lines.append(f"{head}{self._eol(here)}")
                if isinstance(value, dict):
                    self._mapping(value, indent + 2, here, None)
                else:
                    self._sequence(value, indent + 2, here)

    def _sequence(self, items: list[Any], indent: int, path: tuple[str | int, ...]) -> None:
        pad = " " * indent
        for index, item in enumerate(items):
            here = (*path, index)
            self._before(here, indent)
            if isinstance(item, dict) and item and not _is_flow(item, path[-1]):
                self._mapping(item, indent + 2, here, f"{pad}- ")
            else:
                self.lines.append(f"{pad}- {_flow(item)}{self._eol(here)}")


def _comment(text: str) -> str:
    # Names from the dump may hold anything, line breaks included; a comment must not.
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _is_flow(value: Any, parent: str | int | None = None) -> bool:
    if isinstance(value, dict):
        scalars = all(not isinstance(v, dict | list) for v in value.values())
        return scalars and parent not in _BLOCK_ITEMS
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    return True


@functools.lru_cache(maxsize=65536, typed=True)  # typed: True and 1 are not the same
def _scalar(value: Any) -> str:
    # Dumping inside a flow list gives the quoting a flow context needs. The same few
    # values (quantities, classes, names) come back thousands of times: cached.
    text = yaml.safe_dump([value], default_flow_style=True, width=2**31 - 1, allow_unicode=True)
    return text.strip()[1:-1]


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return _scalar(value)
