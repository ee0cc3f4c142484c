"""The CLI on bad input: one `Error:` line (or a few), exit code 2, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest
from typer.testing import CliRunner

from factories import make_tenant, make_workload, scenario_yaml
from underlay.cli import app, main

WriteYaml = Callable[..., Path]
runner = CliRunner()

GOOD = scenario_yaml()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: t\nhardware: [\n", "malformed YAML"),
        ("", "the file is empty"),
        ("- 1\n- 2\n", "expected a mapping"),
        (GOOD.replace("replicas: 1", "replicas: -1"), "replicas"),
        (GOOD.replace("replicas: 1", "replicas: 1\n    replica: 2"), "did you mean 'replicas'"),
        (GOOD.replace("memory: 4Gi", "memory: 4096"), "no unit"),
        (GOOD.replace("cpu: '2'", "cpu: 100000"), "is the unit right?"),
        (scenario_yaml(overrides={"costs": {"pue": "high"}}), "overrides.costs.pue"),
        (scenario_yaml(substrates=[{"kind": "vm", "hypervisor": "xen"}]), "hypervisor 'xen'"),
        (scenario_yaml(substrates=[{"kind": "sandboxed", "runtime": "rkt"}]), "runtime 'rkt'"),
        (scenario_yaml(placement={"weights": {"Nope": 1}}), "unknown score plugin 'Nope'"),
    ],
    ids=[
        "malformed",
        "empty",
        "list",
        "negative replicas",
        "typo",
        "memory without unit",
        "absurd cpu",
        "bad override",
        "unknown hypervisor",
        "unknown runtime",
        "unknown score plugin",
    ],
)
def test_bad_scenario_exits_2_with_one_clear_error(
    write_yaml: WriteYaml, text: str, needle: str
) -> None:
    assert text != GOOD
    path = write_yaml(text, "bad.yaml")
    code, stdout, stderr = _invoke("compare", str(path))
    assert code == 2
    assert stderr.startswith("Error: ")
    assert needle in stderr
    assert "Traceback" not in stdout + stderr
    assert stdout == ""


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, stderr = _invoke("compare", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "Error:" in stderr and "no such file" in stderr


def test_unknown_strategy_and_substrate_exit_2(write_yaml: WriteYaml) -> None:
    path = write_yaml(GOOD)
    code, _, stderr = _invoke("compare", str(path), "--strategy", "worst-fit")
    assert code == 2 and "--strategy: unknown 'worst-fit'" in stderr
    code, _, stderr = _invoke("compare", str(path), "--substrate", "mainframe")
    assert code == 2 and "substrate 'mainframe' is not in the scenario" in stderr


def test_bad_scenario_in_a_real_process(write_yaml: WriteYaml) -> None:
    # The installed entry point, as a user runs it: exit 2, `Error:`, no traceback.
    path = write_yaml("name: t\nhardware: [\n", "bad.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "underlay.cli", "compare", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Error:" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


TOO_BIG = scenario_yaml(
    tenants=[
        make_tenant(
            "t",
            workloads=[
                make_workload("huge", replicas=2, cpu="100", memory="8Gi"),
                make_workload("small", replicas=3, cpu="1", memory="1Gi"),
            ],
        )
    ],
)


def test_pod_larger_than_any_host_is_reported_unplaced(write_yaml: WriteYaml) -> None:
    path = write_yaml(TOO_BIG)
    code, stdout, stderr = _invoke("compare", str(path), "--json")
    assert code == 0, stderr
    data = json.loads(stdout)
    for substrate in data["substrates"]:
        assert substrate["pods"] == {"requested": 5, "placed": 3}
        (row,) = substrate["unplaced"]
        assert row["workload"] == "huge"
        assert row["pods"] == 2
        assert row["resource"] == "cpu_milli"
        assert row["requested"] >= 100_000
        assert 0 < row["capacity"] < 64_000
        # No host bought would take 100 cores: the CPU-and-memory filter refused it.
        assert row["plugin"] == "NodeResourcesFit"
        assert row["status"] == "UnschedulableAndUnresolvable"


def test_unplaced_pods_show_in_the_terminal_table(write_yaml: WriteYaml) -> None:
    path = write_yaml(TOO_BIG)
    code, stdout, _ = _invoke("compare", str(path))
    assert code == 0
    assert "Unplaced pods on" in stdout
    assert "t/t/huge" in stdout
    assert "cpu_milli" in stdout
    assert "[NodeResourcesFit]" in stdout
    assert "more hosts would not help" in stdout


def test_output_file_is_written_whole(write_yaml: WriteYaml, tmp_path: Path) -> None:
    path = write_yaml(GOOD)
    out = tmp_path / "out.json"
    code, stdout, _ = _invoke("compare", str(path), "--json", "-o", str(out))
    assert code == 0 and stdout == ""
    assert json.loads(out.read_text())["scenario"] == "test"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "scenario.yaml"]


def test_terminal_report_to_file(write_yaml: WriteYaml, tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    code, _, _ = _invoke("compare", str(write_yaml(GOOD)), "-o", str(out))
    assert code == 0
    assert "Substrates" in out.read_text()


def test_bad_input_leaves_no_output_file(write_yaml: WriteYaml, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code, _, _ = _invoke("compare", str(write_yaml("", "bad.yaml")), "--json", "-o", str(out))
    assert code == 2
    assert not out.exists()
    assert not list(tmp_path.glob(".*tmp"))


# ------------------------------------------------------------------- a bug in underlay

BUG = "placement went wrong"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# What main prints for a bug, whatever it is: the exception, then what to do.
HINT = (
    "This is a bug in underlay. Rerun with UNDERLAY_DEBUG=1 for the traceback and report "
    "it with the scenario file."
)


def _placement_raises(*args: object, **kwargs: object) -> NoReturn:
    raise RuntimeError(BUG)


def test_a_bug_in_a_stage_is_one_line_and_exit_1(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No input makes a stage raise anything but an UnderlayError: make placement raise.
    monkeypatch.setattr("underlay.cli.run.run_compare", _placement_raises)
    monkeypatch.delenv("UNDERLAY_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["underlay", "compare", str(write_yaml(GOOD))])
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    err = ANSI.sub("", err)  # in case stderr is a terminal (pytest -s)
    assert exit_.value.code == 1
    assert out == ""
    first, *more = err.splitlines()
    assert first == f"Internal error: RuntimeError: {BUG}"
    assert " ".join(" ".join(more).split()) == HINT  # wrapped at the console's width
    assert "Traceback" not in err


def test_underlay_debug_shows_the_bug_itself(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("underlay.cli.run.run_compare", _placement_raises)
    monkeypatch.setenv("UNDERLAY_DEBUG", "1")
    monkeypatch.setattr(sys, "argv", ["underlay", "compare", str(write_yaml(GOOD))])
    with pytest.raises(RuntimeError, match=BUG):
        main()
    assert "Internal error" not in capsys.readouterr().err


def test_a_bug_in_a_real_process_is_one_line_and_exit_1(write_yaml: WriteYaml) -> None:
    # The console script's entry point in a process of its own, its stderr a pipe.
    script = (
        "import sys, underlay.cli.run\n"
        "def raises(*args, **kwargs):\n"
        f"    raise RuntimeError({BUG!r})\n"
        "underlay.cli.run.run_compare = raises\n"
        "from underlay.entry import main\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("UNDERLAY_DEBUG", "FORCE_COLOR")}
    env |= {"PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-c", script, "compare", str(write_yaml(GOOD))],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == [f"Internal error: RuntimeError: {BUG}", HINT]
