"""How far the weights and the uncertain defaults can move before the verdict flips.

**Weights.** A substrate's total is the weighted mean of its factor scores, so whether the
winner ``a`` stays ahead of another substrate ``b`` when the weight ``w_f`` of one factor
moves (the others fixed) is linear in ``w_f``:

    Σ_{g≠f} w_g (S_ag − S_bg) + w_f (S_af − S_bf) > 0

which holds on one side of ``w_f* = −Σ_{g≠f} w_g (S_ag − S_bg) / (S_af − S_bf)``. The
range of ``w_f`` in which ``a`` beats every other substrate is the intersection of these
half-lines; past its nearer end the substrate that overtakes ``a`` is named.

**Uncertain defaults** (the tornado). Each input is scaled from half to twice its value
and the evidence recomputed in closed form, without placing or simulating again:

- hypervisor CPU overhead: the throughput lost on VM and sandboxed substrates
  (1 − throughput) scales with it (first order: the hosts the overhead costs are not
  re-counted);
- container escape rate and hypervisor / sandbox escape rate: exposure is linear in each
  rate, so each part of it scales with its rate;
- hardware price and hypervisor licence price: the capex and licence parts of every cost
  scale with them.

Only substrates placing as many pods as the winner can overtake it (the scorecard ranks
by pods placed first, and neither a weight nor a default moves a pod): the ranges and the
margins are taken against them, and when there is none the sensitivity says so instead.

For each input the bar is the verdict's margin (the base winner's total minus the best
total of its rivals; negative: it lost) at the low and the high end, and the values where the
verdict flips inside [1/10, 10] × base, found by bisection. Bars are sorted by how much
the margin moves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from underlay.decision.evidence import Evidence
from underlay.decision.results import Sensitivity, TornadoBar, WeightRange
from underlay.decision.scorecard import pods_placed, rank, substrate_scores, totals
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import FACTORS, Sandboxed, Vm

__all__ = ["INPUTS", "margin", "sensitivity", "weight_ranges"]

F64 = NDArray[np.float64]
_LOW, _HIGH = 0.5, 2.0  # the tornado's range, × base
_FLIP_RANGE = 10.0  # flips searched within [1/10, 10] × base
_BISECTIONS = 30


def _rivals(e: Evidence, winner: int) -> list[int]:
    """The substrates that can overtake ``winner`` by score: those placing as many pods (one
    placing fewer ranks after it whatever the weights and defaults, which move no pod)."""
    placed = pods_placed(e)
    return [j for j in range(len(e.substrates)) if j != winner and placed[j] == placed[winner]]


def margin(e: Evidence, weights: Mapping[str, float], winner: int) -> tuple[float, int]:
    """(the winner's total minus the best total of its rivals — ``inf`` when it has none —,
    index of the substrate ranked first)."""
    total = totals(substrate_scores(e), weights)
    best = int(rank(e, total)[0])
    rivals = _rivals(e, winner)
    if not rivals:
        return float("inf"), best
    return float(total[winner] - total[rivals].max()), best


def weight_ranges(e: Evidence, weights: Mapping[str, float]) -> list[WeightRange]:
    """For each factor, the range of its weight (others fixed) in which the winner holds."""
    scores = substrate_scores(e)
    total = totals(scores, weights)
    a = int(rank(e, total)[0])
    rivals = _rivals(e, a)
    out = []
    for f in FACTORS:
        low, high = 0.0, np.inf
        low_by, high_by = None, None
        for b in rivals:
            rest = sum(weights[g] * (scores[g][a] - scores[g][b]) for g in FACTORS if g != f)
            d = float(scores[f][a] - scores[f][b])
            if d > 0:
                point = -rest / d
                if point > low:
                    low, low_by = point, b
            elif d < 0:
                point = -rest / d
                if point < high:
                    high, high_by = point, b
            # d == 0: this weight cannot change the order of a and b
        w = float(weights[f])
        lo = float(low) if low > 0 else None
        hi = None if not np.isfinite(high) else float(high)
        near = None
        if lo is not None and (hi is None or w - lo <= hi - w):
            near = low_by
        elif hi is not None:
            near = high_by
        out.append(
            WeightRange(
                factor=f,
                weight=w,
                low=lo,
                high=hi,
                flips_to=e.substrates[near] if near is not None else None,
            )
        )
    return out


def _scaled(e: Evidence, parameter: str, k: float, vm_like: NDArray[np.bool_]) -> Evidence:
    if parameter == "hypervisor CPU overhead":
        thr = np.where(vm_like[None, :], 1 - (1 - e.throughput) * k, e.throughput)
        return replace(e, throughput=np.clip(thr, 0.0, 1.0))
    if parameter in ("container escape rate", "hypervisor escape rate"):
        host = e.exposure_host
        container = e.exposure - host
        if parameter == "container escape rate":
            container = container * k
        else:
            host = host * k
        return replace(e, exposure=container + host, exposure_host=host)
    if parameter in _PRICE_PARTS:
        # the part of every cost that scales with this price, per tenant and per substrate
        part, whole_part = _PRICE_PARTS[parameter]
        tenant_part, substrate_part = getattr(e, part), getattr(e, whole_part)
        return replace(
            e,
            cost=e.cost + (k - 1) * tenant_part,
            substrate_cost=e.substrate_cost + (k - 1) * substrate_part,
            **{part: tenant_part * k, whole_part: substrate_part * k},
        )
    raise ValueError(f"unknown input {parameter!r}")


_PRICE_PARTS = {
    "hardware price": ("capex", "substrate_capex"),
    "licence price": ("licences", "substrate_licences"),
}


def _base_values(e: Evidence, defaults: Defaults) -> dict[str, tuple[float, str]]:
    """Each input's base value and unit, from the defaults the run used."""
    sc = e.scenario
    compared = [sc.substrate(label) for label in e.substrates]
    overheads = [
        defaults.hypervisors[s.hypervisor].cpu_overhead_percent
        for s in compared
        if isinstance(s, Vm)
    ] + [
        defaults.sandbox_runtimes[s.runtime].cpu_overhead_percent
        for s in compared
        if isinstance(s, Sandboxed)
    ]
    escapes = [
        defaults.hypervisors[s.hypervisor].escapes_per_year for s in compared if isinstance(s, Vm)
    ] + [
        defaults.sandbox_runtimes[s.runtime].escapes_per_year
        for s in compared
        if isinstance(s, Sandboxed)
    ]
    licence = float(e.substrate_licences.sum())
    return {
        "hypervisor CPU overhead": (float(np.mean(overheads)) if overheads else 0.0, "%"),
        "container escape rate": (defaults.security.container_escapes_per_year, "/ yr"),
        "hypervisor escape rate": (float(np.mean(escapes)) if escapes else 0.0, "/ yr"),
        # prices as a factor of today's: 1 = the scenario's prices
        "hardware price": (1.0 if e.substrate_capex.sum() > 0 else 0.0, "× today's"),
        "licence price": (1.0 if licence > 0 else 0.0, "× today's"),
    }


