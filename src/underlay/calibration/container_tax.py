"""The container runtime's CPU tax from the overhead rounds: one figure, or why none.

The default it measures is ``container_runtime.cpu_overhead_percent`` (the CPU tax of a
plain container, :func:`~underlay.placement.overheads.cpu_tax`), from the CPU-bound
benchmark (:mod:`underlay.calibration.overheads`), which ran :data:`MIN_PAIRS` or more
rounds natively and in the container sandbox, the two taking turns within each round.

**The rule.** Each round gives one paired loss, 100 × (1 − container ÷ native) of that
round (a busy moment on a shared machine weighs on both sides of a pair). Then:

- every pair lost work in the container: the tax is measured, the median pair (the middle
  one: one pair spoilt by other load moves it by one rank, not by its size);
- every pair *gained* work in the container: not measured; no container overhead makes a
  process faster, so something else differed between the two (their cores, other load);
- the pairs disagree in sign (or one is exactly 0): not measured; the overhead is within
  the run-to-run noise, and the cited default is kept.

It is a sign test: when the container changes nothing, each pair is as likely to come out
either way, so all five of one sign happen by chance with probability 2 × (1/2)⁵ ≈ 6 %;
fewer than five pairs give no verdict at that level (three: 25 %), and are not read.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from underlay.calibration.results import OverheadRun

__all__ = ["CONTAINER_CPU", "MIN_PAIRS", "TAX_BENCH", "TAX_HOW", "TaxReading", "container_tax"]

CONTAINER_CPU = "container_runtime.cpu_overhead_percent"
TAX_BENCH = "cpu"
"""The benchmark the tax is read from: a CPU-bound loop, as the cited figure (Linpack)."""
MIN_PAIRS = 5
TAX_HOW = (
    "CPU-bound loop (iterations per CPU second) natively vs in the container sandbox "
    "(unshare namespaces and a pod cgroup), in rounds taking turns; the median of the "
    "rounds' paired losses, kept only when every round lost work in the container"
)


@dataclass(frozen=True)
class TaxReading:
    """The container's CPU tax as read from the rounds: ``percent`` (None: not measured,
    ``why_not`` says why), and the paired losses it was read from."""

    percent: float | None
    paired: tuple[float, ...]
    why_not: str = ""


def _span(values: list[float]) -> str:
    return f"{min(values):+.1f} %…{max(values):+.1f} %"


def _noise(rates: tuple[float, ...]) -> str:
    """How much the native rounds alone differ: (highest − lowest) ÷ their median."""
    middle = statistics.median(rates) if rates else 0.0
    if len(rates) < 2 or middle <= 0:
        return "too few native rounds to tell their own spread"
    spread = 100 * (max(rates) - min(rates)) / middle
    return f"the native rounds alone differ by up to {spread:.1f} %"


def container_tax(run: OverheadRun | None) -> TaxReading:
    """The CPU tax ``run`` (the :data:`TAX_BENCH` benchmark's) shows, by the module's rule."""
    if run is None:
        return TaxReading(None, (), f"the {TAX_BENCH} benchmark did not run")
    paired = run.paired_percent()
    if not paired:
        why = run.why_not_container or "the benchmark did not run in the container sandbox"
        return TaxReading(None, (), why)
    kept = tuple(paired)
    if len(paired) < MIN_PAIRS:
        why = (
            f"{len(paired)} paired rounds ({_span(paired)}); at least {MIN_PAIRS} are needed "
            "to tell an overhead from noise"
        )
        return TaxReading(None, kept, why)
    middle = float(statistics.median(paired))
    if all(p > 0 for p in paired):
        return TaxReading(min(middle, 99.0), kept)
    if all(p < 0 for p in paired):
        why = (
            f"the container did more work than native in every round ({_span(paired)}): no "
            "container overhead does that, so something else differed between the two"
        )
        return TaxReading(None, kept, why)
    why = (
        f"the container overhead ({_span(paired)}, median {middle:+.1f} %) is within the "
        f"run-to-run noise ({_noise(run.native_rounds)}); the cited figure is kept"
    )
    return TaxReading(None, kept, why)
