"""The scorecard: one 0–100 score per factor for each tenant on each substrate, the weighted
verdict, and the reasons that decided it.

Each factor starts from a measured figure of :mod:`underlay.decision.evidence`:

    factor        figure                                               score 0–100
    performance   throughput × (1 − unmet CPU) ÷ p95 latency inflation   100 · v / best v
    sla           share of failure years meeting the availability SLA
                  × share of steps meeting the CPU SLA                  100 · v / best v
    cost          USD a month                                          100 · cheapest / c
    isolation     others' escapes reaching a tenant a year (x)         100 / (1 + x / 1 a year)
    versions      months off the wanted version + months out of
                  support + forced upgrades, each a month (m)          100 / (1 + m / 6 months)

Performance, SLA and cost are ratios to the best substrate compared (100 = as good as the
best option here; a VM at 94 % of bare-metal throughput scores 94). Isolation and versions
have a true zero, so they are scored on an absolute scale whose half-point is stated:
one escape a year reaching a tenant halves its isolation score, six month-equivalents of
version trouble halve its versions score (both scales are assumptions, shown with the
scores). A tenant that breaks an isolation rule of the scenario scores 0 on isolation.
Per substrate, each figure is the mean over its tenants (each tenant counts once, whatever
its size), except cost, the substrate's whole monthly cost; per tenant, the tenant's own.
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

__all__ = [
    "FACTOR_UNITS",
    "ISOLATION_HALF",
    "VERSIONS_HALF",
    "factor_values",
    "scale",
    "score",
    "substrate_scores",
    "substrate_values",
    "tenant_scores",
    "totals",
]

F64 = NDArray[np.float64]

FACTOR_UNITS = {
    "performance": "useful work vs bare metal",
    "versions": "month-equivalents per tenant",
    "isolation": "escapes / yr per tenant",
    "sla": "share",
    "cost": "USD / month",
}
TIE_POINTS = 0.05  # totals closer than this are a tie
ISOLATION_HALF = 1.0  # escapes a year reaching a tenant that halve its isolation score
VERSIONS_HALF = 6.0  # month-equivalents of version trouble that halve its versions score


def factor_values(e: Evidence) -> dict[str, F64]:
    """The figure behind each factor, (tenants × substrates)."""
    return {
        "performance": e.throughput * (1 - e.unmet) / np.maximum(e.latency_p95, 1.0),
        "versions": e.months_off_version + e.months_unsupported + e.forced_upgrades,
        "isolation": e.exposure,
        "sla": e.sla_probability * e.cpu_sla / 100,
        "cost": e.cost,
    }


def scale(values: F64, factor: str) -> F64:
    """Scores 0–100 of ``factor``'s figures; ratios are taken along the last axis."""
    if factor in ("performance", "sla"):
        best = values.max(axis=-1, keepdims=True)
        out: F64 = np.divide(100 * values, best, out=np.full_like(values, 100.0), where=best > 0)
        return out
    if factor == "cost":
        # a $1 floor: a tenant that costs nothing somewhere does not zero every other option
        floor = np.maximum(values, 1.0)
        ratio: F64 = 100 * floor.min(axis=-1, keepdims=True) / floor
        return ratio
    half = ISOLATION_HALF if factor == "isolation" else VERSIONS_HALF
    absolute: F64 = 100 / (1 + np.maximum(values, 0) / half)
    return absolute


def tenant_scores(e: Evidence, values: Mapping[str, F64] | None = None) -> dict[str, F64]:
    """Factor → (tenants × substrates) scores, each tenant across the substrates."""
    v = factor_values(e) if values is None else values
    out = {f: scale(v[f], f) for f in FACTORS}
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
    out = {f: scale(x, f) for f, x in figures.items()}
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


