"""Failure domains from node labels: zones (topology.kubernetes.io/zone) and racks (the
first of the common rack labels a node has; Kubernetes defines no rack label)."""

from __future__ import annotations

from typing import Any

from underlay.importers.kubectl.api import build_scenario


def node(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {
            "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.30.2"},
        },
    }


POD = {
    "metadata": {"name": "web-1", "namespace": "shop"},
    "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
    "status": {"phase": "Running"},
}


def test_racks_and_zones_from_labels() -> None:
    # 5 nodes in 2 zones; 3 racks (two label spellings): hosts_per_rack = ceil(5 / 3) = 2
    nodes = [
        node("n1", {"topology.kubernetes.io/zone": "a", "topology.kubernetes.io/rack": "r1"}),
        node("n2", {"topology.kubernetes.io/zone": "a", "topology.kubernetes.io/rack": "r1"}),
        node("n3", {"topology.kubernetes.io/zone": "a", "topology.rook.io/rack": "r2"}),
        node("n4", {"topology.kubernetes.io/zone": "b", "rack": "r3"}),
        node("n5", {"topology.kubernetes.io/zone": "b", "rack": "r3"}),
    ]
    result = build_scenario(nodes, [POD], name="racks")
    topology = result.scenario.hardware.topology
    assert (topology.zones, topology.racks, topology.hosts_per_rack) == (2, 3, 2)
    assert "racks from the nodes' rack labels: r1, r2, r3" in result.text


def test_no_rack_label_keeps_the_default_topology() -> None:
    result = build_scenario([node("n1", {}), node("n2", {})], [POD], name="plain")
    topology = result.scenario.hardware.topology
    assert topology.racks is None and topology.zones == 1
    assert "racks from" not in result.text