INPUTS = (
    "hypervisor CPU overhead",
    "container escape rate",
    "hypervisor escape rate",
    "hardware price",
    "licence price",
)


def _flip(fn: Callable[[float], float], inside: float, outside: float) -> float | None:
    """The scale factor between ``inside`` (margin > 0) and ``outside`` where it reaches 0."""
    if fn(outside) > 0:
        return None
    lo, hi = np.log(inside), np.log(outside)
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        if fn(float(np.exp(mid))) > 0:
            lo = mid
        else:
            hi = mid
    return float(np.exp((lo + hi) / 2))


def sensitivity(e: Evidence, weights: Mapping[str, float], defaults: Defaults) -> Sensitivity:
    """Weight ranges and the tornado of the uncertain defaults, most influential first."""
    total = totals(substrate_scores(e), weights)
    a = int(rank(e, total)[0])
    vm_like = np.array([k in ("vm", "sandboxed") for k in e.kinds], bool)
    bars = []
    notes = []
    inputs = _base_values(e, defaults)
    if not _rivals(e, a) and len(e.substrates) > 1:
        notes.append(
            f"the verdict rests on placement: no other substrate places as many pods as "
            f"{e.substrates[a]}, so no weight or default can flip it"
        )
        inputs = {}
    for parameter, (base, unit) in inputs.items():
        if base == 0:
            continue  # nothing to scale (e.g. no licences, no VMs)

        def at(k: float, p: str = parameter) -> float:
            return margin(_scaled(e, p, k, vm_like), weights, a)[0]

        m_low, w_low = margin(_scaled(e, parameter, _LOW, vm_like), weights, a)
        m_high, w_high = margin(_scaled(e, parameter, _HIGH, vm_like), weights, a)
        k_low = _flip(at, 1.0, 1 / _FLIP_RANGE) if at(1.0) > 0 else None
        k_high = _flip(at, 1.0, _FLIP_RANGE) if at(1.0) > 0 else None
        bars.append(
            TornadoBar(
                parameter=parameter,
                base=base,
                low=base * _LOW,
                high=base * _HIGH,
                unit=unit,
                margin_low=m_low,
                margin_high=m_high,
                winner_low=e.substrates[w_low],
                winner_high=e.substrates[w_high],
                flip_low=base * k_low if k_low is not None else None,
                flip_high=base * k_high if k_high is not None else None,
            )
        )
    bars.sort(key=lambda b: -b.span)
    return Sensitivity(weights=weight_ranges(e, weights), tornado=bars, notes=notes)
