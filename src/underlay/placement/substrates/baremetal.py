"""Bare-metal substrates: ``baremetal-dedicated``, ``baremetal-shared`` and ``sandboxed``.

- ``baremetal-dedicated``: every tenant cluster gets whole hosts (one node per host);
  a dedicated control plane is 3 more whole hosts, a hosted one a share of 3+ shared
  control-plane hosts.
- ``baremetal-shared``: one multi-tenant cluster; its control plane is 3 hosts.
- ``sandboxed``: like ``baremetal-shared``, each pod paying the runtime's pod overhead.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from numpy.typing import NDArray

from underlay.errors import ScenarioError
from underlay.model.scenario import BaremetalShared, MaxPodsPolicy, Sandboxed
from underlay.placement.engine import Placer
from underlay.placement.fleet import HostNodes
from underlay.placement.framework import PodBatch
from underlay.placement.pool import NodePool, NodeTemplate
from underlay.placement.result import SHARED_CLUSTER, WORKER
from underlay.placement.substrates.control_plane_nodes import ControlPlaneBuild

__all__ = ["BaremetalBuild"]

I64 = NDArray[np.int64]


class BaremetalBuild(ControlPlaneBuild):
    """Places a scenario on a bare-metal substrate: one node per host."""

    def _workers(
        self, owner: int, templates: list[NodeTemplate], batches: list[PodBatch], policy: MaxPodsPolicy,
        system: tuple[int, int, int], *, stacked: bool, nodes: int, sandbox: tuple[int, int] = (0, 0),
        cp_hosts: list[int] | None = None,
    ) -> None:  # fmt: skip
        """One bare-metal cluster's worker hosts (with its control plane when stacked)."""
        pool = NodePool(max_gpus=self._max_gpus())
        source = HostNodes(self.supply, templates, WORKER, owner)
        placer = Placer(pool, source, self.profile, self.registry, racks=self.racks)
        reserved: dict[int, tuple[int, int]] = {}
        bound_batches = list(batches)
        if stacked:
            reserved = self._stacked(placer, source, owner, nodes, cp_hosts or [])
            vcpus, mem = self._cp_size(nodes)
            cp = self.defaults.control_plane
            bound_batches.append(
                PodBatch(key=-1, replicas=cp.replicas, cpu_milli=vcpus * 1000, memory_mib=mem,
                         anti_affinity="host", pod_slots=4)
            )  # fmt: skip
        results = self._place_all(placer, batches)
        self._add_bound(templates, bound_batches, pool)
        offset = self._add_bm_rows(pool, WORKER, owner, policy, system, sandbox, reserved)
        self._record_pods(results, offset)

    def baremetal_dedicated(self) -> None:
        # Control planes first (an inventory serves them before workers), then workers.
        plans = []
        hosted: list[tuple[int, int]] = []
        for c in self.clusters:
            system = self._system_pods(c.cluster.system_pods)
            templates = self._host_templates(c.cluster.max_pods, system)
            batches = [self._batch(w) for w in self.workloads if w.cluster_index == c.index]
            nodes, cp_hosts = self._estimate(templates, batches)
            mode = self._mode(c.cluster.control_plane, False, c.index)
            if mode == "hosted":
                hosted.append((c.index, nodes))
            elif mode == "dedicated":
                self._dedicated_machines(c.index, nodes)
            elif mode == "management":
                self._management_vms(c.index, nodes)
            plans.append((c, templates, batches, system, nodes, mode, cp_hosts))
        self._hosted_control_planes(hosted, vm_shape=None)
        for c, templates, batches, system, nodes, mode, cp_hosts in plans:
            self._workers(
                c.index, templates, batches, c.cluster.max_pods, system,
                stacked=mode == "stacked", nodes=nodes, cp_hosts=cp_hosts,
            )  # fmt: skip

    def shared_cluster(self, substrate: BaremetalShared | Sandboxed) -> None:
        wanted = Counter(t.kubernetes_version for t in self.scenario.tenants)
        top = max(wanted.values())
        most = max(
            (v for v, n in wanted.items() if n == top), key=lambda v: tuple(map(int, v.split(".")))
        )
        self.shared_version = substrate.kubernetes_version or most
        sandbox = (0, 0)
        if isinstance(substrate, Sandboxed):
            runtime = self.defaults.sandbox_runtimes.get(substrate.runtime)
            if runtime is None:
                known = ", ".join(sorted(self.defaults.sandbox_runtimes))
                raise ScenarioError(
                    f"substrates: sandboxed runtime {substrate.runtime!r} is unknown (known: {known})"
                )
            sandbox = (runtime.pod_overhead.cpu_milli, runtime.pod_overhead.memory_mib)
        system = self._system_pods(None)
        policy = substrate.max_pods
        templates = self._host_templates(policy, system)
        batches = [self._batch(w, *sandbox) for w in self.workloads]
        nodes, cp_hosts = self._estimate(templates, batches)
        mode = self._mode(substrate.control_plane, False, SHARED_CLUSTER)
        if mode == "dedicated":
            self._dedicated_machines(SHARED_CLUSTER, nodes)
        elif mode == "management":
            self._management_vms(SHARED_CLUSTER, nodes)
        elif mode == "hosted":
            self._hosted_control_planes([(SHARED_CLUSTER, nodes)], vm_shape=None)
        self._workers(
            SHARED_CLUSTER, templates, batches, policy, system,
            stacked=mode == "stacked", nodes=nodes, sandbox=sandbox, cp_hosts=cp_hosts,
        )  # fmt: skip
