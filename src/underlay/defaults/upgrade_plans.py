"""Upgrade plans on the release calendar, and the lifecycles no plan can keep.

A tenant's own plan runs its wanted minor and, every ``upgrade_cadence_months``, upgrades
to the newest minor released by that day (:func:`upgrade_plan`). :func:`lifecycle_problems`
lists what makes a scenario's lifecycle impossible — a version not yet released at the
start, a cadence that can never stay supported — and the scenario loader refuses such a
file when it is read. It lives here, next to the release calendar it reads, so the loader
needs no analysis; the lifecycle analysis (:mod:`underlay.analysis.lifecycle`) runs the
same plans month by month.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.releases import (
    DAYS_PER_MONTH,
    ReleaseCalendar,
    format_version,
    release_calendar,
)
from underlay.model.scenario import BaremetalShared, Sandboxed, Scenario, SupportChannel

__all__ = [
    "Loc",
    "UpgradePlan",
    "add_months",
    "lifecycle_problems",
    "months_out_of_support",
    "unreleased",
    "upgrade_plan",
]

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class UpgradePlan:
    """A cluster's versions month by month, and its upgrades."""

    versions: I64  # minor running in each month
    upgrades: list[tuple[int, int, int]]  # (month, from minor, to minor)


def upgrade_plan(
    cal: ReleaseCalendar, wanted: int, cadence: int, starts: list[date]
) -> UpgradePlan:
    """Start at ``wanted``; every ``cadence`` months go to the newest minor released then."""
    months = len(starts) - 1
    versions = np.full(months, wanted, np.int64)
    upgrades = []
    current = wanted
    for m in range(cadence, months, cadence):
        newest = cal.newest_released(starts[m]) or current
        if newest > current:
            upgrades.append((m, current, newest))
            current = newest
            versions[m:] = current
    return UpgradePlan(versions, upgrades)


def months_out_of_support(
    cal: ReleaseCalendar, channel: SupportChannel, versions: I64, ords: I64
) -> float:
    """Months (fractions by days) run at or past the end of support on ``channel``."""
    ends = cal.end_ordinals(versions, channel)
    lo, hi = ords[:-1], ords[1:]
    days = np.clip(hi - np.maximum(lo, ends), 0, hi - lo)
    return float((days / (hi - lo)).sum())


Loc = tuple[str | int, ...]
"""A field's path in the scenario, e.g. ``("tenants", 0, "upgrade_cadence_months")``."""


def lifecycle_problems(scenario: Scenario) -> list[tuple[Loc, str]]:
    """What makes ``scenario``'s lifecycle impossible, as (field path, problem): a version not
    yet released at the start, a cadence that can never stay supported. The loader calls
    this, so such a file is refused when it is read, whatever is analysed later."""
    cal = release_calendar()
    start = scenario.lifecycle.start or cal.as_of
    months = max(1, round(scenario.lifecycle.horizon_years * 12))
    starts = [add_months(start, m) for m in range(months + 1)]
    ords = np.array([d.toordinal() for d in starts], np.int64)
    newest_at_end = cal.newest_released(starts[-1]) or cal.first
    out: list[tuple[Loc, str]] = []
    for i, t in enumerate(scenario.tenants):
        v = cal.parse(t.kubernetes_version, f"tenants[{i}].kubernetes_version")
        late = unreleased(cal, v, start)
        if late:
            out.append((("tenants", i, "kubernetes_version"), late))
            continue
        if t.must_stay_supported:
            minor, days = cal.shortest_window(t.support, v, max(v, newest_at_end))
            window = days / DAYS_PER_MONTH
            if t.upgrade_cadence_months > window:
                out.append(
                    (
                        ("tenants", i, "upgrade_cadence_months"),
                        f"impossible cadence: upgrading every {t.upgrade_cadence_months} months "
                        f"cannot keep {t.name} supported on {t.support}, whose shortest support "
                        f"window among the versions it would run is {window:.1f} months "
                        f"(Kubernetes {format_version(minor)}); upgrade at least every "
                        f"{int(window)} months or set must_stay_supported: false",
                    )
                )
                continue
            unsupported = _unsupported_plan(
                cal, t.support, v, t.upgrade_cadence_months, starts, ords
            )
            if unsupported:
                out.append((("tenants", i, "upgrade_cadence_months"), unsupported))
    for j, sub in enumerate(scenario.substrates):
        if isinstance(sub, BaremetalShared | Sandboxed) and sub.kubernetes_version:
            v = cal.parse(sub.kubernetes_version, f"substrates[{j}].kubernetes_version")
            late = unreleased(cal, v, start)
            if late:
                out.append((("substrates", j, "kubernetes_version"), late))
    return out


def _unsupported_plan(
    cal: ReleaseCalendar,
    channel: SupportChannel,
    wanted: int,
    cadence: int,
    starts: list[date],
    ords: I64,
) -> str:
    """Why a tenant that must stay supported cannot with this plan ("" when it can)."""
    versions = upgrade_plan(cal, wanted, cadence, starts).versions
    months_out = months_out_of_support(cal, channel, versions, ords)
    if months_out == 0:
        return ""
    ends = cal.end_ordinals(versions, channel)
    first = int(np.flatnonzero(ends < ords[1:])[0])  # first month that ends unsupported
    lapse = date.fromordinal(int(max(ords[first], ends[first])))
    end = cal.end_of_support(wanted, channel)
    if end <= starts[0]:
        return (
            f"Kubernetes {format_version(wanted)} is already out of support on {channel} at "
            f"the lifecycle start {starts[0]} (support ended {end}); choose a newer version or "
            "set must_stay_supported: false"
        )
    ok = [
        c
        for c in range(cadence - 1, 0, -1)
        if months_out_of_support(cal, channel, upgrade_plan(cal, wanted, c, starts).versions, ords)
        == 0
    ]
    fix = f"upgrade at least every {ok[0]} months" if ok else "choose a newer version"
    return (
        f"upgrading every {cadence} months leaves the tenant unsupported on {channel} for "
        f"{months_out:.1f} months, first from {lapse} (Kubernetes "
        f"{format_version(int(versions[first]))}); {fix} or set must_stay_supported: false"
    )


def unreleased(cal: ReleaseCalendar, minor: int, start: date) -> str:
    """Why ``minor`` cannot run at ``start`` ("" when it can)."""
    released = cal.release_date(minor)
    if released <= start:
        return ""
    newest = cal.newest_released(start)
    hint = f"the newest then is {format_version(newest)}" if newest else "none is"
    return (
        f"Kubernetes {format_version(minor)} is not released by the lifecycle start {start} "
        f"(released {released}{', estimated' if cal.is_extrapolated(minor) else ''}); {hint}: "
        f"choose it, or set lifecycle.start to {released} or later"
    )


def add_months(d: date, n: int) -> date:
    """``d`` moved ``n`` calendar months on (the day clipped to the month's length)."""
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, _cal.monthrange(year, month)[1]))
