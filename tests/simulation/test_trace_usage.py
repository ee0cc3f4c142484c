"""Trace-driven usage: a trace file in underlay's format (``series,time_s,cpu_cores,
memory_mib``) beside a scenario that replays it, loaded from disk; and bad traces through
``underlay simulate``: exit 2, one ``Error:`` line naming the file, no traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.cli import app
from underlay.model.loading import load_scenario
from underlay.pipeline import simulate

# Series a: 1, 2, 3, 2 cores at 0, 5, 10, 15 min; period 20 min (15 + one interval),
# wrapping 2 → 1. Mean over a lap: trapezoids (1.5 + 2.5 + 2.5 + 1.5)/4 = 2.0 cores.
# Series b: 0.5 cores at 0 and 10 min: 0.5 throughout.
TRACE = """series,time_s,cpu_cores,memory_mib
a,0,1,100
a,300,2,200
a,600,3,300
a,900,2,200
b,0,0.5,64
b,600,0.5,64
"""
HOURS = 1.0  # 12 five-minute steps = 3 laps of series a: its mean is exact


def trace_scenario(
    tmp_path: Path,
    *,
    trace: str = TRACE,
    usage: dict[str, Any] | None = None,
    substrates: list[dict[str, Any]] | None = None,
    replicas: int = 3,
    write_trace: bool = True,
) -> Path:
    if write_trace:
        (tmp_path / "usage.csv").write_text(trace, encoding="utf-8")
    work = make_workload(
        "w",
        replicas=replicas,
        cpu="4",
        memory="1Gi",
        usage=usage or {"model": "trace", "trace": "usage.csv", "series": ["a", "b"]},
    )
    data = scenario_dict(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")]},
        tenants=[make_tenant("t", control_plane="hosted", workloads=[work])],
        substrates=substrates or [{"kind": "baremetal-dedicated"}, {"kind": "vm"}],
        simulation={"horizon_hours": HOURS, "step_minutes": 5},
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_simulated_demand_is_the_traces_mean(tmp_path: Path) -> None:
    # Three replicas replay a, b, a (series cycled): 2.0 + 0.5 + 2.0 = 4.5 cores for an
    # hour on bare metal; inside a KVM VM the same work needs ÷ (1 − 2 %).
    sc = load_scenario(trace_scenario(tmp_path))
    sim = simulate(sc)
    bare, vm = sim.results
    (t,) = bare.tenants
    assert t.demand_core_hours == pytest.approx(4.5 * HOURS, rel=1e-6)
    assert t.granted_core_hours == pytest.approx(t.demand_core_hours, rel=1e-6)  # 2 ≤ 4 requested
    assert t.unmet_core_hours == 0 and t.throttled_core_hours == 0
    assert vm.tenants[0].demand_core_hours == pytest.approx(4.5 * HOURS / 0.98, rel=1e-6)


def test_trace_is_found_relative_to_the_scenario_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "deep" / "er"
    folder.mkdir(parents=True)
    path = trace_scenario(folder)
    monkeypatch.chdir(tmp_path)  # not the scenario's folder
    sim = simulate(load_scenario(Path("deep/er") / path.name))
    assert sim.results[0].tenants[0].demand_core_hours == pytest.approx(4.5 * HOURS, rel=1e-6)


def test_without_series_every_series_of_the_file_in_order(tmp_path: Path) -> None:
    # No `series:`: the file's series a, b, cycled over 2 replicas → 2.0 + 0.5.
    path = trace_scenario(tmp_path, usage={"model": "trace", "trace": "usage.csv"}, replicas=2)
    sim = simulate(load_scenario(path))
    assert sim.results[0].tenants[0].demand_core_hours == pytest.approx(2.5 * HOURS, rel=1e-6)


def test_a_trace_above_the_limit_is_throttled(tmp_path: Path) -> None:
    # Series a against a 2-core limit. The simulator sees step means 1.5, 2.5, 2.5, 1.5
    # (1→2, 2→3, 3→2, 2→1): above the limit by 0, 0.5, 0.5, 0 → 0.25 cores on average
    # throttled, 1.75 granted.
    trace = TRACE
    work = make_workload(
        "w",
        cpu="1",
        memory="1Gi",
        limits={"cpu": "2"},
        usage={"model": "trace", "trace": "usage.csv", "series": ["a"]},
    )
    (tmp_path / "usage.csv").write_text(trace, encoding="utf-8")
    data = scenario_dict(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")]},
        tenants=[make_tenant("t", control_plane="hosted", workloads=[work])],
        substrates=[{"kind": "baremetal-dedicated"}],
        simulation={"horizon_hours": HOURS, "step_minutes": 5},
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (t,) = simulate(load_scenario(path)).results[0].tenants
    assert t.throttled_core_hours == pytest.approx(0.25 * HOURS, rel=1e-6)
    assert t.granted_core_hours == pytest.approx(1.75 * HOURS, rel=1e-6)


# ------------------------------------------------------------------- bad traces, CLI

runner = CliRunner()


@pytest.mark.parametrize(
    ("trace", "usage", "needle"),
    [
        (
            "series,time_s,cpu_cores\na,0,1\n",
            None,
            "missing column",
        ),
        (
            "series,time_s,cpu_cores,memory_mib\na,0,lots,100\n",
            None,
            "not a number",
        ),
        (
            TRACE,
            {"model": "trace", "trace": "usage.csv", "series": ["a", "nope"]},
            "no series 'nope'",
        ),
    ],
    ids=["missing column", "non-numeric", "unknown series"],
)
def test_bad_trace_exits_2_with_one_error_line(
    tmp_path: Path, trace: str, usage: dict[str, Any] | None, needle: str
) -> None:
    path = trace_scenario(tmp_path, trace=trace, usage=usage)
    result = runner.invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2, result.output
    _one_error_naming(result.stdout, result.stderr, "usage.csv", needle)


def test_missing_trace_file_exits_2(tmp_path: Path) -> None:
    path = trace_scenario(tmp_path, write_trace=False)
    result = runner.invoke(app, ["simulate", str(path)])
    assert result.exit_code == 2, result.output
    _one_error_naming(result.stdout, result.stderr, "usage.csv", "no such trace file")


def test_good_trace_through_the_cli(tmp_path: Path) -> None:
    import json

    path = trace_scenario(tmp_path)
    result = runner.invoke(app, ["simulate", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "simulation" in data
    assert "Error" not in result.stderr


def _one_error_naming(stdout: str, stderr: str, file: str, needle: str) -> None:
    assert stdout == ""
    assert "Traceback" not in stdout + stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    (line,) = lines
    assert line.startswith("Error: ")
    assert file in line
    assert needle in line
