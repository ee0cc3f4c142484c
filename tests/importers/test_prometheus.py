"""`underlay import prometheus` against Debian's real Prometheus server, its TSDB filled
with `promtool tsdb create-blocks-from openmetrics` from a week generated here.

The week (5-minute steps) holds three workloads of a cluster and a DaemonSet:

* shop/web, a Deployment of 2 rolled out on day 3, one pod at a time (maxSurge 1): old
  pod x7k2p ends 12 steps after new pod m3n8b starts, new t5v2c starts 24 steps after
  it, old q9w4z ends 12 steps later. At most 3 pods at once → 3 replica slots.
* shop/db, a StatefulSet of 1 whose pod has a 3-hour gap on day 5 (no scrapes).
* batch/worker, a Deployment of 1 whose ReplicaSet has no kube_replicaset_owner series
  (the hash in its name tells the Deployment).
* kube-system/node-exporter, a DaemonSet: in Prometheus, not a scenario workload.

Every pod's CPU rate is constant within a day and its memory known at every step
(prom_server.FakePod), so the importer's trace is checked against values derived here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from prom_server import STEP_S, WEEK_STEPS, FakePod, Fixture, missing_reason, serve
from underlay.cli import app
from underlay.importers.kubectl import import_kubectl
from underlay.importers.prometheus import connection, prometheus_import
from underlay.importers.trace_format import read_trace
from underlay.importers.trace_import import write_import
from underlay.model.loading import load_scenario

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

runner = CliRunner()
DAY = 24 * 12  # steps
ROLLOUT = 3 * DAY + 100  # step the first new web pod starts
GAP = (5 * DAY, 5 * DAY + 36)  # db-0's 3 hours without samples
OLD_RS, NEW_RS = "web-5d8f7c9b4", "web-6b7c8d9f2"


def _pod(ns: str, name: str, kind: str, owner: str, first: int, last: int, **kw: Any) -> FakePod:
    return FakePod(ns, name, kind, owner, first, last, **kw)


def make_fixture(start_s: int) -> Fixture:
    """The week described in the module docstring, starting at ``start_s``."""
    end = WEEK_STEPS
    web = [
        _pod(
            "shop",
            f"{OLD_RS}-x7k2p",
            "ReplicaSet",
            OLD_RS,
            0,
            ROLLOUT + 12,
            cpu_per_day=(0.2, 0.3, 0.4),
            memory_mib=200,
        ),
        _pod(
            "shop",
            f"{OLD_RS}-q9w4z",
            "ReplicaSet",
            OLD_RS,
            0,
            ROLLOUT + 36,
            cpu_per_day=(0.25, 0.35),
            memory_mib=260,
        ),
        _pod(
            "shop",
            f"{NEW_RS}-m3n8b",
            "ReplicaSet",
            NEW_RS,
            ROLLOUT,
            end,
            cpu_per_day=(0.5, 0.6, 0.7),
            memory_mib=300,
        ),
        _pod(
            "shop",
            f"{NEW_RS}-t5v2c",
            "ReplicaSet",
            NEW_RS,
            ROLLOUT + 24,
            end,
            cpu_per_day=(0.45, 0.55),
            memory_mib=340,
        ),
    ]
    others = [
        _pod(
            "shop",
            "db-0",
            "StatefulSet",
            "db",
            0,
            end,
            cpu_per_day=(1.0, 1.5),
            memory_mib=2048,
            gap=GAP,
            requests=(0.5, 2.0**30),
        ),
        _pod(
            "batch",
            "worker-7f9c6d5b8-abcde",
            "ReplicaSet",
            "worker-7f9c6d5b8",
            0,
            end,
            cpu_per_day=(0.125,),
            memory_mib=512,
        ),
        _pod(
            "kube-system",
            "node-exporter-zz9kq",
            "DaemonSet",
            "node-exporter",
            0,
            end,
            cpu_per_day=(0.01,),
            memory_mib=30,
        ),
    ]
    replicasets = {("shop", OLD_RS): "web", ("shop", NEW_RS): "web"}
    return Fixture(start_s, web + others, replicasets)


def _start() -> int:
    """Step 0: a week and two hours ago, on a 5-minute boundary (inside retention)."""
    now = int(time.time()) // STEP_S * STEP_S
    return now - 2 * 3600 - WEEK_STEPS * STEP_S


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Fixture]]:
    fixture = make_fixture(_start())
    with serve(fixture, tmp_path_factory.mktemp("prometheus")) as url:
        yield url, fixture


# ------------------------------------------------------- the scenario (import kubectl)


def _k8s_pod(pod: FakePod, node: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": pod.name, "namespace": pod.namespace, "labels": {}}
    if pod.owner_kind == "ReplicaSet":
        meta["labels"]["pod-template-hash"] = pod.owner_name.rsplit("-", 1)[1]
    meta["ownerReferences"] = [{"kind": pod.owner_kind, "name": pod.owner_name, "controller": True}]
    resources = {"requests": {"cpu": "250m", "memory": "512Mi"}}
    return {
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": node, "containers": [{"name": "app", "resources": resources}]},
        "status": {"phase": "Running"},
    }


def write_scenario(fixture: Fixture, folder: Path) -> Path:
    """`import kubectl` of the cluster as it was at the end of the week."""
    node = {
        "kind": "Node",
        "metadata": {"name": "node-a", "labels": {}},
        "status": {"capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"}},
    }
    alive = [p for p in fixture.pods if p.last == WEEK_STEPS]
    nodes, pods = folder / "nodes.json", folder / "pods.json"
    nodes.write_text(json.dumps({"kind": "List", "items": [node]}), encoding="utf-8")
    items = [_k8s_pod(p, "node-a") for p in alive]
    pods.write_text(json.dumps({"kind": "List", "items": items}), encoding="utf-8")
    scenario = folder / "cluster.yaml"
    scenario.write_text(import_kubectl(nodes, pods, name="cluster").text, encoding="utf-8")
    return scenario


# ------------------------------------------------------- what the importer must write


def expected_slots(pods: list[FakePod]) -> dict[int, list[tuple[int, FakePod]]]:
    """Slot → (step, pod) at the steps the comparison uses: the k-th oldest pod alive at
    a step fills slot k; steps within two steps of any pod's start or end are left out
    (Prometheus' 5-minute lookback and rate window blur them), and so are steps whose
    rate window [k-2, k] lacks a sample or spans a change of the daily rate."""
    ordered = sorted(pods, key=lambda p: (p.first, p.name))
    edges = {e for p in pods for e in (p.first, p.last)}
    out: dict[int, list[tuple[int, FakePod]]] = {}
    for k in range(WEEK_STEPS + 1):
        if any(abs(k - e) <= 2 for e in edges):
            continue
        alive = [p for p in ordered if p.first <= k <= p.last]
        for slot, pod in enumerate(alive):
            window = set(range(k - 2, k + 1))
            if not window <= set(pod.steps().tolist()):
                continue
            if (k - 2) // DAY != (k - 1) // DAY:  # the two intervals of the window differ
                continue
            out.setdefault(slot, []).append((k, pod))
    return out


def _check_slot(trace: dict[str, Any], name: str, checks: list[tuple[int, FakePod]]) -> None:
    series = trace[name]
    at = {round(t): i for i, t in enumerate(series.time_s.tolist())}
    for k, pod in checks:
        i = at[k * STEP_S]
        steps = np.array([k])
        assert series.cpu_cores[i] == pytest.approx(pod.cpu_at(steps)[0], abs=1e-6), (name, k)
        assert series.memory_mib[i] == pytest.approx(pod.memory_at(steps)[0], abs=1e-3)


@pytest.fixture(scope="module")
def imported(
    server: tuple[str, Fixture], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Fixture]:
    url, fixture = server
    folder = tmp_path_factory.mktemp("imported")
    scenario = write_scenario(fixture, folder)
    result = prometheus_import(
        scenario,
        connection(url),
        trace_file="measured.trace.csv",
        range_s=7 * 86400,
        step_s=STEP_S,
        end_s=fixture.end_s + 59,  # rounded down to the step
    )
    write_import(folder / "measured.yaml", result)
    return folder / "measured.yaml", fixture


def _workloads(path: Path) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {w["name"]: w for t in data["tenants"] for w in t["workloads"]}


def test_rollout_folds_into_replica_slots(imported: tuple[Path, Fixture]) -> None:
    path, fixture = imported
    web = _workloads(path)["web"]
    # 4 pods over the week, at most 3 at once (the rollout's surge) -> 3 slots
    assert web["usage"]["series"] == ["shop/web/1", "shop/web/2", "shop/web/3"]
    assert web["replicas"] == 2  # the scenario's, unchanged
    trace = read_trace(path.parent / "measured.trace.csv")
    slots = expected_slots([p for p in fixture.pods if p.namespace == "shop" and "web" in p.name])
    assert sorted(slots) == [0, 1, 2]
    # slot 1: x7k2p then (once it ended) q9w4z, then m3n8b: the whole week
    assert len(slots[0]) > WEEK_STEPS - 40
    for slot, checks in slots.items():
        _check_slot(trace, f"shop/web/{slot + 1}", checks)
    # the surge slot only holds the rollout's two overlaps of 12 steps (13 steps each,
    # one more where Prometheus' lookback still sees the ended pod)
    assert 2 * 10 <= len(trace["shop/web/3"]) <= 2 * 14


def test_gap_stays_a_gap(imported: tuple[Path, Fixture]) -> None:
    path, fixture = imported
    trace = read_trace(path.parent / "measured.trace.csv")
    db = trace["shop/db/1"]
    steps = set(np.rint(db.time_s / STEP_S).astype(int).tolist())
    a, b = GAP
    assert not steps & set(range(a + 2, b))  # nothing invented inside the gap
    assert {a - 1, b + 2} <= steps  # samples on both sides
    pod = next(p for p in fixture.pods if p.name == "db-0")
    _check_slot(trace, "shop/db/1", expected_slots([pod])[0])


def test_workload_named_by_its_replicaset_hash(imported: tuple[Path, Fixture]) -> None:
    path, fixture = imported
    worker = _workloads(path)["worker"]
    assert worker["usage"] == {
        "model": "trace",
        "trace": "measured.trace.csv",
        "series": ["batch/worker/1"],
    }
    pod = next(p for p in fixture.pods if p.namespace == "batch")
    trace = read_trace(path.parent / "measured.trace.csv")
    _check_slot(trace, "batch/worker/1", expected_slots([pod])[0])
    # the DaemonSet is not a scenario workload: no series, and the header says so
    assert not any(name.startswith("kube-system/") for name in trace)
    assert "kube-system/node-exporter" in path.read_text(encoding="utf-8")


def test_scenario_loads_and_covers_the_week(imported: tuple[Path, Fixture]) -> None:
    path, _ = imported
    scenario = load_scenario(path)
    assert scenario.simulation.horizon_hours == 7 * 24  # 2016 steps of 5 minutes
    assert scenario.simulation.step_minutes == 5
    header = path.read_text(encoding="utf-8")
    # db-0 requests 0.5 cores and 1 GiB in kube-state-metrics
    assert "requests cpu 500m, memory 1024Mi" in header


def test_cli_round_trip_to_compare(server: tuple[str, Fixture], tmp_path: Path) -> None:
    url, fixture = server
    scenario = write_scenario(fixture, tmp_path)
    out = tmp_path / "week.yaml"
    result = runner.invoke(
        app,
        [
            "import",
            "prometheus",
            str(scenario),
            "--url",
            url,
            "-o",
            str(out),
            "--end",
            str(fixture.end_s),
            "--range",
            "7d",
            "--step",
            "5m",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "week.trace.csv").is_file()
    compared = runner.invoke(app, ["compare", str(out), "--json"])
    assert compared.exit_code == 0, compared.output
    assert json.loads(compared.output)  # a report of the replayed week


def test_range_chunked_within_point_limit(
    server: tuple[str, Fixture], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut into 100-point chunks, the same week gives the same trace."""
    import underlay.importers.prometheus.client as client

    url, fixture = server
    scenario = write_scenario(fixture, tmp_path)

    def week() -> Any:
        return prometheus_import(
            scenario,
            connection(url),
            trace_file="t.csv",
            range_s=7 * 86400,
            step_s=STEP_S,
            end_s=fixture.end_s,
        )

    whole = week()
    monkeypatch.setattr(client, "MAX_POINTS", 100)
    chunked = week()
    assert [s[0] for s in whole.series] == [s[0] for s in chunked.series]
    for a, b in zip(whole.series, chunked.series, strict=True):
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2], b[2])
