"""Failures of a hybrid: a vm part's VMs are re-created on the part's other hypervisor
hosts after its VM replace time, exactly as on the pure vm substrate; a bare-metal part's
pods restart within their part; a rack failure hits every part on the rack.

The hand-checked fleet (``fleet``): 8 std hosts owned (64 cores each), two racks, one zone.
The ``metal`` part (baremetal-shared, first in the file) takes three control-plane hosts
(0, 1, 2) and one worker (host 3) for a's two 8-core pods; the ``vms`` part takes three
hypervisor hosts (4, 5, 6): the three anti-affine control-plane VMs open one each, and
b's anti-affine 20-core pods get one VM each on the first of them. Racks round-robin from
the first host of each part: hosts 0, 2, 4, 6 in rack 0; 1, 3, 5 in rack 1. Host 7 is idle.

Times (HAND of test_failures, KVM's VM replace set to 12 min): detection 6 min, pod start
6 min, reboot 48 min, repair 9.8 h, rack repair 3 h, zone repair 5.9 h.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_failures import HAND, HOST, RACK, ZONE, make_scenario, make_tenant, ruled_fleets

from factories import deep_merge, make_host_model, make_workload, place
from properties import examples
from underlay.analysis.failures import SubstrateFailures, analyse_failures, failure_costs
from underlay.defaults.catalog import load_defaults
from underlay.model.loading import load_scenario
from underlay.model.scenario import Hybrid, Scenario

REPLACE_MIN = 12
OVERRIDES = deep_merge(HAND, {"hypervisors": {"kvm": {"vm_replace_minutes": REPLACE_MIN}}})
# By hand: detection + [VM replace] + pod start, and the waits with the same start.
VM_RESTART = (6 + REPLACE_MIN + 6) / 60  # 0.4 h
VM_SOFTWARE = (6 + 48 + REPLACE_MIN + 6) / 60  # 1.2 h
VM_HARDWARE = (6 + REPLACE_MIN + 6) / 60 + 9.8  # 10.2 h
VM_RACK, VM_ZONE = 3 + (REPLACE_MIN + 6) / 60, 5.9 + (REPLACE_MIN + 6) / 60  # 3.3 h, 6.2 h
METAL_RESTART, METAL_SOFTWARE = (6 + 6) / 60, (6 + 48 + 6) / 60  # 0.2 h, 1.0 h
METAL_RACK = 3 + 6 / 60  # 3.1 h
VM_PART = {"kind": "vm", "sizing": "requests"}


def _tenants(b_replicas: int, a: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    spread = {"anti_affinity": "host"}
    a = a or [make_workload("w", replicas=2, cpu="8", memory="8Gi")]
    return [
        make_tenant("a", workloads=a),
        make_tenant(
            "b",
            workloads=[
                make_workload("v", replicas=b_replicas, cpu="20", memory="8Gi", spread=spread)
            ],
        ),
    ]


def fleet(b_replicas: int = 2, a: list[dict[str, Any]] | None = None, owned: int = 8) -> Scenario:
    """The two-part hybrid ``mix`` on ``owned`` std hosts (module docstring), tenant a's
    workloads ``a`` (two 8-core pods by default)."""
    return make_scenario(
        hardware={
            "host_models": [make_host_model()],
            "inventory": [{"model": "std", "count": owned}],
            "topology": {"racks": 2},
        },
        substrates=[
            {
                "kind": "hybrid",
                "name": "mix",
                "parts": [
                    {
                        "name": "metal",
                        "substrate": {"kind": "baremetal-shared", "control_plane": "dedicated"},
                        "tenants": ["a"],
                    },
                    {"name": "vms", "substrate": VM_PART, "tenants": ["b"]},
                ],
            }
        ],
        overrides=OVERRIDES,
        tenants=_tenants(b_replicas, a),
    )


def pure_vm(b_replicas: int = 2) -> Scenario:
    """Tenant b alone on the pure vm substrate, on the three hosts the vm part took (racks
    0, 1, 0 again): the same VMs on the same layout."""
    return make_scenario(
        hardware={
            "host_models": [make_host_model()],
            "inventory": [{"model": "std", "count": 3}],
            "topology": {"racks": 2},
        },
        substrates=[VM_PART],
        overrides=OVERRIDES,
        tenants=_tenants(b_replicas)[1:],
    )


def test_the_layout_is_the_one_the_hand_checks_assume() -> None:
    sc = fleet()
    p = place(sc, "mix")
    assert [(q.name, q.hosts) for q in p.parts] == [("metal", (0, 4)), ("vms", (4, 7))]
    assert p.hosts.rack == [0, 1, 0, 1, 0, 1, 0]
    assert p.pod_counts[0].tolist() == [2] and p.nodes.host[p.pod_nodes[0]].tolist() == [3]
    assert p.nodes.host[p.pod_nodes[1]].tolist() == [4, 5]  # b's two VMs, one pod each
    vm = place(pure_vm(), "vm")
    assert vm.hosts.rack == [0, 1, 0] and vm.nodes.host[vm.pod_nodes[0]].tolist() == [0, 1]


def test_a_vm_part_host_failure_recreates_the_vm_with_the_replace_time() -> None:
    sc = fleet()
    d = load_defaults(sc.overrides)
    costs = failure_costs(sc, d, place(sc, "mix"))
    assert costs.recovery_hours_by_part["vms"]["restart"] == pytest.approx(VM_RESTART)
    assert costs.recovery_hours_by_part["metal"]["restart"] == pytest.approx(METAL_RESTART)
    # b's VM on host 4 (or 5) is re-created on host 6, which holds no replica of it:
    # 1 pod × 0.4 h, whatever the kind of fault (the restart beats the wait).
    for kind in ("software", "hardware"):
        assert costs.host_cost[kind].toarray()[4:7, 1] == pytest.approx([VM_RESTART] * 2 + [0])
    assert costs.restart.toarray()[4:7, 1].tolist() == [1, 1, 0]
    # a's two pods on the metal part's one worker have no other worker in their part (the
    # vm part's idle room is not theirs): they wait for the reboot, 2 × 1.0 h, no VM replace.
    assert costs.host_cost["software"].toarray()[3, 0] == pytest.approx(2 * METAL_SOFTWARE)
    assert costs.stranded_by["room"].tolist() == [2, 0]


def test_a_vm_part_costs_what_the_pure_vm_substrate_does_with_the_same_vms() -> None:
    sc, alone = fleet(), pure_vm()
    mix = analyse_failures(sc, load_defaults(sc.overrides), place(sc, "mix"), trials=10)
    vm = analyse_failures(alone, load_defaults(alone.overrides), place(alone, "vm"), trials=10)
    b_mix = next(t for t in mix.tenants if t.name == "b")
    (b_vm,) = vm.tenants
    years = sc.failures.years
    # Host failures: two hosts with b's VMs, each 1 pod × 0.4 h, at 2 a host-year.
    # Racks: rack 0 (hosts 4 and 6 / 0 and 2) takes one VM, whose twin holds the only
    # other host: it waits 3.3 h; rack 1 (host 5 / 1): its VM goes to host 6 / 2, 0.4 h.
    # The one zone: both VMs wait 6.2 h.
    expected = {
        "host": HOST * years * 2 * VM_RESTART,
        "rack": RACK * years * (VM_RACK + VM_RESTART),
        "zone": ZONE * years * 2 * VM_ZONE,
    }
    for b in (b_mix, b_vm):
        assert b.pod_hours_lost_expected == pytest.approx(expected)
        assert b.pods_per_host_failure == 1 and b.pods_stranded_per_host_failure == 0
    assert mix.recovery_hours_by_part["vms"] == vm.recovery_hours
    assert vm.recovery_hours["restart"] == pytest.approx(VM_RESTART)
    # the hybrid's headline recovery is its slowest part's: the vm part's
    assert mix.recovery_hours == vm.recovery_hours


def test_a_vm_parts_vms_never_restart_on_bare_metal() -> None:
    # Three replicas of b: a VM on each of the vm part's three hosts, so a failed host's
    # VM has no host without its twin there: it waits, 1.2 h for a reboot, 10.2 h for a
    # repair (+ VM replace), though the metal worker keeps 48 of its 64 cores free.
    sc = fleet(b_replicas=3)
    p = place(sc, "mix")
    assert p.nodes.host[p.pod_nodes[1]].tolist() == [4, 5, 6]
    costs = failure_costs(sc, load_defaults(sc.overrides), p)
    assert costs.host_cost["software"].toarray()[4:7, 1] == pytest.approx([VM_SOFTWARE] * 3)
    assert costs.host_cost["hardware"].toarray()[4:7, 1] == pytest.approx([VM_HARDWARE] * 3)
    assert costs.stranded_by["anti_affinity"].tolist() == [0, 3]


def test_a_rack_failure_hits_every_part_on_the_rack_with_its_own_times() -> None:
    sc = fleet()
    costs = failure_costs(sc, load_defaults(sc.overrides), place(sc, "mix"))
    # Rack 0 (hosts 0, 2, 4, 6): a has nothing there; b's VM on host 4 has nowhere
    # (host 5 holds its twin): 3.3 h. Rack 1 (hosts 1, 3, 5): a's two pods wait for the
    # rack, 2 × 3.1 h; b's VM on host 5 is re-created on host 6: 0.4 h.
    assert costs.rack_cost == pytest.approx(np.array([[0, VM_RACK], [2 * METAL_RACK, VM_RESTART]]))


def _figures(r: SubstrateFailures) -> dict[str, Any]:
    """Every figure of a failure analysis but its names and the hybrid's breakdown."""
    out = dataclasses.asdict(r)
    for key in ("kind", "name", "recovery_hours_by_part"):
        out.pop(key)
    return out


