"""Random draws of the failures Monte Carlo: Poisson counts and binomial splits by
inverse CDF, vectorised over trials (see :mod:`underlay.analysis.failures`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import bdtr, bdtrik, pdtr

__all__ = ["binomial_split", "poisson_as_floats", "poisson_counts", "poisson_table"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_PASSES = 8  # inverse-CDF table entries compared one pass each before a sorted search


# ---------------------------------------------------------------------- inverse CDFs
def poisson_table(mu: float, need: float) -> F64:
    """F(0..K) of Poisson(mu), grown until it covers ``need`` (the largest uniform)."""
    top = int(mu + 10 * math.sqrt(mu) + 10)
    table: F64 = pdtr(np.arange(top + 1), mu)
    while table[-1] < need and top < 1_000_000:
        top *= 2
        table = pdtr(np.arange(top + 1), mu)
    return table


def _inverse(u: F64, table: F64) -> F64:
    """The smallest k with table[k] >= u (clipped to the table), as floats.

    Equal to a sorted search, but the first entries (where nearly every uniform falls)
    are counted one comparison pass each, and only the uniforms beyond them searched.
    """
    top = len(table) - 1
    head = int(np.searchsorted(table, 0.999, side="right")) + 1
    if head > _PASSES:
        out: F64 = np.minimum(np.searchsorted(table, u, side="left"), top).astype(np.float64)
        return out
    out = np.zeros(u.shape)
    above = np.empty(u.shape, bool)
    for j in range(min(head, top + 1)):
        np.greater(u, table[j], out=above)
        out += above
    if head <= top:
        flat_u, flat_out = u.reshape(-1), out.reshape(-1)
        tail = np.flatnonzero(flat_u > table[head - 1])
        if tail.size:
            flat_out[tail] = np.minimum(np.searchsorted(table, flat_u[tail], side="left"), top)
    return out


def poisson_counts(u: F64, mu: float) -> I64:
    """Inverse Poisson(mu) CDF of the uniforms ``u``: the smallest k with F(k) >= u.

    Equal to ``scipy.stats.poisson.ppf(u, mu)`` (except 0 where ``ppf`` gives -1 at u = 0),
    through a table of F(0..K), grown until it covers the largest uniform: ``ppf`` itself
    is the slow part at millions of draws, and ``scipy.special``'s ``pdtr`` (the Poisson
    CDF) spares importing ``scipy.stats``.
    """
    if mu <= 0 or not u.size:
        return np.zeros(u.shape, np.int64)
    return _inverse(u, poisson_table(mu, float(u.max()))).astype(np.int64)


def poisson_as_floats(u: F64, mu: float) -> F64:
    if mu <= 0 or not u.size:
        return np.zeros(u.shape)
    return _inverse(u, poisson_table(mu, float(u.max())))


def binomial_split(n: F64, u: F64, p: float) -> F64:
    """Inverse Binomial(n, p) CDF of the uniforms ``u``: of ``n`` failures, how many are of
    the kind with probability ``p`` (here: hardware). The smallest k with F(k) >= u, equal to
    ``scipy.stats.binom.ppf(u, n, p)``; n = 0 and 1 (nearly every host in a year) need no
    table: k = 1 exactly when u > 1 - p.
    """
    if p <= 0:
        return np.zeros(n.shape)
    if p >= 1:
        return n.astype(np.float64, copy=True)
    out: F64 = ((u > 1 - p) & (n >= 1)).astype(np.float64)
    flat_n, flat_u, flat_out = n.reshape(-1), u.reshape(-1), out.reshape(-1)
    many = np.flatnonzero(flat_n >= 2)
    if many.size:
        n_m, u_m = flat_n[many], flat_u[many]
        values = np.unique(n_m)
        if len(values) <= 64:
            k = np.empty(len(many))
            for v in values.tolist():
                sel = n_m == v
                k[sel] = np.searchsorted(bdtr(np.arange(int(v)), int(v), p), u_m[sel])
        else:  # many distinct counts (absurd rates): scipy.stats' own ppf formula
            k = np.ceil(bdtrik(u_m, n_m, p))
            lower = np.maximum(k - 1, 0)
            below = bdtr(lower.astype(np.int64), n_m.astype(np.int64), p)
            k = np.clip(np.where(below >= u_m, lower, k), 0, n_m)
        flat_out[many] = k
    return out
