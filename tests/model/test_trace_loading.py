"""Trace files are read with the scenario, not mid-simulation: a bad trace or a series the
file lacks is refused by :func:`load_scenario`, before anything is placed, and the
simulation replays the series read then."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.errors import ScenarioError, TraceError
from underlay.model.loading import load_scenario, parse_scenario
from underlay.model.traces import scenario_traces
from underlay.pipeline import simulate

TRACE = "series,time_s,cpu_cores,memory_mib\na,0,1,100\na,300,3,200\nb,0,0.5,64\n"


def write_scenario(folder: Path, series: list[str], trace: str = TRACE) -> Path:
    """``folder``/scenario.yaml, one workload of 2 replicas replaying ``series`` of
    ``folder``/usage.csv (holding ``trace``)."""
    (folder / "usage.csv").write_text(trace, encoding="utf-8")
    usage = {"model": "trace", "trace": "usage.csv", "series": series}
    work = make_workload("w", replicas=2, cpu="4", memory="1Gi", usage=usage)
    data = scenario_dict(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")]},
        tenants=[make_tenant("t", control_plane="hosted", workloads=[work])],
        substrates=[{"kind": "baremetal-dedicated"}],
        simulation={"horizon_hours": 1, "step_minutes": 5},
    )
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip() == text)


def test_a_malformed_trace_is_refused_when_the_scenario_is_loaded(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, ["a"], trace="series,time_s,cpu_cores,memory_mib\na,0,x,1\n")
    with pytest.raises(TraceError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'usage.csv'}, line 2, column 'cpu_cores'"), message


def test_a_series_the_file_lacks_is_named_with_the_scenario_line(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, ["a", "nope"])
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    field = "tenants[0].workloads[0].usage.series[1]"
    expected = (
        f"{path}: line {line_of(path, '- nope')}: {field}: no series 'nope' in usage.csv "
        "(the file has 2 series, e.g. a, b)"
    )
    assert str(info.value) == expected


def test_the_simulation_replays_what_was_read_at_load(tmp_path: Path) -> None:
    sc = load_scenario(write_scenario(tmp_path, ["a", "b"]))
    (tmp_path / "usage.csv").unlink()  # read already: the simulation needs no file
    (result,) = simulate(sc).results
    # Series a: 1 then 3 cores, period 600 s (300 + one interval), wrapping 3 → 1: a lap's
    # mean is (2 + 2)/2 = 2 cores; series b: 0.5 cores. One replica each, one hour.
    assert result.tenants[0].demand_core_hours == pytest.approx(2.0 + 0.5, rel=1e-6)


def test_a_scenario_not_loaded_from_a_file_reads_its_traces_when_needed(
    tmp_path: Path,
) -> None:
    # parse_scenario without the scenario's folder reads no trace (it has no file to
    # resolve them from); the folder set later, they are read, and checked, when needed.
    text = write_scenario(tmp_path, ["a"]).read_text(encoding="utf-8")
    built = parse_scenario(text).with_base_dir(tmp_path)
    assert built.loaded_traces is None
    traces = scenario_traces(built)
    assert list(traces[(tmp_path / "usage.csv").resolve()]) == ["a", "b"]
    assert built.loaded_traces is traces  # read once

    text = write_scenario(tmp_path, ["a", "zz"]).read_text(encoding="utf-8")
    wrong = parse_scenario(text).with_base_dir(tmp_path)
    with pytest.raises(ScenarioError, match=r"usage\.series\[1\]: no series 'zz' in usage\.csv"):
        scenario_traces(wrong)