def _as_one_part(sc: Scenario, label: str, empty_part: bool) -> Scenario:
    """``sc`` with a hybrid whose vm part (substrate ``label``) holds every tenant (after
    an empty bare-metal part when ``empty_part``)."""
    sub = sc.substrate(label)
    parts: list[dict[str, Any]] = [
        {"name": "one", "substrate": sub, "tenants": [t.name for t in sc.tenants]}
    ]
    if empty_part:
        parts.insert(0, {"name": "metal", "substrate": {"kind": "baremetal-shared"}})
    hybrid = Hybrid.model_validate({"kind": "hybrid", "name": "all", "parts": parts})
    return sc.model_copy(update={"substrates": [sub, hybrid]})


@pytest.mark.parametrize("empty_part", [False, True])
def test_every_tenant_in_the_vm_part_equals_the_pure_vm_substrate_bit_for_bit(
    empty_part: bool,
) -> None:
    base = make_scenario(
        hardware={"host_models": [make_host_model()], "topology": {"racks": 3, "zones": 2}},
        substrates=[VM_PART],
        overrides=OVERRIDES,
        tenants=[
            *_tenants(3),
            make_tenant(
                "c",
                workloads=[
                    make_workload("s", replicas=5, cpu="6", spread={"spread_racks": True}),
                    make_workload("r", replicas=3, cpu="3", spread={"anti_affinity": "rack"}),
                    make_workload("x", replicas=7, cpu="1"),
                ],
            ),
        ],
    )
    sc = _as_one_part(base, "vm", empty_part)
    d = load_defaults(sc.overrides)
    pure = analyse_failures(sc, d, place(sc, "vm"), trials=300, seed=7)
    hybrid = analyse_failures(sc, d, place(sc, "all"), trials=300, seed=7)
    assert hybrid.kind == "hybrid" and list(hybrid.recovery_hours_by_part)[-1] == "one"
    assert _figures(hybrid) == _figures(pure)


