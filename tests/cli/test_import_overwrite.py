"""No command overwrites its own input: every importer (and ``compare``) refuses an
output that is an input file — by the same path, through a symlink or a hard link —
or that lands in an input folder, before reading anything; the inputs stay intact."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factories import scenario_yaml
from underlay.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()


def _copy(tmp: Path, fmt: str) -> Path:
    """The fixtures of ``fmt`` copied to ``tmp/fmt`` (the inputs a command may harm)."""
    target = tmp / fmt
    shutil.copytree(FIXTURES / fmt, target)
    return target


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# Each case: (format, the args and the expected message given the inputs' folder, label).
Case = Callable[[Path], tuple[list[str], str]]
CASES: list[tuple[str, Case, str]] = [
    (
        "kubectl",
        lambda d: (
            ["import", "kubectl", "--nodes", f"{d}/nodes.json", "--pods", f"{d}/pods.json",
             "-o", f"{d}/pods.json"],
            "that is the --pods file itself",
        ),
        "same path",
    ),
    (
        "kubectl",
        lambda d: (
            ["import", "kubectl", "--nodes", f"{d}/nodes.json", "--pods", f"{d}/pods.json",
             "-o", f"{d}/../kubectl/./nodes.json"],
            f"that is the --nodes file ({d}/nodes.json)",
        ),
        "another spelling",
    ),
    (
        "openb",
        lambda d: (
            ["import", "openb", "--nodes", f"{d}/nodes.csv", "--pods", f"{d}/pods_long.csv",
             "-o", f"{d}/nodes.csv"],
            "that is the --nodes file itself",
        ),
        "same path",
    ),
    (
        "planetlab",
        lambda d: (
            ["import", "planetlab", f"{d}/day", "-o", f"{d}/day/vm-a"],
            f"that is in the input folder {d}/day, whose files are all read as input",
        ),
        "input file in the input folder",
    ),
    (
        "planetlab",
        lambda d: (
            ["import", "planetlab", f"{d}/day", "-o", f"{d}/day/new.yaml"],
            f"that is in the input folder {d}/day",
        ),
        "new file in the input folder",
    ),
    (
        "alibaba2018",
        lambda d: (
            ["import", "alibaba2018", "--usage", f"{d}/machine_usage.csv", "--meta",
             f"{d}/machine_meta.csv", "-o", f"{d}/machine_usage.csv"],
            "that is the --usage file itself",
        ),
        "same path",
    ),
    (
        "alibaba2018",
        lambda d: (
            ["import", "alibaba2018", "--usage", f"{d}/machine_usage.csv", "--meta",
             f"{d}/machine_meta.csv", "--containers", f"{d}/container_usage.csv",
             "--container-meta", f"{d}/container_meta.csv", "-o", f"{d}/container_meta.csv"],
            "that is the --container-meta file itself",
        ),
        "container table",
    ),
    (
        "bitbrains",
        lambda d: (
            ["import", "bitbrains", f"{d}/vm-a.csv", f"{d}/vm-b.csv", "-o", f"{d}/vm-b.csv"],
            "that is the input file itself",
        ),
        "same path",
    ),
    (
        "bitbrains",
        lambda d: (
            ["import", "bitbrains", str(d), "-o", f"{d}/scenario.yaml"],
            f"that is in the input folder {d}",
        ),
        "folder input",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "build"), [(c[0], c[1]) for c in CASES], ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_importer_refuses_to_overwrite_its_input(tmp_path: Path, fmt: str, build: Case) -> None:
    folder = _copy(tmp_path.resolve(), fmt)
    args, message = build(folder)
    before = _snapshot(tmp_path)
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: --output ")
    assert result.stderr.count("Error:") == 1 and message in result.stderr
    assert _snapshot(tmp_path) == before  # every input intact, nothing written


def test_symlinked_and_hard_linked_outputs_are_the_input(tmp_path: Path) -> None:
    folder = _copy(tmp_path.resolve(), "kubectl")
    link = tmp_path / "link.json"
    link.symlink_to(folder / "pods.json")
    hard = tmp_path / "hard.json"
    os.link(folder / "nodes.json", hard)
    before = _snapshot(folder)
    for output, flag in ((link, "--pods"), (hard, "--nodes")):
        result = runner.invoke(
            app,
            ["import", "kubectl", "--nodes", f"{folder}/nodes.json", "--pods",
             f"{folder}/pods.json", "-o", str(output)],
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert f"--output {output}: that is the {flag} file (" in result.stderr
    assert _snapshot(folder) == before
    assert link.is_symlink() and hard.read_bytes() == before[folder / "nodes.json"]


def test_trace_file_beside_the_output_may_not_be_an_input(tmp_path: Path) -> None:
    # -o usage.yaml writes usage.trace.csv beside it: that is the --usage file here.
    folder = _copy(tmp_path.resolve(), "alibaba2018")
    usage = folder / "usage.trace.csv"
    (folder / "machine_usage.csv").rename(usage)
    before = _snapshot(folder)
    result = runner.invoke(
        app,
        ["import", "alibaba2018", "--usage", str(usage), "--meta",
         f"{folder}/machine_meta.csv", "-o", f"{folder}/usage.yaml"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"--output {folder}/usage.yaml: its trace {usage}: that is the --usage file" in (
        result.stderr
    )
    assert _snapshot(folder) == before


def test_an_output_beside_the_inputs_is_fine(tmp_path: Path) -> None:
    folder = _copy(tmp_path.resolve(), "planetlab")
    out = folder / "planetlab.yaml"  # beside the day folder, not in it
    result = runner.invoke(app, ["import", "planetlab", f"{folder}/day", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and (folder / "planetlab.trace.csv").is_file()


def test_compare_refuses_to_overwrite_the_scenario_through_a_symlink(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(scenario_yaml(), encoding="utf-8")
    link = tmp_path / "report.txt"
    link.symlink_to(scenario)
    text = scenario.read_text()
    result = runner.invoke(app, ["compare", str(scenario), "--no-simulate", "-o", str(link)])
    assert result.exit_code == 2, result.output
    assert f"--output {link}: that is the scenario file ({scenario})" in result.stderr
    assert scenario.read_text() == text


def test_compare_refuses_to_overwrite_a_trace_the_scenario_reads(tmp_path: Path) -> None:
    folder = _copy(tmp_path.resolve(), "planetlab")
    out = folder / "planetlab.yaml"
    made = runner.invoke(app, ["import", "planetlab", f"{folder}/day", "-o", str(out)])
    assert made.exit_code == 0, made.output
    trace = folder / "planetlab.trace.csv"
    text = trace.read_text()
    for flag in ("--output", "--markdown", "--csv"):
        result = runner.invoke(app, ["compare", str(out), "--no-simulate", flag, str(trace)])
        assert result.exit_code == 2, result.output
        assert f"{flag} {trace}: that is the trace file itself" in result.stderr
        assert trace.read_text() == text
