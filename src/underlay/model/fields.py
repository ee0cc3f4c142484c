"""Field types and helpers every part of the scenario model shares.

Sanity bounds (:data:`MAX_CPU_MILLI`, :data:`MAX_MEMORY_MIB`, :data:`MAX_SEED`), numbers
that refuse ``true`` and text, Kubernetes quantities stored in integer units
(:data:`CpuMilli`, :data:`MemoryMiB`), names, and the base model every scenario model
derives from (frozen, unknown keys refused, no NaN). :func:`at` prefixes a validator's
message with the field it is about; the loader turns that into the file's line.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from underlay.model.quantities import (
    POSITIVE_QUANTITY_PATTERN,
    UNSIGNED_QUANTITY_PATTERN,
    cpu_to_milli,
    is_negative,
    memory_to_mib,
)

__all__ = [
    "MAX_CPU_MILLI",
    "MAX_MEMORY_MIB",
    "MAX_SEED",
    "SUBSTRATE_KINDS",
    "CpuMilli",
    "GpuSharing",
    "HostCpuMilli",
    "IsolationClass",
    "KubeVersion",
    "MemoryMiB",
    "Name",
    "Real",
    "SubstrateKind",
    "SupportChannel",
    "Whole",
    "WorkloadClass",
    "at",
]

# Sanity bounds: anything beyond is a typo, not a real machine or pod.
MAX_CPU_MILLI = 4096 * 1000  # 4,096 cores
MAX_MEMORY_MIB = 64 * 1024 * 1024  # 64 TiB
MAX_SEED = 2**63 - 1  # a seed fits a signed 64-bit integer wherever it is written


def _number(value: Any) -> Any:
    # pydantic's lax mode reads `true` as 1 and the text "3" as 3; in a scenario file both
    # are mistakes (YAML already gives numbers as numbers), so only numbers pass.
    if isinstance(value, bool | str):
        raise ValueError(f"expected a number, got {value!r}")
    return value


_NUMERIC = BeforeValidator(_number)
"""Refuses ``true`` and text where a number belongs; put after any bounds in ``Annotated``
(``Annotated[int, Field(ge=1), _NUMERIC] | None``) so the JSON Schema keeps the bounds."""
Whole = Annotated[int, _NUMERIC]
"""A whole number as written in the file (``2`` or ``2.0``; not ``"2"``, not ``true``)."""
Real = Annotated[float, _NUMERIC]
"""A finite real number as written in the file (not ``"2"``, ``true`` or ``.nan``)."""


def _cpu(value: Any) -> int:
    milli = cpu_to_milli(value)
    if is_negative(value):
        raise ValueError("must not be negative")
    if milli > MAX_CPU_MILLI:
        raise ValueError(
            f"{value!r} is more than {MAX_CPU_MILLI // 1000} cores; is the unit right?"
        )
    return milli


def _memory(value: Any) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f"{value!r} has no unit; write memory as a quantity such as '512Mi' or '4Gi'"
        )
    mib = memory_to_mib(value)
    if is_negative(value):
        raise ValueError("must not be negative")
    if mib > MAX_MEMORY_MIB:
        raise ValueError(f"{value!r} is more than 64Ti; is the unit right?")
    return mib


def _cpu_schema(*, positive: bool = False) -> dict[str, Any]:
    """A CPU quantity as the loader takes it: text in the quantity grammar, or a number."""
    most = MAX_CPU_MILLI // 1000
    text = POSITIVE_QUANTITY_PATTERN if positive else UNSIGNED_QUANTITY_PATTERN
    least = {"exclusiveMinimum": 0} if positive else {"minimum": 0}
    return {
        "anyOf": [
            {"type": "string", "pattern": text},
            {"type": "number", **least, "maximum": most},
        ],
        "description": f"CPU quantity, e.g. 500m or 2 (at most {most:,} cores)",
    }


_MEMORY_SCHEMA = {
    "type": "string",
    "pattern": UNSIGNED_QUANTITY_PATTERN,
    "description": "memory quantity, e.g. 512Mi or 4Gi (at most 64Ti)",
}
CpuMilli = Annotated[
    int,
    BeforeValidator(_cpu),
    PlainSerializer(lambda v: f"{v}m", return_type=str),
    WithJsonSchema(_cpu_schema()),
]
HostCpuMilli = Annotated[
    int,
    BeforeValidator(_cpu),
    PlainSerializer(lambda v: f"{v}m", return_type=str),
    WithJsonSchema(_cpu_schema(positive=True)),
]
MemoryMiB = Annotated[
    int,
    BeforeValidator(_memory),
    PlainSerializer(lambda v: f"{v}Mi", return_type=str),
    WithJsonSchema(_MEMORY_SCHEMA),
]
Name = Annotated[
    str, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
]
KubeVersion = Annotated[
    str, Field(pattern=r"^1\.[0-9]{1,2}$", description="minor version, e.g. '1.31'")
]

SupportChannel = Literal["upstream", "eks", "eks-extended", "aks", "gke"]
WorkloadClass = Literal[
    "cpu", "memory", "storage-io", "network-latency", "gpu-training", "gpu-inference", "batch"
]
IsolationClass = Name  # a class of the scenario's isolation policy (see IsolationPolicy)
GpuSharing = Literal["time-slicing", "mig"]
"""How a GPU is shared by pods given a fraction of it (on ``vm``, by vGPU VMs): time-slicing
(work-conserving, no isolation) or MIG (fixed, isolated hardware slices)."""
SubstrateKind = Literal["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]
SUBSTRATE_KINDS: tuple[SubstrateKind, ...] = (
    "baremetal-dedicated",
    "baremetal-shared",
    "vm",
    "sandboxed",
)


class _Model(BaseModel):
    # allow_inf_nan=False: `.nan` and `.inf` are refused by every float field ("Input
    # should be a finite number"), before any range check could be fooled by them.
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False
    )


def at(*path: str | int) -> str:
    """Prefix for a validator's message naming the field it is about, relative to the model
    being validated (the loader turns it into the field path and line of the file)."""
    return "@" + ".".join(str(p) for p in path) + ": "


def _did_you_mean(name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def _require_unique(what: str, names: list[str], field: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{at(field, i, 'name')}{what} name {name!r} appears twice")
        seen.add(name)
