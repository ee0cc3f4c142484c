"""A hybrid with every tenant in one part is that pure substrate, through the whole
pipeline: the same hosts (tests/placement/test_hybrid.py), the same replay, the same
isolation, failures, lifecycle and cost, so the same evidence and the same scores, bit for
bit. Both run as two columns of one scenario, so every draw has the same seed."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import make_scenario
from hybrid_cases import one_part_rule, random_substrate, random_tenants
from properties import examples
from underlay.decision.decide import decide
from underlay.decision.evidence import gather
from underlay.model.scenario import Scenario
from underlay.pipeline import analyse, compare, simulate

KINDS = ["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]
PER_TENANT = ("pods", "gpu_training", "uses_gpu")  # Evidence's one-dimensional per-tenant fields


@st.composite
def _scenarios(draw: st.DrawFn) -> tuple[Scenario, str]:
    substrate = random_substrate(draw, KINDS)
    kind = substrate["kind"]
    tenants = random_tenants(draw, max_replicas=30, max_cpu=8000, replay=True)
    hybrid = {
        "kind": "hybrid",
        "name": "all",
        "parts": [{"name": "p", "substrate": substrate, **one_part_rule(draw, tenants)}],
    }
    racks = draw(st.sampled_from([None, 3]))
    sc = make_scenario(
        substrates=[substrate, hybrid],
        tenants=tenants,
        hardware={"topology": {"racks": racks}} if racks else {},
        simulation={"horizon_hours": 3, "step_minutes": 30},
        failures={"trials": 20},
    )
    return sc, kind


@settings(
    max_examples=examples(8),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_scenarios())
def test_a_one_part_hybrid_is_its_substrate_through_the_whole_pipeline(
    case: tuple[Scenario, str],
) -> None:
    sc, kind = case
    c = compare(sc)
    s = simulate(sc, comparison=c)
    a = analyse(c, s)
    ev = gather(c, s, a)
    assert ev.substrates == [kind, "all"]
    for name, value in vars(ev).items():
        if isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == 2:
            assert np.array_equal(value[:, 0], value[:, 1]), name
        elif isinstance(value, np.ndarray) and value.ndim == 1 and name not in PER_TENANT:
            assert value[0] == value[1], name
    assert ev.violation_pairs[0] == ev.violation_pairs[1]
    card = decide(c, s, a, hybrid=False, pareto=False).scorecard
    pure, mixed = card.substrates
    assert {f: x.score for f, x in pure.factors.items()} == {
        f: x.score for f, x in mixed.factors.items()
    }
    assert pure.total == mixed.total
