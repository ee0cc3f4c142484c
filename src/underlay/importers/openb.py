"""``underlay import openb``: a scenario from the Alibaba GPU cluster trace (2023, "openb").

Mapping rules:

- **hosts**: nodes with identical (CPU, memory, GPU count, GPU model) become one host
  model named ``<model>-<gpus>gpu-<cores>c`` (``cpu-<cores>c`` without GPUs); the node
  list is the **inventory**. The trace gives no prices or power: prices are 0 and power
  is underlay's default until you fill them in.
- **tenants**: one per QoS class of the trace (``LS`` latency-sensitive → tenant
  ``openb-ls``, ``BE`` best-effort → ``openb-be``, ...); a pod list without the column
  is one tenant ``openb``.
- **workloads**: pods with identical requests (CPU, memory, GPUs, milli-GPU per GPU,
  allowed GPU models) become one workload whose replicas are the pod count; pods that
  allow only GPU models no node has could never run, so they are left out and counted in
  the header. ``gpu_milli``
  < 1000 is a fractional GPU (``fraction = gpu_milli / 1000``); ``gpu_spec`` gives the
  allowed models. Class: LS pods with GPUs → ``gpu-inference``; other GPU pods →
  ``gpu-training``; pods without GPUs → ``batch``.
- **fidelity**: the trace's capacities are what pods may use, so the scenario sets
  ``node_reservation: none`` and no DaemonSet pods; every pod of the list is kept,
  whatever its final phase (as the trace's reference simulator does).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Final

import numpy as np

from underlay.errors import ScenarioError, TraceError
from underlay.files import yaml_text
from underlay.importers.openb_trace import (
    OpenbNodeTable,
    OpenbPodTable,
    read_openb_nodes,
    read_openb_pods,
)
from underlay.importers.trace_import import comment_block, name_option
from underlay.model.loading import parse_scenario

__all__ = ["MAX_SAME_NODES", "MAX_SAME_PODS", "openb_scenario"]

MAX_SAME_NODES: Final = 100_000
"""Most nodes of one host model (the scenario model's inventory bound)."""
MAX_SAME_PODS: Final = 1_000_000
"""Most pods of one workload (the scenario model's replicas bound)."""

_QOS_TENANTS = {
    "LS": "openb-ls",
    "BE": "openb-be",
    "Burstable": "openb-burstable",
    "Guaranteed": "openb-guaranteed",
}


def _host_models(nodes: OpenbNodeTable) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    keys = list(
        zip(
            nodes.cpu_milli.tolist(),
            nodes.memory_mib.tolist(),
            nodes.gpu.tolist(),
            [str(m) for m in nodes.model],
            strict=True,
        )
    )
    counts = Counter(keys)
    models, inventory = [], []
    for cpu, mem, gpus, model in sorted(counts, key=lambda k: (-counts[k], k)):
        cores = cpu // 1000
        name = f"{model}-{gpus}gpu-{cores}c" if gpus and model else f"cpu-{cores}c"
        entry: dict[str, Any] = {
            "name": name,
            "cores": cpu / 1000,
            "memory": f"{mem}Mi",
            "price_usd": 0,
            "lifetime_years": 5,
        }
        if gpus and model:
            entry["gpus"] = {"model": model, "count": gpus}
        models.append(entry)
        inventory.append({"model": name, "count": counts[(cpu, mem, gpus, model)]})
    return models, inventory


def _tenants(
    pods: OpenbPodTable, known_models: set[str], left_out: Counter[str]
) -> list[dict[str, Any]]:
    groups: dict[str, Counter[tuple[int, int, int, int, str]]] = {}
    for i in range(len(pods)):
        spec = str(pods.gpu_spec[i])
        wanted = {m for m in spec.split("|") if m}
        if int(pods.num_gpu[i]) and wanted and not wanted & known_models:
            left_out[spec] += 1  # no node has any of its GPU models: it could never run
            continue
        qos = str(pods.qos[i])
        tenant = _QOS_TENANTS.get(qos, f"openb-{qos.lower()}" if qos else "openb")
        key = (
            int(pods.cpu_milli[i]),
            int(pods.memory_mib[i]),
            int(pods.num_gpu[i]),
            int(pods.gpu_milli[i]),
            str(pods.gpu_spec[i]),
        )
        groups.setdefault(tenant, Counter())[key] += 1
    tenants = []
    for tenant in sorted(groups):
        workloads = []
        for n, (key, replicas) in enumerate(sorted(groups[tenant].items())):
            cpu, mem, num_gpu, gpu_milli, spec = key
            w: dict[str, Any] = {
                "name": f"pods-{n:03d}",
                "replicas": replicas,
                "requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"},
                "class": "batch",
            }
            if num_gpu and gpu_milli:
                models = [m for m in spec.split("|") if m and m in known_models]
                w["gpu"] = {"count": num_gpu, "fraction": gpu_milli / 1000, "models": models}
                w["class"] = "gpu-inference" if tenant == "openb-ls" else "gpu-training"
            workloads.append(w)
        tenants.append({"name": tenant, "isolation": "internal", "workloads": workloads})
    return tenants


