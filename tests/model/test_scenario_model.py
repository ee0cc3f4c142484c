"""The scenario models: derived properties and the checks that need more than one field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from factories import make_host_model, make_scenario, make_tenant, make_workload
from underlay.model.scenario import (
    GpuRequest,
    MaxPodsPolicy,
    Scenario,
    VmShape,
    Workload,
)


def _workload(**kw: object) -> Workload:
    return Workload.model_validate(make_workload(**kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requests", "limits", "qos"),
    [
        ({"cpu": "1", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"}, "guaranteed"),
        ({"cpu": "1", "memory": "1Gi"}, {"cpu": "2", "memory": "1Gi"}, "burstable"),
        ({"cpu": "1", "memory": "1Gi"}, None, "burstable"),
        ({"cpu": "0", "memory": "0Mi"}, None, "besteffort"),
    ],
)
def test_qos_class_is_derived(
    requests: dict[str, str], limits: dict[str, str] | None, qos: str
) -> None:
    data = {"name": "w", "replicas": 1, "requests": requests}
    if limits:
        data["limits"] = limits
    assert Workload.model_validate(data).qos_class == qos


def test_explicit_qos_wins() -> None:
    assert _workload(qos="guaranteed").qos_class == "guaranteed"


@pytest.mark.parametrize(
    ("policy", "cpu_milli", "limit"),
    [
        ({}, 128_000, 110),  # kubelet default
        ({"pod_cidr_prefix": 25}, 128_000, 64),  # default 110 capped: /25 = 128 addresses, half
        ({"per_node": 250, "pod_cidr_prefix": 23}, 128_000, 250),  # /23: 512 / 2 = 256
        ({"per_node": 500, "pod_cidr_prefix": 22}, 128_000, 500),
        ({"per_node": 250, "per_core": 10, "pod_cidr_prefix": 22}, 8_000, 80),  # 10 × 8
        ({"per_core": 10}, 500, 10),  # under one core counts as one
        ({"pod_cidr_prefix": 26}, 64_000, 32),  # /26: 64 / 2
    ],
)
def test_max_pods_policy(policy: dict[str, int], cpu_milli: int, limit: int) -> None:
    assert MaxPodsPolicy.model_validate(policy).limit(cpu_milli) == limit


def test_explicit_max_pods_beyond_the_pod_cidr_is_refused() -> None:
    # /24 = 256 addresses; max pods stays under half (128), so 250 needs a /23 (512 / 2 = 256).
    with pytest.raises(ValidationError, match="pod_cidr_prefix: 23"):
        MaxPodsPolicy.model_validate({"per_node": 250})


def test_gpu_request_fraction_takes_one_gpu() -> None:
    assert GpuRequest(count=1, fraction=0.25).gpu_milli == 250
    with pytest.raises(ValidationError, match="count: 1"):
        GpuRequest(count=2, fraction=0.5)


def test_workload_gpu_helpers() -> None:
    w = _workload(gpu={"count": 2})
    assert (w.gpu_count, w.gpu_milli) == (2, 1000)
    assert (_workload().gpu_count, _workload().gpu_milli) == (0, 0)


def test_vm_shape_gpus_whole_or_slice() -> None:
    assert VmShape(name="s", vcpus=4, memory="8Gi", gpus=0.5).gpus == 0.5
    assert VmShape(name="s", vcpus=4, memory="8Gi", gpus=2).gpus == 2
    with pytest.raises(ValidationError, match="not a mix"):
        VmShape(name="s", vcpus=4, memory="8Gi", gpus=1.5)


def test_host_model_physical_cores_and_gpu_count() -> None:
    sc = make_scenario(
        hardware={"host_models": [make_host_model(cores=128, gpus={"model": "a100", "count": 8})]}
    )
    host = sc.hardware.host_models[0]
    assert host.physical_cores == 64  # 128 threads / 2 per core
    assert host.gpu_count == 8


def test_host_needs_one_core_and_a_gibibyte() -> None:
    with pytest.raises(ValidationError, match="at least one core"):
        make_scenario(hardware={"host_models": [make_host_model(cores=0)]})
    with pytest.raises(ValidationError, match="at least 1Gi"):
        make_scenario(hardware={"host_models": [make_host_model(memory="512Mi")]})


def test_defaults_list_all_four_substrates() -> None:
    sc = make_scenario()
    assert [s.kind for s in sc.substrates] == [
        "baremetal-dedicated",
        "baremetal-shared",
        "vm",
        "sandboxed",
    ]


def test_sizing_model_defaults_to_the_first() -> None:
    hw = {"host_models": [make_host_model("a"), make_host_model("b")]}
    assert make_scenario(hardware=hw).hardware.sizing_model.name == "a"
    assert make_scenario(hardware={**hw, "size_with": "b"}).hardware.sizing_model.name == "b"
    with pytest.raises(ValidationError, match="size_with"):
        make_scenario(hardware={**hw, "size_with": "c"})


def test_duplicate_host_models_and_substrates_are_refused() -> None:
    with pytest.raises(ValidationError, match="appears twice"):
        make_scenario(hardware={"host_models": [make_host_model("a"), make_host_model("a")]})
    with pytest.raises(ValidationError, match="appears twice"):
        make_scenario(substrates=[{"kind": "vm"}, {"kind": "vm"}])


def test_scenario_is_frozen() -> None:
    sc = make_scenario()
    with pytest.raises(ValidationError):
        sc.name = "other"  # type: ignore[misc]


def test_scenario_round_trips_through_model_dump() -> None:
    sc = make_scenario(tenants=[make_tenant("a"), make_tenant("b", isolation="untrusted")])
    again = Scenario.model_validate(sc.model_dump(by_alias=True))
    assert again == sc


def test_quantities_are_stored_in_integer_units() -> None:
    # cores: 64 -> 64,000 millicores; memory: 256Gi -> 256 x 1024 MiB.
    sc = make_scenario()
    host = sc.hardware.host_models[0]
    assert (host.cpu_milli, host.memory_mib) == (64_000, 256 * 1024)


@pytest.mark.parametrize(
    ("last", "problem"),
    [
        (float("inf"), "should be a finite number"),
        (float("nan"), "should be a finite number"),
        (1e12, "is not a power draw"),
        (-1.0, "is not a power draw"),
    ],
)
def test_power_points_are_real_draws(last: float, problem: str) -> None:
    from underlay.model.scenario import PowerCurve

    with pytest.raises(ValueError, match=rf"points\.10(: |\n  ).*{problem}"):
        PowerCurve(points=[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, last])


def test_power_points_never_fall() -> None:
    from underlay.model.scenario import PowerCurve

    with pytest.raises(ValueError, match=r"points\.5: watts must not fall"):
        PowerCurve(points=[0, 10, 20, 30, 40, 35, 60, 70, 80, 90, 100])
    curve = PowerCurve(points=[50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150])
    assert curve.knots[3] == 80
