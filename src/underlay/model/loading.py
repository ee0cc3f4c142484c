"""Reading scenario files: YAML → validated :class:`~underlay.model.scenario.Scenario`.

Every problem becomes one :class:`~underlay.errors.ScenarioError` whose message names the
file, the line, the field path and the problem, with a "did you mean" for misspelt keys.

The file is parsed once, by a strict YAML loader (PyYAML's ``SafeLoader``, its events
parsed by libyaml when PyYAML has it, with these changes), into the node tree (lines of
every field) and the data validated from it:

- a file over :data:`MAX_SCENARIO_BYTES` is refused before it is parsed;
- a control character (NUL, ESC, ...) is reported with its line and field, not its offset;
- a key twice in one mapping is refused with both lines (YAML would keep only the last);
- nesting deeper than :data:`MAX_DEPTH` levels, aliases that contain themselves, and
  aliases that multiply the document by more than :data:`MAX_ALIAS_VALUES` values are
  refused (each would otherwise exhaust the stack, loop forever or take hours);
- dates are left as text for the fields that want one (``lifecycle.start``), so an
  impossible date (``2026-02-30``) is a field error, and a date-like name stays a name;
- a scalar its tag cannot read (``!!int abc``) is an error at its line.

Trace files named by workloads are checked and read when the file is read from disk
(:func:`load_scenario`): they must exist and lie in the scenario's folder or below it,
unless the caller allows other paths (``--allow-paths``), be valid traces, and hold the
series the workloads name (:mod:`underlay.model.traces`).
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from underlay.errors import ScenarioError
from underlay.files import read_text
from underlay.model.scenario import Sandboxed, Scenario, Vm

__all__ = ["MAX_ALIAS_VALUES", "MAX_DEPTH", "MAX_SCENARIO_BYTES", "load_scenario", "parse_scenario"]

MAX_SCENARIO_BYTES = 16 * 2**20
"""Largest scenario file read (16 MiB; an imported 8,000-pod trace is under 1 MiB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a scenario needs about 10)."""
MAX_ALIAS_VALUES = 1_000_000
"""Most values aliases (``*name``) may add to the file's own."""

_MAX_ERRORS_SHOWN = 8
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_Loc = tuple[int | str, ...]


def load_scenario(path: str | Path, *, allow_paths: bool = False) -> Scenario:
    """Read and validate the scenario file at ``path``; its trace files must lie in its
    folder or below it unless ``allow_paths``."""
    path = Path(path)
    text = read_text(path, ScenarioError, "a YAML scenario file", max_bytes=MAX_SCENARIO_BYTES)
    return parse_scenario(
        text, source=str(path), base_dir=path.resolve().parent, allow_paths=allow_paths
    )


def parse_scenario(
    text: str,
    *,
    source: str = "<scenario>",
    base_dir: Path | None = None,
    allow_paths: bool = False,
) -> Scenario:
    """Validate scenario YAML ``text``; ``source`` names it in error messages.

    With ``base_dir`` (the scenario's folder) the trace files it names are resolved from
    there and checked: they exist, and lie in ``base_dir`` or below it unless
    ``allow_paths``.
    """
    if not text.strip():
        raise ScenarioError(
            f"{source}: the file is empty; see `underlay example` or `underlay schema`"
        )
    root, data = _parse_yaml(text, source)
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise ScenarioError(
            f"{source}: expected a mapping of scenario fields at the top, got {kind}"
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, source, root)) from None
    problems = _against_defaults(scenario)
    if not problems:
        from underlay.defaults.upgrade_plans import lifecycle_problems

        problems = lifecycle_problems(scenario)
    if not problems and base_dir is not None:
        base_dir = base_dir.resolve()
        problems = _trace_problems(scenario, base_dir, allow_paths)
        scenario.with_base_dir(base_dir)
        if not problems:  # read the traces now: a bad one is refused before any placement
            from underlay.model.traces import read_traces, series_problems

            traces = read_traces(scenario)
            problems = series_problems(scenario, traces)
            scenario.with_traces(traces)
    if problems:
        raise ScenarioError(_listing(source, root, problems))
    return scenario