SAAS = Path(__file__).resolve().parents[2] / "examples" / "saas-platform.yaml"


def test_the_saas_example_in_one_vm_part_equals_its_vm_substrate_bit_for_bit() -> None:
    sc = _as_one_part(load_scenario(SAAS), "vm-by-requests", empty_part=True)
    d = load_defaults(sc.overrides)
    pure = analyse_failures(sc, d, place(sc, "vm-by-requests", d), trials=200, seed=3)
    hybrid = analyse_failures(sc, d, place(sc, "all", d), trials=200, seed=3)
    assert pure.tenants and _figures(hybrid) == _figures(pure)


@pytest.mark.parametrize("kind", ["baremetal-shared", "baremetal-dedicated", "sandboxed"])
def test_every_tenant_in_one_bare_metal_part_equals_that_substrate_bit_for_bit(kind: str) -> None:
    # The other parts keep their own rules: a part holding every tenant restarts its pods
    # exactly as its substrate alone does (a dedicated part's within their cluster).
    base = make_scenario(
        hardware={"host_models": [make_host_model()], "topology": {"racks": 3, "zones": 2}},
        substrates=[{"kind": kind}],
        overrides=OVERRIDES,
        tenants=[
            *_tenants(3),
            make_tenant(
                "c",
                workloads=[
                    make_workload("s", replicas=5, cpu="6", spread={"spread_racks": True}),
                    make_workload("x", replicas=40, cpu="1"),
                ],
            ),
        ],
    )
    sc = _as_one_part(base, kind, empty_part=False)
    d = load_defaults(sc.overrides)
    pure = analyse_failures(sc, d, place(sc, kind), trials=300, seed=11)
    hybrid = analyse_failures(sc, d, place(sc, "all"), trials=300, seed=11)
    assert sum(t.pods for t in pure.tenants) == 2 + 3 + 45
    assert _figures(hybrid) == _figures(pure)