def openb_scenario(
    nodes_path: str | Path, pods_path: str | Path, *, name: str = "openb"
) -> tuple[dict[str, Any], str]:
    """The scenario (as data, validated) and a header comment describing the import.

    Every problem with the inputs is a :class:`~underlay.errors.TraceError` naming the
    file (and line where there is one); the readers check every number's range, so the
    scenario built always loads (if not, that is a bug: ``RuntimeError``).
    """
    name_option(name)
    nodes = read_openb_nodes(nodes_path)
    pods = read_openb_pods(pods_path)
    if len(nodes.sn) == 0:
        raise TraceError(f"{nodes_path}, line 2: no nodes after the header")
    if len(pods) == 0:
        raise TraceError(f"{pods_path}, line 2: no pods after the header")
    host_models, inventory = _host_models(nodes)
    crowded = [i for i in inventory if i["count"] > MAX_SAME_NODES]
    if crowded:
        raise TraceError(
            f"{nodes_path}: {crowded[0]['count']:,} nodes of one shape ({crowded[0]['model']}); "
            f"a scenario holds at most {MAX_SAME_NODES:,} of one host model"
        )
    known = {str(m) for m in nodes.model if str(m)}
    left_out: Counter[str] = Counter()
    data: dict[str, Any] = {
        "name": name,
        "description": f"Imported from the openb trace: {Path(nodes_path).name}, {Path(pods_path).name}.",
        "hardware": {"host_models": host_models, "inventory": inventory},
        "substrates": [
            {"kind": "baremetal-shared"},
            {"kind": "baremetal-dedicated"},
            {"kind": "vm", "name": "vm-passthrough", "gpu_mode": "passthrough"},
            {"kind": "vm", "name": "vm-vgpu", "gpu_mode": "vgpu"},
        ],
        "tenants": _tenants(pods, known, left_out),
        "kubernetes": {"node_reservation": "none"},
        "placement": {"strategy": "gpu-fragmentation"},
    }
    if not data["tenants"]:
        raise TraceError(
            f"{pods_path}: no pod can run: every pod asks only for GPU models no node of "
            f"{nodes_path} has ({', '.join(sorted(left_out)[:5])})"
        )
    for tenant in data["tenants"]:
        for w in tenant["workloads"]:
            if w["replicas"] > MAX_SAME_PODS:
                raise TraceError(
                    f"{pods_path}: {w['replicas']:,} pods with the same requests (cpu "
                    f"{w['requests']['cpu']}, memory {w['requests']['memory']}); a scenario "
                    f"workload holds at most {MAX_SAME_PODS:,} replicas"
                )
    for tenant in data["tenants"]:
        tenant["clusters"] = [
            {"name": tenant["name"], "system_pods": [], "workloads": tenant.pop("workloads")}
        ]
    try:
        parse_scenario(_dump(data), source="<openb import>")
    except ScenarioError as exc:
        raise RuntimeError(
            f"underlay import openb built an invalid scenario (a bug): {exc}"
        ) from exc
    header = _header(nodes, pods, data, left_out, nodes_path, pods_path)
    _ = np  # arrays come from the reader
    return data, header


def _header(
    nodes: OpenbNodeTable,
    pods: OpenbPodTable,
    data: dict[str, Any],
    left_out: Counter[str],
    nodes_path: str | Path,
    pods_path: str | Path,
) -> str:
    """The comment on top of the file: what was imported, what was left out, what to
    review."""
    phases = Counter(str(p) for p in pods.pod_phase)
    gpu_total = int((nodes.gpu * 1000).sum())
    asked = int((pods.num_gpu * pods.gpu_milli).sum())
    return "\n".join(
        [
            f"# Imported by `underlay import openb` from {nodes_path} and {pods_path}.",
            f"# {len(nodes.sn)} nodes ({int(nodes.gpu.sum())} GPUs) as the inventory; {len(pods)} pods "
            f"in {sum(len(t['clusters'][0]['workloads']) for t in data['tenants'])} workloads.",
            f"# Pods asked for {asked / 1000:,.1f} GPUs of {gpu_total / 1000:,.0f} "
            f"({100 * asked / max(gpu_total, 1):.0f}%). Final phases in the trace: "
            + ", ".join(f"{k or 'unknown'} {v}" for k, v in sorted(phases.items()))
            + ".",
            *(
                [
                    f"# Left out {sum(left_out.values())} pods asking only for GPU models no node has: "
                    + ", ".join(f"{spec} ({n})" for spec, n in sorted(left_out.items()))
                    + "."
                ]
                if left_out
                else []
            ),
            "# Review: host prices are 0 and power is underlay's default (the trace has neither);",
            "# tenants are the trace's QoS classes.",
        ]
    )


def _dump(data: dict[str, Any]) -> str:
    return yaml_text(data)


def render(data: dict[str, Any], header: str) -> str:
    """The scenario file's text: the header comment (see
    :func:`~underlay.importers.trace_import.comment_block`), then the YAML."""
    return comment_block(header) + "\n" + _dump(data)
