"""What the tenants ask of the plan: isolation classes and rules, the weights of the
verdict's factors, and the hard constraints of the hybrid plan."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from underlay.model.fields import (
    _NUMERIC,
    Name,
    Real,
    _did_you_mean,
    _Model,
    at,
)

__all__ = [
    "DEFAULT_ISOLATION_CLASSES",
    "FACTORS",
    "MAX_WEIGHT",
    "Constraints",
    "IsolationClassDef",
    "IsolationPolicy",
    "IsolationRule",
    "Weights",
]


DEFAULT_ISOLATION_CLASSES = ("regulated", "internal", "untrusted")


class IsolationClassDef(_Model):
    """One isolation class; it obeys its own rules and those of the classes it inherits."""

    inherits: list[Name] = Field(default_factory=list)
    description: str = ""


class IsolationRule(_Model):
    """Tenants of two classes must not share a kernel (or a host, or a rack).

    ``between: [untrusted, untrusted]`` forbids two *different* untrusted tenants to share.
    """

    between: tuple[Name, Name]
    never_share: Literal["kernel", "host", "rack"] = "kernel"

    @field_validator("between", mode="before")
    @classmethod
    def _two_classes(cls, v: Any) -> Any:
        if isinstance(v, list | tuple) and len(v) != 2:
            raise ValueError(
                f"a rule names exactly two classes, got {len(v)}; write one rule per pair"
            )
        return v


def _default_rules() -> list[IsolationRule]:
    return [
        IsolationRule(between=("regulated", "untrusted"), never_share="kernel"),
        IsolationRule(between=("untrusted", "untrusted"), never_share="kernel"),
    ]


class IsolationPolicy(_Model):
    """Isolation classes of tenants and the rules between them.

    Default: classes ``regulated``, ``internal``, ``untrusted``; a regulated tenant never
    shares a kernel with an untrusted one, and no two untrusted tenants share a kernel.
    Classes named in ``classes`` are added to the three defaults; ``rules`` replace the
    default rules.
    """

    classes: dict[Name, IsolationClassDef] = Field(default_factory=dict)
    rules: list[IsolationRule] = Field(default_factory=_default_rules)

    @model_validator(mode="after")
    def _known_and_acyclic(self) -> IsolationPolicy:
        known = self.class_names
        for name, cls in self.classes.items():
            for i, parent in enumerate(cls.inherits):
                if parent not in known:
                    raise ValueError(
                        f"{at('classes', name, 'inherits', i)}no isolation class is called "
                        f"{parent!r}{_did_you_mean(parent, known)} (known: {', '.join(known)})"
                    )
        for name in self.classes:
            cycle = self._cycle_from(name)
            if cycle:
                raise ValueError(
                    f"{at('classes', cycle[0], 'inherits')}inheritance goes round in a circle: "
                    + " -> ".join(cycle)
                )
        for i, rule in enumerate(self.rules):
            for j, name in enumerate(rule.between):
                if name not in known:
                    raise ValueError(
                        f"{at('rules', i, 'between', j)}no isolation class is called {name!r}"
                        f"{_did_you_mean(name, known)} (known: {', '.join(known)})"
                    )
        return self

    def _cycle_from(self, start: str) -> list[str]:
        path: list[str] = [start]

        def walk(name: str) -> list[str]:
            for parent in self.classes.get(name, IsolationClassDef()).inherits:
                if parent in path:
                    return [*path[path.index(parent) :], parent]
                path.append(parent)
                found = walk(parent)
                if found:
                    return found
                path.pop()
            return []

        return walk(start)

    @property
    def class_names(self) -> list[str]:
        """The default classes and the scenario's own, in that order."""
        return list(DEFAULT_ISOLATION_CLASSES) + [
            c for c in self.classes if c not in DEFAULT_ISOLATION_CLASSES
        ]

    def lineage(self, name: str) -> set[str]:
        """``name`` and every class it inherits from, directly or not."""
        seen = {name}
        todo = [name]
        while todo:
            for parent in self.classes.get(todo.pop(), IsolationClassDef()).inherits:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen


FACTORS = ("performance", "versions", "isolation", "sla", "cost")

MAX_WEIGHT = 1000.0
"""The largest weight a factor may have: a verdict that flips only above it never flips."""


class Weights(_Model):
    """How much each factor counts in the verdict (relative; they need not add up to 1)."""

    performance: Real = Field(default=1.0, ge=0, le=MAX_WEIGHT)
    versions: Real = Field(
        default=1.0, ge=0, le=MAX_WEIGHT, description="multi-version flexibility"
    )
    isolation: Real = Field(default=1.0, ge=0, le=MAX_WEIGHT)
    sla: Real = Field(default=1.0, ge=0, le=MAX_WEIGHT, description="SLA predictability")
    cost: Real = Field(default=1.0, ge=0, le=MAX_WEIGHT)

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if not any(getattr(self, f) > 0 for f in FACTORS):
            raise ValueError("at least one weight must be above 0")
        return self

    def as_dict(self) -> dict[str, float]:
        """Factor → weight, in the order of FACTORS."""
        return {f: float(getattr(self, f)) for f in FACTORS}


class Constraints(_Model):
    """Hard constraints on the hybrid plan: every one holds, then cost is least."""

    isolation_rules: StrictBool = Field(
        default=True,
        description="two tenants that break an isolation rule on a substrate never share it",
    )
    budget_usd_per_month: Annotated[float, Field(gt=0, le=1e12), _NUMERIC] | None = None
    min_sla_probability: Annotated[float, Field(ge=0, le=1), _NUMERIC] | None = Field(
        default=None, description="share of failure years meeting each tenant's SLA"
    )
    min_cpu_sla_attainment_percent: Annotated[float, Field(ge=0, le=100), _NUMERIC] | None = Field(
        default=None, description="share of steps meeting each tenant's CPU SLA"
    )
    own_version: StrictBool = Field(
        default=False, description="every tenant runs the Kubernetes version it wants"
    )
    gpu_training_on: list[Literal["baremetal", "passthrough", "vgpu"]] | None = Field(
        default=None,
        description="GPU modes allowed for tenants with gpu-training workloads, e.g. "
        "[baremetal, passthrough]",
    )
    allowed: dict[str, list[str]] = Field(
        default_factory=dict, description="tenant → the substrates it may use (by label)"
    )
    assign: Literal["tenant", "workload"] = Field(
        default="tenant", description="assign each tenant, or each workload, a substrate"
    )
