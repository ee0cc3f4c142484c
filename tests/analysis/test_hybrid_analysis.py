"""The static analyses on a hybrid: each tenant judged by its own part's rules.

Four small tenants: a and b in a shared bare-metal part, c and d in a vm part. Each part
is small enough to fit on its own hosts, so tenants of one part share hosts.
"""

from __future__ import annotations

import numpy as np
import pytest

from factories import make_scenario, make_tenant, make_workload, place
from underlay.analysis.capacity import analyse_capacity
from underlay.analysis.failure_groups import host_load
from underlay.analysis.isolation import analyse_isolation
from underlay.analysis.lifecycle import analyse_lifecycle
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import Scenario


def _scenario() -> Scenario:
    def tenant(name: str, isolation: str, cadence: int) -> dict[str, object]:
        return make_tenant(
            name,
            isolation=isolation,
            kubernetes_version="1.31",
            upgrade_cadence_months=cadence,
            workloads=[make_workload("w", replicas=2, cpu="1", memory="1Gi")],
        )

    return make_scenario(
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {
                        "name": "shared",
                        "substrate": {"kind": "baremetal-shared", "kubernetes_version": "1.33"},
                        "isolation": ["internal"],
                    },
                    {
                        "name": "vms",
                        "substrate": {"kind": "vm", "sizing": "requests"},
                        "isolation": ["regulated"],
                    },
                ],
            }
        ],
        tenants=[
            tenant("a", "internal", 6),
            tenant("b", "internal", 12),
            tenant("c", "regulated", 6),
            tenant("d", "regulated", 12),
        ],
    )


def test_kernels_are_shared_only_inside_the_shared_part() -> None:
    sc = _scenario()
    p = place(sc, "mixed")
    iso = analyse_isolation(sc, load_defaults(), p)
    by_name = {t.name: t for t in iso.tenants}
    assert by_name["a"].shares_kernel_with == ["b"]
    assert by_name["b"].shares_kernel_with == ["a"]
    # c and d are in VMs on one host: a kernel of their own each, the host shared
    assert by_name["c"].shares_host_with == ["d"]
    assert by_name["c"].shares_kernel_with == []
    assert by_name["d"].shares_kernel_with == []
    assert iso.tenants_per_kernel_max == 2


def test_capacity_rows_follow_each_tenants_part() -> None:
    sc = _scenario()
    p = place(sc, "mixed")
    cap = analyse_capacity(sc, load_defaults(), p)
    rows = {t.name: t for t in cap.tenants}
    # the shared cluster runs its one version (1.33); VM tenants run the one they want
    assert [rows[n].running_version for n in "abcd"] == ["1.33", "1.33", "1.31", "1.31"]
    # a VM tenant's nodes are its worker VMs: one per cluster here (2 one-core pods)
    vm_workers = [
        int(((p.nodes.cluster == ci) & (p.nodes.role == 0) & p.nodes.is_vm).sum()) for ci in (2, 3)
    ]
    assert [rows["c"].nodes, rows["d"].nodes] == vm_workers
    assert cap.tenants_per_kernel_max == 2


def test_the_shared_part_upgrades_as_one_cluster_the_vm_part_per_cluster() -> None:
    # a and b are on one shared cluster: it upgrades on the shorter cadence (6 months) and
    # takes both along, so b (12 months of its own) is forced; c and d each upgrade alone.
    sc = _scenario()
    life = analyse_lifecycle(sc, load_defaults(), place(sc, "mixed"))
    groups = {(e.cluster, tuple(e.tenants)) for e in life.events}
    assert groups == {("shared", ("a", "b")), ("c/c", ("c",)), ("d/d", ("d",))}
    assert life.shared_cadence_months == 6
    rows = {t.name: t for t in life.tenants}
    assert rows["a"].forced_upgrades == 0
    assert rows["b"].forced_upgrades > 0
    assert rows["c"].forced_upgrades == rows["d"].forced_upgrades == 0
    assert rows["a"].final_version == rows["b"].final_version


def test_only_the_vm_parts_hosts_pay_the_hypervisor_licence() -> None:
    # The vm part runs ESXi ($135 a physical core a year in the defaults); the shared part's
    # bare-metal hosts pay no licence. A std host (64 CPUs, 2 threads a core, 2 sockets)
    # counts max(64 / 2, 16 a socket × 2) = 32 licensed cores: $135 × 32 / 12 = $360 a month.
    sc = _scenario()
    hybrid = sc.substrates[0]
    assert hybrid.kind == "hybrid"
    vm_part = hybrid.parts[1].model_copy(
        update={"substrate": hybrid.parts[1].substrate.model_copy(update={"hypervisor": "esxi"})}
    )
    sc = sc.model_copy(
        update={"substrates": [hybrid.model_copy(update={"parts": [hybrid.parts[0], vm_part]})]}
    )
    defaults = load_defaults()
    model = sc.hardware.host_models[0]
    assert defaults.hypervisors["esxi"].licence_per_core_year_usd == 135
    assert (model.cpu_milli, model.threads_per_core, model.sockets) == (64_000, 2, 2)
    p = place(sc, "mixed")
    (_, vms) = p.parts
    vm_hosts = vms.hosts[1] - vms.hosts[0]
    assert vm_hosts >= 1 and len(p.hosts) > vm_hosts
    cap = analyse_capacity(sc, defaults, p)
    assert cap.cost_licences == pytest.approx(vm_hosts * 135 * 32 / 12)


def test_a_hypervisor_escape_starts_and_lands_in_the_vm_part_only() -> None:
    # c and d (2 pods each) share one KVM host. A hypervisor escape from a foothold in c's
    # pods exposes d there: KVM's rate × d's foothold weight ÷ the weight of every pod of
    # the fleet (2 pods each of a, b, c, d). a and b, on bare metal, get none of it.
    sc = _scenario()
    defaults = load_defaults()
    iso = analyse_isolation(sc, defaults, place(sc, "mixed"))
    assert [(e.kind, e.exposes) for e in iso.escapes] == [
        ("container", "kernel"),
        ("hypervisor", "host (vms)"),
    ]
    w = defaults.security.foothold_weight
    w_int, w_reg = w.get("internal", 1.0), w.get("regulated", 1.0)
    rate = defaults.hypervisors["kvm"].escapes_per_year
    total = 2 * w_int * 2 + 2 * w_reg * 2
    by_name = {t.name: t.by_escape for t in iso.tenants}
    assert by_name["c"]["hypervisor"] == pytest.approx(rate * 2 * w_reg / total)
    assert by_name["d"]["hypervisor"] == pytest.approx(rate * 2 * w_reg / total)
    assert by_name["a"]["hypervisor"] == by_name["b"]["hypervisor"] == 0


def test_pods_restart_only_within_their_own_part() -> None:
    # After a failure, a pod restarts in the room of its pool: in a hybrid no pool spans two
    # parts (a pod of the shared cluster never restarts in the vm part's VMs).
    sc = _scenario()
    p = place(sc, "mixed")
    pool, *_ = host_load(sc, load_defaults(), p)
    worker = np.array(p.hosts.role) == 0
    pools_of = [set(pool[a:b][worker[a:b]].tolist()) for a, b in (part.hosts for part in p.parts)]
    assert all(pools_of) and not pools_of[0] & pools_of[1]
    assert len(pools_of[0]) == len(pools_of[1]) == 1
