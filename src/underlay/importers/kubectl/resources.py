"""Effective requests of a pod: quantities in base units, the scheduler's arithmetic over
app, init and sidecar containers and the pod overhead, and that arithmetic as text
for the scenario's comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Final

from underlay.importers.kubectl.cursor import _At, _kind
from underlay.model.quantities import parse_quantity
from underlay.model.scenario import MAX_CPU_MILLI, MAX_MEMORY_MIB

__all__ = ["GPU_RESOURCE"]


GPU_RESOURCE: Final = "nvidia.com/gpu"
"""The extended resource counted as GPUs (NVIDIA device plugin)."""

_MAX_GPUS_PER_POD: Final = 16
_MAX_GPUS_PER_NODE: Final = 64

_CPU, _MEMORY, _GPU = "cpu", "memory", GPU_RESOURCE
_RESOURCES: Final = (_CPU, _MEMORY, _GPU)
# Largest quantity accepted in any one field, in the resource's base unit (cores, bytes,
# GPUs); anything above is a unit typo, and the scenario model would reject it.
_CEILING: Final = {
    _CPU: Decimal(MAX_CPU_MILLI) / 1000,
    _MEMORY: Decimal(MAX_MEMORY_MIB) * 2**20,
    _GPU: Decimal(_MAX_GPUS_PER_NODE),
}


def _quantity(at: _At, resource: str) -> Decimal:
    """The quantity at ``at`` in the resource's base unit (cores, bytes, GPUs)."""
    value = at.value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise at.fail(f"expected a quantity such as '500m' or '4Gi', got {_kind(value)}")
    try:
        amount = parse_quantity(value)
    except ValueError as exc:
        raise at.fail(str(exc)) from None
    except ArithmeticError:
        raise at.fail(f"{value!r} is out of range for a quantity") from None
    if amount < 0:
        raise at.fail(f"{value!r} must not be negative")
    if amount > _CEILING[resource]:
        raise at.fail(
            f"{value!r} is more than {_fmt(resource, _CEILING[resource])}; is the unit right?"
        )
    if resource == _GPU and amount != amount.to_integral_value():
        raise at.fail(f"{value!r}: GPUs are counted in whole devices")
    return amount


def _milli(cores: Decimal, rounding: str = ROUND_CEILING) -> int:
    return int((cores * 1000).to_integral_value(rounding=rounding))


def _fmt_cpu(cores: Decimal, rounding: str = ROUND_CEILING) -> str:
    milli = _milli(cores, rounding)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


_MEMORY_UNITS: Final = (
    ("Ti", 2**40),
    ("Gi", 2**30),
    ("Mi", 2**20),
    ("G", 10**9),
    ("M", 10**6),
    ("Ki", 2**10),
)


def _fmt_memory(size: Decimal) -> str:
    """Bytes → the exact quantity in the largest unit that divides it ("0" → "0Mi")."""
    if size == 0:
        return "0Mi"
    whole = size.to_integral_value(rounding=ROUND_CEILING)
    for suffix, unit in _MEMORY_UNITS:
        if whole % unit == 0:
            return f"{whole // unit}{suffix}"
    return str(whole)


def _fmt(resource: str, amount: Decimal) -> str:
    if resource == _CPU:
        return _fmt_cpu(amount)
    if resource == _MEMORY:
        return _fmt_memory(amount)
    return str(int(amount))


@dataclass(frozen=True)
class _Term:
    """One resource of one pod: the effective amount and how it was reached."""

    amount: Decimal
    formula: str
    """e.g. ``max(200m + 50m, init 500m) + overhead 250m``; empty when trivial."""


