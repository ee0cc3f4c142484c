"""The usage models as classes of one protocol, and how the sampler combines them.

Every ``usage.model`` a scenario may name has a class in ``USAGE_MODELS``; a pod's rows
come from its own model whatever other models share the chunk; the workload's bursts
multiply a constant or diurnal pod's CPU, never a trace pod's (its bursts are in the
trace).
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.model.loading import load_scenario
from underlay.model.scenario import Scenario
from underlay.model.workloads import Usage
from underlay.placement.substrates import flatten
from underlay.simulation.pods import pod_table
from underlay.simulation.usage import UsageSampler
from underlay.simulation.usage_models import USAGE_MODELS, UsageInputs, UsageModel

# Series a: 1 core then 3 cores, sampled every 10 min: on 10-minute steps the mean of
# each step is the trapezoid of its two ends, (1 + 3) / 2 = 2 cores, then (3 + 1) / 2
# (the trace wraps to its start) = 2 cores: 2000 millicores at every step.
TRACE = "series,time_s,cpu_cores,memory_mib\na,0,1,100\na,600,3,300\n"
BURSTS = {"burst_probability": 1.0, "burst_factor": 3.0, "burst_steps": 100}


def _scenario(tmp_path: Path, *workloads: dict[str, Any]) -> Scenario:
    (tmp_path / "usage.csv").write_text(TRACE, encoding="utf-8")
    data = scenario_dict(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")]},
        tenants=[make_tenant("t", workloads=list(workloads))],
        simulation={"horizon_hours": 1, "step_minutes": 10},
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_scenario(path)


def _usage(sc: Scenario) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    _, workloads = flatten(sc)
    sampler = UsageSampler(sc, workloads, pod_table(sc, workloads))
    return sampler.chunk(0, sc.simulation.steps)


def test_every_model_a_scenario_may_name_is_registered_under_its_name() -> None:
    names = typing.get_args(Usage.model_fields["model"].annotation)
    assert set(USAGE_MODELS) == set(names)
    for name, make in USAGE_MODELS.items():
        assert make.name == name  # each class names itself


def test_each_model_fits_the_protocol(tmp_path: Path) -> None:
    sc = _scenario(tmp_path, make_workload("w", usage={"model": "trace", "trace": "usage.csv"}))
    _, workloads = flatten(sc)
    inputs = UsageInputs(sc, workloads, pod_table(sc, workloads), 6, 600.0)
    for make in USAGE_MODELS.values():
        model: UsageModel = make(inputs)
        assert isinstance(model.bursts, bool) and isinstance(model.memory_varies, bool)


def test_bursts_multiply_constant_demand_but_not_a_trace(tmp_path: Path) -> None:
    # Bursting every step (probability 1, 100 steps long): the constant pod's 0.5 × 2
    # cores = 1000m becomes 3000m; the trace pod keeps its trace's 2000m (module note).
    sc = _scenario(
        tmp_path,
        make_workload("flat", cpu="2", usage={"model": "constant", "cpu": 0.5, **BURSTS}),
        make_workload("traced", cpu="2", usage={"model": "trace", "trace": "usage.csv", **BURSTS}),
    )
    cpu, mem = _usage(sc)
    np.testing.assert_allclose(cpu[0], 3000.0)
    np.testing.assert_allclose(cpu[1], 2000.0)
    # Memory varies when a trace is replayed: (100 + 300) / 2 = 200 MiB each step; the
    # constant pod keeps its level, 4Gi × the default memory level.
    np.testing.assert_allclose(mem[1], 200.0)
    assert mem.shape == cpu.shape and np.ptp(mem[0]) == 0


def test_a_pods_rows_do_not_depend_on_which_pods_are_asked_for_with_it(tmp_path: Path) -> None:
    # The engine asks for blocks of pods; a block may hold one model or several. Each
    # pod's rows must be the same whether asked for alone, with its own model's pods (the
    # whole-array path) or mixed with other models' pods, in any order.
    sc = _scenario(
        tmp_path,
        make_workload(
            "wavy",
            replicas=3,
            usage={"model": "diurnal", "cpu": 0.4, "amplitude": 0.2, "noise": 0.1, **BURSTS},
        ),
        make_workload("traced", usage={"model": "trace", "trace": "usage.csv"}),
        make_workload("flat", usage={"model": "constant", "cpu": 0.3, **BURSTS}),
    )
    _, workloads = flatten(sc)
    sampler = UsageSampler(sc, workloads, pod_table(sc, workloads))
    sampler.begin(0, sc.simulation.steps)
    every = np.arange(5, dtype=np.int64)
    whole_cpu, whole_mem = sampler.rows(every)
    for idx in ([0, 1, 2], [4, 0, 3], [3], [2, 4], [4, 3, 2, 1, 0]):
        pods = np.array(idx, np.int64)
        cpu, mem = sampler.rows(pods)
        np.testing.assert_array_equal(cpu, whole_cpu[pods])
        np.testing.assert_array_equal(mem, whole_mem[pods])
    np.testing.assert_allclose(whole_cpu[3], 2000.0)  # the trace's mean, no burst
    np.testing.assert_allclose(whole_cpu[4], 3 * 0.3 * 2000.0)  # level × burst factor
