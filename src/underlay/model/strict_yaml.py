"""The strict YAML reader of scenario files: text → node tree (the line of every field)
and data, from one parse.

PyYAML's ``SafeLoader`` (its events parsed by libyaml when PyYAML has it), with these
changes; every refusal is a :class:`~underlay.errors.ScenarioError` naming the file, the
line and, where known, the field:

- a control character (NUL, ESC, ...) is reported with its line and field, not its offset;
- a key twice in one mapping is refused with both lines (YAML would keep only the last);
- nesting deeper than :data:`MAX_DEPTH` levels, aliases that contain themselves, and
  aliases that multiply the document by more than :data:`MAX_ALIAS_VALUES` values are
  refused (each would otherwise exhaust the stack, loop forever or take hours);
- dates are left as text for the fields that want one (``lifecycle.start``), so an
  impossible date (``2026-02-30``) is a field error, and a date-like name stays a name;
- a scalar its tag cannot read (``!!int abc``) is an error at its line.
"""

from __future__ import annotations

from typing import Any, Protocol

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from underlay.errors import ScenarioError

__all__ = ["MAX_ALIAS_VALUES", "MAX_DEPTH", "Loc", "clip", "dotted", "parse_yaml"]

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a scenario needs about 10)."""
MAX_ALIAS_VALUES = 1_000_000
"""Most values aliases (``*name``) may add to the file's own."""

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
Loc = tuple[int | str, ...]
"""A field path: keys and list positions from the top of the file."""


class _Mark(Protocol):
    """A place in the text (PyYAML's and libyaml's marks alike), counted from 0."""

    index: int
    line: int
    column: int


class _Refusal(Exception):
    """A YAML document the strict loader will not read, at ``mark`` (field ``path`` when
    known before the document is whole)."""

    def __init__(self, message: str, mark: _Mark, path: Loc | None = None) -> None:
        super().__init__(message)
        self.message, self.mark, self.path = message, mark, path


