"""Factories for test scenarios, in the style of Karpenter's ``pkg/test`` helpers.

Every factory returns the *raw* (file-shaped) data with sensible defaults; keyword
overrides replace or deep-merge into them. ``make_scenario`` validates the result into a
:class:`~underlay.model.scenario.Scenario`; ``scenario_dict`` stops before validation so a
test can dump it to YAML or break it on purpose.
"""

from __future__ import annotations

import copy
import textwrap
from typing import Any

import numpy as np
import yaml

from underlay.defaults.catalog import Defaults, load_defaults
from underlay.model.scenario import Scenario
from underlay.pipeline import place as place_one
from underlay.placement.engine import Placer
from underlay.placement.framework import PodBatch
from underlay.placement.plugins import default_registry
from underlay.placement.pool import NodePool, NodeTemplate
from underlay.placement.result import SubstratePlacement
from underlay.placement.strategies import profile_for

__all__ = [
    "MINIMAL_SCENARIO_YAML",
    "FixedNodes",
    "deep_merge",
    "make_batch",
    "make_host_model",
    "make_placer",
    "make_scenario",
    "make_tenant",
    "make_workload",
    "place",
    "scenario_dict",
    "scenario_yaml",
]


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in: dicts merge recursively, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def make_workload(
    name: str = "w",
    *,
    replicas: int = 1,
    cpu: str | int | float = "2",
    memory: str = "4Gi",
    **overrides: Any,
) -> dict[str, Any]:
    """A workload as written in a scenario file (``make_workload(cpu="500m", replicas=3)``)."""
    data: dict[str, Any] = {
        "name": name,
        "replicas": replicas,
        "requests": {"cpu": cpu, "memory": memory},
    }
    return deep_merge(data, overrides)


def make_tenant(
    name: str = "t",
    *,
    workloads: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A tenant using the single-cluster ``workloads:`` shorthand unless ``clusters`` is given."""
    data: dict[str, Any] = {"name": name}
    if "clusters" not in overrides:
        data["workloads"] = workloads if workloads is not None else [make_workload()]
    return deep_merge(data, overrides)


def make_host_model(
    name: str = "std",
    *,
    cores: int | str = 64,
    memory: str = "256Gi",
    **overrides: Any,
) -> dict[str, Any]:
    """A host model (64 cores, 256 GiB, $10,000 over 5 years by default)."""
    data: dict[str, Any] = {
        "name": name,
        "cores": cores,
        "memory": memory,
        "price_usd": 10_000,
        "lifetime_years": 5,
    }
    return deep_merge(data, overrides)


def scenario_dict(**overrides: Any) -> dict[str, Any]:
    """Raw scenario data: one 64-core host model, sized by underlay, one tenant.

    ``overrides`` deep-merge: ``scenario_dict(hardware={"topology": {"racks": 4}})`` keeps
    the host models; lists (``tenants=[...]``, ``substrates=[...]``) replace.
    """
    data: dict[str, Any] = {
        "name": "test",
        "hardware": {"host_models": [make_host_model()]},
        "tenants": [make_tenant()],
    }
    return deep_merge(data, overrides)


def make_scenario(**overrides: Any) -> Scenario:
    """A validated scenario; see :func:`scenario_dict` for the overrides."""
    return Scenario.model_validate(scenario_dict(**overrides))


def scenario_yaml(**overrides: Any) -> str:
    """The scenario of :func:`scenario_dict` as YAML text (key order kept)."""
    return yaml.safe_dump(scenario_dict(**overrides), sort_keys=False)


def place(scenario: Scenario, kind: str, defaults: Defaults | None = None) -> SubstratePlacement:
    """Place ``scenario`` on its substrate ``kind`` with the packaged defaults."""
    return place_one(scenario, defaults or load_defaults(scenario.overrides), kind)


# ----------------------------------------------------------------- engine-level helpers


class FixedNodes:
    """A node source with nothing to open: placement only uses the nodes already in the pool."""

    def template_for(self, batch: PodBatch) -> NodeTemplate | None:
        return None

    def available(self, template: NodeTemplate) -> int:
        return 0

    def open(self, pool: NodePool, template: NodeTemplate, count: int, racks: Any = None) -> Any:
        raise AssertionError("FixedNodes never opens nodes")

    def exhausted(self, batch: PodBatch) -> str:
        return "fixed pool: no node can be added"

    def can_grow(self, batch: PodBatch) -> bool:
        return True


def make_batch(
    *, replicas: int = 1, cpu_milli: int = 1000, memory_mib: int = 0, key: int = 0, **kw: Any
) -> PodBatch:
    """A batch of identical pods (CPU in millicores, memory in MiB)."""
    return PodBatch(key=key, replicas=replicas, cpu_milli=cpu_milli, memory_mib=memory_mib, **kw)


def make_placer(
    strategy: str,
    nodes: list[dict[str, int]],
    *,
    racks: int = 1,
    max_gpus: int = 8,
    source: Any = None,
) -> Placer:
    """A placer over a pool of pre-opened nodes.

    Each node is ``{"cpu": cap_milli, "used": used_milli, "mem": cap_mib, "pods": slots,
    "gpus": n, "gpu_model": code, "rack": r}`` (all optional but ``cpu``).
    """
    pool = NodePool(max_gpus=max_gpus)
    for i, spec in enumerate(nodes):
        template = NodeTemplate(
            cpu_milli=spec["cpu"],
            memory_mib=spec.get("mem", 1024 * 1024),
            pods=spec.get("pods", 110),
            gpus=spec.get("gpus", 0),
            gpu_model=spec.get("gpu_model", -1),
        )
        idx = pool.open(
            template,
            np.array([i], np.int64),
            np.array([spec.get("rack", i % racks)], np.int64),
        )
        pool.free_cpu[idx] -= spec.get("used", 0)
        pool.free_mem[idx] -= spec.get("used_mem", 0)
    return Placer(
        pool, source or FixedNodes(), profile_for(strategy), default_registry(), racks=racks
    )


# The smallest scenario file, as text: line numbers in tests that edit it refer to it.
MINIMAL_SCENARIO_YAML = textwrap.dedent(
    """\
    name: t
    hardware:
      host_models:
        - name: std
          cores: 64
          memory: 256Gi
    tenants:
      - name: a
        workloads:
          - name: w
            replicas: 3
            requests: {cpu: "1", memory: 1Gi}
    """
)
