"""``underlay export`` end to end on small scenarios: what it writes, and bad input (one
`Error:` line, exit 2, no folder written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from factories import make_host_model, make_tenant, make_workload, scenario_yaml
from underlay.cli import app

runner = CliRunner()

PINNED = make_workload(
    "db", replicas=2, cpu="4", memory="8Gi", limits={"cpu": "4", "memory": "8Gi"}
)
SHARED = make_workload("web", replicas=3, cpu="500m", memory="1Gi")
POLICY = {"per_node": 250, "per_core": 2, "pod_cidr_prefix": 23}
PLAN = {
    "kind": "hybrid",
    "name": "plan",
    "parts": [{"name": "metal", "substrate": {"kind": "baremetal-dedicated"}, "tenants": ["t"]}],
}


def _scenario(tmp_path: Path, **overrides: Any) -> Path:
    path = tmp_path / "s.yaml"
    tenant = make_tenant(workloads=[PINNED, SHARED], max_pods=POLICY)
    path.write_text(scenario_yaml(tenants=[tenant], **overrides), encoding="utf-8")
    return path


def _export(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["export", *args])
    return result.exit_code, result.stderr


def _objects(folder: Path) -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(folder.rglob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
    ]


def _kubelet(objects: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for o in objects:
        if o["kind"] == "KubeadmConfigTemplate":
            reg = o["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]
            out.append({a["name"]: a["value"] for a in reg["kubeletExtraArgs"]})
    return out


def test_a_bare_metal_export(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, err = _export(str(_scenario(tmp_path)), "-s", "baremetal-dedicated", "-o", str(out))
    assert code == 0, err
    assert "Wrote" in err and "capi-metal3" in err
    objects = _objects(out)
    kinds = {o["kind"] for o in objects}
    assert {"Cluster", "KubeadmControlPlane", "Metal3Cluster", "BareMetalHost"} <= kinds
    for args in _kubelet(objects):
        # max pods: min(per_node 250, half of a /23's 512 addresses, 2 per core x 64) = 128
        assert args["max-pods"] == str(min(250, 2 ** (32 - 23) // 2, 2 * 64))
        # the db pods are Guaranteed with whole CPUs: the static CPU manager pins them
        assert args.get("cpu-manager-policy") == "static"
    kcp = next(o for o in objects if o["kind"] == "KubeadmControlPlane")
    cm = kcp["spec"]["kubeadmConfigSpec"]["clusterConfiguration"]["controllerManager"]
    assert cm["extraArgs"] == [{"name": "node-cidr-mask-size", "value": "23"}]
    assert kcp["spec"]["version"] == "v1.33.0"  # the tenant's default version


def test_a_kubevirt_export_pins_the_pinned_vms(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, err = _export(str(_scenario(tmp_path)), "-s", "vm", "-o", str(out))
    assert code == 0, err
    assert "capi-kubevirt" in err  # the default target of KVM VMs
    objects = _objects(out)
    templates = [o for o in objects if o["kind"] == "KubevirtMachineTemplate"]
    pinned = {
        t["metadata"]["name"]
        for t in templates
        if t["spec"]["template"]["spec"]["virtualMachineTemplate"]["spec"]["template"]["spec"][
            "domain"
        ]["cpu"].get("dedicatedCpuPlacement")
    }
    static = {
        o["metadata"]["name"]
        for o, args in zip(
            [o for o in objects if o["kind"] == "KubeadmConfigTemplate"],
            _kubelet(objects),
            strict=True,
        )
        if args.get("cpu-manager-policy") == "static"
    }
    assert static and pinned == static


def test_a_plan_file_exports_its_plan(tmp_path: Path) -> None:
    path = _scenario(tmp_path, substrates=[{"kind": "vm"}, PLAN])
    code, err = _export(str(path), "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert "capi-metal3" in err  # the plan: bare metal, not the vm substrate listed first


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-s", "nope"], "--substrate nope: "),
        ([], "which substrate?"),
        (["-s", "vm", "-t", "capi-metal3"], "capi-metal3 cannot express"),
        (
            ["-s", "vm", "-t", "capi-vsphere"],
            "its VMs are esxi): export it with --target capi-kubevirt",
        ),
        (["-s", "baremetal-dedicated", "-t", "capi-kubevirt"], "has no VMs for capi-kubevirt"),
        (["-s", "vm", "-t", "helm"], "--target helm: unknown"),
    ],
    ids=["unknown substrate", "no substrate", "vm to metal3", "kvm to vsphere", "no vms", "target"],
)
def test_bad_input_writes_nothing(tmp_path: Path, args: list[str], needle: str) -> None:
    path = _scenario(tmp_path)
    code, err = _export(str(path), "-o", str(tmp_path / "out"), *args)
    assert code == 2
    assert err.startswith("Error:") and needle in err, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # no folder, no temp


def test_a_hosted_control_plane_cannot_be_a_kubeadm_one(tmp_path: Path) -> None:
    tenant = make_tenant(workloads=[SHARED], control_plane="hosted")
    path = tmp_path / "s.yaml"
    path.write_text(scenario_yaml(tenants=[tenant]), encoding="utf-8")
    code, err = _export(str(path), "-s", "baremetal-dedicated", "-o", str(tmp_path / "out"))
    assert code == 2 and "control plane is hosted" in err
    assert not (tmp_path / "out").exists()


def test_a_non_empty_folder_needs_force(tmp_path: Path) -> None:
    path, out = _scenario(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / "old.yaml").write_text("x: 1\n")
    code, err = _export(str(path), "-s", "baremetal-dedicated", "-o", str(out))
    assert code == 2 and "--force" in err
    assert (out / "old.yaml").exists()
    code, err = _export(str(path), "-s", "baremetal-dedicated", "-o", str(out), "--force")
    assert code == 0, err
    assert not (out / "old.yaml").exists() and _objects(out)


def test_a_control_plane_over_two_host_models_is_refused(tmp_path: Path) -> None:
    # the first pods need a GPU: the stacked control plane takes the GPU host they open,
    # the other two replicas hosts of the model the other pods prefer (two machines)
    gpu = make_host_model("gpu", gpus={"model": "L4", "count": 8})
    tenant = make_tenant(
        workloads=[make_workload("train", gpu={"count": 1}), make_workload("web", replicas=60)]
    )
    path = tmp_path / "s.yaml"
    hardware = {"host_models": [make_host_model("cpu"), gpu]}
    path.write_text(scenario_yaml(hardware=hardware, tenants=[tenant]), encoding="utf-8")
    code, err = _export(str(path), "-s", "baremetal-dedicated", "-o", str(tmp_path / "out"))
    assert code == 2 and "one machine template" in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["kubernetes", "karpenter"])
def test_the_targets_for_clusters_that_exist(tmp_path: Path, target: str) -> None:
    out = tmp_path / "out"
    args = ["-s", "baremetal-dedicated", "-t", target, "-o", str(out)]
    code, err = _export(str(_scenario(tmp_path)), *args)
    assert code == 0, err
    kinds = {o["kind"] for o in _objects(out)}
    assert ("NodePool" in kinds) if target == "karpenter" else ("Namespace" in kinds)
    merged = tmp_path / "merged"
    code, err = _export(str(_scenario(tmp_path)), *args[:-1], str(merged), "--into", "prod")
    assert code == 0, err
    assert [p.name for p in merged.iterdir()] == ["prod"]


def test_into_is_for_the_targets_of_existing_clusters(tmp_path: Path) -> None:
    code, err = _export(str(_scenario(tmp_path)), "-s", "vm", "--into", "prod", "-o", "x")
    assert code == 2 and "--into prod: only with --target" in err