def test_a_bare_metal_parts_pods_restart_on_its_other_worker_without_a_vm_replace() -> None:
    # a: two 40-core pods (p, q) that cannot share a 64-core worker (63.37 allocatable),
    # so the metal part opens workers 3 and 4 (after its three control-plane hosts), and a
    # 4-core pod s beside one of them. That worker's failure: s restarts on the other
    # worker (23.37 cores free) in detection + pod start = 0.2 h; its 40-core pod finds
    # no room and waits for the reboot, 1.0 h (no VM replace on bare metal either way).
    sc = fleet(
        a=[
            make_workload("p", cpu="40", memory="8Gi"),
            make_workload("q", cpu="40", memory="8Gi"),
            make_workload("s", cpu="4", memory="8Gi"),
        ],
        owned=9,
    )
    p = place(sc, "mix")
    assert [q.hosts for q in p.parts] == [(0, 5), (5, 8)]
    (s_host,) = p.nodes.host[p.pod_nodes[2]].tolist()
    assert s_host in (3, 4)
    costs = failure_costs(sc, load_defaults(sc.overrides), p)
    other = 7 - s_host
    assert costs.host_cost["software"].toarray()[[s_host, other], 0] == pytest.approx(
        [METAL_RESTART + METAL_SOFTWARE, METAL_SOFTWARE]
    )
    assert costs.restart.toarray()[[s_host, other], 0].tolist() == [1, 0]


