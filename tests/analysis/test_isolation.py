"""Isolation and blast radius (:mod:`underlay.analysis.isolation`).

Hand-checkable cases first: three tenants — ``bank`` (class ``pci``, the scenario's own,
inheriting ``regulated``), ``shop`` (``internal``) and ``ci`` (``untrusted``) — on all four
substrates, with the placement checked before anything is computed from it. Every
expected number is derived in the comments from the formula in the module docstring:

    incidents a year    = λ · Σ_d [n[d,t] > 0] · (W[d] − W[d,t]) / W
    exposed pods a year = λ · Σ_d n[d,t] · (W[d] − W[d,t]) / W

The rates λ are read from the packaged defaults (they are being re-estimated; the
comments give today's values); the foothold weights the fractions use are pinned by
:func:`test_foothold_weights_the_arithmetic_uses`.

Why not "an inventory of 2 hosts": every substrate needs control-plane machines besides
the workers (bare metal: 3 whole hosts per cluster, or 3 for the shared cluster; VMs: 3
control-plane VMs per cluster, one per host), and a dedicated fleet needs a host per
tenant, so 2 hosts can run none of them. underlay sizes the fleet instead ("size it for
me") with first-fit-decreasing, which opens a host only when no open one fits the next
pod — just as predictable. Control-plane machines run no tenant pods and take no part in
the analysis; the shared/sandboxed layouts use exactly two worker hosts.

Then Hypothesis properties on small random scenarios, checked against a plain-Python
reference written from the docstring (pod by pod).
"""

from __future__ import annotations

from typing import Any

import pytest

from factories import (
    make_scenario,
    make_tenant,
    make_workload,
    place,
)
from underlay.analysis.isolation import (
    IsolationViolation,
    SharingEdge,
    SubstrateIsolation,
    analyse_isolation,
)
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import Scenario
from underlay.placement.result import CONTROL_PLANE, WORKER, SubstratePlacement

KINDS = ("baremetal-dedicated", "baremetal-shared", "vm", "sandboxed")

# Rules of the hand scenario (they replace the default rules): the two defaults, and a
# rule of the scenario's own class at host level.
RULES = [
    {"between": ["regulated", "untrusted"]},  # 0: never share a kernel (the default level)
    {"between": ["untrusted", "untrusted"]},  # 1
    {"between": ["pci", "untrusted"], "never_share": "host"},  # 2
]


def fleet() -> Scenario:
    """Three tenants, two replicas each, sized on 64-core / 256Gi hosts, FFD.

    The layout is fixed so the hand arithmetic below stays short: control planes on
    machines of their own (3 whole hosts per bare-metal cluster; 3 VMs of 4 vCPU / 16 GiB
    per VM cluster) and a KVM host reservation of 4 cores (60 left for VMs).
    """
    return make_scenario(
        placement={"strategy": "first-fit-decreasing"},
        substrates=[
            {"kind": "baremetal-dedicated"},
            {"kind": "baremetal-shared", "control_plane": "dedicated"},
            # One VM shape for every cluster, so the VMs are easy to follow (see below).
            {"kind": "vm", "shapes": [{"name": "w26", "vcpus": 26, "memory": "64Gi"}]},
            {"kind": "sandboxed", "control_plane": "dedicated"},  # kata
        ],
        overrides={
            "hypervisors": {"kvm": {"host_reserved": {"cpu": "4", "memory": "8Gi"}}},
            "control_plane": {"minimum": {"vcpus": 4, "memory": "16Gi"}},
        },
        isolation={"classes": {"pci": {"inherits": ["regulated"]}}, "rules": RULES},
        tenants=[
            make_tenant(
                name,
                isolation=cls,
                control_plane="dedicated",
                workloads=[make_workload(w, replicas=2, cpu=cpu, memory=mem)],
            )
            for name, cls, w, cpu, mem in [
                ("bank", "pci", "ledger", "24", "32Gi"),
                ("shop", "internal", "web", "20", "32Gi"),
                ("ci", "untrusted", "runner", "12", "16Gi"),
            ]
        ],
    )


D = load_defaults(fleet().overrides)
LAM_C = D.security.container_escapes_per_year  # today 0.71 + 20 × 0.568 = 12.07
LAM_KVM = D.hypervisors["kvm"].escapes_per_year  # today 2
LAM_KATA = D.sandbox_runtimes["kata"].escapes_per_year  # today 2
# Foothold weights: regulated 0.1 (and pci, which inherits it), internal 0.1, untrusted
# 1.0. Two pods each: W = 2 × 0.1 + 2 × 0.1 + 2 × 1.0 = 2.4 on every substrate.
W = 2.4


