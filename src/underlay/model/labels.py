"""Kubernetes labels on workloads, and label selectors that pick workloads by them.

The syntax is Kubernetes' own (kubernetes.io, "Labels and Selectors", section "Syntax and
character set"): a key is an optional prefix and a name separated by ``/``; the prefix is
a DNS subdomain (lower-case letters, digits, ``-`` and ``.``, beginning and ending with a
letter or digit, at most 253 characters); the name and the value are at most 63
characters of letters, digits, ``-``, ``_`` and ``.``, beginning and ending with a letter
or digit (a value may be empty).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

__all__ = ["MAX_LABELS", "Labels", "key_problem", "label_problem", "selects", "value_problem"]

MAX_LABELS = 64
"""Labels a workload or a selector may carry: a sanity bound, not Kubernetes' (it has
none but the object's size); the importers keep fewer (see the README)."""

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_PREFIX = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
# The same rules as JSON Schema patterns (ECMA-262): the lookahead bounds the prefix to
# 253 characters, the bounded repeat the name and the value to 63.
_KEY_PATTERN = (
    r"^((?=[^/]{1,253}/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_VALUE_PATTERN = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
_ALLOWED = "letters, digits, '-', '_' and '.', beginning and ending with a letter or digit"


def key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid Kubernetes label key (None: it is)."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return f"label key {key!r} has an empty prefix before '/'"
    if len(prefix) > 253:
        return f"label key {key!r}: the prefix is {len(prefix)} characters, at most 253"
    if prefix and not _PREFIX.fullmatch(prefix):
        return (
            f"label key {key!r}: the prefix must be a DNS subdomain (lower-case letters, "
            "digits, '-' and '.', beginning and ending with a letter or digit)"
        )
    if not name:
        return f"label key {key!r} has no name"
    if len(name) > 63:
        return f"label key {key!r}: the name is {len(name)} characters, at most 63"
    if not _NAME.fullmatch(name):
        return f"label key {key!r}: the name must be {_ALLOWED}"
    return None


def value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid Kubernetes label value (None: it is)."""
    if len(value) > 63:
        return f"label value {value[:20]!r}... is {len(value)} characters, at most 63"
    if value and not _NAME.fullmatch(value):
        return f"label value {value!r} must be empty or {_ALLOWED}"
    return None


def label_problem(key: str, value: str) -> str | None:
    """Why ``key: value`` is not a valid Kubernetes label (None: it is)."""
    return key_problem(key) or value_problem(value)


def _not_text(what: str, value: Any) -> str | None:
    """Why ``value`` (a label key or value as YAML read it) is not text (None: it is)."""
    if isinstance(value, str):
        return None
    if value is None:
        return f"{what} is null: write '' for an empty one"
    if isinstance(value, bool):
        # YAML 1.1 reads yes/no/on/off/true/false as booleans
        return (
            f"{what} reads as the boolean {str(value).lower()} (yes/no/on/off/true/false): quote it"
        )
    if isinstance(value, int | float):
        return f"{what} {value} is a number: quote it ('{value}')"
    return f"{what} is a {type(value).__name__}, not text"


def _text_keys(value: Any) -> Any:
    # A key that is not text is reported here, at the mapping: its path would show it
    # as a number ("labels[1]" for `on:`), and its value's complaint would be a second one.
    if isinstance(value, dict):
        for key in value:
            problem = _not_text("a label key", key)
            if problem:
                raise ValueError(problem)
    return value


def _text_value(value: Any) -> Any:
    problem = _not_text("label value", value)
    if problem:
        raise ValueError(problem)
    return value


def _valid(problem: Callable[[str], str | None]) -> Callable[[str], str]:
    def check(value: str) -> str:
        found = problem(value)
        if found:
            raise ValueError(found)
        return value

    return check


_Key = Annotated[str, AfterValidator(_valid(key_problem))]
_Value = Annotated[str, BeforeValidator(_text_value), AfterValidator(_valid(value_problem))]

Labels = Annotated[
    dict[_Key, _Value],
    BeforeValidator(_text_keys),
    Field(max_length=MAX_LABELS),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_LABELS,
            "propertyNames": {"pattern": _KEY_PATTERN, "maxLength": 317},
            "additionalProperties": {"type": "string", "maxLength": 63, "pattern": _VALUE_PATTERN},
        }
    ),
]
"""Kubernetes labels (``key: value``), checked as Kubernetes checks them; an error names
the key it is about."""


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` hold every pair of ``selector`` (an empty selector selects
    nothing: a part without ``labels`` takes no workload by label)."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
