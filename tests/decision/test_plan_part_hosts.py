"""The least-cost plan as a hybrid keeps each hybrid column's part on its own host models
and racks.

examples/edge-platform.yaml: in both hybrid columns each site is a part of its own, on
``edge-1u`` hosts in its own rack (north 3, south 4, east 5 of 5), the core on
``core-2u`` in racks 1 and 2; the pure ``vm`` column names neither.
"""

from __future__ import annotations

from pathlib import Path

from factories import place
from underlay.decision.plan_check import plan_hybrid
from underlay.model.loading import load_scenario

EDGE = Path(__file__).resolve().parents[2] / "examples" / "edge-platform.yaml"


def test_a_plan_part_from_a_hybrid_column_keeps_its_host_models_and_racks() -> None:
    sc = load_scenario(EDGE)
    assignment = {
        "site-north": "vms-everywhere",
        "site-south": "edge-metal-core-vms",
        "site-east": "edge-metal-core-vms",
        "fleet": "vm",
        "erp": "vm",
        "vendor-analytics": "vm",
    }
    plan = plan_hybrid(sc, assignment, "plan")
    assert [(p.name, p.hosts, p.racks) for p in plan.parts] == [
        ("vm", [], []),
        ("vms-everywhere-north", ["edge-1u"], [3]),
        ("edge-metal-core-vms-south", ["edge-1u"], [4]),
        ("edge-metal-core-vms-east", ["edge-1u"], [5]),
    ]
    # placed as one fleet: each site's part opens 3 edge-1u hosts (two workloads keep one
    # pod per host), all in its rack (index = rack - 1); the vm part, first in the file,
    # core-2u only (it prefers hardware.size_with and needs no more than the 6 owned)
    p = place(sc.model_copy(update={"substrates": [*sc.substrates, plan]}), "plan")
    assert not p.unplaced
    models = [p.host_models[m] for m in p.hosts.model]
    for q in p.parts:
        a, b = q.hosts
        if q.name == "vm":
            assert set(models[a:b]) == {"core-2u"}
        else:
            rack = {"north": 2, "south": 3, "east": 4}[q.name.rsplit("-", 1)[1]]
            assert models[a:b] == ["edge-1u"] * 3, q.name
            assert p.hosts.rack[a:b] == [rack] * 3, q.name
