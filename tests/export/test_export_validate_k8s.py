"""Every object the ``kubernetes`` and ``karpenter`` targets export for every substrate of
every bundled example validates: core kinds with ``kubernetes-validate`` for the
cluster's Kubernetes version, NodePools against Karpenter's CRD (read from
../shared/data/crds, skipped when absent)."""

from __future__ import annotations

import copy

import pytest

from export_k8s_cases import NODEPOOL_CRD, bundled_cases, bundled_input
from underlay.errors import ExportError
from underlay.export.karpenter import karpenter, karpenter_target
from underlay.export.kubernetes import kubernetes_target
from underlay.export.manifest import ExportInput, Manifest
from underlay.export.placed import placed_clusters
from underlay.export.validate_core import (
    crd_schema,
    schema_version,
    schema_versions,
    validate_core,
    validate_custom,
)

pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is in the dev extra")

CASES = bundled_cases()


def _exportable(name: str, label: str) -> ExportInput:
    inp = bundled_input(name, label)
    try:
        placed_clusters(inp)
    except ExportError:
        pytest.skip(f"{name} on {label}: the plan leaves pods unplaced (refused, tested apart)")
    return inp


@pytest.mark.parametrize("into", [None, "prod"])
@pytest.mark.parametrize(("name", "label"), CASES)
def test_core_objects_validate_for_the_cluster_s_version(
    name: str, label: str, into: str | None
) -> None:
    inp = _exportable(name, label)
    clusters = placed_clusters(inp)
    versions = {c.name: c.version for c in clusters}
    versions["prod"] = min(
        (c.version for c in clusters), key=lambda v: tuple(map(int, v.split(".")))
    )
    out = kubernetes_target(into=into)(inp)
    assert out
    problems = [validate_core(m, versions[m.file.split("/")[0]]) for m in out]
    assert [p for p in problems if p] == []


@pytest.mark.skipif(
    not NODEPOOL_CRD.exists(),
    reason=f"{NODEPOOL_CRD} absent (../shared/data is not in a user's clone)",
)
@pytest.mark.parametrize(("name", "label"), CASES)
def test_node_pools_validate_against_karpenter_s_crd(name: str, label: str) -> None:
    schema = crd_schema(NODEPOOL_CRD, "v1")
    out = karpenter(_exportable(name, label)) + karpenter_target(into="prod")(
        _exportable(name, label)
    )
    assert out
    assert [p for m in out for p in validate_custom(m, schema)] == []


def test_a_broken_object_is_caught_with_its_file_kind_name_and_field() -> None:
    quota = Manifest(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "q"},
            "spec": {"hard": {"pods": 3, "cpus": "1"}},
        },
        "c/quotas.yaml",
    )
    # pods: an integer is a valid quantity; the schema allows any key in `hard`
    assert validate_core(quota, "1.31") is None
    bad = copy.deepcopy(quota.body)
    bad["spec"]["hardd"] = bad["spec"].pop("hard")
    problem = validate_core(Manifest(bad, "c/quotas.yaml"), "1.31")
    assert problem is not None and problem.startswith("c/quotas.yaml: ResourceQuota/q: ")
    assert "hardd" in problem


@pytest.mark.skipif(not NODEPOOL_CRD.exists(), reason=f"{NODEPOOL_CRD} absent")
def test_a_broken_node_pool_is_caught() -> None:
    schema = crd_schema(NODEPOOL_CRD)
    body = {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "p"},
        "spec": {
            "template": {"spec": {"requirements": []}},
            "disruption": {"budgets": [{"nodes": "ten"}]},
        },
    }
    problems = validate_custom(Manifest(body, "c/nodepools.yaml"), schema)
    assert any("nodeClassRef" in p for p in problems)
    assert any("spec.disruption.budgets.0.nodes" in p for p in problems)


def test_a_version_the_package_lacks_maps_to_the_nearest_it_has() -> None:
    known = schema_versions()
    lo, hi = known[0], known[-1]
    assert schema_version(f"{lo[0]}.{lo[1]}") == (f"{lo[0]}.{lo[1]}", "")
    older, note = schema_version(f"1.{lo[1] - 3}")
    assert older == f"{lo[0]}.{lo[1]}" and "nearest" in note
    newer, note = schema_version(f"1.{hi[1] + 2}")
    assert newer == f"{hi[0]}.{hi[1]}" and f"1.{hi[1] + 2}" in note
    with pytest.raises(ExportError, match=r"MAJOR\.MINOR"):
        schema_version("latest")
