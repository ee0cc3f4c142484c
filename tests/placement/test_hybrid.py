"""Hybrid substrates: parts placed on their own pools and combined into one fleet.

Host model ``std`` = 64 cores, 256 GiB; GKE reservations; the five default DaemonSets
(400m, 832 MiB, 5 pod slots), as in ``test_substrate_rules``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import make_scenario, make_tenant, make_workload, place
from hybrid_cases import KINDS, one_part_rule, random_substrate, random_tenants
from properties import examples
from underlay.model.scenario import Scenario
from underlay.placement.result import WORKER, SubstratePlacement


def _hybrid(parts: list[dict[str, Any]], name: str = "mixed") -> dict[str, Any]:
    return {"kind": "hybrid", "name": name, "parts": parts}


def two_tenants(inventory: list[dict[str, Any]] | None = None) -> Scenario:
    """web (internal) on shared bare metal, bank (regulated) in VMs, four racks; the
    fleet sized by underlay, or drawn from ``inventory`` (test_hybrid_inventory)."""
    hardware: dict[str, Any] = {"topology": {"racks": 4}}
    if inventory is not None:
        hardware["inventory"] = inventory
    return make_scenario(
        hardware=hardware,
        substrates=[
            _hybrid(
                [
                    {
                        "name": "shared",
                        "substrate": {"kind": "baremetal-shared", "control_plane": "dedicated"},
                        "tenants": ["web"],
                    },
                    {
                        "name": "vms",
                        "substrate": {
                            "kind": "vm",
                            "sizing": "requests",
                            "shapes": [{"name": "m", "vcpus": 16, "memory": "32Gi"}],
                        },
                        "isolation": ["regulated"],
                    },
                ]
            )
        ],
        tenants=[
            make_tenant(
                "web", workloads=[make_workload("api", replicas=20, cpu="10", memory="8Gi")]
            ),
            make_tenant(
                "bank",
                isolation="regulated",
                control_plane="dedicated",
                workloads=[make_workload("ledger", replicas=400, cpu="1", memory="1Gi")],
            ),
        ],
    )


def test_two_tenant_hybrid_hosts_by_hand() -> None:
    # Part "shared" (web): a bare-metal node has 64000 - 230 reserved - 400 DaemonSets =
    # 63370m allocatable, so 6 pods of 10 cores (60000m; 6 × 8 GiB is far below memory):
    # ceil(20 / 6) = 4 worker hosts, plus the shared cluster's dedicated control plane on
    # 3 whole hosts (no control_plane_model) = 7 hosts.
    # Part "vms" (bank): a 16-vCPU VM holds 16000 - 110 reserved - 400 = 15490m → 15
    # one-core pods (memory: 32768 - 3745 reserved - 832 = 28191 MiB → 27 pods, not
    # binding): ceil(400 / 15) = 27 worker VMs. A KVM host offers (64000 - 2000) × 0.98
    # = 60760m: 3 such VMs (48 vCPUs), 4 would need 64. 27 / 3 = 9 hosts. The cluster's
    # control plane is 3 VMs of 4 vCPUs / 15 GiB (27 nodes: the 11-100 row), one per host
    # on 3 of those hosts: 48 + 4 = 52 ≤ 60.76 cores; memory 3 × 33180 + 15641 MiB of
    # 262144 - 8192 = 253952. So still 9 hosts. The hybrid: 7 + 9 = 16 hosts.
    p = place(two_tenants(), "mixed")
    assert p.kind == "hybrid"
    assert [(part.name, part.kind, part.tenants) for part in p.parts] == [
        ("shared", "baremetal-shared", (0,)),
        ("vms", "vm", (1,)),
    ]
    assert [part.hosts for part in p.parts] == [(0, 7), (7, 16)]
    assert len(p.hosts) == 16
    roles = np.array(p.hosts.role)
    assert int((roles[:7] == WORKER).sum()) == 4
    assert int((roles[7:] == WORKER).sum()) == 9
    # every pod placed; web's on bare-metal nodes of part 1, bank's on VMs of part 2
    assert p.placed.tolist() == [20, 400]
    assert not p.unplaced
    web_nodes, bank_nodes = p.pod_nodes
    assert not p.nodes.is_vm[web_nodes].any()
    assert (p.nodes.host[web_nodes] < 7).all()
    assert p.nodes.is_vm[bank_nodes].all()
    assert (p.nodes.host[bank_nodes] >= 7).all()
    bank_workers = (p.nodes.cluster == 1) & (p.nodes.role == WORKER)
    assert int(bank_workers.sum()) == 27
    # the parts share racks: both have hosts in rack 0
    racks = np.array(p.hosts.rack)
    assert 0 in racks[:7] and 0 in racks[7:]


def test_two_tenant_hybrid_costs_by_hand() -> None:
    # The 16 hosts above, each std host $10,000 over 5 years: 10000 / (5 × 12) = $166.67 a
    # month of capex, 16 × 166.67 = $2,666.67. KVM has no licence. Per tenant: web weighs
    # on its 4 worker hosts alone, and the shared cluster's 3 control-plane hosts (nobody's
    # pods) are split among the tenants of their part, web only: 7 × 166.67 = $1,166.67;
    # bank's VMs fill the vm part's 9 hosts alone: 9 × 166.67 = $1,500.
    from underlay.analysis.cost import analyse_cost
    from underlay.defaults.catalog import load_defaults
    from underlay.pipeline import compare

    sc = two_tenants()
    comparison = compare(sc)
    (static,), (p,) = comparison.substrates, comparison.placements
    cost = analyse_cost(sc, load_defaults(), p, static, None)
    month = 10_000 / (5 * 12)
    assert cost.per_month.capex == pytest.approx(16 * month)
    assert cost.per_month.licences == 0
    web, bank = cost.tenants
    assert web.per_month.capex == pytest.approx(7 * month)
    assert bank.per_month.capex == pytest.approx(9 * month)


def test_hybrid_indices_point_into_the_whole_scenario() -> None:
    # bank's cluster is cluster 1 of the scenario (cluster 0 in its part): its VMs, its
    # control plane and the hosts it owns say 1.
    p = place(two_tenants(), "mixed")
    assert {c.cluster for c in p.control_planes} == {-1, 1}
    assert set(p.nodes.cluster[p.nodes.is_vm].tolist()) == {1}
    vm_hosts = np.unique(p.nodes.host[p.nodes.is_vm])
    assert (vm_hosts >= 7).all()


# ------------------------------------------------------------------------ properties


@st.composite
def _one_part_scenarios(draw: st.DrawFn) -> tuple[Scenario, Scenario, str]:
    """A scenario on one pure substrate, and the same with that substrate as the only
    part of a hybrid holding every tenant (matched by name, by class or by a label every
    workload carries; the labels are in both scenarios)."""
    substrate = random_substrate(draw, KINDS)
    kind = substrate["kind"]
    tenants = random_tenants(draw)
    rule = one_part_rule(draw, tenants)
    racks = draw(st.sampled_from([None, 3]))
    hardware = {"topology": {"racks": racks}} if racks else {}
    pure = make_scenario(substrates=[substrate], tenants=tenants, hardware=hardware)
    hybrid = make_scenario(
        substrates=[_hybrid([{"name": "all", "substrate": substrate, **rule}])],
        tenants=tenants,
        hardware=hardware,
    )
    return pure, hybrid, kind


def _same(a: SubstratePlacement, b: SubstratePlacement) -> None:
    assert a.hosts == b.hosts
    for name in a.nodes.__dataclass_fields__:
        assert np.array_equal(getattr(a.nodes, name), getattr(b.nodes, name)), name
    for col in ("host_cpu", "host_mem", "host_gpus", "host_hypervisor_cpu"):
        assert np.array_equal(getattr(a, col), getattr(b, col)), col
    assert a.placed.tolist() == b.placed.tolist()
    for x, y in zip(a.pod_nodes + a.pod_counts, b.pod_nodes + b.pod_counts, strict=True):
        assert x.tolist() == y.tolist()
    assert a.unplaced == b.unplaced
    assert a.control_planes == b.control_planes
    assert a.lower_bound_hosts == b.lower_bound_hosts


@settings(max_examples=examples(25))
@given(_one_part_scenarios())
def test_a_hybrid_with_one_part_places_as_that_substrate(
    case: tuple[Scenario, Scenario, str],
) -> None:
    pure, hybrid, kind = case
    a, b = place(pure, kind), place(hybrid, "mixed")
    _same(a, b)
    assert b.kind == "hybrid" and a.kind == kind
    assert [(p.kind, p.hosts) for p in b.parts] == [(kind, (0, len(a.hosts)))]


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_part_is_left_out(kind: str) -> None:
    # Every tenant is "internal": the "regulated" part gets nobody and opens no host.
    sc = make_scenario(
        substrates=[
            _hybrid(
                [
                    {"name": "nobody", "substrate": {"kind": "vm"}, "isolation": ["regulated"]},
                    {"name": "all", "substrate": {"kind": kind}, "isolation": ["internal"]},
                ]
            )
        ]
    )
    p = place(sc, "mixed")
    assert [part.name for part in p.parts] == ["all"]
    assert p.placed.tolist() == [1]
