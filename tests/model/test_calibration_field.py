"""A scenario's ``calibration: FILE``: its measured figures replace the cited defaults,
below the scenario's own ``overrides``; the file obeys the trace files' path rules; and
``underlay defaults --calibration FILE`` marks each replaced figure."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from factories import scenario_dict
from underlay.cli import app
from underlay.defaults.catalog import load_defaults, raw_defaults
from underlay.errors import CalibrationError, ScenarioError
from underlay.model.calibration import defaults_with_measured, scenario_overrides
from underlay.model.loading import load_scenario
from underlay.model.scenario import Scenario
from underlay.pipeline import compare

CALIBRATION = textwrap.dedent(
    """\
    calibration: 1
    host: worker-17
    measured_at: "2026-12-03T08:00:00Z"
    cores: 2
    cgroup: v1
    duration_s: 20
    figures:
      - default: interference.slowdown_at_full_load
        value: 0.07
        unit: share of work lost
        how: probe beside a memory-bandwidth hog
      - default: hypervisors.kvm.cpu_overhead_percent
        value: 3.5
      - default: hypervisors.kvm.network_latency_add_us
        value: null
        not_measured: /dev/kvm not usable
    """
)
CITED_K = raw_defaults()["interference"]["slowdown_at_full_load"]  # 0.1


def write(folder: Path, calibration: str = "cal.yaml", **overrides: object) -> Path:
    (folder / "cal.yaml").write_text(CALIBRATION)
    data = scenario_dict(calibration=calibration, **overrides)
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_measured_figures_replace_the_cited_ones(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    defaults = load_defaults(scenario_overrides(scenario))
    assert defaults.interference.slowdown_at_full_load == 0.07
    assert defaults.hypervisors["kvm"].cpu_overhead_percent == 3.5
    # not measured: the cited figure stays
    kvm_latency = raw_defaults()["hypervisors"]["kvm"]["network_latency_add_us"]
    assert defaults.hypervisors["kvm"].network_latency_add_us == kvm_latency
    assert scenario.measured is not None
    assert scenario.measured.note == "measured on worker-17 at 2026-12-03T08:00:00Z"
    assert compare(scenario, substrates=["vm"]).defaults.interference.slowdown_at_full_load == 0.07


def test_the_scenarios_overrides_win_over_a_measurement(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(tmp_path, overrides={"interference": {"slowdown_at_full_load": 0.2}})
    )
    defaults = load_defaults(scenario_overrides(scenario))
    assert defaults.interference.slowdown_at_full_load == 0.2
    assert defaults.hypervisors["kvm"].cpu_overhead_percent == 3.5  # still measured
    assert scenario.measured is not None
    used = [f.path for f in scenario.measured.in_effect(scenario.overrides)]
    assert used == ["hypervisors.kvm.cpu_overhead_percent"]


def test_a_calibration_outside_the_folder_needs_allow_paths(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "cal.yaml").write_text(CALIBRATION)
    path = inner / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(calibration="../cal.yaml")))
    with pytest.raises(
        ScenarioError, match=r"calibration: '\.\./cal\.yaml' is outside .*--allow-paths"
    ):
        load_scenario(path)
    scenario = load_scenario(path, allow_paths=True)
    assert load_defaults(scenario_overrides(scenario)).interference.slowdown_at_full_load == 0.07


def test_a_missing_calibration_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, calibration="nope.yaml")
    with pytest.raises(ScenarioError, match=r"calibration: no such calibration file 'nope\.yaml'"):
        load_scenario(path)


def test_a_bad_calibration_file_is_named_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path)
    (tmp_path / "cal.yaml").write_text(CALIBRATION.replace("value: 3.5", "value: 150"))
    with pytest.raises(CalibrationError, match=r"cal\.yaml: line 13: figures\[1\]\.value"):
        load_scenario(path)


def test_a_scenario_built_in_python_reads_its_calibration_when_needed(tmp_path: Path) -> None:
    (tmp_path / "cal.yaml").write_text(CALIBRATION)
    scenario = Scenario.model_validate(scenario_dict(calibration="cal.yaml"))
    scenario.with_base_dir(tmp_path)
    assert scenario.measured is None
    assert scenario_overrides(scenario)["interference"]["slowdown_at_full_load"] == 0.07


def test_without_calibration_nothing_changes() -> None:
    scenario = Scenario.model_validate(scenario_dict())
    assert scenario_overrides(scenario) == {}
    assert load_defaults(scenario_overrides(scenario)).interference.slowdown_at_full_load == CITED_K


runner = CliRunner()


def test_defaults_command_marks_each_measured_figure(tmp_path: Path) -> None:
    (tmp_path / "cal.yaml").write_text(CALIBRATION)
    result = runner.invoke(app, ["defaults", "--calibration", str(tmp_path / "cal.yaml"), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["interference"]["slowdown_at_full_load"] == 0.07
    assert data["interference"]["source"].startswith(
        "slowdown_at_full_load 0.07: measured on worker-17 at 2026-12-03T08:00:00Z"
    )
    assert data["measured"]["interference.slowdown_at_full_load"]["cited"] == CITED_K
    assert set(data["measured"]) == {
        "interference.slowdown_at_full_load",
        "hypervisors.kvm.cpu_overhead_percent",
    }
    text = runner.invoke(app, ["defaults", "--calibration", str(tmp_path / "cal.yaml")]).stdout
    assert "measured on worker-17 at 2026-12-03T08:00:00Z" in text


def test_defaults_command_refuses_a_bad_calibration(tmp_path: Path) -> None:
    (tmp_path / "cal.yaml").write_text(CALIBRATION.replace("cores: 2", "cores: -2"))
    result = runner.invoke(app, ["defaults", "--calibration", str(tmp_path / "cal.yaml")])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cal.yaml: line 4: cores:" in lines[0], result.stderr


def test_a_nested_figure_is_marked_in_the_nearest_cited_section() -> None:
    from underlay.model.measured import MeasuredDefault, MeasuredDefaults

    fig = MeasuredDefault("hypervisors.kvm.vm_memory_overhead.fixed_mib", 300.0, "MiB", "")
    data = defaults_with_measured(MeasuredDefaults("c.yaml", "h1", "2026-12-03", (fig,)))
    kvm = data["hypervisors"]["kvm"]
    assert kvm["vm_memory_overhead"]["fixed_mib"] == 300.0
    cited = raw_defaults()["hypervisors"]["kvm"]["vm_memory_overhead"]["fixed_mib"]
    assert kvm["source"].startswith(
        f"vm_memory_overhead.fixed_mib 300: measured on h1 at 2026-12-03; cited {cited:g}: "
    )
    assert kvm["source"].endswith(raw_defaults()["hypervisors"]["kvm"]["source"])
    assert raw_defaults()["hypervisors"]["kvm"]["vm_memory_overhead"]["fixed_mib"] == cited


def test_a_file_written_elsewhere_points_at_the_same_calibration(tmp_path: Path) -> None:
    # A plan or import written to another folder renames the calibration path from there.
    from underlay.model.traces import retarget_traces

    (tmp_path / "out").mkdir()
    data = {"name": "s", "calibration": "cal.yaml", "overrides": {}}
    outside = retarget_traces(data, tmp_path, tmp_path / "out")
    assert data["calibration"] == "../cal.yaml"
    assert outside  # the new file needs --allow-paths to read it
