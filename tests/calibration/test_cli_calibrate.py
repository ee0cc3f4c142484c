"""``underlay calibrate`` end to end: a short run writes a calibration file underlay reads
back, prints the model beside each measurement, and refuses bad options in one line.
Only what holds on any machine is checked (the issue: never a timing threshold)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from underlay.calibration.container_tax import CONTAINER_CPU
from underlay.calibration.file import read_calibration
from underlay.cli.app import app
from underlay.cli.verbs_calibrate import parse_duration

runner = CliRunner()


def test_a_short_calibration_writes_a_file_underlay_reads(tmp_path: Path) -> None:
    out = tmp_path / "calibration.yaml"
    result = runner.invoke(app, ["calibrate", "--duration", "6s", "--output", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    back = read_calibration(out)
    assert back.host == data["host"] and back.cores == data["cores"] >= 1
    assert {f.default for f in back.figures} == {f["default"] for f in data["figures"]}
    # the KVM figure: measured or said why not, never silently the cited value
    kvm = next(f for f in data["figures"] if f["default"].startswith("hypervisors.kvm"))
    assert kvm["measured"] is not None or kvm["why_not"]
    # the container tax likewise, read from the CPU loop's paired rounds by the stated rule
    tax = next(f for f in data["figures"] if f["default"] == CONTAINER_CPU)
    cpu = next(o for o in data["overheads"] if o["bench"] == "cpu")
    rounds = zip(cpu["native_rounds"], cpu["container_rounds"], strict=False)  # none: no sandbox
    losses = [100 * (1 - c / n) for n, c in rounds]
    if losses and all(x > 0 for x in losses):
        assert tax["measured"] == pytest.approx(statistics.median(losses))
    else:
        assert tax["measured"] is None and tax["why_not"]
    # the probe's on-time requests are some of its requests
    for n in data["neighbours"]:
        assert 0 <= n["probe"]["on_time_requests"] <= n["probe"]["requests"]
    # every case the run measured is set beside the model's prediction
    cases = {n["case"] for n in data["neighbours"]} - {"alone"}
    assert cases and cases <= {c["experiment"] for c in data["comparisons"]}
    for c in data["comparisons"]:
        assert c["tolerance"] > 0
    hard = [n for n in data["neighbours"] if n["case"] == "hard-quota"]
    if hard:  # a quota caps the hog's CPU time at about quota × window (its cgroup's figure)
        n = hard[0]
        assert n["hog_cpu_seconds"] <= 1.5 * n["hog_quota_cores"] * n["duration_s"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "ten"], "--duration: write seconds or minutes, e.g. 20s or 2m"),
        (["--duration", "2s"], "--duration: from 5 s to 60 min"),
        (["--kernel", "/nonexistent/vmlinuz"], "--kernel /nonexistent/vmlinuz: no such file"),
        (["--output", "/nonexistent/dir/c.yaml"], "folder /nonexistent/dir does not exist"),
    ],
)
def test_bad_options_are_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["calibrate", *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_durations() -> None:
    assert parse_duration("20s") == 20 and parse_duration("2m") == 120
    assert parse_duration("90") == 90 and parse_duration("1.5min") == 90
