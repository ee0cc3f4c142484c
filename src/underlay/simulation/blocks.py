"""Blocks of whole hosts: the sorted pods cut into pieces small enough to stay in cache.

The simulation steps each block on its own (:mod:`underlay.simulation.engine`); a block
carries the sparse sums its measures need (per host, per tenant, per (tenant, host)).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from underlay.simulation.contention import Kernels

__all__ = ["BLOCK_PODS", "Block", "Pairs", "blocks", "by_host_groups", "most_blocks"]

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Block:
    """Whole hosts' worth of sorted pods [p0, p1) on kernels [k0, k1)."""

    p0: int
    p1: int
    k0: int
    k1: int
    kernels: Kernels  # local to the block
    hosts: I64  # global host ids in the block
    kernel_host: I64  # local host index of each kernel
    to_host: sp.csr_matrix  # (block hosts × block kernels)
    tenant: I64
    # (tenants × block pods) 0/1, by columns: a product reads the pods' rows in order and
    # adds each to its tenant's (the same additions, in the same order, as by rows;
    # faster where tenants interleave on the hosts)
    tenant_of: sp.csc_matrix

    @cached_property
    def by_host(self) -> tuple[I64, I64, Kernels]:
        """The block's kernels regrouped by host (for VMs competing on a host)."""
        return by_host_groups(self.kernel_host)

    @cached_property
    def pod_host(self) -> I64:
        """Local host index of each pod."""
        out: I64 = self.kernel_host[self.kernels.kernel_of_pod]
        return out

    @cached_property
    def pairs(self) -> Pairs:
        """The block's (tenant, host) pairs, host by host."""
        return Pairs.of(self.tenant, self.pod_host)

    @property
    def mixed(self) -> bool:
        """Whether some host of the block carries pods of more than one tenant (only then
        does anyone slow anyone)."""
        return bool((np.bincount(self.pairs.host) > 1).any())


@dataclass(frozen=True)
class Pairs:
    """A block's (tenant, host) pairs, host by host, and the pods' sum into them."""

    of_pod: sp.csr_matrix  # (pairs × block pods) 0/1
    host: I64  # local host of each pair
    tenant: I64  # tenant of each pair

    @staticmethod
    def of(tenant: I64, pod_host: I64) -> Pairs:
        """The pairs of pods with ``tenant`` on local host ``pod_host``."""
        t_span = int(tenant.max()) + 1 if len(tenant) else 1
        keys, pod_key = np.unique(pod_host * t_span + tenant, return_inverse=True)
        of_pod = sp.csr_matrix(
            (np.ones(len(pod_key), np.float32), (pod_key, np.arange(len(pod_key)))),
            shape=(len(keys), len(pod_key)),
        )
        host = (keys // t_span).astype(np.int64)
        return Pairs(of_pod, host, (keys % t_span).astype(np.int64))


# Pods per block: a block's (pods × 32 steps) float32 temporaries are 4 MiB each at 32,768
# (8 MiB at 65,536); the few a step keeps in flight stay in this CPU's 32 MiB L3 (1 MiB
# L2 per core) while each block step's fixed cost (Python calls, small arrays) is paid
# half as often as at 16,384. Measured at 1M pods × 288 steps (benchmarks/README.md,
# simulate.py, "Blocks sized to the cache"): the fewest CPU seconds of 8k/16k/32k/64k on
# baremetal-dedicated and vm alike; 8,192 the most on vm (fixed costs).
BLOCK_PODS = 32_768


def most_blocks(pods: int) -> int:
    """The most blocks :func:`blocks` can cut ``pods`` sorted pods into: each block but
    the last holds ``BLOCK_PODS`` pods or more."""
    return pods // max(BLOCK_PODS, 1) + 1


def blocks(kernels: Kernels, kernel_host: I64, tenant: I64, t_count: int) -> list[Block]:
    """Cut the sorted pods into blocks of whole hosts of about ``BLOCK_PODS`` pods."""
    out: list[Block] = []
    k, n = 0, kernels.n
    while k < n:
        p0 = int(kernels.starts[k])
        k1 = k
        while k1 < n and (
            k1 == k
            or int(kernels.starts[k1]) - p0 < BLOCK_PODS
            or kernel_host[k1] == kernel_host[k1 - 1]
        ):
            k1 += 1
        p1 = int(kernels.starts[k1 - 1] + kernels.counts[k1 - 1])
        local = Kernels(
            starts=(kernels.starts[k:k1] - p0).astype(np.int64), counts=kernels.counts[k:k1]
        )
        hosts, kh = np.unique(kernel_host[k:k1], return_inverse=True)
        to_host = sp.csr_matrix(
            (np.ones(k1 - k, np.float32), (kh, np.arange(k1 - k))), shape=(len(hosts), k1 - k)
        )
        tb = tenant[p0:p1]
        tenant_of = sp.csc_matrix(
            (np.ones(p1 - p0, np.float32), (tb, np.arange(p1 - p0))), shape=(t_count, p1 - p0)
        )
        out.append(
            Block(
                p0,
                p1,
                k,
                k1,
                local,
                hosts.astype(np.int64),
                kh.astype(np.int64),
                to_host,
                tb,
                tenant_of,
            )
        )
        k = k1
    return out


def by_host_groups(kernel_host: I64) -> tuple[I64, I64, Kernels]:
    """Kernels (VMs) regrouped by host: (permutation, host of each group, groups)."""
    perm = np.argsort(kernel_host, kind="stable").astype(np.int64)
    hosts, counts = np.unique(kernel_host[perm], return_counts=True)
    starts = (np.cumsum(counts) - counts).astype(np.int64)
    return perm, hosts.astype(np.int64), Kernels(starts=starts, counts=counts.astype(np.int64))
