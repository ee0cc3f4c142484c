"""Property tests of the isolation analysis (Hypothesis, small random scenarios), against a
plain pod-by-pod reference written from the module docstring of
:mod:`underlay.analysis.isolation`. The hand-checked cases are in ``test_isolation.py``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import (
    make_host_model,
    make_tenant,
    make_workload,
    place,
    scenario_dict,
)
from properties import examples
from underlay.analysis.isolation import (
    SubstrateIsolation,
    analyse_isolation,
)
from underlay.defaults.catalog import Defaults, load_defaults
from underlay.model.scenario import Sandboxed, Scenario, Vm
from underlay.placement.result import SubstratePlacement

KINDS = ("baremetal-dedicated", "baremetal-shared", "vm", "sandboxed")
D = load_defaults()


# --------------------------------------------------------------------- properties

EXAMPLES = examples(40)
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Classes of the random scenarios: the defaults and two of the scenario's own.
CLASSES = ["regulated", "internal", "untrusted", "pci", "lab"]
POLICY = {
    "classes": {"pci": {"inherits": ["regulated"]}, "lab": {"inherits": ["internal"]}},
    "rules": [
        {"between": ["regulated", "untrusted"]},
        {"between": ["untrusted", "untrusted"]},
        {"between": ["pci", "untrusted"], "never_share": "host"},
        {"between": ["lab", "regulated"], "never_share": "rack"},
        {"between": ["untrusted", "pci"]},  # shadowed by rule 0: pci inherits regulated
    ],
}
INHERITS = {"pci": "regulated", "lab": "internal"}
LINEAGE = {c: {c, INHERITS[c]} if c in INHERITS else {c} for c in CLASSES}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Scenario, str]:
    tenants = []
    for t in range(draw(st.integers(1, 4))):
        workloads = [
            make_workload(
                f"t{t}w{j}",
                replicas=draw(st.integers(0, 6)),
                cpu=draw(st.sampled_from(["500m", "1", "2", "4", "7"])),
                memory=draw(st.sampled_from(["1Gi", "4Gi", "12Gi"])),
            )
            for j in range(draw(st.integers(1, 2)))
        ]
        tenants.append(
            make_tenant(f"t{t}", isolation=draw(st.sampled_from(CLASSES)), workloads=workloads)
        )
    hardware: dict[str, Any] = {"host_models": [make_host_model(cores=16, memory="64Gi")]}
    hardware["topology"] = {"racks": draw(st.integers(1, 3))}
    if draw(st.integers(0, 3)) == 0:  # a small inventory: some pods may go unplaced
        hardware["inventory"] = [{"model": "std", "count": draw(st.integers(4, 16))}]
    vm: dict[str, Any] = {"kind": "vm", "hypervisor": draw(st.sampled_from(["kvm", "esxi"]))}
    if draw(st.booleans()):
        vm["shapes"] = [{"name": "fixed", "vcpus": draw(st.sampled_from([4, 8])), "memory": "16Gi"}]
    sc = Scenario.model_validate(
        scenario_dict(
            hardware=hardware,
            tenants=tenants,
            isolation=POLICY,
            substrates=[
                {"kind": "baremetal-dedicated"},
                {"kind": "baremetal-shared"},
                vm,
                {"kind": "sandboxed", "runtime": draw(st.sampled_from(["kata", "gvisor"]))},
            ],
            placement={
                "strategy": draw(
                    st.sampled_from(["first-fit-decreasing", "best-fit", "least-allocated"])
                )
            },
        )
    )
    return sc, draw(st.sampled_from(KINDS))


def _analysed(case: tuple[Scenario, str]) -> tuple[SubstratePlacement, SubstrateIsolation]:
    sc, kind = case
    p = place(sc, kind, D)
    return p, analyse_isolation(sc, D, p)


def _reference(sc: Scenario, d: Defaults, p: SubstratePlacement) -> dict[str, Any]:
    """The docstring's model, pod by pod in plain Python."""
    pods: list[tuple[int, tuple[Any, ...], int, int]] = []  # (tenant, kernel, host, rack)
    for ref, nodes, counts in zip(p.workloads, p.pod_nodes, p.pod_counts, strict=True):
        for node, count in zip(nodes.tolist(), counts.tolist(), strict=True):
            host = int(p.nodes.host[node])
            for _ in range(count):
                kernel: tuple[Any, ...] = {
                    "vm": ("vm", node),
                    "sandboxed": ("pod", len(pods)),
                }.get(p.kind, ("host", host))
                pods.append((ref.tenant_index, kernel, host, p.hosts.rack[host]))
    weights = d.security.foothold_weight
    w_of = [weights[INHERITS.get(t.isolation, t.isolation)] for t in sc.tenants]
    total = sum(w_of[t] for t, *_ in pods)
    level = {"kernel": 1, "host": 2, "rack": 3}
    members: dict[str, dict[Any, set[int]]] = {lv: defaultdict(set) for lv in level}
    weight_in: dict[str, dict[Any, float]] = {lv: defaultdict(float) for lv in level}
    for pod in pods:
        for lv, i in level.items():
            members[lv][pod[i]].add(pod[0])
            weight_in[lv][pod[i]] += w_of[pod[0]]
    shared: dict[str, dict[tuple[int, int], int]] = {lv: defaultdict(int) for lv in level}
    for lv in level:
        for tenants in members[lv].values():
            for a in tenants:
                for b in tenants:
                    shared[lv][a, b] += 1
    rates = [("container", d.security.container_escapes_per_year, "kernel")]
    sub = sc.substrate(p.name)
    if isinstance(sub, Vm):
        rates.append(("hypervisor", d.hypervisors[sub.hypervisor].escapes_per_year, "host"))
    if isinstance(sub, Sandboxed):
        rates.append(("sandbox", d.sandbox_runtimes[sub.runtime].escapes_per_year, "host"))
    n = len(sc.tenants)
    incidents = {k: [0.0] * n for k, _, _ in rates}
    exposed = [0.0] * n
    for kind, lam, lv in rates:
        own: dict[tuple[Any, int], tuple[int, float]] = defaultdict(lambda: (0, 0.0))
        for pod in pods:
            c, w = own[pod[level[lv]], pod[0]]
            own[pod[level[lv]], pod[0]] = (c + 1, w + w_of[pod[0]])
        for (dom, t), (count, w) in own.items():
            share = (weight_in[lv][dom] - w) / total
            incidents[kind][t] += lam * share
            exposed[t] += lam * share * count
    violations: dict[tuple[str, int, int], tuple[int, int]] = {}  # → (first rule, shared)
    for ri, rule in enumerate(sc.isolation.rules):
        ca, cb = rule.between
        for (a, b), k in shared[rule.never_share].items():
            lin_a, lin_b = LINEAGE[sc.tenants[a].isolation], LINEAGE[sc.tenants[b].isolation]
            if a != b and ca in lin_a and cb in lin_b:
                violations.setdefault((rule.never_share, min(a, b), max(a, b)), (ri, k))
    names = [t.name for t in sc.tenants]
    return {
        "kernel_with": [
            sorted({b for (a, b) in shared["kernel"] if a == t != b}) for t in range(n)
        ],
        "host_with": [sorted({b for (a, b) in shared["host"] if a == t != b}) for t in range(n)],
        "kernels": [sum(t in m for m in members["kernel"].values()) for t in range(n)],
        "incidents": incidents,
        "exposed": exposed,
        "violations": violations,
        "names": names,
    }


