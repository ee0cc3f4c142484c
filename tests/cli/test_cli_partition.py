"""``simulate --workers N`` on a fleet of several blocks (issue 15): the same JSON as one
process, a refused ``--workers``, and Ctrl-C ending the workers with the run.

The fleet: 140,000 small pods of two tenants on 64-core hosts, more than two of the
engine's blocks of 65,536 pods, so that two workers really start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from factories import make_tenant, make_workload, scenario_dict
from underlay.cli import app

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "import sys; from underlay.entry import main; sys.exit(main())"


def _fleet(folder: Path, hours: float) -> Path:
    usage = {"model": "diurnal", "cpu": 0.8, "amplitude": 0.4, "noise": 0.3}
    tenants = [
        make_tenant(
            name,
            workloads=[
                make_workload(f"w{i}", replicas=35_000, cpu="100m", memory="64Mi", usage=usage)
                for i in range(2)
            ],
        )
        for name in ("a", "b")
    ]
    data = scenario_dict(
        tenants=tenants,
        substrates=[{"kind": "baremetal-shared"}],
        simulation={"horizon_hours": hours, "step_minutes": 5, "seed": 3},
    )
    path = folder / "fleet.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _figures(text: str) -> object:
    """The JSON document without wall times."""

    def strip(x: object) -> object:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if "seconds" not in k}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    return strip(json.loads(text))


def test_two_workers_print_the_same_json(tmp_path: Path) -> None:
    """--workers 2 and --workers 1 give the same document (wall times aside)."""
    path = _fleet(tmp_path, 2)
    runner = CliRunner()
    one = runner.invoke(app, ["simulate", str(path), "--json", "--workers", "1"])
    two = runner.invoke(app, ["simulate", str(path), "--json", "--workers", "2"])
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    assert _figures(one.stdout) == _figures(two.stdout)


@pytest.mark.parametrize("workers", ["0", "2000"])
def test_workers_out_of_range_is_refused(tmp_path: Path, workers: str) -> None:
    path = _fleet(tmp_path, 1)
    result = CliRunner().invoke(app, ["simulate", str(path), "--workers", workers])
    assert result.exit_code == 2
    assert f"--workers: must be from 1 to 1,024, got {workers}" in result.output


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find workers")
def test_ctrl_c_ends_the_workers_with_the_run(tmp_path: Path) -> None:
    """SIGINT to the whole process group (what Ctrl-C does) once the workers run: exit
    130, one line, and no worker left."""
    path = _fleet(tmp_path, 168)
    paths = [str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "simulate", str(path), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        below: set[int] = set()
        deadline = time.monotonic() + 120
        # the fork server and its two workers
        while len(below) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            below = _descendants(proc.pid)
        assert len(below) >= 3, "the workers never started"
        time.sleep(1.0)  # well into the replay
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "Interrupted."
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in below)
