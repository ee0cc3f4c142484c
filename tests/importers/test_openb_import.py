"""`underlay import openb`: trace CSVs → an editable scenario that loads and compares."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from underlay.cli import app
from underlay.importers.openb import openb_scenario, render
from underlay.model.loading import load_scenario, parse_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openb"
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "openb"
runner = CliRunner()


def test_fixture_becomes_hosts_inventory_and_workloads() -> None:
    data, header = openb_scenario(FIXTURES / "nodes.csv", FIXTURES / "pods_long.csv")
    sc = parse_scenario(render(data, header), source="imported")
    # Four nodes, all different: four host models, one of each in the inventory.
    assert sorted(m.name for m in sc.hardware.host_models) == [
        "A-4gpu-32c", "A-8gpu-48c", "B-2gpu-16c", "cpu-8c",
    ]  # fmt: skip
    assert sc.hardware.inventory is not None
    assert sum(e.count for e in sc.hardware.inventory) == 4
    # Tenants are the QoS classes: LS (2 pods), BE (1), Burstable (1); tiny-pod-5 (LS) only
    # allows GPU model C, which no node has, so it is left out and counted in the header.
    tenants = {t.name: t for t in sc.tenants}
    assert set(tenants) == {"openb-ls", "openb-be", "openb-burstable"}
    ls = tenants["openb-ls"].clusters[0].workloads
    assert sum(w.replicas for w in ls) == 2
    # tiny-pod-3 asks for 250 milli of one GPU: a quarter GPU, inference (LS).
    quarter = next(w for w in ls if w.gpu is not None)
    assert quarter.gpu is not None and quarter.gpu.fraction == 0.25
    assert quarter.workload_class == "gpu-inference"
    # tiny-pod-1 may use models A or B; tiny-pod-4 only B, two whole GPUs.
    be = tenants["openb-be"].clusters[0].workloads[0]
    assert be.gpu is not None and sorted(be.gpu.models) == ["A", "B"]
    burst = tenants["openb-burstable"].clusters[0].workloads[0]
    assert burst.gpu is not None and (burst.gpu.count, burst.gpu.models) == (2, ["B"])
    # The trace's capacities are what pods may use: no reservation, no DaemonSets.
    assert sc.kubernetes.node_reservation == "none"
    assert all(c.system_pods == [] for t in sc.tenants for c in t.clusters)
    assert "5 pods in" in header and "Pending 1" in header
    assert "Left out 1 pods asking only for GPU models no node has: C (1)" in header


def test_short_pod_list_is_one_tenant(tmp_path: Path) -> None:
    data, _ = openb_scenario(FIXTURES / "nodes.csv", FIXTURES / "pods_short.csv")
    assert [t["name"] for t in data["tenants"]] == ["openb"]


def test_cli_writes_a_file_that_compares(tmp_path: Path) -> None:
    out = tmp_path / "openb.yaml"
    result = runner.invoke(
        app,
        ["import", "openb", "--nodes", str(FIXTURES / "nodes.csv"),
         "--pods", str(FIXTURES / "pods_long.csv"), "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Imported by `underlay import openb`")
    compared = runner.invoke(app, ["compare", str(out), "--json"])
    assert compared.exit_code == 0, compared.output


def test_bad_csv_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "nodes.csv"
    bad.write_text("sn,cpu_milli\nx,lots\n")
    out = tmp_path / "out.yaml"
    result = runner.invoke(
        app,
        [
            "import",
            "openb",
            "--nodes",
            str(bad),
            "--pods",
            str(FIXTURES / "pods_long.csv"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert "Error:" in result.output and "nodes.csv" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real openb trace absent ({REAL}); fixtures cover the format"
)
@pytest.mark.parametrize("pods", ["default", "multigpu20", "gpushare20"])
def test_real_trace_imports_and_loads(tmp_path: Path, pods: str) -> None:
    out = tmp_path / f"{pods}.yaml"
    result = runner.invoke(
        app,
        ["import", "openb", "--nodes", str(REAL / "openb_node_list_gpu_node.csv"),
         "--pods", str(REAL / f"openb_pod_list_{pods}.csv"), "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sc = load_scenario(out)
    assert sc.hardware.inventory is not None
    assert sum(e.count for e in sc.hardware.inventory) == 1213  # GPU nodes of the trace
    pods_in_file = sum(w.replicas for t in sc.tenants for c in t.clusters for w in c.workloads)
    raw_rows = len((REAL / f"openb_pod_list_{pods}.csv").read_text().splitlines()) - 1
    assert pods_in_file == raw_rows
    assert yaml.safe_load(out.read_text())["name"] == "openb"
