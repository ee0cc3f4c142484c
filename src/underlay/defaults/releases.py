"""The Kubernetes release calendar: when each minor version came out, when its support ends
on each channel, how far kubelets may lag the control plane — and estimates past the data.

The facts live in ``kubernetes_releases.yaml`` (each column with its source; dates as
collected on its ``as_of`` day). Versions are handled as minor numbers (``"1.31"`` → 31);
channels are :data:`underlay.model.scenario.SupportChannel` (``upstream``, ``eks``,
``eks-extended``, ``aks``, ``gke``). A version is supported on a channel from its release
(GA) date up to, not including, the channel's end-of-support date.

Extrapolation (the data file's ``extrapolation`` block):

- releases after the last known one come every ``cadence`` days, the mean interval between
  consecutive releases among the last ``cadence_releases`` (6) known ones: 1.31 → 1.36 is
  617 days over 5 intervals, 123.4 days (about 4 months; kubernetes.io says three minors a
  year). Release ``last + k`` is ``k × cadence`` days after the last known one, to the
  nearest day;
- a channel's support window (release to end of support) is the median of its last
  ``window_releases`` (6) known windows; it gives the end of support of every extrapolated
  release and of every known release the channel has no date for.

Version skew (the file's ``skew`` block, kubernetes.io Version Skew Policy): a kubelet may
be up to 3 minors older than the API server when the API server is at 1.28 or newer, 2
before; the control plane moves one minor at a time. :meth:`ReleaseCalendar.node_rolls`
derives from these how many times the nodes must be rolled to jump several minors.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, get_args

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from underlay.errors import ScenarioError
from underlay.model.scenario import SupportChannel

__all__ = [
    "CHANNELS",
    "DAYS_PER_MONTH",
    "ReleaseCalendar",
    "format_version",
    "release_calendar",
]

CHANNELS: tuple[SupportChannel, ...] = get_args(SupportChannel)
DAYS_PER_MONTH = 365.2425 / 12  # mean Gregorian month, to express windows in months
_VERSION = re.compile(r"^\s*1\.(\d{1,3})\s*$")


def format_version(minor: int) -> str:
    """``31`` → ``"1.31"``."""
    return f"1.{minor}"


# ------------------------------------------------------------------- the data file


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    class Extrapolation(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        cadence_releases: int = Field(ge=2)
        window_releases: int = Field(ge=1)

    class Skew(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        kubelet_minors_behind: int = Field(ge=0)
        since: str
        kubelet_minors_behind_before: int = Field(ge=0)
        control_plane_minors_per_step: int = Field(ge=1)

    class Row(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
        version: str
        released: date
        upstream: date | None
        eks: date | None
        eks_extended: date | None = Field(alias="eks-extended")
        aks: date | None
        gke: date | None
        scheduled: bool = False  # the GA date is the release team's plan, not a release seen

    as_of: date
    sources: dict[str, str]
    extrapolation: Extrapolation
    skew: Skew
    releases: list[Row] = Field(min_length=2)


# ------------------------------------------------------------------------ calendar


@dataclass(frozen=True)
class ReleaseCalendar:
    """Release and end-of-support dates per minor version and channel (see the module
    docstring for the extrapolation past the data)."""

    as_of: date
    sources: dict[str, str]
    first: int  # oldest minor in the data
    last: int  # newest minor in the data
    known_released: tuple[date, ...]  # index = minor - first
    scheduled: tuple[bool, ...]  # index = minor - first: GA date planned, not seen
    known_ends: dict[str, tuple[date | None, ...]]  # channel -> per minor, None = no date
    cadence_days: float
    window_days: dict[str, float]  # channel -> median support window
    kubelet_behind: int
    kubelet_behind_before: int
    kubelet_skew_since: int
    control_plane_step: int

    @staticmethod
    def from_data(
        data: dict[str, Any], *, source: str = "kubernetes_releases.yaml"
    ) -> ReleaseCalendar:
        """A calendar from the data file's layout (``source`` names it in errors)."""
        try:
            f = _File.model_validate(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(map(str, err["loc"]))
            raise ScenarioError(f"{source}: {where}: {err['msg']}") from None
        minors = [
            _parse(r.version, f"{source}: releases[{i}].version") for i, r in enumerate(f.releases)
        ]
        if minors != list(range(minors[0], minors[0] + len(minors))):
            raise ScenarioError(f"{source}: releases must list consecutive minor versions in order")
        released = tuple(r.released for r in f.releases)
        if any(b <= a for a, b in itertools.pairwise(released)):
            raise ScenarioError(f"{source}: release dates must increase with the version")
        ends: dict[str, tuple[date | None, ...]] = {
            ch: tuple(getattr(r, ch.replace("-", "_")) for r in f.releases) for ch in CHANNELS
        }
        n = f.extrapolation.cadence_releases
        if n > len(released):
            raise ScenarioError(f"{source}: extrapolation.cadence_releases exceeds the releases")
        cadence = (released[-1] - released[-n]).days / (n - 1)
        windows: dict[str, float] = {}
        for ch, column in ends.items():
            known = [(e - r).days for r, e in zip(released, column, strict=True) if e is not None]
            if not known:
                raise ScenarioError(f"{source}: channel {ch!r} has no end-of-support date at all")
            windows[ch] = float(statistics.median(known[-f.extrapolation.window_releases :]))
        skew = f.skew
        return ReleaseCalendar(
            as_of=f.as_of,
            sources=dict(f.sources),
            first=minors[0],
            last=minors[-1],
            known_released=released,
            scheduled=tuple(r.scheduled for r in f.releases),
            known_ends=ends,
            cadence_days=cadence,
            window_days=windows,
            kubelet_behind=skew.kubelet_minors_behind,
            kubelet_behind_before=skew.kubelet_minors_behind_before,
            kubelet_skew_since=_parse(skew.since, f"{source}: skew.since"),
            control_plane_step=skew.control_plane_minors_per_step,
        )

    # ------------------------------------------------------------------ versions
    def parse(self, version: str, field: str) -> int:
        """The minor number of ``version`` (``"1.31"`` → 31); ``field`` names it in errors.

        Not a ``1.N`` version: ScenarioError. Versions outside the data are accepted: their
        dates are extrapolated at the cadence, backwards before the first known release
        (long out of support either way) and forwards after the last.
        """
        return _parse(version, field)

    def is_extrapolated(self, minor: int, channel: SupportChannel | None = None) -> bool:
        """Whether the release date (or, with ``channel``, its end of support) is an estimate."""
        if minor > self.last or minor < self.first:
            return True
        if channel is None:
            return self.scheduled[minor - self.first]
        return self.known_ends[channel][minor - self.first] is None

    # --------------------------------------------------------------------- dates
    def release_date(self, minor: int) -> date:
        """GA date of ``minor`` (extrapolated outside the known releases)."""
        if minor < self.first:
            return self.known_released[0] - timedelta(
                days=_nearest((self.first - minor) * self.cadence_days)
            )
        if minor <= self.last:
            return self.known_released[minor - self.first]
        return self.known_released[-1] + timedelta(
            days=_nearest((minor - self.last) * self.cadence_days)
        )

    def end_of_support(self, minor: int, channel: SupportChannel) -> date:
        """First day ``minor`` is no longer supported on ``channel``."""
        if self.first <= minor <= self.last:
            known = self.known_ends[channel][minor - self.first]
            if known is not None:
                return known
        return self.release_date(minor) + timedelta(days=_nearest(self.window_days[channel]))

    def support_window_days(self, minor: int, channel: SupportChannel) -> int:
        """Days from the release of ``minor`` to its end of support on ``channel``."""
        return (self.end_of_support(minor, channel) - self.release_date(minor)).days

    def end_ordinals(self, minors: NDArray[np.int64], channel: SupportChannel) -> NDArray[np.int64]:
        """End of support on ``channel`` of each of ``minors``, as proleptic ordinals."""
        unique, inverse = np.unique(minors, return_inverse=True)
        ends = np.array(
            [self.end_of_support(int(m), channel).toordinal() for m in unique], np.int64
        )
        out: NDArray[np.int64] = ends[inverse.reshape(-1)].reshape(np.shape(minors))
        return out

    def newest_released(self, on: date) -> int | None:
        """The newest minor released on or before ``on`` (None before the first one)."""
        if on < self.known_released[0]:
            return None
        if on <= self.known_released[-1]:
            return self.first + bisect.bisect_right(self.known_released, on) - 1
        k = int((on - self.known_released[-1]).days // self.cadence_days)
        while self.release_date(self.last + k + 1) <= on:
            k += 1
        while k > 0 and self.release_date(self.last + k) > on:
            k -= 1
        return self.last + k

    def supported(self, minor: int, channel: SupportChannel, on: date) -> bool:
        """Whether ``minor`` is released and still supported on ``channel`` on ``on``."""
        return self.release_date(minor) <= on < self.end_of_support(minor, channel)

    def shortest_window(self, channel: SupportChannel, first: int, last: int) -> tuple[int, int]:
        """(minor, days) of the shortest support window on ``channel`` among ``first..last``."""
        return min(
            ((m, self.support_window_days(m, channel)) for m in range(first, last + 1)),
            key=lambda item: (item[1], item[0]),
        )

    # ---------------------------------------------------------------------- skew
    def kubelet_skew(self, api_server_minor: int) -> int:
        """Minors a kubelet may lag an API server at ``api_server_minor`` (kubernetes.io
        Version Skew Policy: 3 since 1.28, KEP-3935; 2 before)."""
        if api_server_minor >= self.kubelet_skew_since:
            return self.kubelet_behind
        return self.kubelet_behind_before

    def control_plane_steps(self, from_minor: int, to_minor: int) -> int:
        """Control-plane upgrades to go from ``from_minor`` to ``to_minor`` (kube-apiserver
        instances must stay within one minor of each other, so one upgrade per minor)."""
        if to_minor < from_minor:
            raise ValueError(f"no downgrades: {from_minor} -> {to_minor}")
        return -(-(to_minor - from_minor) // self.control_plane_step)

    def node_rolls(self, from_minor: int, to_minor: int) -> int:
        """Fewest node rolls to take kubelets from ``from_minor`` to ``to_minor``.

        The control plane climbs one minor at a time; before a step would leave the kubelets
        more minors behind than :meth:`kubelet_skew` allows, the nodes are rolled to the
        control plane's current minor; at the end they are rolled to ``to_minor``. Since 1.28
        that is ``ceil(jump / 3)`` rolls.
        """
        if to_minor < from_minor:
            raise ValueError(f"no downgrades: {from_minor} -> {to_minor}")
        if to_minor == from_minor:
            return 0
        kubelet, rolls = from_minor, 0
        for api in range(from_minor + 1, to_minor + 1):
            if api - kubelet > self.kubelet_skew(api):
                kubelet, rolls = api - 1, rolls + 1
        return rolls + 1


@cache
def release_calendar() -> ReleaseCalendar:
    """The packaged calendar (loaded once)."""
    text = (
        resources.files("underlay.defaults").joinpath("kubernetes_releases.yaml").read_text("utf-8")
    )
    return ReleaseCalendar.from_data(yaml.safe_load(text))


def _parse(version: str, field: str) -> int:
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        raise ScenarioError(
            f"{field}: {version!r} is not a Kubernetes minor version; write it as '1.31'"
        )
    return int(match.group(1))


def _nearest(days: float) -> int:
    return math.floor(days + 0.5)
