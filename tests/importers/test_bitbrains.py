"""`underlay import bitbrains`: GWA-T-12 VM files → a scenario and its trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from underlay.cli import app
from underlay.errors import TraceError
from underlay.importers.bitbrains import bitbrains_import, read_bitbrains
from underlay.importers.trace_format import read_trace
from underlay.model.loading import load_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitbrains"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "bitbrains"
runner = CliRunner()


def test_reader_converts_mhz_to_cores_and_kb_to_mib() -> None:
    vm = read_bitbrains(FIXTURES / "vm-a.csv")
    # 2 cores of 4000 MHz provisioned = 2000 MHz per core:
    # 500 / 2000 = 0.25, 1000 / 2000 = 0.5, 3000 / 2000 = 1.5, 200 / 2000 = 0.1 cores;
    # the second row at ...300 repeats the timestamp and is dropped.
    assert vm.cpu_cores.tolist() == [0.25, 0.5, 1.5, 0.1]
    # 1048576 KB / 1024 = 1024 MiB, 2097152 → 2048, 524288 → 512, 3145728 → 3072
    assert vm.memory_mib.tolist() == [1024.0, 2048.0, 512.0, 3072.0]
    assert vm.timestamp_s.tolist() == [1e9, 1e9 + 300, 1e9 + 600, 1e9 + 1800]
    assert (vm.duplicates, vm.gaps) == (1, 1)  # 600 → 1800 is 20 min, more than 2 steps
    assert (vm.provisioned_cores, vm.provisioned_memory_mib) == (2.0, 4096.0)


def test_import_series_workloads_and_header(tmp_path: Path) -> None:
    result = bitbrains_import([FIXTURES], trace_file="bb.trace.csv", tenants=2)
    series = {name: (t.tolist(), c.tolist(), m.tolist()) for name, t, c, m in result.series}
    # Common origin: the earliest first timestamp (1e9); vm-b starts 150 s later.
    assert series["vm-a"][0] == [0.0, 300.0, 600.0, 1800.0]
    # vm-b: 1 core of 2600 MHz: 130 / 2600 = 0.05, 2600 / 2600 = 1.0 cores;
    # 262144 KB / 1024 = 256 MiB, 131072 / 1024 = 128 MiB.
    assert series["vm-b"] == ([150.0, 450.0], [0.05, 1.0], [256.0, 128.0])
    tenants = result.data["tenants"]
    assert [t["name"] for t in tenants] == ["bitbrains-1", "bitbrains-2"]
    a, b = tenants[0]["workloads"][0], tenants[1]["workloads"][0]
    # vm-a: p95 CPU 1.35 cores → 1400m; p95 memory 2918.4 MiB → 2944Mi (46 × 64);
    # limits: 2 provisioned cores, 4194304 KB = 4Gi.
    assert a["requests"] == {"cpu": "1400m", "memory": "2944Mi"}
    assert a["limits"] == {"cpu": "2", "memory": "4Gi"}
    assert a["usage"] == {"model": "trace", "trace": "bb.trace.csv", "series": ["vm-a"]}
    # vm-b: p95 of [0.05, 1.0] = 0.9525 → 1000m; of [256, 128] MiB = 249.6 → 256Mi.
    assert b["requests"] == {"cpu": "1", "memory": "256Mi"}
    assert b["limits"] == {"cpu": "1", "memory": "2Gi"}
    assert "1 gaps longer than 2 steps (10 min) in 1 of 2 VMs" in result.header
    assert "1 rows repeating the previous timestamp were dropped" in result.header
    assert result.data["hardware"]["host_models"] == [
        {"name": "host-64c", "cores": 64, "memory": "512Gi"}
    ]


def test_cli_writes_scenario_and_trace_that_load(tmp_path: Path) -> None:
    out = tmp_path / "bb.yaml"
    result = runner.invoke(
        app, ["import", "bitbrains", str(FIXTURES / "vm-a.csv"), str(FIXTURES / "vm-b.csv"),
              "-o", str(out), "--host-cores", "32", "--host-memory", "256Gi"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Imported by `underlay import bitbrains`")
    sc = load_scenario(out)
    w = sc.tenants[0].clusters[0].workloads[0]
    assert w.usage.model == "trace" and w.usage.trace == "bb.trace.csv"
    assert sc.hardware.host_models[0].cpu_milli == 32_000
    trace = read_trace(tmp_path / "bb.trace.csv")
    assert trace["vm-a"].cpu_cores.tolist() == [0.25, 0.5, 1.5, 0.1]
    compared = runner.invoke(app, ["compare", str(out), "--json"])
    assert compared.exit_code == 0, compared.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("CPU usage [MHZ];", "CPU used;"), "line 1: missing column(s) 'CPU usage [MHZ]'"),
        (lambda t: t.replace("3000.0", "lots"), "line 5, column 'CPU usage [MHZ]': 'lots' is not a number"),
        (lambda t: t.replace("524288.0", "-1.0"), "line 5, column 'Memory usage [KB]': '-1.0' is negative"),
        (lambda t: t.replace("1000001800", "1000000100"), "line 6, column 'Timestamp [ms]': 1000000100 is before"),
        (lambda t: t.replace(";\t2;\t4000.0;\t500.0", ";\t0.5;\t4000.0;\t500.0"), "line 2, column 'CPU cores': '0.5' is out of range; expected a number from 1 to 4,096 cores"),
        (lambda t: t.replace(";\t2;\t4000.0;\t500.0", ";\t2;\t0.0;\t500.0"), "line 2, column 'CPU capacity provisioned [MHZ]': '0.0' is out of range"),
        (lambda t: t.splitlines()[0] + "\n", "line 2: no rows after the header"),
        (lambda t: "", "line 1: empty file"),
    ],
)  # fmt: skip
def test_strict_errors(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text(edit((FIXTURES / "vm-a.csv").read_text()))
    with pytest.raises(TraceError, match=None) as info:
        read_bitbrains(bad)
    assert str(info.value).startswith(f"{bad}, line ")
    assert message in str(info.value)


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text((FIXTURES / "vm-b.csv").read_text().replace("2600.0;\t130.0", "2600.0;\tx"))
    out = tmp_path / "out.yaml"
    result = runner.invoke(
        app, ["import", "bitbrains", str(FIXTURES / "vm-a.csv"), str(bad), "-o", str(out)]
    )
    assert result.exit_code == 2
    assert (
        "Error:" in result.output and "bad.csv, line 2, column 'CPU usage [MHZ]'" in result.output
    )
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
    result = runner.invoke(
        app, ["import", "bitbrains", str(FIXTURES), "-o", str(out), "--host-memory", "lots"]
    )
    assert result.exit_code == 2 and "--host-memory" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


@pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real Bitbrains trace absent ({REAL}); fixtures cover the format"
)
def test_real_trace_first_two_files(tmp_path: Path) -> None:
    files = sorted(REAL.glob("*.csv"))[:2]
    out = tmp_path / "bitbrains.yaml"
    result = runner.invoke(app, ["import", "bitbrains", *map(str, files), "-o", str(out)])
    assert result.exit_code == 0, result.output
    sc = load_scenario(out)
    workloads = sc.tenants[0].clusters[0].workloads
    assert len(workloads) == 2 and all(w.replicas == 1 for w in workloads)
    trace = read_trace(tmp_path / "bitbrains.trace.csv")
    assert set(trace) == {f.stem for f in files}
    for w in workloads:
        s = trace[w.usage.series[0]]
        assert len(s) > 8000  # a month of 5-minute samples
        assert 29 * 86400 < s.time_s[-1] - s.time_s[0] < 32 * 86400
        assert w.limits is not None
        # usage within the VM's provisioned cores and memory
        assert s.cpu_cores.min() >= 0
        assert s.cpu_cores.max() <= w.limits.cpu_milli / 1000 + 1e-6
        assert 0 < s.memory_mib.max() <= w.limits.memory_mib
        assert w.requests.cpu_milli <= w.limits.cpu_milli


def _switch_off(text: str, timestamps: tuple[str, ...]) -> str:
    """vm-a with the rows at ``timestamps`` powered off: 0 cores, 0 MHz provisioned."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cells = line.split(";")
        if cells[0] in timestamps:
            cells[1], cells[2] = "\t0", "\t0.0"
            lines[i] = ";".join(cells)
    return "\n".join(lines) + "\n"


