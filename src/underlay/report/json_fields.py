"""The JSON output declared as fields: a key, how to read it from a result, its rounding.

A record (one substrate's isolation, one tenant's cost...) is a list of :class:`Field`;
:func:`record` turns a result object into the dict the JSON shows, keys in the order
declared (docs/json.md documents each). Most fields are an attribute under its own name
(:func:`same`), many rounded to a fixed number of decimals (:func:`rounded`: 4 for
ratios and hours, 2 for dollars and kWh, 1 for watts, as docs/json.md says); a group of
fields of the same object nests under one key (:func:`group`), a list of sub-results is
one record each (:func:`each`), and a mapping keeps its keys sorted (:func:`sorted_map`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Field",
    "attr",
    "each",
    "group",
    "num",
    "of",
    "record",
    "renamed",
    "rounded",
    "same",
    "sorted_map",
]


@dataclass(frozen=True)
class Field:
    """One key of a JSON record and how to get its value from the result object."""

    key: str
    get: Callable[[Any], Any]


def num(x: float, digits: int = 4) -> float:
    """``x`` as a float rounded to ``digits`` decimals (integers too: ``3`` is ``3.0``)."""
    return round(float(x), digits)


def record(fields: Sequence[Field], obj: Any) -> dict[str, Any]:
    """``obj`` as a dict, one key per field, in order."""
    return {f.key: f.get(obj) for f in fields}


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda obj: getattr(obj, name)


def same(*names: str) -> list[Field]:
    """Attributes shown as they are, each under its own name."""
    return [Field(n, _attr(n)) for n in names]


def attr(key: str, name: str, digits: int | None = None, *, optional: bool = False) -> Field:
    """The attribute ``name`` under ``key``, rounded to ``digits`` decimals (:func:`num`)
    when given; ``optional``: None stays None."""
    if digits is None:
        return Field(key, _attr(name))
    places = digits

    def get(obj: Any) -> Any:
        x = getattr(obj, name)
        return None if optional and x is None else num(x, places)

    return Field(key, get)


def rounded(digits: int, *names: str, optional: bool = False) -> list[Field]:
    """Attributes rounded to ``digits`` decimals (:func:`num`), each under its own name;
    ``optional``: None stays None."""
    return [attr(n, n, digits, optional=optional) for n in names]


def renamed(digits: int | None = None, **keys: str) -> list[Field]:
    """Attributes under other names (``key=attribute``, in order), rounded to ``digits``
    decimals when given (:func:`num`)."""
    return [attr(key, name, digits) for key, name in keys.items()]


def group(key: str, fields: Sequence[Field]) -> Field:
    """``fields`` of the same object, nested under ``key``."""
    return Field(key, lambda obj: record(fields, obj))


def of(key: str, name: str, fields: Sequence[Field]) -> Field:
    """The object ``obj.<name>`` as a record of ``fields``, under ``key``."""
    return Field(key, lambda obj: record(fields, getattr(obj, name)))


def each(key: str, name: str, fields: Sequence[Field]) -> Field:
    """The list ``obj.<name>``, one record per item, under ``key``."""
    return Field(key, lambda obj: [record(fields, x) for x in getattr(obj, name)])


def sorted_map(key: str, name: str, digits: int | None = 4) -> Field:
    """The mapping ``obj.<name>`` with its keys sorted, values rounded (``None``: as is)."""

    def get(obj: Any) -> dict[str, Any]:
        items = sorted(getattr(obj, name).items())
        return {k: v if digits is None else num(v, digits) for k, v in items}

    return Field(key, get)