@pytest.fixture(scope="module")
def hand() -> dict[str, tuple[SubstratePlacement, SubstrateIsolation]]:
    sc = fleet()
    placed = {kind: place(sc, kind, D) for kind in KINDS}
    return {kind: (p, analyse_isolation(sc, D, p)) for kind, p in placed.items()}


def test_foothold_weights_the_arithmetic_uses() -> None:
    assert D.security.foothold_weight == {"untrusted": 1.0, "internal": 0.1, "regulated": 0.1}, (
        "the hand cases below assume these weights; redo their arithmetic"
    )


def _where(p: SubstratePlacement) -> dict[str, list[tuple[int, int]]]:
    """Workload → sorted (host, pods) of its pods."""
    out = {}
    for ref, nodes, counts in zip(p.workloads, p.pod_nodes, p.pod_counts, strict=True):
        out[ref.workload.name] = sorted(
            zip(p.nodes.host[nodes].tolist(), counts.tolist(), strict=True)
        )
    return out


def _exposure(s: SubstrateIsolation) -> list[float]:
    """(incidents, exposed pods) a year of each tenant in turn, flat."""
    return [x for t in s.tenants for x in (t.incidents_per_year, t.exposed_pods_per_year)]


def _tenant(s: SubstrateIsolation, name: str) -> Any:
    return next(t for t in s.tenants if t.name == name)


# ------------------------------------------------------------- the placement first


def test_placement_dedicated(hand: Any) -> None:
    p, _ = hand["baremetal-dedicated"]
    # 3 clusters × 3 control-plane hosts (0-8), then one worker host per tenant, in order.
    assert p.hosts.role == [CONTROL_PLANE] * 9 + [WORKER] * 3
    assert p.hosts.owner[9:] == [0, 1, 2]
    assert _where(p) == {"ledger": [(9, 2)], "web": [(10, 2)], "runner": [(11, 2)]}
    assert not p.unplaced


@pytest.mark.parametrize("kind", ["baremetal-shared", "sandboxed"])
def test_placement_shared_and_sandboxed(hand: Any, kind: str) -> None:
    p, _ = hand[kind]
    # Hosts 0-2: the shared cluster's control plane. A worker host's pods get 64 cores
    # − GKE reservation (60 + 10 + 2 × 5 + 60 × 2.5 = 230m) − DaemonSets 400m = 63.37.
    assert p.nodes.alloc_cpu[p.nodes.role == WORKER].tolist() == [63_370, 63_370]
    # FFD, largest first: ledger 2 × 24 → host 3 (15.37 left); web 20 does not fit host 3
    # → 2 × 20 on host 4 (23.37 left); runner 12: one on host 3 (3.37 left), one on host 4.
    # Sandboxed adds kata's 250m to every pod: 48.5 + 12.25 = 60.75 ≤ 63.37, same layout.
    assert _where(p) == {"ledger": [(3, 2)], "web": [(4, 2)], "runner": [(3, 1), (4, 1)]}
    assert p.hosts.role == [CONTROL_PLANE] * 3 + [WORKER] * 2


def test_placement_vm(hand: Any) -> None:
    p, _ = hand["vm"]
    # KVM keeps 4 cores of a host (this scenario's override): 60 whole cores for VMs.
    # Control-plane VMs (4 vCPU each, the override's minimum) go first, anti-affine per cluster:
    # hosts 0, 1, 2 each get one VM of each of the 3 clusters → 12 cores used, 48 left.
    # A w26 VM (26 vCPU) holds one ledger pod (24), one web pod (20) or two runner pods
    # (12 + 12): bank 2 VMs, shop 2, ci 1. Equal shapes go in cluster order: bank → hosts
    # 0 and 1 (48 − 26 = 22 left each); shop → host 2 (22 left), then a new host 3;
    # ci → host 3 (60 − 26 = 34 left ≥ 26).
    assert len(p.hosts) == 4
    assert _where(p) == {"ledger": [(0, 1), (1, 1)], "web": [(2, 1), (3, 1)], "runner": [(3, 2)]}


# -------------------------------------------------------------- who shares with whom


