"""End to end: `underlay compare` on a scenario with a hybrid substrate, terminal and JSON.

The hybrid is one more column beside the pure substrates: every section runs on it, and
its hosts are those of its parts placed alone (each part on its own pool).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.cli import app

runner = CliRunner()


def _scenario() -> dict[str, Any]:
    return scenario_dict(
        hardware={
            "host_models": [
                make_host_model(power={"idle_watts": 100, "peak_watts": 400}, cores=32)
            ],
            "topology": {"racks": 2},
        },
        substrates=[
            {"kind": "baremetal-shared"},
            {"kind": "vm", "sizing": "requests"},
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {
                        "name": "shared",
                        "substrate": {"kind": "baremetal-shared"},
                        "tenants": ["web"],
                    },
                    {
                        "name": "vms",
                        "substrate": {"kind": "vm", "sizing": "requests"},
                        "isolation": ["regulated"],
                    },
                ],
            },
        ],
        tenants=[
            make_tenant("web", workloads=[make_workload("api", replicas=12, cpu="2")]),
            make_tenant(
                "bank",
                isolation="regulated",
                workloads=[make_workload("ledger", replicas=6, cpu="4", memory="8Gi")],
            ),
        ],
        simulation={"horizon_hours": 6, "step_minutes": 15},
        failures={"trials": 20},
        lifecycle={"horizon_years": 1},
    )


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "hybrid.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def test_compare_json_has_the_hybrid_as_a_column(tmp_path: Path) -> None:
    path = _write(tmp_path, _scenario())
    out = json.loads(_run("compare", str(path), "--json"))
    by_name = {s["name"]: s for s in out["substrates"]}
    assert list(by_name) == ["baremetal-shared", "vm", "mixed"]
    mixed = by_name["mixed"]
    assert mixed["kind"] == "hybrid"
    assert mixed["pods"] == {"requested": 18, "placed": 18}
    # its hosts are those of each part placed alone: web on shared bare metal, bank in VMs
    alone = [
        _hosts(tmp_path, "web", {"kind": "baremetal-shared"}),
        _hosts(tmp_path, "bank", {"kind": "vm", "sizing": "requests"}),
    ]
    assert mixed["hosts"]["total"] == sum(alone)
    # every stage ran on it: the replay and the four analyses, and the scorecard
    for section in ("simulation", "isolation", "failures", "lifecycle", "cost"):
        assert mixed[section], section
    assert [t["name"] for t in mixed["simulation"]["tenants"]] == ["web", "bank"]
    assert "mixed" in json.dumps(out["decision"]["substrates"])


def _hosts(tmp_path: Path, tenant: str, substrate: dict[str, Any]) -> int:
    data = _scenario()
    data["tenants"] = [t for t in data["tenants"] if t["name"] == tenant]
    # a second substrate beside it: with one alone, the verdict's lead is infinite, which
    # `compare --json` cannot write yet (a known bug of the sensitivity tornado)
    data["substrates"] = [substrate, {"kind": "baremetal-dedicated"}]
    folder = tmp_path / tenant
    folder.mkdir()
    out = json.loads(_run("compare", str(_write(folder, data)), "--json"))
    total: int = out["substrates"][0]["hosts"]["total"]
    return total


def test_compare_terminal_shows_the_hybrid(tmp_path: Path) -> None:
    out = _run("compare", str(_write(tmp_path, _scenario())))
    header = next(line for line in out.splitlines() if "baremetal-shared" in line)
    assert "vm" in header and "mixed" in header
