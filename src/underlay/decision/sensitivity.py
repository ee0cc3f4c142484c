"""How far the weights and the uncertain defaults can move before the verdict flips.

**Weights.** A substrate's total is the weighted mean of its factor scores, so whether the
winner ``a`` stays ahead of another substrate ``b`` when the weight ``w_f`` of one factor
moves (the others fixed) is linear in ``w_f``:

    Σ_{g≠f} w_g (S_ag − S_bg) + w_f (S_af − S_bf) > 0

which holds on one side of ``w_f* = −Σ_{g≠f} w_g (S_ag − S_bg) / (S_af − S_bf)``. The
range of ``w_f`` in which ``a`` beats every other substrate is the intersection of these
half-lines; past its nearer end the substrate that overtakes ``a`` is named.

**Uncertain defaults** (the tornado). Each input is scaled by ``k`` from half to twice its
value and the evidence recomputed in closed form, to first order, without placing or
simulating again:

- hypervisor CPU overhead (the tax τ of a VM's or sandbox's CPU, per tenant: its pods'
  classes). The simulation counts τ as extra demand — a pod needs 1 / (1 − τ) as much
  CPU for the same work — so it shows in the unmet CPU, not in throughput. At ``k τ`` the
  work a granted core does moves from (1 − τ) to (1 − k τ) of bare metal's while the
  cores granted stay as simulated: for tenants without GPUs, 1 − unmet is multiplied
  by (1 − k τ) / (1 − τ) (so the performance index by the same; unmet clipped to 0–1).
  Exact where the tenant's kernels are CPU-bound (every extra demand is unmet), an upper
  bound on the effect where they have room; the power the extra CPU draws and the CPU-SLA
  steps are not re-counted;
- hypervisor host reservation (the cores and memory each ``vm`` host keeps for the
  hypervisor, V per host of H): the hosts needed scale with what a host leaves to VMs on
  the binding resource. With F the VMs' footprint (sizes ÷ overcommit + per-VM memory),
  summed over the hosts opened as H and V are, a substrate needs ``max_r F_r /
  (H_r − k V_r)`` ÷ ``max_r F_r / (H_r − V_r)`` times its hosts (r: CPU, memory; a host
  leaves at least 1 % of itself), and the part of its cost that scales with hosts
  (``host_bound``: capex, licences and host operations; with an inventory, paid for
  anyway, the licences only) scales by that ratio, per tenant and for the substrate.
  The packing efficiency (stranded capacity) is held at today's; more hosts than an
  inventory holds are not detected;
- GPU efficiency loss of the VM and sandbox GPU modes (passthrough, vGPU): the
  throughput deficit (1 − throughput) of tenants using GPUs on those substrates scales
  with ``k`` (their whole deficit is taken as the GPU's: a GPU tenant's storage-bound
  workloads are scaled with it);
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
from underlay.model.policy import MAX_WEIGHT
from underlay.model.scenario import FACTORS, Hybrid, Sandboxed, Vm

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
        # A weight can go no higher than MAX_WEIGHT: a flip above it cannot happen.
        hi = float(high) if high <= MAX_WEIGHT else None
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


def _hosts_ratio(e: Evidence, k: float) -> F64:
    """Per substrate, the hosts needed with the hypervisor's host reservation × ``k`` ÷ the
    hosts needed now (1 where nothing is reserved)."""
    host = np.stack([e.host_cpu, e.host_mem])
    kept = np.stack([e.hypervisor_cpu, e.hypervisor_mem])
    vms = np.stack([e.vm_cpu, e.vm_mem])
    floor = 0.01 * host  # a host leaves at least 1 % of itself to VMs
    now = np.maximum(host - kept, floor)
    then = np.maximum(host - k * kept, floor)
    need_now = np.divide(vms, now, out=np.zeros_like(vms), where=now > 0).max(axis=0)
    need_then = np.divide(vms, then, out=np.zeros_like(vms), where=then > 0).max(axis=0)
    reserved = (kept.sum(axis=0) > 0) & (need_now > 0)
    out: F64 = np.where(reserved, need_then / np.where(need_now > 0, need_now, 1.0), 1.0)
    return out


def _gpu_modes(e: Evidence) -> NDArray[np.bool_]:
    """(tenants × substrates): a tenant with GPU workloads given VM / sandbox GPUs there
    (in a hybrid: by the part they run in)."""
    return e.gpu_virtual


def _scaled(e: Evidence, parameter: str, k: float) -> Evidence:
    """``e`` with ``parameter`` scaled by ``k`` (see the module docstring)."""
    if parameter == "hypervisor CPU overhead":
        tax = e.cpu_tax
        ratio = np.divide(1 - k * tax, 1 - tax, out=np.ones_like(tax), where=tax < 1)
        cpu = (tax > 0) & ~e.uses_gpu[:, None]
        unmet = np.where(cpu, 1 - (1 - e.unmet) * np.maximum(ratio, 0.0), e.unmet)
        return replace(e, unmet=np.clip(unmet, 0.0, 1.0))
    if parameter == "hypervisor host reservation":
        extra = _hosts_ratio(e, k) - 1
        return replace(
            e,
            cost=e.cost + extra[None, :] * e.host_bound,
            substrate_cost=e.substrate_cost + extra * e.substrate_host_bound,
        )
    if parameter == "GPU efficiency loss (VM, sandbox)":
        thr = np.where(_gpu_modes(e), 1 - (1 - e.throughput) * k, e.throughput)
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


def _parts(substrate: object) -> list[object]:
    """A hybrid's parts' substrates (each counts as the substrate it is); else itself."""
    if isinstance(substrate, Hybrid):
        return [p.substrate for p in substrate.parts]
    return [substrate]


def _base_values(e: Evidence, defaults: Defaults) -> dict[str, tuple[float, str]]:
    """Each input's base value and unit, from the defaults the run used (0: nothing to
    scale among the substrates compared)."""
    sc = e.scenario
    compared = [sub for label in e.substrates for sub in _parts(sc.substrate(label))]
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
    gpu = _gpu_modes(e).any(axis=0)
    gpu_loss = 100 * (1 - e.gpu_efficiency[gpu])
    reserved = bool((_hosts_ratio(e, 2.0) != 1).any() and e.substrate_host_bound.sum() > 0)
    licence = float(e.substrate_licences.sum())
    return {
        "hypervisor CPU overhead": (float(np.mean(overheads)) if overheads else 0.0, "%"),
        # as a factor of each hypervisor profile's host_reserved
        "hypervisor host reservation": (1.0 if reserved else 0.0, "× default"),
        "GPU efficiency loss (VM, sandbox)": (
            float(gpu_loss.mean()) if gpu_loss.size and gpu_loss.max() > 0 else 0.0,
            "%",
        ),
        "container escape rate": (defaults.security.container_escapes_per_year, "/ yr"),
        "hypervisor escape rate": (float(np.mean(escapes)) if escapes else 0.0, "/ yr"),
        # prices as a factor of today's: 1 = the scenario's prices
        "hardware price": (1.0 if e.substrate_capex.sum() > 0 else 0.0, "× today's"),
        "licence price": (1.0 if licence > 0 else 0.0, "× today's"),
    }


INPUTS = (
    "hypervisor CPU overhead",
    "hypervisor host reservation",
    "GPU efficiency loss (VM, sandbox)",
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
    bars = []
    notes = []
    inputs = _base_values(e, defaults)
    if len(e.substrates) == 1:
        notes.append(f"{e.substrates[a]} is the only substrate: there is no verdict to flip")
        inputs = {}
    elif not _rivals(e, a):
        notes.append(
            f"the verdict rests on placement: no other substrate places as many pods as "
            f"{e.substrates[a]}, so no weight or default can flip it"
        )
        inputs = {}
    for parameter, (base, unit) in inputs.items():
        if base == 0:
            continue  # nothing to scale (e.g. no licences, no VMs)

        def at(k: float, p: str = parameter) -> float:
            return margin(_scaled(e, p, k), weights, a)[0]

        m_low, w_low = margin(_scaled(e, parameter, _LOW), weights, a)
        m_high, w_high = margin(_scaled(e, parameter, _HIGH), weights, a)
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