def test_dedicated_shares_nothing(hand: Any) -> None:
    _, s = hand["baremetal-dedicated"]
    assert (s.kernels, s.tenants_per_kernel_max, s.tenants_per_host_max) == (3, 1, 1)
    assert s.edges == [] and s.violations == [] and s.notes == []
    assert [e.kind for e in s.escapes] == ["container"]
    for t in s.tenants:
        assert t.shares_kernel_with == [] and t.shares_host_with == []
        assert (t.kernels, t.violations) == (1, 0)
        assert t.incidents_per_year == 0 and t.exposed_pods_per_year == 0
        assert t.by_escape == {"container": 0.0}
    assert s.incidents_per_year == 0


def test_shared_kernels_and_violations(hand: Any) -> None:
    _, s = hand["baremetal-shared"]
    # Host 3 = {bank ×2, ci}, host 4 = {shop ×2, ci}: the host is the kernel.
    assert (s.kernels, s.tenants_per_kernel_max, s.tenants_per_host_max) == (2, 2, 2)
    assert {t.name: (t.shares_kernel_with, t.shares_host_with, t.kernels) for t in s.tenants} == {
        "bank": (["ci"], ["ci"], 1),
        "shop": (["ci"], ["ci"], 1),
        "ci": (["bank", "shop"], ["bank", "shop"], 2),
    }
    # One rack (sizing: 5 hosts / 40 per rack).
    assert s.edges == [SharingEdge("bank", "ci", 1, 1, 1), SharingEdge("shop", "ci", 1, 1, 1)]
    # bank is pci, which inherits regulated: rule 0 (regulated–untrusted, kernel) and
    # rule 2 (pci–untrusted, host) both catch bank–ci on host 3. shop–ci breaks no rule;
    # rule 1 needs two untrusted tenants.
    assert s.violations == [
        IsolationViolation(0, "kernel", "bank", "ci", "pci", "untrusted", 1),
        IsolationViolation(2, "host", "bank", "ci", "pci", "untrusted", 1),
    ]
    assert s.violations[0].describe() == "bank (pci) shares 1 kernel with ci (untrusted)"
    assert s.violations[1].describe() == "bank (pci) shares 1 host with ci (untrusted)"
    assert [t.violations for t in s.tenants] == [2, 0, 2]
    assert s.notes  # the shared control plane is named, not counted


def test_shared_exposure_by_hand(hand: Any) -> None:
    _, s = hand["baremetal-shared"]
    # Container escapes expose the kernel = the host. W[3] = 2 × 0.1 (bank) + 1.0 (ci)
    # = 1.2; W[4] = 2 × 0.1 (shop) + 1.0 (ci) = 1.2; W = 2.4.
    bank = LAM_C * (1.2 - 0.2) / W  # 12.07 × 1/2.4 = 5.029
    shop = LAM_C * (1.2 - 0.2) / W  # same
    ci = LAM_C * ((1.2 - 1.0) / W + (1.2 - 1.0) / W)  # 12.07 × 0.4/2.4 = 2.012
    assert _exposure(s) == pytest.approx(
        [
            *(bank, 2 * bank),  # bank: 2 pods on host 3 → 10.06 pods a year
            *(shop, 2 * shop),
            *(ci, ci),  # ci: one pod on each host
        ]
    )
    assert _tenant(s, "ci").by_escape == pytest.approx({"container": ci})
    # Every escape starts in some tenant's pod and lands on the other tenant of its host:
    # the three sum to λ × (1 + 1 + 0.4) / 2.4 = λ.
    assert s.incidents_per_year == pytest.approx(LAM_C)


def test_shared_blast_radius_by_hand(hand: Any) -> None:
    _, s = hand["baremetal-shared"]
    # An escape from each of the 6 pods (uniform): bank's 2 pods reach 1 tenant (ci) and
    # 1 pod; shop's 2 likewise; ci's pod on host 3 reaches bank's 2 pods, on host 4 shop's 2.
    (container,) = s.blast
    assert (container.escape, container.per_year) == ("container", pytest.approx(LAM_C))
    assert container.tenants_exposed_mean == pytest.approx(6 / 6)
    assert container.tenants_exposed_max == 1
    assert container.pods_exposed_mean == pytest.approx((1 + 1 + 2 + 1 + 1 + 2) / 6)
    # pci is reached from ci's pod on host 3 (1 of 6 pods), internal from ci's pod on
    # host 4, untrusted from the 4 bank and shop pods.
    assert container.class_exposed_percent == pytest.approx(
        {"internal": 100 / 6, "pci": 100 / 6, "untrusted": 400 / 6}
    )
    assert [(t.blast_tenants_mean, t.blast_pods_mean) for t in s.tenants] == [
        (1.0, 1.0),  # bank: ci's 1 pod
        (1.0, 1.0),  # shop
        (1.0, 2.0),  # ci: bank's 2 or shop's 2
    ]


