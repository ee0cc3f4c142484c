"""End to end: `underlay compare --json` on a hybrid with two shared-cluster parts.

Internal tenants (web, blog) on shared bare metal, untrusted ones (ci, lab) in kata
sandboxes: each part is a shared cluster of its own, beside both pure substrates.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.cli import app

runner = CliRunner()


def _tenant(name: str, isolation: str, version: str) -> dict[str, object]:
    return make_tenant(
        name,
        isolation=isolation,
        kubernetes_version=version,
        upgrade_cadence_months=4,
        workloads=[make_workload("w", replicas=4, cpu="1", memory="2Gi")],
    )


def test_compare_json_runs_two_shared_clusters(tmp_path: Path) -> None:
    data = scenario_dict(
        hardware={
            "host_models": [
                make_host_model(power={"idle_watts": 100, "peak_watts": 400}, cores=32)
            ],
            "topology": {"racks": 2},
        },
        substrates=[
            {"kind": "baremetal-shared"},
            {"kind": "sandboxed"},
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {
                        "name": "metal",
                        "substrate": {"kind": "baremetal-shared"},
                        "isolation": ["internal"],
                    },
                    {
                        "name": "boxes",
                        "substrate": {"kind": "sandboxed"},
                        "isolation": ["untrusted"],
                    },
                ],
            },
        ],
        tenants=[
            _tenant("web", "internal", "1.33"),
            _tenant("blog", "internal", "1.33"),
            _tenant("ci", "untrusted", "1.32"),
            _tenant("lab", "untrusted", "1.32"),
        ],
        simulation={"horizon_hours": 6, "step_minutes": 15},
        failures={"trials": 20},
        lifecycle={"horizon_years": 1},
    )
    path = tmp_path / "two-shared.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = runner.invoke(app, ["compare", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    out = {s["name"]: s for s in json.loads(result.stdout)["substrates"]}
    mixed = out["mixed"]
    # each part's tenants run their own cluster's version (both want one version there);
    # the pure shared substrates run one version for all (a 2-2 tie: the newer, 1.33)
    running = {t["name"]: t["kubernetes_version"]["running"] for t in mixed["tenants"]}
    assert running == {"web": "1.33", "blog": "1.33", "ci": "1.32", "lab": "1.32"}
    for pure in ("baremetal-shared", "sandboxed"):
        assert {t["kubernetes_version"]["running"] for t in out[pure]["tenants"]} == {"1.33"}
    # two shared clusters, each with its own (stacked, by default) control plane
    assert mixed["control_plane_modes"] == {"stacked": 2}
    assert mixed["cost"]["clusters_operated"] == 2
    events = {(e["cluster"], tuple(e["tenants"])) for e in mixed["lifecycle"]["events"]}
    assert events == {("shared (metal)", ("web", "blog")), ("shared (boxes)", ("ci", "lab"))}
