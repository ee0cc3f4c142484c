"""The placement registry is open: merge, plugin arguments, strategies, compare(registry=).

Issue 11 §1: a site adds its own plugins and strategies to the built-in ones, the scenario
file passes plugin arguments, and every name is checked against the registry.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from factories import make_batch, make_scenario, make_tenant, make_workload
from underlay.errors import ScenarioError
from underlay.pipeline import compare
from underlay.placement.engine import template_fit
from underlay.placement.framework import PodBatch, Profile, Registry, Unfit
from underlay.placement.plugins import default_registry
from underlay.placement.plugins.filters import NodeResourcesFit
from underlay.placement.pool import NodePool, NodeTemplate

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
HOST = NodeTemplate(cpu_milli=64_000, memory_mib=256 * 1024, pods=110)


class AtMostCores:
    """A site rule: no pod above 3 cores."""

    name = "SiteAtMostCores"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.pod_slots > 0 and batch.cpu_milli > 3_000

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        return np.zeros(pool.n, np.int64)

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        return Unfit("cpu_milli", batch.cpu_milli, 3_000, 3_000, "site rule")


class LastNodeFirst:
    name = "LastNodeFirst"

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        out: F64 = 100.0 * (nodes + 1) / max(pool.n, 1)
        return out


def _site() -> Registry:
    site = Registry()
    site.add_filter(AtMostCores())
    site.add_score(LastNodeFirst())
    site.add_profile(Profile("last-fit", {"LastNodeFirst": 1.0}))
    return site


def test_merge_holds_both_and_refuses_a_name_twice() -> None:
    merged = default_registry().merge(_site())
    assert [f.name for f in merged.filters()][-1] == "SiteAtMostCores"
    assert "LastNodeFirst" in merged.score_names()
    assert merged.profile_names()[-1] == "last-fit"
    assert merged.profile("last-fit").weights == {"LastNodeFirst": 1.0}
    # The built-in registry is left as it was.
    assert "last-fit" not in default_registry().profile_names()
    with pytest.raises(ValueError, match="'SiteAtMostCores' registered twice"):
        merged.merge(_site())


def test_profile_names_a_misspelt_strategy_or_weight() -> None:
    registry = default_registry()
    with pytest.raises(KeyError, match="did you mean 'best-fit'"):
        registry.profile("best-fitt")
    with pytest.raises(KeyError, match="did you mean 'MostAllocated'"):
        registry.profile("best-fit", {"MostAlocated": 1.0})
    assert registry.profile("best-fit", {"NodeOrder": 2.0}).weights == {
        "MostAllocated": 1.0,
        "NodeOrder": 2.0,
    }


def test_headroom_argument_holds_back_a_share_of_each_node() -> None:
    configured = default_registry().configure({"NodeResourcesFit": {"headroom_percent": 10}})
    # 64 cores less 10 % (6.4) = 57.6 usable → 14 pods of 4 cores; 16 without headroom.
    assert template_fit(HOST, make_batch(cpu_milli=4_000), configured.filters()) == (14, None)
    assert template_fit(HOST, make_batch(cpu_milli=4_000))[0] == 16
    # A VM on a host is not a pod: the host is not held back for it (8 VMs of 8 cores).
    vm = make_batch(cpu_milli=8_000, pod_slots=0)
    assert template_fit(HOST, vm, configured.filters())[0] == 64_000 // 8_000
    # A pod that fits only without the headroom names the plugin; the free CPU it shows
    # is what the headroom leaves (64,000 - 6,400).
    fit, why = template_fit(HOST, make_batch(cpu_milli=60_000), configured.filters())
    assert fit == 0 and why is not None
    assert (why.plugin, why.free, why.resolvable) == ("NodeResourcesFit", 57_600, False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"Nope": {"x": 1.0}}, "unknown plugin 'Nope'"),
        ({"PodSlots": {"x": 1.0}}, "takes no arguments"),
        ({"NodeResourcesFit": {"headroom": 1.0}}, "unknown argument 'headroom'"),
        ({"NodeResourcesFit": {"headroom_percent": -1.0}}, "must be 0 to 90"),
    ],
)
def test_configure_refuses_bad_arguments(args: dict[str, dict[str, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        default_registry().configure(args)


def _scenario(**placement: object) -> object:
    return make_scenario(
        substrates=[{"kind": "baremetal-shared"}],
        tenants=[
            make_tenant(
                workloads=[
                    make_workload("big", replicas=2, cpu="4", memory="1Gi"),
                    make_workload("small", replicas=40, cpu="2", memory="1Gi"),
                ]
            )
        ],
        placement=placement,
    )


def test_compare_with_a_merged_registry_obeys_the_site_filter() -> None:
    sc = _scenario()
    plain = compare(sc)  # type: ignore[arg-type]
    assert plain.substrates[0].pods_placed == 42
    ruled = compare(sc, registry=default_registry().merge(_site()))  # type: ignore[arg-type]
    (row,) = ruled.substrates[0].unplaced
    assert (row.workload, row.pods, row.plugin) == ("big", 2, "SiteAtMostCores")
    assert row.status == "UnschedulableAndUnresolvable"
    # A strategy of the merged registry, named through the API.
    own = compare(sc, strategy="last-fit", registry=default_registry().merge(_site()))  # type: ignore[arg-type]
    assert own.substrates[0].pods_placed == 40


def test_scenario_args_reach_the_placer() -> None:
    def scenario(**placement: object) -> object:
        workload = make_workload(replicas=200, cpu="2", memory="1Gi")
        return make_scenario(
            substrates=[{"kind": "baremetal-shared"}],
            tenants=[make_tenant(workloads=[workload])],
            placement=placement,
        )

    # 200 pods of 2 cores on 64-core hosts: a headroom of 50 % leaves at most 32 usable
    # cores a host, 16 pods, so at least ceil(200 / 16) = 13 worker hosts.
    plain = compare(scenario()).substrates[0]  # type: ignore[arg-type]
    held = compare(scenario(args={"NodeResourcesFit": {"headroom_percent": 50}})).substrates[0]  # type: ignore[arg-type]
    assert held.pods_placed == plain.pods_placed == 200
    assert held.hosts_worker >= -(-200 // 16) > plain.hosts_worker


def test_an_unknown_strategy_through_the_api_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'best-fit'"):
        compare(_scenario(), strategy="best-fitt")  # type: ignore[arg-type]
    assert isinstance(default_registry().filters()[0], NodeResourcesFit)


def test_the_models_vocabulary_is_the_built_in_registry() -> None:
    # The scenario model checks names against model/placement_names.py (it may not import
    # placement): those names must be exactly the built-in registry's.
    from underlay.model import placement_names as names

    registry = default_registry()
    assert list(names.STRATEGIES) == registry.profile_names()
    assert list(names.SCORE_PLUGINS) == registry.score_names()
    assert list(names.PLUGINS) == registry.plugin_names()
    plugins = {p.name: p for p in (*registry.filters(), *map(registry.score, names.SCORE_PLUGINS))}
    takes_args = sorted(n for n, p in plugins.items() if hasattr(p, "with_args"))
    assert takes_args == sorted(names.PLUGIN_ARGUMENTS)