def test_vm_no_kernel_shared_hypervisor_exposure_by_hand(hand: Any) -> None:
    _, s = hand["vm"]
    # Kernels are the 5 worker VMs; only host 3 has two tenants (shop's VM, ci's VM).
    assert (s.kernels, s.tenants_per_kernel_max, s.tenants_per_host_max) == (5, 1, 2)
    assert {t.name: (t.shares_kernel_with, t.shares_host_with, t.kernels) for t in s.tenants} == {
        "bank": ([], [], 2),
        "shop": ([], ["ci"], 2),
        "ci": ([], ["shop"], 1),
    }
    assert s.edges == [SharingEdge("shop", "ci", 0, 1, 1)]
    assert s.violations == []  # bank's VMs share no host with ci's: rule 2 holds
    assert [(e.kind, e.exposes) for e in s.escapes] == [
        ("container", "kernel"),
        ("hypervisor", "host"),
    ]
    # A container escape stays in its tenant's VM. A hypervisor escape exposes the host:
    # W[3] = 0.1 (shop's pod) + 2 × 1.0 (ci's pods) = 2.1; hosts 0, 1, 2 hold one tenant.
    shop = LAM_KVM * (2.1 - 0.1) / W  # 2 × 2.0/2.4 = 1.667 (1 pod there)
    ci = LAM_KVM * (2.1 - 2.0) / W  # 2 × 0.1/2.4 = 0.0833 (2 pods there)
    # (incidents, exposed pods) of bank, shop, ci:
    assert _exposure(s) == pytest.approx([0.0, 0.0, shop, shop, ci, 2 * ci])
    assert _tenant(s, "shop").by_escape == pytest.approx({"container": 0.0, "hypervisor": shop})
    container, hypervisor = s.blast
    assert (container.tenants_exposed_mean, container.pods_exposed_mean) == (0.0, 0.0)
    assert container.class_exposed_percent == {"internal": 0.0, "pci": 0.0, "untrusted": 0.0}
    # Hypervisor escape from each of 6 pods: bank ×2 and shop's pod on host 2 reach
    # nobody; shop's pod on host 3 reaches ci (2 pods); each ci pod reaches shop (1 pod).
    assert hypervisor.per_year == pytest.approx(LAM_KVM)
    assert hypervisor.tenants_exposed_mean == pytest.approx(3 / 6)
    assert hypervisor.tenants_exposed_max == 1
    assert hypervisor.pods_exposed_mean == pytest.approx((2 + 1 + 1) / 6)
    assert hypervisor.class_exposed_percent == pytest.approx(
        {"internal": 200 / 6, "pci": 0.0, "untrusted": 100 / 6}
    )
    # Per tenant, from its own pods (the hypervisor escape, the farthest-reaching one).
    # shop: (0 + 1) / 2 tenants, (0 + 2) / 2 pods; ci: shop's 1 pod from both of its pods.
    assert [(t.blast_tenants_mean, t.blast_pods_mean) for t in s.tenants] == [
        (0.0, 0.0),
        (0.5, 1.0),
        (1.0, 1.0),
    ]


def test_sandboxed_one_kernel_per_pod_sandbox_escape_by_hand(hand: Any) -> None:
    _, s = hand["sandboxed"]
    # Same hosts as the shared cluster, but every pod has its own kernel: 6 kernels.
    assert (s.kernels, s.tenants_per_kernel_max, s.tenants_per_host_max) == (6, 1, 2)
    assert {t.name: (t.shares_kernel_with, t.shares_host_with, t.kernels) for t in s.tenants} == {
        "bank": ([], ["ci"], 2),
        "shop": ([], ["ci"], 2),
        "ci": ([], ["bank", "shop"], 2),
    }
    assert s.edges == [SharingEdge("bank", "ci", 0, 1, 1), SharingEdge("shop", "ci", 0, 1, 1)]
    # No kernel rule can break; the host rule (2) still catches bank–ci on host 3.
    assert s.violations == [IsolationViolation(2, "host", "bank", "ci", "pci", "untrusted", 1)]
    # A sandbox escape exposes the host: the shared-cluster fractions at kata's rate.
    bank = LAM_KATA * 1.0 / W  # 2 × 1/2.4 = 0.833
    ci = LAM_KATA * 0.4 / W  # 2 × 0.4/2.4 = 0.333
    assert _exposure(s) == pytest.approx([bank, 2 * bank, bank, 2 * bank, ci, ci])
    assert _tenant(s, "bank").by_escape == pytest.approx({"container": 0.0, "sandbox": bank})
    container, sandbox = s.blast
    assert (container.tenants_exposed_mean, container.tenants_exposed_max) == (0.0, 0)
    assert (sandbox.escape, sandbox.tenants_exposed_max) == ("sandbox", 1)
    assert (sandbox.tenants_exposed_mean, sandbox.pods_exposed_mean) == pytest.approx((1.0, 8 / 6))
    assert sandbox.class_exposed_percent == pytest.approx(
        {"internal": 100 / 6, "pci": 100 / 6, "untrusted": 400 / 6}
    )