def _resolvers_without(tag: str) -> dict[Any, Any]:
    """SafeLoader's implicit resolvers (plain scalar → tag) less those giving ``tag``."""
    return {
        first: [(t, rx) for t, rx in resolvers if t != tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _PythonEvents(Reader, Scanner, Parser):
    """PyYAML's pure-Python reader, scanner and parser: YAML text → events."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


try:  # libyaml parses the events in C, 5x faster; the rest stays PyYAML's Python
    from yaml._yaml import CParser as _Events
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    _Events = _PythonEvents  # type: ignore[misc,assignment]


class _StrictLoader(Composer, SafeConstructor, Resolver, _Events):
    """``SafeLoader`` (events, composer, safe constructor, resolver) refusing duplicate
    keys and deep nesting, dates left as text."""

    yaml_implicit_resolvers = _resolvers_without(_TIMESTAMP)

    def __init__(self, text: str) -> None:
        _Events.__init__(self, text)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        Composer.__init__(self)
        self.indices: list[Any] = []  # compose_node's `index` of each node being composed
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            return super().compose_node(parent, index)
        self.indices.append(index)
        try:
            if len(self.indices) > MAX_DEPTH:
                event = self.peek_event()
                # compose_node is only called with an event to come, and events have marks
                assert event is not None and event.start_mark is not None
                message = f"nested more than {MAX_DEPTH} levels deep"
                raise _Refusal(message, event.start_mark, self._path())
            return super().compose_node(parent, index)
        finally:
            self.indices.pop()

    def _path(self) -> Loc:
        """Field path of the node being composed: ``index`` is the key node of a mapping's
        value, the position of a list's item, None for the root and for keys."""
        return tuple(
            i.value if isinstance(i, yaml.ScalarNode) else i if isinstance(i, int) else "?"
            for i in self.indices[1:]
        )

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            # e.g. `!!int abc`, `!!timestamp 2026-02-30`, `!!bool maybe`
            tag = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"cannot read {clip(node.value)} as {tag} ({str(exc)[:80]})",
                node.start_mark,
            ) from None

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):  # PyYAML itself refuses anything else
            first: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:
                    continue  # `<<: *base` merges; keys written here override it
                key = self.construct_object(key_node, deep=deep)
                try:
                    earlier = first.setdefault(key, key_node)
                except TypeError:
                    continue  # an unhashable key: SafeLoader refuses it below
                if earlier is not key_node:
                    raise _Refusal(
                        f"duplicate key {clip(key)}, first on line "
                        f"{earlier.start_mark.line + 1}; a key may appear once in a mapping",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The node tree and the data of ``text``, from one parse."""
    _refuse_unreadable_characters(text, source)
    loader = _StrictLoader(text)
    root: yaml.Node | None = None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        if loader.aliases:
            _check_aliases(root)
        return root, loader.construct_document(root)
    except _Refusal as exc:
        path = exc.path if exc.path is not None else _path_to(root, exc.mark.index)
        raise ScenarioError(_at(source, exc.mark, path, exc.message)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = _yaml_problem(exc)
        if mark is None:
            raise ScenarioError(f"{source}: malformed YAML: {problem}") from None
        if isinstance(exc, yaml.constructor.ConstructorError) and root is not None:
            raise ScenarioError(_at(source, mark, _path_to(root, mark.index), problem)) from None
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        raise ScenarioError(f"{source}: {where}: malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: malformed YAML: {exc}") from None
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's context and problem as one phrase ("found duplicate anchor 'a'; first
    occurrence on line 3, second occurrence"), without its multi-line mark dumps."""
    parts = []
    if exc.context:
        first, then = exc.context_mark, exc.problem_mark
        if first is not None and then is not None and first.line != then.line:
            parts.append(f"{exc.context} on line {first.line + 1}")
        else:
            parts.append(exc.context)
    if exc.problem:
        parts.append(exc.problem)
    return ", ".join(parts) or "malformed YAML"


def _refuse_unreadable_characters(text: str, source: str) -> None:
    """A character YAML does not allow (NUL, other control characters, U+FFFE...):
    refused with its line, column and field, found by parsing the text without them."""
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad is None:
        return
    pos = bad.start()
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    path: Loc = ()
    loader = _StrictLoader(yaml.reader.Reader.NON_PRINTABLE.sub(" ", text))
    try:
        path = _path_to(loader.get_single_node(), pos)
    except (yaml.YAMLError, _Refusal):
        pass  # malformed as well: the line and column must do
    finally:
        loader.dispose()
    code = ord(bad.group())
    what = "control character" if code < 0x20 or 0x7F <= code <= 0x9F else "character"
    field = f"{_shown(path)}: " if path else ""
    raise ScenarioError(
        f"{source}: line {line}: {field}{what} U+{code:04X} at column {column}; a YAML "
        "file cannot contain it (remove it)"
    )


def _check_aliases(root: yaml.Node) -> None:
    """Refuse aliases that make the data infinite, too deep or too large once expanded
    (the node tree shares aliased nodes, the data and its validation do not)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    todo: list[tuple[yaml.Node, bool]] = [(root, False)]
    while todo:  # depth-first, children before their parent; no recursion
        node, children_done = todo.pop()
        key, kids = id(node), _kids(node)
        if children_done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
        elif key in open_:  # an ancestor of itself
            raise _Refusal("an alias (*name) inside the anchor it refers to", node.start_mark)
        elif key not in size:
            open_.add(key)
            todo.append((node, True))
            todo.extend((k, False) for k in kids)
    if depth[id(root)] > MAX_DEPTH:
        node = root
        for _ in range(MAX_DEPTH):
            node = max(_kids(node), key=lambda k: depth[id(k)])
        raise _Refusal(f"nested more than {MAX_DEPTH} levels deep through aliases", node.start_mark)
    if size[id(root)] - len(size) > MAX_ALIAS_VALUES:
        node = root  # down to the smallest part that is too large: where to look
        while True:
            big = max(_kids(node), key=lambda k: size[id(k)])
            if size[id(big)] <= MAX_ALIAS_VALUES:
                break
            node = big
        raise _Refusal(
            f"aliases expand this to {size[id(node)]:,} values; aliases may repeat at most "
            f"{MAX_ALIAS_VALUES:,} values",
            node.start_mark,
        )


def _kids(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _path_to(root: yaml.Node | None, index: int) -> Loc:
    """Field path of the deepest node whose text holds character ``index`` (ending with
    the key when ``index`` is in a key)."""
    path: list[int | str] = []
    node, seen = root, set()
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if _holds(key, index):
                    return (*path, name)
                if _holds(value, index):
                    path.append(name)
                    nxt = value
                    break
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                if _holds(item, index):
                    path.append(i)
                    nxt = item
                    break
        node = nxt
    return tuple(path)


def _holds(node: yaml.Node, index: int) -> bool:
    start, end = node.start_mark.index, node.end_mark.index
    return bool(start <= index < max(end, start + 1))


def _at(source: str, mark: _Mark, path: Loc, message: str) -> str:
    if not path:
        return f"{source}: line {mark.line + 1}, column {mark.column + 1}: {message}"
    return f"{source}: line {mark.line + 1}: {_shown(path)}: {message}"


def _shown(path: Loc) -> str:
    """``path`` dotted, cut after 8 parts (a path 64 levels deep says nothing more)."""
    return dotted(path[:8]) + ("..." if len(path) > 8 else "")


def clip(value: Any) -> str:
    """``repr(value)`` cut to 60 characters: a message never carries a file's worth."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