def _evidence_text(e: Evidence, values: Mapping[str, F64], f: str, j: int) -> tuple[float, str]:
    """(the figure scored, words) of factor ``f`` for substrate ``j`` as a whole;
    ``values`` are :func:`substrate_values` of ``e``."""
    value = float(values[f][j])
    simulated = "simulation" not in e.missing
    if f == "performance":
        thr = float(e.throughput[:, j].mean())
        words = f"useful work at {100 * value:.0f}% of bare metal (throughput {100 * thr:.0f}%"
        if simulated:
            lat = float(e.latency_p95[:, j].max())
            words += f", worst p95 latency ×{lat:.1f}"
        unmet = float(e.unmet[:, j].max())
        if unmet > 0.001:
            words += f", up to {100 * unmet:.1f}% of CPU demand unmet for one tenant"
        unplaced = round(float(((1 - e.placed[:, j]) * e.pods).sum()))
        if unplaced:
            words += f", {unplaced:,} pods not placed"
        return value, words + ")"
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
        sla_p = float(e.sla_probability[:, j].mean())
        words = f"tenants meet their availability SLA in {100 * sla_p:.0f}% of years"
        if simulated:
            cpu = float(e.cpu_sla[:, j].mean())
            words += f" and their CPU SLA in {cpu:.1f}% of steps"
        return value, words
    return value, f"${value:,.0f} a month"


def _verdict(
    e: Evidence,
    values: Mapping[str, F64],
    sub: Mapping[str, F64],
    total: F64,
    weights: Mapping[str, float],
) -> Verdict:
    order = np.argsort(-total, kind="stable")
    a = int(order[0])
    if len(order) == 1:
        return Verdict(e.substrates[a], None, 0.0, [f"{e.substrates[a]} is the only substrate"])
    b = int(order[1])
    wsum = sum(weights[f] for f in FACTORS)
    lead = {f: weights[f] * float(sub[f][a] - sub[f][b]) / wsum for f in FACTORS}
    name_a, name_b = e.substrates[a], e.substrates[b]
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
    tie = margin < TIE_POINTS
    if tie:
        reasons.insert(
            0,
            f"a tie: {name_a} and {name_b} total {total[a]:.1f} points each; the weights do "
            "not separate them (the lines below say where they differ)",
        )
    unplaced = (1 - e.placed[:, a]) * e.pods
    if unplaced.sum() >= 1:
        who = [e.tenants[i] for i in np.flatnonzero(unplaced >= 1)]
        reasons.append(
            f"beware: {name_a} leaves {round(float(unplaced.sum())):,} pods unplaced "
            f"({', '.join(who[:5])}{' and more' if len(who) > 5 else ''})"
        )
    return Verdict(name_a, name_b, margin, reasons, tie=tie)


def _best_for(totals_t: F64, placed_t: F64) -> int:
    """The tenant's best substrate: highest total among those that place all its pods."""
    full = placed_t >= 1 - 1e-9
    if not full.any():
        return int(np.argmax(totals_t))
    return int(np.argmax(np.where(full, totals_t, -np.inf)))


def score(e: Evidence, weights: Mapping[str, float]) -> Scorecard:
    """The scorecard of ``e`` under ``weights`` (factor → weight ≥ 0, some > 0)."""
    figures = factor_values(e)
    per_tenant = tenant_scores(e, figures)
    values = substrate_values(e, figures)
    sub = substrate_scores(e, per_substrate=values)
    total = totals(sub, weights)
    t_total = totals(per_tenant, weights)
    substrates = []
    for j, name in enumerate(e.substrates):
        factors = {}
        for f in FACTORS:
            value, words = _evidence_text(e, values, f, j)
            factors[f] = FactorScore(f, float(sub[f][j]), value, FACTOR_UNITS[f], words)
        substrates.append(SubstrateScore(name, e.kinds[j], factors, float(total[j])))
    tenants = [
        TenantScore(
            name=name,
            scores=[
                {f: float(per_tenant[f][i, j]) for f in FACTORS} for j in range(len(e.substrates))
            ],
            totals=[float(x) for x in t_total[i]],
            best=e.substrates[_best_for(t_total[i], e.placed[i])],
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
