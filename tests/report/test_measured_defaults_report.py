"""The reports mark the defaults a scenario's calibration file replaced: a table in the
terminal and the documents, ``measured_defaults`` in the JSON; nothing without one."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import yaml
from typer.testing import CliRunner

from factories import scenario_dict
from underlay.cli import app

CALIBRATION = textwrap.dedent(
    """\
    calibration: 1
    host: lab-7
    measured_at: "2026-12-03T08:00:00Z"
    cores: 2
    cgroup: v1
    duration_s: 20
    figures:
      - default: interference.slowdown_at_full_load
        value: 0.07
        unit: share of work lost
      - default: hypervisors.kvm.cpu_overhead_percent
        value: 3.5
        unit: "%"
    """
)
runner = CliRunner()
FAST = ["--no-simulate", "--no-analyse", "--substrate", "baremetal-shared"]


def scenario(folder: Path, **overrides: object) -> Path:
    (folder / "cal.yaml").write_text(CALIBRATION)
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(calibration="cal.yaml", **overrides)))
    return path


def test_json_lists_the_measured_defaults_in_use(tmp_path: Path) -> None:
    # the scenario's own override of k wins: only the KVM figure is in use
    path = scenario(tmp_path, overrides={"interference": {"slowdown_at_full_load": 0.3}})
    result = runner.invoke(app, ["compare", str(path), "--json", *FAST])
    assert result.exit_code == 0, result.stderr
    (entry,) = json.loads(result.stdout)["measured_defaults"]
    assert entry["default"] == "hypervisors.kvm.cpu_overhead_percent"
    assert (entry["value"], entry["cited"]) == (3.5, 2.0)  # defaults.yaml kvm: 2.0
    assert (entry["host"], entry["measured_at"]) == ("lab-7", "2026-12-03T08:00:00Z")


def test_terminal_and_markdown_show_the_table(tmp_path: Path) -> None:
    path = scenario(tmp_path)
    md = tmp_path / "r.md"
    result = runner.invoke(
        app, ["compare", str(path), "--markdown", str(md), "--width", "200", *FAST]
    )
    assert result.exit_code == 0, result.stderr
    for text in (result.stdout, md.read_text().replace("\\_", "_")):  # Markdown escapes _
        assert "Measured defaults in use" in text
        assert "interference.slowdown_at_full_load" in text
        assert "measured on lab-7 at 2026-12-03T08:00:00Z" in text


def test_html_shows_the_table(tmp_path: Path) -> None:
    path = scenario(tmp_path)
    html = tmp_path / "r.html"
    result = runner.invoke(app, ["compare", str(path), "--report", str(html), *FAST])
    assert result.exit_code == 0, result.stderr
    text = html.read_text()
    assert "Measured defaults in use" in text
    assert "measured on lab-7 at 2026-12-03T08:00:00Z" in text


def test_no_calibration_no_table(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_dict()))
    result = runner.invoke(app, ["compare", str(path), "--json", *FAST])
    assert result.exit_code == 0, result.stderr
    assert "measured_defaults" not in json.loads(result.stdout)
