"""``underlay import cluster`` on a synthetic 100k-pod cluster served over HTTPS.

The API server of the tests (tests/kube_api_server.py) runs in its own process, so its
CPU and memory are not the importer's, and serves a seeded synthetic cluster: ``--pods``
pods (about 3.5 KB of JSON each, as a real API server sends them: managedFields, env,
volumes, status conditions), 30 pods a node, Deployments of 1 to 50 replicas behind their
ReplicaSets in ``--namespaces`` namespaces, 5 % CronJob pods behind their Jobs, DaemonSet
pods on every node. Pages are built on demand by the server.

The server makes each page once, on a first untimed pass, and then sends it from memory,
so the timed pass measures the importer. It prints the wall time of the whole import (version, 7 paged lists, cutting, owner
tracing, building and validating the scenario), the importer process's peak RSS
(``ru_maxrss``), and a ratio measured in the same run: the client's typed models
(``list_pod_for_all_namespaces`` with ``_preload_content=True``, one Python object per
field) against the raw JSON the importer reads, both on the first ``--baseline-pods``
pods.

    nice .venv/bin/python benchmarks/cluster_import.py                 # 100k pods
    .venv/bin/python benchmarks/cluster_import.py --pods 10000         # quick
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from kube_api_server import ApiState, make_certificate, serve, write_kubeconfig

PODS_PER_NODE = 30
DAEMONSETS = ("kube-proxy", "node-exporter")


def _deployment_of(index: int, seed: int) -> int:
    """Pods are laid out deployment after deployment, each of 1..50 replicas."""
    return (index * 2654435761 + seed) % 1_000_000 // 25


def _pod(index: int, pods: int, namespaces: int) -> dict[str, Any]:
    nodes = max(1, pods // PODS_PER_NODE)
    node = f"node-{index % nodes:05d}"
    daemon = index < 2 * nodes
    cron = not daemon and index % 20 == 0
    deployment = index // 25  # 25 replicas a Deployment on average
    namespace = "kube-system" if daemon else f"team-{deployment % namespaces:03d}"
    if daemon:
        owner = {"kind": "DaemonSet", "name": DAEMONSETS[index // nodes]}
        labels = {"app": owner["name"]}
    elif cron:
        owner = {"kind": "Job", "name": f"batch-{deployment}-{28391040 + index % 7}"}
        labels = {"job-name": owner["name"], "team": namespace}
    else:
        owner = {"kind": "ReplicaSet", "name": f"svc-{deployment}-7d4b9c8f5d"}
        labels = {"app": f"svc-{deployment}", "pod-template-hash": "7d4b9c8f5d", "team": namespace}
    name = f"{owner['name']}-{index:06x}"
    cpu = f"{100 * (1 + deployment % 8)}m"
    memory = f"{128 * (1 + deployment % 16)}Mi"
    container = {
        "name": "app",
        "image": f"registry.example/app-{deployment}:1.{index % 9}",
        "env": [{"name": f"VAR_{k}", "value": f"value-{k}-{index}"} for k in range(5)],
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        "volumeMounts": [
            {"name": "kube-api-access", "mountPath": "/var/run/secrets", "readOnly": True}
        ],
        "terminationMessagePath": "/dev/termination-log",
        "imagePullPolicy": "IfNotPresent",
    }
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"{index:08x}-0000-4000-8000-000000000000",
            "resourceVersion": str(1000 + index),
            "creationTimestamp": "2026-11-01T10:00:00Z",
            "labels": labels,
            "annotations": {"prometheus.io/scrape": "true", "checksum/config": "ab" * 32},
            "ownerReferences": [{**owner, "apiVersion": "apps/v1", "controller": True, "uid": "x"}],
            "managedFields": [
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {f"f:{k}": {} for k in labels}}},
                }
            ],
        },
        "spec": {
            "containers": [container],
            "nodeName": node,
            "volumes": [
                {
                    "name": "kube-api-access",
                    "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
                }
            ],
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}
            ],
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": "2026-11-01T10:00:05Z"}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "hostIP": "10.0.0.1",
            "podIP": f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}",
            "qosClass": "Burstable",
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": True,
                    "restartCount": 0,
                    "image": container["image"],
                    "imageID": f"registry.example/app@sha256:{index:064x}",
                    "containerID": f"containerd://{index:064x}",
                    "started": True,
                    "state": {"running": {"startedAt": "2026-11-01T10:00:04Z"}},
                }
            ],
        },
    }


def _node(index: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"node-{index:05d}",
            "labels": {
                "node.kubernetes.io/instance-type": "m6i.8xlarge",
                "topology.kubernetes.io/zone": f"zone-{index % 3}",
            },
        },
        "spec": {
            "podCIDR": f"10.{index // 256}.{index % 256}.0/24",
            "providerID": f"aws:///i-{index:08x}",
        },
        "status": {
            "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
            "allocatable": {"cpu": "31850m", "memory": "125Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.30.2"},
            "images": [
                {"names": [f"registry.example/app-{k}:1.0"], "sizeBytes": 1 << 26}
                for k in range(10)
            ],
        },
    }


def _state(pods: int, namespaces: int) -> ApiState:
    nodes = max(1, pods // PODS_PER_NODE)
    deployments = pods // 25 + 1
    state = ApiState(cache={})
    state.lists["/api/v1/pods"] = lambda a, b: [_pod(i, pods, namespaces) for i in range(a, b)]
    state.sizes["/api/v1/pods"] = pods
    state.lists["/api/v1/nodes"] = lambda a, b: [_node(i) for i in range(a, b)]
    state.sizes["/api/v1/nodes"] = nodes
    state.lists["/apis/apps/v1/replicasets"] = lambda a, b: [
        {
            "metadata": {
                "name": f"svc-{d}-7d4b9c8f5d",
                "namespace": f"team-{d % namespaces:03d}",
                "ownerReferences": [{"kind": "Deployment", "name": f"svc-{d}", "controller": True}],
            }
        }
        for d in range(a, b)
    ]
    state.sizes["/apis/apps/v1/replicasets"] = deployments
    state.lists["/apis/batch/v1/jobs"] = []
    state.lists["/api/v1/namespaces"] = [
        {"metadata": {"name": f"team-{n:03d}", "labels": {"team": f"t{n % 20}"}}}
        for n in range(namespaces)
    ]
    state.lists["/apis/policy/v1/poddisruptionbudgets"] = []
    state.lists["/apis/node.k8s.io/v1/runtimeclasses"] = []
    return state


def _serve(pods: int, namespaces: int, folder: str, ready: Any, stop: Any) -> None:
    cert, key = Path(folder) / "server.crt", Path(folder) / "server.key"
    with serve(_state(pods, namespaces), cert, key) as url:
        ready.put(url)
        stop.wait()


def _baseline(kubeconfig: Path, pods: int) -> tuple[float, float]:
    """Seconds to list ``pods`` pods as typed models and as raw JSON (pages of 500)."""
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    times = []
    for preload in (True, False):
        start, token, seen = time.perf_counter(), None, 0
        while seen < pods:
            answer = api.list_pod_for_all_namespaces(
                limit=500, _continue=token, _preload_content=preload
            )
            if preload:
                seen, token = seen + len(answer.items), answer.metadata._continue
            else:
                doc = json.loads(answer.data)
                seen, token = seen + len(doc["items"]), doc["metadata"].get("continue")
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def _warm(kubeconfig: Path) -> None:
    """Ask for every page once, holding nothing (so the peak RSS stays the import's)."""
    from underlay.importers.cluster.fetch import Connection, Limits
    from underlay.importers.cluster.reads import READS

    connection = Connection(kubeconfig, None, Limits())
    for read in READS:
        connection.list_objects(read, lambda _: None, selector=None, progress=None)


def _import(kubeconfig: Path) -> tuple[float, float, float, float, str]:
    """The steps of ``import_cluster``, timed apart: ``(total s, reading s, peak RSS MiB,
    RSS before MiB, summary)``."""
    from underlay.importers.cluster.build import build_from_reads
    from underlay.importers.cluster.fetch import Connection, Limits
    from underlay.importers.cluster.read import read_cluster

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The server makes its pages on the first read and keeps them: time the second.
    _warm(kubeconfig)
    start = time.perf_counter()
    read = read_cluster(Connection(kubeconfig, None, Limits()), selector=None, progress=None)
    reading = time.perf_counter() - start
    result = build_from_reads([read], None, name="bench")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return seconds, reading, peak, rss_before, result.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--baseline-pods", type=int, default=5_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        cert, _ = make_certificate(Path(folder))
        ready: Any = multiprocessing.Queue()
        stop = multiprocessing.Event()
        server = multiprocessing.Process(
            target=_serve, args=(args.pods, args.namespaces, folder, ready, stop), daemon=True
        )
        server.start()
        try:
            url = ready.get(timeout=60)
            kubeconfig = Path(folder) / "kubeconfig"
            write_kubeconfig(kubeconfig, url, cert)
            seconds, reading, peak, rss_before, summary = _import(kubeconfig)
            typed, raw = _baseline(kubeconfig, min(args.baseline_pods, args.pods))
        finally:
            stop.set()
            server.join(timeout=10)
    print(f"pods: {args.pods:,}, nodes: {max(1, args.pods // PODS_PER_NODE):,}")
    print(
        f"import cluster: {seconds:.1f} s (reading and cutting {reading:.1f} s, the kubectl "
        f"builder {seconds - reading:.1f} s), peak RSS {peak:.0f} MiB "
        f"(before the import {rss_before:.0f} MiB)"
    )
    print(f"  {summary}")
    print(
        f"baseline, {min(args.baseline_pods, args.pods):,} pods listed: typed models {typed:.2f} s, "
        f"raw JSON {raw:.2f} s: raw is {typed / raw:.1f}x faster"
    )


if __name__ == "__main__":
    main()
