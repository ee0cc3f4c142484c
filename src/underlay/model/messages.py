"""Validation problems as messages: pydantic's errors, and the loader's own problems, each
as one line ``<file>: line N: <field path as written>: <problem>``.

A misspelt key gets a "did you mean" from the fields of the model at its place; the
line is found in the YAML node tree (:mod:`underlay.model.strict_yaml`); the tenant
shorthand is undone so the path is the one the file wrote; at most
:data:`MAX_ERRORS_SHOWN` problems are listed.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from underlay.model.scenario import Scenario
from underlay.model.strict_yaml import Loc, clip, dotted

__all__ = ["MAX_ERRORS_SHOWN", "describe", "error_message", "listing"]

MAX_ERRORS_SHOWN = 8
"""Most problems listed in one error; the rest are counted."""


def listing(source: str, root: yaml.Node | None, problems: list[tuple[Loc, str]]) -> str:
    lines = []
    for loc, message in problems[:MAX_ERRORS_SHOWN]:
        loc = _as_written(root, loc)
        line = _line_of(root, loc)
        lines.append(f"{source}: {f'line {line}: ' if line else ''}{dotted(loc)}: {message}")
    if len(problems) > MAX_ERRORS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_ERRORS_SHOWN} more problems")
    return "\n".join(lines)


def describe(exc: ValidationError, source: str, root: yaml.Node | None) -> str:
    errors = _relevant(exc.errors(include_url=False))
    lines = []
    for err in errors[:MAX_ERRORS_SHOWN]:
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        message = error_message(err, loc)
        if message.startswith("@") and ": " in message:
            # A cross-field check names its field: "@tenants.1.name: ...".
            path, message = message[1:].split(": ", 1)
            loc = loc + tuple(int(p) if p.isdigit() else p for p in path.split("."))
        loc = _as_written(root, loc)
        line = _line_of(root, loc)
        where = f"line {line}: " if line else ""
        path = dotted(loc) or "(top level)"
        lines.append(f"{source}: {where}{path}: {message}")
    if len(errors) > MAX_ERRORS_SHOWN:
        lines.append(f"... and {len(errors) - MAX_ERRORS_SHOWN} more problems")
    return "\n".join(lines)


def _relevant(errors: list[Any]) -> list[Any]:
    """The errors worth showing: not "missing" when a misspelt key beside it is reported
    with that very name as its did-you-mean (``replica:`` for ``replicas:`` is one
    mistake), and not a union member's complaint about a value another member got into
    (``shapes: [...]`` is not 'auto' or 'menu', but its problem is inside the list)."""
    locs = [tuple(p for p in e["loc"] if not _is_union_tag(p)) for e in errors]
    suggested: set[Loc] = set()
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
        part in ("baremetal-dedicated", "baremetal-shared", "vm", "sandboxed", "hybrid")
        or "[" in part
        or part.startswith(("function-", "literal"))
    )


def error_message(err: Any, loc: Loc, root_model: type[BaseModel] = Scenario) -> str:
    """One pydantic error as a sentence; ``loc`` is relative to ``root_model``."""
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        known = _known_keys(loc[:-1], root_model)
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        listing = f" (known: {', '.join(sorted(known))})" if known and not hint else ""
        return f"unknown key {clip(key)}{suggestion}{listing}"
    if kind == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    given = err.get("input")
    if kind not in ("value_error",) and not isinstance(given, dict | list) and given is not None:
        msg += f" (got {clip(given)})"
    return msg


def _known_keys(loc: Loc, root_model: type[BaseModel] = Scenario) -> list[str]:
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


def _as_written(root: yaml.Node | None, loc: Loc) -> Loc:
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


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
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
