"""A hybrid part naming workloads (``tenant/cluster/workload``): the split the optimiser's
per-workload plans write. The scenario is test_hybrid_gpu's (tenant ml: ``train`` on 4
a100 hosts, ``api`` in VMs), so a split by name must place exactly as the split by GPU."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_hybrid_gpu import A100, API, STD, TRAIN, VMS, _split

from factories import make_scenario, make_tenant, place
from underlay.model.scenario import Scenario
from underlay.placement.substrates.hybrid import part_scenarios


def _named(metal: list[str], vms: dict[str, Any] | None = None, **extra: Any) -> Scenario:
    parts = [
        {"name": "metal", "substrate": {"kind": "baremetal-dedicated"}, "workloads": metal},
        {"name": "vms", "substrate": VMS, **(vms if vms is not None else {"tenants": ["ml"]})},
    ]
    return make_scenario(
        hardware={"host_models": [STD, A100], "topology": {"racks": 4}},
        substrates=[{"kind": "hybrid", "name": "mixed", "parts": parts}],
        tenants=[make_tenant("ml", control_plane="dedicated", workloads=[TRAIN, API])],
        **extra,
    )


def test_a_split_by_name_places_as_the_split_by_gpu() -> None:
    by_name, by_gpu = place(_named(["ml/ml/train"]), "mixed"), place(_split(), "mixed")
    assert [(q.name, q.tenants, q.workloads, q.hosts) for q in by_name.parts] == [
        (q.name, q.tenants, q.workloads, q.hosts) for q in by_gpu.parts
    ]
    assert by_name.hosts.model == by_gpu.hosts.model
    assert np.array_equal(by_name.nodes.host, by_gpu.nodes.host)
    assert by_name.placed.tolist() == [4, 400]


def test_a_named_workload_wins_over_the_gpu_part() -> None:
    # vms takes the GPU workloads, but metal names train: train goes to metal
    sc = _named(["ml/ml/train"], {"tenants": ["ml"], "gpu_workloads": True})
    cuts = part_scenarios(sc, sc.substrates[0])  # type: ignore[arg-type]
    assert [c.workloads for c in cuts] == [[0], [1]]


def test_a_tenant_whose_workloads_are_all_named_needs_no_part() -> None:
    sc = _named(["ml/ml/train"], {"workloads": ["ml/ml/api"]})
    cuts = part_scenarios(sc, sc.substrates[0])  # type: ignore[arg-type]
    assert [c.workloads for c in cuts] == [[0], [1]]


@pytest.mark.parametrize(
    ("metal", "vms", "match"),
    [
        (
            ["ml/ml/trian"],
            None,
            r"parts\.0\.workloads\.0.*no workload is called 'ml/ml/trian'; "
            r"did you mean 'ml/ml/train'",
        ),
        (
            ["ml/ml/train"],
            {"tenants": ["ml"], "workloads": ["ml/ml/train"]},
            r"parts\.1\.workloads\.0.*'ml/ml/train' is already in part 'metal'",
        ),
        (["ml/ml/train"], {"workloads": []}, r"workload 'api' of tenant 'ml' .* is in no part"),
    ],
)
def test_bad_workload_names_are_refused(
    metal: list[str], vms: dict[str, Any] | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        _named(metal, vms)
