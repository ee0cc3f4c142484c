"""`underlay import alibaba2018`: machine (and container) usage → a scenario and its trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from underlay.cli import app
from underlay.errors import InputError, TraceError
from underlay.importers.alibaba2018 import (
    alibaba2018_import,
    read_container_meta,
    read_machine_meta,
    read_usage,
)
from underlay.importers.trace_format import read_trace
from underlay.model.loading import load_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alibaba2018"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "alibaba2018"
USAGE, META = FIXTURES / "machine_usage.csv", FIXTURES / "machine_meta.csv"
C_USAGE, C_META = FIXTURES / "container_usage.csv", FIXTURES / "container_meta.csv"
runner = CliRunner()


def _series(result) -> dict[str, tuple[list[float], list[float], list[float]]]:  # type: ignore[no-untyped-def]
    return {n: (t.tolist(), [round(x, 9) for x in c.tolist()], [round(x, 9) for x in m.tolist()])
            for n, t, c, m in result.series}  # fmt: skip


def test_readers() -> None:
    meta = read_machine_meta(META)
    assert (meta["m_a"].cpu_num, meta["m_a"].mem_size, meta["m_a"].failure_domain_1) == (8, 50, "7")
    usage, stats = read_usage(USAGE)
    # m_b's rows come out of order (15, 5, 15): sorted, and the second 15 (a duplicate) dropped.
    assert usage["m_b"].time_s.tolist() == [5.0, 15.0]
    assert usage["m_b"].cpu_percent.tolist() == [0.0, 100.0]
    # m_a: -1, 101 and a blank CPU are invalid (3 rows); m_c's row at time 0 is outside the span.
    assert (stats.invalid, stats.at_zero, stats.duplicates) == (3, 1, 1)
    assert read_container_meta(C_META)["c_1"].cpu_request == 400


def test_machines_become_workloads_with_exact_series() -> None:
    result = alibaba2018_import(USAGE, META, trace_file="a.trace.csv", machine_memory="16Gi")
    series = _series(result)
    # time_s 0 = trace second 5 (m_b's first valid sample).
    # m_a: 8 cores, mem_size 50 of 16Gi = 8192 MiB.
    #   t=10: 50% × 8 = 4.0 cores, 40% × 8192 = 3276.8 MiB; t=20: 25% → 2.0, 50% → 4096
    assert series["m_a"] == ([5.0, 15.0], [4.0, 2.0], [3276.8, 4096.0])
    # m_b: 4 cores, mem_size 25 → 4096 MiB: t=5: 0 cores, 20% → 819.2; t=15: 4.0, 80% → 3276.8
    assert series["m_b"] == ([0.0, 10.0], [0.0, 4.0], [819.2, 3276.8])
    # m_c: 16 cores, mem_size 100 → 16384 MiB: t=25: 10% → 1.6 cores, 1638.4 MiB
    assert series["m_c"] == ([20.0], [1.6], [1638.4])
    workloads = {w["name"]: w for w in result.data["tenants"][0]["workloads"]}
    # m_a: p95 of [4, 2] = 2 + 0.95 × 2 = 3.9 cores → 3900m; of [3276.8, 4096] = 4055.04 → 4096Mi
    assert workloads["m_a"]["requests"] == {"cpu": "3900m", "memory": "4Gi"}
    assert workloads["m_a"]["limits"] == {"cpu": "8", "memory": "8Gi"}
    assert workloads["m_a"]["usage"]["series"] == ["m_a"]
    # Default host: twice the largest machine (m_c: 16 cores, 16Gi).
    assert result.data["hardware"]["host_models"][0] == {
        "name": "host-32c",
        "cores": 32,
        "memory": "32Gi",
    }
    assert "the machines span 2 failure_domain_1 values: 7 (1), 9 (2)" in result.header
    assert "3 samples with blank or invalid (-1/101) percentages, 1 at time 0" in result.header


def test_machines_limit_takes_the_first_n_of_the_usage_file() -> None:
    result = alibaba2018_import(USAGE, META, trace_file="a.trace.csv", machines=2)
    assert sorted(_series(result)) == ["m_a", "m_b"]
    assert "Left out 1 further machines" in result.header


def test_containers_become_app_groups() -> None:
    result = alibaba2018_import(
        USAGE, META, trace_file="a.trace.csv", machines=2, machine_memory="16Gi",
        containers_path=C_USAGE, container_meta_path=C_META,
    )  # fmt: skip
    series = _series(result)
    # c_4 ran on m_c, which is not among the first 2 machines; c_3 has only blank usage.
    assert sorted(series) == ["c_1", "c_2"]
    # CPU is a percentage of the request (400 = 4 cores): 50% → 2.0, 150% → 6.0 cores.
    # Memory: mem_size 10 of 16Gi = 1638.4 MiB: 20% → 327.68, 40% → 655.36. Origin: second 10.
    assert series["c_1"] == ([0.0, 10.0], [2.0, 6.0], [327.68, 655.36])
    # c_2: the -1 sample is dropped; 100% of 4 cores = 4.0; 30% of 1638.4 = 491.52 MiB.
    assert series["c_2"] == ([10.0], [4.0], [491.52])
    workloads = {w["name"]: w for w in result.data["tenants"][0]["workloads"]}
    app1, app2 = workloads["app_1"], workloads["app_2"]
    assert app1["replicas"] == 2 and app1["usage"]["series"] == ["c_1", "c_2"]
    # cpu_request 400 → 4 cores, cpu_limit 800 → 8; mem_size 10 → ceil(1638.4) = 1639Mi
    assert app1["requests"] == {"cpu": "4", "memory": "1639Mi"}
    assert app1["limits"] == {"cpu": "8", "memory": "1639Mi"}
    assert app2["replicas"] == 1 and "usage" not in app2  # no valid usage: constant model
    assert app2["requests"] == {"cpu": "2", "memory": "820Mi"}  # 5% of 16Gi = 819.2 → 820
    assert "1 have no usage rows" in result.header


def test_cli_writes_files_that_load(tmp_path: Path) -> None:
    out = tmp_path / "ali.yaml"
    result = runner.invoke(
        app, ["import", "alibaba2018", "--usage", str(USAGE), "--meta", str(META),
              "--containers", str(C_USAGE), "--container-meta", str(C_META), "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sc = load_scenario(out)
    assert {w.name for w in sc.tenants[0].clusters[0].workloads} == {"app_1", "app_2", "app_3"}
    assert set(read_trace(tmp_path / "ali.trace.csv")) == {"c_1", "c_2", "c_4"}


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("usage", "m_a,10,50,40,,,1,1\n", "line 1: expected 9 fields"),
        ("usage", "m_a,10,50,40,,,1,1,1\nm_a,20,lots,40,,,1,1,1\n", "line 2, column 'cpu_util_percent': 'lots' is not a number"),
        ("usage", "m_a,10,50,140,,,1,1,1\n", "line 1, column 'mem_util_percent': '140'"),
        ("usage", "m_a,-10,50,40,,,1,1,1\n", "line 1, column 'time_stamp': '-10' is negative"),
        ("usage", "m_zz,10,50,40,,,1,1,1\n", "no row for machine 'm_zz'"),
        ("usage", "m_a,10,-1,40,,,1,1,1\n", "no valid machine usage samples"),
        ("meta", "machine_id,time_stamp,a,b,cpu_num,mem_size,status\n", "line 1, column 'time_stamp': 'time_stamp' is not a number (these tables have no header line)"),
        ("meta", "m_a,0,7,A1,0,50,USING\n", "line 1, column 'cpu_num': '0'"),
        ("meta", "m_a,0,7,A1,8,150,USING\n", "line 1, column 'mem_size': '150'"),
        ("meta", "", "line 1: no rows"),
    ],
)  # fmt: skip
def test_strict_errors(tmp_path: Path, file: str, text: str, message: str) -> None:
    bad = tmp_path / f"{file}.csv"
    bad.write_text(text)
    usage, meta = (bad, META) if file == "usage" else (USAGE, bad)
    with pytest.raises(TraceError) as info:
        alibaba2018_import(usage, meta, trace_file="x.csv")
    assert message in str(info.value)
    assert str(bad) in str(info.value)


def test_container_errors(tmp_path: Path) -> None:
    bad = tmp_path / "cm.csv"
    bad.write_text("c_1,m_a,0,app_1,started,four,800,10\n")
    with pytest.raises(
        TraceError, match=r"cm.csv, line 1, column 'cpu_request': 'four' is not a number"
    ):
        alibaba2018_import(
            USAGE, META, trace_file="x", containers_path=C_USAGE, container_meta_path=bad
        )
    with pytest.raises(InputError, match="go together"):
        alibaba2018_import(USAGE, META, trace_file="x", containers_path=C_USAGE)
    bad.write_text("c_9,m_zz,0,app_1,started,100,100,1\n")
    with pytest.raises(TraceError, match="no container ran on the 3 machine"):
        alibaba2018_import(
            USAGE, META, trace_file="x", containers_path=C_USAGE, container_meta_path=bad
        )


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "usage.csv"
    bad.write_text("m_a,10,50,40,,,1,1,1\nm_a,20,50,oops,,,1,1,1\n")
    out = tmp_path / "out.yaml"
    result = runner.invoke(
        app, ["import", "alibaba2018", "--usage", str(bad), "--meta", str(META), "-o", str(out)]
    )
    assert result.exit_code == 2
    assert (
        "Error:" in result.output
        and "usage.csv, line 2, column 'mem_util_percent'" in result.output
    )
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["usage.csv"]


@pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real Alibaba 2018 trace absent ({REAL}); fixtures cover the format"
)
def test_real_trace_20_machines(tmp_path: Path) -> None:
    out = tmp_path / "alibaba.yaml"
    result = runner.invoke(
        app, ["import", "alibaba2018", "--usage", str(REAL / "machine_usage_sample.csv"),
              "--meta", str(REAL / "machine_meta.csv"), "--machines", "20", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sc = load_scenario(out)
    workloads = sc.tenants[0].clusters[0].workloads
    # The sample (first 100k rows of machine_usage) holds only 16 machines.
    assert len(workloads) == 16
    trace = read_trace(tmp_path / "alibaba.trace.csv")
    assert len(trace) == 16 and sum(len(s) for s in trace.values()) > 99_000
    for w in workloads:
        s = trace[w.usage.series[0]]
        assert w.limits is not None
        assert s.cpu_cores.max() <= w.limits.cpu_milli / 1000  # at most 100% of its cores
        assert s.memory_mib.max() <= w.limits.memory_mib
        assert s.time_s[-1] <= 8 * 86400  # the trace spans 8 days