# --------------------------------------------------------------------------- YAML


class _Mark(Protocol):
    """A place in the text (PyYAML's and libyaml's marks alike), counted from 0."""

    index: int
    line: int
    column: int


class _Refusal(Exception):
    """A YAML document the strict loader will not read, at ``mark`` (field ``path`` when
    known before the document is whole)."""

    def __init__(self, message: str, mark: _Mark, path: _Loc | None = None) -> None:
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

    def _path(self) -> _Loc:
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
                f"cannot read {_clip(node.value)} as {tag} ({str(exc)[:80]})",
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
                        f"duplicate key {_clip(key)}, first on line "
                        f"{earlier.start_mark.line + 1}; a key may appear once in a mapping",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any]:
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
    path: _Loc = ()
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


def _path_to(root: yaml.Node | None, index: int) -> _Loc:
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


def _at(source: str, mark: _Mark, path: _Loc, message: str) -> str:
    if not path:
        return f"{source}: line {mark.line + 1}, column {mark.column + 1}: {message}"
    return f"{source}: line {mark.line + 1}: {_shown(path)}: {message}"


def _shown(path: _Loc) -> str:
    """``path`` dotted, cut after 8 parts (a path 64 levels deep says nothing more)."""
    return _dotted(path[:8]) + ("..." if len(path) > 8 else "")


def _clip(value: Any) -> str:
    """``repr(value)`` cut to 60 characters: a message never carries a file's worth."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


# --------------------------------------------------------------------- references


def _against_defaults(scenario: Scenario) -> list[tuple[_Loc, str]]:
    """Overrides that break the defaults, and hypervisors or runtimes that do not exist."""
    from underlay.defaults.catalog import Defaults, load_defaults, override_errors

    problems: list[tuple[_Loc, str]] = []
    for err in override_errors(scenario.overrides):
        loc = tuple(err["loc"])
        problems.append((("overrides", *loc), _message(err, loc, Defaults)))
    if problems:
        return problems
    from underlay.placement.plugins import default_registry

    plugins = sorted(default_registry().score_names())
    for name in scenario.placement.weights:
        if name not in plugins:
            hint = difflib.get_close_matches(name, plugins, n=1, cutoff=0.6)
            fix = f"; did you mean {hint[0]!r}?" if hint else ""
            problems.append(
                (
                    ("placement", "weights", name),
                    f"unknown score plugin {_clip(name)}{fix} (known: {', '.join(plugins)})",
                )
            )
    defaults = load_defaults(scenario.overrides)
    for i, sub in enumerate(scenario.substrates):
        if isinstance(sub, Vm) and sub.hypervisor not in defaults.hypervisors:
            known = sorted(defaults.hypervisors)
            problems.append(
                (("substrates", i, "hypervisor"), _unknown("hypervisor", sub.hypervisor, known))
            )
        if isinstance(sub, Sandboxed) and sub.runtime not in defaults.sandbox_runtimes:
            known = sorted(defaults.sandbox_runtimes)
            problems.append((("substrates", i, "runtime"), _unknown("runtime", sub.runtime, known)))
    return problems


def _trace_problems(
    scenario: Scenario, base_dir: Path, allow_paths: bool
) -> list[tuple[_Loc, str]]:
    """Trace files that are missing, not files, or outside ``base_dir``'s tree."""
    problems: list[tuple[_Loc, str]] = []
    for ti, tenant in enumerate(scenario.tenants):
        for ci, cluster in enumerate(tenant.clusters):
            for wi, workload in enumerate(cluster.workloads):
                usage = workload.usage
                if usage.model != "trace" or not usage.trace:
                    continue
                problem = _trace_problem(usage.trace, base_dir, allow_paths)
                if problem:
                    loc = ("tenants", ti, "clusters", ci, "workloads", wi, "usage", "trace")
                    problems.append((loc, problem))
    return problems