def test_powered_off_rows_are_no_usage_and_counted(tmp_path: Path) -> None:
    folder = tmp_path / "vms"
    folder.mkdir()
    text = (FIXTURES / "vm-a.csv").read_text()
    (folder / "vm-a.csv").write_text(_switch_off(text, ("1000000600",)))
    (folder / "vm-b.csv").write_text((FIXTURES / "vm-b.csv").read_text())
    # a VM off for the whole file is skipped, not fatal
    (folder / "vm-c.csv").write_text(
        _switch_off(text, ("1000000000", "1000000300", "1000000600", "1000001800"))
    )
    vm = read_bitbrains(folder / "vm-a.csv")
    # the row at ...600 (3000 MHz, 524288 KB) is off: 0 cores, 0 MiB; the others as before
    assert vm.cpu_cores.tolist() == [0.25, 0.5, 0.0, 0.1]
    assert vm.memory_mib.tolist() == [1024.0, 2048.0, 0.0, 3072.0]
    assert vm.off == 1
    assert vm.provisioned_cores == 2.0  # the largest over the file, off rows aside
    result = bitbrains_import([folder], trace_file="bb.trace.csv")
    assert sorted(s[0] for s in result.series) == ["vm-a", "vm-b"]
    assert "Powered off: 1 samples with 0 CPU cores in 1 of 2 VMs" in result.header
    assert f"Skipped (off in every row): {folder / 'vm-c.csv'}" in result.header


def test_every_vm_off_is_one_clear_error(tmp_path: Path) -> None:
    text = (FIXTURES / "vm-a.csv").read_text()
    off = tmp_path / "off.csv"
    off.write_text(_switch_off(text, ("1000000000", "1000000300", "1000000600", "1000001800")))
    with pytest.raises(TraceError, match=r"powered off \(0 CPU cores\) in every row"):
        bitbrains_import([off, off], trace_file="bb.trace.csv")
