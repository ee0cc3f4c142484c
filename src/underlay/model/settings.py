"""Settings of each analysis: Kubernetes node reservation, placement, simulation,
version lifecycle, failures and operations cost."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    model_validator,
)

from underlay.model.fields import (
    _NUMERIC,
    MAX_SEED,
    Real,
    Whole,
    _did_you_mean,
    _Model,
    at,
)
from underlay.model.placement_names import SCORE_PLUGINS, STRATEGIES, check_plugin_args

__all__ = [
    "CostSettings",
    "FailureSettings",
    "KubernetesSettings",
    "LifecycleSettings",
    "PlacementSettings",
    "SimulationSettings",
]


class KubernetesSettings(_Model):
    """Cluster-wide Kubernetes choices."""

    node_reservation: Literal["gke", "aks", "eks", "none"] = Field(
        default="gke", description="kube/system-reserved and eviction formula"
    )


class PlacementSettings(_Model):
    """How pods are packed: a strategy of the placement registry, score weights over its
    profile, and arguments of plugins that take some (``placement.args``)."""

    strategy: str = Field(
        default="best-fit",
        description="a strategy of the placement registry (see the README's placement section)",
    )
    weights: dict[str, Annotated[float, Field(ge=0, le=1000), _NUMERIC]] = Field(
        default_factory=dict,
        description="score plugin weights (0 to 1,000) overriding the strategy's profile",
    )
    args: dict[str, dict[str, Annotated[float, Field(ge=-1e9, le=1e9), _NUMERIC]]] = Field(
        default_factory=dict,
        description="plugin arguments by plugin name, e.g. "
        "{NodeResourcesFit: {headroom_percent: 10}}",
    )

    @model_validator(mode="after")
    def _known_to_the_registry(self) -> PlacementSettings:
        # The built-in registry's names, as data (model/placement_names.py); the Python
        # API's compare(registry=...) checks its own registry's.
        known = list(STRATEGIES)
        if self.strategy not in known:
            raise ValueError(
                f"{at('strategy')}unknown strategy {self.strategy!r}"
                f"{_did_you_mean(self.strategy, known)} (known: {', '.join(known)})"
            )
        known = list(SCORE_PLUGINS)
        for name in self.weights:
            if name not in known:
                raise ValueError(
                    f"{at('weights', name)}unknown score plugin {name!r}"
                    f"{_did_you_mean(name, known)} (known: {', '.join(known)})"
                )
        for name, given in self.args.items():
            try:
                check_plugin_args(name, given)
            except ValueError as exc:
                raise ValueError(f"{at('args', name)}{exc}") from None
        return self


class SimulationSettings(_Model):
    """The time-stepped replay of usage."""

    horizon_hours: Real = Field(default=168.0, gt=0, le=24 * 366, description="default: 7 days")
    step_minutes: Real = Field(default=5.0, gt=0, le=24 * 60)
    seed: Whole = Field(default=0, ge=0, le=MAX_SEED)
    shared_hardware_slowdown: Annotated[float, Field(ge=0, le=1), _NUMERIC] | None = Field(
        default=None,
        description=(
            "work lost at full load of other tenants on a host, from shared last-level cache "
            "and memory bandwidth (default: the defaults' interference figure; 0 = off); a "
            "substrate escapes it on dedicated hosts or with cache_partitioned"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _pinning_retired(cls, data: Any) -> Any:
        if isinstance(data, dict) and "pinned_cpus" in data:
            raise ValueError(
                f"{at('pinned_cpus')}pinning vCPUs does not partition the last-level cache or "
                "memory bandwidth, so it no longer changes the interference model; remove it, "
                "and set `cache_partitioned: true` on a substrate whose hosts partition them "
                "(Intel RDT cache allocation and memory-bandwidth allocation)"
            )
        return data

    @property
    def steps(self) -> int:
        """Number of steps in the horizon."""
        return max(1, round(self.horizon_hours * 60 / self.step_minutes))


class LifecycleSettings(_Model):
    """The Kubernetes version lifecycle over years."""

    start: date | None = Field(
        default=None,
        description="first day of the horizon (default: the date underlay's release calendar "
        "was last updated, so results do not change with the day they are run)",
    )
    horizon_years: Real = Field(default=3.0, gt=0, le=20)
    nodes_in_parallel: Whole = Field(
        default=1, ge=1, le=1_000, description="nodes drained at once in a rolling upgrade"
    )
    spare_hosts_per_cluster: Whole = Field(
        default=0, ge=0, le=1_000, description="bare-metal hosts kept free as upgrade surge"
    )


class FailureSettings(_Model):
    """The host, rack and zone failure Monte Carlo."""

    trials: Whole = Field(default=1000, ge=1, le=100_000)
    years: Real = Field(default=1.0, gt=0, le=20, description="simulated time per trial")
    seed: Annotated[int, Field(ge=0, le=MAX_SEED), _NUMERIC] | None = Field(
        default=None, description="default: the simulation seed"
    )


class CostSettings(_Model):
    """Operations cost on top of capex, power and licences."""

    ops_per_host_month_usd: Real = Field(default=0.0, ge=0, le=1_000_000)
    ops_per_cluster_month_usd: Real = Field(default=0.0, ge=0, le=10_000_000)
