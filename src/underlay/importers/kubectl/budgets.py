"""PodDisruptionBudgets read from the dump and matched to the workloads they cover.

A PDB covers the pods of its namespace that its ``spec.selector`` selects
(``matchLabels`` and ``matchExpressions`` with ``In``, ``NotIn``, ``Exists``,
``DoesNotExist``; an empty selector ``{}`` selects every pod of the namespace, a missing
one none, as ``policy/v1`` says).  A workload gets the budget of the PDB that selects all
its pods; when several do, the first by name (the eviction API refuses to evict a pod
covered by more than one, so such a setup is a mistake the header points out).

A percentage is turned into pods on the workload's replicas and rounded up, as the
disruption controller does for both fields (kubernetes ``pkg/controller/disruption``:
``GetScaledValueFromIntOrPercent(..., roundUp=true)``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from underlay.importers.kubectl.cursor import _At

__all__: list[str] = []  # private to the kubectl importer

_PERCENT = re.compile(r"^(\d{1,3})%$")


@dataclass(frozen=True)
class _Budget:
    name: str
    namespace: str
    path: str
    match_labels: dict[str, str] | None
    """``None``: the PDB has no selector (selects nothing)."""
    expressions: tuple[tuple[str, str, frozenset[str]], ...]
    min_available: int | str | None
    max_unavailable: int | str | None

    def selects(self, labels: dict[str, str]) -> bool:
        """Whether a pod with ``labels`` is covered."""
        if self.match_labels is None:
            return False
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        for key, operator, values in self.expressions:
            has = key in labels
            if operator == "In" and not (has and labels[key] in values):
                return False
            if operator == "NotIn" and has and labels[key] in values:
                return False
            if operator == "Exists" and not has:
                return False
            if operator == "DoesNotExist" and has:
                return False
        return True

    def for_replicas(self, replicas: int) -> tuple[dict[str, int], str]:
        """The scenario's ``disruption_budget`` for ``replicas`` pods, and how it was read."""
        field, value = (
            ("max_unavailable", self.max_unavailable)
            if self.max_unavailable is not None
            else ("min_available", self.min_available)
        )
        spec = "maxUnavailable" if field == "max_unavailable" else "minAvailable"
        if isinstance(value, int):
            return {field: value}, f"PDB {self.name}: {spec} {value}"
        assert isinstance(value, str)
        percent = int(_PERCENT.match(value).group(1))  # type: ignore[union-attr]
        pods = math.ceil(percent * replicas / 100)
        return (
            {field: pods},
            f"PDB {self.name}: {spec} {value} of {replicas} replicas = "
            f"{percent * replicas / 100:g}, rounded up as the disruption controller does",
        )


def _int_or_percent(at: _At) -> int | str | None:
    value = at.value
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1_000_000:
        return value
    if isinstance(value, str):
        if value.isdigit() and int(value) <= 1_000_000:
            return int(value)
        match = _PERCENT.match(value)
        if match and int(match.group(1)) <= 100:
            return value
    raise at.fail(f"expected a number of pods or a percentage such as '25%', got {value!r}")


def _parse_budget(item: _At) -> _Budget | None:
    """The PDB; ``None`` when it sets neither field (nothing to model)."""
    meta = item.mapping("metadata")
    name = (meta.text("name") if meta else None) or item.path or "pdb"
    namespace = (meta.text("namespace") if meta else None) or "default"
    spec = item.mapping("spec")
    if spec is None:
        return None
    min_available = _int_or_percent(spec.child("minAvailable"))
    max_unavailable = _int_or_percent(spec.child("maxUnavailable"))
    if min_available is None and max_unavailable is None:
        return None
    if min_available is not None and max_unavailable is not None:
        raise spec.fail("sets both minAvailable and maxUnavailable; the API allows one")
    selector = spec.mapping("selector")
    labels: dict[str, str] | None = None
    expressions: list[tuple[str, str, frozenset[str]]] = []
    if selector is not None:
        labels = selector.strings("matchLabels")
        for expr in selector.objects("matchExpressions"):
            operator = expr.text("operator") or ""
            if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
                raise expr.child("operator").fail(
                    f"expected In, NotIn, Exists or DoesNotExist, got {operator!r}"
                )
            values: Any = expr.value.get("values") or []
            if not isinstance(values, list):
                raise expr.child("values").fail("expected an array of strings")
            key = expr.text("key") or ""
            expressions.append((key, operator, frozenset(v for v in values if isinstance(v, str))))
    return _Budget(
        name=name,
        namespace=namespace,
        path=f"{item.source}: {item.path}" if item.path else item.source,
        match_labels=labels,
        expressions=tuple(expressions),
        min_available=min_available,
        max_unavailable=max_unavailable,
    )
