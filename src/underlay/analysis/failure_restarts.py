"""Where the units of a failed domain restart: the room each class of unit has, host by
host, spread across racks, and the restarts that fit (see
:mod:`underlay.analysis.failures`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.failure_groups import BIG, HOST, NONE, RACK, SPREAD, Groups

__all__ = ["Restarts", "Room", "cut"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


class Room:
    """Where a unit of each class (pool, need, GPU models) may restart, host by host.

    ``fit`` is, per (class, host of its pool) with any room at all, how many units of the
    class fit in the host's free capacity alone (the least over the resources it asks
    for; GPU milli summed over the host's GPUs), 0 on a host its GPU models do not
    allow; then per class: units that fit (``slots``), hosts with room for one
    (``roomy``), the same per rack, and racks with a roomy host (``roomy_racks``).
    """

    def __init__(
        self,
        keys: I64,
        pool: I64,
        free: I64,
        rack: I64,
        zone_of_rack: I64,
        host_model: I64,
        allowed: B,
    ) -> None:
        self.keys, self.pool, self.rack, self.zone_of_rack = keys, pool, rack, zone_of_rack
        self.host_model, self.allowed = host_model, allowed
        n_cls, n_racks = len(keys), len(zone_of_rack)
        self.n_racks = n_racks
        c_pool, need, gpu, models = keys[:, 0], keys[:, 1:5], keys[:, 5] > 0, keys[:, 6]
        self.c_pool = c_pool
        # Only hosts that could take the smallest unit of any class are visited.
        smallest = need.min(axis=0) if n_cls else np.zeros(4, np.int64)
        roomy = np.flatnonzero((pool >= 0) & (free >= smallest).all(axis=1))
        roomy = roomy[np.argsort(pool[roomy], kind="stable")]
        n_pools = max(int(pool.max()) if len(pool) else 0, int(c_pool.max()) if n_cls else 0) + 1
        per_pool = np.bincount(pool[roomy], minlength=n_pools)
        start = np.cumsum(per_pool) - per_pool
        self.pos = np.full(len(pool), -1, np.int64)
        self.pos[roomy] = np.arange(len(roomy)) - start[pool[roomy]]
        size = per_pool[c_pool] if n_cls else np.zeros(0, np.int64)
        self.offset = np.cumsum(size) - size
        cls = np.repeat(np.arange(n_cls, dtype=np.int64), size)
        host = roomy[start[c_pool][cls] + np.arange(len(cls)) - self.offset[cls]]
        fit = np.full(len(cls), BIG, np.int64)
        for r in range(4):
            n = need[cls, r]
            ask = n > 0
            fit[ask] = np.minimum(fit[ask], free[host[ask], r] // n[ask])
        gi = np.flatnonzero(gpu[cls])
        fit[gi[~allowed[models[cls[gi]], host_model[host[gi]]]]] = 0
        self.fit = fit
        one = (fit >= 1).astype(np.float64)
        cell = cls * n_racks + rack[host]
        self.slots = np.bincount(cls, weights=fit, minlength=n_cls).astype(np.int64)
        self.roomy = np.bincount(cls, weights=one, minlength=n_cls).astype(np.int64)
        shape = (n_cls, n_racks)
        self.rack_slots = np.bincount(cell, fit, n_cls * n_racks).reshape(shape).astype(np.int64)
        self.rack_roomy = np.bincount(cell, one, n_cls * n_racks).reshape(shape).astype(np.int64)
        self.roomy_racks = (self.rack_roomy > 0).sum(axis=1)

    def at(self, cls: I64, host: I64) -> I64:
        """Units of class ``cls`` host ``host`` could take (0 when it has no room)."""
        pos = self.pos[host]
        ok = (pos >= 0) & (self.pool[host] == self.c_pool[cls])
        out = np.zeros(len(cls), np.int64)
        out[ok] = self.fit[self.offset[cls[ok]] + pos[ok]]
        return out

    def domains(self, cls: int) -> I64:
        """Hosts per rack a unit of class ``cls`` may use (its pool, its GPU models): the
        racks a rack spread counts."""
        pool_c, gpu, models = self.keys[cls, 0], self.keys[cls, 5] > 0, self.keys[cls, 6]
        mine = self.pool == pool_c
        if gpu:
            mine &= self.allowed[models, self.host_model]
        return np.bincount(self.rack[mine], minlength=self.n_racks).astype(np.int64)


def _spread_fill(count: I64, room: I64, domain: B, k: I64) -> I64:
    """How many of ``k`` pods a rack spread (max skew 1, rows: one case each) can restart.

    The scheduler puts each pod in a rack at the lowest count among the rack domains
    (``domain``), so the lowest count can only rise once every rack at it got one; a rack
    at the lowest count with no room stops it. With cap = count + room, the lowest count
    reaches L = min(cap) and the pods placed are sum(max(0, L - count)) plus one in each
    rack at or below L with room past it.
    """
    cap = count + room
    top = np.where(domain, cap, np.iinfo(np.int64).max).min(axis=1)[:, None]
    below = np.where(domain, np.maximum(top - count, 0), 0).sum(axis=1)
    above = (domain & (count <= top) & (cap > top)).sum(axis=1)
    return np.where(domain.any(axis=1), np.minimum(k, below + above), 0).astype(np.int64)


class _Spread:
    """:func:`_spread_fill` for one rack changed (a host failure) or dropped (a rack failure),
    per case in O(log racks): for rows ``s`` (one spread group each) the counts, room and
    allowed hosts per rack before the failure. Room is capped at the group's units (no
    rack can take more), which changes no result."""

    _M = 1 << 42  # key stride per row in the sorted tables (values stay below 2^41)

    def __init__(self, count: I64, room: I64, hosts: I64) -> None:
        self.count, self.hosts, self.room = count, hosts, room
        self.units = count.sum(axis=1)
        self.cap = count + np.minimum(room, self.units[:, None])
        self.dom = hosts >= 1
        big = np.iinfo(np.int64).max
        k = np.where(self.dom, self.cap, big)
        order = np.argsort(k, axis=1, kind="stable")
        rows = np.arange(len(k))
        self.kmin_rack = order[:, 0] if k.shape[1] else np.zeros(len(k), np.int64)
        self.kmin = k[rows, self.kmin_rack] if k.shape[1] else np.full(len(k), big)
        self.kmin2 = k[rows, order[:, 1]] if k.shape[1] > 1 else np.full(len(k), big)
        self.c_keys, self.c_sum, self.c_start = self._table(count)
        self.k_keys, _, self.k_start = self._table(self.cap)

    def _table(self, values: I64) -> tuple[I64, I64, I64]:
        s, r = np.nonzero(self.dom)
        keys = np.sort(s * self._M + values[s, r])
        csum = np.concatenate([[0], np.cumsum(keys % self._M)])
        start = np.searchsorted(keys, np.arange(len(values)) * self._M)
        return keys, csum, start

    def _total(self, s: I64, level: I64) -> I64:
        """Per case, over the rack domains before the failure: sum(max(0, L - count)) +
        #(count <= L) - #(cap <= L), i.e. the fill at level L without the one-more term's
        exclusion (see _spread_fill: #(count <= L < cap) = #(count <= L) - #(cap <= L))."""
        base = s * self._M
        lt = np.searchsorted(self.c_keys, base + level, side="left")
        le = np.searchsorted(self.c_keys, base + level, side="right")
        k_le = np.searchsorted(self.k_keys, base + level, side="right")
        below = (lt - self.c_start[s]) * level - (self.c_sum[lt] - self.c_sum[self.c_start[s]])
        total: I64 = below + (le - self.c_start[s]) - (k_le - self.k_start[s])
        return total

    @staticmethod
    def _one(count: I64, cap: I64, level: I64) -> I64:
        term: I64 = np.maximum(level - count, 0) + (count <= level) - (cap <= level)
        return term

    def _min_without(self, s: I64, rack: I64) -> I64:
        out: I64 = np.where(self.kmin_rack[s] == rack, self.kmin2[s], self.kmin[s])
        return out

    def host(self, s: I64, rack: I64, lost: I64, room_lost: I64) -> I64:
        """Restarts of the ``lost`` units when one host of ``rack`` (with ``room_lost`` of
        the room) fails: the rack stays a domain while another allowed host is up there."""
        big = np.iinfo(np.int64).max
        count, cap = self.count[s, rack], self.cap[s, rack]
        count2 = count - lost
        cap2 = count2 + np.minimum(self.room[s, rack] - room_lost, self.units[s])
        stays = self.hosts[s, rack] - 1 >= 1
        level = np.minimum(self._min_without(s, rack), np.where(stays, cap2, big))
        some = level < big
        level = np.where(some, level, 0)
        fill = (
            self._total(s, level)
            - np.where(self.dom[s, rack], self._one(count, cap, level), 0)
            + np.where(stays, self._one(count2, cap2, level), 0)
        )
        return np.where(some, np.minimum(lost, fill), 0).astype(np.int64)

    def without_rack(self, s: I64, rack: I64, lost: I64) -> I64:
        """Restarts of the ``lost`` units of a failed rack: it drops out of the domains."""
        big = np.iinfo(np.int64).max
        level = self._min_without(s, rack)
        some = level < big
        level = np.where(some, level, 0)
        fill = self._total(s, level) - np.where(
            self.dom[s, rack], self._one(self.count[s, rack], self.cap[s, rack], level), 0
        )
        return np.where(some, np.minimum(lost, fill), 0).astype(np.int64)


class Restarts:
    """Units of each (group, failed domain) that may restart elsewhere, by their rules.

    Each failure is judged alone against the placement's free capacity: per group the
    units are counted exactly (identical units on each allowed host's own free capacity);
    the groups of one failed domain then compete for the same room, which :func:`cut`
    settles in aggregate (see the module docstring).
    """

    _CHUNK = 1 << 21  # cases × racks of a rack spread per block (zone failures)

    def __init__(self, groups: Groups, room: Room, rack: I64) -> None:
        self.gr, self.room = groups, room
        self.pair_rack = rack[groups.h]
        self.n_groups = len(groups.need)
        spread = np.flatnonzero(groups.rule == SPREAD)
        self.spread_row = np.full(self.n_groups, -1, np.int64)
        self.spread_row[spread] = np.arange(len(spread))
        n_racks = room.n_racks
        on = self.spread_row[groups.g] >= 0
        cell = self.spread_row[groups.g[on]] * n_racks + self.pair_rack[on]
        self.spread_count = (
            np.bincount(cell, groups.units[on], len(spread) * n_racks)
            .reshape(len(spread), n_racks)
            .astype(np.int64)
        )
        self._domains: dict[int, I64] = {}

    def _domain_rows(self, cls: I64) -> I64:
        """Per case: allowed hosts per rack for its class (the racks a spread counts)."""
        uniq, inv = np.unique(cls, return_inverse=True)
        for c in uniq.tolist():
            if c not in self._domains:
                self._domains[c] = self.room.domains(c)
        table = np.stack([self._domains[c] for c in uniq.tolist()])
        return table[inv.ravel()]

    def _own_racks(self, g: I64, rack: I64, c: I64, target: I64, n_out: int) -> F64:
        """Per ``target`` (a group, or a group's domain): racks holding one of its units
        that have a roomy host, each rack once."""
        key = g * self.room.n_racks + rack
        _, first = np.unique(key, return_index=True)
        roomy = (self.room.rack_roomy[c[first], rack[first]] > 0).astype(np.float64)
        return np.bincount(target[first], roomy, n_out).astype(np.float64)

    def host(self, sel: I64, rule: I64, cls: I64) -> I64:
        """Units of each pair in ``sel`` (whole groups) that can restart elsewhere when the
        pair's host fails, before the groups compete for room."""
        gr, room = self.gr, self.room
        g, h, k = gr.g[sel], gr.h[sel], gr.units[sel]
        c, r, a = cls[g], rule[g], self.pair_rack[sel]
        fh = room.at(c, h)
        out = np.zeros(len(g), np.int64)
        m = r == NONE
        out[m] = np.minimum(k[m], room.slots[c[m]] - fh[m])
        m = r == HOST
        if m.any():
            own = np.bincount(g[m], (fh[m] >= 1).astype(np.float64), self.n_groups)
            out[m] = np.minimum(k[m], room.roomy[c[m]] - own[g[m]].astype(np.int64))
        m = r == RACK
        if m.any():
            own_racks = self._own_racks(g[m], a[m], c[m], g[m], self.n_groups)
            # The failed unit's own rack is open to it again if another host there has room.
            back_home = room.rack_roomy[c[m], a[m]] - (fh[m] >= 1) >= 1
            free_racks = room.roomy_racks[c[m]] - own_racks[g[m]].astype(np.int64) + back_home
            out[m] = np.minimum(k[m], free_racks)
        m = r == SPREAD
        if m.any():
            spread = self._spread(cls)
            out[m] = spread.host(self.spread_row[g[m]], a[m], k[m], fh[m])
        return np.maximum(out, 0)

    def _spread(self, cls: I64) -> _Spread:
        c = cls[np.flatnonzero(self.spread_row >= 0)]
        return _Spread(self.spread_count, self.room.rack_slots[c], self._domain_rows(c))

    def domain(
        self, rack_domain: I64, n_domains: int, rule: I64, cls: I64
    ) -> tuple[I64, I64, I64, F64, I64]:
        """Whole racks fail together (a rack, or a zone's racks): per (group, domain) with
        units in it, returns (group, domain, units, pods, units that can restart)."""
        gr, room = self.gr, self.room
        d_pair = rack_domain[self.pair_rack]
        key = gr.g * n_domains + d_pair
        uniq, inv = np.unique(key, return_inverse=True)
        g, d = uniq // n_domains, uniq % n_domains
        k = np.bincount(inv, gr.units, len(uniq)).astype(np.int64)
        pods = np.bincount(inv, gr.pods, len(uniq)).astype(np.float64)
        c, r = cls[g], rule[g]
        whole_racks = n_domains == room.n_racks and bool(
            (rack_domain == np.arange(room.n_racks)).all()
        )
        out = np.zeros(len(g), np.int64)
        m = r == NONE
        inside = _by_domain(room.rack_slots, rack_domain, n_domains)
        out[m] = np.minimum(k[m], room.slots[c[m]] - inside[c[m], d[m]])
        m = r == HOST
        if m.any():
            pm = np.isin(gr.g, g[m])
            fh = room.at(cls[gr.g[pm]], gr.h[pm]) >= 1
            own = np.bincount(gr.g[pm], fh.astype(np.float64), self.n_groups)
            own_in = np.bincount(inv[pm], fh.astype(np.float64), len(uniq))
            roomy_in = _by_domain(room.rack_roomy, rack_domain, n_domains)
            out[m] = np.minimum(
                k[m],
                room.roomy[c[m]] - roomy_in[c[m], d[m]] - (own[g[m]] - own_in[m]).astype(np.int64),
            )
        m = r == RACK
        if m.any():
            pm = np.isin(gr.g, g[m])
            pg, pr = gr.g[pm], self.pair_rack[pm]
            own_r = self._own_racks(pg, pr, cls[pg], pg, self.n_groups)
            own_r_in = self._own_racks(pg, pr, cls[pg], inv[pm], len(uniq))
            racks_in = _by_domain((room.rack_roomy > 0).astype(np.int64), rack_domain, n_domains)
            out[m] = np.minimum(
                k[m],
                room.roomy_racks[c[m]]
                - racks_in[c[m], d[m]]
                - (own_r[g[m]] - own_r_in[m]).astype(np.int64),
            )
        m = r == SPREAD
        if m.any() and whole_racks:  # one rack drops out of each case's domains
            out[m] = self._spread(cls).without_rack(self.spread_row[g[m]], d[m], k[m])
        elif m.any():  # a zone: few cases, each over every rack
            for block in _blocks(np.flatnonzero(m), room.n_racks, self._CHUNK):
                row = self.spread_row[g[block]]
                cap = np.minimum(room.rack_slots[c[block]], self.spread_count[row].sum(1)[:, None])
                hosts = self._domain_rows(c[block])
                up = rack_domain[None, :] != d[block][:, None]
                out[block] = _spread_fill(self.spread_count[row], cap, (hosts >= 1) & up, k[block])
        return g, d, k, pods, np.maximum(out, 0)


def _by_domain(per_rack: I64, rack_domain: I64, n_domains: int) -> I64:
    """Columns (racks) summed into their domains."""
    if n_domains == per_rack.shape[1] and (rack_domain == np.arange(n_domains)).all():
        return per_rack.astype(np.int64)
    out = np.zeros((len(per_rack), n_domains), np.int64)
    for dom in range(n_domains):
        out[:, dom] = per_rack[:, rack_domain == dom].sum(axis=1)
    return out


def _blocks(rows: I64, width: int, chunk: int) -> list[I64]:
    step = max(1, chunk // max(width, 1))
    return [rows[i : i + step] for i in range(0, len(rows), step)]


def cut(restart: I64, need: F64, key: I64, free_out: F64) -> F64:
    """The groups of one failed domain (``key``) compete for the room left. Where their
    restarts together ask for more of a resource than the pool's free capacity outside the
    domain, which pods get it first is the scheduler queue's order, unknown here: every
    group gets the same share of its restarts, the largest share the room allows (a
    fraction of a pod is an expected value)."""
    n_keys = len(free_out)
    demand = np.zeros((n_keys, 4))
    for r in range(4):
        demand[:, r] = np.bincount(key, restart * need[:, r], n_keys)
    ratio = np.divide(free_out, demand, out=np.ones_like(demand), where=demand > 0)
    factor = np.clip(ratio.min(axis=1), 0.0, 1.0)
    out: F64 = restart * factor[key]
    return out
