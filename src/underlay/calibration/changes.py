"""Which default a disagreement between model and measurement would change, and by how much.

Only three defaults are set by a calibration experiment alone:

- ``interference.slowdown_at_full_load`` (k) by the probe's work per CPU second beside
  the memory-bandwidth hog: the model predicts alone × (1 − k·L) (L: the hog's grant ÷
  the host's cores), so the measured m gives k = (1 − m ÷ alone) ÷ L, kept within the
  field's 0–1;
- ``hypervisors.kvm.cpu_overhead_percent`` by a benchmark's loss in a KVM guest: the
  measured loss itself;
- ``container_runtime.cpu_overhead_percent`` by the CPU-bound benchmark's loss in the
  container sandbox, read from its rounds by the rule of
  :mod:`underlay.calibration.container_tax` (none when the loss is within the noise); the
  other benchmarks' losses in the container set no default of their own.

Every other figure follows from a rule with no default in it (CFS shares and quotas, the
M/M/1 latency rule below ``latency.rho_max``):
a disagreement there says the rule or the measurement is wrong, and the change says which
is more likely and by how much they differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from underlay.calibration.container_tax import CONTAINER_CPU, TAX_BENCH, container_tax
from underlay.calibration.predict import (
    EFFICIENCY,
    HOG_CPU,
    HOG_THROTTLED,
    LATENCY,
    predict_case,
)
from underlay.calibration.results import Calibration, Comparison
from underlay.defaults.catalog import Defaults, load_defaults

__all__ = [
    "CONTAINER_CPU",
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
        return _container(cal, c, defaults, off)
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
                "this hog costs the probe less work per CPU second than k·L says (a loop "
                "with no memory footprint presses on no cache; and the probe alone may pay "
                "more CPU per request on a core left idle between requests, as on a VM)"
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
    alone_eff = alone.probe.work_per_cpu_second(alone.duration_s)
    if alone_eff is None:
        return Change(c, INTERFERENCE, cited, None, f"{off}: the probe alone did too little work")
    if p.other_load <= 0:
        return Change(c, INTERFERENCE, cited, None, f"{off}: the hog got no CPU in the model")
    k = (1 - c.measured / alone_eff) / p.other_load
    suggested = min(max(k, 0.0), 1.0)
    why = (
        f"{off}: k = (1 − measured ÷ alone) ÷ L = {k:.3g} at L = "
        f"{p.other_load:.3g}{'' if k == suggested else ', kept within 0–1'}"
    )
    return Change(c, INTERFERENCE, cited, suggested, why)


def _container(cal: Calibration, c: Comparison, defaults: Defaults, off: str) -> Change:
    """The container tax a container benchmark's disagreement calls for: the CPU-bound
    one's reading (:mod:`underlay.calibration.container_tax`); none from the others."""
    cited = defaults.container_runtime.cpu_overhead_percent
    if c.experiment != f"{TAX_BENCH} in a container":
        why = (
            f"{off}: no default of its own; the model charges a container the same CPU "
            f"tax ({CONTAINER_CPU}) on all CPU work, read from the {TAX_BENCH} benchmark alone "
            "(this one's loss is memory, system-call or network cost the sandbox adds, or "
            "noise)"
        )
        return Change(c, None, None, None, why)
    run = next((o for o in cal.overheads if o.bench == TAX_BENCH), None)
    reading = container_tax(run)
    if reading.percent is None:
        return Change(c, CONTAINER_CPU, cited, None, f"{off}: not measured: {reading.why_not}")
    why = f"{off}: the container's CPU tax, every round losing work in the container"
    return Change(c, CONTAINER_CPU, cited, reading.percent, why)
