"""How a partitioned replay is cut: into how many workers (:func:`default_workers`), into
which chunks of steps (:func:`chunk_spans`), and into which groups of whole blocks, by
their stepping work (:func:`block_work`, :func:`split_blocks`). The replay itself is
:mod:`underlay.simulation.partition`.
"""

from __future__ import annotations

import itertools
import os

import numpy as np

from underlay.simulation.blocks import Block
from underlay.simulation.usage import CHUNK_STEPS

__all__ = [
    "KERNEL_WORK",
    "MIN_POD_STEPS",
    "block_work",
    "chunk_spans",
    "default_workers",
    "split_blocks",
]

MIN_POD_STEPS = 200_000_000
"""Placed pods × steps from which the default is one worker per core (about 10 s of
replay on one core: below it, setting the replay up again in every worker eats what a
second core would win)."""


def default_workers(pods: int, steps: int, cores: int | None = None) -> int:
    """Workers for a replay of ``pods`` × ``steps`` when none is asked for: the machine's
    cores (those this process may run on) from :data:`MIN_POD_STEPS`, else 1."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return max(1, cores) if pods * steps >= MIN_POD_STEPS else 1


def chunk_spans(steps: int) -> list[tuple[int, int]]:
    """The chunks of steps ``[start, stop)`` the engine steps through, in order."""
    return [(s, min(steps, s + CHUNK_STEPS)) for s in range(0, steps, CHUNK_STEPS)]


KERNEL_WORK = 2.0
"""A kernel's share of a block's stepping work, in pods: its (kernels × steps) rows pass
through the per-kernel sums, the VMs' competition and the water-filling about twice as
often as a pod's rows through the rest. Measured on the 1M-pod benchmark fleet's vm
placement (24 h, one process, CPU s per block): blocks of ~33k pods on a few hundred VMs
took 0.30-0.37 s, the first two, on 24k and 30k VMs of a pod or two, 0.69 and 0.70 s.
Two groups then took 6.06 and 4.58 s cut by pods at the first boundary past half,
5.59 and 4.76 s at the nearest, and 5.27 and 5.09 s by pods + 2 × kernels; over the
week, 2 workers' CPU went from 46.4 and 36.9 s to 42.1 and 42.3 s."""


def block_work(blk: Block) -> float:
    """The stepping work of a block, in pods (see :data:`KERNEL_WORK`)."""
    return (blk.p1 - blk.p0) + KERNEL_WORK * (blk.k1 - blk.k0)


def split_blocks(work: list[float], groups: int) -> list[tuple[int, int]]:
    """Cut blocks of ``work`` into at most ``groups`` runs ``[b0, b1)`` of consecutive
    blocks, each about an equal share of the work: each cut at the block boundary nearest
    to its share (never an empty run; fewer runs when there are fewer blocks)."""
    n = len(work)
    groups = max(1, min(groups, n))
    if n == 0:
        return [(0, 0)]
    ends = np.cumsum(np.asarray(work, np.float64))
    total = float(ends[-1])
    cuts = [0]
    for g in range(1, groups):
        # the boundary after block b - 1 (ends[b - 1] of the work before it) nearest to
        # g / groups of the work, leaving one block at least for each later group
        target = total * g / groups
        b = int(np.searchsorted(ends, target, side="left")) + 1
        if b > 1 and target - ends[b - 2] < ends[b - 1] - target:
            b -= 1
        b = max(b, cuts[-1] + 1)
        b = min(b, n - (groups - g))
        cuts.append(b)
    cuts.append(n)
    return list(itertools.pairwise(cuts))
