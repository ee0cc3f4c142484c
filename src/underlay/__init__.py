"""underlay: where should your Kubernetes clusters run — bare metal, VMs, or a mix?

The public Python API, returning plain data::

    from underlay import load_scenario, compare
    result = compare(load_scenario("examples/saas-platform.yaml"))
    for s in result.substrates:
        print(s.kind, s.hosts, s.cost_per_month_usd)

    from underlay import analyse, simulate
    factors = analyse(result, simulate(result.scenario, comparison=result))
    for a in factors.substrates:
        print(a.name, a.isolation.incidents_per_year, a.cost.per_month.total)
"""

from underlay.analysis.capacity import SubstrateStatic, TenantStatic
from underlay.decision.decide import decide
from underlay.decision.results import Decision
from underlay.defaults.catalog import Defaults, load_defaults
from underlay.errors import InfeasibleError, InputError, ScenarioError, TraceError, UnderlayError
from underlay.model.loading import load_scenario, parse_scenario
from underlay.model.scenario import Scenario
from underlay.pipeline import Analysis, Comparison, Simulation, analyse, compare, simulate

__all__ = [
    "Analysis",
    "Comparison",
    "Decision",
    "Defaults",
    "InfeasibleError",
    "InputError",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "SubstrateStatic",
    "TenantStatic",
    "TraceError",
    "UnderlayError",
    "analyse",
    "compare",
    "decide",
    "load_defaults",
    "load_scenario",
    "parse_scenario",
    "simulate",
]

__version__ = "0.1.0"
