"""Host power from a utilisation curve, and the weights that make its time-mean exact.

The model (SPECpower_ssj2008 style, as in CloudSim's ``PowerModelSpecPower``): a host
model's :class:`~underlay.model.scenario.PowerCurve` gives the draw at 0, 10, ..., 100 %
CPU utilisation (11 *knots*); between knots the draw is linear; utilisation outside
[0, 1] counts as 0 or 1. Without measured points the knots lie on the straight line from
``idle_watts`` to ``peak_watts``, so the curve *is* that line (CloudSim's
``PowerModelLinear``).

Because the curve is linear between knots, the draw at utilisation ``u`` is a weighted sum
of two neighbouring knots: with ``x = 10·clip(u, 0, 1)``, ``k = min(⌊x⌋, 9)`` and
``f = x − k``, knot ``k`` weighs ``1 − f`` and knot ``k + 1`` weighs ``f``. The weights
are the same for every curve, so the simulation only has to add them up per host; the
mean draw over any run of steps is then ``mean_weights @ knots`` exactly, for whatever
curve the host model has (and a what-if curve needs no new simulation). The weights also
keep the mean utilisation: ``weights @ [0, 0.1, ..., 1] = clip(u, 0, 1)``.

Only CPU utilisation moves the draw: GPUs, disks and NICs are in the curve's idle and
peak figures, as the host model's vendor or SPECpower submission measured them.

The module sits in the simulation stage, which adds the weights up per host; the cost
analysis, a later stage, turns them into watts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Scenario

__all__ = [
    "KNOTS",
    "UTILISATION_AT_KNOTS",
    "host_knots",
    "knot_weight_sums",
    "knot_weights",
    "watts",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

KNOTS = 11  # 0, 10, ..., 100 % utilisation
UTILISATION_AT_KNOTS: F64 = np.linspace(0.0, 1.0, KNOTS)


def knot_weight_sums(utilisation: NDArray[np.floating]) -> F64:
    """(rows × 11): per row, the interpolation weights of its columns summed.

    ``utilisation`` is (rows × columns), e.g. hosts × steps; each entry is clipped to
    [0, 1] and spread over its two neighbouring knots. Divide by the column count for the
    time-mean. Vectorised over ``row·11 + lower knot``: a count and a sum of the upper
    fractions per bin; the lower knot gets count − sum, the upper one (next bin) the sum.
    """
    rows = utilisation.shape[0]
    pos = np.clip(np.asarray(utilisation, np.float64), 0.0, 1.0) * (KNOTS - 1)
    low = np.minimum(pos.astype(np.intp), KNOTS - 2)  # u = 1 → between knots 9 and 10, f = 1
    upper = (pos - low).ravel()
    index = (np.arange(rows, dtype=np.intp)[:, None] * KNOTS + low).ravel()
    size = rows * KNOTS
    frac = np.asarray(np.bincount(index, weights=upper, minlength=size), np.float64)
    sums = np.bincount(index, minlength=size) - frac
    # Bin row·11 + 10 is never a lower knot (its fraction sum is 0): the shift stays in the row.
    sums[1:] += frac[:-1]
    out: F64 = sums.reshape(rows, KNOTS)
    return out


def knot_weights(utilisation: NDArray[np.floating]) -> F64:
    """(n × 11): the interpolation weights of each of ``n`` utilisations (rows sum to 1)."""
    return knot_weight_sums(np.asarray(utilisation, np.float64).reshape(-1, 1))


def host_knots(scenario: Scenario, host_model: I64) -> F64:
    """(hosts × 11): the watts at 0, 10, ..., 100 % of each host's model."""
    table = np.array([m.power.knots for m in scenario.hardware.host_models], np.float64)
    out: F64 = table[np.asarray(host_model, np.int64)].reshape(-1, KNOTS)
    return out


def watts(knots: F64, weights: F64) -> F64:
    """Per row, the draw (W) of knots ``knots`` (n × 11) at weights ``weights`` (n × 11)."""
    out: F64 = np.einsum("hk,hk->h", knots, weights)
    return out
