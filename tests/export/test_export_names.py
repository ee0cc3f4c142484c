"""Object names: DNS labels, the same for the same input, apart for different inputs;
clusters of the export named once each."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from factories import make_scenario, make_tenant, make_workload
from underlay.defaults.catalog import load_defaults
from underlay.export.clusters import cluster_facts
from underlay.export.manifest import ExportInput
from underlay.export.names import DNS_LABEL, memory_quantity, object_name, semver
from underlay.pipeline import place

texts = st.text(min_size=1, max_size=80)


@given(texts)
@example("Team <Payments>")
@example("x" * 80)
@example("---")
def test_a_name_is_a_dns_label(text: str) -> None:
    assert DNS_LABEL.match(object_name(text))


@given(texts, texts)
@example("a_b", "a.b")
@example("A", "a")
def test_different_texts_keep_different_names(a: str, b: str) -> None:
    # case folds (Kubernetes names are lower case), every other difference shows
    if a.lower() != b.lower():
        assert object_name(a) != object_name(b)


def test_a_valid_name_is_kept() -> None:
    assert object_name("research") == "research"
    assert object_name("gpu", "metal") == "gpu-metal"


def test_quantities_and_versions() -> None:
    assert memory_quantity(126976) == "124Gi"  # 124 x 1024
    assert memory_quantity(3840) == "3840Mi"
    assert semver("1.33") == "v1.33.0"
    assert semver("1.33.4") == "v1.33.4"


def test_two_tenants_clusters_of_one_name_get_two_names() -> None:
    cluster = {"name": "prod", "workloads": [make_workload()]}
    sc = make_scenario(
        tenants=[make_tenant("t", clusters=[cluster]), make_tenant("u", clusters=[cluster])]
    )
    defaults = load_defaults()
    inp = ExportInput(sc, defaults, "vm", place(sc, defaults, "vm"))
    assert [f.name for f in cluster_facts(inp)] == ["t-prod", "u-prod"]
