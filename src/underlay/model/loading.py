"""Reading scenario files: YAML → validated :class:`~underlay.model.scenario.Scenario`.

Every problem becomes one :class:`~underlay.errors.ScenarioError` whose message names the
file, the line, the field path and the problem, with a "did you mean" for misspelt keys.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from underlay.errors import ScenarioError
from underlay.files import read_text
from underlay.model.scenario import Sandboxed, Scenario, Vm

__all__ = ["load_scenario", "parse_scenario"]

_MAX_ERRORS_SHOWN = 8


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file at ``path``."""
    path = Path(path)
    text = read_text(path, ScenarioError, "a YAML scenario file")
    return parse_scenario(text, source=str(path)).with_base_dir(path.resolve().parent)


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML ``text``; ``source`` names it in error messages."""
    if not text.strip():
        raise ScenarioError(
            f"{source}: the file is empty; see `underlay example` or `underlay schema`"
        )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ScenarioError(f"{source}: {where}: malformed YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: malformed YAML: {exc}") from None
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
        from underlay.analysis.lifecycle import lifecycle_problems

        problems = lifecycle_problems(scenario)
    if problems:
        lines = []
        for loc, message in problems[:_MAX_ERRORS_SHOWN]:
            line = _line_of(root, loc)
            lines.append(f"{source}: {f'line {line}: ' if line else ''}{_dotted(loc)}: {message}")
        raise ScenarioError("\n".join(lines))
    return scenario


def _against_defaults(scenario: Scenario) -> list[tuple[tuple[int | str, ...], str]]:
    """Overrides that break the defaults, and hypervisors or runtimes that do not exist."""
    from underlay.defaults.catalog import load_defaults, override_problems

    problems: list[tuple[tuple[int | str, ...], str]] = [
        (("overrides", *loc), msg) for loc, msg in override_problems(scenario.overrides)
    ]
    if problems:
        return problems
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


def _unknown(what: str, name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    fix = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown {what} {name!r}{fix} (known: {', '.join(known)}; add one under overrides)"


def _describe(exc: ValidationError, source: str, root: yaml.Node | None) -> str:
    errors = exc.errors(include_url=False)
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


def _is_union_tag(part: int | str) -> bool:
    # pydantic inserts the chosen union member / discriminator into the location
    # ("vm", "list[VmShape]", "literal['auto']"): not a key of the user's file.
    return isinstance(part, str) and (
        part in ("baremetal-dedicated", "baremetal-shared", "vm", "sandboxed")
        or "[" in part
        or part.startswith(("function-", "literal"))
    )


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any, loc: tuple[int | str, ...]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        listing = f" (known: {', '.join(sorted(known))})" if known and not hint else ""
        return f"unknown key {key!r}{suggestion}{listing}"
    if kind == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    given = err.get("input")
    if kind not in ("value_error",) and not isinstance(given, dict | list) and given is not None:
        msg += f" (got {given!r})"
    return msg


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """Field names (as written in files) of the model found at ``loc``, or []."""
    candidates: list[Any] = [Scenario]
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


def _as_written(root: yaml.Node | None, loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
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
        for key_node, value_node in node.value:
            if key_node.value == part:
                return value_node  # type: ignore[no-any-return]
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest YAML node on ``loc`` that exists in the file (the key
    itself for the last part, so "unknown key" points at the key)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode) and i == len(loc) - 1:
            key = next((k for k, _ in node.value if k.value == part), None)
            if key is not None:
                return int(key.start_mark.line) + 1
        child = _child(node, part)
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
