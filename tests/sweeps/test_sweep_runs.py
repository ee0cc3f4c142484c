"""Sweeps end to end: rows per point × substrate × tenant equal to a direct comparison of
each point's scenario; a sweep killed with SIGKILL resumes without losing or repeating a
point; Ray's local mode; ``compare --db`` and ``underlay results``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from sweep_cases import SUBSTRATES, TENANTS, tiny_scenario
from typer.testing import CliRunner

from underlay.cli import app
from underlay.model.loading import load_scenario
from underlay.pipeline import analyse, compare, simulate
from underlay.report.json import comparison_to_dict

runner = CliRunner()


def _direct(path: Path) -> dict[str, Any]:
    """``compare --json`` of the scenario at ``path``, through the pipeline functions."""
    from underlay.decision.decide import decide
    from underlay.report.json_decision import decision_to_dict

    sc = load_scenario(path)
    comparison = compare(sc)
    simulation = simulate(sc, comparison=comparison)
    analysis = analyse(comparison, simulation)
    doc = comparison_to_dict(comparison, simulation, analysis)
    doc["decision"] = decision_to_dict(decide(comparison, simulation, analysis))
    return doc


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_a_small_grid_end_to_end_equals_direct_comparisons(tmp_path: Path) -> None:
    scenario = tiny_scenario(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text("weights.cost: [1, 3]\ntenants.web.workloads.api.replicas: [2, 6]\n")
    db = tmp_path / "sweep.duckdb"
    result = runner.invoke(
        app, ["sweep", str(scenario), "--grid", str(grid), "--db", str(db), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    rows = _rows(db, "SELECT * FROM results ORDER BY point, rowid")
    # 2 × 2 points × 2 substrates × 2 tenants
    assert len(rows) == 4 * len(SUBSTRATES) * len(TENANTS)
    # the last point: cost weighed 3, web's api at 6 replicas, written by hand
    data = yaml.safe_load(scenario.read_text())
    data["weights"] = {"cost": 3}
    data["tenants"][0]["workloads"][0]["replicas"] = 6
    direct_path = tmp_path / "point3.yaml"
    direct_path.write_text(yaml.safe_dump(data))
    doc = _direct(direct_path)
    mine = [r for r in rows if r["point"] == 3]
    assert [(r["substrate"], r["tenant"]) for r in mine] == [
        (s, t) for s in SUBSTRATES for t in TENANTS
    ]
    winner = doc["decision"]["verdict"]["winner"]
    for k, sub in enumerate(doc["substrates"]):
        for tenant in sub["tenants"]:
            row = next(
                r for r in mine if (r["substrate"], r["tenant"]) == (sub["name"], tenant["name"])
            )
            sim = next(t for t in sub["simulation"]["tenants"] if t["name"] == tenant["name"])
            cost = next(t for t in sub["cost"]["tenants"] if t["name"] == tenant["name"])
            fail = next(t for t in sub["failures"]["tenants"] if t["name"] == tenant["name"])
            iso = next(t for t in sub["isolation"]["tenants"] if t["name"] == tenant["name"])
            life = next(t for t in sub["lifecycle"]["tenants"] if t["name"] == tenant["name"])
            scores = next(t for t in doc["decision"]["tenants"] if t["name"] == tenant["name"])
            assert row["p_weights_cost"] == 3 and row["p_tenants_web_workloads_api_replicas"] == 6
            assert row["placement_pods_placed"] == tenant["pods"]["placed"]
            assert row["placement_cost_per_month_usd"] == tenant["cost_per_month_usd"]
            assert row["sim_sla_attainment_percent"] == sim["sla"]["attainment_percent"]
            assert row["sim_cpu_core_hours_demand"] == sim["cpu_core_hours"]["demand"]
            assert row["cost_per_month_usd_total"] == cost["per_month_usd"]["total"]
            assert row["failures_availability_mean"] == fail["availability"]["mean"]
            assert row["isolation_shares_kernel_with"] == json.dumps(iso["shares_kernel_with"])
            assert row["lifecycle_forced_upgrades"] == life["forced_upgrades"]
            assert row["score_total"] == scores["totals"][k]
            assert row["substrate_hosts_total"] == sub["hosts"]["total"]
            assert row["verdict_winner"] == winner
            assert row["is_winner"] == (sub["name"] == winner)
    runs = _rows(db, "SELECT point, winner, parameters FROM runs ORDER BY point")
    assert [r["point"] for r in runs] == [0, 1, 2, 3]
    assert runs[3]["winner"] == winner
    assert json.loads(runs[3]["parameters"]) == {
        "weights.cost": 3,
        "tenants.web.workloads.api.replicas": 6,
    }
    # the weight entered the decision: the document's weights say so
    (stored,) = _rows(db, "SELECT document FROM runs WHERE point = 3")
    assert json.loads(stored["document"])["decision"]["weights"]["cost"] == 3
    # two runs side by side: a line per substrate × tenant × figure
    both = runner.invoke(
        app, ["results", str(db), "--run", "1", "--run", "4"], env={"COLUMNS": "200"}
    )
    assert both.exit_code == 0, both.output
    assert "score_total" in both.stdout and "change" in both.stdout


# The sweep in a child process, every run of a point logged (index) before it starts.
_CHILD = textwrap.dedent(
    """
    import sys
    from underlay.sweeps import points
    real, path = points.run_point, sys.argv[1]
    def logged(job):
        with open(path, "a") as log:
            log.write(f"{job.index}\\n")
        return real(job)
    points.run_point = logged
    from underlay.entry import main
    sys.argv = ["underlay", *sys.argv[2:]]
    main()
    """
)


def _start(log: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(log), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_a_killed_sweep_resumes_without_losing_or_repeating_a_point(tmp_path: Path) -> None:
    scenario = tiny_scenario(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text("seed: [0, 1, 2, 3, 4, 5]\n")
    db, log = tmp_path / "sweep.duckdb", tmp_path / "runs.log"
    args = ("sweep", str(scenario), "--grid", str(grid), "--db", str(db), "--workers", "1")
    child = _start(log, *args)
    assert child.stderr is not None
    done = []
    deadline = time.monotonic() + 300
    while len(done) < 2 and time.monotonic() < deadline:  # a line per committed point
        line = child.stderr.readline()
        if not line:
            break
        if line.startswith("point "):
            done.append(int(line.split()[1]))
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert len(done) == 2, "the sweep did not commit two points"
    committed = {r["point"] for r in _rows(db, "SELECT point FROM runs")}
    assert committed >= set(done) and len(committed) < 6
    first = [int(x) for x in log.read_text().split()]

    child = _start(log, *args)
    _, stderr = child.communicate(timeout=300)
    assert child.returncode == 0, stderr
    second = [int(x) for x in log.read_text().split()][len(first) :]
    # nothing committed before the kill ran again; every point is in the file once
    assert not committed & set(second)
    assert sorted(committed | set(second)) == list(range(6))
    runs = _rows(db, "SELECT point, count(*) AS n FROM runs GROUP BY point ORDER BY point")
    assert [(r["point"], r["n"]) for r in runs] == [(p, 1) for p in range(6)]
    assert _rows(db, "SELECT count(*) AS n FROM results")[0]["n"] == 6 * 2 * 2
    assert f"6 points, {len(committed)} already in" in stderr


_SAME = (
    "SELECT point, substrate, tenant, cost_per_month_usd_total, sim_sla_attainment_percent, "
    "failures_availability_mean, score_total, verdict_winner FROM results "
    "ORDER BY point, substrate, tenant"
)


def test_a_process_pool_gives_the_figures_of_one_process(tmp_path: Path) -> None:
    scenario = tiny_scenario(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text("seed: [3, 4]\n")
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    base = ["sweep", str(scenario), "--grid", str(grid)]
    assert runner.invoke(app, [*base, "--db", str(one), "--workers", "1"]).exit_code == 0
    result = runner.invoke(app, [*base, "--db", str(two), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert _rows(two, _SAME) == _rows(one, _SAME)
    assert len(_rows(two, _SAME)) == 2 * 2 * 2


def test_ray_local_mode_gives_the_local_figures(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'underlay[ray]'")
    scenario = tiny_scenario(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text("weights.cost: [1, 3]\n")
    local, on_ray = tmp_path / "local.duckdb", tmp_path / "ray.duckdb"
    base = ["sweep", str(scenario), "--grid", str(grid)]
    assert runner.invoke(app, [*base, "--db", str(local), "--workers", "1"]).exit_code == 0
    result = runner.invoke(app, [*base, "--db", str(on_ray), "--ray", "local"])
    assert result.exit_code == 0, result.output
    assert _rows(on_ray, _SAME) == _rows(local, _SAME)
    assert len(_rows(on_ray, _SAME)) == 2 * 2 * 2


def test_compare_db_stores_one_run_and_results_shows_exports_it(tmp_path: Path) -> None:
    scenario = tiny_scenario(tmp_path)
    db = tmp_path / "history.duckdb"
    result = runner.invoke(app, ["compare", str(scenario), "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    (run,) = _rows(db, "SELECT run_id, sweep_id, winner, document FROM runs")
    assert run["sweep_id"] is None
    assert run["winner"] == doc["decision"]["verdict"]["winner"]
    assert json.loads(run["document"]) == doc
    shown = runner.invoke(app, ["results", str(db), "--run", str(run["run_id"])])
    assert shown.exit_code == 0 and "web" in shown.stdout
    out = tmp_path / "rows.csv"
    exported = runner.invoke(
        app, ["results", str(db), "--sql", "SELECT tenant FROM results", "--csv", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert out.read_text().split() == ["tenant", "web", "bank", "web", "bank"]
    bad = runner.invoke(app, ["results", str(db), "--sql", "SELECT nope FROM results"])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --sql: ")
    missing = runner.invoke(app, ["results", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no such results file" in missing.stderr


def test_a_failed_point_is_stored_with_its_reason_and_not_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from underlay.sweeps import points
    from underlay.sweeps.points import PointJob, PointResult

    real = points.run_point
    ran: list[int] = []

    def fail_point_1(job: PointJob) -> PointResult:
        ran.append(job.index)
        if job.index == 1:  # as a point whose scenario cannot be compared
            return PointResult(job.index, None, "nothing fits", 0.0)
        return real(job)

    monkeypatch.setattr(points, "run_point", fail_point_1)
    scenario = tiny_scenario(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text("seed: [0, 1, 2]\n")
    db = tmp_path / "sweep.duckdb"
    args = ["sweep", str(scenario), "--grid", str(grid), "--db", str(db), "--workers", "1"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "1 failed" in first.stderr
    runs = _rows(db, "SELECT point, status, error, winner FROM runs ORDER BY point")
    assert [(r["point"], r["status"], r["error"]) for r in runs] == [
        (0, "done", None),
        (1, "failed", "nothing fits"),
        (2, "done", None),
    ]
    assert runs[1]["winner"] is None
    # its rows: none; the others' 2 substrates × 2 tenants each
    counts = _rows(db, "SELECT point, count(*) AS n FROM results GROUP BY point ORDER BY point")
    assert [(r["point"], r["n"]) for r in counts] == [(0, 4), (2, 4)]
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert ran == [0, 1, 2]  # the second sweep ran nothing
