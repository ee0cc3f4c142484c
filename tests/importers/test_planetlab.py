"""`underlay import planetlab`: a folder of CPU-% files → a scenario and its trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from underlay.cli import app
from underlay.errors import InputError, TraceError
from underlay.importers.planetlab import planetlab_files, planetlab_import, read_planetlab
from underlay.importers.trace_format import read_trace
from underlay.model.loading import load_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "planetlab" / "day"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "planetlab" / "20110303"
runner = CliRunner()


def test_files_become_series_and_workloads() -> None:
    result = planetlab_import(FIXTURES, trace_file="p.trace.csv", vm_cores=2, vm_memory="2Gi")
    series = {n: (t.tolist(), c.tolist(), m.tolist()) for n, t, c, m in result.series}
    # vm-a: 10, 20, 30, 40, 50, 100 % of 2 cores = 0.2, 0.4, 0.6, 0.8, 1.0, 2.0 cores,
    # at 0, 300, ... 1500 s; memory the constant 2Gi = 2048 MiB.
    assert series["vm-a"] == (
        [0.0, 300.0, 600.0, 900.0, 1200.0, 1500.0],
        [0.2, 0.4, 0.6, 0.8, 1.0, 2.0],
        [2048.0] * 6,
    )
    workloads = {w["name"]: w for w in result.data["tenants"][0]["workloads"]}
    assert sorted(workloads) == ["vm-a", "vm-b", "vm-c"]
    # p95 of vm-a: 1.0 + 0.75 × (2.0 − 1.0) = 1.75 cores → 1800m; limit 2 cores.
    assert workloads["vm-a"]["requests"] == {"cpu": "1800m", "memory": "2Gi"}
    assert workloads["vm-a"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    # vm-b idles at 0%: still requests 100m.
    assert workloads["vm-b"]["requests"]["cpu"] == "100m"
    assert "files have 6-6 samples, not 288" in result.header
    assert "a constant 2Gi (--vm-memory)" in result.header


def test_group_and_limit() -> None:
    result = planetlab_import(FIXTURES, trace_file="p.trace.csv", group=2, tenants=2)
    tenants = result.data["tenants"]
    assert [t["name"] for t in tenants] == ["planetlab-1", "planetlab-2"]
    first, second = tenants[0]["workloads"][0], tenants[1]["workloads"][0]
    assert (first["name"], first["replicas"], first["usage"]["series"]) == (
        "vms-0001",
        2,
        ["vm-a", "vm-b"],
    )
    # p95 of vm-a at 1 core: 0.875 → 900m; the group takes the larger of vm-a's and vm-b's.
    assert first["requests"]["cpu"] == "900m"
    assert (second["replicas"], second["usage"]["series"]) == (1, ["vm-c"])
    limited = planetlab_import(FIXTURES, trace_file="p.trace.csv", limit=2)
    assert [s[0] for s in limited.series] == ["vm-a", "vm-b"]


def test_hidden_files_skipped_and_strict_errors(tmp_path: Path) -> None:
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / "vm").write_text("1\n2\n")
    assert [p.name for p in planetlab_files(tmp_path)] == ["vm"]
    bad = tmp_path / "vm"
    for text, message in [
        ("1\n2\nx\n", "line 3, column 'cpu_percent': 'x' is not a number"),
        ("1\n-2\n", "line 2, column 'cpu_percent': '-2' is negative"),
        ("1\n2.5\n", "line 2, column 'cpu_percent': '2.5' is not a whole number"),
        (
            "1\n101\n",
            "line 2, column 'cpu_percent': '101' is out of range; expected a whole number from 0 to 100%",
        ),
        ("1\nnan\n", "line 2, column 'cpu_percent': 'nan' is not a finite number"),
        ("1\n" + "9" * 5000 + "\n", "line 2, column 'cpu_percent': '9999"),
        ("1\n2\x00\n", "line 2: a NUL byte"),
        ("\n", "line 1: empty file"),
    ]:
        bad.write_text(text)
        with pytest.raises(TraceError) as info:
            read_planetlab(bad)
        assert f"{bad}, {message}" in str(info.value)
    with pytest.raises(TraceError, match="not a folder"):
        planetlab_files(bad)
    with pytest.raises(InputError, match="--group"):
        planetlab_import(FIXTURES, trace_file="x", group=0)


def test_cli_writes_files_that_load(tmp_path: Path) -> None:
    out = tmp_path / "pl.yaml"
    result = runner.invoke(
        app, ["import", "planetlab", str(FIXTURES), "-o", str(out), "--group", "3"]
    )
    assert result.exit_code == 0, result.output
    sc = load_scenario(out)
    (w,) = sc.tenants[0].clusters[0].workloads
    assert w.replicas == 3 and w.usage.series == ["vm-a", "vm-b", "vm-c"]
    assert set(read_trace(tmp_path / "pl.trace.csv")) == {"vm-a", "vm-b", "vm-c"}


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "day"
    folder.mkdir()
    (folder / "vm-1").write_text("10\n20\n")
    (folder / "vm-2").write_text("10\nabc\n")
    out = tmp_path / "out.yaml"
    result = runner.invoke(app, ["import", "planetlab", str(folder), "-o", str(out)])
    assert result.exit_code == 2
    assert "Error:" in result.output and "vm-2, line 2, column 'cpu_percent'" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day"]


@pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real PlanetLab trace absent ({REAL}); fixtures cover the format"
)
def test_real_trace_20_vms(tmp_path: Path) -> None:
    out = tmp_path / "planetlab.yaml"
    result = runner.invoke(app, ["import", "planetlab", str(REAL), "--limit", "20", "-o", str(out)])
    assert result.exit_code == 0, result.output
    sc = load_scenario(out)
    workloads = sc.tenants[0].clusters[0].workloads
    assert len(workloads) == 20
    trace = read_trace(tmp_path / "planetlab.trace.csv")
    assert len(trace) == 20
    for s in trace.values():
        assert len(s) == 288 and s.time_s[-1] == 287 * 300
        assert s.cpu_cores.min() >= 0
        assert s.cpu_cores.max() <= 1.0  # % of one core
        assert set(s.memory_mib.tolist()) == {1024.0}
    assert all(100 <= w.requests.cpu_milli <= 1000 for w in workloads)