@PROPERTY
@given(scenarios())
def test_matches_the_docstring_model_pod_by_pod(case: tuple[Scenario, str]) -> None:
    sc, _ = case
    p, s = _analysed(case)
    ref = _reference(sc, D, p)
    names = ref["names"]
    for ti, t in enumerate(s.tenants):
        assert t.name == names[ti]  # scenario order
        assert t.shares_kernel_with == [names[o] for o in ref["kernel_with"][ti]]
        assert t.shares_host_with == [names[o] for o in ref["host_with"][ti]]
        assert t.kernels == ref["kernels"][ti]
        for kind, per_tenant in ref["incidents"].items():
            assert t.by_escape[kind] == pytest.approx(per_tenant[ti], abs=1e-9)
        assert t.incidents_per_year == pytest.approx(
            sum(v[ti] for v in ref["incidents"].values()), abs=1e-9
        )
        assert t.exposed_pods_per_year == pytest.approx(ref["exposed"][ti], abs=1e-9)
    # A pair is named once per level, under the first rule it breaks there.
    got = {
        (v.level, *sorted((names.index(v.tenant), names.index(v.other)))): (v.rule, v.shared)
        for v in s.violations
    }
    assert got == ref["violations"]
    assert len(s.violations) == len(got)


@PROPERTY
@given(scenarios())
def test_exposure_is_never_negative(case: tuple[Scenario, str]) -> None:
    _, s = _analysed(case)
    for t in s.tenants:
        assert t.incidents_per_year >= 0 and t.exposed_pods_per_year >= 0
        assert all(v >= 0 for v in t.by_escape.values())
        assert t.blast_tenants_mean >= 0 and t.blast_pods_mean >= 0
    for b in s.blast:
        assert b.tenants_exposed_mean >= 0 and b.pods_exposed_mean >= 0
        assert b.tenants_exposed_max >= 0
        assert all(0 <= v <= 100 + 1e-9 for v in b.class_exposed_percent.values())