@dataclass
class _Sum:
    """Builds one resource's effective request and the text of its arithmetic."""

    app: list[Decimal] = field(default_factory=list)
    sidecars: list[Decimal] = field(default_factory=list)
    init: Decimal = Decimal(0)
    init_terms: list[Decimal] | None = None  # the largest init step; None: no init containers

    def add_init(self, amount: Decimal, *, restartable: bool) -> None:
        # An init container runs next to the sidecars started before it (and a sidecar
        # next to its predecessors): kubernetes.io "Sidecar Containers", resource sharing.
        terms = [*self.sidecars, amount]
        total = sum(terms, Decimal(0))
        if self.init_terms is None or total > self.init:
            self.init, self.init_terms = total, terms
        if restartable:
            self.sidecars.append(amount)

    def total(self, overhead: Decimal) -> Decimal:
        running = sum(self.app, Decimal(0)) + sum(self.sidecars, Decimal(0))
        return max(running, self.init) + overhead

    def formula(self, resource: str, overhead: Decimal) -> str:
        """The arithmetic of :meth:`total` as text; empty when there is nothing to show."""
        terms = [_fmt(resource, a) for a in self.app]
        terms += [f"sidecar {_fmt(resource, s)}" for s in self.sidecars]
        text = " + ".join(terms) or "0"
        if self.init_terms is not None:
            init = " + ".join(_fmt(resource, t) for t in self.init_terms)
            text = f"max({text}, init {init})"
        if overhead:
            text = f"{text} + overhead {_fmt(resource, overhead)}"
        simple = len(terms) <= 1 and self.init_terms is None and not overhead
        return "" if simple else text


def _container_resources(container: _At) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    resources = container.mapping("resources")
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    if resources is not None:
        for key, out in (("requests", requests), ("limits", limits)):
            section = resources.mapping(key)
            if section is None:
                continue
            for resource in _RESOURCES:
                if section.value.get(resource) is not None:
                    out[resource] = _quantity(section.child(resource), resource)
    for resource, limit in limits.items():
        requests.setdefault(resource, limit)  # the API server defaults a request to the limit
        if requests[resource] > limit:
            raise container.fail(
                f"resources: requests.{resource} {_fmt(resource, requests[resource])} "
                f"is above limits.{resource} {_fmt(resource, limit)}"
            )
    return requests, limits


def _pod_resources(spec: _At) -> tuple[dict[str, _Term], dict[str, Decimal | None]]:
    overhead: dict[str, Decimal] = {}
    overhead_at = spec.mapping("overhead")
    if overhead_at is not None:
        for resource in _RESOURCES:
            if overhead_at.value.get(resource) is not None:
                overhead[resource] = _quantity(overhead_at.child(resource), resource)
    sums = {r: _Sum() for r in _RESOURCES}
    limit_sums = {r: _Sum() for r in _RESOURCES}
    unlimited: set[str] = set()
    for container in spec.objects("initContainers"):
        requests, limits = _container_resources(container)
        restartable = container.value.get("restartPolicy") == "Always"
        for resource in _RESOURCES:
            sums[resource].add_init(requests.get(resource, Decimal(0)), restartable=restartable)
            limit_sums[resource].add_init(limits.get(resource, Decimal(0)), restartable=restartable)
            if resource not in limits:
                unlimited.add(resource)
    for container in spec.objects("containers"):
        requests, limits = _container_resources(container)
        for resource in _RESOURCES:
            sums[resource].app.append(requests.get(resource, Decimal(0)))
            limit_sums[resource].app.append(limits.get(resource, Decimal(0)))
            if resource not in limits:
                unlimited.add(resource)
    terms: dict[str, _Term] = {}
    for resource in _RESOURCES:
        extra = overhead.get(resource, Decimal(0))
        amount = sums[resource].total(extra)
        if amount > _CEILING[resource] or (resource == _GPU and amount > _MAX_GPUS_PER_POD):
            ceiling = _MAX_GPUS_PER_POD if resource == _GPU else _CEILING[resource]
            raise spec.fail(
                f"the pod requests {_fmt(resource, amount)} {resource} in total, more than "
                f"{_fmt(resource, Decimal(ceiling))}; is a unit wrong?"
            )
        terms[resource] = _Term(amount, sums[resource].formula(resource, extra))
    pod_limits: dict[str, Decimal | None] = {}
    has_containers = bool(spec.value.get("containers"))
    for resource in (_CPU, _MEMORY):
        if resource in unlimited or not has_containers:
            pod_limits[resource] = None
        else:
            # Limits are at least the requests container by container, so also in total.
            limit = limit_sums[resource].total(overhead.get(resource, Decimal(0)))
            if limit > _CEILING[resource]:
                raise spec.fail(f"the pod's {resource} limit is too large; is a unit wrong?")
            pod_limits[resource] = limit
    return terms, pod_limits
