"""Loading a scenario through the CLI, end to end: trace paths and ``--allow-paths`` on
every command that loads one, out-of-range numeric options, and the GPU placement crash
of issue 10 — each an exit code and one exact ``Error:`` line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from factories import make_host_model, make_tenant, make_workload, scenario_dict, scenario_yaml
from underlay.cli import app
from underlay.model.scenario import MAX_SEED

runner = CliRunner()
COMMANDS = ["compare", "simulate", "analyse", "recommend"]
SECRET = "root:x:0:0:SECRET-FIRST-LINE:/root:/bin/bash"


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def one_error(stdout: str, stderr: str) -> str:
    """The one ``Error:`` line of a refused run (nothing on stdout, no traceback)."""
    assert stdout == ""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in stderr
    return lines[0]


def traced_scenario(folder: Path, trace: str) -> Path:
    usage = {"model": "trace", "trace": trace}
    work = make_workload("w", replicas=1, cpu="1", memory="1Gi", usage=usage)
    data = scenario_dict(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")]},
        tenants=[make_tenant("t", control_plane="hosted", workloads=[work])],
        substrates=[{"kind": "baremetal-shared"}],
        simulation={"horizon_hours": 1, "step_minutes": 5},
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the project that is not a trace (think /etc/passwd)."""
    path = tmp_path / "etc" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET + "\ndaemon:x:1:1::/:/bin/false\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_a_trace_outside_the_folder_is_refused_at_its_line(
    tmp_path: Path, secret: Path, command: str
) -> None:
    path = traced_scenario(tmp_path / "project", "../etc/passwd")
    code, stdout, stderr = invoke(command, path)
    assert code == 2
    folder = (tmp_path / "project").resolve()
    assert one_error(stdout, stderr) == (
        f"Error: {path}: line {line_of(path, 'trace:')}: tenants[0].workloads[0].usage.trace: "
        f"'../etc/passwd' is outside the scenario's folder {folder}; a trace must be in that "
        "folder or below it (pass --allow-paths to read it anyway)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_allow_paths_reaches_the_loader_on_every_command(tmp_path: Path, command: str) -> None:
    # Allowed, the path outside is looked for: it does not exist, which is the next error.
    path = traced_scenario(tmp_path / "project", "../elsewhere/usage.csv")
    code, stdout, stderr = invoke(command, path, "--allow-paths")
    assert code == 2
    looked = (tmp_path / "elsewhere" / "usage.csv").resolve()
    assert one_error(stdout, stderr).endswith(
        f"no such trace file '../elsewhere/usage.csv' (looked for {looked})"
    )


def test_allowed_file_that_is_not_a_trace_is_never_quoted(tmp_path: Path, secret: Path) -> None:
    path = traced_scenario(tmp_path / "project", str(secret))
    code, stdout, stderr = invoke("simulate", path, "--allow-paths")
    assert code == 2
    message = one_error(stdout, stderr)
    assert message.startswith(f"Error: {secret}, line 1: missing column(s) 'series', ")
    assert "SECRET" not in stdout + stderr and "root:" not in stdout + stderr


def test_an_allowed_trace_outside_is_replayed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    trace = "series,time_s,cpu_cores,memory_mib\na,0,0.5,100\n"
    (tmp_path / "elsewhere" / "usage.csv").write_text(trace, encoding="utf-8")
    path = traced_scenario(tmp_path / "project", "../elsewhere/usage.csv")
    code, stdout, stderr = invoke("simulate", path, "--allow-paths", "--json")
    assert code == 0, stderr
    (substrate,) = json.loads(stdout)["substrates"]
    # 0.5 cores replayed for the 1-hour horizon
    (tenant,) = substrate["simulation"]["tenants"]
    assert tenant["cpu_core_hours"]["demand"] == pytest.approx(0.5)


def test_a_missing_trace_names_both_files(tmp_path: Path) -> None:
    path = traced_scenario(tmp_path / "project", "usage.csv")
    code, stdout, stderr = invoke("simulate", path)
    assert code == 2
    looked = (tmp_path / "project" / "usage.csv").resolve()
    assert one_error(stdout, stderr) == (
        f"Error: {path}: line {line_of(path, 'trace:')}: tenants[0].workloads[0].usage.trace: "
        f"no such trace file 'usage.csv' (looked for {looked})"
    )


# ------------------------------------------------------------------ numeric options


@pytest.mark.parametrize(
    ("command", "option", "value", "message"),
    [
        (
            "compare",
            "--seed",
            "-1",
            f"--seed: must be from 0 to {MAX_SEED:,} (as in the scenario), got -1",
        ),
        (
            "simulate",
            "--seed",
            "-7",
            f"--seed: must be from 0 to {MAX_SEED:,} (as in the scenario), got -7",
        ),
        (
            "analyse",
            "--seed",
            "-1",
            f"--seed: must be from 0 to {MAX_SEED:,} (as in the scenario), got -1",
        ),
        (
            "recommend",
            "--seed",
            "-1",
            f"--seed: must be from 0 to {MAX_SEED:,} (as in the scenario), got -1",
        ),
        ("compare", "--trials", "0", "--trials: must be from 1 to 100,000, got 0"),
        ("analyse", "--trials", "100001", "--trials: must be from 1 to 100,000, got 100001"),
        ("recommend", "--trials", "-5", "--trials: must be from 1 to 100,000, got -5"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(
    write_yaml: object, tmp_path: Path, command: str, option: str, value: str, message: str
) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario_yaml(), encoding="utf-8")
    code, stdout, stderr = invoke(command, path, option, value)
    assert code == 2
    assert one_error(stdout, stderr) == f"Error: {message}"


def test_options_are_checked_before_the_file_is_read(tmp_path: Path) -> None:
    code, stdout, stderr = invoke("compare", tmp_path / "missing.yaml", "--seed", "-1")
    assert code == 2
    assert one_error(stdout, stderr) == (
        f"Error: --seed: must be from 0 to {MAX_SEED:,} (as in the scenario), got -1"
    )


def test_seeds_from_zero_to_the_scenarios_largest_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario_yaml(simulation={"horizon_hours": 1}), encoding="utf-8")
    for seed in ("0", str(2**63 - 1)):  # simulation.seed's range: a signed 64-bit integer
        code, _, stderr = invoke("simulate", path, "--seed", seed, "--json")
        assert code == 0, stderr
    code, stdout, stderr = invoke("simulate", path, "--seed", str(2**63))
    assert code == 2
    assert one_error(stdout, stderr).endswith(f"got {2**63}")


# -------------------------------------------------------- the GPU crash of issue 10


def test_gpu_fragmentation_with_a_pinned_and_an_unpinned_workload_on_vms(tmp_path: Path) -> None:
    # Two GPU host models, one workload pinned to the second model beside one that may
    # use either, VMs, strategy gpu-fragmentation: an IndexError in the VM-onto-host
    # placer once (issue 10); now every pod is placed, the pinned ones on A100 hosts.
    text = scenario_yaml(
        hardware={
            "host_models": [
                make_host_model(
                    "l4-host", cores=32, memory="256Gi", gpus={"model": "L4", "count": 4}
                ),
                make_host_model(
                    "a100-host", cores=64, memory="512Gi", gpus={"model": "A100", "count": 8}
                ),
            ]
        },
        substrates=[{"kind": "vm"}],
        placement={"strategy": "gpu-fragmentation"},
        tenants=[
            make_tenant(
                "ml",
                control_plane="hosted",
                workloads=[
                    make_workload("free", replicas=3, cpu="4", memory="16Gi", gpu={"count": 1}),
                    make_workload(
                        "pinned",
                        replicas=3,
                        cpu="4",
                        memory="16Gi",
                        gpu={"count": 1, "models": ["A100"]},
                    ),
                ],
            )
        ],
    )
    path = tmp_path / "gpu.yaml"
    path.write_text(text, encoding="utf-8")
    code, stdout, stderr = invoke("compare", path, "--json", "--no-simulate", "--no-analyse")
    assert code == 0, stderr
    (vm,) = json.loads(stdout)["substrates"]
    assert vm["pods"] == {"requested": 6, "placed": 6}
    assert vm["unplaced"] == []
