"""Lifecycle of a tenant split by ``gpu_workloads``: half in the shared cluster, half
(its GPU workload) in a dedicated bare-metal part."""

from __future__ import annotations

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from underlay.analysis.capacity import analyse_capacity
from underlay.analysis.lifecycle import analyse_lifecycle
from underlay.defaults.catalog import load_defaults

A100 = make_host_model("a100", cores=128, memory="1Ti", gpus={"model": "A100-80GB", "count": 8})
TRAIN = make_workload("train", cpu="8", memory="32Gi", gpu={"count": 8, "models": ["A100-80GB"]})


def test_the_gpu_half_upgrades_as_a_cluster_of_its_own() -> None:
    # ml runs 1.31 on a 6-month cadence; its api pods are in the shared cluster (1.33,
    # which upgrades on its tenants' shortest cadence: 6 months), its train pod on
    # dedicated bare metal. Over the default horizon both clusters upgrade: the shared
    # one (with ml) and ml's own GPU half (labelled tenant/cluster, "ml/ml").
    sc = make_scenario(
        hardware={"host_models": [make_host_model("std"), A100]},
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {
                        "name": "shared",
                        "substrate": {"kind": "baremetal-shared", "kubernetes_version": "1.33"},
                        "tenants": ["ml"],
                    },
                    {
                        "name": "metal",
                        "substrate": {"kind": "baremetal-dedicated"},
                        "gpu_workloads": True,
                    },
                ],
            }
        ],
        tenants=[
            make_tenant(
                "ml",
                kubernetes_version="1.31",
                upgrade_cadence_months=6,
                workloads=[TRAIN, make_workload("api", replicas=2, cpu="1", memory="1Gi")],
            )
        ],
    )
    p = place(sc, "mixed")
    assert [(q.name, q.workloads) for q in p.parts] == [("shared", (1,)), ("metal", (0,))]
    life = analyse_lifecycle(sc, load_defaults(), p)
    assert {(e.cluster, tuple(e.tenants)) for e in life.events} == {
        ("shared", ("ml",)),
        ("ml/ml", ("ml",)),
    }


def test_capacity_judges_a_split_tenant_by_both_its_parts() -> None:
    # The GPU part comes first in the file, so ml's first part is dedicated bare metal;
    # its api pods still run in the shared cluster (1.33) on one host beside web's: its
    # row says it runs 1.33 and shares a kernel with web (on the shared part's hosts only).
    sc = make_scenario(
        hardware={"host_models": [make_host_model("std"), A100]},
        substrates=[
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {
                        "name": "metal",
                        "substrate": {"kind": "baremetal-dedicated"},
                        "gpu_workloads": True,
                    },
                    {
                        "name": "shared",
                        "substrate": {"kind": "baremetal-shared", "kubernetes_version": "1.33"},
                        "tenants": ["ml", "web"],
                    },
                ],
            }
        ],
        tenants=[
            make_tenant(
                "ml",
                kubernetes_version="1.31",
                workloads=[TRAIN, make_workload("api", replicas=2, cpu="1", memory="1Gi")],
            ),
            make_tenant(
                "web",
                kubernetes_version="1.31",
                workloads=[make_workload("site", replicas=2, cpu="1", memory="1Gi")],
            ),
        ],
    )
    p = place(sc, "mixed")
    assert p.tenant_kinds(0) == ["baremetal-dedicated", "baremetal-shared"]
    rows = {t.name: t for t in analyse_capacity(sc, load_defaults(), p).tenants}
    assert rows["ml"].running_version == rows["web"].running_version == "1.33"
    assert rows["ml"].shares_kernel_with == ["web"]
    assert rows["web"].shares_kernel_with == ["ml"]
