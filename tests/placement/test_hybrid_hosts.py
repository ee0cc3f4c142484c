"""Hybrid parts with host models of their own (``hosts:``), sized or from one inventory.

Host models: ``small`` = 16 cores, 64 GiB; ``big`` = 128 cores, 512 GiB; ``gpu`` = 64
cores, 512 GiB, 4 L4. GKE reservations and the five default DaemonSets (400m, 832 MiB,
5 pod slots), as in ``test_substrate_rules``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_hybrid import _same

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from properties import examples
from underlay.model.loading import load_scenario
from underlay.model.scenario import Hybrid, Scenario
from underlay.placement.result import SubstratePlacement

SMALL = make_host_model("small", cores=16, memory="64Gi")
BIG = make_host_model("big", cores=128, memory="512Gi")
GPU = make_host_model("gpu", cores=64, memory="512Gi", gpus={"model": "L4", "count": 4})
MODELS = [BIG, SMALL, GPU]
NAMES = [m["name"] for m in MODELS]
_KINDS = ["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]


def _edge_and_core(
    edge_hosts: list[str] | None, inventory: list[dict[str, Any]] | None = None
) -> Scenario:
    """Tenant ``plant`` on dedicated bare metal (part ``edge``), tenant ``core`` in VMs
    (part ``core``); ``big`` is the first host model, so the one bought by default."""
    edge: dict[str, Any] = {
        "name": "edge",
        "substrate": {"kind": "baremetal-dedicated"},
        "tenants": ["plant"],
    }
    if edge_hosts is not None:
        edge["hosts"] = edge_hosts
    hardware: dict[str, Any] = {"host_models": [BIG, SMALL], "topology": {"racks": 2}}
    if inventory is not None:
        hardware["inventory"] = inventory
    return make_scenario(
        hardware=hardware,
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    edge,
                    {"name": "core", "substrate": {"kind": "vm"}, "tenants": ["core"]},
                ],
            }
        ],
        tenants=[
            make_tenant(
                "plant",
                workloads=[
                    make_workload("line", replicas=10, cpu="4"),
                    make_workload("huge", replicas=1, cpu="32"),
                ],
            ),
            make_tenant("core", workloads=[make_workload("api", replicas=50, cpu="2")]),
        ],
    )


def _models_of(p: SubstratePlacement, part: int) -> set[str]:
    a, b = p.parts[part].hosts
    return {p.host_models[m] for m in p.hosts.model[a:b]}


def test_an_edge_part_on_small_hosts_by_hand() -> None:
    # A small node: 16000m - 110m GKE reservation (6 % of core 1, 1 % of core 2, 0.5 % of
    # cores 3-4, 0.25 % of the 12 others: 60 + 10 + 10 + 30) - 400m DaemonSets = 15490m.
    # The cluster's control plane is stacked (no control_plane_model): 2 vCPUs (kubeadm's
    # minimum, above the 1-vCPU row for <= 5 nodes) kept on 3 workers, 13490m left there;
    # 3 line pods of 4 cores (12000m) fit either, 4 (16000m) fit neither: ceil(10 / 3) = 4
    # small hosts. The 32-core pod fits no small node (15490m): unplaced, the reason naming
    # the part's models. Without hosts: the part buys big hosts (the first model) and
    # the 32-core pod fits.
    p = place(_edge_and_core(["small"]), "mixed")
    assert [q.name for q in p.parts] == ["edge", "core"]
    assert p.parts[0].hosts == (0, 4)
    assert _models_of(p, 0) == {"small"}
    assert p.placed.tolist() == [10, 0, 50]
    (u,) = p.unplaced
    assert (u.workload_index, u.pods) == (1, 1)
    assert u.reason.requested == 32000 and u.reason.capacity == 15490
    assert "part may use host models small only" in u.reason.describe()
    free = place(_edge_and_core(None), "mixed")
    assert _models_of(free, 0) == {"big"}
    assert free.placed.tolist() == [10, 1, 50] and not free.unplaced
    # the host model indices are the whole scenario's: small is model 1
    assert p.host_models == ["big", "small"]
    assert set(p.hosts.model[:4]) == {1}


def test_an_edge_part_takes_only_its_models_from_the_inventory() -> None:
    # Owned: 3 big, then 4 small. The edge part (first in the file) may use small only:
    # it takes the 4 small hosts it needs (as sized, above), not the big ones before them
    # in the file; the core part gets all 3 big hosts still left.
    inventory = [{"model": "big", "count": 3}, {"model": "small", "count": 4}]
    p = place(_edge_and_core(["small"], inventory), "mixed")
    assert _models_of(p, 0) == {"small"} and p.parts[0].hosts == (0, 4)
    assert _models_of(p, 1) <= {"big"}
    assert p.placed.tolist()[0] == 10
    # 2 small owned: the edge part opens those 2 and no big host; the rest is unplaced
    # ("inventory exhausted") with the part's models in the reason
    short = [{"model": "big", "count": 3}, {"model": "small", "count": 2}]
    q = place(_edge_and_core(["small"], short), "mixed")
    assert q.parts[0].hosts == (0, 2) and _models_of(q, 0) == {"small"}
    line = [u for u in q.unplaced if u.workload_index == 0]
    assert line and "part may use host models small only" in line[0].reason.describe()
    assert q.placed[0] + line[0].pods == 10


def test_a_control_plane_model_outside_the_parts_hosts_is_left_out_with_a_note() -> None:
    # control_plane_model big, the edge part on small only: its auto control plane runs
    # as without one (stacked on its small workers), and a note says so.
    sc = _edge_and_core(["small"])
    hw = sc.hardware.model_copy(update={"control_plane_model": "big"})
    p = place(sc.model_copy(update={"hardware": hw}), "mixed")
    assert _models_of(p, 0) == {"small"}
    assert any(
        n.startswith("part edge: hardware.control_plane_model big is not one of the part's")
        for n in p.notes
    )
    assert [c.mode for c in p.control_planes if c.cluster == 0] == ["stacked"]


def test_a_gpu_workload_in_a_part_without_gpu_hosts_is_unplaced() -> None:
    # The GPU part may use small only: no host with GPUs, so the L4 pods stay unplaced
    # (not an error), and no gpu host is opened.
    sc = make_scenario(
        hardware={"host_models": [SMALL, GPU]},
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {
                        "name": "metal",
                        "substrate": {"kind": "baremetal-dedicated"},
                        "gpu_workloads": True,
                        "hosts": ["small"],
                    },
                    {"name": "vms", "substrate": {"kind": "vm"}, "isolation": ["internal"]},
                ],
            }
        ],
        tenants=[
            make_tenant(
                "ml",
                workloads=[
                    make_workload("infer", replicas=2, cpu="2", gpu={"count": 1, "memory": "8Gi"}),
                    make_workload("ui", replicas=2, cpu="1"),
                ],
            )
        ],
    )
    p = place(sc, "mixed")
    assert p.placed.tolist() == [0, 2]
    (u,) = p.unplaced
    assert u.pods == 2 and "part may use host models small only" in u.reason.describe()
    assert "gpu" not in {p.host_models[m] for m in p.hosts.model}


# ------------------------------------------------------------------------ properties


@st.composite
def _restricted(draw: st.DrawFn) -> tuple[Scenario, list[list[str]], list[int] | None]:
    """Two or three parts, each of a drawn kind and a drawn set of host models, tenants
    split by name; the fleet sized, or drawn from an inventory of the three models."""
    n_parts = draw(st.integers(2, 3))
    allowed = [
        draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
        for _ in range(n_parts)
    ]
    tenants = []
    for ti in range(n_parts + 1):
        workloads = [
            make_workload(
                f"w{wi}",
                replicas=draw(st.integers(1, 25)),
                cpu=f"{draw(st.integers(100, 20000))}m",
                memory=f"{draw(st.integers(128, 32768))}Mi",
            )
            for wi in range(draw(st.integers(1, 2)))
        ]
        tenants.append(make_tenant(f"t{ti}", workloads=workloads))
    parts = [
        {
            "name": f"p{pi}",
            # one shared-cluster part at most: only the first may be one
            "substrate": {"kind": draw(st.sampled_from(_KINDS if pi == 0 else _KINDS[::2]))},
            "tenants": [f"t{pi}"] + ([f"t{n_parts}"] if pi == 0 else []),
            "hosts": allowed[pi],
        }
        for pi in range(n_parts)
    ]
    hardware: dict[str, Any] = {"host_models": MODELS}
    counts = None
    if draw(st.booleans()):
        counts = [draw(st.integers(0, 5)) for _ in MODELS]
        counts[0] = max(counts[0], 1)
        hardware["inventory"] = [
            {"model": name, "count": n} for name, n in zip(NAMES, counts, strict=True) if n
        ]
    sc = make_scenario(
        hardware=hardware,
        substrates=[{"kind": "hybrid", "name": "mixed", "parts": parts}],
        tenants=tenants,
    )
    return sc, allowed, counts


@settings(max_examples=examples(20), deadline=None)
@given(_restricted())
def test_a_part_never_opens_a_host_of_a_model_it_may_not_use(
    case: tuple[Scenario, list[list[str]], list[int] | None],
) -> None:
    sc, allowed, counts = case
    p = place(sc, "mixed")
    for q in p.parts:
        assert _models_of(p, int(q.name[1:])) <= set(allowed[int(q.name[1:])]), q.name
    # every pod is placed or unplaced, once
    wanted = [w.workload.replicas for w in p.workloads]
    missing = np.zeros(len(wanted), np.int64)
    for u in p.unplaced:
        missing[u.workload_index] += u.pods
    assert (p.placed + missing).tolist() == wanted
    if counts is not None:  # one inventory, never double-counted
        opened = np.bincount(np.array(p.hosts.model, np.int64), minlength=len(MODELS))
        assert (opened <= np.array(counts)).all()
        spans = sorted(q.hosts for q in p.parts)
        assert [a for a, _ in spans] == [0] + [b for _, b in spans[:-1]]
        assert spans[-1][1] == len(p.hosts)


def _with_hosts(sc: Scenario, hosts: list[str]) -> Scenario:
    """``sc`` with every part of its hybrid given ``hosts``."""
    hybrid = sc.substrates[0]
    assert isinstance(hybrid, Hybrid)
    parts = [part.model_copy(update={"hosts": hosts}) for part in hybrid.parts]
    return sc.model_copy(update={"substrates": [hybrid.model_copy(update={"parts": parts})]})


@settings(max_examples=examples(15), deadline=None)
@given(_restricted(), st.permutations(NAMES))
def test_parts_that_allow_every_model_place_as_before(
    case: tuple[Scenario, list[list[str]], list[int] | None], order: list[str]
) -> None:
    # hosts naming every model (in any order) is the same as no hosts: bit for bit
    sc, _, _ = case
    a = place(_with_hosts(sc, []), "mixed")
    b = place(_with_hosts(sc, order), "mixed")
    _same(a, b)
    assert a.parts == b.parts and a.notes == b.notes and a.host_models == b.host_models


@settings(max_examples=examples(15), deadline=None)
@given(
    st.sampled_from(_KINDS),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True),
    st.integers(1, 40),
    st.integers(500, 40000),
)
@example("baremetal-dedicated", ["small"], 10, 4000)
def test_a_restricted_part_places_as_its_substrate_on_only_those_models(
    kind: str, allowed: list[str], replicas: int, cpu: int
) -> None:
    # One part holding every tenant, restricted to some models, places as the pure
    # substrate on a scenario whose hardware has only those models (in file order, the
    # part's first model bought when the file's first is not allowed), the host rows
    # naming the same models.
    tenants = [make_tenant("t", workloads=[make_workload("w", replicas=replicas, cpu=f"{cpu}m")])]
    kept = [m for m in MODELS if m["name"] in allowed]
    size_with = "big" if "big" in allowed else allowed[0]
    pure = make_scenario(
        hardware={"host_models": kept, "size_with": size_with},
        substrates=[{"kind": kind}],
        tenants=tenants,
    )
    hybrid = make_scenario(
        hardware={"host_models": MODELS},
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {"name": "all", "substrate": {"kind": kind}, "tenants": ["t"], "hosts": allowed}
                ],
            }
        ],
        tenants=tenants,
    )
    a, b = place(pure, kind), place(hybrid, "mixed")
    assert [a.host_models[m] for m in a.hosts.model] == [b.host_models[m] for m in b.hosts.model]
    assert a.placed.tolist() == b.placed.tolist()
    assert [x.tolist() for x in a.pod_nodes] == [x.tolist() for x in b.pod_nodes]
    for name in a.nodes.__dataclass_fields__:
        assert np.array_equal(getattr(a.nodes, name), getattr(b.nodes, name)), name
    assert [u.pods for u in a.unplaced] == [u.pods for u in b.unplaced]


@pytest.mark.parametrize(
    ("hosts", "fragment"),
    [
        (["smal"], "parts.0.hosts.0: no host model is called 'smal'; did you mean 'small'?"),
        (["small", "small"], "parts.0.hosts.1: host model 'small' is named twice"),
    ],
)
def test_a_part_naming_a_bad_host_model_is_an_error(hosts: list[str], fragment: str) -> None:
    # (the loader turns the dotted path into substrates[0].parts[0].hosts[0] and a line:
    # tests/bad_inputs/scenario/substrates-hybrid-unknown-host-model.yaml)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        _edge_and_core(hosts)


# ------------------------------------------------------------------- the edge example

EDGE = Path(__file__).resolve().parents[2] / "examples" / "edge-platform.yaml"


def test_the_edge_example_keeps_sites_on_small_hosts_and_the_core_on_large_ones() -> None:
    # examples/edge-platform.yaml: 6 core-2u and 9 edge-1u owned. Each site (2 + 3 + 1
    # pods) fits its own three 24-thread boxes; in both hybrids every site part opens
    # edge-1u hosts only (3 per site: plc-gateway and vision-inspect keep one pod per
    # host), the core part core-2u only, and every pod is placed. The pure vm column,
    # with no hosts: to keep it apart, puts the sites' VMs on the large hosts too.
    sc = load_scenario(EDGE)
    for label in ("edge-metal-core-vms", "vms-everywhere"):
        p = place(sc, label)
        assert not p.unplaced, label
        for i, q in enumerate(p.parts):
            want = {"core-2u"} if q.name == "core" else {"edge-1u"}
            assert _models_of(p, i) == want, (label, q.name)
        site_hosts = sum(q.hosts[1] - q.hosts[0] for q in p.parts if q.name != "core")
        assert site_hosts == 9, label
    pure = place(sc, "vm")
    assert {pure.host_models[m] for m in pure.hosts.model} == {"core-2u"}
