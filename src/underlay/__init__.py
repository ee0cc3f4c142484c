"""underlay: where should your Kubernetes clusters run — bare metal, VMs, or a mix?

The public Python API, returning plain data::

    from underlay import load_scenario, compare
    result = compare(load_scenario("examples/saas-platform.yaml"))
    for s in result.substrates:
        print(s.kind, s.hosts, s.cost_per_month_usd)

    from underlay import analyse, simulate
    simulation = simulate(result.scenario, comparison=result)
    factors = analyse(result, simulation)
    for a in factors.substrates:
        print(a.name, a.isolation.incidents_per_year, a.cost.per_month.total)

    from underlay import decide, measure_plan
    decision = measure_plan(result, simulation, factors, decide(result, simulation, factors))
    print(decision.plan_check.status, decision.plan_check.final.measured_cost)
"""

import importlib
import typing

from underlay.version import __version__ as __version__

# The API loads on first use (PEP 562), so that ``import underlay.entry`` — the console
# script — imports nothing heavy before it installs its signal handlers.
if typing.TYPE_CHECKING:
    from underlay.analysis.capacity_results import SubstrateCapacity, TenantCapacity
    from underlay.analysis.results import Analysis, Comparison
    from underlay.decision.decide import decide
    from underlay.decision.results import Decision
    from underlay.defaults.catalog import Defaults, load_defaults
    from underlay.errors import (
        CalibrationError,
        ExportError,
        InfeasibleError,
        InputError,
        ScenarioError,
        TraceError,
        UnderlayError,
    )
    from underlay.model.loading import load_scenario, parse_scenario
    from underlay.model.scenario import Scenario
    from underlay.pipeline import analyse, compare, simulate
    from underlay.plan_loop import measure_plan
    from underlay.simulation.results import Simulation

_WHERE = {
    "SubstrateCapacity": "underlay.analysis.capacity_results",
    "TenantCapacity": "underlay.analysis.capacity_results",
    "decide": "underlay.decision.decide",
    "Decision": "underlay.decision.results",
    "Defaults": "underlay.defaults.catalog",
    "load_defaults": "underlay.defaults.catalog",
    "CalibrationError": "underlay.errors",
    "ExportError": "underlay.errors",
    "InfeasibleError": "underlay.errors",
    "InputError": "underlay.errors",
    "ScenarioError": "underlay.errors",
    "TraceError": "underlay.errors",
    "UnderlayError": "underlay.errors",
    "load_scenario": "underlay.model.loading",
    "parse_scenario": "underlay.model.loading",
    "Scenario": "underlay.model.scenario",
    "Analysis": "underlay.analysis.results",
    "Comparison": "underlay.analysis.results",
    "Simulation": "underlay.simulation.results",
    "analyse": "underlay.pipeline",
    "compare": "underlay.pipeline",
    "simulate": "underlay.pipeline",
    "measure_plan": "underlay.plan_loop",
}


def __getattr__(name: str) -> object:
    """A name of the API, imported from its module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'underlay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Analysis",
    "CalibrationError",
    "Comparison",
    "Decision",
    "Defaults",
    "ExportError",
    "InfeasibleError",
    "InputError",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SubstrateCapacity",
    "TenantCapacity",
    "TraceError",
    "UnderlayError",
    "analyse",
    "compare",
    "decide",
    "load_defaults",
    "load_scenario",
    "measure_plan",
    "parse_scenario",
    "simulate",
]