@st.composite
def one_part_fleets(draw: st.DrawFn) -> tuple[Scenario, str, bool]:
    """test_failures' fleets with every rule (and GPU models), on any substrate but a
    hybrid, and whether the hybrid has an empty bare-metal part first."""
    sc, _ = draw(ruled_fleets())
    kind = draw(st.sampled_from(["vm", "baremetal-dedicated", "baremetal-shared", "sandboxed"]))
    sub = {"kind": kind, **({"sizing": "requests"} if kind == "vm" else {})}
    data = {"kind": "hybrid", "parts": [{"name": "p", "substrate": sub}]}  # validated as a part
    sc = sc.model_copy(update={"substrates": [Hybrid.model_validate(data).parts[0].substrate]})
    return sc, kind, draw(st.booleans())


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_part_fleets())
def test_a_part_holding_every_tenant_fails_as_its_substrate_alone(
    case: tuple[Scenario, str, bool],
) -> None:
    base, kind, empty_part = case
    sc = _as_one_part(base, kind, empty_part)
    d = load_defaults(sc.overrides)
    pure = analyse_failures(sc, d, place(sc, kind, d), trials=50, seed=5)
    hybrid = analyse_failures(sc, d, place(sc, "all", d), trials=50, seed=5)
    assert _figures(hybrid) == _figures(pure)


def test_a_hybrid_notes_each_parts_restart_time_when_they_differ() -> None:
    # metal: detection + pod start = 12 min; vms: + the 12-min VM replace = 24 min.
    sc = fleet()
    r = analyse_failures(sc, load_defaults(sc.overrides), place(sc, "mix"), trials=10)
    assert "by part: metal 12.0 min, vms 24.0 min" in " ".join(r.notes)
    alone = pure_vm()
    vm = analyse_failures(alone, load_defaults(alone.overrides), place(alone, "vm"), trials=10)
    assert not any("by part" in n for n in vm.notes)


def test_two_vm_parts_each_recreate_their_vms_on_their_own_hosts_at_their_own_speed() -> None:
    # KVM re-creates a VM in 12 min (OVERRIDES), ESXi in 30 here: a VM restarted
    # elsewhere is back after 6 + 12 + 6 = 24 min (0.4 h) in part kvm-vms, 6 + 30 + 6 =
    # 42 min (0.7 h) in part esxi-vms. Each part's hosts are its own pool: a, with three
    # anti-affine replicas on its part's three hosts (one per control-plane VM), has no
    # host to go to though b's part has room; b's two replicas leave one host free.
    esxi_restart = (6 + 30 + 6) / 60
    overrides = deep_merge(OVERRIDES, {"hypervisors": {"esxi": {"vm_replace_minutes": 30}}})
    spread = {"anti_affinity": "host"}
    sc = make_scenario(
        hardware={"host_models": [make_host_model()], "topology": {"racks": 1}},
        substrates=[
            {
                "kind": "hybrid",
                "name": "two",
                "parts": [
                    {"name": "kvm-vms", "substrate": VM_PART, "tenants": ["a"]},
                    {
                        "name": "esxi-vms",
                        "substrate": {**VM_PART, "hypervisor": "esxi"},
                        "tenants": ["b"],
                    },
                ],
            }
        ],
        overrides=overrides,
        tenants=[
            make_tenant("a", workloads=[make_workload("w", replicas=3, cpu="8", spread=spread)]),
            make_tenant("b", workloads=[make_workload("v", replicas=2, cpu="8", spread=spread)]),
        ],
    )
    p = place(sc, "two")
    assert [q.hosts for q in p.parts] == [(0, 3), (3, 6)]
    assert p.nodes.host[p.pod_nodes[0]].tolist() == [0, 1, 2]
    assert p.nodes.host[p.pod_nodes[1]].tolist() == [3, 4]
    costs = failure_costs(sc, load_defaults(sc.overrides), p)
    assert costs.recovery_hours_by_part["esxi-vms"]["restart"] == pytest.approx(esxi_restart)
    assert costs.recovery_hours["restart"] == pytest.approx(esxi_restart)  # the slowest
    # a's VMs wait for their host's reboot: 6 + 48 + 12 + 6 min = 1.2 h
    assert costs.host_cost["software"].toarray()[0:3, 0] == pytest.approx([VM_SOFTWARE] * 3)
    # b's VM is re-created on host 5 in 0.7 h
    assert costs.host_cost["software"].toarray()[3:5, 1] == pytest.approx([esxi_restart] * 2)