@PROPERTY
@given(scenarios())
def test_a_tenant_alone_on_its_hosts_has_no_co_tenants_and_no_exposure(
    case: tuple[Scenario, str],
) -> None:
    kind = case[1]
    p, s = _analysed(case)
    hosts_of: dict[int, set[int]] = defaultdict(set)
    for ref, nodes, counts in zip(p.workloads, p.pod_nodes, p.pod_counts, strict=True):
        hosts_of[ref.tenant_index] |= set(p.nodes.host[nodes[counts > 0]].tolist())
    for ti, t in enumerate(s.tenants):
        others = set().union(*(h for o, h in hosts_of.items() if o != ti))
        if kind == "baremetal-dedicated":
            assert not hosts_of[ti] & others  # dedicated: always alone
        if not hosts_of[ti] & others:
            assert t.shares_kernel_with == [] and t.shares_host_with == []
            assert t.incidents_per_year == 0 and t.exposed_pods_per_year == 0
            assert t.blast_tenants_mean == 0 and t.blast_pods_mean == 0
            assert not any(
                v.level != "rack" and t.name in (v.tenant, v.other) for v in s.violations
            )
    if kind == "baremetal-dedicated":
        assert s.incidents_per_year == 0 and s.tenants_per_host_max <= 1


@PROPERTY
@given(scenarios())
def test_vm_tenants_never_share_a_kernel_sandboxed_pods_never_do(
    case: tuple[Scenario, str],
) -> None:
    sc, kind = case
    p, s = _analysed(case)
    placed = [int(c.sum()) for c in p.pod_counts]
    by_tenant = [0] * len(sc.tenants)
    for ref, n in zip(p.workloads, placed, strict=True):
        by_tenant[ref.tenant_index] += n
    if kind in ("vm", "sandboxed"):
        assert all(t.shares_kernel_with == [] for t in s.tenants)
        assert s.tenants_per_kernel_max <= 1
        assert all(e.kernels == 0 for e in s.edges)
        assert not any(v.level == "kernel" for v in s.violations)
        assert all(t.by_escape["container"] == 0 for t in s.tenants)
        assert all(b.tenants_exposed_mean == 0 for b in s.blast if b.escape == "container")
    if kind == "sandboxed":
        # One kernel per pod: as many kernels as pods placed, per tenant and in all.
        assert s.kernels == sum(placed)
        assert [t.kernels for t in s.tenants] == by_tenant


@PROPERTY
@given(scenarios())
def test_sharing_is_symmetric(case: tuple[Scenario, str]) -> None:
    _, s = _analysed(case)
    rows = {t.name: t for t in s.tenants}
    for t in s.tenants:
        assert t.name not in t.shares_kernel_with and t.name not in t.shares_host_with
        assert set(t.shares_kernel_with) <= set(t.shares_host_with)  # a kernel is on a host
        for o in t.shares_kernel_with:
            assert t.name in rows[o].shares_kernel_with
        for o in t.shares_host_with:
            assert t.name in rows[o].shares_host_with
    pairs = {frozenset((e.a, e.b)) for e in s.edges}
    assert len(pairs) == len(s.edges)
    assert pairs == {frozenset((t.name, o)) for t in s.tenants for o in t.shares_host_with}


@PROPERTY
@given(scenarios())
def test_same_inputs_same_output(case: tuple[Scenario, str]) -> None:
    sc, kind = case
    first = _analysed(case)[1]
    again = analyse_isolation(sc, load_defaults(), place(sc, kind, load_defaults()))
    assert again == first


@PROPERTY
@given(
    scenarios(),
    st.floats(0, 5),
    st.floats(0, 50),
    st.floats(0, 1),
    st.floats(0, 10),
    st.floats(0, 10),
)
def test_higher_exploit_rates_never_lower_exposure(
    case: tuple[Scenario, str],
    runtime: float,
    kernel: float,
    success: float,
    hyp: float,
    box: float,
) -> None:
    sc = case[0]
    p, low = _analysed(case)
    sec = D.security
    overrides = {
        "security": {
            "runtime_escapes_per_year": sec.runtime_escapes_per_year + runtime,
            "kernel_exploits_per_year": sec.kernel_exploits_per_year + kernel,
            "kernel_exploit_success_from_container": max(
                success, sec.kernel_exploit_success_from_container
            ),
        },
        "hypervisors": {
            h: {"escapes_per_year": v.escapes_per_year + hyp} for h, v in D.hypervisors.items()
        },
        "sandbox_runtimes": {
            r: {"escapes_per_year": v.escapes_per_year + box} for r, v in D.sandbox_runtimes.items()
        },
    }
    high = analyse_isolation(sc, load_defaults(overrides), p)  # rates do not move pods
    for a, b in zip(low.tenants, high.tenants, strict=True):
        assert b.incidents_per_year >= a.incidents_per_year - 1e-12
        assert b.exposed_pods_per_year >= a.exposed_pods_per_year - 1e-12
        for k, v in a.by_escape.items():
            assert b.by_escape[k] >= v - 1e-12
    for lo, hi in zip(low.blast, high.blast, strict=True):
        assert hi.per_year >= lo.per_year
    assert np.isclose(
        [t.blast_pods_mean for t in high.tenants], [t.blast_pods_mean for t in low.tenants]
    ).all()  # who is reached does not depend on how often
