"""The host-level measure of the replay: SLATAH, host utilisation over time and the power
curve's weights per host (a :class:`~underlay.simulation.measures.Measure`, kept apart
from the per-pod and per-tenant measures of :mod:`underlay.simulation.measures`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.simulation.measures import BlockStep, Chunk, Measure
from underlay.simulation.power import KNOTS, knot_weight_sums

__all__ = ["HostFigures", "HostLoad"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


class HostLoad(Measure):
    """Per substrate: SLATAH (active host time at 100 % of what the host can give), host
    utilisation over time (mean and p95 across hosts), and the power curve's knot weights
    per host."""

    def __init__(self, steps: int, host_cap: F32, host_cores: F32) -> None:
        n_hosts = len(host_cap)
        self.host_cap, self.host_cores = host_cap, host_cores
        self.util_mean = np.zeros(steps)
        self.util_p95 = np.zeros(steps)
        self.power_weights = np.zeros((n_hosts, KNOTS))
        self.at_full = self.active_host_steps = 0.0

    def observe(self, s: BlockStep) -> None:
        """Count the block's hosts that were active, and those at full use."""
        cap = self.host_cap[s.blk.hosts]
        active = s.host_used > 0
        self.active_host_steps += float(active.sum())
        self.at_full += float(((s.host_used >= 0.999 * cap) & active).sum())

    def end_chunk(self, chunk: Chunk) -> None:
        """Record the chunk's utilisation across hosts and add its power weights."""
        n_hosts = len(self.host_cap)
        host_util_all = chunk.host_used / np.maximum(self.host_cores, 1)
        self.util_mean[chunk.start : chunk.stop] = host_util_all.mean(axis=0) if n_hosts else 0
        self.util_p95[chunk.start : chunk.stop] = (
            np.percentile(host_util_all, 95, axis=0) if n_hosts else 0
        )
        self.power_weights += knot_weight_sums(host_util_all)

    def result(self) -> HostFigures:
        """SLATAH, utilisation over time and the time-mean power weights."""
        steps = len(self.util_mean)
        return HostFigures(
            slatah_percent=100.0 * self.at_full / self.active_host_steps
            if self.active_host_steps
            else 0.0,
            util_mean=self.util_mean,
            util_p95=self.util_p95,
            power_weights=self.power_weights / steps,
        )


@dataclass(frozen=True)
class HostFigures:
    """What :class:`HostLoad` found."""

    slatah_percent: float  # share of active host time at 100 % of what the host can give
    util_mean: F64  # (steps,) mean host utilisation
    util_p95: F64  # (steps,) its 95th percentile across hosts
    power_weights: F64  # (hosts × 11) time-mean knot weights
