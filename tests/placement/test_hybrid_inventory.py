"""A hybrid whose parts draw their hosts from one ``hardware.inventory``.

Host model ``std`` = 64 cores, 256 GiB; the two-tenant hybrid of ``test_hybrid`` (web on
shared bare metal, bank in 16-vCPU VMs), which sized alone takes 7 + 9 = 16 hosts.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hybrid import two_tenants

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from properties import examples
from underlay.analysis.host_costs import idle_inventory
from underlay.model.scenario import Scenario

STD = make_host_model("std")
BIG = make_host_model("big", cores=128, memory="512Gi")


def test_an_inventory_as_large_as_the_sized_fleet_gives_the_same_fleet() -> None:
    # 16 std hosts owned: the shared part takes 7 (4 workers, 3 control-plane machines),
    # the vm part the 9 left, exactly as when sized; nothing is idle.
    sized = place(two_tenants(None), "mixed")
    owned = place(two_tenants([{"model": "std", "count": 16}]), "mixed")
    assert [q.hosts for q in owned.parts] == [q.hosts for q in sized.parts] == [(0, 7), (7, 16)]
    assert owned.placed.tolist() == [20, 400] and not owned.unplaced
    assert not owned.sizing
    assert idle_inventory(two_tenants([{"model": "std", "count": 16}]), owned).tolist() == [0]
    # 20 owned: the same 16 opened, 20 - 16 = 4 left idle (counted once, for the fleet)
    sc = two_tenants([{"model": "std", "count": 20}])
    assert idle_inventory(sc, place(sc, "mixed")).tolist() == [4]


def test_the_second_part_gets_only_what_the_first_left() -> None:
    # 12 owned: the shared part (first in the file) takes its 7, the vm part at most the
    # 12 - 7 = 5 left; 5 hosts hold at most 5 × 3 = 15 VMs of 15 one-core pods = 225 pods,
    # so some of bank's 400 pods stay unplaced; web places all 20.
    p = place(two_tenants([{"model": "std", "count": 12}]), "mixed")
    shared, vms = p.parts
    assert shared.hosts == (0, 7)
    assert vms.hosts[1] - vms.hosts[0] <= 5
    assert len(p.hosts) <= 12
    assert p.placed[0] == 20
    assert 0 < p.placed[1] <= 225
    assert sum(u.pods for u in p.unplaced) == 400 - p.placed[1]


@st.composite
def _owned(draw: st.DrawFn) -> tuple[Scenario, list[int]]:
    """Two parts (bare metal and VMs, tenants split by class) on a drawn inventory."""
    counts = [draw(st.integers(0, 6)), draw(st.integers(0, 6))]
    if sum(counts) == 0:
        counts[0] = 1
    inventory = [{"model": m, "count": n} for m, n in zip(("std", "big"), counts, strict=True) if n]
    tenants = [
        make_tenant(
            f"t{i}",
            isolation=draw(st.sampled_from(["internal", "regulated"])),
            workloads=[
                make_workload(
                    "w",
                    replicas=draw(st.integers(1, 30)),
                    cpu=f"{draw(st.integers(100, 20000))}m",
                    memory=f"{draw(st.integers(128, 16384))}Mi",
                )
            ],
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    metal = draw(st.sampled_from(["baremetal-dedicated", "baremetal-shared"]))
    sc = make_scenario(
        hardware={"host_models": [STD, BIG], "inventory": inventory},
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {"name": "metal", "substrate": {"kind": metal}, "isolation": ["internal"]},
                    {"name": "vms", "substrate": {"kind": "vm"}, "isolation": ["regulated"]},
                ],
            }
        ],
        tenants=tenants,
    )
    return sc, counts


@settings(max_examples=examples(15), deadline=None)
@given(_owned())
def test_one_inventory_is_never_double_counted(case: tuple[Scenario, list[int]]) -> None:
    sc, counts = case
    p = place(sc, "mixed")
    models = np.array(p.hosts.model, np.int64)
    opened = np.bincount(models, minlength=2)
    assert (opened <= np.array(counts)).all()
    # each host row belongs to exactly one part: the parts' ranges tile the host table
    spans = sorted(q.hosts for q in p.parts)
    assert [a for a, _ in spans] == [0] + [b for _, b in spans[:-1]]
    assert (spans[-1][1] if spans else 0) == len(p.hosts)
    assert idle_inventory(sc, p).tolist() == (np.array(counts) - opened).tolist()


@settings(max_examples=examples(10), deadline=None)
@given(
    st.sampled_from(["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]),
    st.integers(1, 8),
    st.integers(1, 60),
)
def test_one_part_on_an_inventory_places_as_that_substrate(
    kind: str, owned: int, replicas: int
) -> None:
    # Every tenant in the one part: it draws on the whole inventory, as the pure substrate.
    tenants = [make_tenant("t", workloads=[make_workload("w", replicas=replicas, cpu="6")])]
    hardware = {"inventory": [{"model": "std", "count": owned}]}
    pure = make_scenario(hardware=hardware, substrates=[{"kind": kind}], tenants=tenants)
    hybrid = make_scenario(
        hardware=hardware,
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [{"name": "all", "substrate": {"kind": kind}, "tenants": ["t"]}],
            }
        ],
        tenants=tenants,
    )
    a, b = place(pure, kind), place(hybrid, "mixed")
    assert a.hosts == b.hosts
    assert a.placed.tolist() == b.placed.tolist()
    assert [x.tolist() for x in a.pod_nodes] == [x.tolist() for x in b.pod_nodes]
    assert a.unplaced == b.unplaced
