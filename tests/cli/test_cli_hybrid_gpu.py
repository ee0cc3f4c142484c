"""End to end: `underlay compare --json` on a hybrid whose bare-metal part takes the GPU
workloads, one tenant split between it and a vm part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.cli import app

runner = CliRunner()
POWER = {"idle_watts": 100, "peak_watts": 400}
TRAIN = make_workload(
    "train",
    replicas=2,
    cpu="8",
    memory="32Gi",
    gpu={"count": 8, "models": ["A100-80GB"]},
    **{"class": "gpu-training"},
)
API = make_workload("api", replicas=12, cpu="2")
VMS = {"kind": "vm", "sizing": "requests"}


def _scenario(workloads: list[dict[str, Any]], substrates: list[dict[str, Any]]) -> dict[str, Any]:
    return scenario_dict(
        hardware={
            "host_models": [
                make_host_model("std", cores=32, power=POWER),
                make_host_model(
                    "a100",
                    cores=128,
                    memory="1Ti",
                    gpus={"model": "A100-80GB", "count": 8},
                    power=POWER,
                ),
            ],
            "topology": {"racks": 2},
        },
        substrates=substrates,
        tenants=[make_tenant("ml", workloads=workloads)],
        simulation={"horizon_hours": 6, "step_minutes": 15},
        failures={"trials": 20},
        lifecycle={"horizon_years": 1},
    )


HYBRID = {
    "kind": "hybrid",
    "name": "gpu-on-metal",
    "parts": [
        {"name": "metal", "substrate": {"kind": "baremetal-dedicated"}, "gpu_workloads": True},
        {"name": "vms", "substrate": VMS, "tenants": ["ml"]},
    ],
}


def _compare(folder: Path, data: dict[str, Any]) -> dict[str, Any]:
    folder.mkdir(exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = runner.invoke(app, ["compare", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_compare_json_runs_a_tenant_split_by_gpu(tmp_path: Path) -> None:
    subs = [{"kind": "baremetal-dedicated"}, VMS, HYBRID]
    out = _compare(tmp_path / "all", _scenario([TRAIN, API], subs))
    by_name = {s["name"]: s for s in out["substrates"]}
    mixed = by_name["gpu-on-metal"]
    assert mixed["kind"] == "hybrid"
    assert mixed["pods"] == {"requested": 14, "placed": 14}
    # its hosts: train alone on bare metal plus api alone in VMs (each part on its pool)
    metal = _compare(tmp_path / "train", _scenario([TRAIN], subs[:2]))
    vms = _compare(tmp_path / "api", _scenario([API], subs[:2]))
    assert (
        mixed["hosts"]["total"]
        == metal["substrates"][0]["hosts"]["total"] + vms["substrates"][1]["hosts"]["total"]
    )
    for section in ("simulation", "isolation", "failures", "lifecycle", "cost"):
        assert mixed[section], section
    assert [t["name"] for t in mixed["simulation"]["tenants"]] == ["ml"]
    assert "gpu-on-metal" in json.dumps(out["decision"]["substrates"])


def test_compare_json_parts_share_one_inventory(tmp_path: Path) -> None:
    # 2 a100 hosts owned: the metal part (first in the file) takes both for its 2 train
    # pods (each asks for all 8 GPUs of a host); the vm part finds no host left, so its
    # 12 api pods are unplaced: 2 of 14 placed, 2 hosts opened, none idle.
    data = _scenario([TRAIN, API], [{"kind": "baremetal-dedicated"}, HYBRID])
    data["hardware"]["inventory"] = [{"model": "a100", "count": 2}]
    out = _compare(tmp_path, data)
    mixed = out["substrates"][1]
    assert mixed["sized_by_underlay"] is False
    assert mixed["pods"] == {"requested": 14, "placed": 2}
    assert (mixed["hosts"]["total"], mixed["hosts"]["idle"]) == (2, 0)
