"""The replay of a hybrid with two shared-cluster parts: contention stays in each part.

Parts "one" (tenants a, b) and "two" (c, d), both ``baremetal-shared`` with a dedicated
control plane. Every tenant runs 4 pods asking 4 cores (limit 32) and using 3 × that,
12 cores, all the time: each part's 8 pods fit one 64-core worker host by requests
(8 × 4 = 32 cores) but want 8 × 12 = 96 cores there, more than the host has.
"""

from __future__ import annotations

import numpy as np
import pytest

from factories import make_scenario, make_tenant, make_workload, place
from underlay.pipeline import simulate


def test_tenants_contend_only_with_their_own_parts_tenants() -> None:
    def tenant(name: str) -> dict[str, object]:
        return make_tenant(
            name,
            workloads=[
                make_workload(
                    "w",
                    replicas=4,
                    cpu="4",
                    memory="1Gi",
                    limits={"cpu": "32"},
                    usage={"model": "constant", "cpu": 3.0},
                )
            ],
        )

    def part(name: str, tenants: list[str]) -> dict[str, object]:
        substrate = {"kind": "baremetal-shared", "control_plane": "dedicated"}
        return {"name": name, "substrate": substrate, "tenants": tenants}

    sc = make_scenario(
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [part("one", ["a", "b"]), part("two", ["c", "d"])],
            }
        ],
        tenants=[tenant(n) for n in "abcd"],
        simulation={"horizon_hours": 1, "step_minutes": 15},
    )
    p = place(sc, "mixed")
    # each part: 3 control-plane hosts and the one worker host holding its 8 pods
    worker_hosts = [
        {int(p.nodes.host[n]) for n in np.concatenate(p.pod_nodes[2 * k : 2 * k + 2])}
        for k in range(2)
    ]
    assert worker_hosts == [{3}, {7}]
    (result,) = simulate(sc).results
    rows = {t.name: t for t in result.tenants}
    # demand: 4 pods × 12 cores × 1 h = 48 core-hours each; 96 cores wanted per host of
    # 64, so every tenant misses some
    assert [rows[n].demand_core_hours for n in "abcd"] == pytest.approx([48.0] * 4)
    assert all(rows[n].unmet_core_hours > 0 for n in "abcd")
    m = result.interference_core_hours  # [victim, culprit]
    # a and b hurt each other on part one's host, c and d on part two's; never across
    assert m[0, 1] > 0 and m[1, 0] > 0 and m[2, 3] > 0 and m[3, 2] > 0
    assert m[:2, 2:].sum() == 0 and m[2:, :2].sum() == 0
