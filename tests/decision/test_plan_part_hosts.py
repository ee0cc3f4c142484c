"""The least-cost plan as a hybrid keeps each hybrid column's part on its own host models.

examples/edge-platform.yaml: the sites may use only ``edge-1u`` hosts in both hybrid
columns, the core ``core-2u``; the pure ``vm`` column names none.
"""

from __future__ import annotations

from pathlib import Path

from factories import place
from underlay.decision.plan_check import plan_hybrid
from underlay.model.loading import load_scenario

EDGE = Path(__file__).resolve().parents[2] / "examples" / "edge-platform.yaml"


def test_a_plan_part_from_a_hybrid_column_keeps_its_host_models() -> None:
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
    assert [(p.name, p.hosts) for p in plan.parts] == [
        ("vm", []),
        ("vms-everywhere-north", ["edge-1u"]),
        ("edge-metal-core-vms-sites", ["edge-1u"]),
    ]
    # placed as one fleet: the sites' parts open edge-1u hosts only (3 per site: two
    # workloads keep one pod per host), the vm part, first in the file, core-2u only
    # (it prefers hardware.size_with, and needs no more than the 6 owned)
    p = place(sc.model_copy(update={"substrates": [*sc.substrates, plan]}), "plan")
    assert not p.unplaced
    models = [p.host_models[m] for m in p.hosts.model]
    spans = {q.name: models[q.hosts[0] : q.hosts[1]] for q in p.parts}
    assert set(spans["vm"]) == {"core-2u"}
    assert spans["vms-everywhere-north"] == ["edge-1u"] * 3
    assert spans["edge-metal-core-vms-sites"] == ["edge-1u"] * 6
