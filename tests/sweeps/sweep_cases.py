"""A tiny scenario for sweep tests: two tenants on two substrates, one day in hourly steps
(a point runs in about half a second)."""

from __future__ import annotations

from pathlib import Path

from factories import make_tenant, make_workload, scenario_yaml

SUBSTRATES = ("baremetal-dedicated", "vm")
TENANTS = ("web", "bank")


def tiny_scenario(folder: Path, name: str = "scenario.yaml", **overrides: object) -> Path:
    """Write the tiny scenario (``overrides`` deep-merge into it) and return its path."""
    data: dict[str, object] = {
        "tenants": [
            make_tenant("web", workloads=[make_workload("api", replicas=4, cpu="2")]),
            make_tenant("bank", workloads=[make_workload("core", replicas=2)]),
        ],
        "substrates": [{"kind": "baremetal-dedicated"}, {"kind": "vm", "hypervisor": "kvm"}],
        "simulation": {"horizon_hours": 24, "step_minutes": 60},
        "failures": {"trials": 50},
    }
    data.update(overrides)
    path = folder / name
    path.write_text(scenario_yaml(**data), encoding="utf-8")
    return path
