"""The scorecard: one 0–100 score per factor for each tenant on each substrate, the weighted
verdict, and the reasons that decided it.

Each factor starts from a measured figure of :mod:`underlay.decision.evidence`:

    factor        figure                                               score 0–100
    performance   performance index = throughput (I/O, GPU)
                  × (1 − share of CPU demand unmet)
                  × (1 − share of GPU time unmet)
                  × (1 − share of work lost to other tenants' cache
                     and memory-bandwidth load)
                  ÷ p95 latency inflation                               100 · v / best v
    sla           share of failure years meeting the availability SLA
                  × share of steps meeting the CPU SLA                  100 · v / best v
    cost          USD a month                                          100 · cheapest / c
    isolation     others' escapes reaching a tenant a year (x)         100 / (1 + x / 1 a year)
    versions      months off the wanted version + months out of
                  support + forced upgrades, each a month (m)          100 / (1 + m / 6 months)

Performance, SLA and cost are ratios to the best substrate compared (100 = as good as the
best option here; a VM at 94 % of bare-metal throughput scores 94; when no substrate
delivers anything — every figure 0 — every one scores 0, not 100). Isolation and versions
have a true zero, so they are scored on an absolute scale whose half-point is stated:
one escape a year reaching a tenant halves its isolation score, six month-equivalents of
version trouble halve its versions score (both scales are assumptions, shown with the
scores). A tenant that breaks an isolation rule of the scenario scores 0 on isolation.
Per substrate, each figure is the mean over its tenants (each tenant counts once, whatever
its size), except cost, the substrate's whole monthly cost; per tenant, the tenant's own.
Each figure a score rests on is kept under its own name (``FactorScore.parts``).

**Pods that do not fit.** A tenant whose pods a substrate cannot place is a failure of
that substrate, never a saving:

- its unplaced demand is unmet and misses the CPU SLA (the evidence counts it);
- cost is compared only among the substrates that place the most pods — per tenant, the
  most of its pods; per substrate, the most pods in all. A substrate placing fewer scores
  0 on cost: what it costs buys less than the others do, so its lower bill is no saving
  (a substrate that opens no host at all would otherwise cost $0 and win on cost);
- the verdict ranks substrates by pods placed first, then by total: one that leaves
  pods unplaced which another places is never the winner, whatever its score, and the
  reasons say so; when no substrate places every pod, the verdict says that too. A
  tenant's best substrate is likewise the best total among those placing the most of its
  pods.

The total is the weighted mean of the factor scores (weights from the scenario's
``weights:`` or the command line). The reasons are the two or three factors that add
most to the winner's lead over the runner-up, each said with its figures, and the factor
that counts most against the winner, if any.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from underlay.decision.evidence import Evidence
from underlay.decision.results import (
    FactorScore,
    Scorecard,
    SubstrateScore,
    TenantScore,
    Verdict,
)
from underlay.model.scenario import FACTORS
from underlay.units import times, usd

__all__ = [
    "FACTOR_UNITS",
    "ISOLATION_HALF",
    "VERSIONS_HALF",
    "factor_values",
    "pods_placed",
    "rank",
    "scale",
    "score",
    "substrate_scores",
    "substrate_values",
    "tenant_scores",
    "totals",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

FACTOR_UNITS = {
    "performance": "performance index, 1 = bare metal "
    "(throughput × (1 − CPU unmet) × (1 − GPU unmet) × (1 − slowdown) ÷ p95 latency)",
    "versions": "month-equivalents per tenant",
    "isolation": "escapes / yr per tenant",
    "sla": "availability SLA probability × CPU-SLA attainment",
    "cost": "USD / month",
}
TIE_POINTS = 0.05  # totals closer than this are a tie
ISOLATION_HALF = 1.0  # escapes a year reaching a tenant that halve its isolation score
VERSIONS_HALF = 6.0  # month-equivalents of version trouble that halve its versions score


def factor_values(e: Evidence) -> dict[str, F64]:
    """The figure behind each factor, (tenants × substrates)."""
    return {
        "performance": e.throughput
        * (1 - e.unmet)
        * (1 - e.gpu_unmet)
        * (1 - e.slowdown)
        / np.maximum(e.latency_p95, 1.0),
        "versions": e.months_off_version + e.months_unsupported + e.forced_upgrades,
        "isolation": e.exposure,
        "sla": e.sla_probability * e.cpu_sla / 100,
        "cost": e.cost,
    }


def _tenant_pods_placed(e: Evidence) -> F64:
    """(tenants × substrates) pods placed, whole pods."""
    out: F64 = np.rint(e.placed * e.pods[:, None])
    return out


def pods_placed(e: Evidence) -> F64:
    """Pods each substrate places, all tenants together."""
    out: F64 = _tenant_pods_placed(e).sum(axis=0)
    return out


def _most(placed: F64) -> NDArray[np.bool_]:
    """Where ``placed`` (along the last axis) is the most any substrate places."""
    out: NDArray[np.bool_] = placed >= placed.max(axis=-1, keepdims=True)
    return out


def rank(e: Evidence, total: F64) -> I64:
    """Substrate indices best first: most pods placed, then the highest total (ties keep
    the scenario's order)."""
    out: I64 = np.lexsort((-total, -pods_placed(e))).astype(np.int64)
    return out


def scale(values: F64, factor: str, eligible: NDArray[np.bool_] | None = None) -> F64:
    """Scores 0–100 of ``factor``'s figures; ratios are taken along the last axis. Cost is
    compared among the ``eligible`` entries only (default: all); the others score 0."""
    if factor in ("performance", "sla"):
        # when no substrate delivers anything (every figure 0), none scores anything
        best = values.max(axis=-1, keepdims=True)
        out: F64 = np.divide(100 * values, best, out=np.zeros_like(values), where=best > 0)
        return out
    if factor == "cost":
        ok = np.ones(values.shape, bool) if eligible is None else eligible
        # a $1 floor: a tenant that costs nothing somewhere does not zero every other option
        floor = np.maximum(values, 1.0)
        cheapest = np.where(ok, floor, np.inf).min(axis=-1, keepdims=True)
        ratio: F64 = np.where(ok, 100 * cheapest / floor, 0.0)
        return ratio
    half = ISOLATION_HALF if factor == "isolation" else VERSIONS_HALF
    absolute: F64 = 100 / (1 + np.maximum(values, 0) / half)
    return absolute


def tenant_scores(e: Evidence, values: Mapping[str, F64] | None = None) -> dict[str, F64]:
    """Factor → (tenants × substrates) scores, each tenant across the substrates."""
    v = factor_values(e) if values is None else values
    eligible = _most(_tenant_pods_placed(e))
    out = {f: scale(v[f], f, eligible) for f in FACTORS}
    out["isolation"] = np.where(e.violations > 0, 0.0, out["isolation"])
    return out


def substrate_values(e: Evidence, values: Mapping[str, F64] | None = None) -> dict[str, F64]:
    """Factor → per-substrate figure: the mean over tenants; cost the whole substrate's."""
    v = factor_values(e) if values is None else values
    out = {f: v[f].mean(axis=0) for f in FACTORS if f != "cost"}
    out["cost"] = e.substrate_cost.astype(np.float64)
    return out


def substrate_scores(
    e: Evidence,
    values: Mapping[str, F64] | None = None,
    per_substrate: Mapping[str, F64] | None = None,
) -> dict[str, F64]:
    """Factor → per-substrate score (``per_substrate``: :func:`substrate_values`, when the
    caller has them already)."""
    figures = substrate_values(e, values) if per_substrate is None else per_substrate
    eligible = _most(pods_placed(e))
    out = {f: scale(x, f, eligible) for f, x in figures.items()}
    broken = np.array([len(p) > 0 for p in e.violation_pairs])
    out["isolation"] = np.where(broken, 0.0, out["isolation"])
    return out


def totals(scores: Mapping[str, F64], weights: Mapping[str, float]) -> F64:
    """Weighted mean of the factor scores (any leading shape)."""
    w = sum(weights[f] for f in FACTORS)
    acc = np.zeros_like(scores[FACTORS[0]])
    for f in FACTORS:
        acc = acc + weights[f] * scores[f]
    out: F64 = acc / w
    return out


def _parts(e: Evidence, f: str, j: int) -> dict[str, float]:
    """The figures factor ``f`` of substrate ``j`` is made of, each under its own name."""
    if f == "performance":
        parts = {
            "throughput": float(e.throughput[:, j].mean()),
            "cpu_unmet": float(e.unmet[:, j].mean()),
            "cpu_unmet_worst": float(e.unmet[:, j].max()),
            "gpu_unmet": float(e.gpu_unmet[:, j].mean()),
            "slowdown": float(e.slowdown[:, j].mean()),
            "latency_p95": float(np.maximum(e.latency_p95[:, j], 1.0).mean()),
            "latency_p95_worst": float(np.maximum(e.latency_p95[:, j], 1.0).max()),
            "pods_unplaced": float(((1 - e.placed[:, j]) * e.pods).sum().round()),
        }
        if "simulation" in e.missing:  # neutral, not measured: not shown as figures
            for key in ("gpu_unmet", "slowdown", "latency_p95", "latency_p95_worst"):
                del parts[key]
        return parts
    if f == "sla":
        return {
            "availability_sla_probability": float(e.sla_probability[:, j].mean()),
            "cpu_sla_attainment_percent": float(e.cpu_sla[:, j].mean()),
        }
    return {}


def _performance_words(parts: Mapping[str, float], value: float, simulated: bool) -> str:
    """The performance index and each figure it is made of, in words."""
    words = f"performance index {100 * value:.0f}% of bare metal: "
    if not simulated:
        words += f"throughput {100 * parts['throughput']:.0f}% (static: CPU tax or GPU)"
        unplaced = round(parts["pods_unplaced"])
        if unplaced:
            words += f", {_pods(unplaced)} not placed"
        return words + "; not simulated: contention, slowdown and latency not measured"
    words += f"throughput {100 * parts['throughput']:.0f}% (I/O, GPU)"
    words += f", {100 * parts['cpu_unmet']:.1f}% of CPU demand unmet"
    if parts["cpu_unmet_worst"] > parts["cpu_unmet"] + 0.0005:
        words += f" (worst tenant {100 * parts['cpu_unmet_worst']:.1f}%)"
    if parts["gpu_unmet"] >= 0.0005:
        words += f", {100 * parts['gpu_unmet']:.1f}% of GPU time unmet"
    words += (
        f", {100 * parts['slowdown']:.1f}% of work lost to other tenants' cache and "
        f"memory-bandwidth load, p95 latency {times(parts['latency_p95'])}"
    )
    if parts["latency_p95_worst"] > parts["latency_p95"] + 0.05:
        words += f" (worst tenant {times(parts['latency_p95_worst'])})"
    unplaced = round(parts["pods_unplaced"])
    if unplaced:
        words += f", {_pods(unplaced)} not placed"
    return words


def _evidence_text(e: Evidence, values: Mapping[str, F64], f: str, j: int) -> tuple[float, str]:
    """(the figure scored, words) of factor ``f`` for substrate ``j`` as a whole;
    ``values`` are :func:`substrate_values` of ``e``."""
    value = float(values[f][j])
    simulated = "simulation" not in e.missing
    if f == "performance":
        return value, _performance_words(_parts(e, f, j), value, simulated)
    if f == "versions":
        forced = float(e.forced_upgrades[:, j].sum())
        off = float(e.months_off_version[:, j].sum())
        out = float(e.months_unsupported[:, j].sum())
        return value, (
            f"{forced:.0f} forced upgrades, {off:.0f} tenant-months off the wanted version, "
            f"{out:.1f} tenant-months out of support"
        )
    if f == "isolation":
        exposure = float(e.exposure[:, j].sum())
        pairs = len(e.violation_pairs[j])
        words = f"{exposure:.1f} escapes a year reach other tenants"
        words += f", {pairs} isolation-rule violation{'s' if pairs != 1 else ''}"
        return value, words
    if f == "sla":
        parts = _parts(e, f, j)
        words = (
            f"SLA index {100 * value:.0f}%: availability SLA met in "
            f"{100 * parts['availability_sla_probability']:.0f}% of failure years"
        )
        if simulated:
            words += f", CPU SLA met in {parts['cpu_sla_attainment_percent']:.1f}% of steps"
        return value, words
    words = f"{usd(value)} a month"
    placed, most = pods_placed(e), pods_placed(e).max()
    if placed[j] < most:
        words += (
            f" (places {placed[j]:,.0f} of {e.pods.sum():,.0f} pods, fewer than another "
            "substrate: not a saving, scored 0)"
        )
    return value, words


def _pods(n: float) -> str:
    return f"{n:,.0f} pod{'' if round(n) == 1 else 's'}"


def _names(items: list[str]) -> str:
    return ", ".join(items[:5]) + (" and more" if len(items) > 5 else "")


def _placement_reasons(e: Evidence, total: F64, order: I64) -> tuple[list[str], bool]:
    """Reasons the ranking owes to placement (first), and whether it put the winner
    ahead of the runner-up."""
    placed = pods_placed(e)
    per_tenant = _tenant_pods_placed(e)
    a, asked = int(order[0]), float(e.pods.sum())
    name_a = e.substrates[a]
    out = []
    if placed[a] == 0 and asked > 0:
        out.append(
            f"no substrate places any pod ({asked:,.0f} asked for): the scores compare "
            "substrates that run nothing"
        )
    elif placed[a] < asked:
        others = ", ".join(f"{e.substrates[j]} {placed[j]:,.0f}" for j in order[1:6].tolist())
        out.append(
            f"no substrate places every pod: {name_a} places the most, {placed[a]:,.0f} of "
            f"{asked:,.0f}"
            + (f" ({others})" if others else "")
            + "; substrates are ranked by pods placed first, then by score"
        )
    behind = [int(j) for j in order[1:] if placed[j] < placed[a] and total[j] > total[a]]
    decides = bool(len(order) > 1 and placed[int(order[1])] < placed[a])
    if decides and int(order[1]) not in behind:
        behind.insert(0, int(order[1]))
    for j in behind:
        short = np.flatnonzero(per_tenant[:, j] < per_tenant[:, a])
        out.append(
            f"placement: {e.substrates[j]} places {_pods(placed[a] - placed[j])} fewer than "
            f"{name_a} (short on {_names([e.tenants[i] for i in short])}), so it ranks after "
            f"{name_a} whatever its score (total {total[j]:.1f} against {total[a]:.1f})"
        )
    return out, decides


def _verdict(
    e: Evidence,
    values: Mapping[str, F64],
    sub: Mapping[str, F64],
    total: F64,
    weights: Mapping[str, float],
) -> Verdict:
    order = rank(e, total)
    a = int(order[0])
    unplaced = np.rint(e.pods.sum() - pods_placed(e))
    pods_unplaced = {n: int(x) for n, x in zip(e.substrates, unplaced.tolist(), strict=True)}
    if len(order) == 1:
        reasons = [f"{e.substrates[a]} is the only substrate"]
        reasons += _placement_reasons(e, total, order)[0]
        return Verdict(e.substrates[a], None, 0.0, reasons, pods_unplaced=pods_unplaced)
    b = int(order[1])
    wsum = sum(weights[f] for f in FACTORS)
    lead = {f: weights[f] * float(sub[f][a] - sub[f][b]) / wsum for f in FACTORS}
    name_a, name_b = e.substrates[a], e.substrates[b]
    first, decides = _placement_reasons(e, total, order)
    reasons = []
    for f in sorted((f for f in FACTORS if lead[f] > 0.5), key=lambda f: -lead[f])[:3]:
        reasons.append(
            f"{f}: {name_a} — {_evidence_text(e, values, f, a)[1]}; {name_b} — {_evidence_text(e, values, f, b)[1]}"
        )
    against = min(FACTORS, key=lambda f: lead[f])
    if lead[against] < -0.5:
        reasons.append(
            f"against it, {against}: {name_a} — {_evidence_text(e, values, against, a)[1]}; "
            f"{name_b} — {_evidence_text(e, values, against, b)[1]}"
        )
    if not reasons:
        reasons.append(f"{name_a} and {name_b} score within half a point on every weighted factor")
    margin = float(total[a] - total[b])
    tie = not decides and abs(margin) < TIE_POINTS
    if tie:
        reasons.insert(
            0,
            f"a tie: {name_a} and {name_b} total {total[a]:.1f} points each; the weights do "
            "not separate them (the lines below say where they differ)",
        )
    left = (1 - e.placed[:, a]) * e.pods
    if left.sum() >= 1:
        who = [e.tenants[i] for i in np.flatnonzero(left >= 1)]
        reasons.append(f"beware: {name_a} leaves {_pods(left.sum())} unplaced ({_names(who)})")
    return Verdict(
        name_a,
        name_b,
        margin,
        first + reasons,
        tie=tie,
        placement_decides=decides,
        pods_unplaced=pods_unplaced,
    )


def _best_for(totals_t: F64, placed_t: F64) -> int:
    """The tenant's best substrate: highest total among those placing the most of its pods."""
    return int(np.argmax(np.where(_most(placed_t), totals_t, -np.inf)))


def score(e: Evidence, weights: Mapping[str, float]) -> Scorecard:
    """The scorecard of ``e`` under ``weights`` (factor → weight ≥ 0, some > 0)."""
    figures = factor_values(e)
    per_tenant = tenant_scores(e, figures)
    values = substrate_values(e, figures)
    sub = substrate_scores(e, per_substrate=values)
    total = totals(sub, weights)
    t_total = totals(per_tenant, weights)
    t_placed = _tenant_pods_placed(e)
    substrates = []
    for j, name in enumerate(e.substrates):
        factors = {}
        for f in FACTORS:
            value, words = _evidence_text(e, values, f, j)
            factors[f] = FactorScore(
                f, float(sub[f][j]), value, FACTOR_UNITS[f], words, _parts(e, f, j)
            )
        substrates.append(SubstrateScore(name, e.kinds[j], factors, float(total[j])))
    tenants = [
        TenantScore(
            name=name,
            scores=[
                {f: float(per_tenant[f][i, j]) for f in FACTORS} for j in range(len(e.substrates))
            ],
            totals=[float(x) for x in t_total[i]],
            best=e.substrates[_best_for(t_total[i], t_placed[i])],
        )
        for i, name in enumerate(e.tenants)
    ]
    notes = [
        f"isolation: {ISOLATION_HALF:g} escape a year reaching a tenant halves its score; "
        f"versions: {VERSIONS_HALF:g} month-equivalents halve it (assumptions)"
    ]
    if e.missing:
        notes.append(f"not analysed (neutral figures used): {', '.join(e.missing)}")
    return Scorecard(
        weights={f: float(weights[f]) for f in FACTORS},
        substrates=substrates,
        tenants=tenants,
        verdict=_verdict(e, values, sub, total, weights),
        notes=notes,
    )
