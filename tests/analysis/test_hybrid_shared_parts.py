"""A hybrid with two shared-cluster parts: each part is a shared cluster of its own.

Four small tenants, two in a ``baremetal-shared`` part ("metal": a, b) and two in a
``sandboxed`` part ("boxes": c, d). Each tenant runs 2 pods of 1 core and 1 GiB; both
shared clusters have a dedicated control plane (3 whole hosts each, no
``control_plane_model``). Host model ``std``: 64 cores, 256 GiB, $10,000 over 5 years.

Versions (start 2025-01-01, 18 months): a and b want 1.31, so the metal cluster runs 1.31;
c wants 1.30 and d 1.32 (one vote each: the newer wins), so the boxes cluster runs 1.32.
Had the four shared one cluster, 1.31 (two votes) would have won for all of them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import make_scenario, make_tenant, make_workload, place
from properties import examples
from underlay.analysis.capacity import analyse_capacity
from underlay.analysis.cost import analyse_cost
from underlay.analysis.failure_groups import host_load
from underlay.analysis.failures import analyse_failures
from underlay.analysis.isolation import analyse_isolation
from underlay.analysis.lifecycle import analyse_lifecycle
from underlay.analysis.node_rolls import NodeRolls
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import Scenario
from underlay.placement.result import SHARED_CLUSTER, WORKER

_PARTS = [
    {
        "name": "metal",
        "substrate": {"kind": "baremetal-shared", "control_plane": "dedicated"},
        "tenants": ["a", "b"],
    },
    {
        "name": "boxes",
        "substrate": {"kind": "sandboxed", "control_plane": "dedicated"},
        "tenants": ["c", "d"],
    },
]


def _scenario(parts: list[dict[str, Any]] | None = None) -> Scenario:
    def tenant(name: str, version: str, cadence: int) -> dict[str, Any]:
        return make_tenant(
            name,
            kubernetes_version=version,
            upgrade_cadence_months=cadence,
            workloads=[make_workload("w", replicas=2, cpu="1", memory="1Gi")],
        )

    return make_scenario(
        substrates=[{"kind": "hybrid", "name": "mixed", "parts": parts or _PARTS}],
        tenants=[
            tenant("a", "1.31", 6),
            tenant("b", "1.31", 12),
            tenant("c", "1.30", 3),
            tenant("d", "1.32", 12),
        ],
        lifecycle={"start": "2025-01-01", "horizon_years": 1.5},
        costs={"ops_per_cluster_month_usd": 100},
    )


def test_each_shared_part_is_a_cluster_of_its_own_hosts() -> None:
    # Part metal: 4 one-core pods fit one 64-core worker host; its control plane is 3
    # whole hosts: 4 hosts. Part boxes: 4 pods of 1 core + kata's 250m overhead = 5 cores,
    # one worker host, and 3 control-plane hosts: 4 hosts. The hybrid: 4 + 4 = 8 hosts.
    p = place(_scenario(), "mixed")
    assert [(q.name, q.kind, q.tenants, q.hosts) for q in p.parts] == [
        ("metal", "baremetal-shared", (0, 1), (0, 4)),
        ("boxes", "sandboxed", (2, 3), (4, 8)),
    ]
    roles = np.array(p.hosts.role)
    assert [int((roles[a:b] == WORKER).sum()) for a, b in ((0, 4), (4, 8))] == [1, 1]
    # each part's shared cluster carries the version its own tenants' rule picks
    assert [q.shared_version for q in p.parts] == ["1.31", "1.32"]
    # two shared control planes, one per part, on that part's hosts
    shared_cps = [c for c in p.control_planes if c.cluster == SHARED_CLUSTER]
    assert [(c.mode, c.replicas) for c in shared_cps] == [("dedicated", 3), ("dedicated", 3)]
    for q in p.parts:
        a, b = q.nodes
        on = p.nodes.host[a:b][p.nodes.cluster[a:b] == SHARED_CLUSTER]
        assert len(on) == 4 and ((on >= q.hosts[0]) & (on < q.hosts[1])).all()


def test_each_part_runs_its_own_shared_version() -> None:
    sc = _scenario()
    cap = analyse_capacity(sc, load_defaults(), place(sc, "mixed"))
    rows = {t.name: t for t in cap.tenants}
    assert [rows[n].running_version for n in "abcd"] == ["1.31", "1.31", "1.32", "1.32"]
    # one version per host (a bare-metal host runs one kernel of one cluster)
    assert cap.versions_per_host_max == 1
    # a and b share their one worker host's kernel; c and d each run in sandboxes
    assert rows["a"].shares_kernel_with == ["b"] and rows["b"].shares_kernel_with == ["a"]
    assert rows["c"].shares_kernel_with == rows["d"].shares_kernel_with == []
    assert cap.tenants_per_kernel_max == 2
    assert cap.control_plane_modes == {"dedicated": 2}


def test_each_shared_part_upgrades_on_its_own_cadence() -> None:
    # Releases (defaults/kubernetes_releases.yaml): 1.33 on 2025-04-23, 1.34 on 2025-08-27,
    # 1.35 on 2025-12-17, 1.36 on 2026-04-22. Month m starts m months after 2025-01-01;
    # upgrades happen in months cadence, 2 × cadence, ... < 18, to the newest released.
    # metal: cadence min(6, 12) = 6 from 1.31: month 6 (2025-07-01) → 1.33, month 12
    #   (2026-01-01) → 1.35.
    # boxes: cadence min(3, 12) = 3 from 1.32: month 3 (2025-04-01) nothing newer; month 6
    #   → 1.33; month 9 (2025-10-01) → 1.34; month 12 → 1.35; month 15 (2026-04-01) none.
    sc = _scenario()
    life = analyse_lifecycle(sc, load_defaults(), place(sc, "mixed"))
    got = [(str(e.date), e.cluster, e.tenants, e.from_version, e.to_version) for e in life.events]
    assert got == [
        ("2025-07-01", "shared (metal)", ["a", "b"], "1.31", "1.33"),
        ("2025-07-01", "shared (boxes)", ["c", "d"], "1.32", "1.33"),
        ("2025-10-01", "shared (boxes)", ["c", "d"], "1.33", "1.34"),
        ("2026-01-01", "shared (metal)", ["a", "b"], "1.33", "1.35"),
        ("2026-01-01", "shared (boxes)", ["c", "d"], "1.34", "1.35"),
    ]
    assert life.shared_cadence_months == 3  # the shorter of the two clusters' 6 and 3
    rows = {t.name: t for t in life.tenants}
    # Forced = the cluster's upgrade months its own plan would not upgrade in.
    # a (own: every 6 months from 1.31: months 6, 12) → 0; b (own: month 12) → month 6: 1.
    # c (own: every 3 from 1.30: month 3 → 1.32, 6, 9, 12) → 0; d (own: month 12) → 6, 9: 2.
    assert [rows[n].forced_upgrades for n in "abcd"] == [0, 1, 0, 2]
    assert rows["a"].version_by_month[:7] == ["1.31"] * 6 + ["1.33"]
    assert rows["c"].version_by_month[:10] == ["1.32"] * 6 + ["1.33"] * 3 + ["1.34"]
    assert rows["a"].version_by_month == rows["b"].version_by_month
    assert rows["c"].version_by_month == rows["d"].version_by_month
    # each roll covers its own part's one worker host and its two tenants' 4 pods
    rolls = {c.cluster: c for c in life.clusters}
    assert [(rolls[k].nodes, rolls[k].pods) for k in ("shared (metal)", "shared (boxes)")] == [
        (1, 4),
        (1, 4),
    ]


def test_kernels_are_shared_only_within_a_parts_hosts() -> None:
    # Both parts baremetal-shared: a and b share one kernel, c and d another, and no
    # kernel (nor host) is shared across the parts.
    both_metal = [_PARTS[0], {**_PARTS[1], "substrate": {"kind": "baremetal-shared"}}]
    sc = _scenario(both_metal)
    iso = analyse_isolation(sc, load_defaults(), place(sc, "mixed"))
    rows = {t.name: t for t in iso.tenants}
    assert [rows[n].shares_kernel_with for n in "abcd"] == [["b"], ["a"], ["d"], ["c"]]
    assert [rows[n].shares_host_with for n in "abcd"] == [["b"], ["a"], ["d"], ["c"]]
    assert iso.tenants_per_kernel_max == 2


def test_hosts_and_costs_per_part() -> None:
    # 8 hosts at $10,000 / (5 × 12) = $166.67 a month each; no licence on either part;
    # two shared clusters run, at ops_per_cluster_month_usd = $100 each: $200 a month.
    sc = _scenario()
    defaults = load_defaults()
    p = place(sc, "mixed")
    cost = analyse_cost(sc, defaults, p, analyse_capacity(sc, defaults, p))
    assert cost.hosts == 8
    assert cost.per_month.capex == pytest.approx(8 * 10_000 / 60)
    assert cost.per_month.licences == 0
    assert cost.clusters_operated == 2
    assert cost.per_month.ops_clusters == pytest.approx(2 * 100)


def test_pods_restart_only_within_their_own_shared_cluster() -> None:
    sc = _scenario()
    p = place(sc, "mixed")
    pool, *_ = host_load(sc, load_defaults(), p)
    worker = np.array(p.hosts.role) == WORKER
    pools_of = [set(pool[a:b][worker[a:b]].tolist()) for a, b in (q.hosts for q in p.parts)]
    assert len(pools_of[0]) == len(pools_of[1]) == 1
    assert not pools_of[0] & pools_of[1]
    # Each part has one worker host: when it fails, its 4 pods (2 per tenant) have no
    # other host in their own cluster, though the other part's worker has ~59 cores free.
    # So every pod on a failed host is stranded, and the headroom is one std host per
    # shared cluster: 2 (one pool of both parts' workers would need none).
    f = analyse_failures(sc, load_defaults(), p, trials=20)
    assert [(t.pods_per_host_failure, t.pods_stranded_per_host_failure) for t in f.tenants] == [
        (2.0, 2.0)
    ] * 4
    assert (f.headroom_model, f.headroom_hosts_host) == ("std", 2)


# ------------------------------------------------------------------------ properties

_SHARED_KINDS = ["baremetal-shared", "sandboxed"]


@st.composite
def _two_shared_parts(draw: st.DrawFn) -> tuple[list[str], list[dict[str, Any]], list[int]]:
    """Two shared-cluster parts' kinds, 1 to 4 tenants, and each tenant's part (0 or 1;
    a part may get nobody)."""
    kinds = [draw(st.sampled_from(_SHARED_KINDS)) for _ in range(2)]
    tenants = [
        make_tenant(
            f"t{i}",
            kubernetes_version=draw(st.sampled_from(["1.30", "1.31", "1.32", "1.33"])),
            upgrade_cadence_months=draw(st.sampled_from([3, 6, 12])),
            workloads=[
                make_workload(
                    "w",
                    replicas=draw(st.integers(1, 30)),
                    cpu=f"{draw(st.integers(100, 8000))}m",
                    memory=f"{draw(st.integers(128, 16384))}Mi",
                )
            ],
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    side = [draw(st.integers(0, 1)) for _ in tenants]
    return kinds, tenants, side


@settings(max_examples=examples(15), deadline=None)
@given(_two_shared_parts())
def test_each_shared_part_runs_as_its_substrate_alone(
    case: tuple[list[str], list[dict[str, Any]], list[int]],
) -> None:
    # Each part's tenants get what the part's substrate alone gives them: its hosts, its
    # shared cluster's version, its upgrades and node rolls (a part holding every tenant:
    # the pure substrate, bit for bit).
    kinds, tenants, side = case
    life = {"start": "2025-06-01", "horizon_years": 2}
    parts = []
    for k, kind in enumerate(kinds):
        names = [t["name"] for t, s in zip(tenants, side, strict=True) if s == k]
        rule = {"tenants": names} if names else {"isolation": ["regulated"]}  # nobody
        parts.append({"name": f"p{k}", "substrate": {"kind": kind}, **rule})
    hybrid = make_scenario(
        substrates=[{"kind": "hybrid", "name": "mixed", "parts": parts}],
        tenants=tenants,
        lifecycle=life,
    )
    defaults = load_defaults()
    p = place(hybrid, "mixed")
    h_cap = {t.name: t for t in analyse_capacity(hybrid, defaults, p).tenants}
    h_life = analyse_lifecycle(hybrid, defaults, p)
    h_rows = {t.name: t for t in h_life.tenants}
    placed = [q.name for q in p.parts]
    for k, kind in enumerate(kinds):
        mine = [t for t, s in zip(tenants, side, strict=True) if s == k]
        if not mine:
            assert f"p{k}" not in placed
            continue
        pure = make_scenario(substrates=[{"kind": kind}], tenants=mine, lifecycle=life)
        q = place(pure, kind)
        part = p.parts[placed.index(f"p{k}")]
        assert part.hosts[1] - part.hosts[0] == len(q.hosts)
        assert part.shared_version == q.shared_version
        cap = analyse_capacity(pure, defaults, q)
        alone = analyse_lifecycle(pure, defaults, q)
        label = "shared" if len(placed) == 1 else f"shared (p{k})"
        assert [
            (e.date, e.tenants, e.from_version, e.to_version, e.node_rolls, e.pods_disrupted)
            for e in h_life.events
            if e.cluster == label
        ] == [
            (e.date, e.tenants, e.from_version, e.to_version, e.node_rolls, e.pods_disrupted)
            for e in alone.events
        ]
        (roll,) = [c for c in h_life.clusters if c.cluster == label]
        assert roll == replace(alone.clusters[0], cluster=label)
        for t_cap, t_life in zip(cap.tenants, alone.tenants, strict=True):
            assert h_cap[t_cap.name].running_version == t_cap.running_version
            assert h_rows[t_life.name] == t_life


def test_a_sandboxed_parts_pods_roll_with_their_sandbox_overhead() -> None:
    # What a pod takes while its node rolls: (CPU milli, memory MiB, pod slot, milli-GPUs).
    # a and b on shared bare metal: their requests, 1000m and 1024 MiB; c and d in kata
    # sandboxes: plus kata's pod overhead (250m, 160 MiB in the defaults).
    sc = _scenario()
    defaults = load_defaults()
    kata = defaults.sandbox_runtimes["kata"].pod_overhead
    assert (kata.cpu_milli, kata.memory_mib) == (250, 160)
    rolls = NodeRolls(sc, defaults, place(sc, "mixed"))
    assert rolls.size.tolist() == [[1000, 1024, 1, 0]] * 2 + [[1250, 1184, 1, 0]] * 2
