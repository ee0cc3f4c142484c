"""The README's "Your own cluster" round trip, end to end through the CLI:
`import cluster` (the real kubernetes client against the test API server) →
`import prometheus` (Debian's real Prometheus, filled by promtool) → `compare`, which
replays the week Prometheus measured.

The cluster and the week are those of tests/importers/test_prometheus.py: the API server
serves the pods alive at the end of the week, Prometheus holds their week of usage.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_prometheus import _k8s_pod, server  # noqa: F401 (a pytest fixture)
from typer.testing import CliRunner

from kube_api_server import ApiState, make_certificate, serve, write_kubeconfig
from prom_server import WEEK_STEPS, missing_reason
from underlay.cli import app
from underlay.importers.cluster import READS

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

runner = CliRunner()
PATHS = {r.resource: r.path for r in READS}
NODE = {
    "kind": "Node",
    "metadata": {"name": "node-a", "labels": {}},
    "status": {
        "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
        "nodeInfo": {"kubeletVersion": "v1.29.4"},
    },
}


def _invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _batch_demand(report: dict[str, Any]) -> float:
    (substrate, *_) = report["substrates"]
    (batch,) = [t for t in substrate["simulation"]["tenants"] if t["name"] == "batch"]
    return float(batch["cpu_core_hours"]["demand"])


def test_import_cluster_then_prometheus_then_compare(
    server: tuple[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make the test API server's certificate")
    url, fixture = server
    state = ApiState()
    state.lists[PATHS["nodes"]] = [NODE]
    alive = [p for p in fixture.pods if p.last == WEEK_STEPS]
    state.lists[PATHS["pods"]] = [_k8s_pod(p, "node-a") for p in alive]
    (tmp_path / "cert").mkdir()
    cert = make_certificate(tmp_path / "cert")
    cluster, week = tmp_path / "cluster.yaml", tmp_path / "week.yaml"
    with serve(state, *cert) as api:
        write_kubeconfig(tmp_path / "kubeconfig", api, cert[0])
        _invoke(
            "import", "cluster", "--kubeconfig", str(tmp_path / "kubeconfig"), "-o", str(cluster)
        )
    assert "Imported by `underlay import cluster`" in cluster.read_text()

    end = str(fixture.end_s)
    _invoke("import", "prometheus", str(cluster), "--url", url, "--end", end, "-o", str(week))
    assert (tmp_path / "week.trace.csv").is_file()

    invented = json.loads(_invoke("compare", str(cluster), "--json").stdout)
    measured = json.loads(_invoke("compare", str(week), "--json").stdout)
    # The batch tenant is one worker pod that Prometheus saw using 0.125 cores at every
    # step of the week: the replay's demand is 0.125 cores x 168 hours = 21 core-hours
    # (the first step has no rate yet: 1 of 2,016 steps, 0.05 %).
    assert _batch_demand(measured) == pytest.approx(0.125 * 7 * 24, rel=0.01)
    # ... and not what the scenario's invented usage model said before the import
    assert _batch_demand(invented) != pytest.approx(0.125 * 7 * 24, rel=0.01)