def test_default_policy_names_each_pair_once() -> None:
    # One host, default rules: bank (regulated) and two untrusted tenants share its kernel.
    sc = make_scenario(
        placement={"strategy": "first-fit-decreasing"},
        substrates=[{"kind": "baremetal-shared"}],
        tenants=[
            make_tenant("bank", isolation="regulated"),
            make_tenant("ci1", isolation="untrusted"),
            make_tenant("ci2", isolation="untrusted"),
            make_tenant("shop"),  # internal: no default rule mentions it
        ],
    )
    d = load_defaults()
    s = analyse_isolation(sc, d, place(sc, "baremetal-shared", d))
    assert s.tenants_per_kernel_max == 4
    assert [(v.rule, v.level, v.tenant, v.other, v.shared) for v in s.violations] == [
        (0, "kernel", "bank", "ci1", 1),
        (0, "kernel", "bank", "ci2", 1),
        (1, "kernel", "ci1", "ci2", 1),  # once, not once per direction
    ]
    assert [t.violations for t in s.tenants] == [2, 2, 2, 0]


def test_a_pair_breaking_two_rules_at_one_level_is_named_once_under_the_first() -> None:
    sc = make_scenario(
        substrates=[{"kind": "baremetal-shared"}],
        isolation={
            "classes": {"pci": {"inherits": ["regulated"]}},
            "rules": [
                {"between": ["internal", "internal"]},  # 0: nobody breaks it
                {"between": ["untrusted", "pci"]},  # 1
                {"between": ["regulated", "untrusted"]},  # 2: the same pair, through inheritance
                {"between": ["pci", "untrusted"], "never_share": "rack"},  # 3: another level
            ],
        },
        tenants=[make_tenant("bank", isolation="pci"), make_tenant("ci", isolation="untrusted")],
    )
    d = load_defaults()
    s = analyse_isolation(sc, d, place(sc, "baremetal-shared", d))
    assert [(v.rule, v.level, v.tenant, v.other) for v in s.violations] == [
        (1, "kernel", "ci", "bank"),  # named in the rule's order: untrusted first
        (3, "rack", "bank", "ci"),
    ]
    assert [t.violations for t in s.tenants] == [2, 2]


@pytest.mark.parametrize(
    ("classes", "overrides", "weight"),
    [
        ({"x": {"inherits": ["regulated"]}}, {}, 0.1),
        ({"y": {"inherits": ["regulated"]}, "x": {"inherits": ["y"]}}, {}, 0.1),  # nearest
        ({"x": {"inherits": ["internal", "untrusted"]}}, {}, 1.0),  # equally near: largest
        ({"x": {"inherits": ["regulated"]}}, {"x": 0.4}, 0.4),  # its own weight first
        ({"x": {}}, {}, 1.0),  # listed nowhere: the defaults' 1.0
    ],
    ids=["inherits", "chain", "two-parents", "own-weight", "unlisted"],
)
def test_own_class_weighs_as_the_class_it_inherits(
    classes: dict[str, Any], overrides: dict[str, float], weight: float
) -> None:
    # One host: tenant a (class x, 1 pod) and tenant b (internal, 0.1, 1 pod). b is hit by
    # escapes that start in a's pod: λ × w / (w + 0.1).
    sc = make_scenario(
        substrates=[{"kind": "baremetal-shared"}],
        isolation={"classes": classes, "rules": []},
        tenants=[make_tenant("a", isolation="x"), make_tenant("b")],
        overrides={"security": {"foothold_weight": overrides}} if overrides else {},
    )
    d = load_defaults(sc.overrides)
    s = analyse_isolation(sc, d, place(sc, "baremetal-shared", d))
    lam = d.security.container_escapes_per_year
    assert _tenant(s, "b").incidents_per_year == pytest.approx(lam * weight / (weight + 0.1))
