"""Which default a disagreement between model and measurement would change, and by how much.

Only two defaults are set by a calibration experiment alone:

- ``interference.slowdown_at_full_load`` (k) by the probe's work per CPU second beside
  the memory-bandwidth hog: the model predicts alone × (1 − k·L) (L: the hog's grant ÷
  the host's cores), so the measured m gives k = (1 − m ÷ alone) ÷ L, kept within the
  field's 0–1;
- ``hypervisors.kvm.cpu_overhead_percent`` by a benchmark's loss in a KVM guest: the
  measured loss itself.

Every other figure follows from a rule with no default in it (CFS shares and quotas, the
M/M/1 latency rule below ``latency.rho_max``, containers on bare metal paying no CPU tax):
a disagreement there says the rule or the measurement is wrong, and the change says which
is more likely and by how much they differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from underlay.calibration.predict import (
    EFFICIENCY,
    HOG_CPU,
    HOG_THROTTLED,
    LATENCY,
    MIN_CPU_SECONDS,
    predict_case,
)
from underlay.calibration.results import Calibration, Comparison
from underlay.defaults.catalog import Defaults, load_defaults

__all__ = [
    "INTERFERENCE",
    "KVM_CPU",
    "Change",
    "change_for",
    "closing_notes",
    "default_changes",
]

INTERFERENCE = "interference.slowdown_at_full_load"
KVM_CPU = "hypervisors.kvm.cpu_overhead_percent"


@dataclass(frozen=True)
class Change:
    """What one disagreement would change: ``default`` (None: no default; the rule or the
    measurement is wrong) from ``cited`` to ``suggested``, and why, in words."""

    comparison: Comparison
    default: str | None
    cited: float | None
    suggested: float | None
    why: str


def default_changes(cal: Calibration, comparisons: list[Comparison]) -> list[Change]:
    """For each comparison that disagrees beyond its tolerance, the default it would
    change and by how much (or why no default would), in the comparisons' order."""
    defaults = load_defaults()
    return [change_for(cal, c, defaults) for c in comparisons if not c.agrees]


def closing_notes(changes: list[Change]) -> list[str]:
    """One line per disagreement, for the close of ``underlay calibrate``'s output: the
    experiment and figure, by how much, and the default it would change (or why none)."""
    lines = []
    for ch in changes:
        c = ch.comparison
        head = f"{c.experiment}, {c.figure}: {ch.why}"
        if ch.default is not None and ch.suggested is not None and ch.cited is not None:
            head += f"; would change {ch.default} from {ch.cited:g} to {ch.suggested:.3g}"
        lines.append(head)
    return lines


def change_for(cal: Calibration, c: Comparison, defaults: Defaults) -> Change:
    """The change one comparison ``c`` of ``cal`` calls for (see the module docstring)."""
    off = f"predicted {c.predicted:.3g} {c.unit}, measured {c.measured:.3g} ({_by(c)})"
    if c.experiment == "membw-hog" and c.figure == EFFICIENCY:
        return _interference(cal, c, defaults, off)
    if c.experiment.endswith("in a KVM guest"):
        cited = defaults.hypervisors["kvm"].cpu_overhead_percent
        suggested = min(max(c.measured, 0.0), 99.0)
        return Change(c, KVM_CPU, cited, suggested, f"{off}: the KVM guest's CPU tax as measured")
    if c.experiment.endswith("in a container"):
        why = (
            f"{off}: no default; the model gives containers on bare metal no CPU tax, so "
            "either the sandbox measured costs more than a plain container (check its "
            "cgroup limits) or the model lacks a container tax"
        )
        return Change(c, None, None, None, why)
    return Change(c, None, None, None, f"{off}: no default; {_rule(c)}")


def _by(c: Comparison) -> str:
    if c.measured == 0:
        return f"off by {abs(c.difference):.3g}, tolerance {c.tolerance:.3g}"
    share = 100 * c.difference / abs(c.measured)
    return f"the model {'over' if share > 0 else 'under'}states it by {abs(share):.0f} %"


def _rule(c: Comparison) -> str:
    """Which rule the figure tests, and which side is more likely wrong."""
    if c.figure == LATENCY:
        side = (
            "the measured tail is longer than M/M/1 queueing explains (CFS scheduling "
            "latency, timer slack, other load on the machine)"
            if c.measured > c.predicted
            else "the model queues more than the probe did (its request or usage may be "
            "set too tight, or the paced probe did not saturate)"
        )
        return f"the M/M/1 latency rule (latency.rho_max only caps its saturated end): {side}"
    if c.figure == EFFICIENCY:
        return (
            "the shared-hardware rule counts any other tenant's load (this CPU hog's too) as "
            "cache and memory-bandwidth pressure: "
            + (
                "this hog costs the probe less work per CPU second than k·L says"
                if c.measured > c.predicted
                else "the probe lost more work per CPU second than k·L says (or ran "
                "slower for another reason, e.g. frequency scaling)"
            )
        )
    if c.figure in (HOG_CPU, HOG_THROTTLED) and c.experiment == "hard-quota":
        side = (
            "the quota was not enforced as set (check the cgroup's cpu.cfs_quota_us)"
            if c.figure == HOG_CPU and c.measured > c.predicted
            else "other processes took CPU from the hog, or it ran fewer threads than recorded"
        )
        return f"CFS quota arithmetic: {side}"
    return "CFS sharing by request weights: " + (
        "other processes on the machine took CPU the model gives the experiment"
        if c.measured < c.predicted
        else "the experiment got more CPU than its weights entitle it to (check the weights)"
    )


def _interference(cal: Calibration, c: Comparison, defaults: Defaults, off: str) -> Change:
    """k that makes the membw-hog case's throughput as measured (module docstring)."""
    cited = defaults.interference.slowdown_at_full_load
    alone = next((n for n in cal.neighbours if n.case == "alone"), None)
    case = next((n for n in cal.neighbours if n.case == "membw-hog"), None)
    if alone is None or case is None or alone.probe.work_per_s <= 0:
        return Change(c, INTERFERENCE, cited, None, f"{off}: no alone case to solve k from")
    p = predict_case(cal, case, alone)
    if p.other_load <= 0 or alone.probe.cpu_seconds < MIN_CPU_SECONDS:
        return Change(c, INTERFERENCE, cited, None, f"{off}: the hog got no CPU in the model")
    alone_eff = alone.probe.work_per_s * alone.duration_s / alone.probe.cpu_seconds
    k = (1 - c.measured / alone_eff) / p.other_load
    suggested = min(max(k, 0.0), 1.0)
    why = (
        f"{off}: k = (1 − measured ÷ alone) ÷ L = {k:.3g} at L = "
        f"{p.other_load:.3g}{'' if k == suggested else ', kept within 0–1'}"
    )
    return Change(c, INTERFERENCE, cited, suggested, why)