def _trace_problem(name: str, base_dir: Path, allow_paths: bool) -> str | None:
    """Why the trace file ``name`` (relative to ``base_dir``) cannot be read, or None.

    Links are followed before the folder is checked, so a link to /etc is outside too.
    The message never quotes the file's content: it may not be a trace at all.
    """
    try:
        path = (base_dir / name).resolve()
        if not allow_paths and not path.is_relative_to(base_dir):
            return (
                f"{_clip(name)} is outside the scenario's folder {base_dir}; a trace must "
                "be in that folder or below it (pass --allow-paths to read it anyway)"
            )
        if not path.exists():
            return f"no such trace file {_clip(name)} (looked for {path})"
        if not path.is_file():
            kind = "a directory" if path.is_dir() else "not a regular file"
            return f"{_clip(name)} is {kind}, expected a trace CSV file"
    except (OSError, RuntimeError, ValueError) as exc:  # NUL in the name, a link loop...
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"{_clip(name)} is not a usable file name ({reason[:80]})"
    return None


def _unknown(what: str, name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    fix = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown {what} {name!r}{fix} (known: {', '.join(known)}; add one under overrides)"


# ----------------------------------------------------------------------- messages


def _listing(source: str, root: yaml.Node | None, problems: list[tuple[_Loc, str]]) -> str:
    lines = []
    for loc, message in problems[:_MAX_ERRORS_SHOWN]:
        loc = _as_written(root, loc)
        line = _line_of(root, loc)
        lines.append(f"{source}: {f'line {line}: ' if line else ''}{_dotted(loc)}: {message}")
    if len(problems) > _MAX_ERRORS_SHOWN:
        lines.append(f"... and {len(problems) - _MAX_ERRORS_SHOWN} more problems")
    return "\n".join(lines)


def _describe(exc: ValidationError, source: str, root: yaml.Node | None) -> str:
    errors = _relevant(exc.errors(include_url=False))
    lines = []
    for err in errors[:_MAX_ERRORS_SHOWN]:
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        message = _message(err, loc)
        if message.startswith("@") and ": " in message:
            # A cross-field check names its field: "@tenants.1.name: ...".
            path, message = message[1:].split(": ", 1)
            loc = loc + tuple(int(p) if p.isdigit() else p for p in path.split("."))
        loc = _as_written(root, loc)
        line = _line_of(root, loc)
        where = f"line {line}: " if line else ""
        path = _dotted(loc) or "(top level)"
        lines.append(f"{source}: {where}{path}: {message}")
    if len(errors) > _MAX_ERRORS_SHOWN:
        lines.append(f"... and {len(errors) - _MAX_ERRORS_SHOWN} more problems")
    return "\n".join(lines)


def _relevant(errors: list[Any]) -> list[Any]:
    """The errors worth showing: not "missing" when a misspelt key beside it is reported
    with that very name as its did-you-mean (``replica:`` for ``replicas:`` is one
    mistake), and not a union member's complaint about a value another member got into
    (``shapes: [...]`` is not 'auto' or 'menu', but its problem is inside the list)."""
    locs = [tuple(p for p in e["loc"] if not _is_union_tag(p)) for e in errors]
    suggested: set[_Loc] = set()
    for err, loc in zip(errors, locs, strict=True):
        if err["type"] == "extra_forbidden" and loc:
            hint = difflib.get_close_matches(str(loc[-1]), _known_keys(loc[:-1]), n=1, cutoff=0.6)
            suggested.update((*loc[:-1], h) for h in hint)
    deeper = {loc[:n] for loc in locs for n in range(len(loc))}
    return [
        err
        for err, loc in zip(errors, locs, strict=True)
        if not (err["type"] == "missing" and loc in suggested)
        and not (loc in deeper and not str(err.get("msg", "")).startswith("Value error, @"))
    ]


def _is_union_tag(part: int | str) -> bool:
    # pydantic inserts the chosen union member / discriminator into the location
    # ("vm", "list[VmShape]", "literal['auto']"): not a key of the user's file.
    return isinstance(part, str) and (
        part in ("baremetal-dedicated", "baremetal-shared", "vm", "sandboxed")
        or "[" in part
        or part.startswith(("function-", "literal"))
    )


def _dotted(loc: _Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any, loc: _Loc, root_model: type[BaseModel] = Scenario) -> str:
    """One pydantic error as a sentence; ``loc`` is relative to ``root_model``."""
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        known = _known_keys(loc[:-1], root_model)
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        listing = f" (known: {', '.join(sorted(known))})" if known and not hint else ""
        return f"unknown key {_clip(key)}{suggestion}{listing}"
    if kind == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    given = err.get("input")
    if kind not in ("value_error",) and not isinstance(given, dict | list) and given is not None:
        msg += f" (got {_clip(given)})"
    return msg


def _known_keys(loc: _Loc, root_model: type[BaseModel] = Scenario) -> list[str]:
    """Field names (as written in files) of the model found at ``loc``, or []."""
    candidates: list[Any] = [root_model]
    for part in loc:
        nxt: list[Any] = []
        for tp in candidates:
            for member in _members(tp):
                if isinstance(part, int):
                    origin = typing.get_origin(member)
                    if origin is list:
                        nxt.extend(typing.get_args(member))
                elif isinstance(member, type) and issubclass(member, BaseModel):
                    field = _field_by_key(member, part)
                    if field is not None:
                        nxt.append(field)
                elif typing.get_origin(member) is dict:
                    nxt.append(typing.get_args(member)[1])
        candidates = nxt
    keys: set[str] = set()
    for tp in candidates:
        for member in _members(tp):
            if isinstance(member, type) and issubclass(member, BaseModel):
                keys.update(f.alias or name for name, f in member.model_fields.items())
                if "kind" in member.model_fields:
                    for other in _substrate_models():
                        keys.update(f.alias or n for n, f in other.model_fields.items())
    return sorted(keys)


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field.annotation
    return None


def _members(tp: Any) -> list[Any]:
    """Flatten Optional / Union / Annotated into their member types."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_members(arg))
        return out
    return [tp]


def _substrate_models() -> list[type[BaseModel]]:
    from underlay.model.scenario import BaremetalDedicated, BaremetalShared, Sandboxed, Vm

    return [BaremetalDedicated, BaremetalShared, Vm, Sandboxed]


def _as_written(root: yaml.Node | None, loc: _Loc) -> _Loc:
    """Undo the tenant shorthand: ``tenants[i].clusters[0].x`` → ``tenants[i].x`` when the
    file wrote the workloads directly under the tenant."""
    if len(loc) >= 4 and loc[0] == "tenants" and loc[2] == "clusters" and loc[3] == 0:
        tenant = root
        for part in loc[:2]:
            tenant = _child(tenant, part)
        if isinstance(tenant, yaml.MappingNode) and _child(tenant, "clusters") is None:
            return loc[:2] + loc[4:]
    return loc


def _child(node: yaml.Node | None, part: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        # The last match: pairs merged in by `<<: *base` come first, the file's own after.
        for key_node, value_node in reversed(node.value):
            if key_node.value == part:
                return value_node  # type: ignore[no-any-return]
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def _line_of(root: yaml.Node | None, loc: _Loc) -> int | None:
    """1-based line of the deepest field on ``loc`` that exists in the file: its key's
    line for a mapping's field (``hardware:`` for what is missing in it), the item's for
    a list's."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in reversed(node.value) if k.value == part), None)
            if pair is None:
                break
            line = pair[0].start_mark.line + 1
            node = pair[1]
        else:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
    return line
